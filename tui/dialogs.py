"""Small reusable modal dialogs: a yes/no confirmation and a one-line text prompt
(which can complete file paths with Tab).

Every string shown goes through `safe_line` and reaches the widgets as `rich.text.Text`,
never as markup: titles and bodies quote mailbox names and subjects, which are server
text.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, Input, Static

from .path_completion import Completion, complete_soon
from .safe_text import safe_line

__all__ = ["ConfirmScreen", "PathSuggester", "PromptScreen"]

_BODY_LINES = 200  # a body longer than this is cut (it scrolls up to there)
_CANDIDATES_SHOWN = 8  # names listed under a path prompt after an ambiguous Tab


def _body_text(body: str) -> Text:
    """Several lines of plain text, each line made safe on its own."""
    lines = str(body if body is not None else "").splitlines()
    if len(lines) > _BODY_LINES:
        lines = lines[:_BODY_LINES] + ["\u2026"]
    return Text("\n".join(safe_line(line, 2000) for line in lines))


class ConfirmScreen(ModalScreen[bool]):
    """Asks a yes/no question; dismisses with True (yes) or False (no, Escape).

    `y` answers yes, `n` and Escape no, Enter presses the focused button, Left/Right
    (and Tab) move between the buttons.  With `danger=True` the "no" button has the
    focus, so a stray Enter does not delete anything, and "yes" is shown in red.
    """

    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
    }
    ConfirmScreen #confirm-box {
        width: 64;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        padding: 1 2;
        border: round $accent;
        background: $surface;
    }
    ConfirmScreen.-danger #confirm-box {
        border: round $error;
    }
    ConfirmScreen #confirm-body {
        margin-top: 1;
        height: auto;
        max-height: 40vh;
        scrollbar-size-vertical: 1;
    }
    ConfirmScreen #confirm-buttons {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    ConfirmScreen #confirm-buttons Button {
        margin-left: 2;
        min-width: 10;
    }
    ConfirmScreen #confirm-keys {
        margin-top: 1;
    }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel"),
        Binding("left", "app.focus_previous", "Previous button", show=False, id="confirm.left"),
        Binding("right", "app.focus_next", "Next button", show=False, id="confirm.right"),
    ]

    def __init__(
        self,
        title: str,
        body: str,
        *,
        yes: str = "Yes",
        no: str = "No",
        danger: bool = False,
    ) -> None:
        super().__init__(classes="-danger" if danger else None)
        self._title = title
        self._body = body
        self._yes = yes
        self._no = no
        self.danger = danger
        self._answered = False

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Text(safe_line(self._title), style="bold"), id="confirm-title")
            if self._body:
                with VerticalScroll(id="confirm-body", can_focus=False):
                    yield Static(_body_text(self._body))
            with Horizontal(id="confirm-buttons"):
                yield Button(
                    Text(safe_line(self._yes, 40)),
                    variant="error" if self.danger else "primary",
                    id="confirm-yes",
                )
                yield Button(Text(safe_line(self._no, 40)), variant="default", id="confirm-no")
            keys = f"y {safe_line(self._yes, 40)} \u00b7 n or Esc {safe_line(self._no, 40)} \u00b7 Enter the focused button"
            yield Static(Text(keys, style="dim"), id="confirm-keys")

    def on_mount(self) -> None:
        self.query_one("#confirm-no" if self.danger else "#confirm-yes", Button).focus()

    @on(Button.Pressed, "#confirm-yes")
    def _pressed_yes(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_answer(True)

    @on(Button.Pressed, "#confirm-no")
    def _pressed_no(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_answer(False)

    def action_answer(self, answer: bool) -> None:
        if self._answered:  # a second key before the screen is gone
            return
        self._answered = True
        self.dismiss(bool(answer))


class PathSuggester(Suggester):
    """Shows, dimmed after the cursor, what Tab would complete the typed path to.

    The folder is listed in a thread of its own (tui.path_completion): a hung network
    folder leaves the suggestion empty, never the screen frozen.  No cache: the folder
    may change while the prompt is open.
    """

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        completion = await complete_soon(value, home=_home(), timeout=1.0)
        if completion.text != value and completion.text.startswith(value):
            return completion.text
        return None


class PromptScreen(ModalScreen[str | None]):
    """Asks for one line of text: Enter dismisses with it stripped (None when empty),
    Escape with None.  The input starts with `value`, the cursor at its end.

    With `complete_paths=True` the text is a file path: Tab completes it like a shell
    (the candidates, when several match, are listed under the input) and the rest of a
    unique match is suggested as you type (Right accepts it).  Tab never leaves the
    input then.
    """

    DEFAULT_CSS = """
    PromptScreen {
        align: center middle;
    }
    PromptScreen #prompt-box {
        width: 64;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        padding: 1 2;
        border: round $accent;
        background: $surface;
    }
    PromptScreen #prompt-title {
        margin-bottom: 1;
    }
    PromptScreen #prompt-hint {
        margin-top: 1;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel"),
        Binding("tab", "complete_path", "Complete", show=False, id="prompt.complete"),
    ]

    def __init__(
        self,
        title: str,
        *,
        value: str = "",
        hint: str = "",
        placeholder: str = "",
        complete_paths: bool = False,
    ) -> None:
        super().__init__()
        self._title = title
        self._value = value or ""
        self._hint = hint
        self._placeholder = placeholder
        self._complete_paths = complete_paths
        self._answered = False

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box"):
            yield Static(Text(safe_line(self._title), style="bold"), id="prompt-title")
            yield Input(
                value=self._value,
                placeholder=safe_line(self._placeholder, 200),
                select_on_focus=False,
                suggester=PathSuggester() if self._complete_paths else None,
                id="prompt-input",
            )
            yield Static(self._hint_text(safe_line(self._hint)), id="prompt-hint")

    def _hint_text(self, first_line: str) -> Text:
        keys = "Enter OK \u00b7 Esc cancel"
        if self._complete_paths:
            keys = "Tab completes \u00b7 " + keys
        return Text(f"{first_line}\n{keys}" if first_line else keys, style="dim")

    def on_mount(self) -> None:
        field = self.query_one("#prompt-input", Input)
        field.focus()
        field.cursor_position = len(field.value)

    @on(Input.Submitted, "#prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        self._answer(text or None)

    def action_cancel(self) -> None:
        self._answer(None)

    def action_complete_path(self) -> None:
        if not self._complete_paths:
            self.focus_next()  # what Tab does on any other screen
            return
        value = self.query_one("#prompt-input", Input).value
        self.run_worker(self._complete(value), group="prompt-complete", exclusive=True, exit_on_error=False)

    async def _complete(self, value: str) -> None:
        completion = await complete_soon(value, home=_home())
        field = self.query_one("#prompt-input", Input)
        if field.value != value:  # typed on meanwhile: this answer is for old text
            return
        if completion.text != value:
            field.value = completion.text
            field.cursor_position = len(completion.text)
        self.query_one("#prompt-hint", Static).update(self._hint_text(_completion_line(completion, self._hint)))

    def _answer(self, answer: str | None) -> None:
        if self._answered:
            return
        self._answered = True
        self.dismiss(answer)


def _home() -> Path:
    try:
        return Path.home()
    except (RuntimeError, KeyError):  # no $HOME and no password entry: "~" completes nothing
        return Path("/nonexistent")


def _completion_line(completion: Completion, hint: str) -> str:
    """The line under a path prompt after Tab: the candidates, or why there are none,
    or the prompt's own hint again once the path was completed."""
    if completion.candidates:
        shown = [safe_line(name, 60) for name in completion.candidates[:_CANDIDATES_SHOWN]]
        line = "  ".join(shown)
        more = len(completion.candidates) - len(shown)
        if more > 0:
            line += f"  +{more} more"
    elif completion.note:
        line = completion.note[:1].upper() + completion.note[1:] + "."
    else:
        line = hint
    if completion.partial:
        line += " (a big folder: only its first entries were looked at)"
    return safe_line(line, 2000)
