"""IMAP IDLE (RFC 2177) for the worker thread: wait for the server to tell us something.

Python 3.11's imaplib has no IDLE, so it is driven here at a low level, the way
`commands.run_command` drives ordinary commands: our own tag, `imap.send`, and
imaplib's `_get_response` to read one response at a time. Every untagged answer read
(during IDLE and up to the tagged OK after DONE) goes into the connection's journal,
in order, so `mutations.synchronise` replays it like any other command's answers.

Waiting is a `select` over the connection's socket and a `Waker` (a socketpair another
thread can poke). Before each select, bytes that have already been read from the socket
are looked for: imaplib reads through a buffered file, and over TLS the SSL object may
hold decrypted bytes too; a notification sitting there would not make the socket
readable and would wait until the timeout.

`wait_for_changes` returns why the wait ended:

- "woken": the waker fired (checked first: a request waits for the user). The waker
  is cleared. The journal may hold changes as well: the next call reports them.
- "changed": the journal holds something about the mailbox (EXISTS, EXPUNGE, FETCH,
  VANISHED, or an answer that could not be placed): take it (mutations.synchronise)
  before waiting again, or the next call says "changed" at once, sending nothing.
- "timeout": `timeout` seconds passed and nothing happened.
- "alive": the server had said nothing for a while, so the wait was ended to see that
  it still answers (below), and it did. Nothing happened: wait again.

A dead peer says nothing, and neither does a healthy server with no news: RFC 2177
servers may stay silent for 29 minutes, so silence proves nothing. What proves life
is an answer: after `liveness` * 3/4 seconds without a byte from the server, DONE is
sent, and its tagged OK must come within the remaining quarter. Every answer during
IDLE (the "+", the lines after DONE) is awaited that long at most: a server, or a
network, that stopped is noticed within `liveness` seconds of the last thing it said,
frozen or not, at the cost of one DONE/OK/IDLE/+ exchange per such stretch of silence
(connection.enable_keepalive makes the kernel notice a dead network as well).

Pure module: no Textual.
"""

from __future__ import annotations

import select
import socket
import ssl
import time

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from . import commands

__all__ = ["LIVENESS", "MAX_IDLE", "Waker", "can_idle", "wait_for_changes"]

# RFC 2177: a server may drop a client idle for 30 minutes; re-issue IDLE before that.
MAX_IDLE = 29 * 60.0
# Seconds within which a silent, dead peer is noticed while idling (see the module doc):
# what mutt and aerc users expect, and one short exchange per 45 s of silence.
LIVENESS = 60.0

# What says "the mailbox changed" (UNPARSED: an answer about it we could not read).
_CHANGES = frozenset({"EXISTS", "EXPUNGE", "FETCH", "VANISHED", "UNPARSED"})
# What imaplib also filed by kind while we read; ours already, in order (as run_command does).
_FILED = frozenset({"EXISTS", "EXPUNGE", "FETCH", "VANISHED", "RECENT", "OK", "NO", "BAD", "SEARCH", "ESEARCH"})

WOKEN, CHANGED, TIMEOUT, ALIVE = "woken", "changed", "timeout", "alive"


class Waker:
    """Wakes a thread blocked in wait_for_changes from another thread (a socketpair).

    `wake` may be called from any thread, any number of times, also after `close`
    (then it does nothing): a worker that has stopped must not break the UI.
    """

    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)

    def wake(self) -> None:
        try:
            self._writer.send(b"!")
        except (BlockingIOError, InterruptedError):
            pass  # the buffer is full of wake-ups already: it is set
        except OSError:
            pass  # closed

    def is_set(self) -> bool:
        try:
            return bool(self._reader.recv(1, socket.MSG_PEEK))
        except (BlockingIOError, InterruptedError):
            return False

    def clear(self) -> None:
        while True:
            try:
                if not self._reader.recv(4096):
                    return
            except (BlockingIOError, InterruptedError):
                return

    def fileno(self) -> int:
        return self._reader.fileno()

    def close(self) -> None:
        self._writer.close()
        self._reader.close()

    def __enter__(self) -> "Waker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def can_idle(client: IMAPClient) -> bool:
    return b"IDLE" in client.capabilities()


