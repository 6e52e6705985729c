"""Calendar invitations (text/calendar, .ics attachments) in plain words, for the top of
the message view: what, when (in the event's zone and in yours), where, who invites.

Hand-parsed rather than with the icalendar library: that library resolves a custom
VTIMEZONE through dateutil, and a 400-byte invite whose zone repeats FREQ=SECONDLY
from 1601 hangs the first time its time is formatted (measured: over 20 s, no end in
sight); it also returns nothing at all for a calendar cut short.  We need a handful of
properties: RFC 5545 unfolding, parameters and text escapes are a page of code, linear
in the input, and tolerate truncation.  A custom VTIMEZONE is never evaluated: a TZID
that is an IANA name is converted with zoneinfo, any other is shown by name.

Input is hostile: capped at 256 KB, values squeezed onto one line and capped, nesting
and event counts capped, and nothing raises.  The text returned is not display-safe:
the UI passes it through `tui.safe_text` like all message text.

Pure module: no Textual imports.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["MAX_EVENTS", "MAX_INPUT", "summarize"]

MAX_INPUT = 256 * 1024  # characters read; an invite is a few KB
MAX_EVENTS = 5  # events described; the others are counted
_MAX_READ = 50  # events read, for MAX_EVENTS with something to say
MAX_VALUE = 200  # characters of one shown value
_MAX_LINE = 16_384  # characters kept of one unfolded line
_MAX_DEPTH = 10  # components tracked inside each other
_MAX_PARAMS = 20

_METHODS = {
    "REQUEST": "Invitation",
    "CANCEL": "Cancelled",
    "REPLY": "Reply",
    "COUNTER": "Counter-proposal",
    "DECLINECOUNTER": "Counter-proposal declined",
    "REFRESH": "Request for the latest version",
    "ADD": "More occurrences",
}
_ANSWERS = {
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "accepted tentatively",
    "DELEGATED": "delegated",
    "NEEDS-ACTION": "has not answered yet",
}
_WANTED = frozenset({"SUMMARY", "DTSTART", "DTEND", "DURATION", "LOCATION", "ORGANIZER", "RRULE", "STATUS"})

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RRULE_DAYS = dict(zip(("MO", "TU", "WE", "TH", "FR", "SA", "SU"), _DAYS))
_FREQS = {"DAILY": ("daily", "days"), "WEEKLY": ("weekly", "weeks"), "MONTHLY": ("monthly", "months"),
          "YEARLY": ("yearly", "years")}  # fmt: skip
_SIMPLE_RULE_KEYS = frozenset({"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYDAY"})

_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")
# ;name=value[,value...]: each value quoted or plain; linear, no nested repetition.
_PARAM = re.compile(r';([A-Za-z0-9-]{1,64})=((?:"[^"]*"|[^";:,]*)(?:,(?:"[^"]*"|[^";:,]*))*)')
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATETIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)", re.IGNORECASE)
_DURATION = re.compile(r"([+-]?)P(?:(\d{1,6})W)?(?:(\d{1,6})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,6})S)?)?")
_IANA = re.compile(r"[A-Za-z][A-Za-z0-9_+-]{0,30}(?:/[A-Za-z0-9_+-]{1,30}){0,3}")
_TEXT_ESCAPE = re.compile(r"\\([\\;,nN])")
_CARET = re.compile(r"\^([n'^])")
_SPACES = re.compile(r"\s+")


# --- reading ----------------------------------------------------------------------


def _unfolded(text: str) -> Iterator[str]:
    """Logical lines: a physical line starting with a space or tab continues the last."""
    parts: list[str] = []
    size = 0
    for line in re.split(r"\r\n|\n|\r", text):
        if line[:1] in (" ", "\t") and parts:
            if size < _MAX_LINE:
                parts.append(line[1:])
                size += len(line)
            continue
        if parts:
            yield "".join(parts)[:_MAX_LINE]
        parts, size = [line], len(line)
    if parts:
        yield "".join(parts)[:_MAX_LINE]


def _content_line(line: str) -> tuple[str, dict[str, str], str] | None:
    """name;param=value...:value -> (NAME, {PARAM: first value}, value), or None."""
    match = _NAME.match(line)
    if match is None:
        return None
    pos, params = match.end(), {}
    while line.startswith(";", pos):
        param = _PARAM.match(line, pos)
        if param is None:
            return None
        if len(params) < _MAX_PARAMS:
            params.setdefault(param.group(1).upper(), _param_value(param.group(2)))
        pos = param.end()
    if not line.startswith(":", pos):
        return None
    return match.group(0).upper(), params, line[pos + 1 :]


def _param_value(raw: str) -> str:
    """The first of a parameter's values, unquoted, RFC 6868 ^-escapes undone."""
    first = raw.split(",", 1)[0] if not raw.startswith('"') else raw[1:].split('"', 1)[0]
    return _CARET.sub(lambda m: {"n": "\n", "'": '"', "^": "^"}[m.group(1)], first)


