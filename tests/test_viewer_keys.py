"""The viewer's keys against the demo mailbox on real servers: [ and ] through a thread,
h for every header field, Enter on an attached message (Esc back), v for the HTML version."""

from __future__ import annotations

import email
import email.policy
import json

import pytest

from harness import raw_client
from scenarios import wait_for
from test_app import loaded
from tui.app import MailApp
from tui.header_block import header_block
from tui.html_text import html_to_text
from tui.widgets.message_list import MessageList
from tui.widgets.message_view import RULE, BodyView, MessageView, PartTree


def server_uids(target, subject: str) -> list[int]:
    """The INBOX messages whose subject holds `subject`, oldest first, as the server says."""
    check = raw_client(target.account, target.password)
    check.select_folder(b"INBOX", readonly=True)
    uids = sorted(check.search(["SUBJECT", subject]))
    check.logout()
    return uids


def server_message(target, uid: int) -> email.message.EmailMessage:
    check = raw_client(target.account, target.password)
    check.select_folder(b"INBOX", readonly=True)
    raw = check.fetch([uid], [b"BODY.PEEK[]"])[uid][b"BODY[]"]
    check.logout()
    return email.message_from_bytes(raw, policy=email.policy.default)


async def open_uid(app: MailApp, pilot, uid: int) -> MessageView:
    listing = await loaded(app)
    await wait_for(lambda: listing.loaded_count == len(listing.uids))
    listing.move_to(uid)
    assert listing.current_uid == uid
    await pilot.press("enter")
    viewer = app.query_one(MessageView)
    await wait_for(lambda: viewer.parsed is not None and viewer.ref is not None and viewer.ref.uid == uid)
    return viewer


