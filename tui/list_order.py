"""The message list's local order: sorting rows by a key, threading them.

Works on the `Row`s the list already holds (tui.headers); the server is not asked. For a
mailbox whose rows are not all here yet, tui.imap.ordering asks the server (RFC 5256)
for the same orders.

Ties go by UID ascending in both directions, as RFC 5256 SORT breaks them (the
mailbox's own order; REVERSE reverses the criterion, not the tie-break), so a list sorted
here and one the server sorted agree. Pure module: no Textual, no imaplib.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from .headers import Row, date_key, sender_key, subject_key
from .headers import thread_fields as _links_of  # one header parse per row: most of threading's cost
from .threads import ThreadNode, build_threads

__all__ = ["SORT_KEYS", "key_function", "sort_uids", "thread_uids"]

SORT_KEYS = ("date", "arrival", "sender", "subject", "size")


def _size(row: Row) -> int:
    return row.size


_KEYS: dict[str, Callable[[Row], object]] = {
    "date": date_key,  # Date:, else INTERNALDATE (RFC 5256's sent date), UTC seconds
    "sender": sender_key,  # display name, else address, case-folded (SORT=DISPLAY's DISPLAYFROM)
    "subject": subject_key,  # base subject, case-folded
    "size": _size,
}


def key_function(key: str) -> Callable[[Row], object] | None:
    """Row -> sort value for `key`; None for "arrival", which is the UID itself."""
    if key not in SORT_KEYS:
        raise ValueError(f"unknown sort key {key!r} (one of {', '.join(SORT_KEYS)})")
    return _KEYS.get(key)


def sort_uids(rows: Mapping[int, Row], uids: Sequence[int], key: str, reverse: bool,
              memo: dict | None = None) -> list[int]:
    """`uids` in display order by `key` (one of SORT_KEYS).

    reverse=False is ascending: oldest, smallest, A first. Ties by UID ascending either way.
    UIDs without a row in `rows` come last, newest (highest UID) first. Each row's key is
    computed once per call, or once while its row's headers stay the same with `memo`
    (a dict the caller keeps: a second sort of 100,000 rows is then cheap).
    """
    function = key_function(key)
    present = [uid for uid in uids if uid in rows]
    missing = sorted((uid for uid in uids if uid not in rows), reverse=True)
    present.sort()
    if function is not None:
        if memo is None:
            keys = {uid: function(rows[uid]) for uid in present}
        else:
            known = memo.setdefault(key, {})
            keys = {uid: _remembered(known, rows[uid], function) for uid in present}
        present.sort(key=keys.__getitem__, reverse=reverse)  # stable: ties stay by UID
    elif reverse:
        present.reverse()
    return present + missing


def _remembered(known: dict, row: Row, compute: Callable[[Row], object]):
    """compute(row), kept per UID while the row's header bytes are the same object."""
    hit = known.get(row.uid)
    if hit is not None and hit[0] is row.headers:
        return hit[1]
    value = compute(row)
    known[row.uid] = (row.headers, value)
    return value


def thread_uids(rows: Mapping[int, Row], uids: Sequence[int], memo: dict | None = None) -> list[ThreadNode]:
    """Threads (JWZ, tui.threads.build_threads) of `uids` from their rows' headers.

    A UID without a row is a thread of its own. The result is in no particular order:
    tui.threads.order_threads puts it in one.
    """
    links = []
    for uid in uids:
        row = rows.get(uid)
        if row is None:
            links.append((uid, "", (), ""))
            continue
        found = _links_of(row) if memo is None else _remembered(memo.setdefault("links", {}), row, _links_of)
        links.append((uid, *found))
    return build_threads(links)
