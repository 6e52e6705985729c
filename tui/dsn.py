"""Delivery status reports (bounces) in plain words, for the top of the message view.

A bounce is a multipart/report (RFC 6522) with a message/delivery-status part (RFC 3464;
message/global-delivery-status, RFC 6533, is the same in UTF-8): a block of fields about
the report, then one block per recipient with its Action, Status (an RFC 3463 code) and
the remote server's Diagnostic-Code.  People should not have to read those fields:
`summarize` turns them into "Delivery failed: bob@example.org" and what the code means.

Everything read here is hostile: input and every value are capped, lines are unfolded
and squeezed onto one line, and nothing raises.  The strings returned are not
display-safe: the UI passes them through `tui.safe_text` like all message text.

Pure module: no Textual imports.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from email.message import Message

from tui.mime_decode import header_text
from tui.mime_params import part_meta

__all__ = ["NO_REPORT_BOUNCE", "status_meaning", "summarize", "summarize_status"]

NO_REPORT_BOUNCE = "This looks like a bounce; the server gave no machine-readable report."

DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})

MAX_INPUT = 256 * 1024  # a real report is a few KB; the rest of a big one is not read
MAX_RECIPIENTS = 20  # shown; the others are counted
MAX_VALUE = 300  # characters of one shown value
_MAX_FIELD = 4096  # characters kept of one field while reading, before squeezing
_MAX_DEPTH = 20  # nesting searched for the report part
_MAX_PARTS = 1000  # parts looked at while searching

# Action -> the heading of a recipient's block (RFC 3464 section 2.3.3).
_ACTIONS = {
    "failed": "Delivery failed:",
    "delayed": "Delivery delayed (still trying):",
    "delivered": "Delivered:",
    "relayed": "Relayed (no further report will come):",
    "expanded": "Delivered and forwarded to several addresses:",
}
# Without a usable Action, the status class says nearly as much.
_CLASS_ACTIONS = {"5": "failed", "4": "delayed", "2": "delivered"}

# Subjects of bounces that carry no report part (Exim, qmail, sendmail, Exchange...),
# matched at the start of the subject, lower-case.
_BOUNCE_SUBJECTS = (
    "undelivered mail returned to sender",
    "mail delivery failed",
    "mail delivery failure",
    "delivery status notification (failure)",
    "delivery status notification (delay)",
    "undeliverable:",
    "undeliverable mail",
    "returned mail:",
    "failure notice",
    "delivery failure",
    "mail system error - returned mail",
)
_DAEMONS = ("mailer-daemon@", "postmaster@")
_BOUNCE_WORDS = ("undeliver", "returned", "failure", "failed", "delivery")

_FIELD = re.compile(r"([!-9;-~]{1,76})[ \t]*:(.*)")  # a header field name, RFC 5322
_TYPED = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9.+_-]{0,30})\s*;\s*(.*)", re.DOTALL)
_CODE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_UTF8_ESCAPE = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")  # RFC 6533 utf-8-addr-xtext
_SPACES = re.compile(r"\s+")


# --- RFC 3463 status codes in plain words -----------------------------------------
# class.subject.detail: the class says how final, subject.detail what went wrong.
# Details from RFC 3463 and the IANA registry (RFC 5248) that servers really send.

_CLASSES = {
    "2": "success",
    "4": "a temporary problem; the server may try again",
    "5": "a permanent failure",
}
_SUBJECTS = {
    "1": "a problem with the address",
    "2": "a problem with the recipient's mailbox",
    "3": "a problem with the receiving mail system",
    "4": "a network or routing problem",
    "5": "a mail protocol problem",
    "6": "a problem with the message's content or format",
    "7": "refused for security or policy reasons",
}
_DETAILS = {
    "1.1": "the address does not exist",
    "1.2": "the domain does not exist or takes no mail",
    "1.3": "the address is not written correctly",
    "1.4": "the address is ambiguous",
    "1.5": "the address is valid",
    "1.6": "the mailbox has moved and left no forwarding address",
    "1.7": "the sender's address is not written correctly",
    "1.8": "the sender's domain is not valid",
    "1.9": "the message was relayed to a system that sends no reports",
    # RFC 7505 gave 1.10 to null MX; Microsoft 365 sends it for an unknown recipient.
    "1.10": "the address does not exist, or its domain accepts no mail",
    "2.1": "the mailbox is disabled and takes no mail",
    "2.2": "the mailbox is full",
    "2.3": "the message is larger than the mailbox accepts",
    "2.4": "a mailing list could not be expanded",
    "3.1": "the receiving mail system is full",
    "3.2": "the receiving system is not accepting mail",
    "3.3": "the receiving system lacks a feature the message needs",
    "3.4": "the message is too big for the receiving system",
    "3.5": "the receiving system is misconfigured",
    "3.6": "the message's priority was changed",
    "4.1": "the receiving server did not answer",
    "4.2": "the connection broke off",
    "4.3": "a DNS lookup failed",
    "4.4": "no route to the receiving server (no MX or address for the domain?)",
    "4.5": "the mail system is congested",
    "4.6": "the message went round in a loop",
    "4.7": "the delivery time expired: the server gave up trying",
    "5.1": "the server did not accept a command",
    "5.2": "the server saw a syntax error",
    "5.3": "too many recipients",
    "5.4": "the server did not accept a command's arguments",
    "5.5": "the servers speak incompatible protocol versions",
    "5.6": "an authentication line was too long",
    "6.1": "the receiving system does not support this kind of content",
    "6.2": "the message would have to be converted, and that is not allowed",
    "6.3": "the message would have to be converted, and that is not possible",
    "6.4": "the message was converted, losing some content",
    "6.5": "converting the message failed",
    "6.6": "the message's content is no longer available",
    "6.7": "the receiving system does not accept non-ASCII addresses",
    "6.8": "the receiving system needs a UTF-8 reply",
    "6.9": "the receiving system does not accept UTF-8 headers",
    "6.10": "the receiving system needs a UTF-8 reply",
    "7.1": "delivery not authorized: the server refused the message (spam or policy)",
    "7.2": "sending to this mailing list is not allowed",
    "7.3": "a required security conversion is not possible",
    "7.4": "the receiving system lacks a required security feature",
    "7.5": "a cryptographic check failed",
    "7.6": "a cryptographic algorithm is not supported",
    "7.7": "the message's integrity check failed",
    "7.8": "the login was refused (wrong credentials)",
    "7.9": "the login method is too weak",
    "7.10": "the connection must be encrypted",
    "7.11": "this login method needs an encrypted connection",
    "7.12": "a password change is needed",
    "7.13": "the account is disabled",
    "7.14": "the servers need a trust relationship",
    "7.15": "the message's priority is too low",
    "7.16": "the message is too big for its priority",
    "7.17": "the mailbox owner has changed",
    "7.18": "the domain owner has changed",
    "7.19": "the owner-change test could not be done",
    "7.20": "no valid DKIM signature (sender authentication failed)",
    "7.21": "no acceptable DKIM signature (sender authentication failed)",
    "7.22": "no DKIM signature matching the author (sender authentication failed)",
    "7.23": "the sender's SPF check failed (sender authentication failed)",
    "7.24": "the sender's SPF check could not be completed",
    "7.25": "the sending server's reverse DNS check failed",
    "7.26": "several sender authentication checks failed",
    "7.27": "the sender's domain accepts no mail (null MX)",
    "7.28": "refused as part of a flood of mail",
    "7.29": "the ARC authentication check failed",
    "7.30": "the message must be sent over an encrypted connection (REQUIRETLS)",
}


def status_meaning(klass: str, subject: str, detail: str) -> str:
    """An RFC 3463 code in plain words, the code after it: "the mailbox is full (5.2.2)"."""
    code = f"{klass}.{subject}.{detail}"
    words = _DETAILS.get(f"{subject}.{detail}") if detail != "0" else None
    if klass == "2" and words is None:
        words = _CLASSES["2"]
    words = words or _SUBJECTS.get(subject) or _CLASSES.get(klass, "unknown status")
    if klass == "4" and words != _CLASSES["4"]:
        words += "; temporary"
    return f"{words} ({code})"


# --- reading the report -------------------------------------------------------------


def _squeeze(value: str, cap: int = MAX_VALUE) -> str:
    """One line, runs of white space as one space, at most `cap` characters."""
    value = _SPACES.sub(" ", value[: cap * 4]).strip()
    return value if len(value) <= cap else value[: cap - 1].rstrip() + "…"


def _blocks(text: str) -> list[dict[str, str]]:
    """The report's blank-line separated blocks of fields, names lower-case, each
    field's first occurrence, folded lines joined.  Lines that are not fields are
    skipped: a report is often written by hand-rolled code."""
    blocks: list[dict[str, str]] = []
    fields: dict[str, list[str]] = {}
    current: list[str] | None = None  # the pieces of the field being read, if kept
    size = 0  # characters in `current`
    for line in re.split(r"\r\n|\n|\r", text[:MAX_INPUT]):
        if not line.strip():
            if fields:
                blocks.append({name: "".join(parts) for name, parts in fields.items()})
            fields, current = {}, None
            continue
        if line[0] in " \t":
            if current is not None and size < _MAX_FIELD:
                current.append(" " + line[:_MAX_FIELD])
                size += len(line)
            continue
        match = _FIELD.match(line)
        if match is None:
            current = None
            continue
        name = match.group(1).lower()
        current = [match.group(2)[:_MAX_FIELD]] if name not in fields else None
        if current is not None:
            fields[name] = current
            size = len(current[0])
    if fields:
        blocks.append({name: "".join(parts) for name, parts in fields.items()})
    return blocks


def _untyped(value: str) -> str:
    """ "rfc822; bob@example.org" -> "bob@example.org", "smtp; 550 ..." -> "550 ...":
    the type of an address, MTA name or diagnostic says nothing to a reader."""
    match = _TYPED.match(value)
    return match.group(2) if match else value


def _address(value: str) -> str:
    address = _untyped(value).strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1].strip()
    return _squeeze(_UTF8_ESCAPE.sub(_unescape_char, address))


def _unescape_char(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    return chr(code) if 0x20 <= code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group(0)


def _status(fields: dict[str, str], diagnostic: str) -> tuple[str, str, str] | None:
    """The RFC 3463 code (class, subject, detail) from Status, else from the diagnostic
    text, where servers repeat it ("550 5.1.1 ...")."""
    match = _CODE.match(fields.get("status", "").strip()[:40]) or _CODE.search(diagnostic[:MAX_VALUE])
    if match is None:
        return None
    return match.group(1), str(int(match.group(2))), str(int(match.group(3)))


def _recipient_block(fields: dict[str, str], reported_by: str) -> list[str]:
    recipient = _address(fields.get("final-recipient", "") or fields.get("original-recipient", ""))
    original = _address(fields.get("original-recipient", ""))
    diagnostic = _squeeze(_untyped(fields.get("diagnostic-code", "")))
    code = _status(fields, diagnostic)
    action = _SPACES.split(fields.get("action", "").strip().lower(), 1)[0]
    if action not in _ACTIONS:
        action = _CLASS_ACTIONS.get(code[0] if code else "", "")
    heading = _ACTIONS.get(action, "Delivery report:")
    if original and original.lower() != recipient.lower():
        recipient = f"{recipient} (sent to {original})" if recipient else original
    lines = [f"{heading} {recipient or '(recipient not given)'}"]
    if diagnostic:
        lines.append(f"  Why: {diagnostic}")
    if code:
        lines.append(f"  Meaning: {status_meaning(*code)}")
    remote = _squeeze(_untyped(fields.get("remote-mta", "")))
    if remote:
        lines.append(f"  Remote server: {remote}")
    retry = _squeeze(fields.get("will-retry-until", ""))
    if retry and action == "delayed":
        lines.append(f"  Will retry until: {retry}")
    if reported_by:
        lines.append(f"  Reported by: {reported_by}")
    return lines


def _summary_of_text(text: str) -> str:
    blocks = _blocks(text)
    reported_by = next((_squeeze(_untyped(b["reporting-mta"])) for b in blocks if "reporting-mta" in b), "")
    recipients = [
        b for b in blocks if any(k in b for k in ("final-recipient", "original-recipient", "action", "status"))
    ]
    if not recipients:
        if not reported_by:
            return ""
        return f"Delivery report with no recipient details\n  Reported by: {reported_by}"
    single = len(recipients) == 1
    lines: list[str] = []
    for fields in recipients[:MAX_RECIPIENTS]:
        lines += _recipient_block(fields, reported_by if single else "")
    if len(recipients) > MAX_RECIPIENTS:
        lines.append(f"and {len(recipients) - MAX_RECIPIENTS} more")
    if reported_by and not single:
        lines.append(f"Reported by: {reported_by}")
    return "\n".join(lines)


# --- finding the report in a message -----------------------------------------------


def _ctype(part: Message) -> str:
    return part_meta(part).ctype


def _children(part: Message) -> list[Message]:
    try:
        payload = part.get_payload()
    except Exception:
        return []
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _report_part(msg: Message) -> Message | None:
    """The first delivery-status part of the message itself, the root included; not one
    inside an attached message (the returned original may itself be a bounce)."""
    todo, seen = [(msg, 0)], 0
    while todo and seen < _MAX_PARTS:
        part, depth = todo.pop()
        seen += 1
        ctype = _ctype(part)
        if ctype in DSN_TYPES:
            return part
        if ctype.startswith("multipart/") and depth < _MAX_DEPTH:
            todo += [(kid, depth + 1) for kid in reversed(_children(part))]
    return None


def _raw(value: object) -> str:
    """A raw header value from the parser; 8-bit bytes it kept as surrogate escapes are
    read back as UTF-8 (global reports are UTF-8)."""
    if not isinstance(value, str):
        return ""
    return value[:MAX_INPUT].encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _body(part: Message) -> str:
    """A non-multipart entity's body as UTF-8 text (get_payload without decode would
    turn 8-bit bytes into U+FFFD)."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return ""
    return data[:MAX_INPUT].decode("utf-8", "replace") if isinstance(data, bytes) else ""


