"""Drive an ImapWorker from a test: collect its results and wait for the one you need."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from imapclient import IMAPClient

from tui.config import Account
from tui.imap.contract import Result
from tui.imap.worker import ImapWorker

R = TypeVar("R", bound=Result)


class WorkerHarness:
    def __init__(self, account: Account, password: str, **worker_options) -> None:
        self.results: queue.Queue[Result] = queue.Queue()
        self.seen: list[Result] = []
        self.worker = ImapWorker(account, password, self.results.put, **worker_options)

    def __enter__(self) -> "WorkerHarness":
        self.worker.start()
        return self

    def __exit__(self, *exc) -> None:
        self.worker.stop()

    def wait(self, kind: type[R], where: Callable[[R], bool] = lambda r: True, timeout: float = 20.0) -> R:
        deadline = time.monotonic() + timeout
        for result in self.seen:
            if isinstance(result, kind) and where(result):
                return result
        while time.monotonic() < deadline:
            try:
                result = self.results.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(result)
            if isinstance(result, kind) and where(result):
                return result
        raise AssertionError(f"no {kind.__name__} within {timeout} s; got {[type(r).__name__ for r in self.seen]}")

    def wait_after(self, since: int, kind: type[R], where: Callable[[R], bool] = lambda r: True,
                   timeout: float = 20.0) -> R:
        """Like wait, but only a result that came after the first `since` ones (e.g. a second MailboxSelected)."""
        deadline = time.monotonic() + timeout
        while True:
            for result in self.seen[since:]:
                if isinstance(result, kind) and where(result):
                    return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no later {kind.__name__} within {timeout} s; got "
                                     f"{[type(r).__name__ for r in self.seen[since:]]}")
            try:
                self.seen.append(self.results.get(timeout=min(remaining, 0.5)))
            except queue.Empty:
                pass

    def settle(self, seconds: float = 0.3) -> list[Result]:
        """Collect whatever arrives within `seconds` (to check that nothing more came)."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                self.seen.append(self.results.get(timeout=remaining))
            except queue.Empty:
                break
        return self.seen


def account_for(server, name: str) -> Account:
    """An account on a test server (DovecotServer, PymapServer) without TLS."""
    return Account(name=name, host=server.host, port=server.port, tls="none", username=server.user)


def raw_client(account: Account, password: str) -> IMAPClient:
    """A separate connection, to check the server's own state after an action."""
    client = IMAPClient(account.host, port=account.port, ssl=False, timeout=30)
    client.login(account.username, password)
    client.folder_encode = False
    return client


def make_mailbox(account: Account, password: str, name: bytes, messages: list[bytes]) -> list[int]:
    """Create `name` (raw modified UTF-7) holding `messages`, through a separate connection; their UIDs."""
    client = raw_client(account, password)
    try:
        client.create_folder(name)
        for message in messages:
            client.append(name, message)
        client.select_folder(name, readonly=True)
        return sorted(client.search(["ALL"]))
    finally:
        client.logout()


def server_flags(account: Account, password: str, name: bytes) -> dict[int, frozenset[str]]:
    """Every message of `name` and its flags, as the server has them (EXAMINE: changes nothing).

    \\Recent is left out: it belongs to whichever session saw the message first.
    """
    client = raw_client(account, password)
    try:
        client.select_folder(name, readonly=True)
        uids = client.search(["ALL"])
        flags = client.get_flags(uids) if uids else {}
        return {uid: frozenset(f.decode() for f in flags[uid]) - {"\\Recent"} for uid in uids}
    finally:
        client.logout()


def server_message_ids(account: Account, password: str, name: bytes) -> dict[int, bytes]:
    """UID -> Message-ID header value of every message of `name`."""
    client = raw_client(account, password)
    try:
        client.select_folder(name, readonly=True)
        uids = client.search(["ALL"])
        if not uids:
            return {}
        data = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        return {uid: data[uid][b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].split(b":", 1)[1].strip() for uid in uids}
    finally:
        client.logout()


def sent_commands(trace) -> list[str]:
    """The commands the worker sent, in order ("UID MOVE", "NOOP", ...), from a ProtocolTrace."""
    return [timing.command for timing in trace.snapshot()[1]]


@contextmanager
def dovecot_holding(name: str, messages: Iterable[bytes]) -> Iterator[tuple[Any, Account]]:
    """A Dovecot of its own whose INBOX holds `messages` (UIDs 1, 2...): (server, account)."""
    from servers import DovecotServer, require_dovecot

    require_dovecot()
    with DovecotServer() as server:
        account = account_for(server, name)
        client = raw_client(account, server.password)
        for message in messages:
            client.append("INBOX", message)
        client.logout()
        yield server, account