class _Event:
    def __init__(self) -> None:
        self.props: dict[str, tuple[dict[str, str], str]] = {}
        self.answer: tuple[dict[str, str], str] | None = None  # first ATTENDEE with a PARTSTAT


def _read(text: str) -> tuple[str, list[_Event], int]:
    """(METHOD, the first events, how many events there are)."""
    method = ""
    events: list[_Event] = []
    count = 0
    stack: list[tuple[str, _Event | None]] = []
    too_deep = 0  # BEGINs past _MAX_DEPTH, whose ENDs are not ours to pop
    for line in _unfolded(text):
        parsed = _content_line(line)
        if parsed is None:
            continue
        name, params, value = parsed
        if name == "BEGIN":
            if len(stack) >= _MAX_DEPTH:
                too_deep += 1
                continue
            component = value.strip().upper()
            event = None
            if component == "VEVENT":
                count += 1
                if len(events) < _MAX_READ:
                    event = _Event()
                    events.append(event)
            stack.append((component, event))
        elif name == "END":
            if too_deep:
                too_deep -= 1
            elif stack:
                stack.pop()
        elif too_deep:
            continue
        elif stack and stack[-1][1] is not None:
            event = stack[-1][1]
            if name in _WANTED:
                event.props.setdefault(name, (params, value))
            elif name == "ATTENDEE" and event.answer is None and "PARTSTAT" in params:
                event.answer = (params, value)
        elif name == "METHOD" and not method and (not stack or stack[-1][0] == "VCALENDAR"):
            method = value.strip().upper()[:40]
    return method, events, count


# --- values -----------------------------------------------------------------------


def _squeeze(value: str, cap: int = MAX_VALUE) -> str:
    value = _SPACES.sub(" ", value[: cap * 4]).strip()
    return value if len(value) <= cap else value[: cap - 1].rstrip() + "…"


def _text(value: str) -> str:
    """A TEXT value: escapes undone (\\n as a line break), then on one line."""
    value = _TEXT_ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value[: MAX_VALUE * 4])
    return _squeeze(value)


def _zone(tzid: str) -> ZoneInfo | None:
    """The zone a TZID names, if it is an IANA name this machine knows."""
    name = tzid.strip().lstrip("/")  # RFC 5545: a leading "/" marks a global zone id
    if not _IANA.fullmatch(name) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError, a broken tzdata file...
        return None


class _Moment:
    """A DTSTART/DTEND: a date (all day), or a datetime that is aware (UTC or an IANA
    zone), or naive in a zone known only by name, or floating (no zone at all)."""

    def __init__(self, value: date, zone_name: str = "", utc: bool = False) -> None:
        self.value = value
        self.zone_name = zone_name
        self.utc = utc

    @property
    def all_day(self) -> bool:
        return not isinstance(self.value, datetime)


def _moment(params: dict[str, str], value: str) -> _Moment | None:
    value = value.strip()[:40]
    try:
        match = _DATETIME.match(value)
        if match and params.get("VALUE", "").upper() != "DATE":
            year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
            moment = datetime(year, month, day, hour, minute, min(second, 59))
            if match.group(7):
                return _Moment(moment.replace(tzinfo=UTC), "UTC", utc=True)
            tzid = _squeeze(params.get("TZID", ""), 60)
            zone = _zone(tzid) if tzid else None
            if zone is not None:
                return _Moment(moment.replace(tzinfo=zone), zone.key)
            return _Moment(moment, tzid)
        match = _DATE.match(value)
        if match:
            return _Moment(date(*(int(g) for g in match.groups())))
    except (ValueError, OverflowError):
        pass
    return None


