"""connect(): authentication methods, TLS rules and certificate errors, against real servers.

Dovecot (the session fixture) for what a real server does; `ScriptedServer` for what a
good server never does (PREAUTH before STARTTLS, injected responses, OAuth); a
`RecordingProxy` in front of Dovecot to see which command went over the wire.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import re
import socket
import ssl
import time
from pathlib import Path

import pytest

from scripted_server import RecordingProxy, ScriptedServer, Step
from tui.config import Account
from tui.imap.connection import (
    KEEPALIVE_COUNT,
    KEEPALIVE_IDLE,
    KEEPALIVE_INTERVAL,
    ConnectError,
    connect,
)

PASSWORD = "hunter2-Pa55"  # for scripted servers: must never show up in what they received
TOKEN = "ya29.test-access-token"


def make_account(name: str, host: str, port: int, **options) -> Account:
    options.setdefault("tls", "none")
    options.setdefault("username", "tester")
    options.setdefault("connect_timeout", 5.0)
    options.setdefault("read_timeout", 5.0)
    return Account(name=name, host=host, port=port, **options)


def assert_no_credentials(received: bytes, secret: str = PASSWORD) -> None:
    upper = received.upper()
    assert b" LOGIN " not in upper and b" AUTHENTICATE " not in upper, received
    assert secret.encode() not in received
    for payload in re.findall(rb"[A-Za-z0-9+/=]{8,}", received):
        try:
            assert secret.encode() not in base64.b64decode(payload, validate=False)
        except ValueError:
            pass


# -- Dovecot: the three password methods -------------------------------------------------------


def _log_offset(dovecot) -> int:
    return dovecot.log_path.stat().st_size


def _log_since(dovecot, offset: int, until: str | re.Pattern, timeout: float = 5.0) -> str:
    """The log written after `offset`, once `until` shows up in it (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        text = dovecot.log_path.read_bytes()[offset:].decode("utf-8", "replace")
        found = until in text if isinstance(until, str) else until.search(text)
        if found or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


SENT_AS = {"login": b" LOGIN ", "plain": b" AUTHENTICATE PLAIN", "cram-md5": b" AUTHENTICATE CRAM-MD5"}
LOGGED_AS = {"login": "PLAIN", "plain": "PLAIN", "cram-md5": "CRAM-MD5"}  # Dovecot logs LOGIN as PLAIN


@pytest.mark.parametrize("method", ["login", "plain", "cram-md5"])
def test_password_methods_log_in_to_dovecot(dovecot, method):
    offset = _log_offset(dovecot)
    with RecordingProxy(dovecot.host, dovecot.port) as proxy:
        account = make_account(f"dove-{method}", proxy.host, proxy.port, username=dovecot.user, auth=method)
        client = connect(account, dovecot.password)
        try:
            assert client._imap.state == "AUTH"
            assert b"IMAP4REV1" in client.capabilities()
            assert client.select_folder(b"INBOX", readonly=True)[b"EXISTS"] >= 0
        finally:
            client.logout()
        proxy.wait_done()
    sent = proxy.from_client
    assert SENT_AS[method] in sent.upper()
    if method == "cram-md5":  # the point of CRAM-MD5: the password itself never crosses the wire
        assert dovecot.password.encode() not in sent
        assert base64.b64encode(f"\0{dovecot.user}\0{dovecot.password}".encode()) not in sent
    log = _log_since(dovecot, offset, f"method={LOGGED_AS[method]}")
    assert f"Login: user=<{dovecot.user}>, method={LOGGED_AS[method]}" in log


@pytest.mark.parametrize("method", ["login", "plain", "cram-md5"])
def test_wrong_password_is_one_sentence_and_one_attempt(dovecot, method):
    account = make_account(f"dove-{method}", dovecot.host, dovecot.port, username=dovecot.user, auth=method)
    offset = _log_offset(dovecot)
    with pytest.raises(ConnectError) as caught:
        connect(account, "not-the-password")
    message = str(caught.value)
    assert message.startswith(f"127.0.0.1 refused the login for account 'dove-{method}': ")
    assert "Authentication failed" in message  # Dovecot's own words
    assert "\n" not in message and "Traceback" not in message
    assert caught.value.retryable is False  # the worker must not try the same password again
    # The server saw exactly one failed attempt: no retry loop, no fallback to another method.
    log = _log_since(dovecot, offset, "auth failed")
    mismatches = re.findall(r"[\w-]+\(tester,127\.0\.0\.1,<([^>]+)>\): Password mismatch", log)
    assert len(mismatches) == 1, log
    session = mismatches[0]
    log = _log_since(dovecot, offset, re.compile(rf"auth failed.*session=<{re.escape(session)}>"))
    failed = [line for line in log.splitlines() if f"session=<{session}>" in line and "auth failed" in line]
    assert len(failed) == 1, log
    assert "auth failed, 1 attempts" in failed[0]
    assert f"method={LOGGED_AS[method]}" in failed[0]


# -- Dovecot: TLS --------------------------------------------------------------------------------


def test_implicit_tls_needs_the_ca_file(dovecot):
    account = make_account("imaps", "localhost", dovecot.tls_port, tls="implicit", username=dovecot.user)
    client = connect(dataclasses.replace(account, ca_file=dovecot.ca_file), dovecot.password)
    assert b"IMAP4REV1" in client.capabilities()
    client.logout()
    with pytest.raises(ConnectError) as caught:
        connect(account, dovecot.password)
    message = str(caught.value)
    assert message.startswith("The certificate of localhost could not be verified: ")
    assert "issued by an unknown authority" in message
    assert "ca_file" in message
    assert caught.value.retryable is False


@pytest.mark.parametrize("method", ["login", "plain", "cram-md5"])
def test_starttls_with_the_ca_file(dovecot, method):
    account = make_account(
        "st", "localhost", dovecot.port, tls="starttls", username=dovecot.user, ca_file=dovecot.ca_file, auth=method
    )
    offset = _log_offset(dovecot)
    client = connect(account, dovecot.password)
    try:
        assert client._imap._tls_established
        assert isinstance(client.socket(), ssl.SSLSocket)
        capabilities = client.capabilities()
        assert b"STARTTLS" not in capabilities  # re-read after TLS and login
        assert b"IMAP4REV1" in capabilities
    finally:
        client.logout()
    log = _log_since(dovecot, offset, f"method={LOGGED_AS[method]}")
    assert re.search(rf"Login: user=<tester>, method={LOGGED_AS[method]},.*, TLS,", log), log


@pytest.mark.parametrize("tls", ["none", "starttls", "implicit"])
def test_every_connection_asks_the_kernel_to_notice_a_dead_network(dovecot, tls):
    """TCP keep-alive on the socket the session ends up on (after STARTTLS too), so a
    network gone under an idle connection is noticed within about a minute."""
    port = dovecot.tls_port if tls == "implicit" else dovecot.port
    account = make_account("ka", "localhost", port, tls=tls, username=dovecot.user, ca_file=dovecot.ca_file)
    client = connect(account, dovecot.password)
    try:
        sock = client.socket()
        assert isinstance(sock, ssl.SSLSocket) == (tls != "none")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        wanted = {"TCP_KEEPIDLE": KEEPALIVE_IDLE, "TCP_KEEPINTVL": KEEPALIVE_INTERVAL, "TCP_KEEPCNT": KEEPALIVE_COUNT}
        for name, value in wanted.items():
            if hasattr(socket, name):  # Linux has all three; elsewhere the kernel's defaults stay
                assert sock.getsockopt(socket.IPPROTO_TCP, getattr(socket, name)) == value, name
        assert KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT <= 60  # "within about a minute"
        assert b"IMAP4REV1" in client.capabilities()  # the session works as before
    finally:
        client.logout()


def test_starttls_without_the_ca_file_sends_no_password(dovecot):
    account = make_account("st", "localhost", dovecot.port, tls="starttls", username=dovecot.user)
    offset = _log_offset(dovecot)
    with pytest.raises(ConnectError) as caught:
        connect(account, dovecot.password)
    assert "certificate of localhost could not be verified: it was issued by an unknown authority" in str(caught.value)
    log = _log_since(dovecot, offset, "no auth attempts")
    assert "no auth attempts" in log and "Password mismatch" not in log


def test_certificate_for_another_host_name(dovecot):
    # The test certificate covers "localhost" and 127.0.0.1: reach Dovecot as 127.0.0.2.
    try:
        proxy = RecordingProxy(dovecot.host, dovecot.tls_port, host="127.0.0.2")
    except OSError as error:
        pytest.skip(f"cannot listen on 127.0.0.2 here: {error}")
    with proxy:
        account = make_account(
            "alias", "127.0.0.2", proxy.port, tls="implicit", username=dovecot.user, ca_file=dovecot.ca_file
        )
        with pytest.raises(ConnectError) as caught:
            connect(account, dovecot.password)
    message = str(caught.value)
    assert message.startswith("The certificate of 127.0.0.2 could not be verified: ")
    assert "the certificate is for another host name" in message
    assert caught.value.retryable is False


# -- certificates a test CA can make: expired, self-signed, a DNS name mismatch --------------------


@pytest.fixture(scope="module")
def test_ca():
    import trustme

    return trustme.CA()


def _server_context(tmp_path: Path, cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def _leaf_context(tmp_path: Path, leaf) -> ssl.SSLContext:
    chain = b"".join(pem.bytes() for pem in leaf.cert_chain_pems)
    return _server_context(tmp_path, chain, leaf.private_key_pem.bytes())


def _ca_file(tmp_path: Path, ca) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _tls_failure(tmp_path: Path, context: ssl.SSLContext, host: str, ca_file: Path | None) -> ConnectError:
    with ScriptedServer(b"* OK ready", tls_context=context, implicit_tls=True) as server:
        account = make_account("cert", host, server.port, tls="implicit", ca_file=ca_file)
        with pytest.raises(ConnectError) as caught:
            connect(account, PASSWORD)
        server.wait_done()
    assert_no_credentials(server.received)
    assert caught.value.retryable is False
    return caught.value


def test_expired_certificate(tmp_path, test_ca):
    leaf = test_ca.issue_cert(
        "localhost", not_before=dt.datetime(2020, 1, 1), not_after=dt.datetime(2020, 2, 1)
    )
    error = _tls_failure(tmp_path, _leaf_context(tmp_path, leaf), "localhost", _ca_file(tmp_path, test_ca))
    assert str(error).startswith("The certificate of localhost could not be verified: the certificate has expired.")


def test_self_signed_certificate(tmp_path, test_ca):
    # The CA's own certificate is self-signed; the client has not been told to trust it.
    context = _server_context(tmp_path, test_ca.cert_pem.bytes(), test_ca.private_key_pem.bytes())
    error = _tls_failure(tmp_path, context, "localhost", None)
    assert str(error).startswith("The certificate of localhost could not be verified: it is a self-signed certificate.")
    assert "ca_file" in str(error)


def test_certificate_for_another_dns_name(tmp_path, test_ca):
    leaf = test_ca.issue_cert("imap.example.test")
    error = _tls_failure(tmp_path, _leaf_context(tmp_path, leaf), "localhost", _ca_file(tmp_path, test_ca))
    assert "the certificate is for another host name" in str(error)
    assert "'localhost'" in str(error)


# -- STARTTLS rules (scripted server) ------------------------------------------------------------


@pytest.fixture
def tls_pair(tmp_path, test_ca):
    """(server context for localhost, ca_file the client trusts)."""
    leaf = test_ca.issue_cert("localhost", "127.0.0.1")
    return _leaf_context(tmp_path, leaf), _ca_file(tmp_path, test_ca)


def _refused(server: ScriptedServer, account: Account) -> ConnectError:
    with server:
        with pytest.raises(ConnectError) as caught:
            connect(account, PASSWORD)
        server.wait_done()
    assert_no_credentials(server.received)
    return caught.value


def test_preauth_greeting_with_starttls_is_refused_before_anything(tls_pair):
    context, ca_file = tls_pair
    server = ScriptedServer(
        b"* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome, you are logged in",
        capabilities=b"IMAP4rev1 STARTTLS",
        tls_context=context,
    )
    account = make_account("pre", "localhost", 0, tls="starttls", ca_file=ca_file)
    error = _refused(server, dataclasses.replace(account, port=server.start().port))
    assert "PREAUTH" in str(error)
    assert b"STARTTLS" not in server.received.upper()
    assert error.retryable is False


def test_server_without_starttls_is_refused(tls_pair):
    context, ca_file = tls_pair
    server = ScriptedServer(b"* OK ready", capabilities=b"IMAP4rev1 AUTH=PLAIN", tls_context=context)
    account = make_account("nostls", "localhost", server.start().port, tls="starttls", ca_file=ca_file)
    error = _refused(server, account)
    assert str(error).startswith("localhost does not offer STARTTLS; refusing to send the password in clear.")


def test_server_refusing_starttls_is_refused(tls_pair):
    context, ca_file = tls_pair
    server = ScriptedServer(
        b"* OK ready",
        [Step("STARTTLS", b"{tag} NO [UNAVAILABLE] TLS is broken today\r\n")],
        capabilities=b"IMAP4rev1 STARTTLS",
        tls_context=context,
    )
    account = make_account("stno", "localhost", server.start().port, tls="starttls", ca_file=ca_file)
    error = _refused(server, account)
    assert "refused STARTTLS" in str(error) and "TLS is broken today" in str(error)


def test_response_injected_after_starttls_ok_is_refused(tls_pair):
    context, ca_file = tls_pair
    server = ScriptedServer(
        b"* OK ready",
        # One sendall: the injected line arrives in the same packet as the OK.
        [Step("STARTTLS", b"{tag} OK Begin TLS\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n", start_tls=True)],
        capabilities=b"IMAP4rev1 STARTTLS",
        tls_context=context,
    )
    account = make_account("inject", "localhost", server.start().port, tls="starttls", ca_file=ca_file)
    error = _refused(server, account)
    message = str(error)
    assert message.startswith("localhost sent data after agreeing to STARTTLS and before the TLS handshake")
    assert "injection" in message
    assert server.received.endswith(b" STARTTLS\r\n")  # not even a TLS ClientHello followed
    assert error.retryable is False


def test_clean_starttls_forgets_what_was_said_in_clear(tls_pair):
    """The control for the injection test: the same server without the extra line works.

    Before TLS the server says LOGINDISABLED (and slips a fake capability into the
    STARTTLS exchange); after TLS it allows LOGIN. Only the list read over TLS counts.
    """
    context, ca_file = tls_pair
    server = ScriptedServer(
        b"* OK ready",
        [
            Step("STARTTLS", b"* CAPABILITY IMAP4rev1 AUTH=FAKE\r\n{tag} OK Begin TLS\r\n", start_tls=True),
            Step("LOGIN", b"{tag} OK logged in\r\n"),
        ],
        capabilities=b"IMAP4rev1 STARTTLS LOGINDISABLED",
        capabilities_after_tls=b"IMAP4rev1 AUTH=PLAIN IDLE",
        tls_context=context,
    )
    with server:
        account = make_account("clean", "localhost", server.port, tls="starttls", ca_file=ca_file)
        client = connect(account, PASSWORD)
        capabilities = client.capabilities()
        client.logout()
        server.wait_done()
    assert server.steps_left == 0 and not server.unexpected and not server.errors
    assert b"IDLE" in capabilities
    assert b"AUTH=FAKE" not in capabilities and b"LOGINDISABLED" not in capabilities
    assert f'LOGIN tester "{PASSWORD}"'.encode() in server.received  # decrypted by the server


def test_preauth_over_implicit_tls_sends_no_credentials(tls_pair):
    context, ca_file = tls_pair
    server = ScriptedServer(
        b"* PREAUTH [CAPABILITY IMAP4rev1] logged in as tester",
        capabilities=b"IMAP4rev1 IDLE",
        tls_context=context,
        implicit_tls=True,
    )
    with server:
        client = connect(make_account("pre-tls", "localhost", server.port, tls="implicit", ca_file=ca_file), PASSWORD)
        assert client._imap.state == "AUTH"
        assert b"IDLE" in client.capabilities()
        client.logout()
        server.wait_done()
    assert_no_credentials(server.received)


GARBAGE_GREETINGS = {
    "http": (b"HTTP/1.1 400 Bad Request", "HTTP/1.1 400 Bad Request"),
    "smtp": (b"220 mail.example.test ESMTP Postfix", "220 mail.example.test ESMTP Postfix"),
    # Terminal escapes and raw bytes must reach the message escaped, never as they are.
    "binary": (b"\x1b]52;c;cHduZWQ=\x07\x00\xff\xfe", r"\x1b]52;c;cHduZWQ=\x07\x00\xff\xfe"),
    "untagged": (b"* HELLO friend", "* HELLO friend"),
}


@pytest.mark.parametrize("tls", ["none", "starttls", "implicit"])
@pytest.mark.parametrize("kind", GARBAGE_GREETINGS)
def test_garbage_greeting_is_one_sentence_and_no_credentials(tls_pair, tls, kind):
    greeting, shown = GARBAGE_GREETINGS[kind]
    context, ca_file = tls_pair
    server = ScriptedServer(
        greeting, capabilities=b"IMAP4rev1 STARTTLS", tls_context=context, implicit_tls=tls == "implicit"
    )
    account = make_account("garbage", "localhost", server.start().port, tls=tls, ca_file=ca_file)
    error = _refused(server, account)
    message = str(error)
    assert message.startswith(f"localhost:{server.port} did not greet like an IMAP server (it sent '{shown}'). ")
    assert "Check host, port and tls" in message
    assert "\n" not in message and "\x1b" not in message and "\x00" not in message
    assert "unexpected response" not in message  # imaplib's words are not the user's
    assert server.lines == []  # not even CAPABILITY or STARTTLS
    assert error.retryable is False  # the same port will not turn into an IMAP server


def test_garbage_greeting_is_cut_short():
    server = ScriptedServer(b"HTTP/1.1 400 " + b"x" * 5000)
    error = _refused(server, make_account("long", "127.0.0.1", server.start().port))
    assert "(it sent 'HTTP/1.1 400 xxx" in str(error)
    assert len(str(error)) < 300


def test_bye_greeting_is_the_server_turning_us_away():
    server = ScriptedServer(b"* BYE Too many connections from your IP\x1b[2J")
    error = _refused(server, make_account("busy", "127.0.0.1", server.start().port))
    assert str(error) == f"127.0.0.1:{server.port} turned the connection away: Too many connections from your IP\\x1b[2J."
    assert error.retryable is True  # busy now, maybe not in a minute


@pytest.mark.parametrize(
    "method,capabilities",
    [
        ("login", b"IMAP4rev1 LOGINDISABLED"),
        ("plain", b"IMAP4rev1 LOGINDISABLED"),
        ("plain", b"IMAP4rev1 LOGINDISABLED AUTH=PLAIN"),  # the password in clear all the same
        ("cram-md5", b"IMAP4rev1 LOGINDISABLED"),
    ],
)
def test_logindisabled_refuses_password_methods(method, capabilities):
    server = ScriptedServer(b"* OK ready", capabilities=capabilities)
    account = make_account("nologin", "127.0.0.1", server.start().port, auth=method)
    error = _refused(server, account)
    assert "LOGINDISABLED" in str(error)
    assert "'nologin'" in str(error)


def test_logindisabled_still_allows_an_advertised_cram_md5():
    challenge = b"<1896.697170952@imap.example.test>"
    expected = b"tester " + hmac.new(PASSWORD.encode(), challenge, hashlib.md5).hexdigest().encode()

    def check(line: bytes) -> bytes:
        ok = base64.b64decode(line) == expected
        return b"{tag} OK logged in\r\n" if ok else b"{tag} NO wrong digest\r\n"

    server = ScriptedServer(
        b"* OK ready",
        [Step("AUTHENTICATE CRAM-MD5", b"+ " + base64.b64encode(challenge) + b"\r\n"), Step("+", check)],
        capabilities=b"IMAP4rev1 LOGINDISABLED AUTH=CRAM-MD5",
    )
    with server:
        connect(make_account("cram", "127.0.0.1", server.port, auth="cram-md5"), PASSWORD).logout()
        server.wait_done()
    assert PASSWORD.encode() not in server.received


# -- OAuth2 (scripted server over plain loopback) ------------------------------------------------


OAUTH_CAPS = b"IMAP4rev1 AUTH=XOAUTH2 AUTH=OAUTHBEARER"
SASL = {
    "xoauth2": f"user=tester\x01auth=Bearer {TOKEN}\x01\x01".encode(),
    "oauthbearer": f"n,a=tester,\x01auth=Bearer {TOKEN}\x01\x01".encode(),
}


@pytest.mark.parametrize("method", ["xoauth2", "oauthbearer"])
def test_oauth_sends_the_token_in_the_right_sasl_string(method):
    payloads = []

    def check(line: bytes) -> bytes:
        payloads.append(base64.b64decode(line))
        if payloads[-1] == SASL[method]:
            return b"{tag} OK [CAPABILITY IMAP4rev1 IDLE] authenticated\r\n"
        return b"{tag} NO unexpected payload\r\n"

    server = ScriptedServer(
        b"* OK ready",
        [Step(f"AUTHENTICATE {method.upper()}", b"+ \r\n"), Step("+", check)],
        capabilities=OAUTH_CAPS,
    )
    with server:
        client = connect(make_account(f"oauth-{method}", "127.0.0.1", server.port, auth=method), TOKEN)
        assert client._imap.state == "AUTH"
        assert b"IDLE" in client.capabilities()
        client.logout()
        server.wait_done()
    assert payloads == [SASL[method]]
    assert not server.unexpected


def test_oauth_refusal_names_the_account_and_the_token_is_sent_once():
    status = json.dumps({"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}).encode()
    server = ScriptedServer(
        b"* OK ready",
        [
            Step("AUTHENTICATE XOAUTH2", b"+ \r\n"),
            Step("+", b"+ " + base64.b64encode(status) + b"\r\n"),  # Google's error challenge
            Step("+", b"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n"),
        ],
        capabilities=OAUTH_CAPS,
    )
    with server:
        account = make_account("gmail", "127.0.0.1", server.port, auth="xoauth2")
        with pytest.raises(ConnectError) as caught:
            connect(account, TOKEN)
        server.wait_done()
    message = str(caught.value)
    assert message.startswith("127.0.0.1 refused the login for account 'gmail': ")
    assert "Invalid credentials" in message and '"status": "401"' in message
    assert "token" in message
    assert caught.value.retryable is False
    assert server.steps_left == 0
    client_lines = server.lines[server.lines.index(next(l for l in server.lines if b"AUTHENTICATE" in l)) + 1 :]
    decoded = [base64.b64decode(line) for line in client_lines[:2]]
    assert decoded == [SASL["xoauth2"], b""]  # the token once, then the empty acknowledgement
    assert server.received.count(base64.b64encode(SASL["xoauth2"])) == 1


def test_oauthbearer_plain_no_is_clear():
    server = ScriptedServer(
        b"* OK ready",
        [Step("AUTHENTICATE OAUTHBEARER", b"+ \r\n"), Step("+", b"{tag} NO token expired\r\n")],
        capabilities=OAUTH_CAPS,
    )
    with server:
        with pytest.raises(ConnectError) as caught:
            connect(make_account("work", "127.0.0.1", server.port, auth="oauthbearer"), TOKEN)
        server.wait_done()
    assert str(caught.value) == "127.0.0.1 refused the login for account 'work': token expired. Check token."


@pytest.mark.parametrize("method,mechanism", [("xoauth2", "XOAUTH2"), ("oauthbearer", "OAUTHBEARER"), ("cram-md5", "CRAM-MD5")])
def test_unadvertised_mechanism_is_refused_without_sending_the_secret(method, mechanism):
    server = ScriptedServer(b"* OK ready", capabilities=b"IMAP4rev1 AUTH=PLAIN AUTH=LOGIN")
    account = make_account("mech", "127.0.0.1", server.start().port, auth=method)
    error = _refused(server, account)
    assert str(error) == (
        f"127.0.0.1 does not offer {mechanism} authentication, which account 'mech' is set to use "
        f"(auth = '{method}'); the server offers: LOGIN, PLAIN."
    )
    assert TOKEN.encode() not in server.received


# -- timeouts come from the account ----------------------------------------------------------------


def test_silent_server_times_out_with_the_accounts_connect_timeout():
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (backlog) but never greets
    try:
        account = make_account("slow", "127.0.0.1", listener.getsockname()[1], connect_timeout=0.3)
        started = time.monotonic()
        with pytest.raises(ConnectError) as caught:
            connect(account, PASSWORD)
        assert time.monotonic() - started < 3
    finally:
        listener.close()
    assert "did not answer within 0.3 s" in str(caught.value)
    assert caught.value.retryable is True


def test_a_drop_during_login_is_the_network_not_the_password(dovecot):
    from proxy import CuttableProxy

    proxy = CuttableProxy(dovecot.host, dovecot.port)
    proxy.cut_when_sent(b"LOGIN")
    account = Account(name="drop", host=proxy.host, port=proxy.port, tls="none", username=dovecot.user)
    try:
        with pytest.raises(ConnectError) as info:
            connect(account, dovecot.password)
    finally:
        proxy.close()
    assert info.value.retryable
    assert "dropped while logging in" in str(info.value)
    assert "Check username and password" not in str(info.value)


# -- literals imaplib reads for imapclient's own commands -------------------------------


@pytest.mark.parametrize("size", [2_000_000_000, 99_999_999_999, 60 * 1024 * 1024])
@pytest.mark.parametrize("command, reply, call", [
    ("LIST", b'* LIST () "/" {%d}\r\nonly this', lambda client: client.list_folders()),
    ("SELECT", b"* 1 EXISTS\r\n* OK [UIDVALIDITY 1] {%d}\r\nonly this", lambda client: client.select_folder("INBOX")),
    ("UID FETCH", b"* 1 FETCH (UID 5 BODY[]<0> {%d}\r\nonly this",
     lambda client: __import__("tui.imap.commands").imap.commands.fetch_message(client, 5, 20 * 1024 * 1024)),
], ids=["list", "select", "message"])
def test_a_huge_literal_is_never_allocated_whoever_reads_it(command, reply, call, size):
    """imaplib would allocate the announced size before a byte came (or MemoryError): the
    connection reads literals in chunks, and refuses what no answer of ours can hold."""
    import tracemalloc

    from imapclient.exceptions import IMAPClientError

    server = ScriptedServer(b"* OK ready", [Step("LOGIN", b"{tag} OK in\r\n"), Step(command, reply % size, close=True)])
    with server:
        client = connect(Account(name="a", host=server.host, port=server.port, tls="none", username="u",
                                 allow_plaintext=True), "secret")
        tracemalloc.start()
        try:
            with pytest.raises((IMAPClientError, OSError)):  # an abort: the connection is gone
                call(client)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            client.shutdown()
        assert peak < 4 * 1024 * 1024


def test_a_huge_literal_in_the_greeting_is_never_allocated():
    """Read while imapclient builds the connection, before anything of ours could patch it."""
    import tracemalloc

    with ScriptedServer(b"* OK {2000000000}\r\nonly this") as server:
        tracemalloc.start()
        try:
            with pytest.raises(ConnectError) as refused:
                connect(Account(name="a", host=server.host, port=server.port, tls="none", username="u",
                                allow_plaintext=True), "secret")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 4 * 1024 * 1024
        assert "secret" not in str(refused.value) and b"LOGIN" not in server.received
