"""Open an authenticated IMAP connection, or fail with one clear sentence.

Certificates and host names are always verified: imaplib does not do it on its
own (see ARCHITECTURE.md), so every TLS path gets `ssl.create_default_context()`.

Rules enforced before any credential leaves the machine:

- the greeting must be `* OK` or `* PREAUTH`; anything else (an HTTP or SMTP server on that
  port, noise) ends the connection with what it sent, escaped and cut short.
- tls = "starttls": the greeting must not be PREAUTH (the session would stay in clear),
  the server must advertise STARTTLS, and nothing may follow the tagged OK of STARTTLS
  before the TLS handshake (response injection, CVE-2011-0411). Capabilities and any
  untagged data from before the handshake are thrown away and read again over TLS.
- a PREAUTH greeting over implicit TLS (or plain loopback) is accepted, and then no
  credentials are sent at all.
- LOGIN and AUTHENTICATE PLAIN (the password itself on the wire) are refused when the
  server advertises LOGINDISABLED. CRAM-MD5, XOAUTH2 and OAUTHBEARER are tried only
  when the server lists AUTH=<that mechanism> (Dovecot lists AUTH=CRAM-MD5 next to
  LOGINDISABLED on an unencrypted connection; that combination is allowed).

An authentication failure is reported with the server's own reason and never retried.
"""

from __future__ import annotations

import logging

import imaplib

import socket
import ssl

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from imapclient import imap4 as imapclient_imap4
from imapclient import tls as imapclient_tls
from imapclient.imapclient import SocketTimeout

from ..config import Account
from .trace import ProtocolTrace
from .trace import attach as attach_trace
from . import alerts
from .auth import CLEARTEXT_METHODS, REQUIRED_CAPABILITY, authenticate


# imaplib refuses a response line over 1 MB; a server without ESEARCH answers a search of
# a 150,000-message mailbox with one longer `* SEARCH` line. 16 MB still bounds a hostile one.
imaplib._MAXLINE = max(imaplib._MAXLINE, 16 * 1024 * 1024)