def _duration(value: str) -> timedelta | None:
    match = _DURATION.fullmatch(value.strip()[:40])
    if match is None or match.group(1) == "-" or not any(match.groups()[1:]):
        return None
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups()[1:])
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


def _day(value: date) -> str:
    return f"{_DAYS[value.weekday()]} {value.day} {_MONTHS[value.month - 1]} {value.year}"


def _clock(value: datetime) -> str:
    return f"{value.hour:02}:{value.minute:02}"


def _span(start: datetime, end: datetime | None, *, day: bool = True) -> str:
    first = f"{_day(start)} {_clock(start)}" if day else _clock(start)
    if end is None or end <= start:
        return first
    if end.date() == start.date():
        return f"{first}–{_clock(end)}"
    return f"{first} – {_day(end)} {_clock(end)}"


def _in_zone(start: datetime, end: datetime | None, zone: tzinfo | None) -> tuple[datetime, datetime | None, str]:
    """Start and end on the clock of `zone` (None: this machine's), and its name."""
    start = start.astimezone(zone)
    end = end.astimezone(zone) if end is not None else None
    return start, end, getattr(zone, "key", None) or start.tzname() or "local"


def _end_of(start: _Moment, event: _Event) -> date | None:
    """DTEND in the frame of DTSTART, or DTSTART + DURATION; None if neither fits."""
    if "DTEND" in event.props:
        end = _moment(*event.props["DTEND"])
        if end is None or end.all_day != start.all_day:
            return None
        if start.all_day:
            return end.value
        start_aware = start.value.tzinfo is not None  # type: ignore[attr-defined]
        if start_aware and end.value.tzinfo is not None:  # type: ignore[attr-defined]
            return end.value.astimezone(start.value.tzinfo)  # type: ignore[attr-defined]
        return end.value if not start_aware and end.zone_name == start.zone_name else None
    if "DURATION" in event.props:
        length = _duration(event.props["DURATION"][1])
        if length is not None:
            return start.value + length
    return None


def _when(event: _Event, local_zone: tzinfo | None) -> str:
    if "DTSTART" not in event.props:
        return ""
    start = _moment(*event.props["DTSTART"])
    if start is None:
        return f"{_squeeze(event.props['DTSTART'][1], 60)} (not a date this reader understands)"
    try:
        end = _end_of(start, event)
    except (ValueError, OverflowError):  # DTSTART + DURATION past the year 9999
        end = None
    if start.all_day:
        last = end - timedelta(days=1) if isinstance(end, date) and end > start.value else start.value
        days = _day(start.value) if last <= start.value else f"{_day(start.value)} – {_day(last)}"
        return f"{days}, all day"
    assert isinstance(start.value, datetime)
    end_time = end if isinstance(end, datetime) else None
    if start.utc:  # meant for everyone at once: the user's own clock says it best
        local_start, local_end, zone_name = _in_zone(start.value, end_time, local_zone)
        return f"{_span(local_start, local_end)} ({zone_name})"
    shown = _span(start.value, end_time)
    if start.value.tzinfo is None:  # floating, or a zone we cannot convert from
        return f"{shown} ({start.zone_name})" if start.zone_name else shown
    local_start, local_end, zone_name = _in_zone(start.value, end_time, local_zone)
    local = _span(local_start, local_end, day=local_start.date() != start.value.date())
    if local == _span(start.value, end_time, day=False):  # the same clock: say it once
        return f"{shown} ({start.zone_name})"
    return f"{shown} {start.zone_name} ({local} your time, {zone_name})"


