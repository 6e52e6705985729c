"""One UID command with a big answer (the list rows, every flag, every UID), read lean.

imaplib's reader spends about 15 us of Python on each line it reads: two or three regexes,
a debug repr of the line, bookkeeping. For a 100,000-message FETCH that is 1.4 s of CPU,
all of it holding the GIL the UI thread needs, while the socket itself delivers the answer
in about 1.1 s. Here each `* N FETCH` answer is taken from the connection's buffered file
with readline/read and filed exactly where and as imaplib files it (its
`untagged_responses["FETCH"]`: `(line up to "{n}", literal)` tuples, then the rest of the
line). Every other line (the tagged end, EXISTS, EXPUNGE, VANISHED, BYE, a continuation)
is handed to imaplib's own reader, so what those mean never changes.

The protocol trace, when one is attached, is shown every answer read here too
(`trace.shown_past`); past its first few FETCH answers it only counts them.

A FETCH answer with a line longer than imaplib's limit (a 20 MB FLAGS list, an ENVELOPE
of a million addresses) costs that answer only: the rest of it is read in bounded chunks
and dropped, its start and end kept in `Outcome.damaged` (they name its UID). Beyond
`MAX_DAMAGED_LINE` bytes without a line end the server is not speaking IMAP: an abort.

Pure module: no Textual. Runs on the account's worker thread.
"""

from __future__ import annotations

import imaplib
import re

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from .commands import _drain_leftovers, _read_answer, one_line
from .trace import shown_past

__all__ = ["Outcome", "check", "put_back", "read_uid", "run_uid", "send_uid"]

_FETCH_LINE = re.compile(rb"\* (\d{1,10}) FETCH (?=\()")
_LITERAL_AT_END = re.compile(rb"\{(\d+)\}\Z")  # as imaplib reads them; the excess is dropped
_DIGITS_AT_END = re.compile(rb"\d+\}")
_CODE = re.compile(rb"\s*\[([A-Za-z0-9.-]+)")
MAX_KEPT = 16 * 1024 * 1024  # bytes of one literal kept by default
_CHUNK = 1024 * 1024  # a longer literal is read this much at a time (see _read_capped)
_MAX_DIGITS = 20  # a literal size beyond 2**64 is no size: nobody could send it
MAX_DAMAGED_LINE = 64 * 1024 * 1024  # bytes of one over-long answer line read past, at most
_KEPT_OF_DAMAGED = 200  # bytes kept of its start and of its end


class Outcome:
    """What one command brought: its tagged status and text, the FETCH answers in imaplib's
    format, where in them each EXPUNGE (sequence number) arrived, and the answers too long
    to read (`damaged`: each as its first and last bytes, b"* 12 FETCH (UID 40 FLAGS (a b ... y z))")."""

    __slots__ = ("damaged", "expunges", "fetched", "status", "tag", "text", "vanished")

    def __init__(self, tag, status, text, fetched, expunges, vanished, damaged=()) -> None:
        self.tag, self.status, self.text = tag, status, text
        self.fetched, self.expunges, self.vanished = fetched, expunges, vanished
        self.damaged = list(damaged)

    def code(self) -> bytes:
        found = _CODE.match(self.text)
        return found.group(1).upper() if found else b""


def run_uid(client: IMAPClient, *args: bytes, answers: str = "FETCH", keep: int = MAX_KEPT) -> Outcome:
    """Send `UID <args>` and read every answer to it (`send_uid`, then `read_uid`)."""
    return read_uid(client, send_uid(client, *args, answers=answers), keep)


def send_uid(client: IMAPClient, *args: bytes, answers: str = "FETCH") -> bytes:
    """Send `UID <args>`; its tag. Read its answers with `read_uid` before anything else.

    Answers that came before this command are first moved into the change journal (as
    run_command does), so what is filed afterwards came during it.
    """
    imap = client._imap
    _drain_leftovers(client)
    if answers != "FETCH":
        imap.untagged_responses.pop(answers, None)  # a search nobody collected: not the answer to this one
    return imap._command("UID", *args)


