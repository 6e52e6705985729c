"""The SQLite header cache: round trips, UIDVALIDITY rules, damaged and locked files, privacy."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest

import tui.cache as cache_module
from tui.cache import SCHEMA_VERSION, HeaderCache, MailboxState
from tui.headers import Row, placeholder_row, shared_flags

ACCOUNT = "work"
INBOX = b"INBOX"
OTHER = b"Archive/2024 &AOQ-"  # raw modified-UTF-7 bytes, as the server names it


def make_row(uid: int, flags: frozenset[str] = frozenset(), *, headers: bytes | None = None,
             date: float | None = 1_700_000_000.25, size: int = 1234) -> Row:
    if headers is None:
        headers = (f"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nFrom: Sender {uid} <s{uid}@example.org>\r\n"
                   f"Subject: message {uid}\r\nMessage-ID: <{uid}@example.org>\r\n").encode()
    return Row(uid, flags, date, size, headers)


def rows_of(cache: HeaderCache, uidvalidity: int = 7, mailbox: bytes = INBOX, **kwargs) -> list[Row]:
    return [row for batch in cache.rows(ACCOUNT, mailbox, uidvalidity, **kwargs) for row in batch]


@pytest.fixture
def path(tmp_path):
    return tmp_path / "cache" / "headers.sqlite3"


@pytest.fixture
def cache(path):
    opened = HeaderCache(path)
    yield opened
    opened.close()


def filled(cache: HeaderCache, uids, uidvalidity: int = 7, mailbox: bytes = INBOX) -> list[Row]:
    assert cache.start(ACCOUNT, mailbox, uidvalidity) is None
    rows = [make_row(uid) for uid in uids]
    cache.put_rows(ACCOUNT, mailbox, uidvalidity, rows)
    return rows


# ------------------------------------------------------------------------- round trips


def test_rows_come_back_exactly_as_put(path):
    rows = [
        make_row(3, frozenset({"\\Seen", "\\Flagged", "$Label1"})),
        make_row(10, frozenset(), date=None, size=0),
        make_row(11, frozenset({"Ärger", "with space", ""}), headers=bytes(range(256)) * 3),  # odd but exact
        make_row(4_294_967_295, frozenset({"\\Answered"}), headers=b"", date=-1.5, size=2**40),
    ]
    writer = HeaderCache(path)
    writer.start(ACCOUNT, INBOX, 7)
    writer.put_rows(ACCOUNT, INBOX, 7, rows)
    writer.close()

    reader = HeaderCache(path)  # from the file, not from anything kept in memory
    try:
        assert reader.notice == ""
        by_uid = {row.uid: row for row in rows}
        assert reader.rows_for(ACCOUNT, INBOX, 7, [10, 3, 999, 11, 4_294_967_295]) == by_uid
        assert rows_of(reader) == sorted(rows, key=lambda row: row.uid, reverse=True)
        assert reader.uids(ACCOUNT, INBOX, 7) == [3, 10, 11, 4_294_967_295]
        got = reader.rows_for(ACCOUNT, INBOX, 7, [3])[3]
        assert isinstance(got.flags, frozenset) and got.flags is shared_flags(frozenset({"\\Seen", "\\Flagged", "$Label1"}))
        assert type(got.headers) is bytes and type(got.internaldate) is float
        assert reader.state(ACCOUNT, INBOX) == MailboxState(7, None, 4)
    finally:
        reader.close()


def test_put_replaces_a_uid_and_the_count_counts_each_uid_once(cache):
    filled(cache, [1, 2, 3])
    newer = make_row(2, frozenset({"\\Seen"}), headers=b"Subject: edited\r\n")
    cache.put_rows(ACCOUNT, INBOX, 7, [make_row(4), newer, make_row(4, frozenset({"\\Deleted"}))])
    assert cache.rows_for(ACCOUNT, INBOX, 7, [2, 4]) == {2: newer, 4: make_row(4, frozenset({"\\Deleted"}))}
    assert cache.state(ACCOUNT, INBOX).count == 4 == len(cache.uids(ACCOUNT, INBOX, 7))


def test_placeholder_rows_are_never_cached(cache):
    filled(cache, [1])
    cache.put_rows(ACCOUNT, INBOX, 7, [placeholder_row(2, "could not be read"), make_row(3)])
    assert cache.uids(ACCOUNT, INBOX, 7) == [1, 3]


def test_mailboxes_and_accounts_are_kept_apart(cache):
    filled(cache, [1, 2], mailbox=INBOX)
    filled(cache, [5], mailbox=OTHER, uidvalidity=9)
    cache.start("home", INBOX, 7)
    cache.put_rows("home", INBOX, 7, [make_row(100)])
    assert cache.uids(ACCOUNT, INBOX, 7) == [1, 2]
    assert cache.uids(ACCOUNT, OTHER, 9) == [5]
    assert cache.uids("home", INBOX, 7) == [100]
    cache.forget(ACCOUNT, INBOX)
    assert cache.state(ACCOUNT, INBOX) is None and cache.uids(ACCOUNT, INBOX, 7) == []
    assert cache.uids(ACCOUNT, OTHER, 9) == [5] and cache.uids("home", INBOX, 7) == [100]


# ------------------------------------------------------------------------- UIDVALIDITY


def test_start_returns_the_state_for_the_same_uidvalidity(cache):
    assert cache.state(ACCOUNT, INBOX) is None
    assert cache.start(ACCOUNT, INBOX, 7) is None
    assert cache.state(ACCOUNT, INBOX) == MailboxState(7, None, 0)
    cache.put_rows(ACCOUNT, INBOX, 7, [make_row(1), make_row(2)])
    cache.set_modseq(ACCOUNT, INBOX, 7, 12345)
    assert cache.start(ACCOUNT, INBOX, 7) == MailboxState(7, 12345, 2)
    assert cache.uids(ACCOUNT, INBOX, 7) == [1, 2]  # start with the same UIDVALIDITY keeps the rows


def test_a_new_uidvalidity_drops_the_rows_and_the_modseq(cache):
    filled(cache, [1, 2, 3])
    cache.set_modseq(ACCOUNT, INBOX, 7, 99)
    assert cache.start(ACCOUNT, INBOX, 8) is None
    assert cache.state(ACCOUNT, INBOX) == MailboxState(8, None, 0)
    assert cache.uids(ACCOUNT, INBOX, 8) == [] and cache.uids(ACCOUNT, INBOX, 7) == []
    assert rows_of(cache, 7) == [] and rows_of(cache, 8) == []


def test_writes_with_a_stale_uidvalidity_are_ignored(cache):
    filled(cache, [1, 2, 3], uidvalidity=7)
    cache.start(ACCOUNT, INBOX, 8)
    fresh = [make_row(1, frozenset({"\\Seen"}), headers=b"Subject: new 1\r\n"), make_row(2)]
    cache.put_rows(ACCOUNT, INBOX, 8, fresh)
    cache.set_modseq(ACCOUNT, INBOX, 8, 500)

    # A writer still working on the old UIDVALIDITY:
    cache.put_rows(ACCOUNT, INBOX, 7, [make_row(1), make_row(50)])
    cache.set_flags(ACCOUNT, INBOX, 7, [(1, frozenset({"\\Deleted"}))])
    cache.remove(ACCOUNT, INBOX, 7, [2])
    assert cache.keep_only(ACCOUNT, INBOX, 7, []) == 0
    cache.set_modseq(ACCOUNT, INBOX, 7, 1)

    assert rows_of(cache, 8) == sorted(fresh, key=lambda row: -row.uid)
    assert cache.state(ACCOUNT, INBOX) == MailboxState(8, 500, 2)
    assert cache.rows_for(ACCOUNT, INBOX, 7, [1, 2, 50]) == {}


def test_writes_for_a_mailbox_never_started_are_ignored(cache):
    cache.put_rows(ACCOUNT, INBOX, 7, [make_row(1)])
    cache.set_modseq(ACCOUNT, INBOX, 7, 5)
    assert cache.state(ACCOUNT, INBOX) is None
    assert cache.uids(ACCOUNT, INBOX, 7) == []


# ------------------------------------------------------------------------- sync writes


def test_keep_only_deletes_what_the_server_no_longer_has(cache):
    filled(cache, range(1, 11))
    gone = cache.keep_only(ACCOUNT, INBOX, 7, [2, 3, 5, 7, 11, 13])  # 11, 13: new, not cached
    assert gone == 6  # 1, 4, 6, 8, 9, 10
    assert cache.uids(ACCOUNT, INBOX, 7) == [2, 3, 5, 7]
    assert cache.state(ACCOUNT, INBOX).count == 4
    assert cache.keep_only(ACCOUNT, INBOX, 7, iter([2, 3, 5, 7])) == 0
    assert cache.keep_only(ACCOUNT, INBOX, 7, []) == 4
    assert cache.uids(ACCOUNT, INBOX, 7) == [] and cache.state(ACCOUNT, INBOX).count == 0


def test_keep_only_at_100k(cache):
    uids = range(1, 100_001)
    cache.start(ACCOUNT, INBOX, 7)
    cache.put_rows(ACCOUNT, INBOX, 7, [Row(uid, frozenset(), None, 1, b"S: x\r\n") for uid in uids])
    server = [uid for uid in uids if uid % 10]  # a tenth expunged
    began = time.perf_counter()
    gone = cache.keep_only(ACCOUNT, INBOX, 7, server)
    elapsed = time.perf_counter() - began
    assert gone == 10_000
    assert cache.uids(ACCOUNT, INBOX, 7) == server
    assert elapsed < 2.0, f"keep_only of 100k took {elapsed:.2f}s"


def test_set_flags_changes_cached_rows_only(cache):
    rows = filled(cache, [1, 2, 3])
    cache.set_flags(ACCOUNT, INBOX, 7, [(2, frozenset({"\\Seen", "\\Answered"})), (3, frozenset()), (99, frozenset({"\\Seen"}))])
    got = cache.rows_for(ACCOUNT, INBOX, 7, [1, 2, 3, 99])
    assert got == {1: rows[0], 2: rows[1].with_flags(frozenset({"\\Seen", "\\Answered"})), 3: rows[2]}
    assert cache.state(ACCOUNT, INBOX).count == 3  # 99 was not added


def test_remove(cache):
    rows = filled(cache, [1, 2, 3, 4])
    cache.remove(ACCOUNT, INBOX, 7, [2, 4, 4, 77])
    assert rows_of(cache, newest_first=False) == [rows[0], rows[2]]
    assert cache.state(ACCOUNT, INBOX).count == 2


def test_set_modseq_can_clear_it(cache):
    filled(cache, [1])
    cache.set_modseq(ACCOUNT, INBOX, 7, 2**63 - 1)  # RFC 7162: mod-sequences are 63-bit
    assert cache.state(ACCOUNT, INBOX).highestmodseq == 2**63 - 1
    cache.set_modseq(ACCOUNT, INBOX, 7, None)
    assert cache.state(ACCOUNT, INBOX).highestmodseq is None


# ------------------------------------------------------------------------- batches


def test_rows_come_newest_first_in_batches(cache):
    filled(cache, range(1, 26))
    batches = list(cache.rows(ACCOUNT, INBOX, 7, batch=10))
    assert [len(batch) for batch in batches] == [10, 10, 5]
    assert [row.uid for batch in batches for row in batch] == list(range(25, 0, -1))
    oldest_first = list(cache.rows(ACCOUNT, INBOX, 7, batch=10, newest_first=False))
    assert [row.uid for batch in oldest_first for row in batch] == list(range(1, 26))
    assert [len(batch) for batch in cache.rows(ACCOUNT, INBOX, 7, batch=5)] == [5] * 5


def test_rows_are_read_lazily_and_stop_at_a_uidvalidity_change(cache):
    filled(cache, range(1, 31))
    batches = cache.rows(ACCOUNT, INBOX, 7, batch=10)
    assert [row.uid for row in next(batches)] == list(range(30, 20, -1))
    cache.start(ACCOUNT, INBOX, 8)  # the mailbox was recreated between two batches
    cache.put_rows(ACCOUNT, INBOX, 8, [make_row(5)])
    assert list(batches) == []  # never a row of the new UIDVALIDITY under the old one


def test_a_write_between_batches_does_not_upset_the_paging(cache):
    filled(cache, range(1, 31))
    batches = cache.rows(ACCOUNT, INBOX, 7, batch=10)
    first = next(batches)
    cache.remove(ACCOUNT, INBOX, 7, [15])
    cache.put_rows(ACCOUNT, INBOX, 7, [make_row(31)])  # newer than the first batch: not repeated
    rest = [row.uid for batch in batches for row in batch]
    assert [row.uid for row in first] + rest == [uid for uid in range(30, 0, -1) if uid != 15]


def test_unknown_mailbox_reads_are_empty(cache):
    assert list(cache.rows(ACCOUNT, INBOX, 1)) == []
    assert cache.uids(ACCOUNT, INBOX, 1) == [] and cache.rows_for(ACCOUNT, INBOX, 1, [1]) == {}


# ------------------------------------------------------------------------- sharing a file


def test_two_caches_on_one_file(path):
    first, second = HeaderCache(path), HeaderCache(path)
    try:
        filled(first, [1, 2])
        assert second.start(ACCOUNT, INBOX, 7) == MailboxState(7, None, 2)
        second.put_rows(ACCOUNT, INBOX, 7, [make_row(3)])
        first.set_flags(ACCOUNT, INBOX, 7, [(3, frozenset({"\\Seen"}))])
        assert second.rows_for(ACCOUNT, INBOX, 7, [3]) == {3: make_row(3, frozenset({"\\Seen"}))}
        second.start(ACCOUNT, INBOX, 8)  # the other worker saw the mailbox recreated
        first.put_rows(ACCOUNT, INBOX, 7, [make_row(4)])  # stale: ignored
        assert first.state(ACCOUNT, INBOX) == MailboxState(8, None, 0)
        assert first.uids(ACCOUNT, INBOX, 8) == []
    finally:
        first.close()
        second.close()


def test_used_from_another_thread_than_the_one_that_opened_it(cache):
    found: list = []
    worker = threading.Thread(target=lambda: found.append(filled(cache, [1]) and cache.uids(ACCOUNT, INBOX, 7)))
    worker.start()
    worker.join()
    assert found == [[1]]


def test_close_twice_and_use_after_close(path):
    opened = HeaderCache(path)
    filled(opened, [1])
    opened.close()
    opened.close()
    assert opened.uids(ACCOUNT, INBOX, 7) == [] and opened.state(ACCOUNT, INBOX) is None
    opened.put_rows(ACCOUNT, INBOX, 7, [make_row(2)])  # does nothing, does not raise
    again = HeaderCache(path)
    assert again.uids(ACCOUNT, INBOX, 7) == [1]
    again.close()


def test_no_path_keeps_nothing():
    cache = HeaderCache(None)
    assert cache.notice == ""
    assert cache.start(ACCOUNT, INBOX, 7) is None
    cache.put_rows(ACCOUNT, INBOX, 7, [make_row(1)])
    cache.set_flags(ACCOUNT, INBOX, 7, [(1, frozenset({"\\Seen"}))])
    cache.set_modseq(ACCOUNT, INBOX, 7, 3)
    cache.remove(ACCOUNT, INBOX, 7, [1])
    assert cache.keep_only(ACCOUNT, INBOX, 7, [1]) == 0
    cache.forget(ACCOUNT, INBOX)
    assert cache.state(ACCOUNT, INBOX) is None and cache.start(ACCOUNT, INBOX, 7) is None
    assert cache.uids(ACCOUNT, INBOX, 7) == [] and list(cache.rows(ACCOUNT, INBOX, 7)) == []
    assert cache.rows_for(ACCOUNT, INBOX, 7, [1]) == {}
    cache.close()


# ------------------------------------------------------------------------- schema version


def user_version(path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_a_file_of_another_schema_version_is_rebuilt_empty(path):
    old = HeaderCache(path)
    filled(old, [1, 2])
    old.close()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE leftover (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()

    cache = HeaderCache(path)
    try:
        assert cache.state(ACCOUNT, INBOX) is None and cache.uids(ACCOUNT, INBOX, 7) == []
        assert user_version(path) == SCHEMA_VERSION
        conn = sqlite3.connect(path)
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        conn.close()
        assert "leftover" not in tables
        filled(cache, [3])
        assert cache.uids(ACCOUNT, INBOX, 7) == [3]
        assert not os.path.exists(f"{path}.corrupt")  # a version change is not damage
    finally:
        cache.close()


def test_a_file_of_the_same_version_keeps_its_rows(path):
    first = HeaderCache(path)
    rows = filled(first, [1, 2])
    first.set_modseq(ACCOUNT, INBOX, 7, 40)
    first.close()
    assert user_version(path) == SCHEMA_VERSION
    again = HeaderCache(path)
    assert again.start(ACCOUNT, INBOX, 7) == MailboxState(7, 40, 2)
    assert rows_of(again, newest_first=False) == rows
    again.close()


# ------------------------------------------------------------------------- damaged files


def works(cache: HeaderCache) -> bool:
    rows = filled(cache, [41, 42], uidvalidity=3, mailbox=b"Check")
    return rows_of(cache, 3, b"Check", newest_first=False) == rows


def test_a_file_of_random_bytes_is_moved_aside_and_rebuilt(path):
    path.parent.mkdir(mode=0o700)
    garbage = os.urandom(64 * 1024)
    path.write_bytes(garbage)
    cache = HeaderCache(path)
    try:
        assert "damaged" in cache.notice and str(path) in cache.notice
        assert Path(f"{path}.corrupt").read_bytes() == garbage
        assert works(cache)
    finally:
        cache.close()


def test_an_older_corrupt_file_is_replaced(path):
    path.parent.mkdir(mode=0o700)
    with open(f"{path}.corrupt", "wb") as older:
        older.write(b"older damage")
    path.write_bytes(b"not a database, not at all" * 100)
    cache = HeaderCache(path)
    cache.close()
    assert Path(f"{path}.corrupt").read_bytes() == b"not a database, not at all" * 100


def test_a_truncated_file_is_moved_aside_and_rebuilt(path):
    writer = HeaderCache(path)
    writer.start(ACCOUNT, INBOX, 7)
    writer.put_rows(ACCOUNT, INBOX, 7, [make_row(uid, headers=os.urandom(600)) for uid in range(1, 501)])
    writer.close()
    size = path.stat().st_size
    assert size > 100_000 and not os.path.exists(f"{path}-wal")  # everything is in the main file
    with open(path, "r+b") as file:
        file.truncate(size // 2)

    cache = HeaderCache(path)
    try:
        # Whichever call meets the damage first (SQLite notices at open), none raises.
        cache.start(ACCOUNT, INBOX, 7)
        rows_of(cache)
        cache.uids(ACCOUNT, INBOX, 7)
        cache.rows_for(ACCOUNT, INBOX, 7, range(1, 501))
        cache.put_rows(ACCOUNT, INBOX, 7, [make_row(uid) for uid in range(400, 600)])
        cache.set_flags(ACCOUNT, INBOX, 7, [(uid, frozenset({"\\Seen"})) for uid in range(1, 501)])
        cache.keep_only(ACCOUNT, INBOX, 7, range(1, 300))
        cache.remove(ACCOUNT, INBOX, 7, range(1, 100))
        assert "damaged" in cache.notice
        assert os.path.getsize(f"{path}.corrupt") == size // 2
        assert works(cache)
    finally:
        cache.close()


MID_USE_CALLS = {
    "rows": (lambda cache: rows_of(cache), []),
    "uids": (lambda cache: cache.uids(ACCOUNT, INBOX, 7), []),
    "rows_for": (lambda cache: cache.rows_for(ACCOUNT, INBOX, 7, range(1, 501)), {}),
    "put_rows": (lambda cache: cache.put_rows(ACCOUNT, INBOX, 7, [make_row(uid) for uid in range(1, 501)]), None),
    "set_flags": (lambda cache: cache.set_flags(ACCOUNT, INBOX, 7, [(uid, frozenset({"\\Seen"})) for uid in range(1, 501)]), None),
    "keep_only": (lambda cache: cache.keep_only(ACCOUNT, INBOX, 7, [1]), 0),
}


@pytest.mark.parametrize("call", sorted(MID_USE_CALLS))
def test_damage_found_mid_use(path, call, caplog):
    cache = HeaderCache(path)
    try:
        cache.start(ACCOUNT, INBOX, 7)
        cache.put_rows(ACCOUNT, INBOX, 7, [make_row(uid, headers=os.urandom(600)) for uid in range(1, 501)])
        corrupt_pages_under_the_roots(path)
        assert cache.state(ACCOUNT, INBOX) is not None and cache.notice == ""
        run, empty = MID_USE_CALLS[call]
        with caplog.at_level(logging.WARNING, logger="tui.cache"):
            assert run(cache) == empty
        assert any(f"{call} found it damaged" in record.getMessage() for record in caplog.records)
        assert "damaged" in cache.notice
        assert os.path.exists(f"{path}.corrupt")
        assert cache.state(ACCOUNT, INBOX) is None  # the fresh file knows nothing
        assert works(cache)
    finally:
        cache.close()


def corrupt_pages_under_the_roots(path) -> None:
    """Overwrite every page after the tables' roots: the mailboxes stay readable, the rows not."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    last_root = conn.execute("SELECT max(rootpage) FROM sqlite_master").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(path, "r+b") as file:
        file.seek(last_root * page_size)
        file.write(os.urandom(path.stat().st_size - last_root * page_size))


