"""Drive an ImapWorker from a test: collect its results and wait for the one you need."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import TypeVar

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


def raw_client(account: Account, password: str) -> IMAPClient:
    """A separate connection, to check the server's own state after an action."""
    client = IMAPClient(account.host, port=account.port, ssl=False, timeout=30)
    client.login(account.username, password)
    client.folder_encode = False
    return client
