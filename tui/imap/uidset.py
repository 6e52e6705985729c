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


MAX_RANGES = 100_000  # a longer set from a server is hostile, not news


def parse_uid_set(text: str) -> list[tuple[int, int]]:
    """"1:5,7,9:8" -> [(1, 5), (7, 7), (8, 9)]; ValueError for anything else (no "*")."""
    ranges = []
    for part in text.split(","):
        low, _, high = part.partition(":")
        if not low.isdigit() or (high and not high.isdigit()) or len(low) > 10 or len(high) > 10:
            raise ValueError(f"not a UID set: {text[:40]!r}")
        first, last = int(low), int(high or low)
        ranges.append((min(first, last), max(first, last)))
        if len(ranges) > MAX_RANGES:
            raise ValueError("UID set too long")
    return ranges

