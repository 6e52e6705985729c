"""Small reusable modal dialogs: a yes/no confirmation and a one-line text prompt.

Every string shown goes through `safe_line` and reaches the widgets as `rich.text.Text`,
never as markup: titles and bodies quote mailbox names and subjects, which are server
text.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from .safe_text import safe_line

__all__ = ["ConfirmScreen", "PromptScreen"]

_BODY_LINES = 200  # a body longer than this is cut (it scrolls up to there)


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


class PromptScreen(ModalScreen[str | None]):
    """Asks for one line of text: Enter dismisses with it stripped (None when empty),
    Escape with None.  The input starts with `value`, the cursor at its end."""

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

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(self, title: str, *, value: str = "", hint: str = "", placeholder: str = "") -> None:
        super().__init__()
        self._title = title
        self._value = value or ""
        self._hint = hint
        self._placeholder = placeholder
        self._answered = False

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box"):
            yield Static(Text(safe_line(self._title), style="bold"), id="prompt-title")
            yield Input(
                value=self._value,
                placeholder=safe_line(self._placeholder, 200),
                select_on_focus=False,
                id="prompt-input",
            )
            hint = safe_line(self._hint)
            keys = "Enter OK \u00b7 Esc cancel"
            yield Static(Text(f"{hint}\n{keys}" if hint else keys, style="dim"), id="prompt-hint")

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

    def _answer(self, answer: str | None) -> None:
        if self._answered:
            return
        self._answered = True
        self.dismiss(answer)