def _report_text(part: Message) -> str:
    """The report part's body as text.  The email package splits message/delivery-status
    into one header-only Message per block, and parses message/global-delivery-status
    as one message (first block = headers, the rest its body): put the text back."""
    try:
        payload = part.get_payload()
    except Exception:
        return ""
    if not isinstance(payload, list):
        return _body(part)
    pieces, size = [], 0
    for block in payload:
        if not isinstance(block, Message) or size > MAX_INPUT:
            continue
        try:
            items = list(block.raw_items())[:1000]
        except Exception:
            continue
        piece = "\n".join(f"{_raw(k)}: {_raw(v)}" for k, v in items)
        body = _body(block) if not block.is_multipart() else ""
        if body.strip():
            piece += "\n\n" + body
        pieces.append(piece)
        size += len(piece)
    return _transfer_decoded(part, "\n\n".join(pieces))


def _transfer_decoded(part: Message, text: str) -> str:
    """RFC 6533 lets a global report be base64 or quoted-printable encoded."""
    try:
        encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    except Exception:
        return text
    data = text.encode("utf-8", "replace")[:MAX_INPUT]
    try:
        if encoding == "base64":
            return base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", data) + b"==").decode("utf-8", "replace")
        if encoding == "quoted-printable":
            return quopri.decodestring(data).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return text
    return text


