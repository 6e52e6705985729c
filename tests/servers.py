"""Real IMAP servers for the tests and benchmarks (no Textual here).

``DovecotServer`` runs a private Dovecot (``dovecot -F``) from a temp directory with its
own config: plain IMAP and implicit-TLS IMAP on free loopback ports, a certificate from a
throw-away ``trustme`` CA (``.ca_file``), one passwd-file user, Maildir storage and the
SPECIAL-USE folders Sent/Drafts/Trash/Junk/Archive. Nothing outside the temp dir is read
or written (the system ``/etc/dovecot`` is not included).

``fill_maildir`` writes messages straight into the Maildir (50k in a few seconds);
``append_messages`` goes through IMAP MULTIAPPEND. ``find_dovecot`` locates the binary.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import getpass
import grp
import itertools
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Union

from tui.demo_server import free_port, log_tail, stop_process, wait_for_imap_greeting

__all__ = [
    "DovecotServer",
    "SPECIAL_USE",
    "append_messages",
    "fill_maildir",
    "find_dovecot",
    "make_message",
]

# mailbox name -> SPECIAL-USE attribute, as configured in every DovecotServer
SPECIAL_USE: dict[str, str] = {
    "Sent": "\\Sent",
    "Drafts": "\\Drafts",
    "Trash": "\\Trash",
    "Junk": "\\Junk",
    "Archive": "\\Archive",
}

_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")


def find_dovecot() -> str | None:
    """Path of the ``dovecot`` binary, also when ``/usr/sbin`` is not on ``PATH``."""
    found = shutil.which("dovecot")
    if found:
        return found
    for directory in _SBIN_DIRS:
        candidate = os.path.join(directory, "dovecot")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def require_dovecot() -> str:
    """The dovecot binary for a test; skip without one, but fail in CI (CI=true) where it must run."""
    import pytest

    found = find_dovecot()
    if found is None:
        message = "dovecot is not installed (apt-get install dovecot-imapd)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def _mail_owner() -> tuple[int, int, str]:
    """uid, gid and name the mail processes run as.

    Dovecot refuses mail processes as root ("userdb returned 0 as uid"), so when the
    tests run as root the mail files belong to an unprivileged system user instead.
    """
    uid, gid = os.getuid(), os.getgid()
    if uid != 0:
        return uid, gid, getpass.getuser()
    for name in ("nobody", "dovenull"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid, name
    raise RuntimeError("running as root but no unprivileged user (nobody) for mail files")


class DovecotServer:
    """A private Dovecot instance for one test session.

    Attributes: ``host`` ("127.0.0.1"), ``port`` (plain IMAP), ``tls_port`` (implicit
    TLS, cert valid for "localhost" and "127.0.0.1"), ``ca_file`` (PEM of the test CA),
    ``user``, ``password``, ``home`` (the user's home; mail in ``home/Maildir``),
    ``maildir``, ``log_path``, ``directory`` (the temp dir holding everything).
    """

    def __init__(
        self,
        user: str = "tester",
        password: str = "secret",
        *,
        binary: str | None = None,
        directory: str | os.PathLike[str] | None = None,
        startup_timeout: float = 10.0,
        capability: str | None = None,
    ) -> None:
        self.binary = binary or find_dovecot()
        if self.binary is None:
            raise FileNotFoundError("dovecot binary not found (apt-get install dovecot-imapd)")
        self.host = "127.0.0.1"
        self.user = user
        self.password = password
        self.startup_timeout = startup_timeout
        # The capabilities advertised after login (Dovecot's imap_capability), e.g. without
        # MOVE or UIDPLUS to test the fallbacks; None: Dovecot's own list. Only what is
        # announced changes: Dovecot still runs every command it knows.
        self.capability = capability
        self._own_dir = directory is None
        # Short path on purpose: Dovecot's UNIX sockets live in base_dir (108-byte limit).
        self.directory = Path(directory or tempfile.mkdtemp(prefix="tui-dovecot-"))
        self.base_dir = self.directory / "run"
        self.state_dir = self.directory / "state"
        self.home = self.directory / "home"
        self.maildir = self.home / "Maildir"
        self.config_path = self.directory / "dovecot.conf"
        self.passwd_path = self.directory / "passwd"
        self.log_path = self.directory / "dovecot.log"
        self.ca_file = self.directory / "ca.pem"
        self.cert_file = self.directory / "server-cert.pem"
        self.key_file = self.directory / "server-key.pem"
        self.mail_uid, self.mail_gid, self.mail_user = _mail_owner()
        self.port = 0
        self.tls_port = 0
        self.greeting = b""
        self.tls_greeting = b""
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._prepare()
        except BaseException:
            if self._own_dir:
                shutil.rmtree(self.directory, ignore_errors=True)
            raise

    # -- files -------------------------------------------------------------------------

    def _prepare(self) -> None:
        import trustme  # test-only dependency

        for path in (self.base_dir, self.state_dir):
            path.mkdir(parents=True, exist_ok=True)
        # The auth process runs as the "dovecot" user and mail processes as mail_uid:
        # both must be able to traverse into the directory.
        self.directory.chmod(0o755)
        ensure_maildir(self, "INBOX")
        ca = trustme.CA()
        cert = ca.issue_cert("localhost", "127.0.0.1")
        ca.cert_pem.write_to_path(str(self.ca_file))
        cert.cert_chain_pems[0].write_to_path(str(self.cert_file))
        for pem in cert.cert_chain_pems[1:]:
            pem.write_to_path(str(self.cert_file), append=True)
        cert.private_key_pem.write_to_path(str(self.key_file))
        self.key_file.chmod(0o600)
        # A test password in plain text; the file must be readable by the auth process.
        self.passwd_path.write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        self.passwd_path.chmod(0o644)

    def _write_config(self) -> None:
        if os.getuid() == 0:
            # the users the Debian/Ubuntu package creates
            login_user, internal_user, rootless = "dovenull", "dovecot", ""
        else:
            # Rootless Dovecot: every process runs as us, no chroot, no setuid/chown.
            login_user = internal_user = self.mail_user
            rootless = f"""default_internal_group = {grp.getgrgid(self.mail_gid).gr_name}
service imap-login {{
  chroot =
}}
service anvil {{
  chroot =
}}
service auth-worker {{
  user = $default_internal_user
}}
"""
        capability = f"  imap_capability = {self.capability}\n" if self.capability else ""
        sections = "\n".join(
            f"""  mailbox {name} {{
    special_use = {attr}
    auto = subscribe
  }}"""
            for name, attr in SPECIAL_USE.items()
        )
        self.config_path.write_text(
            f"""# generated by tests/servers.py; the system config is not included
protocols = imap
listen = {self.host}
base_dir = {self.base_dir}
state_dir = {self.state_dir}
instance_name = tui-mail-test-{os.getpid()}-{id(self):x}
log_path = {self.log_path}
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = {self.mail_uid}
first_valid_gid = {self.mail_gid}
shutdown_clients = yes
verbose_proctitle = no

ssl = yes
ssl_cert = <{self.cert_file}
ssl_key = <{self.key_file}
ssl_min_protocol = TLSv1.2

disable_plaintext_auth = no
# CRAM-MD5 works because the passwd-file keeps the PLAIN scheme
auth_mechanisms = plain login cram-md5
# one "Password mismatch" line per failed attempt: tests count them (no retry loops)
auth_verbose = yes
# tests log in with wrong passwords on purpose: no 2 s failure delay, no per-IP penalty
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd_path}
}}
userdb {{
  driver = static
  args = uid={self.mail_uid} gid={self.mail_gid} home={self.home}
}}

