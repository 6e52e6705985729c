"""The sort menu (`o`): one key picks the order, as in mutt; arrows and Enter work too."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..list_prefs import ListOrder
from ..safe_text import safe_line

# (key, what the entry does, its id). Sort keys keep the direction and the thread view.
ENTRIES = (
    ("d", "date sent (the Date: header)", "date"),
    ("a", "arrival (the order the server received them)", "arrival"),
    ("f", "sender (the name, else the address)", "sender"),
    ("s", "subject (without Re:, Fwd:, [list] tags)", "subject"),
    ("z", "size", "size"),
    ("r", "reverse the direction", "reverse"),
    ("t", "thread view on or off (also V in the list)", "threads"),
)


def apply_choice(order: ListOrder, choice: str) -> ListOrder:
    if choice == "reverse":
        return replace(order, reverse=not order.reverse)
    if choice == "threads":
        return replace(order, threads=not order.threads)
    return replace(order, key=choice)


class SortMenu(ModalScreen[ListOrder | None]):
    """Dismisses with the new order, or None (Esc)."""

    DEFAULT_CSS = """
    SortMenu {
        align: center middle;
    }
    SortMenu #sort-box {
        width: 60;
        max-width: 95%;
        height: auto;
        padding: 1 2;
        border: round $accent;
        background: $surface;
    }
    SortMenu OptionList, SortMenu OptionList:focus {
        height: auto;
        margin-top: 1;
        border: none;
        padding: 0;
        background: $surface;
    }
    SortMenu #sort-keys {
        margin-top: 1;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="sort.cancel"),
        *(Binding(key, f"choose('{choice}')", what, show=False, id=f"sort.{choice}") for key, what, choice in ENTRIES),
    ]

    def __init__(self, mailbox: str, order: ListOrder) -> None:
        super().__init__()
        self._mailbox = mailbox
        self._order = order
        self._answered = False

    def compose(self) -> ComposeResult:
        with Vertical(id="sort-box"):
            title = Text(f"Order {safe_line(self._mailbox, 40)} by", style="bold")
            title.append(f"    now: {self._order.describe()}", style="dim")
            yield Static(title, id="sort-title")
            options = []
            for key, what, choice in ENTRIES:
                label = Text(f"{key}  ", style="bold")
                label.append(what)
                if choice == self._order.key:
                    label.append("  ✓", style="bold")
                elif choice == "threads" and self._order.threads:
                    label.append("  (on)", style="dim")
                options.append(Option(label, id=choice))
            yield OptionList(*options, id="sort-options")
            yield Static(Text("a key picks · ↑↓ Enter · Esc cancel", style="dim"), id="sort-keys")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        ids = [choice for _key, _what, choice in ENTRIES]
        options.highlighted = ids.index(self._order.key) if self._order.key in ids else 0

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_choose(event.option.id or "")

    def action_choose(self, choice: str) -> None:
        if self._answered or not choice:
            return
        self._answered = True
        self.dismiss(apply_choice(self._order, choice))

    def action_cancel(self) -> None:
        if not self._answered:
            self._answered = True
            self.dismiss(None)
