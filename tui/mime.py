"""Message parsing for display: part tree, body choice, text of each part.

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

Charset and header decoding live in `tui.mime_decode`, the tolerant parsing of header
parameters (RFC 2231, filenames) in `tui.mime_params`, HTML -> text in `tui.html_text`
(`html_to_text` is re-exported here).

Pure module: no Textual or Rich imports.
"""

from __future__ import annotations

import email
import functools
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

from tui import calendar_summary, dsn
from tui.html_text import html_to_text
from tui.mime_decode import decode_header_value, decode_text, guess_decode, header_text
from tui.mime_params import POLICY as _POLICY
from tui.mime_params import overlong_parameters as _overlong_parameters
from tui.mime_params import part_meta as _meta
from tui.models import MimePart
from tui.part_walk import CappedWalk, alternative_html, body_candidates
from tui.timefmt import human_size

__all__ = ["ParsedMessage", "leaf_description", "html_to_text", "parse_message", "part_payload", "part_text", "part_tree"]

NO_TEXT = "(no text part; see the part list)"
BINARY_NOTE = "binary part: S saves it to a file, o opens it"

# Our own walk recurses once per nesting level; the caller (a Textual worker or
# handler) already uses part of Python's ~1000-frame budget.  No real mail nests
# anywhere near this deep.
_HARD_MAX_DEPTH = 100

# message/* types that encapsulate a whole message whose parts IMAP numbers.  Other
# message/* types (delivery-status, disposition-notification, external-body, partial)
# are leaves whose content is shown as text.
_ENCAPSULATED = frozenset({"message/rfc822", "message/global"})
# Parts summarized in plain words above the body (tui.calendar_summary).
_CALENDAR_TYPES = frozenset({"text/calendar", "application/ics"})


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
    # Shown above the body: a bounce's delivery report or an invitation in plain
    # words (tui.dsn, tui.calendar_summary); not display-safe, like the rest.
    summary: str = ""


# --- small guarded accessors ------------------------------------------------------
# Each `email` accessor below has been seen raising on some hostile message; a failure
# degrades to a neutral default for that one attribute of that one part.


def _ctype(part: Message) -> str:
    return _meta(part).ctype


def _charset(part: Message) -> str | None:
    return _meta(part).charset


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


# --- the text of a leaf -----------------------------------------------------------


def _text_of(part: Message) -> tuple[str, str]:
    """A text/* leaf as text, with "\n" line ends: (text, note)."""
    text, note = decode_text(_payload_bytes(part), _charset(part))
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
        return decode_text(_payload_bytes(part), _charset(part))[0]
    blocks = []
    for block in payload:
        if not isinstance(block, Message):
            continue
        try:
            items = list(block.raw_items())
        except Exception:
            items = []
        lines = [f"{k}: {decode_header_value(v)}" for k, v in items if isinstance(v, str)]
        body = decode_text(_payload_bytes(block), None)[0].strip("\n")
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


class _Walk(CappedWalk):
    """Builds the MimePart tree with depth and part-count caps.

    Our own walk rather than `Message.walk()`, which has no caps.  Also records every
    node's Message by path, and which leaves belong to the message itself (not to an
    attached message), with their paths, for choosing the body.
    """

    def __init__(self, max_depth: int, max_parts: int) -> None:
        super().__init__(max_depth, max_parts)
        self.by_path: dict[str, tuple[MimePart, Message, bool]] = {}  # node, part, container?
        self.own_leaves: list[tuple[str, Message]] = []

    def alternatives(self) -> set[str]:
        """Paths of the multipart/alternative nodes that have parts."""
        return {
            path
            for path, (node, _part, container) in self.by_path.items()
            if container and node.content_type == "multipart/alternative"
        }

    def root(self, msg: Message) -> MimePart:
        return self._build(msg, "", 0, root=True, attached=False)

    def _build(self, part: Message, path: str, depth: int, *, root: bool, attached: bool) -> MimePart:
        ctype = _ctype(part)
        notes: list[str] = []
        if _overlong_parameters(part):
            notes.append("Content-Type or Content-Disposition over 8 KB: read up to there")
            self.notes.append("a part's MIME header is over 8 KB long; only its start was read")
        kids = _message_children(part) if root else _children(part)
        inner_attached = attached or ctype in _ENCAPSULATED
        children = [
            self._build(kid, kid_path, depth + 1, root=False, attached=inner_attached)
            for kid, kid_path in self.numbered(kids, path, depth, notes)
        ]
        size = 0
        is_leaf = not kids
        if is_leaf:
            size, leaf_note = self._leaf_info(part, ctype)
            if leaf_note:
                notes.append(leaf_note)
            if not attached:
                self.own_leaves.append((path, part))
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
            note = decode_text(b"", _charset(part))[1]
        return len(_payload_bytes(part)), note


