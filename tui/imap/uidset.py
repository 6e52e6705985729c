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


def uid_ranges(text: str, limit: int | None = None) -> list[tuple[int, int]]:
    """"1:5,7,9:8" -> [(1, 5), (7, 7), (9, 8)], as written (no "*"). ValueError for anything
    else, or for a set naming more than `limit` UIDs (checked before anything is expanded)."""
    ranges = []
    total = 0
    for part in text.split(","):
        low, _, high = part.partition(":")
        if not (low.isascii() and low.isdigit()) or (high and not (high.isascii() and high.isdigit())) \
                or len(low) > 10 or len(high) > 10:
            raise ValueError(f"not a UID set: {text[:40]!r}")
        first, last = int(low), int(high or low)
        total += abs(last - first) + 1
        if limit is not None and total > limit:
            raise ValueError(f"the UID set names more than {limit} UIDs")
        ranges.append((first, last))
        if len(ranges) > MAX_RANGES:
            raise ValueError("UID set too long")
    return ranges


def parse_uid_set(text: str) -> list[tuple[int, int]]:
    """"1:5,7,9:8" -> [(1, 5), (7, 7), (8, 9)]: each range low to high."""
    return [(min(first, last), max(first, last)) for first, last in uid_ranges(text)]


def expand_uid_set(text: str, limit: int) -> list[int]:
    """Every UID of the set in the order written ("9:8" gives 9, 8), at most `limit` of them."""
    uids: list[int] = []
    for first, last in uid_ranges(text, limit):
        step = 1 if last >= first else -1
        uids.extend(range(first, last + step, step))
    return uids
