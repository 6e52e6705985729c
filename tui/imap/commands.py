"""What the app can ask of an IMAP server, as plain functions over an IMAPClient.

Every function here runs on the account's worker thread. Mailboxes are named by
the raw bytes the server sent in LIST, so a modified UTF-7 name goes back
byte-exact; messages are named by UID only.
"""

from __future__ import annotations

import email.errors
import email.header
from datetime import datetime, timezone

from imapclient import IMAPClient, imap_utf7
from imapclient.exceptions import IMAPClientError, IMAPClientReadOnlyError, ProtocolError
from imapclient.response_types import Address as ImapAddress

from imapclient.response_parser import parse_fetch_response
from imapclient.imapclient import seq_to_parenstr

from .uidset import compress_uids
from ..models import SPECIAL_USES, Address, Envelope, Mailbox, MailboxStatus, SelectedMailbox

# Header fields whose Content-Type tells us, cheaply, whether a message has attachments.
_CONTENT_TYPE = b"BODY[HEADER.FIELDS (CONTENT-TYPE)]"
ENVELOPE_ITEMS = ["UID", "FLAGS", "ENVELOPE", "INTERNALDATE", "RFC822.SIZE", "BODY.PEEK[HEADER.FIELDS (CONTENT-TYPE)]"]

# Names many servers use for special folders when they do not speak SPECIAL-USE.
_SPECIAL_BY_NAME = {
    "sent": "\\Sent",
    "sent items": "\\Sent",
    "sent messages": "\\Sent",
    "sent mail": "\\Sent",
    "drafts": "\\Drafts",
    "trash": "\\Trash",
    "deleted items": "\\Trash",
    "deleted messages": "\\Trash",
    "junk": "\\Junk",
    "spam": "\\Junk",
    "archive": "\\Archive",
    "archives": "\\Archive",
}


class UnsafeArgument(ValueError):
    """A value that would break out of its IMAP argument if sent."""


class MessageGone(IMAPClientError):
    """The UID is not (or no longer) in the mailbox."""


def check_mailbox_name(raw_name: bytes) -> bytes:
    # imapclient quotes, but a CR/LF inside quotes still ends the command line.
    if any(c in raw_name for c in b"\r\n\x00"):
        raise UnsafeArgument("mailbox name holds a line break or NUL; refusing to send it")
    try:
        raw_name.decode("ascii")
    except UnicodeDecodeError:
        raise UnsafeArgument("mailbox name is not 7-bit (modified UTF-7); refusing to send it") from None
    return raw_name


def decode_mailbox_name(raw_name: bytes) -> str:
    try:
        return imap_utf7.decode(raw_name)
    except Exception:  # a broken modified UTF-7 name still gets shown
        return raw_name.decode("utf-8", "replace")


def list_mailboxes(client: IMAPClient) -> list[Mailbox]:
    listed = client.list_folders()
    try:
        subscribed = {_as_bytes(name) for _flags, _delim, name in client.list_sub_folders()}
    except IMAPClientError:
        subscribed = set()
    has_special_use = b"SPECIAL-USE" in client.capabilities()
    mailboxes = []
    for flags, delimiter, name in listed:
        raw_name = _as_bytes(name)
        attributes = frozenset(_as_str(f) for f in flags)
        display = decode_mailbox_name(raw_name)
        delim = _as_str(delimiter) if delimiter else None
        mailboxes.append(
            Mailbox(
                raw_name=raw_name,
                name=display,
                delimiter=delim,
                attributes=attributes,
                subscribed=raw_name in subscribed,
                special_use=_special_use(attributes, display, delim, has_special_use),
            )
        )
    return mailboxes


def _special_use(attributes: frozenset[str], name: str, delimiter: str | None, server_says: bool) -> str | None:
    lowered = {a.lower(): a for a in attributes}
    for use in SPECIAL_USES:
        if use.lower() in lowered:
            return use
    if server_says:
        return None
    # Only top-level names: "Projects/Sent" is somebody's folder, not the Sent folder.
    if delimiter and delimiter in name:
        return None
    return _SPECIAL_BY_NAME.get(name.lower())