mail_location = maildir:~/Maildir
# IDLE (tests/test_idle.py): notice other clients' changes within a second even where
# inotify is missing (default 30 s), and send "* OK Still here" every second (default
# 2 min) so that keep-alives show up while a test idles
mailbox_idle_check_interval = 1 secs
namespace inbox {{
  separator = /
  prefix =
  inbox = yes
{sections}
}}

protocol imap {{
  mail_plugins =
  imap_idle_notify_interval = 1 secs
{capability}}}

service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.tls_port}
    ssl = yes
  }}
}}
{rootless}"""
        )

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts only the test CA (hostname checking on)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def start(self) -> "DovecotServer":
        if self.running:
            return self
        for attempt in range(3):  # a port freed by free_port() can be grabbed meanwhile
            self.port = free_port(self.host)
            self.tls_port = free_port(self.host)
            while self.tls_port == self.port:
                self.tls_port = free_port(self.host)
            self._write_config()
            with open(self.log_path, "ab") as log:
                self._proc = subprocess.Popen(
                    [self.binary, "-F", "-c", str(self.config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    close_fds=True,
                )
            atexit.register(self._terminate)
            try:
                deadline = time.monotonic() + self.startup_timeout
                self.greeting = wait_for_imap_greeting(
                    self.host, self.port, self.startup_timeout, alive=lambda: self.running
                )
                context = self.ssl_context()
                self.tls_greeting = wait_for_imap_greeting(
                    self.host,
                    self.tls_port,
                    max(0.5, deadline - time.monotonic()),
                    alive=lambda: self.running,
                    wrap=lambda sock: context.wrap_socket(sock, server_hostname="localhost"),
                )
                return self
            except (RuntimeError, TimeoutError) as exc:
                tail = log_tail(self.log_path)
                died = not self.running
                self._terminate()
                if died and "Address already in use" in tail and attempt < 2:
                    continue
                raise RuntimeError(
                    f"dovecot did not start (ports {self.port}/{self.tls_port}): {exc}\n"
                    f"--- {self.log_path} (tail) ---\n{tail}"
                ) from exc
        raise AssertionError("unreachable")

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        atexit.unregister(self._terminate)
        # SIGTERM makes the master stop every child process (shutdown_clients = yes)
        stop_process(proc, timeout=10)

    def stop(self, *, remove: bool = True) -> None:
        """Stop Dovecot and wait for the master to exit; delete the temp dir if ours."""
        self._terminate()
        if remove and self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    def log_tail(self, limit: int = 4000) -> str:
        return log_tail(self.log_path, limit)

    def __enter__(self) -> "DovecotServer":
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
        return (
            f"<DovecotServer {self.host}:{self.port} tls={self.tls_port} "
            f"user={self.user!r} {state}>"
        )


# -- loading mail ------------------------------------------------------------------------

# A message is raw bytes, or a mapping like imapclient's multiappend items:
# {"msg": bytes, "flags": (b"\\Seen", ...), "date": datetime}
Message = Union[bytes, Mapping[str, Any]]

_MAILDIR_FLAGS = {  # Maildir info letters, which must be written in ASCII order
    "\\draft": "D",
    "\\flagged": "F",
    "\\answered": "R",
    "\\seen": "S",
    "\\deleted": "T",
}
_delivery = itertools.count(1)  # Maildir unique names: ...Q<n>
_SAFE_MAILBOX = re.compile(r"^[A-Za-z0-9 _\-]+(/[A-Za-z0-9 _\-]+)*$")


def _unpack(message: Message) -> tuple[bytes, tuple[Any, ...], _dt.datetime | None]:
    if isinstance(message, (bytes, bytearray, memoryview)):
        return bytes(message), (), None
    return bytes(message["msg"]), tuple(message.get("flags", ()) or ()), message.get("date")


def _maildir_path(server: DovecotServer, mailbox: str) -> Path:
    if mailbox.upper() == "INBOX":
        return server.maildir
    if not _SAFE_MAILBOX.match(mailbox):
        raise ValueError(
            f"fill_maildir only handles plain ASCII names without '.': {mailbox!r} "
            "(use append_messages for anything else)"
        )
    # Maildir++ layout: "A/B" in the namespace is the directory ".A.B" on disk
    return server.maildir / ("." + mailbox.replace("/", "."))


def ensure_maildir(server: DovecotServer, mailbox: str) -> Path:
    """Create the Maildir folder for ``mailbox`` (and its parents) owned by the mail user."""
    path = _maildir_path(server, mailbox)
    created = []
    for directory in (server.home, server.maildir, path):
        if not directory.exists():
            directory.mkdir(mode=0o700)
            created.append(directory)
    for sub in ("cur", "new", "tmp"):
        if not (path / sub).exists():
            (path / sub).mkdir(mode=0o700)
            created.append(path / sub)
    if path != server.maildir and not (path / "maildirfolder").exists():
        (path / "maildirfolder").touch(mode=0o600)
        created.append(path / "maildirfolder")
    if os.getuid() == 0:
        for item in created:
            os.chown(item, server.mail_uid, server.mail_gid)
    return path


def fill_maildir(
    server: DovecotServer, mailbox: str, messages: Iterable[Message]
) -> int:
    """Write ``messages`` straight into ``mailbox``'s Maildir ``cur/``; returns the count.

    Much faster than IMAP for bulk loads (50k messages in seconds). Works before or after
    ``start()``: Dovecot notices the new files at the next SELECT or NOOP (a STATUS of
    the mailbox the same connection has selected answers from its stale view). Messages
    are bytes or ``{"msg", "flags", "date"}`` mappings; ``date`` becomes INTERNALDATE (the
    file's mtime). Only system flags are supported (no keywords). The folder is created
    on disk if needed (it is not subscribed). Write CRLF line endings for realism.
    """
    path = ensure_maildir(server, mailbox)
    cur = path / "cur"
    chown = os.getuid() == 0
    host = socket.gethostname().replace("/", "_").replace(":", "_")
    pid = os.getpid()
    count = 0
    for count, message in enumerate(messages, start=1):
        body, flags, date = _unpack(message)
        letters = set()
        for flag in flags:
            name = flag.decode() if isinstance(flag, bytes) else str(flag)
            try:
                letters.add(_MAILDIR_FLAGS[name.lower()])
            except KeyError:
                raise ValueError(f"fill_maildir supports system flags only, not {name!r}")
        # S= physical size, W= size with CRLF line endings (what RFC822.SIZE reports)
        vsize = len(body) + body.count(b"\n") - body.count(b"\r\n")
        now = time.time_ns() // 1000
        unique = f"{now // 1_000_000}.M{now % 1_000_000}P{pid}Q{next(_delivery)}.{host}"
        name = f"{unique},S={len(body)},W={vsize}:2,{''.join(sorted(letters))}"
        fd = os.open(cur / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, body)
            if chown:
                os.fchown(fd, server.mail_uid, server.mail_gid)
            if date is not None:
                seconds = (date if date.tzinfo else date.astimezone()).timestamp()
                os.utime(fd, (seconds, seconds))
        finally:
            os.close(fd)
    return count


def append_messages(
    host: str,
    port: int,
    user: str,
    password: str,
    mailbox: str,
    messages: Iterable[Message],
    *,
    ssl_context: ssl.SSLContext | None = None,
    batch_size: int = 500,
    create: bool = True,
) -> list[int]:
    """APPEND ``messages`` to ``mailbox`` with MULTIAPPEND, ``batch_size`` per command.

    Messages are bytes or ``{"msg": bytes, "flags": (...), "date": datetime}``. With
    ``ssl_context`` the connection is implicit TLS. Creates the mailbox if it is missing
    (``create=True``). Returns the UIDs from APPENDUID (empty if the server has no
    UIDPLUS).
    """
    from imapclient import IMAPClient

    items = []
    for message in messages:
        body, flags, date = _unpack(message)
        item: dict[str, Any] = {"msg": body, "flags": flags}
        if date is not None:
            item["date"] = date
        items.append(item)
    uids: list[int] = []
    client = IMAPClient(
        host, port, ssl=ssl_context is not None, ssl_context=ssl_context, timeout=60
    )
    try:
        client.login(user, password)
        if create and not client.folder_exists(mailbox):
            client.create_folder(mailbox)
        for start in range(0, len(items), batch_size):
            response = client.multiappend(mailbox, items[start : start + batch_size])
            uids.extend(_appenduid(response))
        client.logout()
    finally:
        try:
            client.shutdown()
        except OSError:
            pass
    return uids


def _appenduid(response: Any) -> list[int]:
    text = response if isinstance(response, (bytes, str)) else repr(response)
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    match = re.search(r"APPENDUID \d+ ([\d:,]+)", text)
    if not match:
        return []
    uids: list[int] = []
    for part in match.group(1).split(","):
        low, _, high = part.partition(":")
        uids.extend(range(int(low), int(high or low) + 1))
    return uids


def make_message(
    index: int,
    *,
    subject: str | None = None,
    sender: str = "Alice Example <alice@example.org>",
    to: str = "Bob Example <bob@example.org>",
    date: _dt.datetime | None = None,
    body: str | None = None,
) -> bytes:
    """A small, deterministic RFC 5322 message with CRLF line endings."""
    from email.utils import format_datetime

    date = date or _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(
        minutes=index
    )
    lines = [
        f"Date: {format_datetime(date)}",
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject if subject is not None else f'Test message {index}'}",
        f"Message-ID: <msg-{index}@test.tui-mail>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        body if body is not None else f"Body of message {index}.",
        "",
    ]
    return "\r\n".join(lines).encode()

