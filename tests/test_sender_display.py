"""A display name cannot pass for another address: the list shows the address the mail
came from whenever the name reads as an address, and keeps that address's domain on
screen when the column is too narrow. The viewer shows name and address both."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from rich.cells import cell_len

from harness import account_for, raw_client
from scenarios import wait_for
from servers import DovecotServer, require_dovecot
from tui.app import MailApp
from tui.headers import _addresses
from tui.widgets.message_list import MessageList, _fit_address
from tui.widgets.message_view import MessageView

# From header -> what the list shows for the sender
SENDERS = [
    (b'"support@bank.com" <evil@attacker.example>', "evil@attacker.example"),
    (b"support@bank.com <evil@attacker.example>", "evil@attacker.example"),  # unquoted: still one address
    (b"=?utf-8?q?support=EF=BC=A0bank.com?= <evil@attacker.example>", "evil@attacker.example"),  # fullwidth @
    (b'"support@bank.com\xe2\x80\x8b" <support@bank.com.attacker.example>', "support@bank.com.attacker.example"),
    (b'"Bob Example" <bob@example.org>', "Bob Example"),  # an ordinary name stays
    (b'"bob@example.org" <bob@example.org>', "bob@example.org"),  # the name is the address itself
    (b"bob@example.org", "bob@example.org"),
    (b"undisclosed-recipients:;", "undisclosed-recipients:;"),  # no address to show instead
    (b"support@bank.com <evil@attacker.example> (Bank)", "evil@attacker.example"),  # a comment after it
    (b'"support@bank.com" <>', "(no address)"),  # nothing real to show: never the name
    (b"support@bank.com: evil@attacker.example;", "evil@attacker.example"),  # a group's name is a label
    (b'"Doe, John" <john@example.org>', "Doe, John"),
    (b"J\xc3\xb6rg M\xc3\xbcller <joerg@example.de>", "J\u00f6rg M\u00fcller"),  # raw UTF-8
]


@pytest.mark.parametrize("header, shown", SENDERS)
def test_the_sender_shown_is_the_real_address_when_the_name_looks_like_one(header, shown):
    found = _addresses(header)
    assert found[0].display() == shown


@pytest.mark.parametrize("address, width, expected", [
    ("support.bank.com.verify@evil.example", 22, "support.…@evil.example"),
    ("a@a-very-long-domain-of-the-attacker.example", 22, "…-the-attacker.example"),
    ("bob@example.org", 22, "bob@example.org" + " " * 7),
])
def test_a_long_address_keeps_its_domain_in_a_narrow_column(address, width, expected):
    assert _fit_address(address, width) == expected


def test_a_wide_character_address_is_cut_to_the_cells_asked_for():
    fitted = _fit_address("日本語の名前のアドレス@evil.example", 21)
    assert cell_len(fitted) == 21 and fitted.endswith("…@evil.example")


def message(sender: bytes, subject: str) -> bytes:
    return (b"From: " + sender + b"\r\nTo: you@example.org\r\nSubject: " + subject.encode()
            + b"\r\nDate: Mon, 20 Nov 2023 10:00:00 +0000\r\nMessage-ID: <" + subject.encode()
            + b"@example.org>\r\n\r\nHello.\r\n")


@pytest.fixture(scope="module")
def spoofed_inbox():
    require_dovecot()
    with DovecotServer() as server:
        account = account_for(server, "spoof")
        client = raw_client(account, server.password)
        for index, (header, _shown) in enumerate(SENDERS[:4]):
            client.append("INBOX", message(header, f"spoof-{index}"), msg_time=datetime(2023, 11, 20, tzinfo=timezone.utc))
        client.logout()
        yield account, server.password


async def test_the_list_shows_the_real_address_and_the_viewer_both(spoofed_inbox):
    account, password = spoofed_inbox
    app = MailApp(account, password, read_only=True)
    async with app.run_test(size=(120, 30)) as pilot:
        listing = app.query_one(MessageList)
        await wait_for(lambda: app.selected is not None and listing.loaded_count == 4)
        await pilot.pause()
        lines = {}
        for row in range(4):
            text = listing.render_line(row).text
            subject = next(word for word in text.split() if word.startswith("spoof-"))
            lines[subject] = text
        for index, (_header, shown) in enumerate(SENDERS[:4]):
            text = lines[f"spoof-{index}"]
            registered = ".".join(shown.rpartition("@")[2].split(".")[-2:])
            assert "@" + registered in text or "." + registered in text, text  # even where the address is cut
            assert "support@bank.com" not in text, text
        listing.cursor = next(row for row in range(4) if "spoof-0" in listing.render_line(row).text)
        await pilot.press("enter")
        viewer = app.query_one(MessageView)
        await wait_for(lambda: viewer.parsed is not None)
        await pilot.pause()
        headers = str(app.query_one("#headers").render())
        assert "evil@attacker.example" in headers and "support@bank.com" in headers
