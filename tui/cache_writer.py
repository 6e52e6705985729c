"""The header cache's writes on a thread of their own, in the order they were asked.

Writing 100,000 rows into SQLite costs about a second, most of it in SQLite's C code,
which runs without the GIL: on its own thread it overlaps the IMAP worker's fetching
instead of adding to it. Reads wait until every earlier write is done, so the worker
always reads what it wrote. Pure module: no Textual.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator

from .cache import HeaderCache, MailboxState
from .headers import Row

log = logging.getLogger(__name__)

_STOP = object()


class CacheWriter:
    """A HeaderCache whose writes are queued to a writer thread (same methods)."""

    def __init__(self, cache: HeaderCache) -> None:
        self.cache = cache
        self._writes: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="header-cache", daemon=True)
        self._thread.start()

    @property
    def notice(self) -> str:
        return self.cache.notice

    @property
    def enabled(self) -> bool:
        return self.cache.enabled

    def _run(self) -> None:
        while True:
            job = self._writes.get()
            try:
                if job is _STOP:
                    return
                job()
            except Exception:  # HeaderCache swallows SQLite's errors; this is a bug, not a reason to stop
                log.exception("header cache write failed")
            finally:
                self._writes.task_done()

    def _later(self, write: Callable[[], object]) -> None:
        self._writes.put(write)

    def flush(self) -> None:
        """Wait until every write asked so far is done."""
        self._writes.join()

    # -- writes: queued -------------------------------------------------------------

    def put_rows(self, account: str, mailbox: bytes, uidvalidity: int, rows: Iterable[Row]) -> None:
        rows = list(rows)
        self._later(lambda: self.cache.put_rows(account, mailbox, uidvalidity, rows))

    def set_flags(self, account: str, mailbox: bytes, uidvalidity: int,
                  changes: Iterable[tuple[int, frozenset[str]]]) -> None:
        changes = list(changes)
        self._later(lambda: self.cache.set_flags(account, mailbox, uidvalidity, changes))

    def remove(self, account: str, mailbox: bytes, uidvalidity: int, uids: Iterable[int]) -> None:
        uids = list(uids)
        self._later(lambda: self.cache.remove(account, mailbox, uidvalidity, uids))

    def keep_only(self, account: str, mailbox: bytes, uidvalidity: int, uids: Iterable[int]) -> None:
        uids = list(uids)
        self._later(lambda: self.cache.keep_only(account, mailbox, uidvalidity, uids))

    def set_modseq(self, account: str, mailbox: bytes, uidvalidity: int, highestmodseq: int | None) -> None:
        self._later(lambda: self.cache.set_modseq(account, mailbox, uidvalidity, highestmodseq))

    def forget(self, account: str, mailbox: bytes) -> None:
        self._later(lambda: self.cache.forget(account, mailbox))

    # -- reads, and writes that answer: after the queue ---------------------------------

    def state(self, account: str, mailbox: bytes) -> MailboxState | None:
        self.flush()
        return self.cache.state(account, mailbox)

    def start(self, account: str, mailbox: bytes, uidvalidity: int) -> MailboxState | None:
        self.flush()
        return self.cache.start(account, mailbox, uidvalidity)


    def uids(self, account: str, mailbox: bytes, uidvalidity: int) -> list[int]:
        self.flush()
        return self.cache.uids(account, mailbox, uidvalidity)

    def rows(self, account: str, mailbox: bytes, uidvalidity: int, *, batch: int = 2000,
             newest_first: bool = True) -> Iterator[list[Row]]:
        self.flush()
        for rows in self.cache.rows(account, mailbox, uidvalidity, batch=batch, newest_first=newest_first):
            yield rows
            self.flush()  # the next batch sees the corrections written meanwhile

    def rows_for(self, account: str, mailbox: bytes, uidvalidity: int, uids: Iterable[int]) -> dict[int, Row]:
        self.flush()
        return self.cache.rows_for(account, mailbox, uidvalidity, uids)

    def close(self) -> None:
        self._writes.put(_STOP)
        self._thread.join(timeout=30)
        self.cache.close()
