"""The protocol log: what went over the wire, with secrets removed, and how long each command took.

`attach(imap, trace)` wraps one imaplib connection's `send`, `readline` and `read` (instance
attributes shadow the methods, and imaplib always calls them through `self`), so every byte
imaplib and imapclient exchange passes the trace on its way. It survives STARTTLS: imaplib
replaces `self.sock` and `self.file` there, and the original bound methods look those up on
each call.

What is stored (in a ring of the last N entries, and optionally appended to a file):

* client lines, after redaction: the LOGIN password (atom, quoted string or literal), the
  SASL initial response on an AUTHENTICATE line, and every client line sent while an
  AUTHENTICATE is running (SASL responses, tokens) become ``<redacted>``. Redaction happens
  before anything is stored, so a secret never reaches the ring or the file;
* server lines as they are, except that literal payloads over 200 bytes are shown as
  ``{N bytes}`` (message bodies do not belong in a protocol log), and that after the first
  few untagged FETCH responses of a command the rest are only counted, then logged as one
  summary line (a 50,000-message fill would otherwise push everything else out of the ring);
* every text goes through `safe_line`, so control characters cannot reach a terminal that
  shows the file.

Tracing never breaks the connection: if the trace itself fails, it logs why and detaches.
One trace follows one connection at a time (attach it again after a reconnect).

Pure module: no Textual or Rich imports.
"""

from __future__ import annotations

import datetime as _dt
import imaplib
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..safe_text import safe_line

__all__ = [
    "REDACTED",
    "CommandTiming",
    "ProtocolTrace",
    "TraceEntry",
    "attach",
    "detach",
    "shown_past",
]

REDACTED = "<redacted>"
MAX_LITERAL_SHOWN = 200  # literal payloads up to this size are shown, longer ones as {N bytes}
MAX_TEXT = 1000  # characters per entry
_CLIP = 900  # bytes of one line kept before "… [N bytes]"
_MAX_IN_FLIGHT = 64  # tags remembered without an answer (IDLE's DONE, dropped commands)

_LITERAL_END = re.compile(rb"\{(\d{1,19})(\+?)\}\r?\n?$")
_FETCH = re.compile(rb"\* \d+ FETCH[ (]")
_COMMAND = re.compile(rb"([^ ]*) +([^ ]*)(?: +([^ ]*))?")  # tag, name, first argument

_R = REDACTED.encode()


@dataclass(frozen=True, slots=True)
class TraceEntry:
    time: float  # time.time() when the line was sent or received
    direction: Literal["C", "S"]
    text: str  # redacted, made safe, at most MAX_TEXT characters


@dataclass(frozen=True, slots=True)
class CommandTiming:
    tag: str
    command: str  # "SELECT", "UID FETCH", ...
    started: float  # time.time() when the command line was sent
    seconds: float  # until its tagged response arrived
    status: str  # "OK", "NO" or "BAD"
    response: str = ""  # the rest of the tagged response ("[READ-WRITE] Select completed ...")


@dataclass(slots=True)
class _Command:
    """The client command being sent (it spans several lines when it carries literals)."""

    tag: bytes
    name: bytes
    argno: int = 0  # LOGIN: index of the next argument (0 user, 1 password)


