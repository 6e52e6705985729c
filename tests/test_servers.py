"""The real-server fixtures work: logins, TLS verification, folders, appends."""

from __future__ import annotations

import datetime as dt
import imaplib
import os
import ssl
import time

import pytest
from imapclient import IMAPClient

from servers import SPECIAL_USE, DovecotServer, append_messages, fill_maildir, make_message
from tui.demo_server import PymapServer

UTC = dt.timezone.utc


def _login(server: DovecotServer, *, tls: bool = False) -> IMAPClient:
    if tls:
        client = IMAPClient(
            "localhost", server.tls_port, ssl=True, ssl_context=server.ssl_context()
        )
    else:
        client = IMAPClient(server.host, server.port, ssl=False)
    client.login(server.user, server.password)
    return client


# -- Dovecot ------------------------------------------------------------------------------


@pytest.mark.dovecot
def test_dovecot_plain_login(dovecot: DovecotServer) -> None:
    """LOGIN on the plain port; the capabilities the app relies on are there."""
    client = _login(dovecot)
    try:
        caps = set(client.capabilities())
        for cap in (b"UIDPLUS", b"MOVE", b"SPECIAL-USE", b"CONDSTORE", b"QRESYNC", b"SORT"):
            assert cap in caps
        assert client.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"] > 0
    finally:
        client.logout()


@pytest.mark.dovecot
def test_dovecot_tls_login_verifies_hostname(dovecot: DovecotServer) -> None:
    """Implicit TLS with the test CA, checking the name "localhost", then LOGIN."""
    context = ssl.create_default_context(cafile=str(dovecot.ca_file))
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    conn = imaplib.IMAP4_SSL("localhost", dovecot.tls_port, ssl_context=context)
    try:
        assert conn.sock.version() in ("TLSv1.2", "TLSv1.3")
        peer = conn.sock.getpeercert()
        names = {value for kind, value in peer["subjectAltName"]}
        assert {"localhost", "127.0.0.1"} <= names
        typ, _ = conn.login(dovecot.user, dovecot.password)
        assert typ == "OK"
        typ, data = conn.select("INBOX", readonly=True)
        assert typ == "OK"
    finally:
        conn.logout()


@pytest.mark.dovecot
def test_dovecot_tls_without_ca_fails(dovecot: DovecotServer) -> None:
    """The default trust store does not know the test CA: verification must fail."""
    context = ssl.create_default_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL("localhost", dovecot.tls_port, ssl_context=context, timeout=5)


@pytest.mark.dovecot
def test_dovecot_tls_wrong_hostname_fails(dovecot: DovecotServer) -> None:
    """The certificate is for localhost/127.0.0.1 only."""
    context = ssl.create_default_context(cafile=str(dovecot.ca_file))
    with pytest.raises(ssl.SSLCertVerificationError):
        with ssl.create_connection((dovecot.host, dovecot.tls_port), timeout=5) as sock:
            context.wrap_socket(sock, server_hostname="mail.example.org")


@pytest.mark.dovecot
def test_dovecot_wrong_password_rejected(dovecot: DovecotServer) -> None:
    client = IMAPClient(dovecot.host, dovecot.port, ssl=False)
    try:
        with pytest.raises(IMAPClient.Error):
            client.login(dovecot.user, "wrong-" + dovecot.password)
    finally:
        client.shutdown()


@pytest.mark.dovecot
def test_dovecot_special_use_folders(dovecot: DovecotServer) -> None:
    """LIST shows Sent/Drafts/Trash/Junk/Archive with their attributes, delimiter "/"."""
    client = _login(dovecot)
    try:
        listing = {name: (flags, delim) for flags, delim, name in client.list_folders()}
        assert "INBOX" in listing
        for name, attr in SPECIAL_USE.items():
            flags, delim = listing[name]
            assert attr.encode() in flags, (name, flags)
            assert delim == b"/"
        assert {name for _, _, name in client.list_sub_folders()} >= set(SPECIAL_USE)
        assert client.find_special_folder(b"\\Trash") == "Trash"
    finally:
        client.logout()


