"""The header cache: list rows kept in SQLite, so a 100,000-message mailbox reopens at once.

Keyed by (account, mailbox raw name, UIDVALIDITY, UID). One `HeaderCache` per account
worker, used from that worker's thread; several may share one file (WAL, busy timeout).

A cache must never cost the user their mail: every sqlite3 error is caught here.
  * damaged file (not a database, malformed, I/O error): moved aside to NAME.corrupt,
    a fresh one is made, `notice` says so, and the call returns empty / does nothing;
  * locked by another program beyond the busy timeout: that one call is skipped (a
    warning is logged), the file is left alone; locked at open: no cache this session;
  * anything else (disk full, read-only file): that call is skipped, with a warning.
Writes for a mailbox whose stored UIDVALIDITY differs from the caller's are ignored, as
are writes for a mailbox never `start`ed: rows of two UIDVALIDITYs never mix.

The file holds people's mail headers: its directory is made 0700, the files 0600.

Pure module: no Textual, no imaplib.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from . import cache_blocks
from .headers import Row, shared_flags

__all__ = ["BUSY_TIMEOUT", "SCHEMA_VERSION", "HeaderCache", "MailboxState"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3  # 2: rows became a rowid table; 3: rows are kept in blocks (cache_blocks)
BUSY_TIMEOUT = 2.0  # seconds a call waits for another connection's lock, then gives up
_MAX_REBUILDS = 3  # per session: a file that keeps breaking is then left alone
_WAL_LIMIT = 16 * 1024 * 1024  # bytes the -wal file is cut back to after a checkpoint
_MEMO_LIMIT = 10_000  # distinct flag sets remembered (encode and decode)
_NO_UID_ABOVE = 1 << 62  # bound for keyset paging; UIDs are 32-bit
_T = TypeVar("_T")

_SCHEMA = (
    """CREATE TABLE mailboxes (
        id INTEGER PRIMARY KEY,
        account TEXT NOT NULL,
        name BLOB NOT NULL,
        uidvalidity INTEGER NOT NULL,
        highestmodseq INTEGER,
        count INTEGER NOT NULL DEFAULT 0,
        UNIQUE (account, name))""",
    *cache_blocks.SCHEMA,
)
_TABLES = {"mailboxes", "blocks"}

# Primary result codes (https://sqlite.org/rescode.html).
_BUSY, _LOCKED = 5, 6
_DAMAGED = {10, 11, 26}  # SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_NOTADB
# I/O errors that say nothing about the file's contents (locking on a network file
# system, memory): moving a live file aside for them would be wrong.
_IOERR_NOT_DAMAGE = {2058, 2314, 3082, 3594, 3850, 5130}  # UNLOCK RDLOCK NOMEM CHECKRESERVEDLOCK LOCK SHMLOCK


@dataclass(frozen=True)
class MailboxState:
    uidvalidity: int
    highestmodseq: int | None  # None: not known / no CONDSTORE; never sync from it then
    count: int  # rows cached for this mailbox


class _Flags(dict):
    """Stored flags text -> the shared frozenset; a miss decodes (and remembers) it."""

    def __missing__(self, text: str) -> frozenset[str]:
        try:
            value = json.loads(text)
            flags = frozenset(value) if isinstance(value, list) and all(isinstance(f, str) for f in value) else frozenset()
        except (TypeError, ValueError):
            flags = frozenset()
        flags = shared_flags(flags)
        if len(self) < _MEMO_LIMIT:
            self[text] = flags
        return flags


def _kind(error: sqlite3.Error) -> str:
    """"locked", "damaged" or "other"."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        primary = code & 0xFF
        if primary in (_BUSY, _LOCKED):
            return "locked"
        if primary in _DAMAGED and code not in _IOERR_NOT_DAMAGE:
            return "damaged"
        return "other"
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        return "locked"
    # "could not decode": a value stored as text that is not UTF-8; we only ever store
    # UTF-8 text, so the bytes on disk have changed under SQLite.
    if "malformed" in text or "not a database" in text or "disk i/o" in text or "could not decode" in text:
        return "damaged"
    return "other"


