"""The viewer's text pane: a message's body or source, read-only and inert.

Quoted lines take a colour by depth and the signature is dimmed; long quoted blocks
are folded (T shows them all, or folds them again); / finds text, n / N the next and
previous match, Esc drops the search. What each line is comes from tui.body_lines;
the colours are component classes, so they follow the app's theme, dark or light.
"""

from __future__ import annotations

import re

from rich.text import Text
from textual.binding import Binding
from textual.geometry import Offset
from textual.widgets import TextArea
from textual.widgets.text_area import Selection

from ..body_lines import (
    FOLD_KEEP,
    BodyLines,
    Shown,
    analyse,
    clean_query,
    next_match,
    previous_match,
    search_pattern,
    show,
)
from ..dialogs import PromptScreen
from ..safe_text import safe_block, safe_line

QUOTE_COLOURS = 4  # depth 5 takes depth 1's colour again, as mutt cycles its quotedN
MAX_MARKS = 200  # matches highlighted on one line; the current one is always shown


class BodyView(TextArea):
    """Read-only text; TextArea never parses its content as markup."""

    DEFAULT_CSS = """
    BodyView {
        & .body-view--quote-1 { color: $text-primary; }
        & .body-view--quote-2 { color: $text-success; }
        & .body-view--quote-3 { color: $text-warning; }
        & .body-view--quote-4 { color: $text-secondary; }
        & .body-view--signature { color: $text-muted; }
        & .body-view--fold { color: $text-muted; text-style: italic; }
        & .body-view--match { background: $warning 40%; }
    }
    """

    COMPONENT_CLASSES = {
        "body-view--quote-1",
        "body-view--quote-2",
        "body-view--quote-3",
        "body-view--quote-4",
        "body-view--signature",
        "body-view--fold",
        "body-view--match",
    }

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="viewer.down"),
        Binding("k", "cursor_up", "Up", show=False, id="viewer.up"),
        Binding("g", "scroll_home", "Top", show=False, id="viewer.top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="viewer.bottom"),
        Binding("slash", "find", "Find", id="viewer.find"),
        Binding("n", "find_next", "Next match", show=False, id="viewer.find_next"),
        Binding("N", "find_previous", "Previous match", show=False, id="viewer.find_previous"),
        Binding("T", "toggle_quotes", "Quotes", id="viewer.quotes"),
        # Only while a search is on (check_action): otherwise Esc goes on to the app,
        # which closes the viewer.
        Binding("escape", "clear_find", "Clear find", id="viewer.clear_find"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", read_only=True, soft_wrap=True, show_line_numbers=False, id=id)
        self.show_cursor = False
        self.body: BodyLines = analyse("")  # the whole text, as safe_block left it
        self.shown: Shown = show(self.body)  # what the TextArea holds: the body, some blocks folded
        self._folding = True  # T: long quoted blocks folded, or all shown
        self._opened: set[int] = set()  # the first lines of the blocks a search unfolded
        self._pattern: re.Pattern[str] | None = None  # the search on screen, its matches marked
        self._query = ""  # the last query: n and N repeat it, after Esc too
        self._match: tuple[int, int] | None = None  # the current match: offsets in body.text

    def show_text(self, text: str, *, keep_place: bool = False) -> None:
        """`keep_place`: more of the same text arrived; the reader stays where they were,
        and the folding and the search stay as they were."""
        place = self._place() if keep_place else None
        self.body = analyse(safe_block(text))
        if keep_place:
            if self._match is not None and not self._still_matches(*self._match):
                self._match = None
        else:
            self._folding = True
            self._opened = set()
            self._pattern = None
            self._match = None
        self._display(place)
        self.refresh_bindings()

    @property
    def searching(self) -> bool:
        """A search is on: its matches are marked, and Esc drops it."""
        return self._pattern is not None

    # -- what is shown ---------------------------------------------------------

    def _display(self, place: tuple[int, int] | None) -> None:
        """Load the body, folded as chosen; then go back to `place` (else to the top)."""
        folded = [
            index for index, block in enumerate(self.body.blocks)
            if self._folding and block.start not in self._opened
        ]
        self.shown = show(self.body, folded)
        self.load_text(self.shown.text)
        # Without a cursor, TextArea's own move_cursor((0, 0)) does nothing: an old
        # match would stay selected, on lines that now hold other text.
        self.selection = Selection()
        if place is None:
            self.scroll_home(animate=False, immediate=True)
        else:
            self._go_to(place)
        self._select_match()

    def _place(self) -> tuple[int, int]:
        """The original line at the top of the view, and how many of its wrapped rows
        are above the view: a place that survives folding and unfolding."""
        wrapped = self.wrapped_document
        y = self.scroll_offset.y
        row, _ = wrapped.offset_to_location(Offset(0, y))
        first_row_y = wrapped.location_to_offset((row, 0)).y
        return self.shown.original_line(row), max(0, y - first_row_y)

    def _go_to(self, place: tuple[int, int]) -> None:
        line, rows_above = place
        row = self.shown.shown_line(line)
        if self.shown.original_line(row) != line:
            rows_above = 0  # folded away: its marker line is the place now
        y = self.wrapped_document.location_to_offset((row, 0)).y + rows_above
        self.scroll_to(0, y, animate=False, immediate=True)

    def get_line(self, line_index: int) -> Text:
        """TextArea's hook for styling a line: the quote colour, the dimmed signature,
        the fold marker, the search's matches."""
        line = super().get_line(line_index)
        shown, body = self.shown, self.body
        if shown.marker_block(line_index) is not None:
            line.stylize(self._style("fold"))
            return line  # our own words: nothing in them to find
        original = shown.original_line(line_index)
        if body.in_signature(original):
            line.stylize(self._style("signature"))
        elif depth := body.depth(original):
            line.stylize(self._style(f"quote-{(depth - 1) % QUOTE_COLOURS + 1}"))
        if self._pattern is not None:
            style = self._style("match")
            for count, found in enumerate(self._pattern.finditer(line.plain)):
                if count == MAX_MARKS:
                    break
                line.stylize(style, found.start(), found.end())
        return line

    def _style(self, name: str):
        return self.get_component_rich_style(f"body-view--{name}")

    def _restyle(self) -> None:
        # TextArea caches rendered lines by what it knows of (scroll, selection, theme),
        # not by our search: drop the cache, as a style change does.
        self.notify_style_update()
        self.refresh()

    # -- folding ---------------------------------------------------------------

    def action_toggle_quotes(self) -> None:
        """T: all the long quoted blocks shown, or all folded again."""
        if not self.body.blocks:
            return
        self._folding = not self.shown.folded
        self._opened = set()
        self._display(self._place())

    def _unfold(self, block: int) -> None:
        """Show one folded block (a match is in it): its marker line becomes the lines it
        hid, by an edit, which TextArea rewraps alone: reloading a 2 MB text takes 1-2 s."""
        row = self.shown.marker_line(block)
        if row is None:
            return
        hidden = self.body.blocks[block]
        self._opened.add(hidden.start)
        self.shown = show(self.body, [index for index in self.shown.folded if index != block])
        lines = self.body.lines[hidden.start + FOLD_KEEP : hidden.end]
        self.replace("\n".join(lines), (row, 0), (row, len(self.document[row])))
        self.history.clear()  # the pane is read-only: nothing for ctrl+z to take back

    # -- search ----------------------------------------------------------------

    def action_find(self) -> None:
        def chosen(answer: str | None) -> None:
            if answer:
                self.find(answer)

        self.app.push_screen(
            PromptScreen(
                "Find in the text:",
                hint="An uppercase letter makes it case-sensitive. n / N: next / previous match.",
            ),
            chosen,
        )

    def find(self, query: str) -> bool:
        """Select and show the first match at or after the top of the view. False (and
        a note) when there is none."""
        pattern = search_pattern(query)
        if pattern is None:
            return False
        self._query = clean_query(query)
        self._pattern = pattern
        self._match = None
        return self._jump(next_match(self.body.text, pattern, self._view_offset()))

    def action_find_next(self) -> None:
        self._step(forward=True)

    def action_find_previous(self) -> None:
        self._step(forward=False)

    def action_clear_find(self) -> None:
        """Esc while searching: the marks go, the text stays where it is."""
        self._pattern = None
        self._match = None
        self.selection = Selection.cursor(self.selection.end)
        self._restyle()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_quotes":
            return bool(self.body.blocks)
        if action == "clear_find":
            return self._pattern is not None
        if action in ("find_next", "find_previous"):
            return bool(self._query)
        return super().check_action(action, parameters)

    def _step(self, forward: bool) -> None:
        if self._pattern is None:
            self._pattern = search_pattern(self._query)  # after Esc: the last search again
            if self._pattern is None:
                return
        # From the current match while it is on screen, else from the top of the view.
        anchor = self._match[0] if self._match is not None and self._match_on_screen() else None
        text = self.body.text
        if forward:
            start = anchor + 1 if anchor is not None else self._view_offset()
            self._jump(next_match(text, self._pattern, start))
        else:
            self._jump(previous_match(text, self._pattern, anchor if anchor is not None else self._view_offset()))

    def _jump(self, found: tuple[int, int, bool] | None) -> bool:
        if found is None:
            self.notify(f"Not found: {safe_line(self._query, 80)}", severity="warning", markup=False)
            self._pattern = None
            self._match = None
            self._restyle()
            self.refresh_bindings()
            return False
        start, end, wrapped = found
        if wrapped:
            self.notify("Search wrapped", markup=False, timeout=2)
        self._match = (start, end)
        line, _ = self.body.location_of(start)
        block = self.shown.hiding_block(line)
        if block is not None:
            self._unfold(block)
        self._select_match()
        self._scroll_to_match()
        self._restyle()
        self.refresh_bindings()
        return True

    def _select_match(self) -> None:
        """The current match, selected where it is shown now (not when folded away)."""
        if self._match is None:
            return
        start, end = self._match
        line, column = self.body.location_of(start)
        if self.shown.hiding_block(line) is not None:
            return
        row = self.shown.shown_line(line)
        self.selection = Selection((row, column), (row, column + end - start))

    def _match_row(self) -> int | None:
        """The wrapped row (virtual y) of the current match, if it is shown."""
        if self._match is None:
            return None
        line, column = self.body.location_of(self._match[0])
        if self.shown.hiding_block(line) is not None:
            return None
        return self.wrapped_document.location_to_offset((self.shown.shown_line(line), column)).y

    def _match_on_screen(self) -> bool:
        y = self._match_row()
        top = self.scroll_offset.y
        return y is not None and top <= y < top + self.scrollable_content_region.height

    def _scroll_to_match(self) -> None:
        y = self._match_row()
        if y is not None and not self._match_on_screen():
            # A third down the view: what leads up to it is in sight too.
            height = self.scrollable_content_region.height
            self.scroll_to(y=max(0, y - height // 3), animate=False, immediate=True)

    def _view_offset(self) -> int:
        line, _ = self._place()
        return self.body.offset_of(line)

    def _still_matches(self, start: int, end: int) -> bool:
        return self._pattern is not None and self._pattern.fullmatch(self.body.text, start, end) is not None