def _choose_body(walk: _Walk, *, prefer_html: bool = False) -> tuple[str, str]:
    """The text to show first, and its decoding note: text/plain, else HTML as text
    (also when the text/plain is empty), else a broken multipart as text, else a note.
    With `prefer_html`, the text/plain's HTML alternative first, if it has text."""
    leaves = walk.own_leaves  # (path, part)
    kind, attached = (lambda leaf: _ctype(leaf[1])), (lambda leaf: _meta(leaf[1]).disposition == "attachment")
    plain, html, broken, attached_text = body_candidates(leaves, kind, attached)
    if prefer_html and plain is not None:
        other = alternative_html(plain, leaves, kind, attached, lambda leaf: leaf[0], walk.alternatives())
        text, note = _text_of(other[1]) if other is not None else ("", "")
        if text.strip():
            return text, note
    if plain is not None:
        text, note = _text_of(plain[1])
        # An empty text/plain beside real HTML is a generator's placeholder.
        if text.strip() or html is None:
            return text, note
    for leaf in (html, broken, attached_text):  # the last: a mail that is only a .txt attachment
        if leaf is not None:
            return _text_of(leaf[1])
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
        msg = email.message_from_bytes(raw, policy=_POLICY)
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
        return BytesHeaderParser(policy=_POLICY).parsebytes(raw)
    except Exception:
        return None


def _fallback(raw: bytes, note: str) -> ParsedMessage:
    """The parser gave up: headers if we can, the raw body as text, and why."""
    msg = _headers_only(raw)
    body = _raw_body(raw)
    child = MimePart("1", "text/plain", None, None, len(body), 1, note=note)
    ctype = _ctype(msg) if msg is not None else "text/plain"
    root = MimePart("", ctype, None, None, 0, 0, children=(child,), note=note)
    return _parsed(msg, root, guess_decode(body), [note])


def _parsed(msg: Message | None, root: MimePart, body: str, notes: list[str], summary: str = "") -> ParsedMessage:
    def get(name: str) -> str:
        return header_text(msg, name, join=name in ("from", "to", "cc")) if msg is not None else ""

    return ParsedMessage(
        subject=get("subject"),
        from_=get("from"),
        to=get("to"),
        cc=get("cc"),
        date=get("date"),
        root=root,
        body=body,
        notes=tuple(dict.fromkeys(n for n in notes if n)),  # each note once, in order
        summary=summary,
    )


def _calendar_summary(part: Message) -> str:
    data = _payload_bytes(part)[: calendar_summary.MAX_INPUT]
    return calendar_summary.summarize(decode_text(data, _charset(part))[0])


def _summary(msg: Message, walk: _Walk) -> str:
    """A bounce's report and the first invitation among the message's own parts, in
    plain words; "" for other mail."""
    try:
        found = [dsn.summarize(msg)]
        calendar = next((part for _path, part in walk.own_leaves if _ctype(part) in _CALENDAR_TYPES), None)
        if calendar is not None:
            found.append(_calendar_summary(calendar))
        return "\n\n".join(text for text in found if text)
    except Exception:  # the summary is a convenience: never at the cost of the message
        return ""