def wait_for_changes(client: IMAPClient, waker: Waker, timeout: float, liveness: float | None = None) -> str:
    """Send IDLE, wait for the continuation "+", then wait until the server says something
    about the mailbox, the waker fires, or `timeout` seconds pass (at most MAX_IDLE); then
    send DONE and read up to the tagged OK. Returns "changed", "woken", "timeout" or
    "alive" (see the module doc; nothing is sent when the waker is already set or the
    journal already holds changes).

    `liveness` (default LIVENESS, looked up at each call): the seconds within which a
    silent, dead peer is noticed (see the module doc); then IMAPClientAbortError says the
    server stopped answering. Each answer is awaited `liveness` / 4 seconds at most, or
    the connection's read timeout if that is shorter; the read timeout is put back after.

    Every untagged answer goes into the connection's journal in order. Server keep-alives
    ("* OK Still here") are not changes. BYE raises IMAPClientAbortError; the server
    refusing IDLE (NO/BAD) raises IMAPClientError with its text (the connection is fine);
    socket trouble propagates as OSError or IMAPClientAbortError.
    """
    if waker.is_set():
        waker.clear()
        return WOKEN
    commands._drain_leftovers(client)
    if commands.journal(client):  # news from an earlier command nobody has looked at yet
        return CHANGED
    imap = client._imap
    liveness = LIVENESS if liveness is None else max(0.1, liveness)
    read_timeout = imap.sock.gettimeout()
    answer = liveness / 4 if read_timeout is None else min(read_timeout, liveness / 4)
    events: list[commands.Untagged] = []
    clock = _Clock(liveness - answer)
    imap.sock.settimeout(answer)
    try:
        return _idle(client, waker, max(0.0, min(timeout, MAX_IDLE)), clock, events)
    except TimeoutError:
        pass  # raised below, away from this handler: the worker must not take it for its read timeout
    finally:
        imap.sock.settimeout(read_timeout)
        # Also when the connection broke: what was read is kept, in order.
        if events:
            commands._append(client, events)
            events.clear()
    raise IMAPClientAbortError(
        f"the server stopped answering: nothing for {time.monotonic() - clock.heard:.0f} s while idle"
    )


class _Clock:
    """When the server last said anything, and when its silence calls for a check."""

    def __init__(self, quiet: float) -> None:
        self.quiet = quiet
        self.heard = time.monotonic()

    def hear(self) -> None:
        self.heard = time.monotonic()

    @property
    def check_at(self) -> float:
        return self.heard + self.quiet


def _idle(client: IMAPClient, waker: Waker, timeout: float, clock: _Clock, events: list[commands.Untagged]) -> str:
    imap = client._imap
    tag = imap._new_tag()  # also files tagged_commands[tag] = None
    woken = checking = False
    imap.send(tag + b" IDLE\r\n")
    # Until the "+": a refusal ends the command here; answers meanwhile are kept.
    while True:
        line = commands._read_answer(imap)
        clock.hear()
        if imap.tagged_commands.get(tag):
            return _finish(client, tag, events, woken, checking)
        if line is None:
            break
        _note(events, line)
    deadline = time.monotonic() + timeout
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        if now >= clock.check_at:
            checking = True  # silent for long: does it still answer?
            break
        ready = _buffered(imap)
        # Also with bytes at hand: a server that never stops talking must not starve the waker.
        wait = 0 if ready else min(deadline, clock.check_at) - now
        readable, _, _ = select.select([imap.sock, waker], [], [], wait)
        if waker in readable:
            waker.clear()
            woken = True
            break
        if not (ready or readable):
            continue
        line = commands._read_answer(imap)
        clock.hear()
        if imap.tagged_commands.get(tag):  # the server ended IDLE by itself
            return _finish(client, tag, events, woken, checking)
        if line is None:
            continue  # another "+": nothing to do with it
        if _note(events, line) in _CHANGES:
            break
    imap.send(b"DONE\r\n")
    while not imap.tagged_commands.get(tag):
        line = commands._read_answer(imap)
        clock.hear()
        if imap.tagged_commands.get(tag):
            break
        if line is not None:
            _note(events, line)
    return _finish(client, tag, events, woken, checking)


def _note(events: list[commands.Untagged], line: bytes) -> str:
    """Keep one untagged answer; its kind. BYE raises (after the answers before it are kept)."""
    event = commands._parsed(line)
    if event.kind == "BYE":
        raise IMAPClientAbortError(f"the server closed the connection: {commands.one_line(event.text)}")
    if event.kind in _CHANGES:
        events.append(event)
    return event.kind


def _finish(client: IMAPClient, tag: bytes, events: list[commands.Untagged], woken: bool, checking: bool) -> str:
    """The tagged answer has come: leave imaplib as run_command would, and say why we stopped."""
    imap = client._imap
    status, data = imap.tagged_commands.pop(tag)
    raw = data[0] if data and isinstance(data[0], bytes) else b""
    code, _code_data, text = commands._split_code(raw)
    for key in _FILED | ({code} if code else set()):
        imap.untagged_responses.pop(key, None)
    commands._append(client, events)
    events.clear()
    changed = bool(commands.journal(client))  # it was empty when IDLE was sent
    if status != "OK":
        raise IMAPClientError(f"the server refused IDLE: {commands.one_line(text) or status}")
    if woken:
        return WOKEN
    if changed:
        return CHANGED
    return ALIVE if checking else TIMEOUT


def _buffered(imap) -> bool:
    """Whether a response can be read without waiting for the network.

    Bytes may sit in imaplib's buffered reader, in the SSL object (decrypted, not yet
    handed over: `pending()`), or in the kernel. A peek on the non-blocking socket
    returns what the reader holds, or does one read that takes what the SSL object or
    the kernel has, never waiting. Over TLS a partial record raises SSLWantReadError:
    nothing to read yet. End of file peeks as empty: the select that follows then finds
    the socket readable and the read reports EOF.
    """
    sock = imap.sock
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    previous = sock.gettimeout()
    sock.setblocking(False)
    try:
        return bool(imap.file.peek(1))
    except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return False
    finally:
        sock.settimeout(previous)
