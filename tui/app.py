"""The App: three panes over one account, fed by the account's IMAP worker."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static, Tree

from .account_session import AccountSession, Secret, WorkerFactory
from .config import Account
from .imap.contract import (
    Checkpointed,
    Connected,
    CopiesRemoved,
    CopyRefused,
    ConnectionFailed,
    ConnectionLost,
    EnvelopesFetched,
    FetchEnvelopes,
    FetchStatus,
    FlagsChanged,
    ListMailboxes,
    MailboxChanged,
    MailboxesListed,
    MailboxManaged,
    MailboxSelected,
    MessagesCopied,
    MessagesExpunged,
    MessageFetched,
    MessagesOrdered,
    Notice,
    PartFetched,
    PartSaved,
    Reconnected,
    Request,
    RequestFailed,
    Result,
    SearchFinished,
    SelectMailbox,
    StatusFetched,
)
from .imap.trace import ProtocolTrace
from .mailbox_admin import MailboxAdminMixin
from .palette import palette_commands
from .ordering import OrderingMixin
from .searching import SearchMixin
from .triage import TriageMixin
from .opening import PartOpeningMixin
from .viewing import ViewerMixin
from .imap.worker import ImapWorker
from .models import Mailbox, SelectedMailbox
from .safe_text import safe_line
from .status_line import status_line
from .screens import HelpScreen, MailboxInfoScreen, PasswordScreen
from .widgets.mailbox_tree import MailboxTree, TreeEntry
from .widgets.protocol_log import ProtocolLogScreen
from .widgets.message_list import MessageList
from .widgets.message_view import MessageView
from .widgets.search_bar import SearchBar

log = logging.getLogger(__name__)


class ImapResult(Message):
    """A result from an account's IMAP worker thread (posted with the thread-safe post_message)."""

    def __init__(self, account: str, result: Result) -> None:
        super().__init__()
        self.account = account
        self.result = result