def test_a_second_worker_finding_the_damage_uses_the_file_the_first_rebuilt(path):
    first, second = HeaderCache(path), HeaderCache(path)
    try:
        first.start(ACCOUNT, INBOX, 7)
        first.put_rows(ACCOUNT, INBOX, 7, [make_row(uid, headers=os.urandom(600)) for uid in range(1, 501)])
        corrupt_pages_under_the_roots(path)
        damaged = path.read_bytes()
        assert first.uids(ACCOUNT, INBOX, 7) == []
        assert "damaged" in first.notice
        rebuilt = filled(first, [1, 2])
        # The second worker still holds the damaged file, now moved aside, and meets it:
        assert second.uids(ACCOUNT, INBOX, 7) == []
        assert "damaged" in second.notice
        assert Path(f"{path}.corrupt").read_bytes() == damaged  # not the first worker's new file
        assert rows_of(second, newest_first=False) == rebuilt
        assert rows_of(first, newest_first=False) == rebuilt
    finally:
        first.close()
        second.close()


def error_with_code(message: str, code: int | None) -> sqlite3.Error:
    error = sqlite3.OperationalError(message)
    if code is not None:
        error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize("message, code, kind", [
    ("database is locked", 5, "locked"),
    ("database table is locked", 6, "locked"),
    ("database is locked", 517, "locked"),  # SQLITE_BUSY_SNAPSHOT
    ("database disk image is malformed", 11, "damaged"),
    ("file is not a database", 26, "damaged"),
    ("disk I/O error", 266, "damaged"),  # SQLITE_IOERR_READ
    ("disk I/O error", 3850, "other"),  # SQLITE_IOERR_LOCK: the locking failed, not the file
    ("database or disk is full", 13, "other"),
    ("attempt to write a readonly database", 8, "other"),
    ("database is locked", None, "locked"),  # no code: the message decides
    ("database disk image is malformed", None, "damaged"),
])
def test_which_errors_count_as_damage(message, code, kind):
    assert cache_module._kind(error_with_code(message, code)) == kind


