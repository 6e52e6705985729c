"""The local sort of the message list: each key, both directions, ties, rows not yet here."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tui.headers import Row, thread_links
from tui.list_order import SORT_KEYS, _links_of, sort_uids, thread_uids


def row(uid: int, *, date: str | None = None, sender: str | None = None, subject: str | None = None,
        size: int = 100, internaldate: float | None = None, extra: str = "") -> Row:
    lines = []
    if date is not None:
        lines.append(f"Date: {date}")
    if sender is not None:
        lines.append(f"From: {sender}")
    if subject is not None:
        lines.append(f"Subject: {subject}")
    block = "\r\n".join(lines) + "\r\n" + extra + "\r\n"
    return Row(uid, frozenset(), internaldate, size, block.encode())


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


# Five messages whose order by every key is known from how they were written.
ROWS = {
    10: row(10, date="Tue, 02 Jan 2024 09:00:00 +0000", sender="Zoe Zimmer <zoe@example.org>",
            subject="Re: Banana", size=500),
    11: row(11, date="Mon, 01 Jan 2024 23:30:00 -0200", sender="adam <adam@example.org>",  # = Jan 2 01:30 UTC
            subject="Apple", size=300),
    12: row(12, sender="bert@example.org", subject="[list] cherry", size=300,  # no Date: INTERNALDATE
            internaldate=ts("2024-01-01T12:00:00")),
    13: row(13, date="Wed, 03 Jan 2024 08:00:00 +0100", sender='"Carl, Jr." <carl@example.org>',
            subject="apple", size=900),  # = Jan 3 07:00 UTC
    14: row(14, date="not a date", sender="=?utf-8?q?=C3=84nne?= <anne@example.org>",  # Änne
            subject="Fwd: banana", size=50),  # no usable date, no INTERNALDATE: 0, first
}
UIDS = [14, 12, 10, 13, 11]  # as the server listed them: order must not matter

ASCENDING = {
    "date": [14, 12, 11, 10, 13],
    "arrival": [10, 11, 12, 13, 14],
    "sender": [11, 12, 13, 10, 14],  # adam, bert@example.org, carl, jr., zoe zimmer, änne
    "subject": [11, 13, 10, 14, 12],  # apple (11, 13: a tie), banana (10, 14: a tie), cherry
    "size": [14, 11, 12, 10, 13],  # 50, 300 (11, 12: a tie), 500, 900
}
# Reverse reverses the key, not the tie-break: ties stay by UID ascending (as RFC 5256 SORT).
DESCENDING = {
    "date": [13, 10, 11, 12, 14],
    "arrival": [14, 13, 12, 11, 10],
    "sender": [14, 10, 13, 12, 11],
    "subject": [12, 10, 14, 11, 13],
    "size": [13, 10, 11, 12, 14],
}


@pytest.mark.parametrize("key", SORT_KEYS)
def test_each_key_ascending(key):
    assert sort_uids(ROWS, UIDS, key, reverse=False) == ASCENDING[key]


@pytest.mark.parametrize("key", SORT_KEYS)
def test_each_key_descending(key):
    assert sort_uids(ROWS, UIDS, key, reverse=True) == DESCENDING[key]


@pytest.mark.parametrize("key", SORT_KEYS)
@pytest.mark.parametrize("reverse", [False, True])
def test_missing_rows_come_last_newest_first(key, reverse):
    uids = [99, *UIDS, 7, 50]
    expected = (DESCENDING if reverse else ASCENDING)[key] + [99, 50, 7]
    assert sort_uids(ROWS, uids, key, reverse) == expected


def test_all_ties_keep_uid_order_both_ways():
    rows = {uid: row(uid, date="Mon, 01 Jan 2024 10:00:00 +0000", sender="Same <s@x>", subject="Same", size=7)
            for uid in (5, 3, 9, 1)}
    for key in ("date", "sender", "subject", "size"):
        assert sort_uids(rows, [5, 3, 9, 1], key, False) == [1, 3, 5, 9]
        assert sort_uids(rows, [5, 3, 9, 1], key, True) == [1, 3, 5, 9]


def test_empty_and_unknown_key():
    assert sort_uids(ROWS, [], "date", True) == []
    assert sort_uids({}, [3, 1, 2], "subject", False) == [3, 2, 1]
    with pytest.raises(ValueError):
        sort_uids(ROWS, UIDS, "colour", False)


def test_keys_computed_once_per_row(monkeypatch):
    import tui.list_order as list_order

    calls = []
    monkeypatch.setitem(list_order._KEYS, "size", lambda r: calls.append(r.uid) or r.size)
    sort_uids(ROWS, UIDS, "size", False)
    assert sorted(calls) == sorted(UIDS)


# thread_uids reads the threading fields once per row: it must agree with thread_links.
LINK_BLOCKS = [
    b"Message-ID: <a@x>\r\n\r\n",
    b"Message-ID: <b@x>\r\nReferences: <a@x>\r\n <c@x>\r\nIn-Reply-To: <c@x>\r\n\r\n",
    b"Message-ID: <b@x>\r\nReferences: <a@x> <c@x>\r\nIn-Reply-To: <d@x> (sent by d)\r\n\r\n",
    b"In-Reply-To: <only@x>\r\nSubject: =?utf-8?q?Re=3A_=C3=A9t=C3=A9?=\r\n\r\n",
    b"Message-ID: no brackets\r\nReferences: " + b" ".join(b"<r%d@x>" % i for i in range(200)) + b"\r\n\r\n",
    b"message-id:<lower@x>\r\nREFERENCES:<up@x>\r\nSubject: Re: plain\r\n\r\n",
    b"",
]


@pytest.mark.parametrize("block", LINK_BLOCKS)
def test_links_match_thread_links(block):
    r = Row(1, frozenset(), None, 1, block)
    message_id, parents, _subject = _links_of(r)
    assert (message_id, parents) == thread_links(r)


def test_links_subject_is_decoded():
    r = Row(1, frozenset(), None, 1, LINK_BLOCKS[3])
    assert _links_of(r)[2] == "Re: été"


def test_thread_uids_rows_missing_are_threads_of_their_own():
    rows = {1: row(1, subject="Plan", extra="Message-ID: <a@x>\r\n"),
            2: row(2, subject="Re: Plan", extra="Message-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\n")}
    roots = thread_uids(rows, [1, 2, 3])
    by_uid = {root.uid: [c.uid for c in root.children] for root in roots}
    assert by_uid == {1: [2], 3: []}
