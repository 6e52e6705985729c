"""A virtualized message list on Textual's Line API.

It holds one row per UID (newest first) but renders only the rows on screen and
asks for envelopes only around the viewport; a DataTable or ListView holding
50,000 widgets or rows takes seconds to load (ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..headers import EnvelopeView, Row
from ..list_layout import Layout, Memo, ServerOrder, arrange, needs_rows
from ..list_prefs import ListOrder
from ..models import Envelope
from ..safe_text import safe_line
from ..thread_nav import neighbour, reading_order, threads_of
from ..timefmt import compact_date, human_size, now

FLAGS_WIDTH = 5
DATE_WIDTH = 10
SIZE_WIDTH = 6
PREFETCH_SCREENS = 1  # also fetch one screenful above and below the viewport


class MessageList(ScrollView, can_focus=True):
    """Rows are UIDs, newest first; `envelopes` fills in as the worker answers."""

    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False, id="list.down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="list.up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="list.page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="list.page_up"),
        Binding("home,g", "first", "First", show=False, id="list.first"),
        Binding("end,G", "last", "Last", show=False, id="list.last"),
        Binding("enter", "open", "Open", id="list.open"),
        Binding("N", "app.toggle_flag('seen')", "Read/unread", show=False, id="list.toggle_read"),
        Binding("F", "app.toggle_flag('flagged')", "Flag", show=False, id="list.toggle_flagged"),
        Binding("A", "app.toggle_flag('answered')", "Answered", show=False, id="list.toggle_answered"),
        Binding("d", "app.set_deleted(True)", "Delete", show=False, id="list.delete"),
        Binding("u", "app.set_deleted(False)", "Undelete", show=False, id="list.undelete"),
        Binding("t", "toggle_tag", "Tag", show=False, id="list.tag"),
        Binding("T", "tag_all", "Tag all", show=False, id="list.tag_all"),
        Binding("i", "app.mailbox_info", "Mailbox info", show=False, id="list.info"),
        Binding("C", "app.copy_to", "Copy", show=False, id="list.copy"),
        Binding("s", "app.move_to", "Move", show=False, id="list.move"),
        Binding("dollar_sign", "app.expunge", "Expunge", show=False, id="list.expunge"),
        Binding("U", "app.undo", "Undo", show=False, id="list.undo"),
        Binding("c", "app.jump_to_mailbox", "Go to mailbox", show=False, id="list.jump"),
        Binding("r", "app.check_mail", "Check mail", show=False, id="list.check"),
        Binding("o", "app.sort_menu", "Sort", show=False, id="list.sort"),
        Binding("V", "app.toggle_threads", "Threads", show=False, id="list.threads"),
        Binding("z", "toggle_thread", "Collapse thread", show=False, id="list.collapse"),
        Binding("Z", "toggle_all_threads", "Collapse all", show=False, id="list.collapse_all"),
    ]

    COMPONENT_CLASSES = {
        "message-list--cursor",
        "message-list--unread",
        "message-list--flagged",
        "message-list--deleted",
        "message-list--loading",
        "message-list--flags",
    }

    DEFAULT_CSS = """
    MessageList {
        background: $surface;
        overflow-x: hidden;
    }
    MessageList > .message-list--cursor {
        color: $block-cursor-blurred-foreground;
        background: $block-cursor-blurred-background;
        text-style: $block-cursor-blurred-text-style;
    }
    MessageList:focus > .message-list--cursor {
        color: $block-cursor-foreground;
        background: $block-cursor-background;
        text-style: $block-cursor-text-style;
    }
    MessageList > .message-list--unread { text-style: bold; }
    MessageList > .message-list--flagged { color: $warning; }
    MessageList > .message-list--deleted { text-style: strike dim; }
    MessageList > .message-list--loading { color: $text-muted; }
    MessageList > .message-list--flags { color: $accent; }
    """

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class Opened(Message):
        """The user pressed Enter on a row."""

        def __init__(self, uid: int) -> None:
            super().__init__()
            self.uid = uid

    class RowsWanted(Message):
        """Rows on (or near) the screen have no envelope yet.

        `view` is the list's view count when they were asked for: an answer to an earlier
        view (another mailbox) names other messages.
        """

        def __init__(self, uids: tuple[int, ...], view: int) -> None:
            super().__init__()
            self.uids = uids
            self.view = view

    class ThreadStepped(Message):
        """The answer to step_in_thread: the message to open, or None at the thread's end."""

        def __init__(self, uid: int | None, step: int, origin: int, view: int) -> None:
            super().__init__()
            self.uid, self.step = uid, step
            self.origin, self.view = origin, view  # from which message, in which view of which mailbox

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.uids: list[int] = []  # the rows shown, newest first: all, or a search's matches
        self.mailbox_uids: list[int] = []  # every message of the mailbox, newest first
        self.matches: frozenset[int] | None = None  # a search's result; None: no search
        self.rows: dict[int, Row] = {}  # as fetched or cached: decoded only when drawn
        self.envelopes = EnvelopeView(self.rows)
        self.tagged: set[int] = set()  # actions apply to these when there are any
        # Marked deleted by another client while this mailbox is open: maybe a move it
        # is half-way through. `$` leaves these to that client.
        self.deleted_elsewhere: set[int] = set()
        self.view = 0  # counts show_mailbox calls: which mailbox a RowsWanted was for
        self.order = ListOrder()
        self.collapsed: set[int] = set()  # thread roots (UIDs) shown as one line
        self.server_order: ServerOrder | None = None  # the server's SORT/THREAD while the index fills
        self.awaiting_server = False  # that answer is on its way: arrival order meanwhile
        self.arrangement = Layout([])
        self._memo = Memo()  # parsed sort keys and threads, for this mailbox
        self._asked: set[int] = set()
        self._lines: dict[tuple, Strip] = {}
        self._today = now()

    # -- data --------------------------------------------------------------

    def show_mailbox(self, uids_ascending: tuple[int, ...], keep_cursor: bool = False) -> None:
        """Show these rows; with keep_cursor (the same mailbox again), stay on the same message
        and keep the search's matches."""
        previous_uid = self.current_uid if keep_cursor else None
        previous_top = round(self.scroll_y) if keep_cursor else 0
        self.mailbox_uids = list(reversed(uids_ascending))
        if not keep_cursor or self.matches is None:
            self.matches = None
        else:
            self.matches &= set(self.mailbox_uids)
        self.server_order = None
        self.awaiting_server = False
        if not keep_cursor:
            self.collapsed = set()
        self.view += 1
        self._memo = Memo()
        self._set_rows({})
        self._arrange()
        self.tagged = self.tagged & set(self.mailbox_uids) if keep_cursor else set()
        self.deleted_elsewhere = set()
        self._asked = set()
        self._lines.clear()
        self._today = now()
        self.virtual_size = Size(self._row_width, len(self.uids))
        self.scroll_to(0, previous_top, animate=False, immediate=True)
        self.cursor = self.uids.index(previous_uid) if previous_uid in self.uids else 0
        self._want_visible_rows()
        self.refresh()

    def show_matches(self, uids: Iterable[int] | None) -> None:
        """Show only these messages (a search's result); None shows the whole mailbox again.

        The cursor stays on its message if that one is still shown, else goes to the top.
        """
        self.matches = None if uids is None else frozenset(uids) & set(self.mailbox_uids)
        self.relayout()

    def add_matches(self, uids: Iterable[int]) -> None:
        """New mail that matches the search: it joins the rows shown."""
        if self.matches is not None:
            self.show_matches(self.matches | frozenset(uids))

    def set_order(self, order: ListOrder, server: ServerOrder | None = None, awaiting: bool = False) -> None:
        """Show the rows in this order: the server's answer for it if given; with `awaiting`,
        arrival order until that answer comes (a big mailbox: sorting here would freeze the UI)."""
        if order.threads != self.order.threads:
            self.collapsed = set()
        self.order = order
        self.server_order = server if server is not None and server.serves(order) else None
        self.awaiting_server = awaiting and self.server_order is None and needs_rows(order)
        self.relayout()

    def _arrange(self) -> None:
        self.arrangement = arrange(self.mailbox_uids, self.matches, self.rows, self.order, self.collapsed,
                                   self.server_order, self._memo, awaiting=self.awaiting_server)
        self.uids = self.arrangement.uids

    def relayout(self) -> None:
        """Arrange the rows again; the cursor stays on its message (or its collapsed thread)."""
        old_uid = self.current_uid
        line = self.arrangement.lines.get(old_uid) if old_uid is not None else None
        self._arrange()
        self.virtual_size = Size(self._row_width, len(self.uids))
        target = old_uid if old_uid in self.uids else (line.root if line is not None else None)
        if target in self.uids:
            self.cursor = self.uids.index(target)
            self._scroll_cursor_into_view()
        else:
            self.scroll_to(0, 0, animate=False, immediate=True)
            self.cursor = 0
        self._lines.clear()
        self._want_visible_rows()
        self.refresh()

    @property
    def complete(self) -> bool:
        """Every message of the mailbox has its row: sorting and threading can be done here."""
        return len(self.rows) >= len(self.mailbox_uids) and all(uid in self.rows for uid in self.mailbox_uids)

    def action_toggle_thread(self) -> None:
        line = self.arrangement.lines.get(self.current_uid) if self.current_uid is not None else None
        if line is None:
            return
        self.collapsed ^= {line.root}
        self.relayout()

    def action_toggle_all_threads(self) -> None:
        if not self.arrangement.lines:
            return
        # Like mutt: collapse every thread with replies, or expand all when they all are.
        lines = self.arrangement.lines.values()
        with_replies = {line.root for line in lines if line.uid != line.root or line.hidden}
        self.collapsed = set() if with_replies <= self.collapsed else self.collapsed | with_replies
        self.relayout()

    def _set_rows(self, rows: dict[int, Row]) -> None:
        self.rows = rows
        self.envelopes = EnvelopeView(rows)

    def add_rows(self, rows: Iterable[Row]) -> None:
        rows = list(rows)
        self.rows.update((row.uid, row) for row in rows)
        if needs_rows(self.order) and self._moves_rows(rows):
            self.relayout()
            return
        # Most batches of a background fill are far from the screen: nothing to redraw.
        top = round(self.scroll_y)
        on_screen = set(self.uids[max(0, top - 1) : top + self.size.height + 1])
        if any(row.uid in on_screen for row in rows):
            self._lines.clear()
            self.refresh()

    def _moves_rows(self, rows: list[Row]) -> bool:
        """New rows change a sorted or threaded layout once the index is complete: the wait
        is over, or new mail needs its place."""
        if len(self.rows) < len(self.mailbox_uids):
            return False
        return (self.arrangement.waiting or self.arrangement.pending) and self.complete

    def update_flags(self, uid: int, flags: frozenset[str]) -> None:
        self.update_many_flags(((uid, flags),))

    def our_flags_changed(self, changes: Iterable[tuple[int, frozenset[str]]]) -> None:
        """Flags our own command set: a \\Deleted here is the user's, whoever marked it first."""
        changes = tuple(changes)
        self.deleted_elsewhere.difference_update(uid for uid, _flags in changes)
        self.update_many_flags(changes)

    def update_many_flags(self, changes: Iterable[tuple[int, frozenset[str]]]) -> None:
        for uid, flags in changes:
            row = self.rows.get(uid)
            if row is not None:
                self.rows[uid] = row.with_flags(flags)
        self._lines.clear()
        self.refresh()

    def apply_changes(
        self,
        uids_ascending: tuple[int, ...],
        flags: Iterable[tuple[int, frozenset[str]]],
        ours: set[int] = frozenset(),
    ) -> None:
        """The mailbox now holds these UIDs: drop the gone rows, add the new, keep the rest loaded.

        `ours`: UIDs whose new flags our own command set (a move without UIDPLUS marks
        them deleted); other new \\Deleted marks are another client's. The cursor stays
        on the same message, or on the row that took its place.
        """
        old_uid = self.current_uid
        old_cursor = self.cursor
        self.mailbox_uids = list(reversed(uids_ascending))
        kept = set(self.mailbox_uids)
        if self.matches is not None:
            self.matches &= kept  # new mail joins a search only if it matches (add_matches)
        self._set_rows({uid: row for uid, row in self.rows.items() if uid in kept})
        self.tagged &= kept
        self._asked &= kept
        flags = tuple(flags)
        for uid, new_flags in flags:
            was = self.rows.get(uid)
            if "\\Deleted" not in new_flags:
                self.deleted_elsewhere.discard(uid)
            elif uid in ours:
                self.deleted_elsewhere.discard(uid)
            elif was is not None and "\\Deleted" not in was.flags:
                self.deleted_elsewhere.add(uid)
        self.deleted_elsewhere &= kept
        self.collapsed &= kept
        self.update_many_flags(flags)
        self._arrange()
        self.virtual_size = Size(self._row_width, len(self.uids))
        if old_uid in self.uids:
            self.cursor = self.uids.index(old_uid)
        else:
            self.cursor = min(old_cursor, max(0, len(self.uids) - 1))
        self._want_visible_rows()

    @property
    def deleted_uids(self) -> list[int]:
        """What `$` expunges: rows loaded marked \\Deleted, except marks another client just set.

        Like mutt, the whole mailbox's, also those a search hides (the dialog says so).
        """
        return [
            uid for uid in self.mailbox_uids
            if (row := self.rows.get(uid)) is not None and "\\Deleted" in row.flags and uid not in self.deleted_elsewhere
        ]

    @property
    def targets(self) -> list[int]:
        """What an action applies to: the tagged messages, else the one under the cursor."""
        if self.tagged:
            return [uid for uid in self.uids if uid in self.tagged]
        return [self.current_uid] if self.current_uid is not None else []

    def action_toggle_tag(self) -> None:
        uid = self.current_uid
        if uid is None:
            return
        self.tagged ^= {uid}
        self._lines.clear()
        self.action_cursor_down()  # like mutt: tag, then on to the next one
        self.refresh()

    def action_tag_all(self) -> None:
        self.tagged = set() if self.tagged else set(self.uids)  # with a search: its matches
        self._lines.clear()
        self.refresh()

    def forget_requested(self, uids: tuple[int, ...]) -> None:
        """Those rows' request failed: ask again when they are next on screen."""
        self._asked.difference_update(uids)

    @property
    def current_uid(self) -> int | None:
        if 0 <= self.cursor < len(self.uids):
            return self.uids[self.cursor]
        return None

    @property
    def _row_width(self) -> int:
        # Without the vertical scrollbar's column: a row that wide would be cut off.
        return self.scrollable_content_region.width

    @property
    def loaded_count(self) -> int:
        return len(self.rows)

    # -- rendering ---------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        row = self.scroll_offset.y + y
        width = self._row_width
        if row >= len(self.uids):
            return Strip.blank(width, self.rich_style)
        uid = self.uids[row]
        envelope = self.envelopes.get(uid)
        # Any change to envelopes clears the cache, so the key needs no envelope in it.
        key = (uid, width, row == self.cursor, self.has_focus, uid in self.tagged)
        strip = self._lines.get(key)
        if strip is None:
            strip = self._render_row(envelope, width, row == self.cursor, uid in self.tagged, self._thread_part(uid))
            if len(self._lines) > 4000:
                self._lines.clear()
            self._lines[key] = strip
        return strip

    def _thread_part(self, uid: int) -> str:
        """What goes before the subject in the thread view: the tree, and a collapsed thread's size."""
        line = self.arrangement.lines.get(uid)
        if line is None:
            return ""
        if not line.hidden:
            return line.prefix
        unread = f", {line.hidden_unread} unread" if line.hidden_unread else ""
        return f"{line.prefix}[+{line.hidden}{unread}] "

    def _render_row(self, envelope: Envelope | None, width: int, is_cursor: bool, is_tagged: bool,
                    thread: str = "") -> Strip:
        base = self.rich_style
        if envelope is None:
            text = set_cell_size("    …", width)
            style = base + self.get_component_rich_style("message-list--loading", partial=True)
            segments = [Segment(text, style)]
        else:
            style = base
            if not envelope.seen:
                style += self.get_component_rich_style("message-list--unread", partial=True)
            if envelope.flagged:
                style += self.get_component_rich_style("message-list--flagged", partial=True)
            if envelope.deleted:
                style += self.get_component_rich_style("message-list--deleted", partial=True)
            flag_style = style + self.get_component_rich_style("message-list--flags", partial=True)
            # The sender column gives way first on narrow terminals: the subject says more.
            from_width = max(10, min(22, width // 4))
            subject_width = max(0, width - FLAGS_WIDTH - DATE_WIDTH - from_width - SIZE_WIDTH - 3)
            sender = safe_line(envelope.sender.display(), 200) if envelope.sender else ""
            shown_sender = _fit_address(sender, from_width) if "@" in sender and " " not in sender else _fit(sender, from_width)
            segments = [
                Segment(("*" if is_tagged else " ") + _flag_column(envelope), flag_style),
                Segment(" " + _fit(compact_date(envelope.date, self._today), DATE_WIDTH), style),
                Segment(" " + shown_sender, style),
                Segment(" " + _fit(thread + (safe_line(envelope.subject, 500) or "(no subject)"), subject_width), style),
                Segment(" " + human_size(envelope.size).rjust(SIZE_WIDTH - 1), style),
            ]
            used = sum(cell_len(s.text) for s in segments)
            if used < width:
                segments.append(Segment(" " * (width - used), style))
        if is_cursor:
            cursor_style = self.get_component_rich_style("message-list--cursor")
            segments = [Segment(s.text, (s.style or Style()) + cursor_style) for s in segments]
        return Strip(segments).crop(0, width)

    # -- movement ----------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        if self.uids:
            clamped = max(0, min(new, len(self.uids) - 1))
            if clamped != new:
                self.cursor = clamped
                return
        self._scroll_cursor_into_view()
        self.refresh()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._want_visible_rows()

    def on_resize(self) -> None:
        self.virtual_size = Size(self._row_width, len(self.uids))
        self._lines.clear()
        # Opening the viewer shrinks the list: keep the row the user opened in sight.
        self.call_after_refresh(self._scroll_cursor_into_view)
        self._want_visible_rows()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def _scroll_cursor_into_view(self) -> None:
        height = self.size.height or 1
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def _want_visible_rows(self) -> None:
        height = max(self.size.height, 1)
        top = round(self.scroll_y)
        start = max(0, top - height * PREFETCH_SCREENS)
        end = min(len(self.uids), top + height * (1 + PREFETCH_SCREENS))
        missing = tuple(
            uid for uid in self.uids[start:end] if uid not in self.rows and uid not in self._asked
        )
        if missing:
            self._asked.update(missing)
            self.post_message(self.RowsWanted(missing, self.view))

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor = max(0, self.cursor - 1)

    def action_page_down(self) -> None:
        self.cursor = min(len(self.uids) - 1, self.cursor + max(1, self.size.height - 1))

    def action_page_up(self) -> None:
        self.cursor = max(0, self.cursor - max(1, self.size.height - 1))

    # -- one thread, from the viewer --------------------------------------------

    def step_in_thread(self, uid: int, step: int) -> None:
        """Find the message before (-1) or after (+1) `uid` in its thread; ThreadStepped says.
        The thread view knows its threads; a flat list threads its rows in a thread worker
        (100,000 rows take seconds), once per arrangement."""
        if self.arrangement.roots:
            found = neighbour(reading_order(self.arrangement.roots, uid), uid, step)
            self.post_message(self.ThreadStepped(found, step, uid, self.view))
            return
        self._thread_flat_list(self.arrangement, dict(self.rows), list(self.uids), uid, step, self.view)

    @work(thread=True, exclusive=True, group="thread-nav")
    def _thread_flat_list(self, layout: Layout, rows: dict, uids: list[int], uid: int, step: int, view: int) -> None:
        roots = threads_of(rows, uids)
        self.app.call_from_thread(self._flat_threads_found, layout, len(rows), roots, uid, step, view)

    def _flat_threads_found(self, layout: Layout, row_count: int, roots: list, uid: int, step: int, view: int) -> None:
        # Kept for the next press only if nothing can change them: the same arrangement,
        # with every row in (rows still loading may be replies that join a thread).
        if layout is self.arrangement and view == self.view and self.complete and row_count == len(self.rows):
            layout.roots = roots
        self.post_message(self.ThreadStepped(neighbour(reading_order(roots, uid), uid, step), step, uid, view))

    def move_to(self, uid: int) -> None:
        """Put the cursor on this message's row (a collapsed thread's: on its line)."""
        line = self.arrangement.lines.get(uid)
        for target in (uid, line.root if line is not None else None):
            if target in self.uids:
                self.cursor = self.uids.index(target)
                return

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(0, len(self.uids) - 1)

    def action_open(self) -> None:
        uid = self.current_uid
        if uid is not None:
            self.post_message(self.Opened(uid))

    def on_click(self, event: events.Click) -> None:
        row = round(self.scroll_y) + event.y
        if 0 <= row < len(self.uids):
            self.cursor = row
            if event.chain >= 2:
                self.action_open()


def _flag_column(envelope: Envelope) -> str:
    return (
        ("N" if not envelope.seen else " ")
        + ("!" if envelope.flagged else " ")
        + ("D" if envelope.deleted else "r" if envelope.answered else " ")
        + ("@" if envelope.has_attachment else " ")
    )


def _fit_address(address: str, width: int) -> str:
    """An address cut to `width` cells from the middle of its local part: the domain, where
    a phisher's real one shows (support.bank.com.verify@evil.example), stays on screen."""
    local, _, domain = address.rpartition("@")
    if cell_len(address) <= width or not local:
        return _fit(address, width)
    tail = "@" + domain
    room = width - 1 - cell_len(tail)
    if room < 1:
        return "…" + _cut_left(tail, width - 1)
    return set_cell_size(local, room) + "…" + tail


def _cut_left(text: str, width: int) -> str:
    """The last `width` cells of `text` (a wide character that does not fit is dropped)."""
    while cell_len(text) > width:
        text = text[1:]
    return set_cell_size(text, width)


def _fit(text: str, width: int) -> str:
    """Pad or cut to exactly `width` cells (CJK characters are two cells wide)."""
    if cell_len(text) > width and width > 1:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)
