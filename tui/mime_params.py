"""MIME header parameters, tolerantly: the parsing policy and each part's type, charset,
filename and disposition.

RFC 2231 extended parameters and RFC 2047 words in filenames are where hostile (or just
sloppy) mail breaks the stdlib `email` package: a parameter it cannot decode raises from
inside the parser, and a name it cannot parse is dropped. Here such a header degrades
(loses its extended parameters, or keeps its plain value) and a dropped name is read
from the raw header. Used by `tui.mime`; nothing here raises.

Pure module: no Textual or Rich imports.
"""

from __future__ import annotations

import re
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import Message
from typing import NamedTuple

from tui.mime_decode import decode_filename

__all__ = ["MAX_PARAMETER_HEADER", "PARAMETER_HEADERS", "POLICY", "PartMeta", "part_meta", "overlong_parameters"]

PARAMETER_HEADERS = ("content-type", "content-disposition")
MAX_PARAMETER_HEADER = 8192

# RFC 2231 extended parameters (name*=charset''..., name*0*=...), whole.
_EXTENDED_PARAM = re.compile(r";\s*[^\s;=]+\*[^;]*")


class _TolerantHeaders(HeaderRegistry):
    """policy.default's header factory, except that a header it cannot parse degrades.

    The parameter decoder runs bytes.decode(charset, "surrogateescape") on an RFC 2231
    value and catches only LookupError, so `filename*=idna''%00` (or punycode, a NUL in
    the charset, odd-length UTF-16) raises from inside message_from_bytes when the
    parser reads Content-Type: one attachment's name turned the whole message into raw
    text.  Such a header loses its extended parameters (type and boundary stay), and a
    header that still fails is kept as its plain string value.
    """

    def __call__(self, name: str, value: str):  # type: ignore[override]
        if name.lower() in PARAMETER_HEADERS and len(value) > MAX_PARAMETER_HEADER:
            # email's parameter parser is quadratic: 20,000 parameters in 200 KB took
            # 11 s. Real ones are a few hundred bytes (mime.py notes the cut).
            value = value[:MAX_PARAMETER_HEADER]
        try:
            return super().__call__(name, value)
        except Exception:
            plainer = _EXTENDED_PARAM.sub("", value)
        try:
            return super().__call__(name, plainer)
        except Exception:
            return value


POLICY = policy.default.clone(header_factory=_TolerantHeaders())


# --- a part's parameters ----------------------------------------------------------
# Each `email` accessor below has been seen raising on some hostile message; a failure
# degrades to a neutral default for that one attribute of that one part.


class PartMeta(NamedTuple):
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


def part_meta(part: Message) -> PartMeta:
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
    meta = PartMeta(ctype, charset, decode_filename(name), disposition)
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


def overlong_parameters(part: Message) -> bool:
    """Whether this part's Content-Type or Content-Disposition was cut (see _TolerantHeaders)."""
    try:
        return any(
            name.lower() in PARAMETER_HEADERS and len(str(value)) > MAX_PARAMETER_HEADER
            for name, value in part.raw_items()  # as they came: nothing parsed
        )
    except Exception:
        return False

