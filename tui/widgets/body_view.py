"""The viewer's text pane: a message's body or source, read-only and inert."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import TextArea

from ..safe_text import safe_block


class BodyView(TextArea):
    """Read-only text; TextArea never parses its content as markup."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="viewer.down"),
        Binding("k", "cursor_up", "Up", show=False, id="viewer.up"),
        Binding("g", "scroll_home", "Top", show=False, id="viewer.top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="viewer.bottom"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", read_only=True, soft_wrap=True, show_line_numbers=False, id=id)
        self.show_cursor = False

    def show_text(self, text: str, *, keep_place: bool = False) -> None:
        """`keep_place`: more of the same text arrived; the reader stays where they were."""
        place = self.scroll_offset
        self.load_text(safe_block(text))
        if keep_place:
            self.scroll_to(place.x, place.y, animate=False, immediate=True)
            return
        self.scroll_home(animate=False, immediate=True)
        self.move_cursor((0, 0))
