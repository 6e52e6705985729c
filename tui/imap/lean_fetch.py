"""The bulk list path at bytes level: FETCH the list rows and parse them without imapclient.

imapclient's generic FETCH parser costs about 140 us a message (15.8 s for a 100,000
message INBOX, ARCHITECTURE.md "how to be fast"). Here one `UID FETCH` is read by
`bulk_read` (imaplib's own reader costs another 15 us a line) and its answers are cut
apart with one compiled regex each (one regex per order of the items: Dovecot's is
known, another server's is learnt from its first answer by an any-order regex); only an
answer no regex reads goes through imapclient's parser (and if even that fails, its
message becomes an "(unreadable message)" row: one bad answer never costs the others).

How a FETCH answer is filed (imaplib's `untagged_responses["FETCH"]` list): an
answer without a literal is one bytes item `b'12 (UID 40 FLAGS (\\Seen))'`; an answer
with k literals is k tuples `(line up to and including "{n}", literal)` followed by one
bytes item, the rest of the line (usually just `b')'`).

Answers that are not our rows (another client's flag change arriving unsolicited, a
UID we did not ask for) go back into imaplib's `untagged_responses["FETCH"]`, where
`commands._drain_leftovers` moves them into the change journal as for any command.

Pure module: no Textual. Runs on the account's worker thread.
"""

from __future__ import annotations

import calendar
import json
import operator
import re
from bisect import bisect_left, bisect_right, insort
from collections.abc import Sequence
from itertools import islice

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.response_parser import parse_fetch_response

from ..headers import (
    HEADER_FIELDS,
    MAX_HEADER_BLOCK,
    Row,
    placeholder_row,
    shared_flags,
)
from .bulk_read import Outcome, check, put_back, read_uid, run_uid, send_uid
from .commands import one_line
from .uidset import compress_uids, parse_uid_set

__all__ = ["MAX_SIZE", "MAX_UIDS", "ROW_ITEMS", "all_flags", "all_uids", "fetch_rows", "parse_flags", "parse_rows"]

ROW_ITEMS = b"(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (" + " ".join(HEADER_FIELDS).encode(
    "ascii") + b")])"
MAX_UIDS = 50_000_000  # a mailbox answer naming more UIDs than this is refused, not expanded
MAX_SIZE = 2 ** 40  # RFC822.SIZE above this is a lie; it is capped (a sort by size stays sane)

GONE = "(no longer on the server)"
UNREADABLE = "(unreadable message)"

# -- the regexes ----------------------------------------------------------------------------
#
# One FETCH item list, in any order: `seq (ITEM ITEM ...)`. A repeated group keeps the last
# match of each of its groups, so the simple items (UID, FLAGS, INTERNALDATE, RFC822.SIZE,
# MODSEQ) can come in any order around the header section. Python's re wants unique group
# names, so the first item and the following ones use two copies of the alternation; the
# parser takes whichever of the two matched (the later one if an item came twice).

_HEADER_NAME = rb"BODY\[HEADER\.FIELDS \([^()\]\r\n]*\)\]"
_QUOTED = rb'"((?:[^"\\\r\n]|\\["\\])*)"'


def _simple_items(n: int, with_header: str | None) -> bytes:
    items = [
        rb"UID (?P<uid%d>\d{1,10})" % n,
        rb'FLAGS \((?P<flags%d>[^()"{}\r\n]*)\)' % n,
        rb'INTERNALDATE "(?P<date%d>[^"\\\r\n]*)"' % n,
        rb"RFC822\.SIZE (?P<size%d>\d{1,20})" % n,
        rb"MODSEQ \((?P<modseq%d>\d{1,20})\)" % n,
    ]
    if with_header == "inline":  # the header section as NIL or a quoted string
        items.append(_HEADER_NAME + rb" (?:(?P<nil%d>NIL)|" % n + _QUOTED.replace(b"((?:", b"(?P<quoted%d>(?:" % n) + b")")
    return b"(?:" + b"|".join(items) + b")"