class ConnectError(Exception):
    """Connecting or logging in failed; the message is meant for the user.

    `retryable` is False when trying again later cannot help and must not happen
    automatically: the server refused the credentials, the certificate is bad, or a
    TLS/authentication rule was broken. Network trouble (refused, timeout) is retryable.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


def tls_context(account: Account) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if account.ca_file:
        context.load_verify_locations(cafile=str(account.ca_file))
    return context


# TCP keep-alive: after this many seconds without a packet the kernel probes the peer,
# every KEEPALIVE_INTERVAL s, and gives the connection up after KEEPALIVE_COUNT
# unanswered probes: a network gone under a quiet connection is noticed within a minute.
KEEPALIVE_IDLE = 30
KEEPALIVE_INTERVAL = 10
KEEPALIVE_COUNT = 3


def enable_keepalive(sock: socket.socket, idle: int = KEEPALIVE_IDLE, interval: int = KEEPALIVE_INTERVAL,
                     count: int = KEEPALIVE_COUNT) -> None:
    """Let the kernel notice a dead network under a quiet connection (an IDLE, a pause).

    It cannot notice a frozen server whose kernel still answers: idle.py's liveness
    check does. Best effort: a platform without an option keeps its own default.
    """
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    except OSError:
        return
    # TCP_KEEPALIVE is macOS's name for Linux's TCP_KEEPIDLE.
    for name, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPALIVE", idle), ("TCP_KEEPINTVL", interval),
                        ("TCP_KEEPCNT", count)):
        option = getattr(socket, name, None)
        if option is None:
            continue
        try:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)
        except OSError:
            pass


MAX_LITERAL = 64 * 1024 * 1024  # bytes a literal may announce (a message is fetched up to 20 MB)
_LITERAL_CHUNK = 1024 * 1024


def connect(account: Account, password: str, trace: ProtocolTrace | None = None) -> IMAPClient:
    """An authenticated `IMAPClient` for `account`, or `ConnectError`.

    `password` is the password, or the OAuth2 access token when account.auth is
    "xoauth2" or "oauthbearer". Timeouts come from the account. With a `trace`,
    the conversation is recorded from the greeting on, credentials redacted.
    """
    try:
        client = CappedIMAPClient(
            account.host,
            port=account.port,
            ssl=account.tls == "implicit",
            ssl_context=tls_context(account) if account.tls == "implicit" else None,
            timeout=SocketTimeout(connect=account.connect_timeout, read=account.read_timeout),
        )
    except IMAPClientError as error:  # the TCP (and TLS) connection worked; the first words did not
        raise _greeting_failure(error, account) from None
    except Exception as error:
        raise _failure(error, account, "connecting") from None
    enable_keepalive(client._imap.sock)  # STARTTLS keeps the socket, and so the options
    alerts.watch_alerts(client)
    if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
        # imapclient turns imaplib's debug output on: every answer line is repr()ed for a
        # log nobody reads, which costs more than parsing it (100,000-row fills).
        client._imap.debug = 0
    if trace is not None:
        # Before STARTTLS and LOGIN: those are what a protocol log is for (redacted).
        trace.record_greeting(client.welcome or b"")
        attach_trace(client._imap, trace)
    try:
        if account.tls == "starttls":
            _starttls(client, account)
        if client._imap.state == "NONAUTH":
            _login(client, account, password)
        # else: PREAUTH over implicit TLS or plain loopback; there is nobody to send a password to.
        # Servers advertise more (or less) once authenticated; never trust the earlier list.
        client._cached_capabilities = None
        client.capabilities()
    except ConnectError:
        _close(client)
        raise
    except Exception as error:
        _close(client)
        raise _failure(error, account, "logging in") from None
    # Our code expects raw mailbox names (bytes) and timezone-aware dates.
    client.folder_encode = False
    client.normalise_times = False
    return client


# -- STARTTLS ------------------------------------------------------------------------------


def _starttls(client: IMAPClient, account: Account) -> None:
    """Upgrade to TLS by hand, checking what imaplib's starttls() does not."""
    imap = client._imap
    host = account.host
    if imap.state != "NONAUTH":  # imaplib sets "AUTH" after a PREAUTH greeting
        raise ConnectError(
            f"{host} greeted with PREAUTH, so the session would never switch to TLS; "
            "refusing to continue in clear (tls = \"starttls\"). Use tls = \"implicit\" on port 993."
        )
    if "STARTTLS" not in _capability_set(imap):
        raise ConnectError(
            f"{host} does not offer STARTTLS; refusing to send the password in clear. "
            "Try tls = \"implicit\" on port 993."
        )
    typ, data = imap._simple_command("STARTTLS")
    if typ != "OK":
        raise ConnectError(f"{host} refused STARTTLS: {_text(data)}. Try tls = \"implicit\" on port 993.")
    leftover = _pending_plaintext(imap)
    if leftover:
        raise ConnectError(
            f"{host} sent data after agreeing to STARTTLS and before the TLS handshake "
            f"({_preview(leftover)}): a sign of a man in the middle (response injection); "
            "refusing to continue."
        )
    read_timeout = imap.sock.gettimeout()
    imap.sock.settimeout(account.connect_timeout)
    imap.sock = tls_context(account).wrap_socket(imap.sock, server_hostname=host)
    imap.sock.settimeout(read_timeout)
    old_file, imap.file = imap.file, imap.sock.makefile("rb")
    old_file.close()
    imap._tls_established = True
    client._starttls_done = True
    # Everything said before the handshake was unprotected: forget it, ask again over TLS.
    imap.untagged_responses = {}
    alerts.forget_alerts(client)
    client._cached_capabilities = None
    imap._get_capabilities()


