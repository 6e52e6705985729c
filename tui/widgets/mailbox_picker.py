"""A fuzzy picker for mailboxes (move/copy targets, "go to mailbox").

Type to filter, Up/Down (or Ctrl+N / Ctrl+P) to move, Enter to choose, Esc to cancel.
The focus never leaves the input.  Labels are server text: they are shown through
`safe_line` as `rich.text.Text`, never as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.events import Resize
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ..fuzzy import fuzzy_match
from ..safe_text import safe_line

__all__ = ["PickerItem", "NewMailboxName", "MailboxPicker"]

LABEL_MAX = 300  # characters of a label shown (and matched)
MAX_SHOWN = 500  # options built per keystroke; the count still tells how many match
_NEW_ID = "new"
_MATCH_STYLE = "bold underline"


@dataclass(frozen=True)
class PickerItem:
    label: str  # decoded mailbox path, e.g. "Projects/Alpha/Specs"
    value: object  # what the picker dismisses with
    detail: str = ""  # shown dim after the label, e.g. "12 unread", "Sent"


@dataclass(frozen=True)
class NewMailboxName:
    """The user chose to use the typed text as the name of a new mailbox."""

    name: str


class _FilterInput(Input):
    """The picker's input: also steers the list, so the focus can stay here.

    Ctrl+N / Ctrl+P are claimed as "consumed" keys: that takes them out of the binding
    chain above this widget, including the app's priority Ctrl+P (command palette).
    """

    BINDINGS = [
        Binding("down,ctrl+n", "move(1)", "Next", show=False, id="picker.down"),
        Binding("up,ctrl+p", "move(-1)", "Previous", show=False, id="picker.up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="picker.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="picker.page_up"),
    ]

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return key in ("ctrl+n", "ctrl+p") or super().check_consume_key(key, character)

    def action_move(self, step: int) -> None:
        picker = self.screen
        if isinstance(picker, MailboxPicker):
            picker.move_highlight(step)

    def action_page(self, direction: int) -> None:
        picker = self.screen
        if isinstance(picker, MailboxPicker):
            picker.move_highlight(direction * max(1, picker.option_list.scrollable_content_region.height - 1))


class MailboxPicker(ModalScreen[object | None]):
    """Dismisses with the chosen item's `value`, a `NewMailboxName`, or None (Esc)."""

    DEFAULT_CSS = """
    MailboxPicker {
        align: center middle;
    }
    MailboxPicker #picker-box {
        width: 70;
        max-width: 95%;
        height: auto;
        max-height: 80%;
        padding: 0 1;
        border: round $accent;
        background: $surface;
    }
    MailboxPicker #picker-title {
        padding: 0 1;
    }
    MailboxPicker #picker-list {
        height: auto;
        border: none;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    MailboxPicker #picker-list:focus {
        border: none;
    }
    MailboxPicker #picker-footer {
        padding: 0 1;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker.cancel")]

    # Rows of the box that are not the list: border 2, title 1, input 3, footer 1.
    _CHROME = 7

    def __init__(
        self,
        title: str,
        items: Sequence[PickerItem],
        *,
        allow_new: bool = False,
        hint: str = "",
    ) -> None:
        super().__init__()
        self._title = title
        self.items: tuple[PickerItem, ...] = tuple(items)
        self.allow_new = allow_new
        self._hint = hint
        self._shown_labels = [safe_line(item.label, LABEL_MAX) for item in self.items]
        self._folded_labels = {item.label.casefold() for item in self.items}
        self._values: dict[str, object] = {}
        self._answered = False
        self.matched_count = len(self.items)

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Static(Text(safe_line(self._title), style="bold"), id="picker-title")
            yield _FilterInput(placeholder="type to filter", select_on_focus=False, id="picker-input")
            option_list = OptionList(id="picker-list")
            option_list.can_focus = False  # keys stay in the input; the mouse still picks
            yield option_list
            yield Static(id="picker-footer")

    @property
    def option_list(self) -> OptionList:
        return self.query_one("#picker-list", OptionList)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#picker-input", Input)

    def on_mount(self) -> None:
        self._fit_list(self.size.height)
        self._refilter("")
        self.filter_input.focus()

    def on_resize(self, event: Resize) -> None:
        self._fit_list(event.size.height)

    def _fit_list(self, screen_height: int) -> None:
        hint_rows = 1 if self._hint else 0
        rows = int(screen_height * 0.8) - self._CHROME - hint_rows
        self.option_list.styles.max_height = max(3, rows)

    @on(Input.Changed, "#picker-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._refilter(event.value)

    def _refilter(self, query: str) -> None:
        if query.strip():
            scored = []
            for index, label in enumerate(self._shown_labels):
                match = fuzzy_match(query, label)
                if match is not None:
                    scored.append((match.score, index, match.positions))
            scored.sort(key=lambda entry: -entry[0])  # stable: ties keep the given order
            matches = [(index, positions) for _score, index, positions in scored]
        else:
            matches = [(index, ()) for index in range(len(self.items))]
        self.matched_count = len(matches)

        options: list[Option] = []
        self._values = {}
        for index, positions in matches[:MAX_SHOWN]:
            item = self.items[index]
            option_id = str(index)
            self._values[option_id] = item.value
            options.append(Option(self._prompt(self._shown_labels[index], positions, item.detail), id=option_id))
        typed = query.strip()
        if self.allow_new and typed and typed.casefold() not in self._folded_labels:
            self._values[_NEW_ID] = NewMailboxName(typed)
            prompt = Text("+ new mailbox: ", style="italic")
            prompt.append(safe_line(typed, LABEL_MAX))
            options.append(Option(prompt, id=_NEW_ID))

        option_list = self.option_list
        option_list.clear_options()
        option_list.add_options(options)
        if options:
            option_list.highlighted = 0
        self._update_footer()

    @staticmethod
    def _prompt(label: str, positions: Sequence[int], detail: str) -> Text:
        text = Text(label, no_wrap=True, overflow="ellipsis")
        for position in positions:
            if position < len(label):
                text.stylize(_MATCH_STYLE, position, position + 1)
        if detail:
            text.append("  ")
            text.append(safe_line(detail, 80), style="dim")
        return text

    def _update_footer(self) -> None:
        total = len(self.items)
        shown = min(self.matched_count, MAX_SHOWN)
        count = f"{self.matched_count} of {total}"
        if shown < self.matched_count:
            count += f" ({shown} shown)"
        footer = Text()
        if self._hint:
            footer.append(safe_line(self._hint) + "\n", style="dim")
        footer.append(count)
        footer.append("  \u00b7  \u2191\u2193 move \u00b7 Enter choose \u00b7 Esc cancel", style="dim")
        self.query_one("#picker-footer", Static).update(footer)

    def move_highlight(self, step: int) -> None:
        option_list = self.option_list
        count = option_list.option_count
        if not count:
            return
        current = option_list.highlighted
        if current is None:
            option_list.highlighted = 0
            return
        option_list.highlighted = max(0, min(count - 1, current + step))

    @property
    def highlighted_value(self) -> object | None:
        option_list = self.option_list
        index = option_list.highlighted
        if index is None:
            return None
        option = option_list.get_option_at_index(index)
        return self._values.get(option.id or "")

    @on(Input.Submitted, "#picker-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        option_list = self.option_list
        if option_list.highlighted is None:
            self.app.bell()
            return
        self._answer(self.highlighted_value)

    @on(OptionList.OptionSelected, "#picker-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._answer(self._values.get(event.option.id or ""))

    def action_cancel(self) -> None:
        self._answer(None)

    def _answer(self, value: object | None) -> None:
        if self._answered:
            return
        self._answered = True
        self.dismiss(value)