# A row whose header section is a literal (every Dovecot answer): the line up to the literal.
_ROW_LITERAL = re.compile(
    rb"(?P<seq>\d{1,10}) \((?:" + _simple_items(0, None) + rb"(?: " + _simple_items(1, None) + rb")* )?"
    + _HEADER_NAME + rb" \{\d{1,10}\}\Z"
)
# Items that came after the literal: the rest of the line.
_AFTER_LITERAL = re.compile(rb"(?: " + _simple_items(1, None) + rb")*\)\Z")
# A row whose header section came inline (NIL, a quoted string), or any FETCH without literal.
_ROW_INLINE = re.compile(
    rb"(?P<seq>\d{1,10}) \((?:" + _simple_items(0, "inline") + rb"(?: " + _simple_items(1, "inline") + rb")*)?\)\Z"
)

# The fast path proper: the items of a server's answers come in the same order every time
# (Dovecot: UID FLAGS INTERNALDATE RFC822.SIZE, then the header literal), and one regex for
# exactly that order costs a third of the any-order one. Orders are learnt from answers the
# any-order regex read; Dovecot's is known from the start.
_ITEM_PATTERNS = {
    "uid": rb"UID (\d{1,10})",
    "flags": rb'FLAGS \(([^()"{}\r\n]*)\)',
    # in four pieces (day, hour:minute, second, zone), each but the second looked up in a cache
    "date": rb'INTERNALDATE "([ \d]\d-[A-Za-z]{3}-\d{4} )(\d\d:\d\d:)(\d\d)( [+-]\d{4})"',
    "size": rb"RFC822\.SIZE (\d{1,20})",
    "modseq": rb"MODSEQ \((\d{1,20})\)",
}
_MAX_LAYOUTS = 8


class _Layout:
    """A fixed order of the items before the header literal: its regex and group indexes."""

    __slots__ = ("date", "flags", "match", "size", "uid")

    def __init__(self, names: tuple[str, ...]) -> None:
        self.match = re.compile(
            rb"(\d{1,10}) \(" + b"".join(_ITEM_PATTERNS[name] + b" " for name in names)
            + _HEADER_NAME + rb" \{\d{1,10}\}\Z"
        ).match
        where, number = {}, 1  # groups()[0] is seq
        for name in names:
            where[name] = number
            number += 4 if name == "date" else 1
        self.uid, self.flags = where["uid"], where.get("flags")
        self.date, self.size = where.get("date"), where.get("size")


_layouts: dict[tuple[str, ...], _Layout] = {}


def _learnt(found: re.Match) -> _Layout | None:
    """The layout of an answer the any-order regex read, if it is one: each item once, a UID."""
    starts = []
    for name in _ITEM_PATTERNS:
        first, later = found.start(name + "0"), found.start(name + "1")
        if first >= 0 and later >= 0:
            return None  # an item twice (or a repeated one): not a layout worth a regex
        if max(first, later) >= 0:
            starts.append((max(first, later), name))
    names = tuple(name for _start, name in sorted(starts))
    if "uid" not in names:
        return None
    layout = _layouts.get(names)
    if layout is None and len(_layouts) < _MAX_LAYOUTS:
        layout = _layouts[names] = _Layout(names)
    return layout


_DOVECOT = _Layout(("uid", "flags", "date", "size"))
_layouts[("uid", "flags", "date", "size")] = _DOVECOT

_UID_ANYWHERE = re.compile(rb"\bUID (\d{1,10})\b")
_UNQUOTE = re.compile(rb"\\([\\\"])")
_ESEARCH = re.compile(rb'\s*(?:\(TAG "([^"]*)"\))?(.*)\Z', re.DOTALL | re.IGNORECASE)
_ESEARCH_ALL = re.compile(rb"(?:^|\s)ALL\s+([0-9:,]+)", re.IGNORECASE)

# -- values -----------------------------------------------------------------------------

_MAX_CACHE = 10_000
_flag_cache: dict[bytes, frozenset[str]] = {}


