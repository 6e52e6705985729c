"""List rows as the server sent them, decoded only when drawn, sorted or threaded.

The bulk list path keeps each message's HEADER.FIELDS block as bytes (a `Row`); an
`Envelope` is made from it only for rows actually drawn. Decoding 100,000 envelopes
up front costs seconds, fetching and keeping the bytes a fraction of that
(ARCHITECTURE.md, "how to be fast").

Pure module: no Textual, no imaplib. Nothing here raises on hostile header bytes.
"""

from __future__ import annotations

import calendar
import email.utils
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import NamedTuple
from datetime import datetime, timezone

from .mime_decode import decode_header_value
from .models import Address, Envelope

# The fields a list row, a sort and a thread need; one FETCH asks for exactly these.
HEADER_FIELDS = ("DATE", "FROM", "TO", "CC", "SUBJECT", "MESSAGE-ID", "IN-REPLY-TO", "REFERENCES", "CONTENT-TYPE")
MAX_HEADER_BLOCK = 64 * 1024  # a longer block is cut: a list row never needs more
MAX_REFERENCES = 64  # ids kept from References (the newest); a thread needs few
_MAX_VALUE = 4096  # per field, before decoding

_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.M)
_FOLD = re.compile(rb"\r?\n[ \t]")
_NAMES = {name.encode("ascii"): name.lower() for name in HEADER_FIELDS}
_NAMES.update({name.title().encode("ascii"): name.lower() for name in HEADER_FIELDS})
_NAMES.update({b"Message-ID": "message-id", b"Message-Id": "message-id", b"CC": "cc"})
_MESSAGE_ID = re.compile(rb"<([^<>\s]{1,250})>")
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|sv|wg|vs|antw|réf|tr|rv)(?:\[\d+\])?\s*:\s*|\[[^\]]{1,40}\]\s*)+", re.I
)
_flag_sets: dict[frozenset[str], frozenset[str]] = {}


def shared_flags(flags: frozenset[str]) -> frozenset[str]:
    """One frozenset object per distinct flag set: 100,000 rows share a handful."""
    if len(_flag_sets) > 10_000:  # keywords gone wild: stop sharing rather than grow
        return flags
    return _flag_sets.setdefault(flags, flags)


class Row(NamedTuple):
    """One message of the list, as fetched (or cached): cheap to keep and to make 100,000 of
    (a named tuple: a third of a frozen dataclass's construction time)."""

    uid: int
    flags: frozenset[str]
    internaldate: float | None  # seconds since the epoch, UTC; None if the server sent none
    size: int
    headers: bytes  # the raw HEADER.FIELDS block (HEADER_FIELDS), at most MAX_HEADER_BLOCK
    placeholder: bool = False  # stands for a message that could not be read: never cached

    def with_flags(self, flags: frozenset[str]) -> "Row":
        return Row(self.uid, shared_flags(flags), self.internaldate, self.size, self.headers, self.placeholder)


def placeholder_row(uid: int, why: str) -> Row:
    """A row for a message whose answer could not be read: it still has a line in the list."""
    return Row(uid, frozenset(), None, 0, b"Subject: " + why.encode("utf-8") + b"\r\n", True)


def header_fields(block: bytes) -> dict[str, bytes]:
    """Field name (lower case) -> raw value, unfolded; the first occurrence of each."""
    fields: dict[str, bytes] = {}
    for name, value in _FIELD.findall(block[:MAX_HEADER_BLOCK]):
        key = _NAMES.get(name) or name.decode("ascii").lower()
        if key not in fields:
            value = value[:_MAX_VALUE]
            if b"\n" in value:
                value = _FOLD.sub(b" ", value)
            fields[key] = value.strip()
    return fields