def read_uid(client: IMAPClient, tag: bytes, keep: int = MAX_KEPT) -> Outcome:
    """Every answer to the command `tag` (sent by `send_uid`).

    Of a FETCH answer's literal, the first `keep` bytes are kept; the rest is read and
    dropped, so a server's {9999999999} costs neither memory nor the connection. A FETCH
    answer with a line too long for imaplib is read past and noted in `damaged`. EXPUNGEs
    are noted with how many FETCH items had arrived before each: the sequence numbers of
    the FETCH answers before an EXPUNGE are in the numbering before it.
    """
    imap = client._imap
    pending = imap.untagged_responses
    expunges: list[tuple[int, bytes]] = []

    def other_line_read() -> None:
        if "EXPUNGE" in pending:  # rare: another client expunged meanwhile
            expunged = pending["EXPUNGE"]
            if len(expunged) > len(expunges):
                arrived = len(pending.get("FETCH", ()))
                expunges.extend((arrived, number) for number in expunged[len(expunges):])

    damaged = _read_until_tagged(imap, tag, other_line_read, keep)
    status, data = imap.tagged_commands.pop(tag)
    bye = pending.get("BYE")
    if bye:
        raise IMAPClientAbortError(f"the server closed the connection: {one_line(_text(bye[-1]))}")
    vanished = list(pending.get("VANISHED", ()))
    pending.pop("EXPUNGEISSUED", None)  # said; the caller takes care of it
    text = data[0] if data and isinstance(data[0], bytes) else b""
    return Outcome(tag, status, text, pending.pop("FETCH", []), expunges, vanished, damaged)


def check(outcome: Outcome, command: str, *, tolerate_expunged: bool = False) -> None:
    """Raise IMAPClientError unless the command ended OK (or, if tolerated, NO [EXPUNGEISSUED])."""
    if outcome.status == "OK":
        return
    if outcome.status == "NO" and tolerate_expunged and outcome.code() == b"EXPUNGEISSUED":
        return  # RFC 5530: some of the messages are gone; the others were answered
    raise IMAPClientError(f"{command} failed: {one_line(_text(outcome.text)) or outcome.status}")


def put_back(client: IMAPClient, items: list) -> None:
    """FETCH answers that are not ours: back where imaplib files them, for the journal."""
    if items:
        client._imap.untagged_responses.setdefault("FETCH", []).extend(items)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# -- the reader -------------------------------------------------------------------------------


def _read_until_tagged(imap: imaplib.IMAP4, tag: bytes, other_line_read, keep: int) -> list[bytes]:
    """Read up to the tagged answer of `tag`; the FETCH answers skipped as too long."""
    tagged = imap.tagged_commands
    pending = imap.untagged_responses
    shown = shown_past(imap)
    limit = imaplib._MAXLINE
    file = imap.file  # STARTTLS swaps it, but never during a command
    readline, read = file.readline, file.read
    fetch_line = _FETCH_LINE.match
    direct = min(keep, _CHUNK)  # a literal up to this size is read in one call
    damaged: list[bytes] = []
    while tagged[tag] is None:
        line = readline(limit + 1)
        found = fetch_line(line)
        if len(line) > limit:  # the rest of it would be read as the next answer
            if found is None:
                raise IMAPClientAbortError(f"the server sent a line of more than {limit} bytes")
            damaged.append(_skip_damaged(readline, read, line[:_KEPT_OF_DAMAGED], line))
            if shown is not None:
                shown([damaged[-1] + b"\r\n"])
            continue
        if found is None or line[-2:] != b"\r\n":
            # Not a FETCH answer, or a cut line: imaplib reads it (and raises on EOF).
            if shown is not None:
                shown([line])
            _hand_over(imap, line)
            other_line_read()
            continue
        pieces = [line]
        data = found.group(1) + b" " + line[found.end() : -2]  # imaplib's form: "12 (UID ..."
        answer = []  # filed once whole: a line too long further on costs the answer, not the order
        while data[-1:] == b"}" and (literal := _LITERAL_AT_END.search(data)) is not None:
            payload = _read_literal(read, literal.group(1), direct, keep)
            answer.append((data, payload))
            line = readline(limit + 1)
            if len(line) > limit:
                damaged.append(_skip_damaged(readline, read, pieces[0][:_KEPT_OF_DAMAGED].rstrip(b"\r\n"), line))
                break
            if line[-2:] != b"\r\n":
                raise IMAPClientAbortError("socket error: unterminated line" if line else "socket error: EOF")
            pieces += (payload, line)
            data = line[:-2]
        else:
            answer.append(data)
            items = pending.get("FETCH")
            if items is None:
                items = pending["FETCH"] = []
            items.extend(answer)
            if shown is not None:
                shown(pieces)
            continue
        if shown is not None:
            shown([damaged[-1] + b"\r\n"])
    return damaged