def _flags(raw: bytes) -> frozenset[str]:
    """`\\Seen $Keyword` -> a shared frozenset; cached by the raw bytes (a handful of sets)."""
    flags = _flag_cache.get(raw)
    if flags is None:
        flags = shared_flags(frozenset(raw.decode("ascii", "replace").split()))
        if len(_flag_cache) < _MAX_CACHE:
            _flag_cache[raw] = flags
    return flags


_MONTHS = {name.lower().encode("ascii"): number for number, name in enumerate(calendar.month_abbr) if name}
_MISSING = object()
_days: dict[bytes, float | None] = {}
_minutes: dict[bytes, int | None] = {}
_zones: dict[bytes, int | None] = {}


def _day(raw: bytes) -> float | None:
    """`26-Nov-2026 ` (or ` 1-Jan-2024 `) -> seconds of that midnight, UTC."""
    try:
        day, month, year = raw.strip().split(b"-")
        number = _MONTHS.get(month.lower())
        if number is None or not (day.isdigit() and year.isdigit() and len(year) == 4):
            return None
        if not 1 <= int(day) <= calendar.monthrange(int(year), number)[1]:
            return None
        return float(calendar.timegm((int(year), number, int(day), 0, 0, 0)))
    except (ValueError, OverflowError):
        return None


def _minute(raw: bytes) -> int | None:
    """`hh:mm:` -> seconds."""
    if raw[2:3] != b":" or raw[5:6] != b":" or not (raw[:2].isdigit() and raw[3:5].isdigit()):
        return None
    hours, minutes = int(raw[:2]), int(raw[3:5])
    return hours * 3600 + minutes * 60 if hours < 24 and minutes < 60 else None


def _zone(raw: bytes) -> int | None:
    """` +hhmm` -> seconds east of UTC."""
    if raw[:1] != b" " or raw[1:2] not in (b"+", b"-") or not raw[2:].isdigit() or len(raw) != 6:
        return None
    offset = int(raw[2:4]) * 3600 + int(raw[4:6]) * 60
    return -offset if raw[1:2] == b"-" else offset


def _cached(cache: dict, key: bytes, compute) -> object:
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute(key)
        if len(cache) < _MAX_CACHE:
            cache[key] = value
    return value


def parse_internaldate(raw: bytes | None) -> float | None:
    """`17-Jul-1996 02:44:25 -0700` -> seconds since the epoch (UTC); None if not a date.

    No strptime: the day, the hour:minute and the zone are each looked up in a small
    cache (a mailbox has a few thousand distinct days), the seconds are one int().
    """
    if not raw:
        return None
    if len(raw) == 25:  # "1-Jan-2024 ...": a server that does not pad the day
        raw = b" " + raw
    if len(raw) != 26:
        return None
    day = _days.get(raw[:12], _MISSING)
    if day is _MISSING:
        day = _cached(_days, raw[:12], _day)
    minute = _minutes.get(raw[12:18], _MISSING)
    if minute is _MISSING:
        minute = _cached(_minutes, raw[12:18], _minute)
    zone = _zones.get(raw[20:], _MISSING)
    if zone is _MISSING:
        zone = _cached(_zones, raw[20:], _zone)
    seconds = raw[18:20]
    if day is None or minute is None or zone is None or not seconds.isdigit():
        return None
    return day + minute + int(seconds) - zone  # a leap second (":60") rolls over, as timegm does


def _size(raw: bytes | None) -> int:
    if not raw:
        return 0
    value = int(raw)
    return min(value, MAX_SIZE)


def _header(block: bytes) -> bytes:
    return block if len(block) <= MAX_HEADER_BLOCK else block[:MAX_HEADER_BLOCK]


# -- rows ---------------------------------------------------------------------------------


def fetch_rows(client: IMAPClient, uids: Sequence[int]) -> list[Row]:
    """One `UID FETCH` of the list rows of `uids`: one Row per asked UID, in the order asked.

    A UID the server did not answer, or that another client expunged meanwhile, gets a
    "(no longer on the server)" row; an answer that cannot be read (or is too long to) an
    "(unreadable message)" row. A tagged NO or BAD raises IMAPClientError, a lost connection
    IMAPClientAbortError or OSError.
    """
    if not uids:
        return []
    return rows_answered(client, read_uid(client, send_rows_fetch(client, uids), keep=MAX_HEADER_BLOCK), uids)