class ProtocolTrace:
    """A thread-safe ring of the last `maxlen` entries and command timings, plus a file sink.

    The connection's thread writes; any thread may call `snapshot()`. `fetch_detail` is how
    many untagged FETCH responses per command are logged in full (None: all of them).
    """

    def __init__(self, path: Path | None = None, *, maxlen: int = 500, fetch_detail: int | None = 5) -> None:
        self.path = Path(path) if path is not None else None
        self.fetch_detail = fetch_detail
        self.sink_error: str | None = None  # why the file stopped being written, if it did
        self._lock = threading.Lock()  # the ring and the timings
        self._file_lock = threading.Lock()
        self._entries: deque[TraceEntry] = deque(maxlen=maxlen)
        self._timings: deque[CommandTiming] = deque(maxlen=maxlen)
        self._file: Any = None
        if self.path is not None:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                if os.fstat(fd).st_mode & 0o077:
                    os.fchmod(fd, 0o600)  # a protocol log names mailboxes and subjects
                self._file = open(fd, "a", buffering=1, encoding="utf-8", newline="\n")
            except BaseException:
                os.close(fd)
                raise
        self._reset_stream()

    # -- public --------------------------------------------------------------------

    def snapshot(self) -> tuple[list[TraceEntry], list[CommandTiming]]:
        """Copies of the stored entries and timings, oldest first."""
        with self._lock:
            return list(self._entries), list(self._timings)

    def record_greeting(self, welcome: bytes) -> None:
        """Log the server greeting, which imaplib reads before `attach` can run."""
        if isinstance(welcome, str):
            welcome = welcome.encode("utf-8", "replace")
        self._emit("S", welcome, time.time())

    def note(self, text: str) -> None:
        """Log a line of our own (reconnects, errors), shown as coming from the client side."""
        self._emit("C", f"# {text}".encode("utf-8", "replace"), time.time())

    def close(self) -> None:
        """Close the file (the ring keeps recording)."""
        with self._file_lock:
            file, self._file = self._file, None
        if file is not None:
            file.close()

    def __enter__(self) -> ProtocolTrace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- storing -------------------------------------------------------------------

    def _reset_stream(self) -> None:
        """Forget the state of the byte streams (a new connection starts clean)."""
        self._c_raw = bytearray()  # the client line being assembled (outside literals)
        self._c_prefix = b""  # rendered literal payload that starts the current line
        self._c_cmd: _Command | None = None
        self._c_lit_left = 0  # literal bytes the client has still to send
        self._c_lit_size = 0
        self._c_lit_secret = False
        self._c_lit_buf = bytearray()
        self._auth_tag: bytes | None = None  # an AUTHENTICATE is running
        self._in_flight: dict[bytes, tuple[str, float, float]] = {}
        self._s_parts: list[bytes] | None = None  # the server response being assembled
        self._s_time = 0.0
        self._s_literal = 0  # size announced at the end of the last line, read() expected
        self._fetches = 0  # untagged FETCH responses since the last client command
        self._agg_count = 0
        self._agg_bytes = 0
        self._agg_cont = False  # the counted FETCH response goes on after a literal
        self._counting = False  # this command's FETCH responses are being counted, not logged

    def _end_stream(self) -> None:
        """Log what the last connection left half done, then start clean (a reconnect)."""
        if self._s_parts is not None:
            self._finish_response()
        if self._agg_count:
            self._flush_aggregate(time.time())
        self._reset_stream()

    def _emit(self, direction: Literal["C", "S"], raw: bytes, when: float) -> None:
        if self._agg_count:
            self._flush_aggregate(when)
        if len(raw) > _CLIP:
            raw = raw[:_CLIP] + b" \xe2\x80\xa6 [%d bytes]" % len(raw)
        entry = TraceEntry(when, direction, safe_line(raw.decode("utf-8", "replace"), MAX_TEXT))
        with self._lock:
            self._entries.append(entry)
        if self._file is not None:
            # Its own lock: a slow disk must never hold up snapshot() on the UI thread.
            stamp = _dt.datetime.fromtimestamp(when).isoformat(timespec="microseconds")
            with self._file_lock:
                if self._file is not None:
                    try:
                        self._file.write(f"{stamp} {direction}: {entry.text}\n")
                    except (OSError, ValueError) as error:
                        self.sink_error = str(error)
                        self._file = None

    def _flush_aggregate(self, when: float) -> None:
        count, size = self._agg_count, self._agg_bytes
        self._agg_count = self._agg_bytes = 0
        noun = "response" if count == 1 else "responses"
        self._emit("S", f"\u2026 {count:,} more FETCH {noun} ({size:,} bytes)".encode(), when)

    # -- client bytes ----------------------------------------------------------------

    def _client(self, data: bytes) -> None:
        if not isinstance(data, bytes):
            data = bytes(data)
        pos, end = 0, len(data)
        while pos < end:
            if self._c_lit_left:
                take = min(self._c_lit_left, end - pos)
                if not self._c_lit_secret and self._c_lit_size <= MAX_LITERAL_SHOWN:
                    self._c_lit_buf += data[pos : pos + take]
                self._c_lit_left -= take
                pos += take
                if not self._c_lit_left:
                    self._c_prefix = self._render_client_literal()
                continue
            newline = data.find(b"\n", pos)
            if newline < 0:
                self._c_raw += data[pos:]
                return
            self._c_raw += data[pos:newline]
            pos = newline + 1
            self._client_line()

    def _render_client_literal(self) -> bytes:
        payload, self._c_lit_buf = bytes(self._c_lit_buf), bytearray()
        if self._c_lit_secret:
            return _R
        if self._c_lit_size > MAX_LITERAL_SHOWN:
            return b"{%d bytes}" % self._c_lit_size
        return payload

    def _client_line(self) -> None:
        raw = bytes(self._c_raw)
        self._c_raw = bytearray()
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        prefix, self._c_prefix = self._c_prefix, b""
        now = time.time()
        literal = _LITERAL_END.search(raw)
        secret_literal = False
        cmd = self._c_cmd
        if cmd is None and self._auth_tag is not None:
            # A SASL response (or "*" to cancel): everything here is credentials.
            self._emit("C", _R, now)
            return
        if cmd is None:
            match = _COMMAND.match(raw)
            tag, name = (match.group(1), match.group(2).upper()) if match else (raw, b"")
            cmd = _Command(tag, name)
            self._fetches = 0
            self._counting = False
            if name == b"LOGIN":
                text, secret_literal, cmd.argno = _redact_login(raw, match.end(2), 0)
            elif name == b"AUTHENTICATE":
                # Keep "tag AUTHENTICATE MECHANISM"; an initial response (SASL-IR) goes.
                self._auth_tag = tag
                kept = match.end(3) if match.group(3) is not None else match.end(2)
                text = raw[:kept] + (b" " + _R if raw[kept:].strip() else b"")
                secret_literal = True
            else:
                text = raw
            if tag and name and not tag.startswith((b"*", b"+")):
                argument = match.group(3) if match else None
                shown = name + b" " + argument.upper() if name == b"UID" and argument else name
                if len(self._in_flight) >= _MAX_IN_FLIGHT:
                    self._in_flight.pop(next(iter(self._in_flight)))
                self._in_flight[tag] = (safe_line(shown.decode("ascii", "replace"), 40), now, time.perf_counter())
        elif cmd.name == b"LOGIN":
            text, secret_literal, cmd.argno = _redact_login(raw, 0, cmd.argno)
        elif cmd.name == b"AUTHENTICATE":
            text, secret_literal = _R, True
        else:
            text = raw
        self._emit("C", prefix + text, now)
        if literal is None:
            self._c_cmd = None
            return
        self._c_cmd = cmd
        self._c_lit_size = self._c_lit_left = int(literal.group(1))
        self._c_lit_secret = secret_literal
        if not self._c_lit_left:
            self._c_prefix = self._render_client_literal()

    # -- server bytes ----------------------------------------------------------------

    def _server_line(self, line: bytes) -> None:
        if self._agg_cont:  # the rest of a counted FETCH response
            self._agg_bytes += len(line)
            self._agg_cont = line.endswith(b"}\r\n") and _LITERAL_END.search(line) is not None
            return
        parts = self._s_parts
        if parts is not None and self._s_literal:
            # The line before announced a literal that nobody read (a tagged response, say).
            self._finish_response()
            parts = None
        if parts is None:
            if line[:2] == b"* " and _FETCH.match(line):
                self._fetches += 1
                if self.fetch_detail is not None and self._fetches > self.fetch_detail:
                    self._counting = True
                    self._agg_count += 1
                    self._agg_bytes += len(line)
                    self._agg_cont = line.endswith(b"}\r\n") and _LITERAL_END.search(line) is not None
                    return
            elif line[:1] not in (b"*", b"+") and (self._in_flight or self._auth_tag):
                self._tagged(line)
            if not line:
                return
            parts = self._s_parts = []
            self._s_time = time.time()
        literal = _LITERAL_END.search(line) if line.endswith(b"}\r\n") else None
        if literal is not None:
            size = int(literal.group(1))
            parts.append(line[: literal.start()] if size > MAX_LITERAL_SHOWN else line)
            self._s_literal = size or -1
        else:
            parts.append(line[:-2] if line.endswith(b"\r\n") else line.rstrip(b"\r\n"))
            self._finish_response()

    def _server_literal(self, data: bytes) -> None:
        if self._agg_cont:
            self._agg_bytes += len(data)
            return
        if self._s_parts is None or not self._s_literal:
            self._emit("S", b"{%d bytes}" % len(data), time.time())
            return
        if len(data) > MAX_LITERAL_SHOWN:
            self._s_parts.append(b"{%d bytes}" % len(data))
        else:
            self._s_parts.append(bytes(data))
        self._s_literal = 0

    def _finish_response(self) -> None:
        parts, self._s_parts, self._s_literal = self._s_parts, None, 0
        if parts:
            self._emit("S", b"".join(parts), self._s_time)

    def _tagged(self, line: bytes) -> None:
        finished = time.perf_counter()
        words = line.split(b" ", 2)
        if words[0] == self._auth_tag:
            self._auth_tag = None
        started = self._in_flight.pop(words[0], None)
        if started is None:
            return
        name, wall, perf = started
        status = words[1].upper().decode("ascii", "replace").strip() if len(words) > 1 else "?"
        seconds = finished - perf
        response = words[2][:_CLIP].decode("utf-8", "replace") if len(words) > 2 else ""
        timing = CommandTiming(
            tag=safe_line(words[0].decode("ascii", "replace"), 40),
            command=name,
            started=wall,
            seconds=seconds,
            status=safe_line(status, 10),
            response=safe_line(response, 200),
        )
        with self._lock:
            self._timings.append(timing)


