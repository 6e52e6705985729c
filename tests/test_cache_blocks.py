"""The header cache's block store: any mix of writes reads back exactly as a plain dict
would hold it, blocks never overlap, new mail does not scatter into tiny blocks, and a
block that does not add up counts as a damaged file."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui import cache_blocks
from tui.cache import HeaderCache
from tui.headers import Row

ACCOUNT = "work"
INBOX = b"INBOX"
SMALL = 4  # rows per block in the property test: every path (merge, split, gap, neighbour) gets used


def make_row(uid: int, flags: frozenset[str] = frozenset(), tag: str = "") -> Row:
    date = None if uid % 7 == 0 else 1_700_000_000.0 + uid
    headers = f"Subject: message {uid}{tag}\r\n".encode() if uid % 5 else b""  # empty header blocks too
    return Row(uid, flags, date, uid * 10, headers)


def blocks_of(path) -> list[tuple[int, int, int]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT low, high, length(uids) / 4 FROM blocks ORDER BY low").fetchall()
    finally:
        conn.close()


def check_matches(cache: HeaderCache, path, model: dict[int, Row]) -> None:
    expected = [model[uid] for uid in sorted(model)]
    assert cache.uids(ACCOUNT, INBOX, 7) == sorted(model)
    assert cache.state(ACCOUNT, INBOX).count == len(model)
    for batch in (1, 3, 1000):
        newest = [row for rows in cache.rows(ACCOUNT, INBOX, 7, batch=batch) for row in rows]
        assert newest == expected[::-1]
        oldest = [row for rows in cache.rows(ACCOUNT, INBOX, 7, batch=batch, newest_first=False) for row in rows]
        assert oldest == expected
    some = sorted(model)[::3] + [0, 10_000]
    assert cache.rows_for(ACCOUNT, INBOX, 7, some) == {uid: model[uid] for uid in some if uid in model}
    ranges = blocks_of(path)
    assert all(high < next_low for (_, high, _), (next_low, _, _) in zip(ranges, ranges[1:]))  # never overlapping
    assert sum(count for _, _, count in ranges) == len(model)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "h.sqlite3"


@pytest.fixture
def cache(path):
    """A cache file with INBOX started (UIDVALIDITY 7)."""
    opened = HeaderCache(path)
    opened.start(ACCOUNT, INBOX, 7)
    yield opened
    opened.close()


uid_lists = st.lists(st.integers(min_value=1, max_value=60), max_size=25)
operations = st.lists(st.one_of(
    st.tuples(st.just("put"), uid_lists, st.sampled_from(["", " again"])),
    st.tuples(st.just("flags"), uid_lists, st.sampled_from([frozenset(), frozenset({"\\Seen"}),
                                                            frozenset({"\\Flagged", "$Work"})])),
    st.tuples(st.just("remove"), uid_lists, st.none()),
    st.tuples(st.just("keep_only"), uid_lists, st.none()),
), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations)
def test_any_mix_of_writes_reads_back_as_a_dict_would_hold_it(tmp_path, monkeypatch, steps):
    monkeypatch.setattr(cache_blocks, "BLOCK_ROWS", SMALL)
    monkeypatch.setattr(cache_blocks, "_SPLIT_AT", 2 * SMALL)
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "h.sqlite3"  # (tmp_path is shared by the examples)
    cache = HeaderCache(path)
    try:
        cache.start(ACCOUNT, INBOX, 7)
        model: dict[int, Row] = {}
        for kind, uids, extra in steps:
            if kind == "put":
                rows = [make_row(uid, tag=extra) for uid in uids]
                cache.put_rows(ACCOUNT, INBOX, 7, rows)
                model.update((row.uid, row) for row in rows)
            elif kind == "flags":
                cache.set_flags(ACCOUNT, INBOX, 7, [(uid, extra) for uid in uids])
                model.update((uid, model[uid].with_flags(extra)) for uid in uids if uid in model)
            elif kind == "remove":
                cache.remove(ACCOUNT, INBOX, 7, uids)
                for uid in uids:
                    model.pop(uid, None)
            else:
                went = cache.keep_only(ACCOUNT, INBOX, 7, uids)
                assert went == len(set(model) - set(uids))
                model = {uid: row for uid, row in model.items() if uid in uids}
            check_matches(cache, path, model)
        assert cache.notice == ""
    finally:
        cache.close()


def test_a_fill_newest_first_then_new_mail_one_at_a_time_keeps_blocks_full(cache, path):
    for top in range(10_000, 0, -2_500):  # how the fill process delivers: newest batch first
        cache.put_rows(ACCOUNT, INBOX, 7, [make_row(uid) for uid in range(top, top - 2_500, -1)])
    cache.put_rows(ACCOUNT, INBOX, 7, [make_row(uid) for uid in (4_000, 4_001)])  # refetched: replaced
    for uid in range(10_001, 10_301):  # new mail, one IDLE answer at a time
        cache.put_rows(ACCOUNT, INBOX, 7, [make_row(uid)])
    ranges = blocks_of(path)
    assert len(ranges) == -(-10_300 // cache_blocks.BLOCK_ROWS)  # as few as the rows need
    assert cache.state(ACCOUNT, INBOX).count == 10_300
    assert cache.uids(ACCOUNT, INBOX, 7) == list(range(1, 10_301))


def test_rows_scattered_over_a_wide_range_do_not_make_one_giant_block(cache, path):
    cache.put_rows(ACCOUNT, INBOX, 7, [make_row(uid) for uid in (5, 50_000, 99_999)])  # a search's hits
    cache.put_rows(ACCOUNT, INBOX, 7, [make_row(uid) for uid in range(1, 100_001)])
    assert max(count for _, _, count in blocks_of(path)) <= 2 * cache_blocks.BLOCK_ROWS
    assert cache.uids(ACCOUNT, INBOX, 7) == list(range(1, 100_001))


@pytest.mark.parametrize("damage", [
    "UPDATE blocks SET uids = x'010203'",  # not a whole number of UIDs
    "UPDATE blocks SET flags = x'5b5d0a5b5d'",  # two flag lines for three messages
    "UPDATE blocks SET flags = x'ff0a5b5d0a5b5d'",  # not UTF-8
    "UPDATE blocks SET heads = substr(heads, 1, length(heads) - 1)",  # a header block cut short
    "UPDATE blocks SET heads = heads || x'00'",  # a byte too many
    "UPDATE blocks SET low = low - 1",  # its row and its UIDs disagree
    "UPDATE blocks SET uids = x'010000000300000003000000'",  # not ascending
])
def test_a_block_that_does_not_add_up_is_a_damaged_file(cache, path, damage):
    cache.put_rows(ACCOUNT, INBOX, 7, [make_row(uid) for uid in (1, 2, 3)])
    conn = sqlite3.connect(path)
    conn.execute(damage)
    conn.commit()
    conn.close()
    assert [row for rows in cache.rows(ACCOUNT, INBOX, 7) for row in rows] == []
    assert "damaged" in cache.notice
    assert cache.state(ACCOUNT, INBOX) is None  # rebuilt empty; the old file kept aside
    assert path.with_name("h.sqlite3.corrupt").exists()
