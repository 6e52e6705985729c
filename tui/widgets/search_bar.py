"""The search bar above the message list: `/` opens it, Enter searches, Esc leaves the search.

It only edits text and recalls history; the app parses the query, runs the search and
tells the bar what went wrong (`show_error` selects the bad term, so it can be retyped).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static
from textual.widgets.input import Selection

from ..safe_text import safe_line
from ..search_history import SearchHistory
from ..search_query import MAX_QUERY

PLACEHOLDER = 'from:alice subject:"q3 report" since:2024-01-01 is:unread   (? lists every term)'


class SearchBar(Vertical):
    DEFAULT_CSS = """
    SearchBar {
        height: auto;
        background: $boost;
    }
    SearchBar > Horizontal {
        height: 1;
    }
    SearchBar Label#search-label {
        width: auto;
        padding: 0 1;
        color: $text-accent;
        text-style: bold;
    }
    SearchBar Input#search-input {
        width: 1fr;
    }
    SearchBar Static#search-error {
        display: none;
        padding: 0 1;
        color: $text-error;
    }
    SearchBar.-error Static#search-error {
        display: block;
    }
    """

    BINDINGS = [
        Binding("up", "older", "Earlier query", show=False, id="search.older"),
        Binding("down", "newer", "Later query", show=False, id="search.newer"),
        Binding("escape", "cancel", "Show all", id="search.cancel"),
    ]

    class Submitted(Message):
        """Enter: search for `query` (empty: show the whole mailbox)."""

        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    class Cancelled(Message):
        """Esc: leave the search, back to the whole mailbox."""

    def __init__(self, history: SearchHistory, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history = history

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("Search", id="search-label")
            yield Input(placeholder=PLACEHOLDER, max_length=MAX_QUERY, compact=True, id="search-input")
        yield Static(id="search-error")

    @property
    def input(self) -> Input:
        return self.query_one("#search-input", Input)

    @property
    def value(self) -> str:
        return self.input.value

    def open(self, text: str) -> None:
        """Show the bar with `text` selected (typing replaces it; arrows keep it), focused."""
        self.display = True
        self.clear_error()
        self.history.reset()
        field = self.input
        field.value = text
        field.focus()
        field.selection = Selection(0, len(text))

    def show_query(self, text: str) -> None:
        """The search ran: the bar stays in sight with its query, the list gets the keys."""
        self.display = True
        self.clear_error()
        self.input.value = text

    def show_error(self, message: str, start: int | None = None, end: int | None = None) -> None:
        """Say what is wrong; with `start`/`end`, select the bad term so it can be retyped."""
        self.display = True
        self.add_class("-error")
        self.query_one("#search-error", Static).update(Text(safe_line(message, 300)))
        field = self.input
        field.focus()
        if start is not None and end is not None:
            field.selection = Selection(start, max(start, end))

    def clear_error(self) -> None:
        self.remove_class("-error")
        self.query_one("#search-error", Static).update("")

    def close(self) -> None:
        self.clear_error()
        self.history.reset()
        self.input.value = ""
        self.display = False

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(event.value))

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.has_class("-error"):
            self.clear_error()  # the user is fixing it

    def action_older(self) -> None:
        self._recall(self.history.older(self.input.value))

    def action_newer(self) -> None:
        self._recall(self.history.newer())

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())

    def _recall(self, text: str | None) -> None:
        if text is None:
            return
        field = self.input
        field.value = text
        field.cursor_position = len(text)
