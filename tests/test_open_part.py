"""Parts opened from the viewer against a real Dovecot, small messages (fetched whole) and
big ones (outline first, parts fetched on demand): `o` hands the part's bytes to the
program ~/.mailcap names; Enter draws an image or opens an attached message."""

from __future__ import annotations

import email
import email.policy
import json
import random
from email.message import EmailMessage

import pytest

from harness import dovecot_holding, raw_client
from scenarios import open_listed, pick_part, wait_for
from tui.app import MailApp
from tui.demo_data import _png
from tui.imap.parts import WHOLE_MESSAGE_BYTES
from tui.widgets.image_view import ImageView
from tui.widgets.message_view import RULE, BodyView, MessageView, PartTree

PDF = b"%PDF-1.4\n" + random.Random(3).randbytes(3000) + b"\n%%EOF\n"
PNG = _png(120, 80)
FILLER = random.Random(4).randbytes(WHOLE_MESSAGE_BYTES + 200_000)  # makes a message "big"


def inner_message() -> EmailMessage:
    inner = EmailMessage()
    inner["From"] = "Olivia <olivia@example.org>"
    inner["Subject"] = "The original question"
    inner.set_content("Could you confirm the new terms?\n")
    return inner


def message(subject: str, big: bool) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Alice <alice@example.org>"
    msg["To"] = "bob@example.org"
    msg["Subject"] = subject
    msg.set_content("Report, chart and the original question attached.\n")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="report.pdf")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="chart.png")
    msg.add_attachment(inner_message())
    if big:
        msg.add_attachment(FILLER, maintype="application", subtype="octet-stream", filename="filler.bin")
    return msg.as_bytes()


def bounce_of(original: bytes) -> bytes:
    """A Postfix-style delivery report that returns the whole original (with its 1.2 MB)."""
    boundary = "dsn-boundary"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\nTo: alice@example.org\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; lars@invalid.example.com\r\n"
        "Action: failed\r\nStatus: 5.2.2\r\nDiagnostic-Code: smtp; 552 5.2.2 Mailbox full\r\n\r\n"
        f"--{boundary}\r\nContent-Type: message/rfc822\r\n\r\n"
    ).encode() + original + f"\r\n--{boundary}--\r\n".encode()


def big_alternative() -> bytes:
    msg = EmailMessage()
    msg["From"] = "News <news@example.org>"
    msg["Subject"] = "big newsletter"
    msg.set_content("The plain version.\n")
    msg.add_alternative("<html><body><p>The <b>HTML</b> version.</p></body></html>", subtype="html")
    msg.make_mixed()
    msg.add_attachment(FILLER, maintype="application", subtype="octet-stream", filename="filler.bin")
    return msg.as_bytes()


MESSAGES = (message("small one", big=False), message("big one", big=True),
            bounce_of(message("the report you sent", big=True)), big_alternative())


@pytest.fixture(scope="module")
def parts_mail():
    with dovecot_holding("parts", MESSAGES) as held:
        yield held


@pytest.fixture
def mailcap(tmp_path, monkeypatch):
    """A mailcap whose PDF viewer copies the file it is given: what the program receives."""
    opened = tmp_path / "opened"
    opened.mkdir()
    path = tmp_path / "mailcap"
    path.write_text(f"application/pdf; cp %s {opened}/received.pdf\n")
    monkeypatch.setenv("MAILCAPS", str(path))
    return opened / "received.pdf"


async def open_row(pilot, app, subject: str) -> MessageView:
    return await open_listed(pilot, app, subject, len(MESSAGES))