def _read_literal(read, digits: bytes, direct: int, keep: int) -> bytes:
    if len(digits) > _MAX_DIGITS:
        raise IMAPClientAbortError("the server announced a literal of more than 20 digits")
    size = int(digits)
    payload = read(size) if size <= direct else _read_capped(read, size, keep)
    if len(payload) != min(size, keep):
        raise IMAPClientAbortError("socket error: EOF inside a literal")
    return payload


def _skip_damaged(readline, read, head: bytes, line: bytes) -> bytes:
    """Read and drop the rest of a FETCH answer (`head`: its start) at its line `line`, which
    is too long: to the end of that line, past any literal it announces and the lines after.

    In chunks, never more than one in memory; a line of more than MAX_DAMAGED_LINE bytes is
    an abort. What is kept: the answer's start and its last bytes, " ... " between.
    """
    tail, length = line, len(line)
    while True:
        while tail[-1:] != b"\n":
            chunk = readline(_CHUNK)
            if not chunk:
                raise IMAPClientAbortError("socket error: EOF inside an over-long line")
            length += len(chunk)
            if length > MAX_DAMAGED_LINE:
                raise IMAPClientAbortError(f"the server sent a line of more than {MAX_DAMAGED_LINE} bytes")
            tail = tail[-_KEPT_OF_DAMAGED:] + chunk
        if tail[-2:] != b"\r\n":  # as imaplib: a bare LF ends no line, and cannot be read past
            raise IMAPClientAbortError("socket error: unterminated line")
        end = tail[-_KEPT_OF_DAMAGED - 2 : -2]
        literal = _LITERAL_AT_END.search(end)
        if literal is not None:
            _read_literal(read, literal.group(1), 0, 0)
        elif _DIGITS_AT_END.fullmatch(end):  # its "{" beyond what is kept: a size of 200 digits
            raise IMAPClientAbortError("the server announced a literal of more than 20 digits")
        else:
            return head + b" ... " + end
        tail, length = b"", 0


def _read_capped(read, size: int, keep: int) -> bytes:
    """The first `keep` bytes of a `size`-byte literal; the rest read and dropped.

    In chunks, also the kept part: a buffered file's read(n) allocates n bytes before it reads
    one, and a server may announce {4000000000} and send ten bytes.
    """
    kept: list[bytes] = []
    wanted, left = keep, size
    while left > 0:
        chunk = read(min(left, _CHUNK))
        if not chunk:
            raise IMAPClientAbortError("socket error: EOF inside a literal")
        if wanted > 0:
            kept.append(chunk[:wanted])
            wanted -= len(kept[-1])
        left -= len(chunk)
    return b"".join(kept)


def _hand_over(imap: imaplib.IMAP4, line: bytes) -> None:
    """Let imaplib's own reader take `line`, already read from the socket, and what follows it
    (with run_command's checks: an answer imaplib cannot take is an abort)."""
    _read_answer(imap, line)
