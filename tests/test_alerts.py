"""[ALERT] texts (RFC 3501 7.1: they must reach the user) are collected from the greeting,
the LOGIN answer and any command, whoever read them (imaplib or our own reader)."""

from __future__ import annotations

import pytest
from imapclient.exceptions import IMAPClientAbortError

from scripted_server import ScriptedServer, Step
from tui.config import Account
from tui.imap import commands
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
        assert commands.take_alerts(client) == [
            "Maintenance \x1b]0;PWN\x07tonight at 22:00",  # raw: the UI makes it inert, whole
            "Quota at 95%",
            "Your password expires in 3 days",
        ]
        assert commands.take_alerts(client) == []  # each said once
        commands.run_command(client, "NOOP")
        assert commands.take_alerts(client) == ["Going down in 5 minutes", "Really"]
        with pytest.raises(IMAPClientAbortError):
            commands.run_command(client, "NOOP")
        assert commands.take_alerts(client) == ["Shutting down now"]  # the last words still reach the user
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