_ONE_FIELD = {
    name.lower(): re.compile(rb"^" + re.escape(name.encode("ascii")) + rb"[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.M | re.I)
    for name in HEADER_FIELDS
}


def header_field(block: bytes, name: str) -> bytes | None:
    """One field's raw value (`name` in lower case, one of HEADER_FIELDS): cheaper than all of them."""
    found = _ONE_FIELD[name].search(block, 0, MAX_HEADER_BLOCK)
    if found is None:
        return None
    value = found.group(1)[:_MAX_VALUE]
    if b"\n" in value:
        value = _FOLD.sub(b" ", value)
    return value.strip()


def _text(raw: bytes | None) -> str:
    if not raw:
        return ""
    if b"=?" not in raw:  # the common case, and 50x cheaper than the header parser
        return " ".join(raw.decode("utf-8", "replace").split())
    # Raw 8-bit headers are UTF-8 more often than not; surrogateescape keeps the rest.
    return decode_header_value(raw.decode("utf-8", "surrogateescape"))


# One mailbox written `name <address>` (comments after it allowed), the name unquoted or
# quoted without the characters that would make it more than a name.
_NAME_THEN_ADDRESS = re.compile(r'\s*"?([^<>,:;"]*?)"?\s*<([^<>,:;"\s]*)>\s*(?:\([^()]*\)\s*)*\Z')
# A group, `name: member, member;`: its name is a label, never an address.
_GROUP = re.compile(r'\s*([^:<>",;]*):(.*);\s*(?:\([^()]*\)\s*)*\Z', re.S)


def _addresses(raw: bytes | None) -> tuple[Address, ...]:
    if not raw:
        return ()
    text = raw.decode("utf-8", "replace")
    # Read the common single-mailbox form directly: Python's parser splits an unquoted
    # `support@bank.com <evil@x>` in two (the phisher's first) on some versions and gives
    # nothing at all on others, where other mail clients read one address, evil@x.
    single = _NAME_THEN_ADDRESS.match(text)
    if single:
        return (Address(_text(single.group(1).strip().encode("utf-8", "surrogateescape")), single.group(2)),)
    group = _GROUP.match(text)
    if group and "@" in group.group(1):  # `support@bank.com: evil@x;`: only the members are addresses
        text = group.group(2)
    try:
        pairs = email.utils.getaddresses([text])
    except Exception:
        return (Address(_text(raw), ""),)
    found = tuple(Address(_text(name.encode("utf-8", "surrogateescape")), mailbox) for name, mailbox in pairs[:50] if name or mailbox)
    return found or (Address(_text(raw), ""),)


def parse_date(raw: bytes | None) -> datetime | None:
    if not raw:
        return None
    try:
        value = email.utils.parsedate_to_datetime(raw.decode("ascii", "replace"))
    except Exception:
        return None
    if value.tzinfo is None:  # "-0000": the sender did not know its zone
        value = value.replace(tzinfo=timezone.utc)
    return value


def row_date(row: Row) -> datetime | None:
    """The Date: header, else INTERNALDATE (what mutt and aerc show)."""
    date = parse_date(header_field(row.headers, "date"))
    return date if date is not None else _internal(row)


def _internal(row: Row) -> datetime | None:
    if row.internaldate is None:
        return None
    try:  # a hostile INTERNALDATE may lie outside what datetime can hold
        return datetime.fromtimestamp(row.internaldate, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def envelope_of(row: Row) -> Envelope:
    """The decoded view of a row, for drawing it. Never raises."""
    try:
        fields = header_fields(row.headers)
        date = parse_date(fields.get("date"))
        if date is None:
            date = _internal(row)
        senders = _addresses(fields.get("from"))
        content_type = fields.get("content-type", b"").lower()
        return Envelope(
            uid=row.uid,
            flags=row.flags,
            date=date,
            sender=senders[0] if senders else None,
            to=_addresses(fields.get("to")),
            subject=_text(fields.get("subject")),
            size=row.size,
            message_id=f"<{own}>" if (own := message_id_of(fields)) else "",
            has_attachment=b"multipart/mixed" in content_type or b"multipart/report" in content_type,
        )
    except Exception:  # a parser bug must cost one row's details, never the list
        return Envelope(uid=row.uid, flags=row.flags, date=None, sender=None, to=(), subject="(unreadable message)",
                        size=row.size)


def message_id_of(fields: dict[str, bytes]) -> str:
    found = _MESSAGE_ID.search(fields.get("message-id", b""))
    return found.group(1).decode("utf-8", "replace") if found else ""


def thread_fields(row: Row) -> tuple[str, tuple[str, ...], str]:
    """(Message-ID, parents oldest first, subject), from one parse of the header block:
    what threading 100,000 rows reads of each.

    Parents as JWZ's algorithm wants them: References, then In-Reply-To's first id if it
    is not already the last reference. At most MAX_REFERENCES, the nearest ones.
    """
    fields = header_fields(row.headers)
    parents = [m.decode("utf-8", "replace") for m in _MESSAGE_ID.findall(fields.get("references", b""))]
    reply_to = _MESSAGE_ID.search(fields.get("in-reply-to", b""))
    if reply_to:
        parent = reply_to.group(1).decode("utf-8", "replace")
        if not parents or parents[-1] != parent:
            parents.append(parent)
    return message_id_of(fields), tuple(parents[-MAX_REFERENCES:]), _text(fields.get("subject"))


def thread_links(row: Row) -> tuple[str, tuple[str, ...]]:
    """(Message-ID, parents oldest first): see thread_fields."""
    message_id, parents, _subject = thread_fields(row)
    return message_id, parents


def base_subject(subject: str) -> str:
    """The subject a thread shares: without Re:/Fwd: prefixes and list tags, on one line."""
    text = " ".join(subject.replace("\x00", "").split())
    return _SUBJECT_PREFIX.sub("", text).strip()


_SIMPLE_FROM = re.compile(rb'^\s*(?:"([^"\\<>]*)"|([^"<>,;:@()\\]*?))\s*<([^<>\s]*)>\s*$|^\s*([^\s<>",;:()]+@[^\s<>",;:()]+)\s*$')


def sender_key(row: Row) -> str:
    """What a sort by sender compares: the display name, else the address, case-folded."""
    raw = header_field(row.headers, "from")
    simple = _SIMPLE_FROM.match(raw) if raw and b"=?" not in raw else None
    if simple:  # `Name <a@b>`, `"Name" <a@b>`, `a@b`: a regex, not the address parser
        name = (simple.group(1) or simple.group(2) or b"").strip()
        shown = name or simple.group(3) or simple.group(4) or b""
        return shown.decode("utf-8", "replace").casefold()
    senders = _addresses(raw)
    return senders[0].display().casefold() if senders else ""


def subject_key(row: Row) -> str:
    return base_subject(_text(header_field(row.headers, "subject"))).casefold()


_MONTHS = {m: i for i, m in enumerate((b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep",
                                         b"oct", b"nov", b"dec"), 1)}
_SIMPLE_DATE = re.compile(
    rb"^\s*(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+([+-])(\d{2})(\d{2})"
)


def date_key(row: Row) -> float:
    """Seconds since the epoch of the Date: header (else INTERNALDATE, else 0), for sorting.

    The usual `Tue, 1 Jul 2024 10:00:00 +0200` is read with one regex: sorting 100,000
    rows through the email package's date parser takes seconds.
    """
    raw = header_field(row.headers, "date")
    simple = _SIMPLE_DATE.match(raw) if raw else None
    month = _MONTHS.get(simple.group(2).lower()) if simple else None
    if simple and month:
        day, year, hour, minute = int(simple.group(1)), int(simple.group(3)), int(simple.group(4)), int(simple.group(5))
        second = int(simple.group(6) or 0)
        offset = (int(simple.group(8)) * 60 + int(simple.group(9))) * 60 * (-1 if simple.group(7) == b"-" else 1)
        if 1 <= day <= 31 and hour < 24 and minute < 60 and second <= 60:
            return calendar.timegm((year, month, day, hour, minute, second)) - offset
    date = row_date(row)
    try:
        return date.timestamp() if date is not None else 0.0
    except (OverflowError, OSError, ValueError):
        return 0.0


class EnvelopeView(Mapping[int, Envelope]):
    """The rows of a list seen as decoded envelopes, decoding each at most once while it
    is unchanged (a row replaced, e.g. by new flags, is decoded again when next asked)."""

    def __init__(self, rows: Mapping[int, Row], keep: int = 4096) -> None:
        self._rows = rows
        self._decoded: OrderedDict[int, tuple[Row, Envelope]] = OrderedDict()
        self._keep = keep

    def __getitem__(self, uid: int) -> Envelope:
        row = self._rows[uid]
        hit = self._decoded.get(uid)
        if hit is not None and hit[0] is row:
            self._decoded.move_to_end(uid)
            return hit[1]
        envelope = envelope_of(row)
        self._decoded[uid] = (row, envelope)
        if len(self._decoded) > self._keep:
            self._decoded.popitem(last=False)
        return envelope

    def __contains__(self, uid: object) -> bool:
        return uid in self._rows

    def __iter__(self) -> Iterator[int]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)