def send_rows_fetch(client: IMAPClient, uids: Sequence[int]) -> bytes:
    """Send the `UID FETCH` of fetch_rows (at least one UID); its tag, for `read_uid`.
    Splitting the two lets a caller have the next batch on its way while it parses this one."""
    return send_uid(client, b"FETCH", compress_uids(set(uids)).encode("ascii"), ROW_ITEMS)


def rows_answered(client: IMAPClient, outcome: Outcome, uids: Sequence[int]) -> list[Row]:
    """fetch_rows's answer from the outcome of `send_rows_fetch(client, uids)`."""
    wanted = set(uids)
    rows, sequence, foreign, unidentified = parse_rows(outcome.fetched, wanted)
    put_back(client, foreign)
    check(outcome, "UID FETCH", tolerate_expunged=True)
    for kept in outcome.damaged:  # an answer too long to read: unreadable, like any other
        got = _unreadable([kept], wanted)
        if got is None:
            unidentified += 1
        else:
            rows.setdefault(got[1].uid, got[1])
    for uid in _gone(outcome, sequence, rows):
        rows.pop(uid, None)
    missing = UNREADABLE if unidentified else GONE
    return [rows.get(uid) or placeholder_row(uid, missing) for uid in uids]


def parse_rows(fetched: list, wanted: set[int]) -> tuple[dict[int, Row], list[tuple[int, int | bytes, int]], list, int]:
    """Cut imaplib's FETCH items into rows.

    Returns (rows by UID, [(item index, sequence number (int or digits), UID)] of each row answer,
    the items that are not our rows (to put back), how many answers were unreadable
    and named no UID we asked for).
    """
    rows: dict[int, Row] = {}
    sequence: list[tuple[int, int | bytes, int]] = []
    foreign: list = []
    unidentified = 0
    match_literal = _ROW_LITERAL.match
    match_inline = _ROW_INLINE.match
    layout = _DOVECOT
    flag_sets, days, minutes, zones = _flag_cache, _days, _minutes, _zones
    count = len(fetched)
    index = 0
    while index < count:
        item = fetched[index]
        start = index
        if item.__class__ is tuple:
            following = fetched[index + 1] if index + 1 < count else None
            if following == b")" and len(item) == 2:
                found = layout.match(item[0])
                if found is None:
                    any_order = match_literal(item[0])
                    if any_order is not None:
                        layout = _learnt(any_order) or layout
                        found = layout.match(item[0])  # None when no layout was learnt from it
                        if found is None:
                            got = _any_order_row(any_order, item[1], wanted)
                            index += 2
                            if got[1] is None:
                                foreign.append(item)
                                foreign.append(following)
                            else:
                                rows[got[1].uid] = got[1]
                                sequence.append((start, got[0], got[1].uid))
                            continue
                if found is not None:
                    # The fast path: every Dovecot answer comes this way.
                    groups = found.groups()
                    uid = int(groups[layout.uid])
                    if uid in wanted:
                        try:
                            at = layout.flags
                            if at:
                                flags = flag_sets.get(groups[at])
                                if flags is None:
                                    flags = _flags(groups[at])
                            else:
                                flags = _NO_FLAGS
                            at = layout.date
                            if at:
                                day, minute, zone = days.get(groups[at]), minutes.get(groups[at + 1]), zones.get(
                                    groups[at + 3])
                                if day is None or minute is None or zone is None:  # not seen yet, or invalid
                                    date = parse_internaldate(b"".join(groups[at:at + 4]))
                                else:
                                    date = day + minute + int(groups[at + 2]) - zone
                            else:
                                date = None
                            at = layout.size
                            size = int(groups[at]) if at else 0
                            block = item[1]
                            row = Row(uid, flags, date, min(size, MAX_SIZE),
                                      block if len(block) <= MAX_HEADER_BLOCK else block[:MAX_HEADER_BLOCK])
                        except Exception:  # noqa: BLE001 - whatever it is, it costs this row only
                            row = placeholder_row(uid, UNREADABLE)
                        rows[uid] = row
                        sequence.append((start, groups[0], uid))
                    else:
                        foreign.append(item)
                        foreign.append(following)
                    index += 2
                    continue
            index += 1
            while index < count and fetched[index].__class__ is tuple:
                index += 1
            index += 1  # the bytes item that ends the answer
            parts = fetched[start:index]
        elif item.__class__ is bytes:
            found = match_inline(item)
            index += 1
            if found is not None:
                got = _inline_row(found, wanted)
                if got is None:
                    foreign.append(item)
                else:
                    rows[got[1].uid] = got[1]
                    sequence.append((start, got[0], got[1].uid))
                continue
            parts = [item]
        else:  # not something imaplib makes: leave it to the journal
            foreign.append(item)
            index += 1
            continue
        got = _slow_row(parts, wanted)
        if got is None:
            foreign.extend(parts)
        elif got[1] is None:
            unidentified += 1
            foreign.extend(parts)
        else:
            rows[got[1].uid] = got[1]
            sequence.append((start, got[0], got[1].uid))
    return rows, sequence, foreign, unidentified


