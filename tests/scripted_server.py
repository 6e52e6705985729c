"""A tiny IMAP server that plays a script, for protocol cases real servers will not produce.

It listens on 127.0.0.1 (free port), sends a greeting, then answers each line the client
sends: with the next `Step` of the script when the line matches it, else with a default
(CAPABILITY, NOOP, LOGOUT; anything else gets BAD and is noted in `unexpected`). Every
byte received is recorded (`received`, decrypted when TLS is on), so a test can assert
that a password or token never reached the server.

    server = ScriptedServer(b"* OK ready", [Step("LOGIN", b"{tag} OK done\\r\\n")])
    with server:
        ...connect to server.host, server.port...
        server.wait_done()
    assert b"secret" not in server.received

Replies are bytes with ``{tag}`` standing for the tag of the client's latest tagged
command; one reply is sent with a single ``sendall`` (so an "injected" line can share a
packet with a real one). A step with ``expect="+"`` matches a client continuation line
(an AUTHENTICATE response). ``start_tls=True`` switches the connection to TLS after the
reply (STARTTLS); ``implicit_tls`` wraps every connection from the start.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

Reply = bytes | Callable[[bytes], bytes]


@dataclass(frozen=True)
class Step:
    expect: str  # command after the tag, e.g. "LOGIN" or "AUTHENTICATE XOAUTH2"; "+" = continuation line
    reply: Reply  # bytes with {tag}, or a function of the received line (without CRLF)
    start_tls: bool = False  # after the reply, the server expects a TLS handshake
    close: bool = False  # after the reply, hang up


class ScriptedServer:
    def __init__(
        self,
        greeting: bytes,
        script: Sequence[Step] = (),
        *,
        capabilities: bytes = b"IMAP4rev1",
        capabilities_after_tls: bytes | None = None,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.greeting = greeting.rstrip(b"\r\n") + b"\r\n"
        self.script = list(script)
        self.capabilities = capabilities
        self.capabilities_after_tls = capabilities_after_tls or capabilities
        self.tls_context = tls_context
        self.implicit_tls = implicit_tls
        self.timeout = timeout
        self.host = "127.0.0.1"
        self.port = 0
        self.received = b""  # every byte from every connection, in order
        self.lines: list[bytes] = []  # the lines received (without CRLF)
        self.unexpected: list[bytes] = []  # lines that matched neither the script nor a default
        self.errors: list[str] = []  # exceptions in the server thread (e.g. TLS refused by the client)
        self.connections = 0
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()  # set when no connection is being served
        self._idle.set()
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> "ScriptedServer":
        if self._listener is not None:  # already listening (start() then `with server:`)
            return self
        self._listener = socket.create_server((self.host, 0))
        self._listener.settimeout(0.05)  # closing a socket does not wake a blocked accept()
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="scripted-imap", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(self.timeout)
            self._thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> "ScriptedServer":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def wait_done(self, timeout: float | None = None) -> None:
        """Wait until the client hung up and the server has read everything it sent."""
        if not self._idle.wait(self.timeout if timeout is None else timeout):
            raise TimeoutError("the scripted server is still serving a connection")

    @property
    def steps_left(self) -> int:
        return len(self.script)

    # -- serving -----------------------------------------------------------------------

    def _serve(self) -> None:
        listener = self._listener
        while not self._stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._idle.clear()
            self.connections += 1
            try:
                self._handle(conn)
            except Exception as error:  # recorded for the test, never raised in this thread
                self.errors.append(f"{type(error).__name__}: {error}")
            finally:
                try:
                    conn.close()
                except OSError:
                    pass
                self._idle.set()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(self.timeout)
        if self.implicit_tls:
            conn = self._wrap(conn)
        conn.sendall(self.greeting)
        buffer = b""
        tag = b"*"
        tls_on = self.implicit_tls
        while True:
            while b"\n" not in buffer:
                chunk = conn.recv(65536)
                if not chunk:
                    return  # the client hung up
                self._record(chunk)
                buffer += chunk
            raw, buffer = buffer.split(b"\n", 1)
            line = raw.rstrip(b"\r")
            self.lines.append(line)
            step = self.script[0] if self.script else None
            if step is not None and step.expect == "+":
                matched = True
            else:
                parts = line.split(b" ", 1)
                tag = parts[0]
                command = parts[1] if len(parts) > 1 else b""
                matched = step is not None and command.upper().startswith(step.expect.upper().encode())
            if matched:
                self.script.pop(0)
                reply = step.reply(line) if callable(step.reply) else step.reply
                conn.sendall(reply.replace(b"{tag}", tag))
                if step.close:
                    return
                if step.start_tls:
                    if buffer:
                        self.errors.append(f"client sent {buffer!r} before the TLS handshake")
                        return
                    conn = self._wrap(conn)
                    tls_on = True
                continue
            command = line.split(b" ", 1)[1].upper() if b" " in line else b""
            if command == b"CAPABILITY":
                caps = self.capabilities_after_tls if tls_on else self.capabilities
                conn.sendall(b"* CAPABILITY " + caps + b"\r\n" + tag + b" OK CAPABILITY completed\r\n")
            elif command == b"NOOP":
                conn.sendall(tag + b" OK NOOP completed\r\n")
            elif command == b"LOGOUT":
                conn.sendall(b"* BYE logging out\r\n" + tag + b" OK LOGOUT completed\r\n")
                return
            else:
                self.unexpected.append(line)
                conn.sendall(tag + b" BAD unexpected command\r\n")

    def _wrap(self, conn: socket.socket) -> ssl.SSLSocket:
        if self.tls_context is None:
            raise RuntimeError("a TLS step needs tls_context")
        return self.tls_context.wrap_socket(conn, server_side=True)

    def _record(self, data: bytes) -> None:
        with self._lock:
            self.received += data


class RecordingProxy:
    """Forwards ``host``:<free port> to a real server and records what the client sent.

    For checks a real server cannot answer: which command a client used (LOGIN or
    AUTHENTICATE ...), whether a password crossed the wire. ``host`` may be another
    loopback address (127.0.0.2) to reach the server under a name its certificate lacks.
    """

    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server((host, 0))
        self.host = host
        self.port = self._listener.getsockname()[1]
        self.from_client = b""
        self._lock = threading.Lock()
        self._pumps: list[threading.Thread] = []
        threading.Thread(target=self._accept, name="recording-proxy", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for source, sink, record in ((client, upstream, True), (upstream, client, False)):
                pump = threading.Thread(target=self._pump, args=(source, sink, record), daemon=True)
                with self._lock:
                    self._pumps.append(pump)
                pump.start()

    def _pump(self, source: socket.socket, sink: socket.socket, record: bool) -> None:
        try:
            while data := source.recv(65536):
                if record:
                    with self._lock:
                        self.from_client += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            source.close()  # each socket is the source of exactly one pump

    def wait_done(self, timeout: float = 10.0) -> None:
        """Wait until every connection so far is finished (both directions)."""
        with self._lock:
            pumps = list(self._pumps)
        for pump in pumps:
            pump.join(timeout)

    def close(self) -> None:
        self._listener.close()

    def __enter__(self) -> "RecordingProxy":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