def _redact_login(raw: bytes, pos: int, argno: int) -> tuple[bytes, bool, int]:
    """Redact LOGIN arguments from index 1 (the password) on, starting at raw[pos:].

    Returns the text, whether a literal announced at the end of the line is secret, and the
    index of the argument after it.
    """
    out = bytearray(raw[:pos])
    end = len(raw)
    while pos < end:
        char = raw[pos]
        if char == 0x20:  # space
            out.append(char)
            pos += 1
            continue
        if char == 0x22:  # quoted string with backslash escapes
            stop = pos + 1
            while stop < end and raw[stop] != 0x22:
                stop += 2 if raw[stop] == 0x5C else 1
            stop = min(stop + 1, end)
        elif char == 0x7B and _LITERAL_END.match(raw, pos):  # {N}: its payload comes next
            out += raw[pos:]
            return bytes(out), argno >= 1, argno + 1
        else:  # atom
            stop = raw.find(b" ", pos)
            stop = end if stop < 0 else stop
        out += _R if argno >= 1 else raw[pos:stop]
        argno += 1
        pos = stop
    return bytes(out), False, argno


# -- wiring ------------------------------------------------------------------------

_ATTACHED = "_tui_protocol_trace"


def attach(imap: imaplib.IMAP4, trace: ProtocolTrace) -> None:
    """Route `imap`'s send/readline/read through `trace` (imapclient: `client._imap`).

    The greeting was read when the connection opened: log it with
    `trace.record_greeting(imap.welcome)`. Attaching again replaces the earlier trace.
    """
    detach(imap)
    trace._end_stream()
    saved = {name: imap.__dict__[name] for name in ("send", "readline", "read") if name in imap.__dict__}
    send, readline, read = imap.send, imap.readline, imap.read
    client, server_line, server_literal = trace._client, trace._server_line, trace._server_literal
    fetch_start = _FETCH.match

    def failed(error: Exception) -> None:
        detach(imap)
        # Only the type: a message might quote the bytes being traced (a password, say).
        trace.note(f"protocol trace stopped after an internal error ({type(error).__name__})")

    def traced_send(data: bytes) -> None:
        try:
            client(data)
        except Exception as error:
            failed(error)
        return send(data)

    def traced_readline() -> bytes:
        line = readline()
        # The hot path of a big FETCH: once a command's first few FETCH responses are
        # logged, the rest (one line each, no literal) are only counted.
        if trace._counting and fetch_start(line) is not None and line[-3] != 0x7D:  # "}": a literal
            trace._agg_count += 1
            trace._agg_bytes += len(line)
            return line
        try:
            server_line(line)
        except Exception as error:
            failed(error)
        return line

    def traced_read(size: int) -> bytes:
        data = read(size)
        try:
            server_literal(data)
        except Exception as error:
            failed(error)
        return data

    imap.send, imap.readline, imap.read = traced_send, traced_readline, traced_read  # type: ignore[method-assign]
    setattr(imap, _ATTACHED, (trace, saved))


