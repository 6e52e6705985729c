"""The cache's writer thread: writes land in the order asked, reads see every earlier write."""

from __future__ import annotations

import threading

from tui.cache import HeaderCache
from tui.cache_writer import CacheWriter
from tui.headers import Row


def rows(uids, flags=frozenset()):
    return [Row(uid, flags, 1_700_000_000.0 + uid, 100 + uid, b"Subject: m%d\r\n" % uid) for uid in uids]


def test_writes_in_order_and_reads_after_them(tmp_path):
    writer = CacheWriter(HeaderCache(tmp_path / "h.sqlite3"))
    try:
        assert writer.start("a", b"INBOX", 7) is None
        writer.put_rows("a", b"INBOX", 7, rows(range(1, 1001)))
        writer.set_flags("a", b"INBOX", 7, [(5, frozenset({"\\Seen"}))])  # after the rows, so it sticks
        writer.put_rows("a", b"INBOX", 7, rows([1001]))
        writer.remove("a", b"INBOX", 7, [2, 3])
        assert writer.uids("a", b"INBOX", 7) == [1] + list(range(4, 1002))
        assert writer.rows_for("a", b"INBOX", 7, [5])[5].flags == frozenset({"\\Seen"})
        assert writer.state("a", b"INBOX").count == 999
        batches = list(writer.rows("a", b"INBOX", 7, batch=400))
        assert [len(b) for b in batches] == [400, 400, 199] and batches[0][0].uid == 1001
    finally:
        writer.close()
    reopened = HeaderCache(tmp_path / "h.sqlite3")  # everything queued was written before close returned
    assert reopened.state("a", b"INBOX").count == 999
    reopened.close()


def test_writes_do_not_wait_for_sqlite(tmp_path):
    cache = HeaderCache(tmp_path / "h.sqlite3")
    release = threading.Event()
    slow = cache.put_rows

    def held_put_rows(*args):
        release.wait(5)
        slow(*args)

    cache.put_rows = held_put_rows
    writer = CacheWriter(cache)
    try:
        writer.start("a", b"INBOX", 1)
        writer.put_rows("a", b"INBOX", 1, rows([1, 2]))  # returns at once although SQLite is held
        assert not release.is_set()
        release.set()
        assert writer.uids("a", b"INBOX", 1) == [1, 2]
    finally:
        writer.close()