@pytest.mark.parametrize("subject", ["small one", "big one"])
async def test_o_hands_the_parts_bytes_to_the_mailcap_program(parts_mail, mailcap, subject):
    server, account = parts_mail
    app = MailApp(account, server.password, read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        viewer = await open_row(pilot, app, subject)
        assert (viewer.outline is not None) == (subject == "big one")
        await pick_part(pilot, app, "report.pdf")
        await pilot.press("o")
        await wait_for(lambda: mailcap.exists() and mailcap.stat().st_size == len(PDF), timeout=60)
        opened_from = app._opener.root
        assert opened_from is not None and any(opened_from.rglob("report.pdf"))
    assert mailcap.read_bytes() == PDF
    assert not opened_from.exists()  # the private folder goes when the app ends


async def test_o_says_so_when_no_program_can_open_the_part(parts_mail, tmp_path, monkeypatch):
    server, account = parts_mail
    empty = tmp_path / "mailcap"
    empty.write_text("")
    monkeypatch.setenv("MAILCAPS", str(empty))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    app = MailApp(account, server.password, read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_row(pilot, app, "small one")
        await pick_part(pilot, app, "report.pdf")
        await pilot.press("o")
        await wait_for(lambda: any("application/pdf" in n.message for n in app._notifications))
        said = next(n.message for n in app._notifications if "application/pdf" in n.message)
    assert "mailcap" in said and "S" in said  # what to do instead, in one sentence


@pytest.mark.parametrize("subject", ["small one", "big one"])
async def test_enter_on_an_image_draws_that_parts_own_bytes(parts_mail, subject):
    server, account = parts_mail
    app = MailApp(account, server.password, read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_row(pilot, app, subject)
        await pick_part(pilot, app, "chart.png")
        body, image = app.query_one(BodyView), app.query_one(ImageView)
        await wait_for(lambda: "Enter shows the image" in body.text)
        assert not image.display  # only on Enter
        await pilot.press("enter")
        await wait_for(lambda: image.decoded is not None, timeout=30)
        assert (image.decoded.width, image.decoded.height) == (120, 80)
        assert image.display and not body.display
        await pilot.press("up")  # another part: the text pane again
        await wait_for(lambda: body.display and not image.display)


@pytest.mark.parametrize("subject", ["small one", "big one"])
async def test_enter_on_an_attached_message_opens_it_and_esc_comes_back(parts_mail, subject):
    server, account = parts_mail
    app = MailApp(account, server.password, read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        viewer = await open_row(pilot, app, subject)
        tree = app.query_one(PartTree)
        tree.focus()
        node = next(line.node for line in tree._tree_lines
                    if line.node.data is not None and line.node.data.content_type == "message/rfc822")
        tree.move_cursor(node)
        await pilot.press("enter")
        await wait_for(lambda: viewer.parsed.subject == "The original question", timeout=30)
        body = app.query_one(BodyView)
        await wait_for(lambda: "Could you confirm the new terms?" in body.text)
        await pilot.press("escape")
        await wait_for(lambda: viewer.parsed.subject == subject)
        assert viewer.display


async def test_a_big_bounce_says_why_it_bounced_from_its_report_part_alone(parts_mail):
    server, account = parts_mail
    app = MailApp(account, server.password, read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        viewer = await open_row(pilot, app, "Undelivered Mail")
        assert viewer.outline is not None  # fetched part by part: the original is never fetched
        body = app.query_one(BodyView)
        await wait_for(lambda: body.text.startswith("Delivery failed: lars@invalid.example.com"), timeout=30)
        assert "the mailbox is full" in body.text.split(RULE)[0]
        assert "Your message could not be delivered." in body.text.split(RULE)[1]


async def test_a_big_message_shows_its_html_version_when_the_account_prefers_it(parts_mail, tmp_path):
    # The worker sends the plain version's first range with the outline: the HTML one
    # must still be asked for, not wait for ever.
    server, account = parts_mail
    prefs = tmp_path / "viewer.json"
    prefs.write_text(json.dumps({account.name: {"prefer_html": True}}))
    app = MailApp(account, server.password, read_only=True, viewer_prefs=prefs)
    async with app.run_test(size=(120, 36)) as pilot:
        viewer = await open_row(pilot, app, "big newsletter")
        assert viewer.outline is not None
        body = app.query_one(BodyView)
        await wait_for(lambda: "The HTML version." in body.text, timeout=30)
        await pilot.press("v")  # and back to the plain one
        await wait_for(lambda: "The plain version." in body.text, timeout=30)


def test_the_big_message_is_big_and_the_parts_are_what_the_server_holds(parts_mail):
    # The premise of the tests above: the server holds these bytes, one message over the
    # whole-fetch limit (outline first) and one under it.
    server, account = parts_mail
    client = raw_client(account, server.password)
    client.select_folder(b"INBOX", readonly=True)
    sizes = client.fetch([1, 2], [b"RFC822.SIZE"])
    raw = client.fetch([2], [b"BODY.PEEK[]"])[2][b"BODY[]"]
    client.logout()
    assert sizes[1][b"RFC822.SIZE"] <= WHOLE_MESSAGE_BYTES < sizes[2][b"RFC822.SIZE"]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    contents = {part.get_filename(): part.get_content() for part in parsed.iter_attachments() if part.get_filename()}
    assert contents["report.pdf"] == PDF and contents["chart.png"] == PNG