def shown_past(imap: imaplib.IMAP4) -> Callable[[list[bytes]], None] | None:
    """For a reader that takes server bytes from `imap.file` past the wrappers `attach` set
    (a big FETCH, read lean): a function to show the trace what it read, one answer at a
    time as [line, literal, line, ...], lines with their CRLF. None: no trace attached.
    """
    state = imap.__dict__.get(_ATTACHED)
    if state is None:
        return None
    trace = state[0]
    broken = []

    def shown(pieces: list[bytes]) -> None:
        if broken:  # detached after an error: one note, not one per answer
            return
        try:
            if trace._counting and not trace._agg_cont and _FETCH.match(pieces[0]) is not None:
                trace._agg_count += 1  # the hot path: a FETCH answer past the logged few
                trace._agg_bytes += sum(map(len, pieces))
                return
            for index, piece in enumerate(pieces):
                (trace._server_literal if index % 2 else trace._server_line)(piece)
        except Exception as error:
            broken.append(error)
            detach(imap)
            trace.note(f"protocol trace stopped after an internal error ({type(error).__name__})")

    return shown


def detach(imap: imaplib.IMAP4) -> None:
    """Undo `attach` (does nothing if no trace is attached)."""
    state = imap.__dict__.pop(_ATTACHED, None)
    if state is None:
        return
    _, saved = state
    for name in ("send", "readline", "read"):
        if name in saved:
            setattr(imap, name, saved[name])
        else:
            imap.__dict__.pop(name, None)
