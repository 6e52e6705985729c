"""A loopback TCP proxy that a test can cut, to play a network that drops connections."""

from __future__ import annotations

import socket
import threading

from tui.demo_server import free_port


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to a target; `cut()` kills every open connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.host = "127.0.0.1"
        self.port = free_port()
        self._listener = socket.create_server((self.host, self.port))
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._rules: list[list] = []  # [pattern, times left]: cut when a client sends it
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
                self.connections += 1
            for source, sink, watch in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(source, sink, watch), daemon=True).start()

    def cut_when_sent(self, pattern: bytes, times: int = 1_000_000) -> None:
        """Cut the connection (before forwarding) whenever the client sends `pattern`, `times` times."""
        with self._lock:
            self._rules.append([pattern, times])

    def _should_cut(self, data: bytes) -> bool:
        with self._lock:
            for rule in self._rules:
                if rule[1] > 0 and rule[0] in data:
                    rule[1] -= 1
                    return True
        return False

    def _pump(self, source: socket.socket, sink: socket.socket, watch: bool) -> None:
        try:
            while data := source.recv(65536):
                if watch and self._should_cut(data):
                    self.cut()
                    return
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self.cut()
        self._listener.close()