def fetch_status(client: IMAPClient, raw_name: bytes) -> MailboxStatus:
    status = client.folder_status(check_mailbox_name(raw_name), [b"MESSAGES", b"UNSEEN"])
    return MailboxStatus(
        raw_name=raw_name, messages=int(status.get(b"MESSAGES", 0)), unseen=int(status.get(b"UNSEEN", 0))
    )


def count_unseen(client: IMAPClient) -> int:
    """Unseen messages in the selected mailbox."""
    return len(client.search(["UNSEEN"]))


def select_mailbox(client: IMAPClient, raw_name: bytes, read_only: bool) -> SelectedMailbox:
    check_mailbox_name(raw_name)
    try:
        info = client.select_folder(raw_name, readonly=read_only)
    except IMAPClientReadOnlyError:
        # The server opened it [READ-ONLY]; imaplib reports that as an abort, but the
        # connection is fine. EXAMINE gets us the mailbox's data, honestly read-only.
        info = client.select_folder(raw_name, readonly=True)
        read_only = True
    exists = int(info.get(b"EXISTS", 0))
    uids = sorted(client.search(["ALL"])) if exists else []
    unseen = count_unseen(client) if exists else 0
    server_read_only = info.get(b"READ-ONLY", False) or not info.get(b"READ-WRITE", not read_only)
    return SelectedMailbox(
        raw_name=raw_name,
        uidvalidity=int(info.get(b"UIDVALIDITY", 0)),
        exists=exists,
        read_only=bool(read_only or server_read_only),
        uids=tuple(uids),
        unseen=unseen,
        permanent_flags=frozenset(_as_str(f) for f in info.get(b"PERMANENTFLAGS", ())),
        flags=frozenset(_as_str(f) for f in info.get(b"FLAGS", ())),
        recent=int(info.get(b"RECENT", 0)),
        uidnext=_optional_int(info.get(b"UIDNEXT")),
        highestmodseq=_optional_int(info.get(b"HIGHESTMODSEQ")),
    )


def _optional_int(value) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def fetch_envelopes(client: IMAPClient, uids: list[int]) -> list[Envelope]:
    """Fetch and parse one batch of list rows.

    A message whose answer cannot be parsed degrades to a placeholder row; it
    never costs the rest of the batch.
    """
    if not uids:
        return []
    try:
        response = client.fetch(uids, ENVELOPE_ITEMS)
    except (ProtocolError, ValueError):
        # Our parser choked on someone's answer: find the one message to blame.
        # A NO, BAD or dropped connection is not the messages' fault and propagates.
        if len(uids) == 1:
            return [_placeholder(uids[0], "(unreadable message)")]
        half = len(uids) // 2
        return fetch_envelopes(client, uids[:half]) + fetch_envelopes(client, uids[half:])
    envelopes = []
    for uid in uids:
        data = response.get(uid)
        if data is None:  # expunged by another client meanwhile
            envelopes.append(_placeholder(uid, "(no longer on the server)"))
            continue
        try:
            envelopes.append(_envelope_from_fetch(uid, data))
        except Exception:  # hostile ENVELOPE shapes: keep the row, lose the details
            envelopes.append(_placeholder(uid, "(unreadable message)"))
    return envelopes


def fetch_message(client: IMAPClient, uid: int, max_bytes: int) -> tuple[bytes, bool]:
    """The message source, at most `max_bytes` of it. BODY.PEEK never sets \\Seen."""
    section = f"BODY.PEEK[]<0.{max_bytes + 1}>"
    response = client.fetch([uid], [section, "RFC822.SIZE"])
    data = response.get(uid)
    if data is None:
        raise MessageGone("this message is no longer on the server")
    raw = data.get(b"BODY[]<0>")
    if raw is None:
        raw = data.get(b"BODY[]", b"") or b""
    return raw[:max_bytes], len(raw) > max_bytes


SYSTEM_FLAGS = frozenset({"\\Seen", "\\Flagged", "\\Deleted", "\\Answered", "\\Draft"})


