"""Search (issue 5): the search bar, running a query on the worker, and the list of matches.

A mixin of `MailApp`. The query is parsed on the UI thread, so a mistake is shown
before anything is sent; the search itself is a `UID SEARCH` on the worker thread.
Only the newest search's answer is shown: an older one's late answer is dropped.
The matches are UIDs, so they stay right while other clients expunge; new mail is
searched too (only the new UIDs), and joins the list if it matches.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from .account_session import AccountSession
from .headers import base_subject
from .imap.contract import SearchFinished, SearchMessages
from .imap.search import compile_search
from .imap.uidset import compress_uids
from .safe_text import safe_line
from .search_history import SearchHistory
from .search_query import And, Atom, Node, QueryError, Term, parse_query, quote_value
from .timefmt import count_text, now
from .widgets.message_list import MessageList
from .widgets.search_bar import SearchBar


class SearchMixin:
    """Needs from MailApp: session, selected, query_one, submit, _show_status, _refuse_when_disconnected."""

    def _init_search(self, history_path: Path | None) -> None:
        self.search_history = SearchHistory(history_path)
        self._search_request: int | None = None  # the search whose answer the list waits for
        self._searching: tuple[str, Node] | None = None  # its query and tree
        self.search_query: str | None = None  # the query whose matches are shown
        self._search_node: Node | None = None
        self._new_mail_searches: dict[int, Node] = {}  # searches of just-arrived UIDs -> the query's tree
        self._search_ids: set[int] = set()  # every search sent and not answered: their failures are ours
        self._rerun_failed = False  # the re-run after a reconnect failed: do not loop on it

    @property
    def search_active(self) -> bool:
        return self.search_query is not None or self._search_request is not None

    # -- actions ------------------------------------------------------------

    def action_search(self) -> None:
        if self.selected is None:
            self._show_status("Open a mailbox first, then / searches it.")
            return
        self.query_one(SearchBar).open(self.search_query or "")

    def run_search(self, query: str) -> None:
        """Search the open mailbox for `query` (an empty query shows everything again)."""
        bar = self.query_one(SearchBar)
        query = query.strip()
        if not query:
            self.clear_search()
            return
        try:
            node = parse_query(query, today=now().date())
            command = compile_search(node)
        except QueryError as error:
            bar.show_error(f"{error.message}. Nothing was searched.", error.start, error.end)
            return
        except ValueError as error:  # the compiler's own last check: never sent either
            bar.show_error(f"{error}. Nothing was searched.")
            return
        self.search_history.add(query)
        if self.selected is None:
            bar.show_error("No mailbox is open to search.")
            return
        if self._refuse_when_disconnected(self.session):
            return
        if self._submit_search(query, node, command):
            bar.show_query(query)
            self.query_one(MessageList).focus()

    def _submit_search(self, query: str, node: Node, command) -> bool:
        selected = self.selected
        request = self.session.submit(SearchMessages(selected.raw_name, selected.uidvalidity, command, query))
        if request is None:
            return False
        self._search_ids.add(request.id)
        self._search_request = request.id
        self._searching = (query, node)
        self._show_status(f"Searching {safe_line(self.session.mailbox_name(selected.raw_name))}…")
        return True

    def clear_search(self) -> None:
        """Back to the whole mailbox; the cursor stays on its message."""
        was_active = self.search_active
        self.forget_search()
        message_list = self.query_one(MessageList)
        message_list.show_matches(None)
        message_list.focus()
        self._show_status("Showing all messages." if was_active else None)

    def forget_search(self) -> None:
        """No search any more (another mailbox opened): close the bar, drop late answers."""
        self._search_request = None
        self._searching = None
        self.search_query = None
        self._search_node = None
        self._new_mail_searches.clear()
        self._rerun_failed = False
        self.query_one(SearchBar).close()

    def on_search_bar_submitted(self, event: SearchBar.Submitted) -> None:
        self.run_search(event.query)

    def on_search_bar_cancelled(self, event: SearchBar.Cancelled) -> None:
        self.clear_search()

    # -- answers ------------------------------------------------------------

    def _search_finished(self, session: AccountSession, result: SearchFinished) -> None:
        self._search_ids.discard(result.request_id)
        selected = self.selected
        if session is not self.session or selected is None:
            return
        if (result.raw_name, result.uidvalidity) != (selected.raw_name, selected.uidvalidity):
            return
        message_list = self.query_one(MessageList)
        if result.request_id in self._new_mail_searches:
            node = self._new_mail_searches.pop(result.request_id)
            if node is self._search_node and self._search_request is None:  # still the query shown
                message_list.add_matches(result.uids)
                self._show_status()
            return
        if result.request_id != self._search_request or self._searching is None:
            return  # an older search's late answer: the user has asked something else since
        self.search_query, self._search_node = self._searching
        self._search_request = None
        self._searching = None
        self._rerun_failed = False
        message_list.show_matches(result.uids)
        shown = len(message_list.uids)
        self._show_status("" if shown else "No message matches; Esc shows all, / edits the query.")

    def _search_failed(self, request_id: int, text: str) -> bool:
        """A search was refused (or could not run): say so in the bar. True if it was one.

        An older search's failure (the user searched again, or left) is dropped quietly.
        """
        if request_id not in self._search_ids:
            return False
        self._search_ids.discard(request_id)
        if request_id in self._new_mail_searches or request_id != self._search_request:
            self._new_mail_searches.pop(request_id, None)
            return True
        self._rerun_failed = True
        self._search_request = None
        self._searching = None
        self.query_one(SearchBar).show_error(f"The search failed: {text}")
        self._show_status()
        return True

    def search_new_mail(self, new_uids: tuple[int, ...]) -> None:
        """Mail arrived while a search is shown: search just the new messages, the same way."""
        selected = self.selected
        if self._search_node is None or not new_uids or selected is None:
            return
        if self._search_request is not None:
            return  # a newer search is on its way: it runs after the worker saw this mail
        node = And((Term("UID", (Atom(compress_uids(new_uids)),)), self._search_node))
        request = self.session.submit(
            SearchMessages(selected.raw_name, selected.uidvalidity, compile_search(node), self.search_query or "")
        )
        if request is not None:
            self._search_ids.add(request.id)
            self._new_mail_searches[request.id] = self._search_node

    def search_again(self) -> None:
        """The mailbox was opened again (a reconnect): run the shown query again, leaving the focus be.

        A search still on its way is retried by the worker itself; one whose re-run failed
        is not tried again (it may be what drops the connection) until the user searches.
        """
        if self._search_request is not None or self._rerun_failed or self.selected is None:
            return
        if self.search_query is not None and self._search_node is not None:
            self._submit_search(self.search_query, self._search_node, compile_search(self._search_node))

    def search_summary(self) -> Text | None:
        """`12 of 1,234 match from:alice` for the status line, while a search is shown."""
        if self._search_request is not None and self._searching is not None:
            return Text(f"searching for {safe_line(self._searching[0], 120)}…", style="italic")
        if self.search_query is None:
            return None
        message_list = self.query_one(MessageList)
        shown, total = len(message_list.uids), len(message_list.mailbox_uids)
        line = Text()
        line.append(f"{shown:,} of {count_text(total)} match ", style="bold")
        line.append(safe_line(self.search_query, 120), style="bold italic")
        line.append("  (Esc: all)", style="dim")
        return line

    # -- quick filters (the palette) ---------------------------------------------

    def quick_filter(self, query: str) -> None:
        if self.selected is None:
            self._show_status("Open a mailbox first.")
            return
        self.run_search(query)

    def filter_by_sender(self) -> None:
        envelope = self._current_envelope()
        if envelope is None:
            return
        if envelope.sender is None or not envelope.sender.mailbox:
            self._show_status("This message has no sender address to search for.")
            return
        self.quick_filter("from:" + quote_value(envelope.sender.mailbox))

    def filter_by_thread_subject(self) -> None:
        envelope = self._current_envelope()
        if envelope is None:
            return
        subject = base_subject(envelope.subject)
        if not subject:
            self._show_status("This message has no subject to search for.")
            return
        self.quick_filter("subject:" + quote_value(subject))

    def _current_envelope(self):
        message_list = self.query_one(MessageList)
        uid = message_list.current_uid
        envelope = message_list.envelopes.get(uid) if uid is not None else None
        if envelope is None:
            self._show_status("No message is selected (or it is still loading).")
        return envelope
