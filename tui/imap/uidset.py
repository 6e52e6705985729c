"""UID sets as IMAP writes them: "1:500,502,600:900".

A list of 50,000 UIDs overflows Dovecot's 64 KB command line, so every command
that names many messages sends a compressed set (ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Iterable


def compress_uids(uids: Iterable[int]) -> str:
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("an empty UID set cannot be sent")
    ranges = []
    start = previous = ordered[0]
    for uid in ordered[1:]:
        if uid != previous + 1:
            ranges.append(str(start) if start == previous else f"{start}:{previous}")
            start = uid
        previous = uid
    ranges.append(str(start) if start == previous else f"{start}:{previous}")
    return ",".join(ranges)
