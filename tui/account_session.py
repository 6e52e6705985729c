"""What the UI knows about one account: its worker, its mailboxes, its connection state.

No Textual here: the App keeps one of these per account and routes each
worker result to the session it came from.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .config import Account
from .imap.commands import decode_mailbox_name
from .imap.contract import ListMailboxes, Request, Result, SelectMailbox
from .imap.worker import ImapWorker
from .models import Mailbox

Secret = str | Callable[[], str]
WorkerFactory = Callable[..., ImapWorker]


@dataclass
class AccountSession:
    account: Account
    secret: Secret | None  # None: ask the user before connecting
    read_only: bool
    worker: ImapWorker | None = None
    mailboxes: tuple[Mailbox, ...] = ()
    connected: bool = False
    reconnecting: bool = False
    capabilities: frozenset[str] = frozenset()
    problem: str = ""
    skipped: bool = False  # the user declined to give a password
    failed: bool = False  # the worker stopped for good (e.g. a wrong password)
    options: dict = field(default_factory=dict)  # extra ImapWorker keyword arguments
    list_pattern: bytes = b"*"  # the tree's LIST filter (l)
    # Started before the app (start_early): its results wait in here until the app takes them.
    early: "KeptResults | None" = None
    early_list: int | None = None  # the ListMailboxes sent then
    early_select: int | None = None  # the SelectMailbox of INBOX sent then, until the app adopts it

    @property
    def name(self) -> str:
        return self.account.name

    @property
    def waiting_to_start(self) -> bool:
        return self.worker is None or self.early is not None

    def start_early(self, factory: WorkerFactory) -> None:
        """Connect, list and open INBOX while the UI is still starting (importing Textual and
        drawing the first frame take most of a second); `start` then hands the results over."""
        self.early = KeptResults()
        self.start(factory, self.early)
        self.early_list = self.worker.submit(ListMailboxes()).id
        self.early_select = self.worker.submit(SelectMailbox(b"INBOX", read_only=self.read_only)).id

    def take_early_select(self, raw_name: bytes, read_only: bool) -> int | None:
        """The id of the early SELECT if it opened this mailbox (once), else None."""
        request_id, self.early_select = self.early_select, None
        return request_id if raw_name == b"INBOX" and read_only == self.read_only else None

    def start(self, factory: WorkerFactory, post: Callable[[Result], None]) -> None:
        if self.early is not None and self.worker is not None:
            self.early.hand_over(post)
            self.early = None
            return
        assert self.secret is not None
        self.worker = factory(self.account, self.secret, post, **self.options)
        self.secret = None  # the worker keeps what it needs for reconnects
        self.worker.start()

    def submit(self, request: Request) -> Request | None:
        if self.worker is None or not self.connected:
            return None
        return self.worker.submit(request)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop(timeout=2.0)

    def mailbox_name(self, raw_name: bytes) -> str:
        # Not listed (yet): a mailbox a copy has just created, say.
        return next((m.name for m in self.mailboxes if m.raw_name == raw_name), decode_mailbox_name(raw_name))


class KeptResults:
    """A worker's `post` until the app exists: results are kept, then handed over in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: list[Result] = []
        self._target: Callable[[Result], None] | None = None

    def __call__(self, result: Result) -> None:
        with self._lock:  # held while posting: a result cannot overtake the kept ones
            if self._target is None:
                self._kept.append(result)
            else:
                self._target(result)

    def hand_over(self, target: Callable[[Result], None]) -> None:
        with self._lock:
            for result in self._kept:
                target(result)
            self._kept.clear()
            self._target = target
