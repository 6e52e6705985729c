"""Moving through one thread from the viewer (`[` and `]`): which message comes before
or after this one in its thread, in reading order. Pure: no Textual."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .headers import Row
from .list_order import thread_uids
from .threads import ThreadNode, messages_of, order_threads


def reading_order(roots: Sequence[ThreadNode], uid: int) -> list[int]:
    """The messages of the thread that holds `uid`, depth first (a reply right after what
    it answers), as the thread view lists them; [] when no thread holds it."""
    for root in roots:
        uids = messages_of(root)
        if uid in uids:
            return uids
    return []


def neighbour(order: Sequence[int], uid: int, step: int) -> int | None:
    """The message `step` (+1 or -1) away from `uid` in `order`; None at either end."""
    try:
        index = order.index(uid)
    except ValueError:
        return None
    index += step
    return order[index] if 0 <= index < len(order) else None


def threads_of(rows: Mapping[int, Row], uids: Sequence[int]) -> list[ThreadNode]:
    """Threads for a list not shown threaded. Replies in arrival order (UIDs ascending):
    without the thread view's date keys, the order messages came in is the honest one."""
    return order_threads(thread_uids(rows, uids), key=lambda uid: uid, reverse=True)