def store_flags(client: IMAPClient, uids: list[int], flags: tuple[str, ...], add: bool) -> dict[int, frozenset[str]]:
    """One UID STORE over a compressed UID set; returns each message's flags as the server now has them.

    imapclient's add_flags cannot take a compressed set (it int()s the set to filter
    the answer), so the command is sent through its checked-command path and the
    FETCH answers parsed here.
    """
    unknown = set(flags) - SYSTEM_FLAGS
    if unknown:  # keywords come with their own validation in a later change
        raise UnsafeArgument(f"not a system flag: {sorted(unknown)[0]}")
    command = b"+FLAGS" if add else b"-FLAGS"
    data = client._command_and_check(
        "store", compress_uids(uids).encode("ascii"), command, seq_to_parenstr(list(flags)), uid=True
    )
    wanted = set(uids)
    result = {
        uid: frozenset(_as_str(f) for f in item.get(b"FLAGS", ()))
        for uid, item in parse_fetch_response(data, client.normalise_times, True).items()
        if uid in wanted
    }
    missing = [uid for uid in uids if uid not in result]
    if missing:  # a server need not echo unchanged flags: ask rather than guess
        result.update(read_flags(client, missing))
    return result


def read_flags(client: IMAPClient, uids: list[int]) -> dict[int, frozenset[str]]:
    """The flags the server has for these UIDs (expunged ones are simply absent)."""
    flags: dict[int, frozenset[str]] = {}
    for start in range(0, len(uids), 2000):  # keep each command line well under 64 KB
        for uid, items in client.get_flags(uids[start : start + 2000]).items():
            flags[uid] = frozenset(_as_str(f) for f in items)
    return flags


def mark_seen(client: IMAPClient, uid: int) -> frozenset[str]:
    flags = client.add_flags([uid], [b"\\Seen"]).get(uid)
    if flags is None:  # the server did not echo the flags: ask rather than guess
        flags = client.get_flags([uid]).get(uid, ())
    return frozenset(_as_str(f) for f in flags)


def _envelope_from_fetch(uid: int, data: dict) -> Envelope:
    env = data.get(b"ENVELOPE")
    internal = data.get(b"INTERNALDATE")
    date = getattr(env, "date", None) or internal
    if isinstance(date, datetime) and date.tzinfo is None:
        date = date.replace(tzinfo=timezone.utc)
    senders = (getattr(env, "from_", None) or getattr(env, "sender", None) or ()) if env else ()
    content_type = data.get(_CONTENT_TYPE, b"") or b""
    return Envelope(
        uid=uid,
        flags=frozenset(_as_str(f) for f in data.get(b"FLAGS", ())),
        date=date if isinstance(date, datetime) else None,
        sender=_address(senders[0]) if senders else None,
        to=tuple(_address(a) for a in (getattr(env, "to", None) or ()) if a.mailbox),
        subject=decode_header(getattr(env, "subject", None)),
        size=int(data.get(b"RFC822.SIZE", 0) or 0),
        message_id=decode_header(getattr(env, "message_id", None)),
        has_attachment=_looks_like_attachment(content_type),
    )


def _looks_like_attachment(header_block: bytes) -> bool:
    lowered = header_block.lower()
    return b"multipart/mixed" in lowered or b"multipart/report" in lowered


def _placeholder(uid: int, why: str) -> Envelope:
    return Envelope(uid=uid, flags=frozenset(), date=None, sender=None, to=(), subject=why, size=0)


def _address(addr: ImapAddress) -> Address:
    mailbox = _as_str(addr.mailbox or b"", errors="replace")
    host = _as_str(addr.host or b"", errors="replace")
    return Address(name=decode_header(addr.name), mailbox=f"{mailbox}@{host}" if host else mailbox)


def decode_header(value: bytes | str | None) -> str:
    """RFC 2047 decoding that never raises: bad words degrade to replacement characters."""
    if value is None:
        return ""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    if "=?" not in text:
        return text
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
        return text


def _as_bytes(value: bytes | str | int) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def _as_str(value: bytes | str, errors: str = "replace") -> str:
    return value.decode("utf-8", errors) if isinstance(value, bytes) else str(value)

