"""Which rows the message list shows, in which order, with which thread lines.

The list holds every UID of the mailbox (newest first). What it shows depends on the
search (its matches), the order the user picked (sort key, direction, threads) and
which threads are collapsed. Sorting and threading need every row's headers: until
the index is complete, the server's SORT or THREAD answer stands in (RFC 5256), and
without one the list stays in arrival order and says it is waiting.

Pure module: no Textual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .headers import Row, date_key
from .list_order import _remembered, sort_uids, thread_uids
from .list_prefs import ListOrder
from .threads import ThreadLine, ThreadNode, flatten, messages_of, order_threads


@dataclass(frozen=True)
class ServerOrder:
    """The server's answer for one order: UIDs (SORT) or thread roots (THREAD)."""

    key: str
    reverse: bool
    threads: bool
    uids: tuple[int, ...] = ()
    roots: tuple[ThreadNode, ...] = ()

    def serves(self, order: ListOrder) -> bool:
        if order.threads:
            return self.threads
        return not self.threads and (self.key, self.reverse) == (order.key, order.reverse)


@dataclass
class Memo:
    """What arranging 100,000 rows again can reuse: sort keys and thread links per row, and
    the threads of the last set of rows threaded. The list keeps one per mailbox view."""

    parsed: dict = field(default_factory=dict)  # list_order's per-row memo
    threaded: list[int] | None = None  # the UIDs last threaded, in the order given
    roots: list[ThreadNode] = field(default_factory=list)


@dataclass
class Layout:
    uids: list[int]  # the rows shown, top to bottom
    lines: dict[int, ThreadLine] = field(default_factory=dict)  # with threads: each shown row's line
    waiting: bool = False  # the order waits for the whole index; arrival order meanwhile
    pending: bool = False  # some rows are missing: arrange again once they are in
    roots: list[ThreadNode] = field(default_factory=list)  # with threads: in display order


def needs_rows(order: ListOrder) -> bool:
    """Arrival order is the UIDs' own; anything else reads headers."""
    return order.threads or order.key != "arrival"


def arrange(
    mailbox_uids: Sequence[int],
    matches: frozenset[int] | None,
    rows: Mapping[int, Row],
    order: ListOrder,
    collapsed: set[int],
    server: ServerOrder | None = None,
    memo: Memo | None = None,
    awaiting: bool = False,
) -> Layout:
    """`mailbox_uids` newest first; the rows to show, in order. `awaiting`: the server's
    answer for this order is on its way; arrival order until then (no sorting here)."""
    memo = memo if memo is not None else Memo()
    shown = list(mailbox_uids) if matches is None else [uid for uid in mailbox_uids if uid in matches]
    arrival = shown if order.reverse else shown[::-1]
    if not needs_rows(order):
        return Layout(arrival)
    served = server is not None and server.serves(order)
    if awaiting and not served:
        return Layout(arrival, waiting=True)
    missing = [uid for uid in shown if uid not in rows]
    # A few rows missing (new mail on its way): arrange the others, the new ones on top,
    # and again once they are in. Many missing: wait for them (or for the server's order).
    few = len(missing) <= max(50, len(shown) // 200)
    if missing and not served and not few:
        return Layout(arrival, waiting=True)
    present = [uid for uid in shown if uid in rows] if missing else shown
    if order.threads:
        if served:  # kept once every row is in: threading 100,000 rows here takes seconds
            roots = _only(list(server.roots), set(shown))
        else:
            if memo.threaded != present:  # collapsing, re-sorting or new flags: the same threads
                memo.roots, memo.threaded = thread_uids(rows, present, memo.parsed), list(present)
            roots = memo.roots
        keyed = _thread_key(rows, order.key, memo)
        ordered_roots = order_threads(roots, keyed, order.reverse)
        lines = flatten(ordered_roots, collapsed, lambda uid: uid in rows and "\\Seen" not in rows[uid].flags)
        threaded = {uid for root in roots for uid in messages_of(root)}
        unplaced = sorted(set(shown) - threaded, reverse=True)  # new mail since the answer, or rows to come
        return Layout(unplaced + [line.uid for line in lines], {line.uid: line for line in lines},
                      pending=bool(missing), roots=ordered_roots)
    if served:
        wanted = set(shown)
        ordered = list(dict.fromkeys(uid for uid in server.uids if uid in wanted))  # a hostile answer repeats UIDs
        placed = set(ordered)
        return Layout([uid for uid in shown if uid not in placed] + ordered, pending=bool(missing))
    ordered = sort_uids(rows, present, order.key, order.reverse, memo.parsed)
    return Layout(sorted(missing, reverse=True) + ordered, pending=bool(missing))


def _thread_key(rows: Mapping[int, Row], key: str, memo: Memo):
    """Threads are ordered by their newest message: by date, or by UID for arrival (and
    for other keys: a thread's "largest sender" means nothing)."""
    if key == "date":
        known = memo.parsed.setdefault("date", {})
        return lambda uid: _remembered(known, rows[uid], date_key) if uid in rows else 0.0
    return lambda uid: uid


def _only(roots: list[ThreadNode], wanted: set[int]) -> list[ThreadNode]:
    """The server's threads cut down to the UIDs shown (a search), each UID once; dropped
    messages' replies move up to the nearest kept ancestor's level."""
    kept: list[ThreadNode] = []
    seen: set[int | None] = set()  # a hostile answer may name a UID twice
    stack: list[tuple[ThreadNode, list[ThreadNode]]] = [(node, kept) for node in reversed(roots)]
    while stack:
        node, into = stack.pop()
        if node.uid is None or (node.uid in wanted and node.uid not in seen):
            seen.add(node.uid)
            copy = ThreadNode(node.uid, [])
            into.append(copy)
            stack.extend((child, copy.children) for child in reversed(node.children))
        else:
            stack.extend((child, into) for child in reversed(node.children))
    return kept