def parse_message(
    raw: bytes, *, max_depth: int = 40, max_parts: int = 2000, prefer_html: bool = False
) -> ParsedMessage:
    """Parse a whole message (RFC 5322 bytes) for display.  Never raises.

    The body is the text/plain, or with `prefer_html` the HTML of a
    multipart/alternative that offers both (as text)."""
    raw = _as_bytes(raw)
    msg, walk, note = _analyse(raw, *_caps(max_depth, max_parts))
    if msg is None or walk is None:
        return _fallback(raw, note)
    try:
        body, body_note = _choose_body(walk, prefer_html=prefer_html)
        return _parsed(msg, walk.by_path[""][0], body, [*walk.notes, body_note], _summary(msg, walk))
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
        value = header_text(msg, name, join=name in ("from", "to", "cc"))
        if value:
            lines.append(f"{label}: {value}")
    walk = _Walk(max_depth, max_parts)
    walk.root(msg)
    return "\n".join(lines) + "\n\n" + _choose_body(walk)[0]


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
        text = _text_of(part)[0]
        return _with_summary(calendar_summary.summarize(text), text) if ctype in _CALENDAR_TYPES else text
    if ctype.startswith("message/"):
        text = _message_leaf_text(part)
        return _with_summary(dsn.summarize(part), text) if ctype in dsn.DSN_TYPES else text
    if ctype in _CALENDAR_TYPES:
        return _with_summary(_calendar_summary(part), leaf_description(node))
    return leaf_description(node)


def _with_summary(summary: str, text: str) -> str:
    return f"{summary}\n\n{text}" if summary else text


def leaf_description(node: MimePart) -> str:
    """A part that is not text, whichever way it was fetched: its type, name and size,
    and that S saves it. A size from a BODYSTRUCTURE (octets) is an estimate."""
    lines = [node.content_type]
    if node.filename:
        lines.append(f"filename: {node.filename}")
    lines.append(f"size: about {human_size(node.size)}" if node.octets else f"size: {node.size} bytes")
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
            return f"({note})\n\n" + guess_decode(_raw_body(raw))
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


def _message_bytes(msg: Message) -> bytes:
    """An attached message written out again. Our policy refolds headers, and fails on
    some hostile ones; compat32 writes them back as they came, but as bytes it fails on
    the parser's own replacement characters, which as text it keeps."""
    try:
        return msg.as_bytes(policy=_POLICY)
    except Exception:
        pass
    try:
        return msg.as_bytes(policy=compat32)
    except Exception:
        return msg.as_string(policy=compat32).encode("utf-8", "surrogateescape")


def part_payload(raw: bytes, path: str, *, max_depth: int = 40, max_parts: int = 2000) -> bytes | None:
    """The transfer-decoded bytes of leaf `path` (numbered as in `part_tree`; "" is a
    single-part message's body), to save or open it; an attached message's (message/rfc822)
    as a message of its own. None when there is no such part, or it is a multipart (a path
    past the caps). Never raises.

    A message/* leaf the parser split into header blocks (delivery-status...) comes back
    re-serialised from them, the nearest there is to its bytes. When the parser gave up,
    "1" is the raw body, as the fallback part tree shows it.
    """
    raw = _as_bytes(raw)
    path = path if isinstance(path, str) else str(path)
    msg, walk, _note = _analyse(raw, *_caps(max_depth, max_parts))
    if msg is None or walk is None:
        return _raw_body(raw) if path == "1" else None
    try:
        found = walk.by_path.get(path)
        if path == "" and found is not None and not found[0].content_type.startswith("multipart/"):
            found = walk.by_path.get("1")  # the root of a single-part message: its body is part "1"
        if found is None:
            return None
        node, part, container = found
        if container and node.content_type in ("message/rfc822", "message/global"):
            inner = _sub_messages(part)
            return _message_bytes(inner[0]) if inner else _payload_bytes(part)
        if container:
            return None
        blocks = _sub_messages(part) if node.content_type.startswith("message/") else None
        if not blocks:
            return _payload_bytes(part)
        try:
            return b"".join(block.as_bytes(policy=_POLICY) for block in blocks)
        except Exception:  # a header the generator cannot write: the lines as shown
            return _message_leaf_text(part).encode("utf-8", "surrogateescape")
    except Exception:
        return None