def _pending_plaintext(imap) -> bytes:
    """Bytes the server sent after the STARTTLS OK that nobody has read yet.

    The server may only speak TLS from here on and the client speaks first (ClientHello),
    so anything already here is injected. Look in imaplib's read buffer (peek on a
    non-blocking socket reads at most what has arrived, never waits) and in the kernel's
    (MSG_PEEK). Bytes arriving later land in the handshake and make it fail.
    """
    sock = imap.sock
    previous = sock.gettimeout()
    sock.setblocking(False)
    try:
        try:
            buffered = imap.file.peek(1)
        except BlockingIOError:
            buffered = b""
        if buffered:
            return bytes(buffered)
        try:
            return sock.recv(64, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return b""
    finally:
        sock.settimeout(previous)


# -- authentication ------------------------------------------------------------------------


def _login(client: IMAPClient, account: Account, secret: str) -> None:
    host = account.host
    method = account.auth
    capabilities = _capability_set(client._imap)
    if method in CLEARTEXT_METHODS and "LOGINDISABLED" in capabilities:
        how = "over this unencrypted connection" if account.tls == "none" else "on this connection"
        raise ConnectError(
            f"{host} does not accept passwords {how} (it advertises LOGINDISABLED), so account "
            f"{account.name!r} cannot log in with auth = {method!r}. "
            + ("Use tls = \"implicit\" or \"starttls\"." if account.tls == "none" else "Try another auth method.")
        )
    required = REQUIRED_CAPABILITY[method]
    if required is not None and required.decode() not in capabilities:
        offered = sorted(c[5:] for c in capabilities if c.startswith("AUTH="))
        offered_text = ", ".join(offered) if offered else "none"
        raise ConnectError(
            f"{host} does not offer {required.decode()[5:]} authentication, which account "
            f"{account.name!r} is set to use (auth = {method!r}); the server offers: {offered_text}"
            + (" (and LOGINDISABLED: no passwords in clear)" if "LOGINDISABLED" in capabilities else "")
            + "."
        )
    try:
        authenticate(client, method, account.username, secret)  # an [ALERT] in its answer is kept (alerts.py)
    except LoginError as error:
        # imapclient turns every failure into LoginError, a dropped connection too:
        # that one is the network's fault, not the password's, and may be retried.
        if isinstance(error.__context__, (imaplib.IMAP4.abort, OSError)):
            raise ConnectError(
                f"The connection to {host} dropped while logging in to account {account.name!r}.", retryable=True
            ) from None
        what = "token" if method in ("xoauth2", "oauthbearer") else "username and password"
        raise ConnectError(
            f"{host} refused the login for account {account.name!r}: {_reason(error)}. Check {what}."
        ) from None


def _capability_set(imap) -> set[str]:
    """Capabilities imaplib read before authentication (upper-case strings)."""
    return {str(c).upper() for c in imap.capabilities}


# -- errors in plain words -----------------------------------------------------------------

# OpenSSL X509_V_ERR_* codes (x509_vfy.h) -> what went wrong, and what the user can do
_SELF_SIGNED = (18,)
_UNKNOWN_AUTHORITY = (2, 19, 20, 21, 24)
_EXPIRED = (10,)
_NOT_YET_VALID = (9,)
_REVOKED = (23,)
_WRONG_NAME = (62, 64)
_CA_FILE_HINT = "If the server uses a private or self-signed CA, set ca_file in the account to its certificate."


def certificate_problem(host: str, error: ssl.SSLCertVerificationError) -> str:
    """One sentence naming the host and why its certificate was refused, plus what to do."""
    code = error.verify_code
    message = (error.verify_message or "").lower()
    if code in _SELF_SIGNED or (code not in _UNKNOWN_AUTHORITY and message.startswith("self")):
        why, hint = "it is a self-signed certificate", _CA_FILE_HINT
    elif code in _UNKNOWN_AUTHORITY or "issuer" in message:
        why, hint = "it was issued by an unknown authority", _CA_FILE_HINT
    elif code in _EXPIRED or "expired" in message:
        why, hint = "the certificate has expired", "The server's administrator must renew it (or this computer's clock is wrong)."
    elif code in _NOT_YET_VALID or "not yet valid" in message:
        why, hint = "the certificate is not valid yet", "Check this computer's clock."
    elif code in _REVOKED or "revoked" in message:
        why, hint = "the certificate has been revoked", "Do not use this server until its administrator replaces it."
    elif code in _WRONG_NAME or "mismatch" in message:
        why, hint = (
            "the certificate is for another host name",
            f"Set host in the account to a name the certificate lists, not {host!r}.",
        )
    else:
        why, hint = error.verify_message or str(error), _CA_FILE_HINT
    return f"The certificate of {host} could not be verified: {why}. {hint}"


def _failure(error: BaseException, account: Account, stage: str) -> ConnectError:
    """The exception from socket, ssl, imaplib or imapclient as one sentence for the user."""
    where = f"{account.host}:{account.port}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return ConnectError(certificate_problem(account.host, error))
    if isinstance(error, ssl.SSLEOFError):  # the connection closed during the handshake
        return ConnectError(f"{where} closed the connection during the TLS handshake.", retryable=True)
    if isinstance(error, ssl.SSLError):
        return ConnectError(f"TLS with {where} failed ({error.reason or error}). Check port and tls.")
    if isinstance(error, socket.gaierror):
        return ConnectError(
            f"Cannot find the host {account.host!r}. Check the host name in the config.", retryable=True
        )
    if isinstance(error, ConnectionRefusedError):
        return ConnectError(
            f"{where} refused the connection. Is the server running, and is the port right?", retryable=True
        )
    if isinstance(error, (TimeoutError, socket.timeout)):
        seconds = account.connect_timeout if stage == "connecting" else account.read_timeout
        return ConnectError(
            f"{where} did not answer within {seconds:g} s while {stage}. Check host, port and network.",
            retryable=True,
        )
    if isinstance(error, OSError):
        return ConnectError(f"Connection to {where} failed while {stage}: {error.strerror or error}.", retryable=True)
    if isinstance(error, IMAPClientError):  # includes imaplib's abort (connection dropped mid-way)
        return ConnectError(f"{where} did not speak IMAP as expected while {stage}: {_reason(error)}.", retryable=True)
    return ConnectError(f"Cannot connect to {where} ({stage}): {error}.")


class _CappedLiterals:
    """imaplib reads a literal with one file.read(size), and a buffered read allocates `size`
    bytes before the first arrives: "{99999999999}" is a MemoryError, {2000000000} 2 GB for
    a server that then sends nothing. Read in chunks, and refuse a size no answer can have
    (a message is fetched up to 20 MB; bigger parts are fetched by range). A class, not a
    patch of the connection: the greeting is read while imapclient builds it."""

    def read(self, size: int) -> bytes:
        if size > MAX_LITERAL:
            raise imaplib.IMAP4.abort(f"the server announced a literal of {size} bytes; not reading it")
        chunks, left = [], size
        while left > 0:
            chunk = self.file.read(min(left, _LITERAL_CHUNK))  # (the file STARTTLS put in, at the time)
            if not chunk:
                break  # the connection closed: imaplib fails on the line it reads next
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


class _IMAP4(_CappedLiterals, imapclient_imap4.IMAP4WithTimeout):
    pass


class _IMAP4_TLS(_CappedLiterals, imapclient_tls.IMAP4_TLS):
    pass


class CappedIMAPClient(IMAPClient):
    """IMAPClient on the capped connections above (its own _create_IMAP4, less the stream mode)."""

    def _create_IMAP4(self):
        connect_timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            return _IMAP4_TLS(self.host, self.port, self.ssl_context, connect_timeout)
        return _IMAP4(self.host, self.port, connect_timeout)


def _greeting_failure(error: IMAPClientError, account: Account) -> ConnectError:
    """imaplib's complaint about the greeting (or the CAPABILITY that follows) as one sentence.

    What the server sent is shown escaped and cut short: it may be anything, of any length.
    """
    where = f"{account.host}:{account.port}"
    if isinstance(error, imaplib.IMAP4.abort) and str(error).startswith("socket error"):  # EOF, reset
        return ConnectError(f"{where} closed the connection before greeting.", retryable=True)
    line = error.args[0] if len(error.args) == 1 else None
    if isinstance(line, bytes) and line[:6].upper() == b"* BYE ":  # a real server turning us away, e.g. overloaded
        return ConnectError(f"{where} turned the connection away: {_escaped(line[6:])}.", retryable=True)
    if isinstance(line, bytes):  # an untagged line that is neither OK nor PREAUTH
        sent = f" (it sent '{_escaped(line)}')"
    elif isinstance(line, str) and line.startswith("unexpected response: b"):
        # imaplib's own %r of the line: already escaped, in quotes.
        sent = f" (it sent '{_cut(line.removeprefix('unexpected response: b')[1:-1])}')"
    else:  # a continuation line, or no IMAP4rev1 in the capabilities
        sent = ""
    return ConnectError(
        f"{where} did not greet like an IMAP server{sent}. Check host, port and tls "
        "(IMAP is port 143 with tls = \"starttls\", or 993 with tls = \"implicit\")."
    )


def _escaped(data: bytes) -> str:
    """Server bytes as printable ASCII (control bytes as \\x1b and the like), at most 60 characters."""
    return _cut(repr(data)[2:-1])


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _text(data) -> str:
    parts = [d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data or () if d]
    return " ".join(parts).strip().rstrip(".") or "no reason given"


def _preview(data: bytes) -> str:
    text = data[:40].decode("ascii", "replace")
    return repr(text + ("..." if len(data) > 40 else ""))


def _reason(error: Exception) -> str:
    text = str(error)
    for prefix in ("b'", 'b"'):
        text = text.replace(prefix, "")
    return text.strip("'\" ").rstrip(".") or "no reason given"


def _close(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except Exception:
        pass
