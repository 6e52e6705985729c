"""Message parsing for display: part tree, text extraction, HTML -> text.

Built on the stdlib `email` package with `policy.default`.  The package raises on hostile
input (RecursionError on deep nesting, LookupError on unknown charsets, KeyError,
AttributeError, HeaderParseError, ...), and one bad message must never take down the
message view, so every entry point here catches and degrades: a broken part gets a
`note`, a message the parser cannot handle at all is shown as raw text with a note.

Strings returned here are decoded but *not* display-safe: the UI passes them through
`tui.safe_text` at render time, like every other untrusted string.

Part paths follow IMAP BODY section numbering, so a later FETCH of `BODY.PEEK[2.1]`
names the same part: the root (the whole message) is "", the children of a multipart
are "1", "2", ..., a single-part message's body is "1", and the parts of an attached
message/rfc822 at "2" are "2.1", "2.2", ... (its own multipart gets no number).

Pure module: no Textual or Rich imports.
"""

from __future__ import annotations

import codecs
import email
import functools
import re
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from html import unescape
from html.parser import HTMLParser
from typing import NamedTuple

from tui.models import MimePart

__all__ = ["ParsedMessage", "parse_message", "part_text", "part_tree", "html_to_text"]

NO_TEXT = "(no text part; see the part list)"
BINARY_NOTE = "binary part; saving comes later"

# Our own walk recurses once per nesting level; the caller (a Textual worker or
# handler) already uses part of Python's ~1000-frame budget.  No real mail nests
# anywhere near this deep.
_HARD_MAX_DEPTH = 100
# Header values longer than this are cut before RFC 2047 decoding: the header value
# parser is pure Python and a megabyte-long Subject is an attack, not a subject.
_MAX_HEADER_CHARS = 16_384

# message/* types that encapsulate a whole message whose parts IMAP numbers.  Other
# message/* types (delivery-status, disposition-notification, external-body, partial)
# are leaves whose content is shown as text.
_ENCAPSULATED = frozenset({"message/rfc822", "message/global"})

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


@dataclass(frozen=True)
class ParsedMessage:
    """A message ready for the message view."""

    subject: str
    from_: str
    to: str
    cc: str
    date: str
    root: MimePart
    body: str
    notes: tuple[str, ...] = ()


# --- small guarded accessors ------------------------------------------------------
# Each `email` accessor below has been seen raising on some hostile message; a failure
# degrades to a neutral default for that one attribute of that one part.


class _Meta(NamedTuple):
    ctype: str  # lower-case "type/subtype"
    charset: str | None
    filename: str | None
    disposition: str  # "attachment", "inline" or ""


def _header_params(part: Message, name: str) -> tuple[object, dict[str, str]]:
    """A parsed MIME header and its (RFC 2231-decoded) parameters."""
    try:
        header = part.get(name)
        return header, {k: v for k, v in getattr(header, "params", {}).items() if isinstance(v, str)}
    except Exception:
        return None, {}


def _meta(part: Message) -> _Meta:
    """Content-Type and Content-Disposition of a part, each header parsed once.

    Memoised on the part: policy.default re-parses a header on every access
    (get_content_type, get_content_charset and get_filename each parse Content-Type
    again), and that was most of the time spent on a 3 MB message with 4000 parts.
    """
    meta = part.__dict__.get("_tui_meta")
    if meta is not None:
        return meta
    try:
        ctype = part.get_content_type().lower()  # keeps the RFC defaults (digest parts...)
    except Exception:
        ctype = "application/octet-stream"
    _, ct_params = _header_params(part, "content-type")
    cd, cd_params = _header_params(part, "content-disposition")
    try:
        disposition = str(getattr(cd, "content_disposition", None) or "").lower()
    except Exception:
        disposition = ""
    charset = ct_params.get("charset", "").strip().strip("\"'").strip().lower() or None
    name = cd_params.get("filename") or ct_params.get("name") or _raw_filename(part)
    meta = _Meta(ctype, charset, _filename(name), disposition)
    part.__dict__["_tui_meta"] = meta
    return meta


# An unquoted RFC 2047 word (filename==?koi8-r?B?...?=) is invalid, so the header
# parser drops the parameter; mail clients still send it.
_RAW_NAME = re.compile(r'(?:^|;)\s*(?:file)?name\s*=\s*"?([^";\r\n]+)', re.IGNORECASE)


