"""[ALERT] texts (RFC 3501 7.1: they must reach the user) are collected from the greeting,
the LOGIN answer and any command, whoever read them (imaplib or our own reader)."""

from __future__ import annotations

import pytest
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError
from scripted_server import ScriptedServer, Step

from tui.config import Account
from tui.imap import alerts, commands
from tui.imap.connection import connect


def test_alerts_from_the_greeting_the_login_and_a_command_are_all_kept():
    server = ScriptedServer(
        b"* OK [ALERT] Maintenance \x1b]0;PWN\x07tonight at 22:00",
        [
            Step("LOGIN", b"* OK [ALERT] Quota at 95%\r\n{tag} OK [ALERT] Your password expires in 3 days\r\n"),
            Step("NOOP", b"* OK [ALERT] Going down in 5 minutes\r\n* OK still here\r\n{tag} OK [ALERT] Really\r\n"),
            Step("NOOP", b"* BYE [ALERT] Shutting down now\r\n", close=True),
        ],
    )
    with server:
        account = Account(name="a", host=server.host, port=server.port, tls="none", username="u",
                          allow_plaintext=True)
        client = connect(account, "secret")
        assert alerts.take_alerts(client) == [
            "Maintenance \x1b]0;PWN\x07tonight at 22:00",  # raw: the UI makes it inert, whole
            "Quota at 95%",
            "Your password expires in 3 days",
        ]
        assert alerts.take_alerts(client) == []  # each said once
        commands.run_command(client, "NOOP")
        assert alerts.take_alerts(client) == ["Going down in 5 minutes", "Really"]
        with pytest.raises(IMAPClientAbortError):
            commands.run_command(client, "NOOP")
        assert alerts.take_alerts(client) == ["Shutting down now"]  # the last words still reach the user
        client.shutdown()


def test_the_worker_tells_the_user_of_every_alert():
    from harness import WorkerHarness

    from tui.imap.contract import Connected, Notice

    server = ScriptedServer(
        b"* OK [ALERT] Maintenance tonight",
        [Step("LOGIN", b"{tag} OK [ALERT] Your password expires in 3 days\r\n")],
    )
    with server:
        account = Account(name="a", host=server.host, port=server.port, tls="none", username="u",
                          allow_plaintext=True)
        with WorkerHarness(account, "secret", use_idle=False, cache_path=None) as harness:
            harness.wait(Connected)
            first = harness.wait(Notice, lambda n: "Maintenance" in n.message)
            second = harness.wait(Notice, lambda n: "password expires" in n.message)
        assert first.message == f"{server.host} says: Maintenance tonight"
        assert second.message == f"{server.host} says: Your password expires in 3 days"


def test_tagged_alerts_of_every_command_are_kept_once_whoever_reads_them():
    from tui.imap.bulk_read import run_uid
    from tui.imap.lean_fetch import fetch_rows

    server = ScriptedServer(
        b"* OK ready",
        [
            Step("LOGIN", b"{tag} OK [ALERT] Your password expires in 3 days\r\n"),
            Step("SELECT", b"* 2 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n{tag} OK [ALERT] Mailbox \x1b[31mnearly full\r\n"),
            Step("UID STORE", b"{tag} NO [ALERT] Flags are read-only today\r\n"),
            Step("UID SEARCH", b"* SEARCH 1 2\r\n{tag} OK [ALERT] Search index rebuilt\r\n"),
            Step("UID FETCH", b"* 1 FETCH (UID 1 FLAGS ())\r\n{tag} OK [ALERT] Fetch is slow today\r\n"),
            Step("UID FETCH", b"{tag} NO [ALERT] Rows are on strike\r\n"),
            Step("NOOP", b"{tag} OK [alert] Lower case counts too\r\n"),
        ],
    )
    with server:
        account = Account(name="a", host=server.host, port=server.port, tls="none", username="u",
                          allow_plaintext=True)
        client = connect(account, "secret")
        # LOGIN: caught once, as imaplib filed its tagged answer
        assert alerts.take_alerts(client) == ["Your password expires in 3 days"]
        client.select_folder(b"INBOX")  # imapclient's own commands, read by imaplib
        with pytest.raises(IMAPClientError):
            client.add_flags([1], [b"\\Seen"])
        assert client.search(["ALL"]) == [1, 2]
        run_uid(client, b"FETCH", b"1", b"(UID FLAGS)")  # our lean reader
        with pytest.raises(IMAPClientError):
            fetch_rows(client, [1])
        commands.run_command(client, "NOOP")  # our ordered reader
        assert alerts.take_alerts(client) == [
            "Mailbox \x1b[31mnearly full",  # raw, as the others: the UI makes it inert
            "Flags are read-only today",
            "Search index rebuilt",
            "Fetch is slow today",
            "Rows are on strike",
            "Lower case counts too",
        ]
        assert alerts.take_alerts(client) == []
        client.shutdown()
    assert server.unexpected == [] and server.steps_left == 0  # each command got its scripted answer