class MailApp(ViewerMixin, PartOpeningMixin, SearchMixin, OrderingMixin, TriageMixin, MailboxAdminMixin, App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "tui-mail"
    # The screen gets -narrow below 100 columns: app.tcss gives the list and viewer the room.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("P", "protocol_log", "Protocol log", show=False, id="app.protocol_log"),
        Binding("escape", "back", "Back", id="app.back"),
        Binding("slash", "search", "Search", id="app.search"),
        Binding("tab", "focus_next", "Next pane", show=False, id="app.next_pane"),
        Binding("shift+tab", "focus_previous", "Previous pane", show=False, id="app.previous_pane"),
    ]

    def __init__(
        self,
        account: Account,
        secret: Secret | None,
        *,
        others: Sequence[tuple[Account, Secret | None]] = (),
        read_only: bool = False,
        worker_factory: WorkerFactory = ImapWorker,
        worker_options: dict | None = None,
        debug_imap: Path | None = None,
        search_history: Path | None = None,
        list_prefs: Path | None = None,
        viewer_prefs: Path | None = None,
        started: AccountSession | None = None,
    ) -> None:
        """`account` opens first; `others` are further accounts, each its own tree root.

        A secret of None means: ask the user in the app, and keep it in memory only.
        `debug_imap` also writes every account's protocol trace to that file.
        `search_history` keeps the search bar's queries, `list_prefs` each mailbox's order,
        `viewer_prefs` the viewer's choices per account; None keeps them in memory only.
        `started`: the first account's session, already connecting (AccountSession.start_early).
        """
        super().__init__()
        self.sessions: dict[str, AccountSession] = {}
        for acc, acc_secret in [(account, secret), *others]:
            # Every account keeps its recent commands for the protocol log screen.
            if started is not None and acc is account:
                self.sessions[acc.name] = started
                continue
            options = {"trace": ProtocolTrace(debug_imap), **(worker_options or {})}
            self.sessions[acc.name] = AccountSession(acc, acc_secret, read_only or acc.read_only, options=options)
        self._worker_factory = worker_factory
        self.startup_failures: list[str] = []  # set when no account could connect at all
        self.session: AccountSession = self.sessions[account.name]  # the one whose mailbox is open
        self.selected: SelectedMailbox | None = None
        # Ids of the requests whose answers the screen waits for (None: none pending);
        # background failures carry id 0 and must match neither.
        self._select_request: int | None = None
        self._opening: bytes | None = None  # the mailbox of _select_request
        self._notice_after_open = ""  # said once INBOX is open again (the notice clears then)
        self._unopenable: set[tuple[str, bytes]] = set()  # (account, mailbox) a SELECT failed for: never auto-opened
        self._init_viewer(viewer_prefs)
        self._init_opening()
        self._loaded = 0
        self._row_requests: dict[int, tuple[int, ...]] = {}  # FetchEnvelopes id -> its UIDs
        self._init_triage()
        self._init_search(search_history)
        self._init_ordering(list_prefs)
        self._notice = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield MailboxTree(id="mailboxes")
            with Vertical(id="right"):
                yield SearchBar(self.search_history, id="search")
                yield MessageList(id="messages")
                yield MessageView(id="viewer")
        yield Static(id="status")
        yield Footer()

    @property
    def account(self) -> Account:
        return self.session.account

    @property
    def mailboxes(self) -> tuple[Mailbox, ...]:
        return self.session.mailboxes

    @property
    def connected(self) -> bool:
        return self.session.connected

    def on_mount(self) -> None:
        self.query_one("#viewer").display = False
        self.query_one(SearchBar).display = False
        self.query_one(MessageList).focus()
        tree = self.query_one(MailboxTree)
        for session in self.sessions.values():
            tree.add_account(session.name)
        self._show_status(f"Connecting to {self.account.host}…")
        self._start_sessions()

    def _start_sessions(self) -> None:
        """Start every account that has its secret; ask for the others one at a time."""
        for session in self.sessions.values():
            if not session.waiting_to_start or session.skipped:
                continue
            if session.secret is None and session.early is None:  # (an early start has it already)
                account = session.account
                prompt = PasswordScreen(account.name, account.username, account.host)
                self.push_screen(prompt, lambda answer, s=session: self._got_password(s, answer))
                return
            session.start(self._worker_factory, lambda r, name=session.name: self.post_message(ImapResult(name, r)))

    def _got_password(self, session: AccountSession, password: str | None) -> None:
        if password is None:
            if session is self.session:
                self.exit()
                return
            # Esc on another account's prompt: leave that account unconnected.
            session.skipped = True
            session.problem = "not connected: no password given"
            self.query_one(MailboxTree).show_account_problem(session.name, session.problem)
            if self._give_up_if_nothing_can_connect():
                return
        else:
            session.secret = password
        self._start_sessions()

    def on_unmount(self) -> None:
        self._cleanup_opened_files()
        for session in self.sessions.values():
            session.stop()
            session.options["trace"].close()

    def submit(self, request: Request, session: AccountSession | None = None) -> Request | None:
        return (session or self.session).submit(request)

    # -- results from the worker -----------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            # The background load steps aside while the user types (ImapWorker.user_active).
            for session in self.sessions.values():
                user_active = getattr(session.worker, "user_active", None)
                if user_active is not None:
                    user_active()
        await super().on_event(event)

    def on_imap_result(self, message: ImapResult) -> None:
        session = self.sessions.get(message.account)
        if session is None:
            return
        try:
            self._dispatch_result(session, message.result)
        except NoMatches:
            # Our panes exist for the app's whole life, except while it tears them down
            # at exit: a result landing then has nowhere to go.
            log.info("dropped %s: the app is closing", type(message.result).__name__)

    def _dispatch_result(self, session: AccountSession, result: Result) -> None:
        tree = self.query_one(MailboxTree)
        match result:
            case Connected(capabilities=capabilities) | Reconnected(capabilities=capabilities):
                session.connected, session.reconnecting = True, False
                session.capabilities = capabilities
                session.problem = ""
                tree.show_account_problem(session.name, "")
                if isinstance(result, Connected):
                    self._show_status(f"Connected to {session.account.host}; listing mailboxes…")
                    if session.early_list is None:  # else asked already, before the app was up
                        session.submit(ListMailboxes())
                else:
                    self._show_status()
            case ConnectionLost(message=text):
                # The worker reconnects by itself and re-opens the mailbox; just say so.
                session.reconnecting = True
                self._set_problem(session, text)
            case ConnectionFailed(message=text):
                # The worker has stopped: say so everywhere something was waiting on it.
                session.connected = session.reconnecting = False
                session.failed = True
                self._set_problem(session, text)
                if self._give_up_if_nothing_can_connect():
                    return
                viewer = self.query_one(MessageView)
                if session is self.session and viewer.display and viewer.parsed is None:
                    viewer.show_error(text)
                self.notify(safe_line(text), title=safe_line(session.name), severity="error", timeout=10, markup=False)
            case MailboxesListed(mailboxes=mailboxes):
                self._handle_mailboxes(session, mailboxes)
            case StatusFetched(status=status):
                tree.show_status(session.name, status)
                self.status_arrived(session, result.request_id, status)
                if session is self.session and self.selected is not None and status.raw_name == self.selected.raw_name:
                    self.selected = replace(self.selected, unseen=status.unseen)
                    self._show_status()
            case MailboxSelected():
                self._handle_selected(session, result)
            case SearchFinished():
                self._search_finished(session, result)
            case MessagesOrdered():
                self._messages_ordered(session, result)
            case EnvelopesFetched():
                self._handle_envelopes(session, result)
            case MessageFetched():
                self._handle_message(session, result)
            case PartFetched():
                self._handle_part(session, result)
            case PartSaved():
                self._handle_saved(session, result)
            case FlagsChanged():
                self._handle_flags(session, result)
                self._flags_confirmed(session, result)
            case MailboxChanged():
                self._mailbox_changed(session, result)
            case MessagesCopied():
                self._copied(session, result)
            case CopyRefused():
                self._copy_refused(session, result)
            case CopiesRemoved():
                self._copies_removed(session, result)
            case MessagesExpunged():
                self._expunged(session, result)
            case MailboxManaged():
                self._mailbox_managed(session, result)
            case Checkpointed():
                self._checkpointed(session, result)
            case Notice(message=text):
                self.notify(safe_line(text, 300), title=safe_line(session.name), timeout=10, markup=False)
            case RequestFailed(message=text):
                self._handle_failure(session, result.request_id, text)

    def _give_up_if_nothing_can_connect(self) -> bool:
        """Nothing connected and nothing left to try: a TUI with empty panes helps nobody.

        Leave, and let the CLI print each account's reason as a plain line.
        """
        sessions = self.sessions.values()
        if any(s.capabilities for s in sessions) or not all(s.failed or s.skipped for s in sessions):
            return False
        self.startup_failures = [s.problem for s in sessions if s.failed]
        self.exit(return_code=1)
        return True

    def _set_problem(self, session: AccountSession, text: str) -> None:
        session.problem = text
        self.query_one(MailboxTree).show_account_problem(session.name, text)
        self._show_status()

    def _handle_mailboxes(self, session: AccountSession, mailboxes: tuple[Mailbox, ...]) -> None:
        session.mailboxes = mailboxes
        tree = self.query_one(MailboxTree)
        tree.show_mailboxes(session.name, mailboxes)
        if session is not self.session or self.selected is not None or self._select_request is not None:
            return
        # The account opened first shows its INBOX (else its first mailbox) right away.
        openable = [m for m in mailboxes if m.selectable and (session.name, m.raw_name) not in self._unopenable]
        inbox = next((m for m in openable if m.name.upper() == "INBOX"), None)
        first = inbox or next(iter(openable), None)
        if first is not None:
            tree.select_mailbox_node(session.name, first.raw_name)
            self.open_mailbox(session, first)
        else:
            self._show_status("No selectable mailbox on this account.")

    def _handle_selected(self, session: AccountSession, result: MailboxSelected) -> None:
        if result.request_id != self._select_request:
            return  # the user picked another mailbox meanwhile
        previous = self.selected
        self.selected = result.selected
        self._unopenable.discard((session.name, result.selected.raw_name))
        self._loaded = 0
        # Row requests still out name the old view's messages: their answers are dropped,
        # their failures ("not open right now") are nobody's problem. Not forgotten here.
        same_view = previous is not None and (previous.raw_name, previous.uidvalidity) == (
            result.selected.raw_name,
            result.selected.uidvalidity,
        )
        if not same_view:  # a re-select after a reconnect keeps the open message and the search
            self.close_viewer()
            self.forget_search()
            back_in_inbox = result.selected.raw_name.upper() == b"INBOX"
            self._notice, self._notice_after_open = (self._notice_after_open if back_in_inbox else ""), ""
        self.query_one(MessageList).show_mailbox(result.selected.uids, keep_cursor=same_view)
        self.apply_saved_order(result.cached)
        self._show_status()
        if same_view:
            self.search_again()  # mail may have come or gone while the connection was down

    def _handle_envelopes(self, session: AccountSession, result: EnvelopesFetched) -> None:
        self._row_requests.pop(result.request_id, None)
        selected = self.selected
        if session is not self.session or selected is None:
            return
        if (result.raw_name, result.uidvalidity) != (selected.raw_name, selected.uidvalidity):
            return
        self._loaded = max(self._loaded, result.loaded)
        self.query_one(MessageList).add_rows(result.rows)
        self._show_status()

    def _handle_flags(self, session: AccountSession, result: FlagsChanged) -> None:
        selected = self.selected
        if session is self.session and selected is not None and (result.raw_name, result.uidvalidity) == (
            selected.raw_name,
            selected.uidvalidity,
        ):
            self.query_one(MessageList).our_flags_changed(result.flags)
            self._show_status()
        session.submit(FetchStatus(result.raw_name))  # unread counts follow the server

    def _handle_failure(self, session: AccountSession, request_id: int, text: str) -> None:
        if self._triage_failed(request_id, text) or self._search_failed(request_id, text) or self._order_failed(
            request_id, text
        ):
            return
        if self._viewer_failed(request_id, text):
            return
        if request_id == self._select_request:
            # The server selected nothing: an old list would invite actions on the wrong mailbox.
            self.selected = None
            self.close_viewer()
            self.forget_search()
            self.query_one(MessageList).show_mailbox(())
            self._select_request = None
            if self._opening is not None:
                self._unopenable.add((session.name, self._opening))
            if self._opening is not None and self._opening.upper() != b"INBOX" and session.connected:
                # Deleted or renamed by another client (also what a re-select after a
                # reconnect meets): a fresh mailbox list drops it from the tree, and opens
                # INBOX (_handle_mailboxes) rather than leaving the user nowhere.
                name = safe_line(session.mailbox_name(self._opening))
                self._notice_after_open = f"{name} cannot be opened any more ({text}); back to INBOX."
                session.submit(ListMailboxes(pattern=session.list_pattern))
                text = f"Cannot open {name} any more: {text}"
            else:
                text = f"Cannot open that mailbox: {text}"
        elif request_id in self._row_requests:
            # Rows are asked again when next on screen; a race with a re-select is no problem.
            self.query_one(MessageList).forget_requested(self._row_requests.pop(request_id))
            return
        session.problem = text
        self._show_status()

    def _refuse_when_disconnected(self, session: AccountSession) -> bool:
        if session.connected:
            return False
        if session.reconnecting:
            self._show_status(f"Reconnecting to {session.account.host}… try again in a moment.")
        else:
            self._show_status(f"Not connected to {session.account.host}; restart tui-mail to connect again.")
        return True

    # -- user actions ----------------------------------------------------

    def open_mailbox(self, session: AccountSession, mailbox: Mailbox) -> None:
        if not mailbox.selectable or self._refuse_when_disconnected(session):
            return
        leaving = self.selected is not None and (session is not self.session or mailbox.raw_name != self.selected.raw_name)
        if leaving and self.ask_before_leaving(lambda: self.open_mailbox(session, mailbox)):
            return
        session.problem = ""
        if session is not self.session:
            # Another account: nothing of the old one's list may stay on screen.
            self.session = session
            self.selected = None
            self.close_viewer()
            self.forget_search()
            self.query_one(MessageList).show_mailbox(())
        early = session.take_early_select(mailbox.raw_name, session.read_only)
        request = None if early else session.submit(SelectMailbox(mailbox.raw_name, read_only=session.read_only))
        self._select_request = early or (request.id if request else None)
        self._opening = mailbox.raw_name
        self._show_status(f"Opening {safe_line(mailbox.name)}…")

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        entry = event.node.data
        if isinstance(event.control, MailboxTree) and isinstance(entry, TreeEntry) and entry.mailbox:
            if entry.mailbox.selectable:
                self.open_mailbox(self.sessions[entry.account], entry.mailbox)
                self.query_one(MessageList).focus()

    def on_message_list_rows_wanted(self, event: MessageList.RowsWanted) -> None:
        # Asked for while the previous mailbox was shown, and handled after this one opened:
        # those UIDs name other messages here (or none), and their rows would never go away.
        try:
            listing = self.query_one(MessageList)
        except NoMatches:  # the app is closing
            return
        if self.selected is None or event.view != listing.view:
            return
        uids = event.uids
        request = self.session.submit(FetchEnvelopes(self.selected.raw_name, self.selected.uidvalidity, uids))
        if request is None:  # not connected: ask again when these rows are next on screen
            listing.forget_requested(uids)
        else:
            self._row_requests[request.id] = uids

    async def action_quit(self) -> None:
        if not self.ask_before_leaving(self.exit):
            self.exit()

    def action_close_viewer(self) -> None:
        self.close_viewer()

    def action_back(self) -> None:
        """Esc: close the message; with none open, leave the search."""
        viewer = self.query_one(MessageView)
        if viewer.display:
            if not viewer.leave_attached():
                self.close_viewer()
        elif self.search_active or self.query_one(SearchBar).display:
            self.clear_search()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close_viewer":
            return self.query_one(MessageView).display
        if action == "back":
            return self.query_one(MessageView).display or self.search_active or self.query_one(SearchBar).display
        return True

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_protocol_log(self) -> None:
        if not isinstance(self.screen, ProtocolLogScreen):
            self.push_screen(ProtocolLogScreen(self.session.options["trace"], self.session.capabilities))

    def action_mailbox_info(self) -> None:
        if self.selected is not None and not isinstance(self.screen, MailboxInfoScreen):
            name = self.session.mailbox_name(self.selected.raw_name)
            self.push_screen(MailboxInfoScreen(name, self.selected, self.session.capabilities))

    def action_open_message(self) -> None:
        self.query_one(MessageList).action_open()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from palette_commands(self)

    # -- status line -----------------------------------------------------

    def _show_status(self, text: str | None = None) -> None:
        """Redraw the status line; `text` becomes the notice shown beside the mailbox summary.

        A notice ("Moved 10 messages to Archive.") stays until the next one, or until
        another mailbox opens, so a later count update does not wipe it.
        """
        if text is not None:
            self._notice = text
        selected = self.selected
        line = status_line(
            account=self.session.name if len(self.sessions) > 1 else None,
            mailbox=self.session.mailbox_name(selected.raw_name) if selected is not None else "",
            selected=selected,
            loaded=self._loaded,
            search=self.search_summary() if selected is not None else None,
            notice=self._notice,
            problem=self.session.problem,
            order=self.order_summary(),
        )
        # One line of fixed height: no need to lay the screen out again (that is a full
        # repaint, 50 times during a 100,000-row fill).
        self.query_one("#status", Static).update(line, layout=False)