def _repeats(rule: str) -> str:
    """An RRULE in words when it is a simple one, else just that it repeats."""
    parts = dict(p.split("=", 1) for p in rule.strip().upper()[:300].split(";") if "=" in p)
    freq = _FREQS.get(parts.get("FREQ", ""))
    interval = parts.get("INTERVAL", "1")
    days = [d for d in parts.get("BYDAY", "").split(",") if d]
    simple = (
        freq is not None
        and set(parts) <= _SIMPLE_RULE_KEYS
        and interval.isdigit()
        and len(interval) <= 3
        and int(interval) > 0
        and (not days or (parts["FREQ"] == "WEEKLY" and all(d in _RRULE_DAYS for d in days)))
        and parts.get("COUNT", "1").isdigit()
        and len(parts.get("COUNT", "")) <= 4
    )
    if not simple or freq is None:
        return "repeats"
    words = f"repeats {freq[0]}" if int(interval) == 1 else f"repeats every {int(interval)} {freq[1]}"
    if days:
        words += " on " + ", ".join(_RRULE_DAYS[d] for d in days)
    if "COUNT" in parts:
        words += f", {int(parts['COUNT'])} times"
    until = _moment({}, parts.get("UNTIL", ""))
    if until is not None:
        words += f", until {_day(until.value)}"
    return words


def _person(params: dict[str, str], value: str) -> str:
    address = value.strip()
    if address[:7].lower() == "mailto:":
        address = address[7:]
    address = _squeeze(address, 120)
    name = _squeeze(params.get("CN", ""), 80)
    if name and address and name.lower() != address.lower():
        return f"{name} <{address}>"
    return name or address


# --- the summary ------------------------------------------------------------------


def _describe(event: _Event, method: str, local_zone: tzinfo | None) -> list[str]:
    props = event.props
    status = props.get("STATUS", ({}, ""))[1].strip().upper()
    heading = "Cancelled" if status == "CANCELLED" else _METHODS.get(method, "Calendar event")
    lines = []
    what = _text(props["SUMMARY"][1]) if "SUMMARY" in props else ""
    if what:
        lines.append(f"  What: {what}")
    try:
        when = _when(event, local_zone)
    except (ValueError, OverflowError):  # a time at the edge of what datetime holds
        when = _squeeze(props["DTSTART"][1], 60)
    if when:
        if "RRULE" in props:
            when += "; " + _repeats(props["RRULE"][1])
        lines.append(f"  When: {when}")
    where = _text(props["LOCATION"][1]) if "LOCATION" in props else ""
    if where:
        lines.append(f"  Where: {where}")
    organizer = _person(*props["ORGANIZER"]) if "ORGANIZER" in props else ""
    if organizer:
        lines.append(f"  Organizer: {organizer}")
    if method == "REPLY" and event.answer is not None:
        params, value = event.answer
        answer = _ANSWERS.get(params["PARTSTAT"].strip().upper(), "answered")
        lines.append(f"  Answer: {_person(params, value) or 'an attendee'} {answer}")
    return [heading, *lines] if lines else []


def _described(event: _Event, method: str, local_zone: tzinfo | None) -> list[str]:
    try:
        return _describe(event, method, local_zone)
    except Exception:  # one event we cannot read must not hide the others
        return []


def summarize(ics: str, local_zone: tzinfo | None = None) -> str:
    """What a calendar object says, in a few plain lines per event (at most 5 events);
    "" when it has no usable event.  Times with a zone are also shown in `local_zone`
    (default: this machine's zone).  Never raises."""
    try:
        if isinstance(ics, (bytes, bytearray)):
            ics = bytes(ics[:MAX_INPUT]).decode("utf-8", "replace")
        if not isinstance(ics, str):
            return ""
        method, events, count = _read(ics[:MAX_INPUT])
        blocks = ["\n".join(lines) for lines in (_described(e, method, local_zone) for e in events) if lines]
        # Not counted: events read that had nothing to say (empty, or nested in a trap).
        more = count - len(events) + max(0, len(blocks) - MAX_EVENTS)
        blocks = blocks[:MAX_EVENTS]
        if blocks and more:
            blocks.append(f"and {more} more event{'s' if more != 1 else ''}")
        return "\n\n".join(blocks)
    except Exception:  # a bug here must not cost the user the message
        return ""