_NO_FLAGS = shared_flags(frozenset())


def _any_order_row(found: re.Match, block: bytes, wanted: set[int]) -> tuple[int, Row | None]:
    """A literal answer the any-order regex read but no layout fits: (seq, Row), or (seq, None)
    when it is not one of ours."""
    uid = _pick(found, "uid")
    if uid is None or int(uid) not in wanted:
        return int(found.group("seq")), None
    uid = int(uid)
    try:
        flags = _pick(found, "flags")
        row = Row(uid, _flags(flags) if flags else _NO_FLAGS, parse_internaldate(_pick(found, "date")),
                  _size(_pick(found, "size")), _header(block))
    except Exception:  # noqa: BLE001 - whatever it is, it costs this row only
        row = placeholder_row(uid, UNREADABLE)
    return int(found.group("seq")), row


def _pick(found: re.Match, name: str):
    later = found.group(name + "1")
    return later if later is not None else found.group(name + "0")


def _inline_row(found: re.Match, wanted: set[int]) -> tuple[int, Row] | None:
    """A FETCH answer without literal: a row when it has UID and the header section (NIL or
    quoted), else None (an unsolicited flag change, say)."""
    uid = _pick(found, "uid")
    nil, quoted = _pick(found, "nil"), _pick(found, "quoted")
    if uid is None or (nil is None and quoted is None) or int(uid) not in wanted:
        return None
    uid = int(uid)
    try:
        flags = _pick(found, "flags")
        header = b"" if quoted is None else _header(_UNQUOTE.sub(rb"\1", quoted))
        row = Row(uid, _flags(flags) if flags else _NO_FLAGS, parse_internaldate(_pick(found, "date")),
                  _size(_pick(found, "size")), header)
    except Exception:  # noqa: BLE001 - whatever it is, it costs this row only
        row = placeholder_row(uid, UNREADABLE)
    return int(found.group("seq")), row


