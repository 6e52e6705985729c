"""A loopback TCP proxy that a test can cut, to play a network that drops connections.

Three faults, each triggered by what the client sends (a rule fires once by default):

- `cut_when_sent(pattern)`: the connection drops before the command reaches the server;
- `cut_after_sent(pattern)`: the server gets the command and answers it, the answer is
  lost, then the connection drops (the client cannot know whether it was done); with
  `forward_bytes=n` the client gets the first n bytes of the answer: a cut mid-answer;
- `stall_after_sent(pattern)`: the server gets the command, then nothing more reaches
  the client on that connection (a server, or a path, gone silent) until `cut`/`close`.

`skip=n` lets the first n matches through. `fired` lists the faults that happened;
`cut()` drops every open connection at once. `to_client_bytes` counts what the
client was sent: a test can check how much a command transferred.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass

from tui.demo_server import free_port

# How long `cut_after_sent` waits for the server's tagged answer before it cuts anyway.
ANSWER_WAIT = 5.0


@dataclass
class _Rule:
    kind: str  # "before", "after" or "stall"
    pattern: bytes
    times: int  # how many more times it fires
    skip: int  # matches to let through before it fires
    forward_bytes: int | None  # "after": bytes of the answer the client still gets


class _Link:
    """One client connection and its upstream twin."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.stalled = False  # the server's bytes are dropped from now on
        self.cut_at_tag: bytes | None = None  # cut once the server's answer to this tag is in
        self.forward_bytes: int | None = None  # ... or once the client got this many bytes of it
        self.closed = False


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to a target; see the module doc for the faults."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.host = "127.0.0.1"
        self.port = free_port()
        self._listener = socket.create_server((self.host, self.port))
        self._links: list[_Link] = []
        self._lock = threading.Lock()
        self.to_client_bytes = 0  # what the server sent that reached the client
        self._rules: list[_Rule] = []  # tried in the order added
        self.connections = 0
        self.fired: list[tuple[str, bytes]] = []  # (kind, pattern) of each rule as it fired
        self.to_server = bytearray()  # every byte the server got from clients, all connections
        threading.Thread(target=self._accept, daemon=True).start()

    # -- faults --------------------------------------------------------------------------

    def cut_when_sent(self, pattern: bytes, times: int = 1_000_000, *, skip: int = 0) -> None:
        """Cut every connection (before forwarding) whenever the client sends `pattern`, `times`
        times; the first `skip` times it goes through."""
        self._add("before", pattern, times, skip)

    def cut_after_sent(self, pattern: bytes, times: int = 1, *, skip: int = 0, forward_bytes: int | None = None) -> None:
        """Forward the client's bytes holding `pattern`, let the server answer, swallow the
        answer and cut that connection. With `forward_bytes`, the client gets that many
        bytes of the answer first: the cut comes in the middle of it."""
        self._add("after", pattern, times, skip, forward_bytes)

    def stall_after_sent(self, pattern: bytes, times: int = 1, *, skip: int = 0) -> None:
        """Forward the client's bytes holding `pattern`, then hold that connection silent:
        nothing from the server reaches the client until `cut()` or `close()`."""
        self._add("stall", pattern, times, skip)

    def _add(self, kind: str, pattern: bytes, times: int, skip: int, forward_bytes: int | None = None) -> None:
        with self._lock:
            self._rules.append(_Rule(kind, pattern, times, skip, forward_bytes))

    def _rule_for(self, data: bytes) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.times > 0 and rule.pattern in data:
                    if rule.skip > 0:
                        rule.skip -= 1
                        continue
                    rule.times -= 1
                    self.fired.append((rule.kind, rule.pattern))
                    return rule
        return None

    # -- plumbing ------------------------------------------------------------------------

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            link = _Link(client, upstream)
            with self._lock:
                self._links.append(link)
                self.connections += 1
            threading.Thread(target=self._from_client, args=(link,), daemon=True).start()
            threading.Thread(target=self._from_server, args=(link,), daemon=True).start()

    def _from_client(self, link: _Link) -> None:
        try:
            while data := link.client.recv(65536):
                rule = self._rule_for(data)
                kind = rule.kind if rule else None
                if kind == "before":
                    self.cut()
                    return
                # The flags are set before forwarding: the answer must not slip through first.
                if kind == "stall":
                    link.stalled = True
                elif kind == "after":
                    link.cut_at_tag = _tag_of(data, rule.pattern)
                    link.forward_bytes = rule.forward_bytes
                    timer = threading.Timer(ANSWER_WAIT, self._sever, args=(link,))
                    timer.daemon = True
                    timer.start()
                with self._lock:
                    self.to_server += data
                link.upstream.sendall(data)
        except OSError:
            pass
        finally:
            self._sever(link)

    def _from_server(self, link: _Link) -> None:
        seen = b""
        try:
            while data := link.upstream.recv(65536):
                if link.forward_bytes is not None:
                    part, link.forward_bytes = data[: link.forward_bytes], link.forward_bytes - len(data)
                    link.client.sendall(part)
                    if link.forward_bytes <= 0:
                        self._sever(link)
                        return
                    continue
                if link.cut_at_tag is not None:
                    # Wait for the tagged line: the server has then finished the command,
                    # so a reconnecting client sees its outcome, not a half-done one.
                    seen = (seen + data)[-4096:]
                    if re.search(rb"(^|\r\n)" + re.escape(link.cut_at_tag) + rb" ", seen):
                        self._sever(link)
                        return
                    continue
                if link.stalled:
                    continue
                with self._lock:
                    self.to_client_bytes += len(data)
                link.client.sendall(data)
        except OSError:
            pass
        finally:
            if not link.stalled:  # a stalled link stays silent, not closed, until the test cuts it
                self._sever(link)

    def _sever(self, link: _Link) -> None:
        with self._lock:
            if link.closed:
                return
            link.closed = True
            if link in self._links:
                self._links.remove(link)
        for sock in (link.client, link.upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def cut(self) -> None:
        with self._lock:
            links = list(self._links)
        for link in links:
            self._sever(link)

    def server_got(self, command: bytes) -> int:
        """How many command lines holding `command` reached the server (a cut one before did not)."""
        with self._lock:
            return sum(command in line for line in bytes(self.to_server).split(b"\r\n"))

    def wait_fired(self, count: int = 1, timeout: float = 20.0) -> None:
        """Wait until `count` rules have fired (a test's fault really happened)."""
        deadline = time.monotonic() + timeout
        while len(self.fired) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(self.fired)} of {count} faults happened within {timeout} s")
            time.sleep(0.01)

    def close(self) -> None:
        self.cut()
        self._listener.close()


def _tag_of(data: bytes, pattern: bytes) -> bytes:
    """The tag of the command line holding `pattern` (the server's tagged answer starts with it)."""
    lines = data.split(b"\r\n")
    line = next((line for line in lines if pattern in line), lines[0])
    return line.split(b" ", 1)[0]
