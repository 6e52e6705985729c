"""What the UI knows about one account: its worker, its mailboxes, its connection state.

No Textual here: the App keeps one of these per account and routes each
worker result to the session it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .config import Account
from .imap.commands import decode_mailbox_name
from .imap.contract import Request, Result
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

    @property
    def name(self) -> str:
        return self.account.name

    def start(self, factory: WorkerFactory, post: Callable[[Result], None]) -> None:
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