def _slow_row(parts: list, wanted: set[int]) -> tuple[int, Row | None] | None:
    """An answer the regexes cannot read: items after the literal, two literals, odd syntax.

    First the lean regexes once more (items after the literal), then imapclient's parser
    on this one answer. (seq, Row) for one of our rows; (0, None) for an answer that names
    no asked UID and cannot be read; None for an answer that is not ours.
    """
    if len(parts) == 2 and parts[0].__class__ is tuple and len(parts[0]) == 2 and parts[1].__class__ is bytes:
        head, after = _ROW_LITERAL.match(parts[0][0]), _AFTER_LITERAL.match(parts[1])
        if head is not None and after is not None:
            uid = after.group("uid1") or _pick(head, "uid")
            if uid is None or int(uid) not in wanted:
                return None
            uid = int(uid)

            def last(name: str):
                value = after.group(name + "1")
                return value if value is not None else _pick(head, name)

            try:
                flags = last("flags")
                row = Row(uid, _flags(flags) if flags else _NO_FLAGS, parse_internaldate(last("date")),
                          _size(last("size")), _header(parts[0][1]))
            except Exception:  # noqa: BLE001 - whatever it is, it costs this row only
                row = placeholder_row(uid, UNREADABLE)
            return int(head.group("seq")), row
    try:
        parsed = parse_fetch_response(list(parts), normalise_times=False, uid_is_key=False)
        (seq, data), = parsed.items()
    except Exception:  # noqa: BLE001 - imapclient's parser raises more than ProtocolError
        return _unreadable(parts, wanted)
    uid = data.get(b"UID")
    header_key = next((key for key in data if isinstance(key, bytes) and key.upper().startswith(b"BODY[HEADER.FIELDS")), None)
    if not isinstance(uid, int) or header_key is None or uid not in wanted:
        return None
    try:
        header = data[header_key]
        if isinstance(header, str):
            header = header.encode("utf-8", "surrogateescape")
        if header is not None and not isinstance(header, bytes):
            raise ValueError("header section is not a string")
        flags = data.get(b"FLAGS") or ()
        internal = data.get(b"INTERNALDATE")
        size = data.get(b"RFC822.SIZE")
        row = Row(
            uid,
            shared_flags(frozenset(f.decode("ascii", "replace") if isinstance(f, bytes) else str(f) for f in flags)),
            internal.timestamp() if internal is not None and internal.tzinfo is not None else None,
            min(max(int(size), 0), MAX_SIZE) if size is not None else 0,
            _header(header or b""),
        )
    except Exception:  # noqa: BLE001 - whatever it is, it costs this row only
        row = placeholder_row(uid, UNREADABLE)
    return int(seq), row


def _unreadable(parts: list, wanted: set[int]) -> tuple[int, Row | None] | None:
    text = b" ".join(part[0] if part.__class__ is tuple else part for part in parts if isinstance(part, (bytes, tuple)))
    for found in _UID_ANYWHERE.finditer(text):
        uid = int(found.group(1))
        if uid in wanted:
            seq = text.split(b" ", 1)[0]
            return (int(seq) if seq.isdigit() and len(seq) <= 10 else 0), placeholder_row(uid, UNREADABLE)
    if any(part.__class__ is tuple for part in parts):
        return 0, None  # a literal: maybe a row of ours whose UID we cannot see
    return None  # a line without one: more likely somebody's flag change; the journal will judge


def _gone(outcome: Outcome, sequence: list[tuple[int, int | bytes, int]], rows: dict[int, Row]) -> set[int]:
    """UIDs answered but expunged during the command (EXPUNGE after the answer, or VANISHED).

    Dovecot answers a message another client expunged with made-up data (\\Deleted,
    INTERNALDATE 1970, size 0, NIL header) and sends its EXPUNGE after the FETCH answers.
    An answer's sequence number is in the numbering of its time: EXPUNGEs before it have
    already renumbered it. Each answer and each EXPUNGE is mapped back to the numbering at
    the start of the command, in the order they arrived.
    """
    gone: set[int] = set()
    if outcome.vanished:
        spans = []
        for raw in outcome.vanished:
            text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else ""
            for part in text.replace("(EARLIER)", "").strip().split(","):
                low, _, high = part.strip().partition(":")
                if low.isdigit() and (not high or high.isdigit()):
                    a, b = int(low), int(high or low)
                    spans.append((min(a, b), max(a, b)))
        spans.sort()
        starts = [span[0] for span in spans]
        for uid in rows:
            at = bisect_right(starts, uid) - 1
            if at >= 0 and spans[at][0] <= uid <= spans[at][1]:
                gone.add(uid)
    if not outcome.expunges:
        return gone
    removed: list[int] = []  # original sequence numbers, sorted

    def original(current: int) -> int:
        # the smallest original o not removed with o - |removed below o| == current
        guess = current
        while True:
            below = bisect_left(removed, guess)
            if current + below != guess:
                guess = current + below
            elif below < len(removed) and removed[below] == guess:
                guess += 1  # that one is gone already: the next one down the list
            else:
                return guess

    # (FETCH items before it, 0, number) for an EXPUNGE, (its first item, 1, seq, uid) for an
    # answer: an EXPUNGE noted when n items had come precedes the answer starting at item n.
    events = sorted(
        [(at, 0, number) for at, number in outcome.expunges] + [(at, 1, seq, uid) for at, seq, uid in sequence],
        key=lambda event: (event[0], event[1]),
    )
    answered: dict[int, int] = {}
    for event in events:
        if event[1] == 1:  # an answer: the EXPUNGEs before it already renumbered it
            answered[original(int(event[2]))] = event[3]
        elif isinstance(event[2], bytes) and event[2].strip().isdigit():
            insort(removed, original(int(event[2])))
    gone.update(uid for seq, uid in answered.items() if removed and _contains(removed, seq))
    return gone


