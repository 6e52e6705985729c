"""Sort and thread view (issue 6): the `o` menu, `V`, and the server's SORT/THREAD while
the index fills.

A mixin of `MailApp`. The order is remembered per mailbox (`ListPrefs`). Sorting and
threading are done on the list's own rows once every row is in; before that, the
server's `UID SORT` or `UID THREAD REFERENCES` answers (RFC 5256) when it can, so a
sort on a 100,000-message mailbox is right at once, not after the fill.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .account_session import AccountSession
from .imap.contract import MessagesOrdered, OrderMessages
from .list_layout import ServerOrder, needs_rows
from .list_prefs import ListOrder, ListPrefs
from .widgets.message_list import MessageList
from .widgets.sort_menu import SortMenu

# Up to this many messages the list sorts and threads its own rows (under half a second);
# above, the server's SORT or THREAD does it, off the UI thread.
LOCAL_LIMIT = 10_000


class OrderingMixin:
    """Needs from MailApp: session, selected, query_one, submit, push_screen, _show_status."""

    def _init_ordering(self, prefs_path: Path | None) -> None:
        self.list_prefs = ListPrefs(prefs_path)
        self._order_request: int | None = None
        self._rows_coming = False  # the header cache is about to give (nearly) every row

    # -- actions ------------------------------------------------------------

    def action_sort_menu(self) -> None:
        selected = self.selected
        if selected is None:
            return
        listing = self.query_one(MessageList)
        name = self.session.mailbox_name(selected.raw_name)
        self.push_screen(SortMenu(name, listing.order), self._order_chosen)

    def action_toggle_threads(self) -> None:
        if self.selected is not None:
            order = self.query_one(MessageList).order
            self._order_chosen(replace(order, threads=not order.threads))

    def _order_chosen(self, order: ListOrder | None) -> None:
        selected = self.selected
        if order is None or selected is None:
            return
        self.list_prefs.remember(self.session.name, selected.raw_name, order)
        self.query_one(MessageList).set_order(order, awaiting=self.ask_server_order(order))
        self._show_status()  # it says "by date, newest first" (or nothing, for the default order)

    def order_summary(self) -> str:
        """For the status line: the order when it is not the default one, and whether it waits."""
        listing = self.query_one(MessageList)
        if listing.order == ListOrder():
            return ""
        if listing.awaiting_server:
            waiting = " (the server is sorting)"
        else:
            waiting = " (once every header is in)" if listing.arrangement.waiting else ""
        return listing.order.describe() + waiting

    # -- opening a mailbox, the server's answer ---------------------------------

    def apply_saved_order(self, cached: int = 0) -> None:
        """A mailbox just opened: its remembered order. With most rows in the header cache,
        sorting here beats the server's SORT or THREAD (which would hold the cached rows up)."""
        selected = self.selected
        self._rows_coming = selected is not None and cached >= 0.9 * len(selected.uids)
        if selected is None:
            return
        listing = self.query_one(MessageList)
        order = self.list_prefs.order(self.session.name, selected.raw_name)
        awaiting = self.ask_server_order(order)
        if order != listing.order or awaiting:
            listing.set_order(order, awaiting=awaiting)

    def ask_server_order(self, order: ListOrder) -> bool:
        """Ask the server for this order if it can sort and it is worth it: some rows are
        missing, or the mailbox is big enough that sorting here would freeze the UI.
        True when asked (the list then shows arrival order until the answer)."""
        self._order_request = None
        listing = self.query_one(MessageList)
        selected = self.selected
        if selected is None or not needs_rows(order):
            return False
        big = len(selected.uids) > LOCAL_LIMIT
        if not big and (listing.complete or self._rows_coming):
            return False
        wanted = "THREAD=REFERENCES" if order.threads else "SORT"
        if wanted not in self.session.capabilities:
            return False  # the list waits for the headers (or sorts them here, if all are in)
        request = self.submit(OrderMessages(selected.raw_name, selected.uidvalidity, order.key, order.reverse,
                                            order.threads))
        self._order_request = request.id if request is not None else None
        return big and request is not None

    def _messages_ordered(self, session: AccountSession, result: MessagesOrdered) -> None:
        if session is not self.session or result.request_id != self._order_request:
            return
        self._order_request = None
        selected = self.selected
        if selected is None or (result.raw_name, result.uidvalidity) != (selected.raw_name, selected.uidvalidity):
            return
        listing = self.query_one(MessageList)
        server = ServerOrder(result.key, result.reverse, result.threaded, result.uids, result.threads)
        listing.set_order(listing.order, server)
        self._show_status()  # no longer "the server is sorting"

    def _order_failed(self, request_id: int, text: str) -> bool:
        """A refused SORT or THREAD: the list waits for its own rows instead."""
        if request_id != self._order_request:
            return False
        self._order_request = None
        self.query_one(MessageList).set_order(self.query_one(MessageList).order)  # here, then
        self._show_status(f"The server could not sort ({text}); sorting here once every header is in.")
        return True