def _make_private_dirs(directory: Path) -> None:
    """Create `directory` and any missing parents 0700; existing ones are left as they are."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    for made in reversed(missing):
        try:
            os.mkdir(made, 0o700)
        except FileExistsError:
            continue
        os.chmod(made, 0o700)  # mkdir's mode is cut by the umask; be exact


def _make_private_file(path: Path) -> None:
    """The database and its -wal/-shm 0600 (SQLite gives -wal/-shm the database's mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for name in (str(path), f"{path}-wal", f"{path}-shm"):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)
        except OSError:  # missing, or not ours: nothing to tighten
            pass


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


@contextmanager
def _write(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction; the lock is taken first, so a check inside it holds."""
    conn.execute("BEGIN IMMEDIATE")
    yield
    conn.execute("COMMIT")


@contextmanager
def _read(conn: sqlite3.Connection) -> Iterator[None]:
    """One snapshot for a read of several statements."""
    conn.execute("BEGIN")
    yield
    conn.execute("COMMIT")


class HeaderCache:
    """List rows of every mailbox of an account, in one SQLite file (see the module doc)."""

    def __init__(self, path: Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self.notice = ""
        self._conn: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None  # (st_dev, st_ino) of the file we opened
        self._lock = threading.RLock()
        self._rebuilds = 0
        self._skipped: set[tuple[str, bytes]] = set()  # mailboxes with a write skipped
        self._warned: set[str] = set()
        self._encoded: dict[frozenset[str], str] = {}
        self._decoded = _Flags()
        if self.path is None:
            return
        try:
            self._conn = self._connect()
        except sqlite3.Error as error:
            if _kind(error) == "locked":
                self.notice = (f"The header cache at {self.path} is locked by another program; "
                               "this session does not cache headers.")
                log.warning("header cache %s locked at open: %s", self.path, error)
            elif _kind(error) == "damaged":
                self._rebuild(error)
            else:
                self._unusable(error)
        except OSError as error:  # the directory cannot be made, the file cannot be created
            self._unusable(error)

    @property
    def enabled(self) -> bool:
        """False when nothing is kept (no path, or the file could not be used this session)."""
        return self._conn is not None

    # ---------------------------------------------------------------- reads

    def state(self, account: str, mailbox: bytes) -> MailboxState | None:
        def run(conn: sqlite3.Connection) -> MailboxState | None:
            found = self._record(conn, account, mailbox)
            return None if found is None else MailboxState(found[1], found[2], found[3])

        return self._run("state", run, None)

    def uids(self, account: str, mailbox: bytes, uidvalidity: int) -> list[int]:
        """The cached UIDs, ascending."""
        def run(conn: sqlite3.Connection) -> list[int]:
            with _read(conn):
                box = self._mailbox_id(conn, account, mailbox, uidvalidity)
                if box is None:
                    return []
                return cache_blocks.uids(conn, box)

        return self._run("uids", run, [])

    def rows(self, account: str, mailbox: bytes, uidvalidity: int, *, batch: int = 2000,
             newest_first: bool = True) -> Iterator[list[Row]]:
        """The cached rows, `batch` at a time, highest UID first (or lowest).

        Each batch is its own short query (keyset paging), so the first comes at once and
        nothing is held open between batches; a batch after a UIDVALIDITY change, a
        `forget` or a failure ends the iteration.
        """
        batch = max(1, int(batch))
        bound = _NO_UID_ABOVE if newest_first else -1
        first_box: list[int] = []

        def run(conn: sqlite3.Connection) -> list[Row]:
            with _read(conn):
                box = self._mailbox_id(conn, account, mailbox, uidvalidity)
                if box is None or (first_box and box != first_box[0]):
                    return []
                first_box[:] = [box]
                return cache_blocks.read_rows(conn, box, bound, newest_first, batch, self._decoded)

        while True:
            found = self._run("rows", run, [])
            if not found:
                return
            bound = found[-1].uid
            yield found
            if len(found) < batch:
                return

    def rows_for(self, account: str, mailbox: bytes, uidvalidity: int, uids: Iterable[int]) -> dict[int, Row]:
        wanted = sorted(set(uids))

        def run(conn: sqlite3.Connection) -> dict[int, Row]:
            with _read(conn):
                box = self._mailbox_id(conn, account, mailbox, uidvalidity)
                if box is None:
                    return {}
                return cache_blocks.find_rows(conn, box, wanted, self._decoded)

        return self._run("rows_for", run, {}) if wanted else {}

    # ---------------------------------------------------------------- writes

    def start(self, account: str, mailbox: bytes, uidvalidity: int) -> MailboxState | None:
        """Called after SELECT. Same UIDVALIDITY as stored: returns the state. Different (or
        none): drops that mailbox's rows, records the new UIDVALIDITY with highestmodseq
        None, returns None."""
        def same(conn: sqlite3.Connection) -> MailboxState | None:
            found = self._record(conn, account, mailbox)
            if found is not None and found[1] == uidvalidity:
                return MailboxState(found[1], found[2], found[3])
            return None

        def run(conn: sqlite3.Connection) -> MailboxState | None:
            with _write(conn):
                found = self._record(conn, account, mailbox)
                if found is not None and found[1] == uidvalidity:  # another worker was first
                    return MailboxState(found[1], found[2], found[3])
                if found is None:
                    conn.execute("INSERT INTO mailboxes (account, name, uidvalidity, highestmodseq, count) "
                                 "VALUES (?, ?, ?, NULL, 0)", (account, mailbox, uidvalidity))
                else:
                    cache_blocks.drop_all(conn, found[0])
                    conn.execute("UPDATE mailboxes SET uidvalidity = ?, highestmodseq = NULL, count = 0 "
                                 "WHERE id = ?", (uidvalidity, found[0]))
                self._skipped.discard((account, mailbox))  # nothing of the old rows is left
            return None

        # The common case reads only: no write lock is needed to learn nothing changed.
        known = self._run("start", same, None)
        if known is not None:
            return known
        return self._run("start", run, None, (account, mailbox))

    def put_rows(self, account: str, mailbox: bytes, uidvalidity: int, rows: Iterable[Row]) -> None:
        """Insert or replace rows, in one transaction. Placeholder rows are never cached."""
        # A UID given twice: the last one counts.
        latest = {row.uid: row for row in rows if not getattr(row, "placeholder", False)}
        if not latest:
            return

        def change(conn: sqlite3.Connection, box: int) -> None:
            encoded, encode = self._encoded, self._encode
            added = cache_blocks.put(conn, box, {uid: (encoded.get(row.flags) or encode(row.flags), row.internaldate,
                                                       row.size, row.headers) for uid, row in latest.items()})
            conn.execute("UPDATE mailboxes SET count = count + ? WHERE id = ?", (added, box))

        self._change("put_rows", account, mailbox, uidvalidity, change, None)

    def set_flags(self, account: str, mailbox: bytes, uidvalidity: int,
                  changes: Iterable[tuple[int, frozenset[str]]]) -> None:
        """New flags for cached rows; UIDs not cached are ignored."""
        latest = dict(changes)
        if not latest:
            return

        def change(conn: sqlite3.Connection, box: int) -> None:
            cache_blocks.set_flags(conn, box, {uid: self._encode(flags) for uid, flags in latest.items()})

        self._change("set_flags", account, mailbox, uidvalidity, change, None)

    def remove(self, account: str, mailbox: bytes, uidvalidity: int, uids: Iterable[int]) -> None:
        gone = sorted(set(uids))
        if not gone:
            return

        def change(conn: sqlite3.Connection, box: int) -> None:
            went = cache_blocks.remove(conn, box, gone)
            conn.execute("UPDATE mailboxes SET count = max(0, count - ?) WHERE id = ?", (went, box))

        self._change("remove", account, mailbox, uidvalidity, change, None)

    def keep_only(self, account: str, mailbox: bytes, uidvalidity: int, uids: Iterable[int]) -> int:
        """Delete every cached UID not in `uids` (the server's full list); how many went."""
        keep = uids if isinstance(uids, (set, frozenset)) else set(uids)

        def change(conn: sqlite3.Connection, box: int) -> int:
            went, left = cache_blocks.keep_only(conn, box, keep)
            # The exact count, from the blocks just read: heals any drift.
            conn.execute("UPDATE mailboxes SET count = ? WHERE id = ?", (left, box))
            return went

        return self._change("keep_only", account, mailbox, uidvalidity, change, 0)

    def set_modseq(self, account: str, mailbox: bytes, uidvalidity: int, highestmodseq: int | None) -> None:
        """Record the HIGHESTMODSEQ the cached rows are in sync with.

        If a write for this mailbox was skipped this session (locked, disk full), the rows
        may miss changes up to that modseq: None is stored instead, so the next session
        syncs every flag rather than trusting it.
        """
        def change(conn: sqlite3.Connection, box: int) -> None:
            stored = None if (account, mailbox) in self._skipped else highestmodseq
            conn.execute("UPDATE mailboxes SET highestmodseq = ? WHERE id = ?", (stored, box))

        self._change("set_modseq", account, mailbox, uidvalidity, change, None)

    def forget(self, account: str, mailbox: bytes) -> None:
        """The mailbox was deleted or renamed: drop its rows and its state."""
        def run(conn: sqlite3.Connection) -> None:
            with _write(conn):
                found = self._record(conn, account, mailbox)
                if found is not None:
                    cache_blocks.drop_all(conn, found[0])
                    conn.execute("DELETE FROM mailboxes WHERE id = ?", (found[0],))

        self._run("forget", run, None, (account, mailbox))

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                try:
                    conn.close()
                except sqlite3.Error as error:
                    log.warning("header cache %s: close failed: %s", self.path, error)

    # ---------------------------------------------------------------- internals

    def _run(self, what: str, call: Callable[[sqlite3.Connection], _T], default: _T,
             mailbox: tuple[str, bytes] | None = None) -> _T:
        """`call` on the connection; any sqlite3 error is handled here and gives `default`."""
        with self._lock:
            conn = self._conn
            if conn is None:
                return default
            try:
                return call(conn)
            except sqlite3.Error as error:
                self._failed(what, error, mailbox)
                return default
            finally:
                if self._conn is conn and conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass

    def _change(self, what: str, account: str, mailbox: bytes, uidvalidity: int,
                call: Callable[[sqlite3.Connection, int], _T], default: _T) -> _T:
        """`call(conn, mailbox id)` in one write transaction; `default` if the mailbox was
        never `start`ed with this UIDVALIDITY (rows of two UIDVALIDITYs never mix), or on
        an SQLite error (handled as `_run` does)."""
        def run(conn: sqlite3.Connection) -> _T:
            with _write(conn):
                box = self._mailbox_id(conn, account, mailbox, uidvalidity)
                return default if box is None else call(conn, box)

        return self._run(what, run, default, (account, mailbox))

    def _failed(self, what: str, error: sqlite3.Error, mailbox: tuple[str, bytes] | None) -> None:
        kind = _kind(error)
        if kind == "damaged":
            log.warning("header cache %s: %s found it damaged: %s", self.path, what, error)
            self._rebuild(error)
            return
        if mailbox is not None:  # a write did not happen: never trust this mailbox's modseq again
            self._skipped.add(mailbox)
        key = f"{kind}:{what}:{error}"
        level = logging.DEBUG if key in self._warned else logging.WARNING
        self._warned.add(key)
        if kind == "locked":
            log.log(level, "header cache %s is locked by another program; %s skipped", self.path, what)
        else:
            log.log(level, "header cache %s: %s failed, skipped: %s", self.path, what, error)

    def _connect(self) -> sqlite3.Connection:
        assert self.path is not None
        _make_private_dirs(self.path.parent)
        _make_private_file(self.path)
        # Known before the first statement: if opening finds the file damaged and another
        # worker has replaced it meanwhile, `_rebuild` must not move that new one aside.
        self._file = _identity(self.path)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("header cache %s: journal mode %s, not WAL", self.path, mode)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT}")  # a big keep_only leaves no 70 MB -wal
            self._ensure_schema(conn)
            _make_private_file(self.path)  # -wal/-shm now exist: make sure of their mode
        except BaseException:
            conn.close()
            raise
        return conn

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        if self._schema_ok(conn):
            return
        with _write(conn):
            if self._schema_ok(conn):  # another worker built it while we waited
                return
            found = conn.execute("SELECT type, name FROM sqlite_master "
                                 "WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite_%'").fetchall()
            if found:
                log.info("header cache %s: schema version %s, not %s: rebuilt empty", self.path,
                         conn.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
            for kind, name in found:
                conn.execute(f'DROP {kind} IF EXISTS "{name.replace(chr(34), chr(34) * 2)}"')
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @staticmethod
    def _schema_ok(conn: sqlite3.Connection) -> bool:
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            return False
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return _TABLES <= tables  # else rebuilt empty, as for another version

    def _rebuild(self, error: BaseException) -> None:
        """Move the damaged file aside (NAME.corrupt) and start an empty one."""
        assert self.path is not None
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        self._rebuilds += 1
        if self._rebuilds > _MAX_REBUILDS:
            self._unusable(error)
            return
        # If the file at the path is no longer the one we opened, another worker has
        # already moved it aside and made a new one: use that, never move it too.
        current = _identity(self.path)
        try:
            if current is not None and (self._file is None or current == self._file):
                os.replace(self.path, f"{self.path}.corrupt")
                for suffix in ("-wal", "-shm"):
                    try:
                        os.unlink(f"{self.path}{suffix}")
                    except FileNotFoundError:
                        pass
            self._conn = self._connect()
        except (OSError, sqlite3.Error) as again:
            log.warning("header cache %s: damaged (%s), and could not be rebuilt: %s", self.path, error, again)
            self._unusable(again)
            return
        log.warning("header cache %s was damaged (%s); moved to %s.corrupt, rebuilt empty",
                    self.path, error, self.path)
        self.notice = (f"The header cache at {self.path} was damaged and has been rebuilt; "
                       "headers are fetched again.")

    def _unusable(self, error: BaseException) -> None:
        self._conn = None
        log.warning("header cache %s cannot be used: %s", self.path, error)
        self.notice = (f"The header cache at {self.path} cannot be used ({error}); "
                       "this session does not cache headers.")

    @staticmethod
    def _record(conn: sqlite3.Connection, account: str, mailbox: bytes) -> tuple[int, int, int | None, int] | None:
        return conn.execute("SELECT id, uidvalidity, highestmodseq, count FROM mailboxes "
                            "WHERE account = ? AND name = ?", (account, mailbox)).fetchone()

    def _mailbox_id(self, conn: sqlite3.Connection, account: str, mailbox: bytes, uidvalidity: int) -> int | None:
        """The mailbox's id if its stored UIDVALIDITY is `uidvalidity`, else None."""
        found = self._record(conn, account, mailbox)
        return found[0] if found is not None and found[1] == uidvalidity else None

    def _encode(self, flags: frozenset[str]) -> str:
        text = self._encoded.get(flags) if isinstance(flags, frozenset) else None
        if text is None:
            text = json.dumps(sorted(flags))
            if isinstance(flags, frozenset) and len(self._encoded) < _MEMO_LIMIT:
                self._encoded[flags] = text
        return text