def _contains(ordered: list[int], value: int) -> bool:
    at = bisect_left(ordered, value)
    return at < len(ordered) and ordered[at] == value


# -- every UID ----------------------------------------------------------------------------


def all_uids(client: IMAPClient) -> list[int]:
    """Every UID of the selected mailbox, ascending: ESEARCH `UID SEARCH RETURN (ALL) ALL`
    (ranges, a few bytes) when the server has it, else `UID SEARCH ALL`."""
    imap = client._imap
    if b"ESEARCH" in client.capabilities():
        outcome = run_uid(client, b"SEARCH", b"RETURN", b"(ALL)", b"ALL", answers="ESEARCH")
        answers = imap.untagged_responses.pop("ESEARCH", [])
        check(outcome, "UID SEARCH")
        ours, untagged = None, None  # the answer naming our tag; else one naming no tag
        for answer in answers:
            found = _ESEARCH.match(answer) if isinstance(answer, bytes) else None
            if found is not None and found.group(1) == outcome.tag:
                ours = found.group(2)
            elif found is not None and found.group(1) is None:
                untagged = found.group(2)
        got = _ESEARCH_ALL.search(ours if ours is not None else untagged or b"")
        return expand_uid_set(got.group(1) if got else b"")  # no ALL: an empty mailbox
    outcome = run_uid(client, b"SEARCH", b"ALL", answers="SEARCH")
    answers = imap.untagged_responses.pop("SEARCH", [])
    check(outcome, "UID SEARCH")
    found: list[int] = []
    for answer in answers:
        if isinstance(answer, bytes):
            found.extend(parse_search(answer, MAX_UIDS - len(found)))
    if not all(map(operator.lt, found, islice(found, 1, None))):  # ascending from every server we know
        found = sorted(set(found))
    return found


def parse_search(answer: bytes, limit: int = MAX_UIDS) -> list[int]:
    """`1 2 3 (MODSEQ 9)` -> [1, 2, 3]; more than `limit` numbers is refused."""
    digits = answer.split(b"(", 1)[0].strip()
    if not digits:
        return []
    if digits.count(b" ") >= limit:
        raise IMAPClientError(f"the server answered a search with more than {MAX_UIDS} UIDs; refusing it")
    if not digits.translate(None, b"0123456789 "):
        # digits and spaces: a JSON array once the spaces are commas (unless there are two
        # in a row or a leading zero), and json reads 100,000 numbers in half the time of int()
        try:
            return json.loads(b"[" + digits.replace(b" ", b",") + b"]")
        except ValueError:
            pass
    try:
        return list(map(int, digits.split()))
    except ValueError:
        raise IMAPClientError("the server answered a search with something that is not a UID") from None


def expand_uid_set(ranges: bytes, limit: int = MAX_UIDS) -> list[int]:
    """`1:5,7,9:12` -> [1, 2, 3, 4, 5, 7, 9, 10, 11, 12], ascending, no duplicates.

    Refuses (IMAPClientError) a set that would expand beyond `limit` UIDs, before expanding.
    """
    if not ranges:
        return []
    try:
        spans = parse_uid_set(ranges.decode("ascii"))
        if sum(high - low + 1 for low, high in spans) > limit:
            raise IMAPClientError(f"the server named more than {limit} UIDs; refusing the answer")
    except (ValueError, UnicodeDecodeError):
        raise IMAPClientError(f"unreadable UID set from the server: {one_line(ranges[:40].decode('utf-8', 'replace'))}") from None
    uids = [uid for low, high in spans for uid in range(low, high + 1)]
    ascending = all(spans[i][0] > spans[i - 1][1] for i in range(1, len(spans)))
    return uids if ascending else sorted(set(uids))