@pytest.mark.dovecot
def test_dovecot_append_messages(dovecot: DovecotServer) -> None:
    """MULTIAPPEND via append_messages, then SELECT and FETCH see them as sent."""
    mailbox = "Tests/append"
    when = dt.datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    messages = [
        {"msg": make_message(i), "flags": (b"\\Seen",) if i % 2 else (), "date": when}
        for i in range(25)
    ]
    uids = append_messages(
        dovecot.host, dovecot.port, dovecot.user, dovecot.password, mailbox, messages
    )
    assert uids == list(range(1, 26))
    client = _login(dovecot)
    try:
        assert client.select_folder(mailbox, readonly=True)[b"EXISTS"] == 25
        assert len(client.search(["UNSEEN"])) == 13
        fetched = client.fetch([1], ["INTERNALDATE", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        subject = fetched[1][b"BODY[HEADER.FIELDS (SUBJECT)]"].strip()
        assert subject == b"Subject: Test message 0"
        internal = fetched[1][b"INTERNALDATE"]
        assert internal.replace(tzinfo=None) == when.astimezone().replace(tzinfo=None)
    finally:
        client.logout()


@pytest.mark.dovecot
def test_dovecot_append_over_tls(dovecot: DovecotServer) -> None:
    uids = append_messages(
        "localhost", dovecot.tls_port, dovecot.user, dovecot.password, "Tests/tls",
        [make_message(1), make_message(2)], ssl_context=dovecot.ssl_context(),
    )
    assert len(uids) == 2
    client = _login(dovecot, tls=True)
    try:
        assert client.folder_status("Tests/tls", [b"MESSAGES"])[b"MESSAGES"] == 2
    finally:
        client.logout()


@pytest.mark.dovecot
def test_dovecot_fill_maildir_while_running(dovecot: DovecotServer) -> None:
    """Files written into the Maildir show up with their flags, dates and sizes."""
    mailbox = "Tests/bulk"
    base = dt.datetime(2023, 5, 1, tzinfo=UTC)
    messages = [
        {
            "msg": make_message(i),
            "flags": (b"\\Seen", b"\\Flagged") if i == 0 else (),
            "date": base + dt.timedelta(days=i),
        }
        for i in range(500)
    ]
    assert fill_maildir(dovecot, mailbox, messages) == 500
    client = _login(dovecot)
    try:
        status = client.folder_status(mailbox, [b"MESSAGES", b"UNSEEN"])
        assert status == {b"MESSAGES": 500, b"UNSEEN": 499}
        client.select_folder(mailbox, readonly=True)
        first = client.search(["FLAGGED"])
        assert len(first) == 1
        last = client.search(["ALL"])[-1]
        data = client.fetch(first + [last], ["RFC822.SIZE", "INTERNALDATE", "FLAGS"])
        oldest, newest = sorted(data.values(), key=lambda d: d[b"INTERNALDATE"])
        assert oldest[b"RFC822.SIZE"] == len(messages[0]["msg"])
        assert set(oldest[b"FLAGS"]) >= {b"\\Seen", b"\\Flagged"}
        expected = (base + dt.timedelta(days=499)).astimezone().date()
        assert newest[b"INTERNALDATE"].date() == expected
        # a second batch shows up at the next NOOP on the selected mailbox
        fill_maildir(dovecot, mailbox, [make_message(1000)])
        _, untagged = client.noop()
        assert (501, b"EXISTS") in untagged
    finally:
        client.logout()


@pytest.mark.dovecot
def test_dovecot_start_stop_without_leftovers(dovecot: DovecotServer) -> None:
    """A second private instance starts quickly and its processes are gone after stop."""
    started = time.monotonic()
    server = DovecotServer(user="other", password="pw")
    with server:
        assert time.monotonic() - started < 5
        pid = server._proc.pid  # noqa: SLF001 - the test owns this server
        client = IMAPClient(server.host, server.port, ssl=False)
        client.login("other", "pw")
        client.logout()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    children = [
        p for p in os.listdir("/proc") if p.isdigit() and _parent_pid(p) == pid
    ]
    assert children == []
    assert not server.directory.exists()


def _parent_pid(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


# -- pymap --------------------------------------------------------------------------------


def test_pymap_login_folders_multiappend(pymap_server: PymapServer) -> None:
    """pymap: LOGIN, CREATE a nested folder, MULTIAPPEND, STATUS counts."""
    client = IMAPClient(pymap_server.host, pymap_server.port, ssl=False)
    client.login(pymap_server.username, pymap_server.password)
    try:
        assert b"MULTIAPPEND" in client.capabilities()
        client.create_folder("Projects/tui-mail")
        listing = {name: delim for _, delim, name in client.list_folders()}
        assert listing["Projects/tui-mail"] == b"/"
        messages = [
            {"msg": make_message(i), "flags": (b"\\Seen",) if i < 3 else (),
             "date": dt.datetime(2024, 1, 1, tzinfo=UTC)}
            for i in range(10)
        ]
        client.multiappend("Projects/tui-mail", messages)
        status = client.folder_status("Projects/tui-mail", [b"MESSAGES", b"UNSEEN"])
        assert status == {b"MESSAGES": 10, b"UNSEEN": 7}
        client.select_folder("Projects/tui-mail", readonly=True)
        # imapclient's fetch() is UID FETCH; pymap's UIDs do not start at 1
        fetched = client.fetch(client.search(["ALL"]), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        subjects = sorted(v[b"BODY[HEADER.FIELDS (SUBJECT)]"].strip() for v in fetched.values())
        assert subjects == sorted(f"Subject: Test message {i}".encode() for i in range(10))
    finally:
        client.logout()


def test_pymap_append_messages_helper(pymap_server: PymapServer) -> None:
    uids = append_messages(
        pymap_server.host, pymap_server.port, pymap_server.username,
        pymap_server.password, "Helper", [make_message(i) for i in range(5)],
    )
    assert len(uids) == 5
    client = IMAPClient(pymap_server.host, pymap_server.port, ssl=False)
    client.login(pymap_server.username, pymap_server.password)
    try:
        assert client.folder_status("Helper", [b"MESSAGES"])[b"MESSAGES"] == 5
    finally:
        client.logout()


def test_pymap_bad_password_rejected(pymap_server: PymapServer) -> None:
    client = IMAPClient(pymap_server.host, pymap_server.port, ssl=False)
    try:
        with pytest.raises(IMAPClient.Error):
            client.login(pymap_server.username, "nope")
    finally:
        client.shutdown()
