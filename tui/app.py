"""The App: three panes over one account, fed by the account's IMAP worker."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace

from rich.text import Text
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static, Tree

from .config import Account
from .imap.contract import (
    Connected,
    ConnectionFailed,
    EnvelopesFetched,
    FetchEnvelopes,
    FetchMessage,
    FetchStatus,
    ListMailboxes,
    MailboxesListed,
    MailboxSelected,
    MessageFetched,
    Request,
    RequestFailed,
    Result,
    SelectMailbox,
    StatusFetched,
)
from .imap.worker import ImapWorker
from .models import Mailbox, MessageRef, SelectedMailbox
from .safe_text import safe_line
from .screens import HelpScreen, PasswordScreen
from .widgets.mailbox_tree import MailboxTree
from .widgets.message_list import MessageList
from .widgets.message_view import BodyView, MessageView

log = logging.getLogger(__name__)

WorkerFactory = Callable[[Account, str, Callable[[Result], None]], ImapWorker]


class ImapResult(Message):
    """A result from the IMAP worker thread (posted with the thread-safe post_message)."""

    def __init__(self, result: Result) -> None:
        super().__init__()
        self.result = result


class MailApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "tui-mail"
    # The screen gets -narrow below 100 columns: app.tcss gives the list and viewer the room.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("escape", "close_viewer", "Close", id="app.close_viewer"),
        Binding("tab", "focus_next", "Next pane", show=False, id="app.next_pane"),
        Binding("shift+tab", "focus_previous", "Previous pane", show=False, id="app.previous_pane"),
    ]

    def __init__(
        self,
        account: Account,
        password: str | None,
        *,
        read_only: bool = False,
        worker_factory: WorkerFactory = ImapWorker,
    ) -> None:
        super().__init__()
        self.account = account
        self.read_only = read_only or account.read_only
        self._password = password
        self._worker_factory = worker_factory
        self.worker: ImapWorker | None = None
        self.selected: SelectedMailbox | None = None
        self.mailboxes: tuple[Mailbox, ...] = ()
        self.connected = False
        self._select_request = 0
        self._message_request = 0
        self._loaded = 0
        self._row_requests: dict[int, tuple[int, ...]] = {}  # FetchEnvelopes id -> its UIDs
        self._problem = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield MailboxTree(self.account.name, id="mailboxes")
            with Vertical(id="right"):
                yield MessageList(id="messages")
                yield MessageView(id="viewer")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#viewer").display = False
        self.query_one(MessageList).focus()
        self._show_status(f"Connecting to {self.account.host}…")
        if self._password is None:
            self.push_screen(
                PasswordScreen(self.account.name, self.account.username, self.account.host), self._got_password
            )
        else:
            self._start_worker(self._password)

    def _got_password(self, password: str | None) -> None:
        if password is None:
            self.exit()
        else:
            self._start_worker(password)

    def _start_worker(self, password: str) -> None:
        self._password = None
        self.worker = self._worker_factory(self.account, password, lambda r: self.post_message(ImapResult(r)))
        self.worker.start()

    def on_unmount(self) -> None:
        if self.worker is not None:
            self.worker.stop(timeout=2.0)

    def submit(self, request: Request) -> Request:
        assert self.worker is not None
        return self.worker.submit(request)

    # -- results from the worker -----------------------------------------

    def on_imap_result(self, message: ImapResult) -> None:
        try:
            self._dispatch_result(message.result)
        except NoMatches:
            # Our panes exist for the app's whole life, except while it tears them down
            # at exit: a result landing then has nowhere to go.
            log.info("dropped %s: the app is closing", type(message.result).__name__)

    def _dispatch_result(self, result: Result) -> None:
        match result:
            case Connected():
                self.connected = True
                self._show_status(f"Connected to {self.account.host}; listing mailboxes…")
                self.submit(ListMailboxes())
            case ConnectionFailed(message=text):
                # The worker has stopped: say so everywhere something was waiting on it.
                self.connected = False
                self._problem = text
                self._show_status()
                viewer = self.query_one(MessageView)
                if viewer.display and viewer.parsed is None:
                    viewer.show_error(text)
                self.notify(safe_line(text), title="Connection", severity="error", timeout=10, markup=False)
            case MailboxesListed(mailboxes=mailboxes):
                self._handle_mailboxes(mailboxes)
            case StatusFetched(status=status):
                self.query_one(MailboxTree).show_status(status)
                if self.selected is not None and status.raw_name == self.selected.raw_name:
                    self.selected = replace(self.selected, unseen=status.unseen)
                    self._show_status()
            case MailboxSelected():
                self._handle_selected(result)
            case EnvelopesFetched():
                self._handle_envelopes(result)
            case MessageFetched():
                self._handle_message(result)
            case RequestFailed(message=text):
                self._handle_failure(result.request_id, text)

    def _handle_mailboxes(self, mailboxes: tuple[Mailbox, ...]) -> None:
        self.mailboxes = mailboxes
        tree = self.query_one(MailboxTree)
        tree.show_mailboxes(mailboxes)
        inbox = next((m for m in mailboxes if m.name.upper() == "INBOX" and m.selectable), None)
        first = inbox or next((m for m in mailboxes if m.selectable), None)
        if first is not None and self.selected is None:
            tree.select_mailbox_node(first.raw_name)
            self.open_mailbox(first)
        elif first is None:
            self._show_status("No selectable mailbox on this account.")

    def _handle_selected(self, result: MailboxSelected) -> None:
        if result.request_id != self._select_request:
            return  # the user picked another mailbox meanwhile
        self.selected = result.selected
        self._loaded = 0
        self._row_requests.clear()
        self.close_viewer()
        self.query_one(MessageList).show_mailbox(result.selected.uids)
        self._show_status()

    def _handle_envelopes(self, result: EnvelopesFetched) -> None:
        selected = self.selected
        if selected is None or (result.raw_name, result.uidvalidity) != (selected.raw_name, selected.uidvalidity):
            return
        self._loaded = max(self._loaded, result.loaded)
        self._row_requests.pop(result.request_id, None)
        self.query_one(MessageList).add_envelopes(result.envelopes)
        self._show_status()

    def _handle_message(self, result: MessageFetched) -> None:
        selected = self.selected
        same_mailbox = selected is not None and (result.ref.mailbox, result.ref.uidvalidity) == (
            selected.raw_name,
            selected.uidvalidity,
        )
        if result.flags is not None:
            # \Seen was set even if the user has moved on: the list and counts must show it.
            if same_mailbox:
                self.query_one(MessageList).update_flags(result.ref.uid, result.flags)
            self.submit(FetchStatus(result.ref.mailbox))
        if result.request_id == self._message_request:
            self.query_one(MessageView).show_message(result.ref, result.raw, result.truncated)

    def _handle_failure(self, request_id: int, text: str) -> None:
        if request_id == self._message_request:
            self.query_one(MessageView).show_error(f"Cannot show this message: {text}")
        elif request_id == self._select_request:
            # The server selected nothing: an old list would invite actions on the wrong mailbox.
            self.selected = None
            self.close_viewer()
            self.query_one(MessageList).show_mailbox(())
            text = f"Cannot open that mailbox: {text}"
        elif request_id in self._row_requests:
            self.query_one(MessageList).forget_requested(self._row_requests.pop(request_id))
        self._problem = text
        self._show_status()

    def _refuse_when_disconnected(self) -> bool:
        if self.connected:
            return False
        self._show_status("Not connected to the server; restart tui-mail to connect again.")
        return True

    # -- user actions ----------------------------------------------------

    def open_mailbox(self, mailbox: Mailbox) -> None:
        if not mailbox.selectable or self.worker is None or self._refuse_when_disconnected():
            return
        self._problem = ""
        self._select_request = self.submit(SelectMailbox(mailbox.raw_name, read_only=self.read_only)).id
        self._show_status(f"Opening {safe_line(mailbox.name)}…")

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        if isinstance(event.control, MailboxTree):
            mailbox = event.node.data
            if isinstance(mailbox, Mailbox) and mailbox.selectable:
                self.open_mailbox(mailbox)
                self.query_one(MessageList).focus()

    def on_message_list_rows_wanted(self, event: MessageList.RowsWanted) -> None:
        if self.selected is not None and self.connected:
            request = self.submit(FetchEnvelopes(self.selected.raw_name, self.selected.uidvalidity, event.uids))
            self._row_requests[request.id] = event.uids

    def on_message_list_opened(self, event: MessageList.Opened) -> None:
        self.open_message(event.uid)

    def open_message(self, uid: int) -> None:
        if self.selected is None or self._refuse_when_disconnected():
            return
        ref = MessageRef(self.selected.raw_name, self.selected.uidvalidity, uid)
        envelope = self.query_one(MessageList).envelopes.get(uid)
        mark_seen = not self.selected.read_only and not (envelope and envelope.seen)
        viewer = self.query_one(MessageView)
        viewer.display = True
        self.refresh_bindings()
        viewer.show_loading(ref)
        self._message_request = self.submit(FetchMessage(ref, mark_seen=mark_seen)).id
        self.query_one(BodyView).focus()

    def close_viewer(self) -> None:
        viewer = self.query_one(MessageView)
        if viewer.display:
            viewer.display = False
            viewer.ref = None
            self.refresh_bindings()
            self.query_one(MessageList).focus()

    def action_close_viewer(self) -> None:
        self.close_viewer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close_viewer":
            return self.query_one(MessageView).display
        return True

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_open_message(self) -> None:
        self.query_one(MessageList).action_open()

    def action_focus_pane(self, selector: str) -> None:
        self.query_one(selector).focus()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        listing = self.query_one(MessageList)
        yield SystemCommand("Help: keys", "Show every key binding (?)", self.action_help)
        yield SystemCommand("Open message", "Open the message under the cursor (Enter)", self.action_open_message)
        yield SystemCommand("Close message", "Close the message viewer (Esc)", self.action_close_viewer)
        yield SystemCommand("Next message", "Move down the list (j)", listing.action_cursor_down)
        yield SystemCommand("Previous message", "Move up the list (k)", listing.action_cursor_up)
        yield SystemCommand("First message", "Jump to the newest message (g)", listing.action_first)
        yield SystemCommand("Last message", "Jump to the oldest message (G)", listing.action_last)
        yield SystemCommand("Focus mailboxes", "Move to the mailbox tree", lambda: self.action_focus_pane("#mailboxes"))
        yield SystemCommand("Focus messages", "Move to the message list", lambda: self.action_focus_pane("#messages"))
        yield SystemCommand("Next pane", "Move to the next pane (Tab)", self.action_focus_next)
        yield SystemCommand("Previous pane", "Move to the previous pane (Shift+Tab)", self.action_focus_previous)

    # -- status line -----------------------------------------------------

    def _show_status(self, text: str | None = None) -> None:
        line = Text()
        if text is not None:
            line.append(safe_line(text))
        elif self.selected is not None:
            sel = self.selected
            name = next((m.name for m in self.mailboxes if m.raw_name == sel.raw_name), sel.raw_name.decode("ascii", "replace"))
            total = len(sel.uids)
            line.append(safe_line(name), style="bold")
            line.append(f"  {total} messages  {sel.unseen} unseen")
            if sel.read_only:
                line.append("  read-only", style="bold yellow")
            if total and self._loaded < total:
                line.append(f"  loading {self._loaded}/{total} ({self._loaded * 100 // total}%)", style="dim")
        if self._problem:
            line.append("  ! " + safe_line(self._problem, 300), style="bold red")
        self.query_one("#status", Static).update(line)
