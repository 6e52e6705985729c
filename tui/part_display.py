"""What the viewer shows for one part of a big message, fetched part by part.

Only text parts are fetched to be shown, and by ranges; any other part is described
(type, name, size) with the keys that act on it. No Textual here.
"""

from __future__ import annotations

from .html_text import html_to_text
from .mime_decode import decode_text
from .models import MimePart
from .timefmt import human_size
from .transfer_decode import StreamDecoder, decode_prefix


def is_shown_as_text(part: MimePart) -> bool:
    return not part.children and part.content_type.startswith("text/") and not part.note


def part_description(part: MimePart) -> str:
    """A part that is not fetched to be shown: what it is, and what can be done with it."""
    lines = [part.content_type]
    if part.filename:
        lines.append(f"name: {part.filename}")
    if part.size:
        lines.append(f"size: about {human_size(part.size)}")
    if part.note:
        lines.append(f"note: {part.note}")
    if part.content_type in ("message/rfc822", "message/global"):
        lines += ["", "An attached message: its parts are listed under it. S saves it as a file."]
    elif part.children:
        lines += ["", "A container: pick one of the parts under it."]
    else:
        lines += ["", "S saves this part to a file."]
    return "\n".join(lines)


def range_text(part: MimePart, data: bytes, complete: bool) -> tuple[str, str]:
    """The text of the first `len(data)` encoded bytes of a text part, and a decoding
    note. A cut mid-character or mid-escape loses only that tail, never adds garbage."""
    if complete:
        decoder = StreamDecoder(part.encoding)
        content = decoder.feed(data) + decoder.finish()
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