# ------------------------------------------------------------------------- locked files


def test_a_file_locked_at_open_runs_without_a_cache(path, caplog):
    path.parent.mkdir(mode=0o700)
    other = sqlite3.connect(path, isolation_level=None)  # another program's file, rollback journal
    other.execute("CREATE TABLE theirs (x)")
    other.execute("INSERT INTO theirs VALUES (1)")
    other.execute("BEGIN EXCLUSIVE")
    try:
        began = time.monotonic()
        cache = HeaderCache(path)
        cache.start(ACCOUNT, INBOX, 7)
        cache.put_rows(ACCOUNT, INBOX, 7, [make_row(1)])
        found = (cache.uids(ACCOUNT, INBOX, 7), list(cache.rows(ACCOUNT, INBOX, 7)), cache.state(ACCOUNT, INBOX))
        elapsed = time.monotonic() - began
        assert found == ([], [], None)
        assert elapsed < 5, f"took {elapsed:.1f}s"
        assert "locked" in cache.notice and str(path) in cache.notice
        cache.close()
    finally:
        other.execute("ROLLBACK")
    assert not os.path.exists(f"{path}.corrupt")
    assert other.execute("SELECT x FROM theirs").fetchall() == [(1,)]  # their file untouched
    other.close()


def test_a_write_meeting_a_lock_is_skipped_not_raised(path, caplog):
    cache = HeaderCache(path)
    rows = filled(cache, [1, 2])
    cache.set_modseq(ACCOUNT, INBOX, 7, 10)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.WARNING, logger="tui.cache"):
            began = time.monotonic()
            cache.put_rows(ACCOUNT, INBOX, 7, [make_row(3)])
            elapsed = time.monotonic() - began
        assert 1 < elapsed < 5, f"took {elapsed:.1f}s"  # waited for the busy timeout, no longer
        assert any("locked" in record.getMessage() for record in caplog.records)
        assert rows_of(cache, newest_first=False) == rows  # reads still work under WAL
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert cache.notice == "" and not os.path.exists(f"{path}.corrupt")
    # A write was lost: the stored modseq must not claim the rows are in sync any more.
    cache.set_modseq(ACCOUNT, INBOX, 7, 20)
    assert cache.state(ACCOUNT, INBOX) == MailboxState(7, None, 2)
    cache.put_rows(ACCOUNT, INBOX, 7, [make_row(3)])  # the lock is gone: writes work again
    assert cache.uids(ACCOUNT, INBOX, 7) == [1, 2, 3]
    cache.close()


