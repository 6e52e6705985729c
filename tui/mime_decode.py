"""Bytes and raw header values -> text for display.  Nothing here raises.

Body bytes are decoded with their declared charset, mapped the way browsers map the
labels mail software gets wrong; missing or unusable labels fall back to UTF-8, then
Windows-1252.  Header values (and filenames) are RFC 2047-decoded as unstructured text.

Strings returned here are decoded but *not* display-safe: the UI passes them through
`tui.safe_text` at render time, like every other untrusted string.

Pure module: no Textual or Rich imports.
"""

from __future__ import annotations

import codecs
import re
from email import policy
from email.message import Message

__all__ = ["decode_filename", "decode_header_value", "decode_text", "guess_decode", "header_text"]

# Header values longer than this are cut before RFC 2047 decoding: the header value
# parser is pure Python and a megabyte-long Subject is an attack, not a subject.
_MAX_HEADER_CHARS = 16_384

# Labels that mail software gets wrong in practice, mapped the way browsers map them
# (WHATWG Encoding Standard): "iso-8859-1" mail is nearly always windows-1252, and its
# 0x80-0x9f bytes (curly quotes, dashes) would otherwise become C1 control characters.
_CHARSET_ALIASES = {
    **dict.fromkeys(("iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1"), "cp1252"),
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "gb_2312-80"), "gb18030"),
    **dict.fromkeys(("iso-8859-11", "tis-620", "windows-874"), "cp874"),
    **dict.fromkeys(("ks_c_5601-1987", "euc-kr"), "cp949"),
    **dict.fromkeys(("shift_jis", "x-sjis"), "cp932"),
    "iso-8859-9": "cp1254", "big5": "big5hkscs", "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6", "unicode-1-1-utf-7": "utf-7",
}  # fmt: skip
# Labels that say nothing useful about the bytes: guess UTF-8, then windows-1252.
_NO_CHARSET = frozenset({"", "us-ascii", "ascii", "unknown-8bit", "x-unknown-8bit", "8bit"})


def guess_decode(data: bytes) -> str:
    """Bytes in an unknown charset: UTF-8 if they are valid UTF-8, else Windows-1252."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def decode_text(data: bytes, charset: str | None) -> tuple[str, str]:
    """Decode text bytes with a declared charset: (text, note).  Never raises."""
    label = (charset or "").strip().lower()
    if label in _NO_CHARSET:
        return guess_decode(data), ""
    name = _CHARSET_ALIASES.get(label, label)
    try:
        info = codecs.lookup(name)
        # "base64", "zlib", "rot13"... are codecs but not text encodings.
        if not getattr(info, "_is_text_encoding", True):
            raise LookupError(name)
        return data.decode(info.name, "replace"), ""
    except Exception:  # LookupError, and codecs like idna that ignore errors="replace"
        note = f"unknown charset {label!r}; shown as UTF-8 or Windows-1252"
        return guess_decode(data), note


def decode_header_value(raw: str) -> str:
    """RFC 2047-decode one raw header value for display, as unstructured text.

    Unstructured on purpose, also for address headers: the address parser drops what it
    cannot parse ("bad@@x" becomes "<>"); for display we want what the sender wrote.
    """
    raw = re.sub(r"[\r\n]", "", raw[:_MAX_HEADER_CHARS])
    try:
        return str(policy.default.header_factory("x-display", raw)).strip()
    except Exception:
        # Surrogate escapes stand for the raw 8-bit bytes: get those back.
        data = raw.encode("utf-8", "surrogateescape")
        return data.decode("utf-8", "replace").strip()


def header_text(msg: Message, name: str, *, join: bool = False) -> str:
    """Header `name` (lower-case) of `msg`, decoded for display; "" if absent.

    The first occurrence, or with `join` all of them joined by ", " (To, Cc...).
    """
    try:
        raws = [v for k, v in msg.raw_items() if isinstance(k, str) and k.lower() == name]
    except Exception:
        return ""
    values = [decode_header_value(v) for v in raws if isinstance(v, str)]
    if join:
        return ", ".join(v for v in values if v)
    return values[0] if values else ""


def decode_filename(name: str | None) -> str | None:
    """A filename parameter for display, or None if it is empty."""
    if not name:
        return None
    if "=?" in name:  # Outlook puts RFC 2047 words inside quotes, against the RFCs
        name = decode_header_value(name)
    return name.strip() or None