def _looks_like_bounce(msg: Message) -> bool:
    subject = _squeeze(header_text(msg, "subject")).lower()
    if subject.startswith(_BOUNCE_SUBJECTS):
        return True
    sender = header_text(msg, "from").lower()
    return any(daemon in sender for daemon in _DAEMONS) and any(word in subject for word in _BOUNCE_WORDS)


# --- entry points -----------------------------------------------------------------


def summarize_status(payload: bytes) -> str:
    """A plain-words summary of the body of a message/delivery-status (or
    message/global-delivery-status) part, transfer-decoded; "" when it has no report
    in it.  Never raises."""
    try:
        if isinstance(payload, (bytearray, memoryview)):
            payload = bytes(payload)
        if isinstance(payload, str):
            payload = payload.encode("utf-8", "surrogateescape")
        if not isinstance(payload, bytes):
            return ""
        return _summary_of_text(payload[:MAX_INPUT].decode("utf-8", "replace"))
    except Exception:  # a bug here must not cost the user the message
        return ""


def summarize(msg: Message) -> str:
    """A plain-words summary of the delivery report `msg` is or carries, or a short note
    when it looks like a bounce without one; "" for other mail.  Never raises."""
    try:
        part = _report_part(msg)
        if part is not None:
            summary = _summary_of_text(_report_text(part))
            if summary:
                return summary
        return NO_REPORT_BOUNCE if part is None and _looks_like_bounce(msg) else ""
    except Exception:
        return ""