def _raw_filename(part: Message) -> str | None:
    try:
        raw = {k.lower(): v for k, v in part.raw_items() if isinstance(k, str) and isinstance(v, str)}
    except Exception:
        return None
    for header in ("content-disposition", "content-type"):
        found = _RAW_NAME.search(raw.get(header, ""))
        if found:
            return found.group(1).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return None


def _ctype(part: Message) -> str:
    return _meta(part).ctype


def _charset(part: Message) -> str | None:
    return _meta(part).charset


def _decode_header_value(raw: str) -> str:
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


def _header(msg: Message, name: str, *, join: bool = False) -> str:
    try:
        raws = [v for k, v in msg.raw_items() if isinstance(k, str) and k.lower() == name]
    except Exception:
        return ""
    values = [_decode_header_value(v) for v in raws if isinstance(v, str)]
    if join:
        return ", ".join(v for v in values if v)
    return values[0] if values else ""


def _filename(name: str | None) -> str | None:
    if not name:
        return None
    if "=?" in name:  # Outlook puts RFC 2047 words inside quotes, against the RFCs
        name = _decode_header_value(name)
    return name.strip() or None


def _payload_bytes(part: Message) -> bytes:
    """The transfer-decoded payload of a leaf part (never None, never raises)."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    try:
        payload = part.get_payload()
    except Exception:
        return b""
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


def _sub_messages(part: Message) -> list[Message] | None:
    """The parsed sub-entities (parts of a multipart, the message inside a
    message/rfc822), or None when the parser kept the body as text (no boundary...)."""
    try:
        payload = part.get_payload()
    except Exception:
        return None
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else None


# --- decoding ---------------------------------------------------------------------


def _guess_decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _decode(data: bytes, charset: str | None) -> tuple[str, str]:
    """Decode text bytes with a declared charset: (text, note).  Never raises."""
    label = (charset or "").strip().lower()
    if label in _NO_CHARSET:
        return _guess_decode(data), ""
    name = _CHARSET_ALIASES.get(label, label)
    try:
        info = codecs.lookup(name)
        # "base64", "zlib", "rot13"... are codecs but not text encodings.
        if not getattr(info, "_is_text_encoding", True):
            raise LookupError(name)
        return data.decode(info.name, "replace"), ""
    except Exception:  # LookupError, and codecs like idna that ignore errors="replace"
        note = f"unknown charset {label!r}; shown as UTF-8 or Windows-1252"
        return _guess_decode(data), note


def _text_of(part: Message) -> tuple[str, str]:
    """A text/* leaf as text, with "\n" line ends: (text, note)."""
    text, note = _decode(_payload_bytes(part), _charset(part))
    text = text.replace("\r\n", "\n")
    if _ctype(part) == "text/html":
        text = html_to_text(text)
    return text, note


def _message_leaf_text(part: Message) -> str:
    """message/delivery-status and friends: the parser turned the body into header
    blocks; show them as the "Name: value" lines they were."""
    try:
        payload = part.get_payload()
    except Exception:
        payload = None
    if not isinstance(payload, list):
        return _decode(_payload_bytes(part), _charset(part))[0]
    blocks = []
    for block in payload:
        if not isinstance(block, Message):
            continue
        try:
            items = list(block.raw_items())
        except Exception:
            items = []
        lines = [f"{k}: {_decode_header_value(v)}" for k, v in items if isinstance(v, str)]
        body = _decode(_payload_bytes(block), None)[0].strip("\n")
        if body:
            lines.append(body)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


# --- the part tree ----------------------------------------------------------------


def _message_children(msg: Message) -> list[Message]:
    """Numbered children of a whole message: its parts, or its single body."""
    parts = _sub_messages(msg) if _ctype(msg).startswith("multipart/") else None
    return parts or [msg]  # an empty multipart still gets a part "1", shown as text


def _children(part: Message) -> list[Message]:
    ctype = _ctype(part)
    if ctype in _ENCAPSULATED:
        inner = _sub_messages(part)
        return _message_children(inner[0]) if inner else []
    if ctype.startswith("multipart/"):
        return _sub_messages(part) or []
    return []


class _Walk:
    """Builds the MimePart tree with depth and part-count caps.

    Our own walk rather than `Message.walk()`, which has no caps.  Also records every
    node's Message by path, and which leaves belong to the message itself (not to an
    attached message), for choosing the body.
    """

    def __init__(self, max_depth: int, max_parts: int) -> None:
        self.max_depth = max_depth
        self.max_parts = max_parts
        self.count = 0
        self.notes: list[str] = []
        self.by_path: dict[str, tuple[MimePart, Message, bool]] = {}  # node, part, container?
        self.own_leaves: list[Message] = []

    def root(self, msg: Message) -> MimePart:
        return self._build(msg, "", 0, root=True, attached=False)

    def _build(self, part: Message, path: str, depth: int, *, root: bool, attached: bool) -> MimePart:
        ctype = _ctype(part)
        notes: list[str] = []
        kids = _message_children(part) if root else _children(part)
        children: list[MimePart] = []
        if kids and depth >= self.max_depth:
            notes.append(f"nested deeper than {self.max_depth} levels: {len(kids)} part(s) not shown")
            self.notes.append(f"parts nested deeper than {self.max_depth} levels are not shown")
        elif kids:
            inner_attached = attached or ctype in _ENCAPSULATED
            for number, kid in enumerate(kids, 1):
                if self.count >= self.max_parts:
                    notes.append(f"more than {self.max_parts} parts: the rest are not shown")
                    self.notes.append(f"message has more than {self.max_parts} parts; the rest are not shown")
                    break
                self.count += 1
                kid_path = f"{path}.{number}" if path else str(number)
                children.append(self._build(kid, kid_path, depth + 1, root=False, attached=inner_attached))
        size = 0
        is_leaf = not kids
        if is_leaf:
            size, leaf_note = self._leaf_info(part, ctype)
            if leaf_note:
                notes.append(leaf_note)
            if not attached:
                self.own_leaves.append(part)
        node = MimePart(
            path=path,
            content_type=ctype,
            filename=_meta(part).filename,
            charset=_charset(part),
            size=size,
            depth=depth,
            children=tuple(children),
            note="; ".join(notes),
        )
        self.by_path[path] = (node, part, bool(kids))
        return node

    @staticmethod
    def _leaf_info(part: Message, ctype: str) -> tuple[int, str]:
        if ctype in _ENCAPSULATED:
            return len(_payload_bytes(part)), "attached message could not be parsed; shown as text"
        if ctype.startswith("message/"):
            return len(_message_leaf_text(part).encode("utf-8", "replace")), ""
        note = ""
        if ctype.startswith("multipart/"):
            note = "multipart without usable parts (boundary missing?); shown as text"
        elif ctype.startswith("text/"):
            note = _decode(b"", _charset(part))[1]
        return len(_payload_bytes(part)), note


def _choose_body(leaves: list[Message]) -> tuple[str, str]:
    """The text to show first, and its decoding note: text/plain, else HTML as text
    (also when the text/plain is empty), else a broken multipart as text, else a note."""
    plain = html = broken = attached_text = None
    for part in leaves:
        ctype = _ctype(part)
        if _meta(part).disposition == "attachment":
            if ctype == "text/plain" and attached_text is None:
                attached_text = part
            continue
        if ctype == "text/plain" and plain is None:
            plain = part
        elif ctype == "text/html" and html is None:
            html = part
        elif ctype.startswith("multipart/") and broken is None:
            broken = part
    if plain is not None:
        text, note = _text_of(plain)
        # An empty text/plain beside real HTML is a generator's placeholder.
        if text.strip() or html is None:
            return text, note
    if html is not None:
        return _text_of(html)
    for part in (broken, attached_text):  # a mail that is only a .txt attachment
        if part is not None:
            return _text_of(part)
    return NO_TEXT, ""


# --- parsing entry points ---------------------------------------------------------


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, (bytearray, memoryview)):
        return bytes(raw)
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _caps(max_depth: object, max_parts: object) -> tuple[int, int]:
    try:
        return max(0, min(int(max_depth), _HARD_MAX_DEPTH)), max(0, int(max_parts))  # type: ignore[call-overload]
    except Exception:
        return 40, 2000


@functools.lru_cache(maxsize=2)
def _analyse(raw: bytes, max_depth: int, max_parts: int) -> tuple[Message | None, _Walk | None, str]:
    """Parse and walk once: (message, walk, note), or (None, None, why not).

    Cached because the UI calls parse_message and then part_text for each part the
    user selects, on the same bytes; parsing a 3 MB message takes seconds.
    """
    try:
        msg = email.message_from_bytes(raw, policy=policy.default)
    except RecursionError:
        return None, None, "message is nested too deeply to parse; shown as raw text"
    except Exception as exc:
        return None, None, f"message could not be parsed ({type(exc).__name__}); shown as raw text"
    try:
        walk = _Walk(max_depth, max_parts)
        walk.root(msg)
    except Exception as exc:  # RecursionError included; a bug here must not crash the view
        return None, None, f"message could not be shown ({type(exc).__name__}); shown as raw text"
    return msg, walk, ""


def _raw_body(raw: bytes) -> bytes:
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    if not ends:
        return b""
    end = min(ends)
    return raw[end + (4 if raw[end : end + 4] == b"\r\n\r\n" else 2) :]


def _headers_only(raw: bytes) -> Message | None:
    """The header block alone: the header parser does not descend into the body."""
    try:
        return BytesHeaderParser(policy=policy.default).parsebytes(raw)
    except Exception:
        return None


def _fallback(raw: bytes, note: str) -> ParsedMessage:
    """The parser gave up: headers if we can, the raw body as text, and why."""
    msg = _headers_only(raw)
    body = _raw_body(raw)
    child = MimePart("1", "text/plain", None, None, len(body), 1, note=note)
    ctype = _ctype(msg) if msg is not None else "text/plain"
    root = MimePart("", ctype, None, None, 0, 0, children=(child,), note=note)
    return _parsed(msg, root, _guess_decode(body), [note])


def _parsed(msg: Message | None, root: MimePart, body: str, notes: list[str]) -> ParsedMessage:
    def get(name: str) -> str:
        return _header(msg, name, join=name in ("from", "to", "cc")) if msg is not None else ""

    return ParsedMessage(
        subject=get("subject"),
        from_=get("from"),
        to=get("to"),
        cc=get("cc"),
        date=get("date"),
        root=root,
        body=body,
        notes=tuple(dict.fromkeys(n for n in notes if n)),  # each note once, in order
    )


def parse_message(raw: bytes, *, max_depth: int = 40, max_parts: int = 2000) -> ParsedMessage:
    """Parse a whole message (RFC 5322 bytes) for display.  Never raises."""
    raw = _as_bytes(raw)
    msg, walk, note = _analyse(raw, *_caps(max_depth, max_parts))
    if msg is None or walk is None:
        return _fallback(raw, note)
    try:
        body, body_note = _choose_body(walk.own_leaves)
        return _parsed(msg, walk.by_path[""][0], body, [*walk.notes, body_note])
    except Exception as exc:
        return _fallback(raw, f"message could not be shown ({type(exc).__name__}); shown as raw text")


def part_tree(raw: bytes, *, max_depth: int = 40, max_parts: int = 2000) -> MimePart:
    """Just the part tree of a message (see `parse_message`)."""
    return parse_message(raw, max_depth=max_depth, max_parts=max_parts).root


def _describe(node: MimePart) -> str:
    bits = [node.path or "(message)", node.content_type]
    if node.charset:
        bits.append(f"charset={node.charset}")
    if node.filename:
        bits.append(repr(node.filename))
    if not node.children:
        bits.append(f"{node.size} bytes")
    if node.note:
        bits.append(f"({node.note})")
    return "  ".join(bits)


def _message_text(msg: Message, max_depth: int, max_parts: int) -> str:
    """An attached message: its main headers, a blank line, then its body."""
    lines = []
    for label, name in (("From", "from"), ("To", "to"), ("Cc", "cc"), ("Date", "date"), ("Subject", "subject")):
        value = _header(msg, name, join=name in ("from", "to", "cc"))
        if value:
            lines.append(f"{label}: {value}")
    walk = _Walk(max_depth, max_parts)
    walk.root(msg)
    return "\n".join(lines) + "\n\n" + _choose_body(walk.own_leaves)[0]


def _node_text(node: MimePart, part: Message, container: bool, max_depth: int, max_parts: int) -> str:
    ctype = node.content_type
    if container:
        if ctype in _ENCAPSULATED:
            inner = _sub_messages(part)
            if inner:
                return _message_text(inner[0], max_depth, max_parts)
        if not node.path and node.children and not ctype.startswith("multipart/"):
            # The root of a single-part message: show its body, which is part "1".
            return _node_text(node.children[0], part, False, max_depth, max_parts)
        count = len(node.children)
        lines = [f"{ctype}, {count} part{'s' if count != 1 else ''}:"]
        lines += ["  " + _describe(child) for child in node.children]
        return "\n".join(lines)
    if ctype in _ENCAPSULATED or ctype.startswith(("text/", "multipart/")):
        return _text_of(part)[0]
    if ctype.startswith("message/"):
        return _message_leaf_text(part)
    lines = [ctype]
    if node.filename:
        lines.append(f"filename: {node.filename}")
    lines.append(f"size: {node.size} bytes")
    lines.append(BINARY_NOTE)
    return "\n".join(lines)


def part_text(raw: bytes, path: str, *, max_depth: int = 40, max_parts: int = 2000) -> str:
    """What to show when the user selects part `path` of the message.  Never raises.

    text/* decoded (HTML converted), an attached message as headers and body, a
    multipart as a list of its children, anything else as a short description.
    A part's degradation note, if any, comes first in parentheses.
    """
    raw = _as_bytes(raw)
    path = path if isinstance(path, str) else str(path)
    max_depth, max_parts = _caps(max_depth, max_parts)
    msg, walk, note = _analyse(raw, max_depth, max_parts)
    if msg is None or walk is None:
        if path in ("", "1"):
            return f"({note})\n\n" + _guess_decode(_raw_body(raw))
        return f"({note})"
    try:
        found = walk.by_path.get(path)
        if found is None:
            return f"(no part {path!r} in this message)"
        node, part, container = found
        text = _node_text(node, part, container, max_depth, max_parts)
        if node.note:
            text = f"({node.note})\n\n{text}"
        return text
    except Exception as exc:
        return f"(part {path!r} could not be shown: {type(exc).__name__})"


# --- HTML -> text -----------------------------------------------------------------

# Elements whose content is never text for a reader.
_SKIP = frozenset({"script", "style", "title", "template"})
_BLOCK = frozenset(
    "address article aside center dd details dialog dir div dl dt fieldset figcaption figure"
    " footer form header hgroup legend main menu nav section summary tr".split()
)
# Blocks that want a blank line around them.
_PARAGRAPH = frozenset("p h1 h2 h3 h4 h5 h6 ul ol table pre blockquote".split())
_SPACES = re.compile(r"[ \t\n\r\f]+")
# A "<" that does not open a complete "<...>" (no "<" inside) is text.  html.parser
# rescans the rest of the input for every such "<" (quadratic: 24 KB of "<a " took 7 s
# on Python 3.11); escaping them first keeps it linear.
_STRAY_LT = re.compile(r"<(?![a-zA-Z/!?][^<>]*>)")
# Marked sections html.parser does not know raise AssertionError ("<![foo[").
_BAD_MARKED = re.compile(r"<!\[(?!(?i:cdata\[|if\b|else\b|endif\b|temp\b|ignore\b|include\b|rcdata\b))")
_TAG = re.compile(r"<[^<>]*>")  # bounded by the next "<": linear


def _defuse(html: str) -> str:
    """Remove comments (with str.find: linear even when unclosed) and stray "<"."""
    out = []
    pos = 0
    while True:
        start = html.find("<!--", pos)
        if start < 0:
            out.append(html[pos:])
            break
        out.append(html[pos:start])
        end = html.find("-->", start + 4)
        if end < 0:
            break  # an unclosed comment hides the rest, as in a browser
        pos = end + 3
    return _STRAY_LT.sub("&lt;", _BAD_MARKED.sub("&lt;![", "".join(out)))


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.pending = 0  # line breaks owed before the next text
        self.at_line_start = True
        self.skip = 0
        self.in_head = False
        self.pre = 0
        self.quote = 0
        self.lists: list[int | None] = []  # None for <ul>, the next number for <ol>
        self.links: list[tuple[str, int]] = []  # (href, index into out) of open <a>
        self.urls: dict[str, int] = {}
        self.row_cells = 0

    # output
    def _break(self, count: int) -> None:
        self.pending = max(self.pending, count)

    # Indents are capped: 20,000 nested <ul> or <blockquote> must not make the output
    # quadratic in size.
    def _newline_text(self) -> str:
        return "\n" + "> " * min(self.quote, 8)

    def _flush(self) -> None:
        if self.pending and self.out:
            self.out.append("\n" * (self.pending - 1) + self._newline_text())
            self.at_line_start = True
        elif not self.out and self.quote:  # a quote on the very first line
            self.out.append(self._newline_text()[1:])
        self.pending = 0

    def _emit(self, text: str) -> None:
        if not text:
            return
        self._flush()
        self.out.append(text)
        self.at_line_start = text.endswith("\n")

    # parser callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self.in_head = True
        elif tag == "body":
            self.in_head = False  # a missing </head> must not hide the whole mail
        if tag in _SKIP:
            self.skip += 1
        if self.skip or self.in_head:
            return
        if tag == "br":
            self._flush()
            self.out.append(self._newline_text())
            self.at_line_start = True
        elif tag in _PARAGRAPH or tag in _BLOCK:
            self._break(self._gap(tag))
            if tag == "pre":
                self.pre += 1
            elif tag == "blockquote":
                self.quote += 1
            elif tag in ("ul", "ol"):
                self.lists.append(1 if tag == "ol" else None)
            elif tag == "tr":
                self.row_cells = 0
        elif tag == "li":
            self._break(1)
            number = self.lists[-1] if self.lists else None
            indent = "  " * min(max(0, len(self.lists) - 1), 8)
            if number is None:
                self._emit(indent + "\u2022 ")
            else:
                self.lists[-1] = number + 1
                self._emit(f"{indent}{number}. ")
        elif tag in ("td", "th"):
            if self.row_cells:
                self._emit("  ")
            self.row_cells += 1
        elif tag == "hr":
            self._break(1)
            self._emit("-" * 20)
            self._break(1)
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self._emit(f"[{_SPACES.sub(' ', alt)}]")
        elif tag == "a":
            self.links.append(((dict(attrs).get("href") or "").strip(), len(self.out)))

    def _gap(self, tag: str) -> int:
        """Line breaks around a block: a blank line for paragraphs, one inside lists."""
        if tag not in _PARAGRAPH or (tag in ("ul", "ol") and self.lists):
            return 1
        return 2

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip or self.in_head:
            return
        if tag in _PARAGRAPH or tag in _BLOCK:
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            elif tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            elif tag in ("ul", "ol") and self.lists:
                self.lists.pop()
            self._break(self._gap(tag))
        elif tag == "li":
            self._break(1)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            # Only a short link text can be the URL itself; not joining long ones keeps
            # thousands of nested <a> linear.
            pieces = self.out[start:] if len(self.out) - start < 64 else []
            self._footnote(href, "".join(pieces))

    def _footnote(self, href: str, text: str) -> None:
        lowered = href.lower()
        if not href or href.startswith("#") or lowered.startswith(("javascript:", "data:")):
            return
        shown = _SPACES.sub(" ", text).strip()
        if shown in (href, href.removeprefix("mailto:")):
            return  # the link text already is the address
        number = self.urls.setdefault(href, len(self.urls) + 1)
        self._emit(f" [{number}]")

    def handle_data(self, data: str) -> None:
        if self.skip or self.in_head:
            return
        if self.pre:
            self._emit(data.replace("\n", self._newline_text()))
            return
        data = _SPACES.sub(" ", data)
        if self.at_line_start or self.pending or (self.out and self.out[-1].endswith(" ")):
            data = data.lstrip(" ")
        self._emit(data)

    def text(self) -> str:
        body = "".join(self.out).replace("\xa0", " ")
        lines = [line.rstrip() for line in body.split("\n")]
        body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
        if self.urls:
            notes = "\n".join(f"[{n}] {url}" for url, n in self.urls.items())
            body = f"{body}\n\n{notes}" if body else notes
        return body


def html_to_text(html: str) -> str:
    """Readable text from HTML, with only the stdlib `html.parser`.  Never raises.

    Drops script/style/head, turns blocks and <br> into line breaks, list items into
    "• ", link targets into numbered footnotes.  Fetches nothing.
    """
    if not isinstance(html, str):
        html = _as_bytes(html).decode("utf-8", "replace")
    try:
        parser = _HtmlText()
        parser.feed(_defuse(html))
        parser.close()
        return parser.text()
    except Exception:
        # html.parser still has asserts on malformed markup: strip tags crudely.
        return _SPACES.sub(" ", unescape(_TAG.sub(" ", html))).strip()