def test_the_worker_tells_the_user_of_the_tagged_alert_of_every_kind_of_command():
    from harness import WorkerHarness
    from test_lean_fetch import HEADER_ITEM

    from tui.imap.contract import (
        Connected,
        FetchStatus,
        MailboxSelected,
        Notice,
        SelectMailbox,
        StoreFlags,
    )

    def row(uid: int) -> bytes:
        return (b'* %d FETCH (UID %d FLAGS () INTERNALDATE "01-Jan-2024 00:00:00 +0000" RFC822.SIZE 9 ' % (uid, uid)
                + HEADER_ITEM + b" {12}\r\nSubject: x\r\n)\r\n")

    server = ScriptedServer(
        b"* OK ready",
        [
            Step("LOGIN", b"{tag} OK logged in\r\n"),
            # read by run_command, bulk_read, imapclient, bulk_read (the rows), run_command, imapclient
            Step("SELECT", b"* 2 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n{tag} OK [ALERT] Mailbox nearly full\r\n"),
            Step("UID SEARCH ALL", b"* SEARCH 1 2\r\n{tag} OK [ALERT] Search index rebuilt\r\n"),
            Step("UID SEARCH UNSEEN", b"* SEARCH 1\r\n{tag} OK [ALERT] Unseen counts are estimates\r\n"),
            Step("UID FETCH", row(1) + row(2) + b"{tag} OK [ALERT] Fetch is slow today\r\n"),
            Step("UID STORE", b"{tag} NO [ALERT] Flags are read-only today\r\n"),
            Step("STATUS", b"{tag} NO [ALERT] Other is being moved\r\n"),
        ],
    )
    expected = ["Mailbox nearly full", "Search index rebuilt", "Unseen counts are estimates", "Fetch is slow today",
                "Flags are read-only today", "Other is being moved"]
    with server:
        account = Account(name="a", host=server.host, port=server.port, tls="none", username="u",
                          allow_plaintext=True)
        with WorkerHarness(account, "secret", use_idle=False, cache_path=None) as harness:
            harness.wait(Connected)
            harness.worker.submit(SelectMailbox(b"INBOX"))
            harness.wait(MailboxSelected)
            harness.wait(Notice, lambda n: expected[3] in n.message)  # the rows were read
            harness.worker.submit(StoreFlags(b"INBOX", 7, (1,), ("\\Seen",), True))
            harness.wait(Notice, lambda n: expected[4] in n.message)
            harness.worker.submit(FetchStatus(b"Other"))
            harness.wait(Notice, lambda n: expected[5] in n.message)
            notices = [r.message for r in harness.settle(0.3) if isinstance(r, Notice)]
    assert notices == [f"{server.host} says: {text}" for text in expected]  # each, once, in order
    assert server.steps_left == 0  # every command above was answered as scripted
