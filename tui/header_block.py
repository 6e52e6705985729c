"""Every header field of a message, for `h` in the viewer (mutt's full headers).

Pure: no Textual. The text is not display-safe: the viewer strips control sequences as
for every message text.
"""

from __future__ import annotations

import re

from .imap.parts import MAX_HEADER_BYTES
from .mime_decode import decode_header_value

MAX_FIELDS = 2000  # a message with more is hostile; the rest is counted, not shown
_END = re.compile(rb"\r?\n\r?\n")
_FIELD_START = re.compile(rb"^[^ \t\r\n][^:\r\n]*:", re.M)
_FOLD = re.compile(rb"\r?\n[ \t]+")


def header_block(raw: bytes) -> str:
    """The header fields of `raw` (a message, or only its header) in order, one per line:
    folded lines unfolded and encoded words decoded, as mutt shows them with `h`."""
    end = _END.search(raw, 0, MAX_HEADER_BYTES)
    block = raw[: end.start() if end else MAX_HEADER_BYTES]
    starts = [found.start() for found in _FIELD_START.finditer(block)]
    lines = []
    for index, start in enumerate(starts[:MAX_FIELDS]):
        stop = starts[index + 1] if index + 1 < len(starts) else len(block)
        name, _, value = block[start:stop].partition(b":")
        text = decode_header_value(_FOLD.sub(b" ", value).decode("utf-8", "surrogateescape"))
        lines.append(f"{name.decode('utf-8', 'replace').strip()}: {text}")
    if len(starts) > MAX_FIELDS:
        lines.append(f"[{len(starts) - MAX_FIELDS} more header fields not shown]")
    if end is None and len(raw) > MAX_HEADER_BYTES:
        lines.append(f"[header cut at {MAX_HEADER_BYTES // 1024}K]")
    return "\n".join(lines)