# -- every message's flags ----------------------------------------------------------------

# Dovecot's answer to `UID FETCH 1:* (UID FLAGS)`, with CONDSTORE on or not; else the next one.
_FLAGS_DOVECOT = re.compile(rb'\d{1,10} \(UID (\d{1,10}) FLAGS \(([^()"{}\r\n]*)\)(?: MODSEQ \(\d{1,20}\))?\)\Z')
_FLAGS_ONLY = re.compile(
    rb"(?P<seq>\d{1,10}) \((?:" + _simple_items(0, None) + rb"(?: " + _simple_items(1, None) + rb")*)?\)\Z"
)


def all_flags(client: IMAPClient, changed_since: int | None = None) -> dict[int, frozenset[str]]:
    """UID -> flags for every message of the selected mailbox (`UID FETCH 1:* (UID FLAGS)`),
    or with `changed_since` (CONDSTORE) only those whose MODSEQ is above it.

    The CHANGEDSINCE form enables CONDSTORE on the connection by itself (RFC 7162). The
    answer is the session's view as of the command's start (Dovecot brings it up to date at
    the end of each command): a change another client made since this session's last
    command comes after the answers as an unsolicited FETCH without UID, which goes to the
    change journal. Right after SELECT the view is fresh; else NOOP first.
    """
    args = [b"FETCH", b"1:*", b"(UID FLAGS)"]
    if changed_since is not None:
        if not isinstance(changed_since, int) or changed_since < 0:
            raise ValueError(f"changed_since must be a MODSEQ (an int >= 0), not {changed_since!r}")
        args.append(b"(CHANGEDSINCE %d)" % changed_since)
    outcome = run_uid(client, *args)
    flags, foreign = parse_flags(outcome.fetched)
    put_back(client, foreign)
    check(outcome, "UID FETCH")
    return flags


def parse_flags(fetched: list) -> tuple[dict[int, frozenset[str]], list]:
    """imaplib's FETCH items -> ({UID: flags}, the items without both UID and FLAGS)."""
    result: dict[int, frozenset[str]] = {}
    foreign: list = []
    match, fixed = _FLAGS_ONLY.match, _FLAGS_DOVECOT.match
    flag_sets = _flag_cache
    count = len(fetched)
    index = 0
    while index < count:
        item = fetched[index]
        if item.__class__ is bytes:
            index += 1
            found = fixed(item)
            if found is not None:
                uid, raw = found.groups()
                flags = flag_sets.get(raw)
                result[int(uid)] = flags if flags is not None else _flags(raw)
                continue
            found = match(item)
            if found is not None:
                uid = found.group("uid1") or found.group("uid0")
                flags = found.group("flags1")
                if flags is None:
                    flags = found.group("flags0")
                if uid is not None and flags is not None:
                    result[int(uid)] = _flags(flags) if flags else _NO_FLAGS
                else:
                    foreign.append(item)
                continue
            parts = [item]
        else:  # an answer with a literal (not asked for, but possible): imapclient's parser
            start = index
            index += 1
            while index < count and fetched[index].__class__ is tuple:
                index += 1
            index += 1
            parts = fetched[start:index]
        try:
            (_seq, data), = parse_fetch_response(list(parts), normalise_times=False, uid_is_key=False).items()
            uid, flags = data[b"UID"], data[b"FLAGS"]
            result[int(uid)] = shared_flags(frozenset(
                f.decode("ascii", "replace") if isinstance(f, bytes) else str(f) for f in flags))
        except Exception:  # noqa: BLE001 - not a flags answer we can read: the journal's
            foreign.extend(parts)
    return result, foreign
