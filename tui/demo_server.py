"""Run pymap (a pure-Python IMAP server, in-memory ``dict`` backend) as a subprocess.

Used by ``--demo`` mode and by the tests. No Textual imports here.

pymap notes: plain text only (``--no-tls``), hierarchy delimiter ``/``, no NAMESPACE
and no SPECIAL-USE, a parent created implicitly by ``CREATE a/b`` is ``\\Noselect``.
It supports MULTIAPPEND: one APPEND costs ~45 ms, a MULTIAPPEND of 300 ~0.2 s.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

__all__ = ["PymapServer", "free_port", "log_tail", "stop_process", "wait_for_imap_greeting"]

_LOOPBACK = "127.0.0.1"


def free_port(host: str = _LOOPBACK) -> int:
    """A TCP port on ``host`` that was free a moment ago (bind port 0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _read_greeting(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n" not in data and len(data) < 4096:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def wait_for_imap_greeting(
    host: str,
    port: int,
    timeout: float,
    *,
    alive: Callable[[], bool] | None = None,
    wrap: Callable[[socket.socket], socket.socket] | None = None,
) -> bytes:
    """Poll ``host:port`` until it accepts a connection and sends an untagged ``* OK``.

    ``alive`` is checked between attempts (stop early when the server process died);
    ``wrap`` turns the plain socket into a TLS one for implicit-TLS ports.
    Returns the greeting line; raises ``TimeoutError`` or ``RuntimeError``.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        if alive is not None and not alive():
            raise RuntimeError(f"server process exited before {host}:{port} answered")
        try:
            with socket.create_connection((host, port), timeout=2.0) as raw:
                sock = wrap(raw) if wrap is not None else raw
                try:
                    greeting = _read_greeting(sock)
                finally:
                    if sock is not raw:
                        sock.close()
            if greeting.startswith(b"* OK") or greeting.startswith(b"* PREAUTH"):
                return greeting.split(b"\r\n", 1)[0]
            last_error = RuntimeError(f"unexpected greeting {greeting[:200]!r}")
        except OSError as exc:  # refused, reset, TLS errors (ssl.SSLError is an OSError)
            last_error = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"no IMAP greeting from {host}:{port} within {timeout:.1f} s "
                f"(last error: {last_error!r})"
            )
        time.sleep(0.05)


def log_tail(path: Path, limit: int = 4000) -> str:
    """The end of a server's log, for error messages (never raises)."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<log {path} unreadable: {exc}>"
    return text[-limit:] if text else "<log is empty>"


def stop_process(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, then SIGKILL if the process is still there after `timeout` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


class PymapServer:
    """pymap with the in-memory ``dict`` backend, on a free loopback port.

    >>> with PymapServer() as server:          # doctest: +SKIP
    ...     IMAPClient(server.host, server.port, ssl=False).login(
    ...         server.username, server.password)

    ``start()`` blocks until the port answers an IMAP greeting (or raises
    ``RuntimeError`` with the tail of the server's log). All mail lives in the server
    process and is gone after ``stop()``.
    """

    def __init__(
        self,
        username: str = "demouser",
        password: str = "demopass",
        *,
        log_path: str | os.PathLike[str] | None = None,
        host: str = _LOOPBACK,
        port: int | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port: int = port or 0
        self.username = username
        self.password = password
        self.startup_timeout = startup_timeout
        self._fixed_port = port is not None
        self._own_log = log_path is None
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix="tui-mail-pymap-", suffix=".log")
            os.close(fd)
            log_path = name
        self.log_path = Path(log_path)
        self.greeting: bytes = b""
        self._proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def command(self) -> list[str]:
        return [
            sys.executable, "-c", "from pymap.main import main; main()",
            "--host", self.host, "--port", str(self.port), "--no-tls",
            "dict", "--demo-user", self.username, "--demo-password", self.password,
        ]

    def start(self) -> "PymapServer":
        if self.running:
            return self
        attempts = 1 if self._fixed_port else 3  # a freed port can be taken by someone else
        for attempt in range(attempts):
            if not self._fixed_port:
                self.port = free_port(self.host)
            self._spawn()
            try:
                self.greeting = wait_for_imap_greeting(
                    self.host, self.port, self.startup_timeout, alive=lambda: self.running
                )
                return self
            except (RuntimeError, TimeoutError) as exc:
                exited_early = not self.running
                self._terminate()
                if exited_early and attempt + 1 < attempts:
                    continue
                raise RuntimeError(
                    f"pymap did not start on {self.host}:{self.port}: {exc}\n"
                    f"--- {self.log_path} (tail) ---\n{log_tail(self.log_path)}"
                ) from exc
        raise AssertionError("unreachable")

    def _spawn(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                close_fds=True,
            )
        atexit.register(self._terminate)

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        atexit.unregister(self._terminate)
        stop_process(proc, timeout=5)

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 5 s). Safe to call twice."""
        self._terminate()
        if self._own_log:
            try:
                self.log_path.unlink()
            except FileNotFoundError:
                pass

    def log_tail(self, limit: int = 4000) -> str:
        return log_tail(self.log_path, limit)

    def __enter__(self) -> "PymapServer":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<PymapServer {self.host}:{self.port} user={self.username!r} {state}>"