# ------------------------------------------------------------------------- privacy


def mode(name) -> int:
    return stat.S_IMODE(os.stat(name).st_mode)


def test_directory_and_files_are_private(tmp_path):
    old_umask = os.umask(0o022)
    try:
        path = tmp_path / "made" / "deeper" / "headers.sqlite3"
        cache = HeaderCache(path)
        filled(cache, [1])
        assert mode(tmp_path / "made") == 0o700 and mode(tmp_path / "made" / "deeper") == 0o700
        assert mode(path) == 0o600
        assert os.path.exists(f"{path}-wal") and os.path.exists(f"{path}-shm")
        assert mode(f"{path}-wal") == 0o600 and mode(f"{path}-shm") == 0o600
        cache.close()
    finally:
        os.umask(old_umask)


def test_an_existing_readable_file_is_made_private(tmp_path):
    path = tmp_path / "headers.sqlite3"
    os.chmod(tmp_path, 0o755)
    HeaderCache(path).close()
    os.chmod(path, 0o644)
    cache = HeaderCache(path)
    filled(cache, [1])
    assert mode(path) == 0o600 and mode(f"{path}-wal") == 0o600
    cache.close()
    assert mode(tmp_path) == 0o755  # an existing directory is not ours to change


def test_a_path_that_cannot_be_made_runs_without_a_cache(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"not a directory")
    cache = HeaderCache(blocker / "headers.sqlite3")
    assert "cannot be used" in cache.notice and "does not cache headers" in cache.notice
    assert cache.start(ACCOUNT, INBOX, 7) is None
    cache.put_rows(ACCOUNT, INBOX, 7, [make_row(1)])
    assert cache.uids(ACCOUNT, INBOX, 7) == []
    assert blocker.read_bytes() == b"not a directory"
    cache.close()