@pytest.mark.parametrize("threaded", [False, True], ids=["flat-list", "thread-view"])
async def test_brackets_walk_one_thread_in_reading_order(dovecot_demo, threaded):
    thread = server_uids(dovecot_demo, "Alpha launch checklist")
    assert len(thread) == 3  # Zoë, José, Zoë: Sam's replies are in Sent
    app = MailApp(dovecot_demo.account, dovecot_demo.password, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await loaded(app)
        await wait_for(lambda: listing.loaded_count == len(listing.uids))
        if threaded:
            await pilot.press("V")
            await wait_for(lambda: bool(listing.arrangement.lines))
        viewer = await open_uid(app, pilot, thread[0])
        for expected in thread[1:]:
            await pilot.press("right_square_bracket")
            await wait_for(lambda: viewer.ref.uid == expected and viewer.parsed is not None)
            assert listing.current_uid == expected  # the list follows, for when the viewer closes
        subject = viewer.parsed.subject
        await pilot.press("right_square_bracket")  # past the last: it stays, and says so
        await wait_for(lambda: any("last message of its thread" in n.message for n in app._notifications))
        assert viewer.ref.uid == thread[-1] and viewer.parsed.subject == subject
        await pilot.press("left_square_bracket")
        await wait_for(lambda: viewer.ref.uid == thread[1])
        # Another thread's message is never reached: the one before the first is nothing.
        await pilot.press("left_square_bracket")
        await wait_for(lambda: viewer.ref.uid == thread[0])
        await pilot.press("left_square_bracket")
        await wait_for(lambda: any("first message of its thread" in n.message for n in app._notifications))
        assert viewer.ref.uid == thread[0]


async def test_h_shows_every_header_field_the_server_holds_and_h_again_hides_them(pymap_demo):
    uid = server_uids(pymap_demo, "Unterlagen")[0]
    fields = [name.lower() for name in server_message(pymap_demo, uid).keys()]
    app = MailApp(pymap_demo.account, pymap_demo.password, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        viewer = await open_uid(app, pilot, uid)
        body = app.query_one(BodyView)
        plain = body.text
        await pilot.press("h")
        await wait_for(lambda: body.text != plain)
        *header_lines, rule = body.text.split("\n\n", 1)[0].splitlines()
        shown = [line.split(":", 1)[0].lower() for line in header_lines]
        assert shown == fields  # every field, in the server's order, nothing else before the body
        assert rule == RULE
        assert body.text.endswith(plain)
        # It stays on for the next message, as Thunderbird's "All headers" does.
        await pilot.press("escape")
        other = server_uids(pymap_demo, "Fwd: Contract renewal")[0]
        await open_uid(app, pilot, other)
        await wait_for(lambda: body.text.startswith("From: "))
        await pilot.press("h")
        await wait_for(lambda: not body.text.startswith("From: "))
        assert viewer.all_headers is False


async def test_an_attached_message_opens_inside_the_viewer_and_esc_goes_back(dovecot_demo):
    uid = server_uids(dovecot_demo, "Fwd: Contract renewal")[0]
    attached = server_message(dovecot_demo, uid)
    inner = next(part for part in attached.walk() if part.get_content_type() == "message/rfc822")
    inner_message = inner.get_payload()[0]
    inner_body = inner_message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    app = MailApp(dovecot_demo.account, dovecot_demo.password, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        viewer = await open_uid(app, pilot, uid)
        outer_subject = viewer.parsed.subject
        parts = app.query_one(PartTree)
        await pilot.press("tab")
        node = next(line.node for line in parts._tree_lines
                    if line.node.data is not None and line.node.data.content_type == "message/rfc822")
        parts.move_cursor(node)
        await pilot.press("enter")
        await wait_for(lambda: viewer.parsed.subject == inner_message["Subject"])
        headers = str(app.query_one("#headers").render())
        assert "Contract renewal" in headers and "Esc goes back" in headers
        body = app.query_one(BodyView)
        await wait_for(lambda: body.text.strip() == inner_body.strip())
        await pilot.press("escape")  # back to the message it is attached to, the viewer still open
        await wait_for(lambda: viewer.parsed.subject == outer_subject)
        assert viewer.display and parts.cursor_node.data is not None
        assert parts.cursor_node.data.content_type == "message/rfc822"
        await pilot.press("escape")
        await wait_for(lambda: not viewer.display)


async def test_v_shows_the_html_version_and_the_account_remembers_it(pymap_demo, tmp_path):
    uid = server_uids(pymap_demo, "Notes from today")[0]  # text and HTML
    message = server_message(pymap_demo, uid)
    html = message.get_body(("html",)).get_content()
    plain = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    prefs = tmp_path / "viewer.json"
    app = MailApp(pymap_demo.account, pymap_demo.password, read_only=True, viewer_prefs=prefs)
    async with app.run_test(size=(120, 40)) as pilot:
        viewer = await open_uid(app, pilot, uid)
        body = app.query_one(BodyView)
        await wait_for(lambda: body.text.strip() == plain.strip())
        await pilot.press("v")
        await wait_for(lambda: body.text.strip() == html_to_text(html).strip())
        assert viewer.prefer_html
    assert json.loads(prefs.read_text())[pymap_demo.account.name] == {"prefer_html": True}
    again = MailApp(pymap_demo.account, pymap_demo.password, read_only=True, viewer_prefs=prefs)
    async with again.run_test(size=(120, 40)) as pilot:
        await open_uid(again, pilot, uid)
        body = again.query_one(BodyView)
        await wait_for(lambda: body.text.strip() == html_to_text(html).strip())


def test_header_block_unfolds_decodes_and_keeps_order():
    raw = (b"Received: from a.example\r\n\tby b.example\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
           b"X-Empty:\r\nSubject: second\r\n\r\nNot-A-Header: body\r\n")
    assert header_block(raw).splitlines() == [
        "Received: from a.example by b.example", "Subject: Grüße", "X-Empty: ", "Subject: second"]


def test_header_block_caps_a_hostile_header():
    lines = header_block(b"X: y\r\n" * 5000 + b"\r\nbody").splitlines()
    assert len(lines) == 2001 and lines[-1] == "[3000 more header fields not shown]"
    cut = header_block(b"X: " + b"a" * 300_000)
    assert cut.endswith("[header cut at 256K]")
