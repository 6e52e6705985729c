"""What the viewer shows for one part of a big message, fetched part by part.

Only text parts are fetched to be shown, and by ranges; any other part is described
(type, name, size) with the keys that act on it. No Textual here.
"""

from __future__ import annotations

from . import calendar_summary, dsn
from .html_text import html_to_text
from .mime import leaf_description
from .mime_decode import decode_text
from .models import MimePart
from .timefmt import human_size
from .transfer_decode import decode_prefix, decode_whole


def is_shown_as_text(part: MimePart) -> bool:
    return not part.children and part.content_type.startswith("text/") and not part.note


def part_description(part: MimePart) -> str:
    """A part that is not fetched to be shown: what it is, and what can be done with it.
    A note comes first in parentheses, as tui.mime shows a small message's parts."""
    note = f"({part.note})\n" if part.note else ""
    if part.content_type in ("message/rfc822", "message/global"):
        return f"{note}{part.content_type}\n\nAn attached message: its parts are listed under it. S saves it as a file."
    if part.children:
        return f"{note}{part.content_type}\n\nA container: pick one of the parts under it."
    return note + leaf_description(part)


def range_text(part: MimePart, data: bytes, complete: bool) -> tuple[str, str]:
    """The text of the first `len(data)` encoded bytes of a text part, and a decoding
    note. A cut mid-character or mid-escape loses only that tail, never adds garbage."""
    if complete:
        content = decode_whole(data, part.encoding)
    else:
        content = decode_prefix(data, part.encoding)
    text, note = decode_text(content, part.charset)
    if not complete and text.endswith("\ufffd"):
        text = text.rstrip("\ufffd")  # a multi-byte character cut by the range
    if part.content_type == "text/html":
        text = html_to_text(text)
    return text, note


def more_note(loaded: int, part: MimePart) -> str:
    total = max(part.octets, loaded)
    return f"[{human_size(loaded)} of {human_size(total)} shown. Press L to load more.]"


SUMMARY_TYPES = dsn.DSN_TYPES | {"text/calendar", "application/ics"}


def summary_part(root: MimePart, body: MimePart | None) -> MimePart | None:
    """A big message's delivery report or calendar part, small enough to fetch on its
    own for the summary above the text (the body itself is shown as it is)."""
    stack = [root]
    while stack:
        part = stack.pop()
        if part.content_type in ("message/rfc822", "message/global"):
            continue  # an attached message's report is not this message's
        if (not part.children and part.content_type in SUMMARY_TYPES and part is not body
                and 0 < part.octets <= calendar_summary.MAX_INPUT):
            return part
        stack.extend(reversed(part.children))
    return None


def part_summary(part: MimePart, data: bytes) -> str:
    """The plain-words summary of a report or calendar part, from its fetched bytes."""
    content = decode_whole(data, part.encoding)
    if part.content_type in dsn.DSN_TYPES:
        return dsn.summarize_status(content)
    return calendar_summary.summarize(decode_text(content, part.charset)[0])
