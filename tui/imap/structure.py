"""A server's BODYSTRUCTURE -> the MimePart tree `tui.mime` builds from a whole message.

Big messages are shown part by part: the viewer fetches BODYSTRUCTURE (RFC 3501 section
7.4.2, as parsed by imapclient: a `BodyData` tuple whose first item is a list of child
BodyData for a multipart), shows the tree built here, then fetches only the part shown.
The tree has the same shape as `tui.mime.part_tree`'s (paths, depths, caps, notes,
message/rfc822 children, a single-part message's body at "1"), so the part list looks
the same whichever way the message came.

The description comes from the server and is hostile like everything else: any field
may be missing, NIL, of the wrong type or absurd.  A node that cannot be read keeps what
could be read, gets a note, and the rest of the tree stays.  Nothing here raises.

imapclient's own parser raises RecursionError on a FETCH answer nested about 500
parentheses deep (and IndexError/TypeError on some other shapes) before we see it: the
caller catches those.

Pure module: no Textual, no network.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import unquote_to_bytes

from tui.mime_decode import decode_filename, decode_text
from tui.models import MimePart
from tui.part_walk import CappedWalk, alternative_html, body_candidates

__all__ = ["MALFORMED", "choose_body", "content_section", "is_valid_section", "parse_structure"]

MALFORMED = "the server's description of this part is malformed"
_MALFORMED_MESSAGE = "the server's description of some parts is malformed"
_NOT_DESCRIBED = "the server does not describe this attached message's parts; shown as text"
_EMPTY_MULTIPART = "multipart without usable parts (boundary missing?); shown as text"

# As in tui.mime: message/* types whose parts IMAP numbers.
_ENCAPSULATED = frozenset({"message/rfc822", "message/global"})

_HARD_MAX_DEPTH = 100  # as tui.mime: our walk recurses once per level
_MAX_OCTETS = 2**32 - 1  # body-fld-octets is an IMAP number, 32 bits unsigned
_MAX_STRING = 16_384  # longer strings are cut before decoding
_MAX_PARAMS = 64  # parameter pairs read per list
_MAX_CONTINUATIONS = 100  # RFC 2231 segments read per parameter
_MAX_SECTION = 1_000

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]{1,127}")  # RFC 2045 token, lower-case
_SECTION = re.compile(r"[1-9][0-9]{0,8}(?:\.[1-9][0-9]{0,8})*")  # RFC 3501 section-part


class _Fields(NamedTuple):
    """One body of the BODYSTRUCTURE, read defensively."""

    ctype: str
    charset: str | None = None
    filename: str | None = None
    encoding: str = ""
    octets: int = 0
    attachment: bool = False
    parts: tuple = ()  # a multipart's children (raw bodies)
    inner: object = None  # an encapsulated message's body, when the server described it
    malformed: bool = False


_UNREADABLE = _Fields("application/octet-stream", malformed=True)


# --- atoms ------------------------------------------------------------------------


def _text(value: object) -> str | None:
    """A string atom (bytes from imapclient, str from elsewhere), else None."""
    if isinstance(value, (bytes, bytearray)):
        # 8-bit header bytes: as tui.mime reads them (UTF-8, bad sequences replaced)
        return bytes(value[:_MAX_STRING]).decode("utf-8", "replace")
    if isinstance(value, str):
        return value[:_MAX_STRING]
    return None


def _token(value: object) -> str | None:
    text = _text(value)
    if text is None:
        return None
    text = text.strip().lower()
    return text if _TOKEN.fullmatch(text) else None


def _number(value: object) -> int | None:
    if isinstance(value, (bytes, bytearray, str)):
        digits = _text(value) or ""
        value = int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 10 else None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_OCTETS:
        return value
    return None


def _params(value: object) -> tuple[dict[str, str], bool]:
    """A flat (key, value, key, value...) list as a dict with lower-case keys, and whether
    it was malformed.  NIL is an empty list."""
    if value is None:
        return {}, False
    if not isinstance(value, (tuple, list)):
        return {}, True
    params: dict[str, str] = {}
    malformed = len(value) % 2 == 1
    for i in range(0, min(len(value) - 1, 2 * _MAX_PARAMS), 2):
        key, text = _text(value[i]), _text(value[i + 1])
        if key is None or text is None:
            malformed = True
            continue
        params.setdefault(key.strip().lower(), text)
    return params, malformed


def _unquote(text: str) -> bytes:
    return unquote_to_bytes(text.encode("utf-8", "replace"))  # a str may hold surrogates


def _param(params: dict[str, str], name: str) -> str | None:
    """Parameter `name` with RFC 2231 decoding (`name*=charset'lang'%xx`, and
    continuations `name*0*=...; name*1=...`), else its plain value."""
    if f"{name}*" in params:
        return _extended(params[f"{name}*"])
    segments = []
    for i in range(_MAX_CONTINUATIONS):
        if f"{name}*{i}*" in params:
            segments.append((params[f"{name}*{i}*"], True))
        elif f"{name}*{i}" in params:
            segments.append((params[f"{name}*{i}"], False))
        else:
            break
    if not segments:
        return params.get(name)
    charset = None
    first, first_extended = segments[0]
    if first_extended and first.count("'") >= 2:
        charset, _, first = first.split("'", 2)
        segments[0] = (first, True)
    data = b"".join(_unquote(s) if extended else s.encode("utf-8", "replace") for s, extended in segments)
    return decode_text(data, charset)[0]


def _extended(value: str) -> str:
    """One RFC 2231 extended value: charset'language'percent-encoded."""
    charset = None
    if value.count("'") >= 2:
        charset, _, value = value.split("'", 2)
    return decode_text(_unquote(value), charset)[0]


# --- one body ----------------------------------------------------------------------


def _read(body: object) -> _Fields:
    try:
        return _read_body(body)
    except Exception:  # a shape we did not foresee degrades this node only
        return _UNREADABLE


def _read_body(body: object) -> _Fields:
    if not isinstance(body, (tuple, list)) or not body:
        return _UNREADABLE
    first = body[0]
    if isinstance(first, list):  # imapclient's BodyData: the children gathered in a list
        return _read_multipart(tuple(first), tuple(body[1:]))
    if isinstance(first, tuple):  # a raw multipart, e.g. inside message/rfc822
        count = next((i for i, item in enumerate(body) if not isinstance(item, (tuple, list))), len(body))
        return _read_multipart(tuple(body[:count]), tuple(body[count:]))
    return _read_single(tuple(body))


def _read_multipart(parts: tuple, rest: tuple) -> _Fields:
    # body-type-mpart: the parts, subtype, then extension data: params, disposition...
    subtype = _token(rest[0]) if rest else None
    params, bad_params = _params(rest[1]) if len(rest) > 1 else ({}, False)
    disposition, dsp_params, bad_dsp = _disposition(rest[2] if len(rest) > 2 else None)
    return _Fields(
        ctype=f"multipart/{subtype or 'mixed'}",
        charset=_charset(params),
        filename=decode_filename(_param(dsp_params, "filename") or _param(params, "name")),
        attachment=disposition == "attachment",
        parts=parts,
        malformed=subtype is None or bad_params or bad_dsp,
    )


def _read_single(body: tuple) -> _Fields:
    # body-type-1part: type, subtype, params, id, description, encoding, octets, then
    # per form: text has lines; message/rfc822 has envelope, body, lines; then the
    # extension data: md5, disposition, language, location.
    def item(index: int) -> object:
        return body[index] if index < len(body) else None

    main, sub = _token(item(0)), _token(item(1))
    bad_type = False
    if main and sub:
        ctype = f"{main}/{sub}"
    elif _text(item(0)) == "" or _text(item(1)) == "":
        # Dovecot's "" "" stands for a Content-Type it could not read: RFC 2045's
        # default, as the email package reads it too.
        ctype = "text/plain"
    else:
        ctype, bad_type = "application/octet-stream", True
    params, bad_params = _params(item(2))
    encoding = _token(item(5))
    octets = _number(item(6))
    malformed = bad_type or len(body) < 7 or bad_params or encoding is None or octets is None
    inner = None
    # The form (and so where the extension data starts) follows the type the server
    # sent.  message/global is often sent in the basic form: the shape tells.
    if ctype in _ENCAPSULATED and isinstance(item(7), (tuple, list)) and isinstance(item(8), (tuple, list)):
        inner, extension = item(8), 10
    elif ctype == "message/rfc822":
        malformed, extension = True, 10
    elif main == "text":
        extension = 8
    else:
        extension = 7
    disposition, dsp_params, bad_dsp = _disposition(item(extension + 1))
    return _Fields(
        ctype=ctype,
        charset=_charset(params),
        filename=decode_filename(_param(dsp_params, "filename") or _param(params, "name")),
        encoding=encoding or "",
        octets=octets or 0,
        attachment=disposition == "attachment",
        inner=inner,
        malformed=malformed or bad_dsp,
    )


def _disposition(value: object) -> tuple[str, dict[str, str], bool]:
    """body-fld-dsp: ("attachment" ("filename" "x.pdf")) or NIL -> (type, params, malformed)."""
    if value is None:
        return "", {}, False
    if not isinstance(value, (tuple, list)) or not value:
        return "", {}, True
    kind = _token(value[0])
    params, bad_params = _params(value[1]) if len(value) > 1 else ({}, False)
    return kind or "", params, kind is None or bad_params


def _charset(params: dict[str, str]) -> str | None:
    return (_param(params, "charset") or "").strip().strip("\"'").strip().lower() or None


# --- the tree ----------------------------------------------------------------------


class _Walk(CappedWalk):
    """tui.mime's _Walk over a BODYSTRUCTURE: same numbering, caps and notes."""

    def root(self, body: object) -> MimePart:
        return self._build(body, _read(body), "", 0, root=True)

    @staticmethod
    def _message_children(body: object, fields: _Fields) -> list[object]:
        """Numbered children of a whole message: its parts, or its single body."""
        return list(fields.parts) or [body]

    def _children(self, fields: _Fields) -> list[object]:
        if fields.inner is not None:
            return self._message_children(fields.inner, _read(fields.inner))
        return list(fields.parts)

    def _build(self, body: object, fields: _Fields, path: str, depth: int, *, root: bool) -> MimePart:
        notes: list[str] = []
        if fields.malformed:
            notes.append(MALFORMED)
            self.notes.append(_MALFORMED_MESSAGE)
        kids = self._message_children(body, fields) if root else self._children(fields)
        children = [
            self._build(kid, _read(kid), kid_path, depth + 1, root=False)
            for kid, kid_path in self.numbered(kids, path, depth, notes)
        ]
        size = 0
        if not kids:
            # base64 mostly comes in lines of 76 characters and a CRLF: not counting the
            # line ends estimates from above, and closely.
            octets = fields.octets
            size = (octets - 2 * (octets // 78)) * 3 // 4 if fields.encoding == "base64" else octets
            note = _leaf_note(fields)
            if note:
                notes.append(note)
        return MimePart(
            path=path,
            content_type=fields.ctype,
            filename=fields.filename,
            charset=fields.charset,
            size=size,
            depth=depth,
            children=tuple(children),
            note="; ".join(dict.fromkeys(notes)),
            encoding=fields.encoding,
            attachment=fields.attachment,
            octets=fields.octets,
        )


def _leaf_note(fields: _Fields) -> str:
    if fields.ctype in _ENCAPSULATED:
        return _NOT_DESCRIBED
    if fields.ctype.startswith("multipart/"):
        return _EMPTY_MULTIPART
    if fields.ctype.startswith("text/"):
        return decode_text(b"", fields.charset)[1]
    return ""


def _caps(max_depth: object, max_parts: object) -> tuple[int, int]:
    try:
        return max(0, min(int(max_depth), _HARD_MAX_DEPTH)), max(0, int(max_parts))  # type: ignore[call-overload]
    except Exception:
        return 40, 2000


def parse_structure(body: object, *, max_depth: int = 40, max_parts: int = 2000) -> tuple[MimePart, list[str]]:
    """The part tree of a message from its BODYSTRUCTURE, and message-level notes.

    Paths are IMAP section numbers as in `tui.mime.part_tree`.  Leaves also carry the
    transfer `encoding`, `octets` (the server's size, still encoded), `attachment`
    (Content-Disposition: attachment) and `size`, an estimate of the decoded size.
    Never raises.
    """
    walk = _Walk(*_caps(max_depth, max_parts))
    try:
        root = walk.root(body)
    except Exception as exc:  # RecursionError included: a bug here must not crash the view
        note = f"the server's description of this message could not be read ({type(exc).__name__})"
        child = MimePart("1", "text/plain", None, None, 0, 1, note=note)
        return MimePart("", "text/plain", None, None, 0, 0, children=(child,), note=note), [note]
    return root, list(dict.fromkeys(walk.notes))


# --- using the tree ----------------------------------------------------------------


def _own_leaves(node: MimePart, attached: bool, out: list[MimePart]) -> None:
    """Leaves of the message itself, in order; not those inside an attached message."""
    if not node.children:
        if not attached:
            out.append(node)
        return
    inner_attached = attached or node.content_type in _ENCAPSULATED
    for child in node.children:
        _own_leaves(child, inner_attached, out)


def _alternatives(root: MimePart) -> set[str]:
    """Paths of the multipart/alternative nodes that have parts."""
    found, todo = set(), [root]
    while todo:
        node = todo.pop()
        if node.children and node.content_type == "multipart/alternative":
            found.add(node.path)
        todo.extend(node.children)
    return found


def choose_body(root: MimePart, *, prefer_html: bool = False) -> MimePart | None:
    """The leaf to show first, as `tui.mime` chooses it: text/plain, else text/html (also
    when the text/plain is empty), else a multipart without parts, else a text/plain
    attachment; None when there is no text.  With `prefer_html`, the text/plain's HTML
    alternative first, unless it is empty."""
    leaves: list[MimePart] = []
    try:
        _own_leaves(root, False, leaves)
    except Exception:  # RecursionError on a tree not built here
        return None
    kind, attached = (lambda part: part.content_type), (lambda part: part.attachment)
    plain, html, broken, attached_text = body_candidates(leaves, kind, attached)
    if prefer_html and plain is not None:
        other = alternative_html(plain, leaves, kind, attached, lambda part: part.path, _alternatives(root))
        if other is not None and other.size > 0:
            return other
    # An empty text/plain beside real HTML is a generator's placeholder.  Without the
    # content only "empty" can be told, not "blank".
    if plain is not None and (plain.size > 0 or html is None):
        return plain
    return html or broken or attached_text


def content_section(root: MimePart, part: MimePart) -> str:
    """The IMAP section whose content is `part`: its path, except that the root of a
    single-part message is its body, "1" (a multipart root is the whole message, "")."""
    if part.path == "" and not root.content_type.startswith("multipart/"):
        return "1"
    return part.path


def is_valid_section(section: object) -> bool:
    """Whether `section` may go into a FETCH BODY[...]: dot-separated non-zero numbers of
    at most 9 digits, or "" for the whole message."""
    if not isinstance(section, str) or len(section) > _MAX_SECTION:
        return False
    return section == "" or _SECTION.fullmatch(section) is not None
