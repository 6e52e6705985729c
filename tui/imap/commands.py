"""What the app can ask of an IMAP server, as plain functions over an IMAPClient.

Every function here runs on the account's worker thread. Mailboxes are named by
the raw bytes the server sent in LIST, so a modified UTF-7 name goes back
byte-exact; messages are named by UID only.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field

from imapclient import IMAPClient, imap_utf7
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from imapclient.response_parser import parse_fetch_response

from .uidset import compress_uids
from ..models import SPECIAL_USES, Mailbox, MailboxStatus


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


def quote_mailbox(raw_name: bytes) -> bytes:
    """A checked mailbox name (or LIST pattern) as an IMAP quoted string, byte-exact."""
    check_mailbox_name(raw_name)
    return b'"' + raw_name.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def list_mailboxes(client: IMAPClient, pattern: bytes = b"*") -> list[Mailbox]:
    """LIST (and LSUB, for the subscriptions) with `pattern`, which may hold * and %."""
    check_mailbox_name(pattern)
    listed = client.list_folders(pattern=pattern)
    try:
        subscribed = {_as_bytes(name) for _flags, _delim, name in client.list_sub_folders(pattern=pattern)}
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
MAX_KEYWORD = 100
_ATOM_SPECIALS = '(){ %*"\\]'


def keyword_problem(keyword: str) -> str | None:
    """Why `keyword` cannot be sent as an IMAP keyword (an atom), or None when it can."""
    shown = ascii(keyword[:40]) + ("…" if len(keyword) > 40 else "")
    if not keyword:
        return "a keyword cannot be empty"
    if keyword.startswith("\\"):
        return f"{shown} is not a system flag, and keywords cannot start with a backslash"
    if len(keyword) > MAX_KEYWORD:
        return f"{shown} is too long for a keyword (at most {MAX_KEYWORD} characters)"
    for char in keyword:
        if not " " < char < "\x7f":
            return f"{shown} cannot be a keyword: only printable ASCII without spaces is allowed"
        if char in _ATOM_SPECIALS:
            return f"{shown} cannot be a keyword: it holds {char!r}, which IMAP does not allow there"
    return None


def check_flag(flag: str) -> str:
    """A system flag (spelt as RFC 3501 does) or a valid keyword; else UnsafeArgument."""
    for system in SYSTEM_FLAGS:
        if flag.lower() == system.lower():
            return system
    problem = keyword_problem(flag)
    if problem:
        raise UnsafeArgument(problem)
    return flag


def store_flags(client: IMAPClient, uids: list[int], flags: tuple[str, ...], add: bool) -> dict[int, frozenset[str]]:
    """One UID STORE over a compressed UID set; returns each message's flags as the server now has them.

    imapclient's add_flags cannot take a compressed set (it int()s the set to filter
    the answer), so the command goes out raw through `run_command`, which also keeps
    the unsolicited answers in order for the change tracking.
    """
    checked = [check_flag(flag) for flag in flags]  # all of them, before anything is sent
    if not checked:
        raise UnsafeArgument("no flags to change")
    reply = run_command(
        client, "UID", b"STORE", compress_uids(uids).encode("ascii"), b"+FLAGS" if add else b"-FLAGS",
        b"(" + " ".join(checked).encode("ascii") + b")",
    )
    if reply.status != "OK":
        raise IMAPClientError(f"the server refused to change the flags: {reply.sentence()}")
    wanted = set(uids)
    result = {
        event.uid: event.flags
        for event in reply.untagged
        if event.kind == "FETCH" and event.uid in wanted and event.flags is not None
    }
    missing = [uid for uid in uids if uid not in result]
    if missing:  # a server need not echo unchanged flags: ask rather than guess
        result.update(read_flags(client, missing))
    return result


# -- commands whose answers are kept in order ---------------------------------------------
#
# imaplib files untagged answers into a dict of lists by kind, which loses their order:
# "* 3 EXPUNGE" and "* 5 EXISTS" only mean something in the order they came. run_command
# reads the answers itself, in order, and appends them to the connection's journal, which
# the change tracking (mutations.synchronise) replays. Answers imaplib filed for other
# commands (a background FETCH, a SEARCH) are moved into the journal as one unordered
# "LEFTOVER" entry before each command, so the journal stays in time order.

_STATE_KEYS = ("EXISTS", "EXPUNGE", "FETCH", "VANISHED")
_IGNORED_KEYS = ("RECENT",)
MAX_JOURNAL = 20000  # beyond this, a journal is replaced by "search everything again"
_CODE = re.compile(rb"\[([A-Za-z0-9.-]+)(?: ([^\]]*))?\]\s*")
_NUMBERED = re.compile(rb"(\d+) ([A-Za-z]+)(?: (.*))?$", re.S)
_DOVECOT_TIMING = re.compile(r"\s*\(\d+\.\d+(?: \+ \d+\.\d+)* secs\)")


@dataclass(frozen=True)
class Untagged:
    """One untagged answer, parsed as far as the change tracking needs."""

    kind: str  # "EXISTS", "EXPUNGE", "FETCH", "SEARCH", "OK", "NO", "BYE", ..., "LEFTOVER", "UNPARSED"
    number: int | None = None  # message sequence number (EXISTS: the count)
    uid: int | None = None  # FETCH: when the server named it
    flags: frozenset[str] | None = None  # FETCH: when it carried FLAGS
    uids: tuple[int, ...] = ()  # SEARCH
    code: str | None = None  # OK/NO: the [CODE] it carried
    code_data: bytes = b""
    text: str = ""
    leftovers: dict | None = None  # LEFTOVER: imaplib's unordered lists by kind


@dataclass
class Reply:
    status: str  # "OK" or "NO" (BAD raises)
    text: str  # the tagged text without its [CODE]
    code: str | None
    code_data: bytes
    untagged: list[Untagged] = field(default_factory=list)

    def codes(self) -> dict[str, bytes]:
        """Every response code of this command, untagged ones first."""
        found = {e.code: e.code_data for e in self.untagged if e.code}
        if self.code:
            found[self.code] = self.code_data
        return found

    def sentence(self) -> str:
        """The server's text on one line, without Dovecot's timings."""
        return one_line(self.text) or f"the server said {self.status}"


def one_line(text: str) -> str:
    text = _DOVECOT_TIMING.sub("", text)
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:300]


_journals: "weakref.WeakKeyDictionary[IMAPClient, list[Untagged]]" = weakref.WeakKeyDictionary()


def journal(client: IMAPClient) -> list[Untagged]:
    return _journals.setdefault(client, [])


def take_journal(client: IMAPClient) -> list[Untagged]:
    """Everything the server said about the selected mailbox since the last call, in order."""
    _drain_leftovers(client)
    events = journal(client)
    _journals[client] = []
    return events


def reset_journal(client: IMAPClient) -> None:
    """After SELECT: what came before was about another mailbox (or another view of it).

    imaplib's own lists are left alone: SELECT emptied them, and what they hold now (the
    EXISTS of the SELECT, anything that came during its searches) is about this one.
    """
    _journals[client] = []


def _drain_leftovers(client: IMAPClient) -> None:
    pending = client._imap.untagged_responses
    leftovers = {key: pending.pop(key) for key in _STATE_KEYS if key in pending}
    for key in _IGNORED_KEYS:
        pending.pop(key, None)
    if leftovers:
        _append(client, [Untagged("LEFTOVER", leftovers=leftovers)])


def _append(client: IMAPClient, events: list[Untagged]) -> None:
    kept = journal(client)
    kept.extend(e for e in events if e.kind in ("EXISTS", "EXPUNGE", "FETCH", "LEFTOVER", "UNPARSED", "VANISHED"))
    if len(kept) > MAX_JOURNAL:  # nobody asked for a long time: start over from a full search
        _journals[client] = [Untagged("UNPARSED")]


@dataclass(frozen=True)
class Literal:
    """An argument sent as an IMAP literal: its length goes first, so no byte of it is syntax."""

    data: bytes


MAX_LITERAL_MINUS = 4096  # LITERAL- (RFC 7888) allows non-synchronising literals up to this size


def run_command(client: IMAPClient, name: str, *args: bytes | Literal, keep: bool = True) -> Reply:
    """Send one command (arguments already checked and quoted) and read its answers in order.

    NO comes back as a Reply; BAD raises IMAPClientError, BYE IMAPClientAbortError. With
    `keep`, the untagged answers also go to the connection's journal.
    """
    imap = client._imap
    _drain_leftovers(client)
    events: list[Untagged] = []
    if any(isinstance(arg, Literal) for arg in args):
        tag = _send_with_literals(client, name, args, events)
    else:
        tag = imap._command(name, *args)
    while not imap.tagged_commands.get(tag):
        line = _read_answer(imap)
        if imap.tagged_commands.get(tag):
            break
        if line is None:  # a continuation request: every literal of ours has been sent
            raise IMAPClientAbortError(f"{name}: the server asked for more data than the command has")
        events.append(_parsed(line))
    status, data = imap.tagged_commands.pop(tag)
    # imaplib filed the same answers by kind too; they are ours, in order, already.
    for key in {*_STATE_KEYS, *_IGNORED_KEYS, "OK", "NO", "BAD", "SEARCH", "ESEARCH"} | {e.code for e in events if e.code}:
        imap.untagged_responses.pop(key, None)
    raw = data[0] if data and isinstance(data[0], bytes) else b""
    code, code_data, text = _split_code(raw)
    if code:
        imap.untagged_responses.pop(code, None)
    if keep:
        _append(client, events)
    for event in events:
        if event.kind == "BYE":
            raise IMAPClientAbortError(f"the server closed the connection: {one_line(event.text)}")
    command = " ".join([name, *(a.decode("ascii", "replace") for a in args[:1] if isinstance(a, bytes))])
    if status == "BAD":
        raise IMAPClientError(f"{command} failed: {one_line(text)}")
    return Reply(status, text, code, code_data, events)


def _send_with_literals(client: IMAPClient, name: str, args: tuple[bytes | Literal, ...],
                        events: list[Untagged]) -> bytes:
    """Send a command whose arguments include literals; its tag.

    imaplib sends at most one literal, at the end. With LITERAL+ (or LITERAL- for small
    ones) the whole command goes at once; else each literal waits for the server's "+".
    Answers that come meanwhile go to `events`, in order. When the server refuses
    instead of saying "+", the rest is not sent: its tagged answer ends the command.
    """
    imap = client._imap
    capabilities = client.capabilities()
    tag = imap._new_tag()
    imap.tagged_commands[tag] = None
    line = tag + b" " + name.encode("ascii")
    for arg in args:
        if not isinstance(arg, Literal):
            line += b" " + arg
            continue
        size = len(arg.data)
        nonsync = b"LITERAL+" in capabilities or (b"LITERAL-" in capabilities and size <= MAX_LITERAL_MINUS)
        line += b" {%d%s}\r\n" % (size, b"+" if nonsync else b"")
        if not nonsync:
            imap.send(line)
            line = b""
            if not _continued(imap, tag, events):
                return tag
        line += arg.data
    imap.send(line + b"\r\n")
    return tag


def _continued(imap, tag: bytes, events: list[Untagged]) -> bool:
    """Wait for the "+" that lets a literal go; False when the command was answered instead."""
    while True:
        line = _read_answer(imap)
        if line is None:
            return True
        if imap.tagged_commands.get(tag):
            return False
        events.append(_parsed(line))


def _read_answer(imap, first: bytes | None = None):
    """imaplib's next response line (`first`: its first line, already taken from the socket).

    A line it cannot take (too long, malformed, a literal size of thousands of digits)
    leaves the rest of the answer unread, so the connection is out of step: that is an
    abort. (A literal announced huge is the connection's to refuse: connection._CappedLiterals.)
    """
    if first is None:
        return _get_response(imap)
    own = imap.__dict__.get("readline")  # the trace's wrapper, if one is attached

    def once() -> bytes:
        _restore_readline(imap, once, own)
        return first

    imap.readline = once
    try:
        return _get_response(imap)
    finally:
        _restore_readline(imap, once, own)


def _get_response(imap):
    try:
        return imap._get_response()
    except IMAPClientAbortError:
        raise
    except (IMAPClientError, ValueError) as error:
        raise IMAPClientAbortError(f"unreadable answer from the server: {error}") from error


def _restore_readline(imap, once, own) -> None:
    if imap.__dict__.get("readline") is once:  # unless somebody replaced it meanwhile
        if own is None:
            del imap.readline
        else:
            imap.readline = own


def _parsed(line: bytes) -> Untagged:
    try:
        return parse_untagged(line)
    except ValueError as error:  # e.g. a number of thousands of digits: a hostile server
        raise IMAPClientAbortError(f"unreadable answer from the server: {one_line(str(error))}") from error


def _split_code(raw: bytes) -> tuple[str | None, bytes, str]:
    match = _CODE.match(raw)
    if not match:
        return None, b"", raw.decode("utf-8", "replace")
    return (match.group(1).decode("ascii").upper(), match.group(2) or b"",
            raw[match.end():].decode("utf-8", "replace"))


def parse_untagged(line: bytes) -> Untagged:
    body = line[2:] if line.startswith(b"* ") else line
    if re.search(rb"\{\d+\+?\}$", body):  # the rest came as a literal: not an answer we track
        return Untagged("UNPARSED")
    numbered = _NUMBERED.match(body)
    if numbered:
        number, kind, rest = int(numbered.group(1)), numbered.group(2).decode().upper(), numbered.group(3)
        if kind != "FETCH":
            return Untagged(kind, number)
        try:
            item = parse_fetch_response([numbered.group(1) + b" " + (rest or b"")], True, False)[number]
        except Exception:  # a FETCH we cannot read: the tracking falls back to a full search
            return Untagged("UNPARSED")
        flags = item.get(b"FLAGS")
        uid = item.get(b"UID")
        return Untagged(
            "FETCH", number, uid=int(uid) if uid is not None else None,
            flags=frozenset(_as_str(f) for f in flags) if flags is not None else None,
        )
    word, _, rest = body.partition(b" ")
    kind = word.decode("ascii", "replace").upper()
    if kind in ("EXISTS", "EXPUNGE", "RECENT", "FETCH"):  # these need a number: without, we lost track
        return Untagged("UNPARSED")
    if kind == "SEARCH":
        numbers = rest.split(b"(")[0].split()  # "(MODSEQ n)" may follow with CONDSTORE
        return Untagged("SEARCH", uids=tuple(int(n) for n in numbers if n.isdigit()))
    if kind in ("OK", "NO", "BAD", "BYE", "PREAUTH"):
        code, code_data, text = _split_code(rest)
        return Untagged(kind, code=code, code_data=code_data, text=text)
    return Untagged(kind, text=rest.decode("utf-8", "replace"))


def read_flags(client: IMAPClient, uids: list[int]) -> dict[int, frozenset[str]]:
    """The flags the server has for these UIDs (expunged ones are simply absent).

    Through run_command rather than imapclient's get_flags: its reader would allocate any
    literal size a server announces, and the answers' EXPUNGEs reach the journal in order.
    """
    wanted = set(uids)
    flags: dict[int, frozenset[str]] = {}
    for start in range(0, len(uids), 2000):  # keep each command line well under 64 KB
        reply = run_command(client, "UID", b"FETCH", compress_uids(uids[start : start + 2000]).encode("ascii"),
                            b"(UID FLAGS)")
        if reply.status != "OK":
            raise IMAPClientError(f"cannot read the flags: {reply.sentence()}")
        for event in reply.untagged:
            if event.kind == "FETCH" and event.uid in wanted and event.flags is not None:
                flags[event.uid] = event.flags
    return flags


def mark_seen(client: IMAPClient, uid: int) -> frozenset[str]:
    flags = client.add_flags([uid], [b"\\Seen"]).get(uid)
    if flags is None:  # the server did not echo the flags: ask rather than guess
        flags = client.get_flags([uid]).get(uid, ())
    return frozenset(_as_str(f) for f in flags)


def _as_bytes(value: bytes | str | int) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def _as_str(value: bytes | str, errors: str = "replace") -> str:
    return value.decode("utf-8", errors) if isinstance(value, bytes) else str(value)

