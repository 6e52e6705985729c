"""Pilot tests: the keys a user presses, against the demo mailbox on real servers."""

from __future__ import annotations

import email
import email.policy
import io

from harness import raw_client
from scenarios import wait_for
from tui.app import MailApp
from tui.widgets.mailbox_tree import MailboxTree
from tui.widgets.message_list import MessageList
from tui.widgets.message_view import BodyView, MessageView, PartTree

HOSTILE_SUBJECT_START = "[@click=app.quit]Free prize[/]"


async def loaded(app: MailApp) -> MessageList:
    listing = app.query_one(MessageList)
    await wait_for(lambda: app.selected is not None and listing.loaded_count >= min(20, len(listing.uids)))
    return listing


def row_text(listing: MessageList, row: int) -> str:
    listing.scroll_to(y=max(0, row - 2), animate=False, immediate=True)
    return listing.render_line(row - round(listing.scroll_y)).text


def status_text(app: MailApp) -> str:
    return str(app.query_one("#status").render())


def tree_labels(tree: MailboxTree) -> list[str]:
    labels = []

    def walk(node):
        for child in node.children:
            labels.append(child.label.plain)
            walk(child)

    walk(tree.root.children[0])  # the account's node
    return labels


async def test_three_panes_show_tree_list_and_status(demo_target):
    app = MailApp(demo_target.account, demo_target.password, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await loaded(app)
        labels = [label.split()[0] for label in tree_labels(app.query_one(MailboxTree))]
        assert labels[0] == "INBOX"
        # Special folders come right after INBOX, in a fixed order, before ordinary ones.
        specials = [name for name in ("Sent", "Drafts", "Archive", "Junk", "Trash") if name in labels]
        assert labels[1 : 1 + len(specials)] == specials
        assert {"Sent", "Drafts", "Archive", "Trash"} <= set(specials)
        assert "Reçus" in labels and "Specs" in labels
        check = raw_client(demo_target.account, demo_target.password)
        total = check.select_folder(b"INBOX", readonly=True)[b"EXISTS"]
        newest_uid = max(check.search(["ALL"]))
        check.logout()
        assert len(listing.uids) == total
        assert listing.uids[0] == newest_uid  # newest at the top
        await pilot.pause()
        assert f"{total} messages" in status_text(app)


async def test_hostile_subject_is_inert_and_app_survives(pymap_demo):
    app = MailApp(pymap_demo.account, pymap_demo.password, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await loaded(app)
        row = next(i for i, uid in enumerate(listing.uids) if listing.envelopes.get(uid) and
                   listing.envelopes[uid].subject.startswith(HOSTILE_SUBJECT_START))
        text = row_text(listing, row)
        assert HOSTILE_SUBJECT_START in text  # shown literally, not run as an action
        assert "\x1b" not in text and "\x07" not in text
        listing.cursor = row
        await pilot.press("enter")
        viewer = app.query_one(MessageView)
        await wait_for(lambda: viewer.parsed is not None)
        await pilot.pause()
        headers = str(app.query_one("#headers").render())
        assert HOSTILE_SUBJECT_START in headers
        assert "\x1b" not in headers
        assert app.is_running


async def test_keys_move_open_and_mark_seen_on_the_server(dovecot_demo):
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await loaded(app)
        row = next(i for i, uid in enumerate(listing.uids) if i >= 2 and uid in listing.envelopes
                   and not listing.envelopes[uid].seen)
        for _ in range(row):
            await pilot.press("j")
        assert listing.cursor == row
        await pilot.press("k", "j")
        assert listing.cursor == row
        uid = listing.current_uid
        await pilot.press("enter")
        viewer = app.query_one(MessageView)
        assert viewer.display
        await wait_for(lambda: viewer.parsed is not None)
        assert viewer.parsed.subject == listing.envelopes[uid].subject
        await wait_for(lambda: listing.envelopes[uid].seen)
        check = raw_client(dovecot_demo.account, dovecot_demo.password)
        check.select_folder(b"INBOX", readonly=True)
        assert b"\\Seen" in check.get_flags([uid])[uid]
        check.logout()
        await pilot.press("escape")
        assert not viewer.display
        assert app.focused is listing


async def test_read_only_opening_leaves_seen_alone(dovecot_demo):
    app = MailApp(dovecot_demo.account, dovecot_demo.password, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await loaded(app)
        row = next(i for i, uid in enumerate(listing.uids) if uid in listing.envelopes
                   and not listing.envelopes[uid].seen)
        listing.cursor = row
        uid = listing.current_uid
        await pilot.press("enter")
        viewer = app.query_one(MessageView)
        await wait_for(lambda: viewer.parsed is not None)
        assert "read-only" in status_text(app)
    check = raw_client(dovecot_demo.account, dovecot_demo.password)
    check.select_folder(b"INBOX", readonly=True)
    assert b"\\Seen" not in check.get_flags([uid])[uid]
    check.logout()


async def test_walk_the_tree_and_open_a_nested_mailbox(pymap_demo):
    app = MailApp(pymap_demo.account, pymap_demo.password, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("shift+tab")  # from the list back to the mailbox tree
        tree = app.query_one(MailboxTree)
        assert app.focused is tree
        for _ in range(40):
            node = tree.cursor_node
            if node is not None and node.data and node.data.mailbox and node.data.mailbox.name == "Projects/Alpha/Specs":
                break
            await pilot.press("j")
        else:
            raise AssertionError("Projects/Alpha/Specs not reachable with j")
        await pilot.press("enter")
        listing = app.query_one(MessageList)
        await wait_for(lambda: app.selected is not None and app.selected.raw_name == b"Projects/Alpha/Specs")
        check = raw_client(pymap_demo.account, pymap_demo.password)
        expected = check.folder_status(b"Projects/Alpha/Specs", [b"MESSAGES"])[b"MESSAGES"]
        check.logout()
        assert len(listing.uids) == expected
        assert app.focused is listing


async def test_part_tree_switches_what_the_body_shows(pymap_demo):
    app = MailApp(pymap_demo.account, pymap_demo.password, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await loaded(app)
        await wait_for(lambda: listing.loaded_count == len(listing.uids))
        row = next(i for i, uid in enumerate(listing.uids) if listing.envelopes[uid].has_attachment)
        listing.cursor = row
        await pilot.press("enter")
        viewer = app.query_one(MessageView)
        await wait_for(lambda: viewer.parsed is not None)
        body = app.query_one(BodyView)
        first_text = body.text
        parts = app.query_one(PartTree)
        await pilot.press("tab")
        assert app.focused is parts
        csv_node = next(line.node for line in parts._tree_lines
                        if line.node.data is not None and line.node.data.content_type == "text/csv")
        parts.move_cursor(csv_node)
        await wait_for(lambda: body.text != first_text)
        # What the server holds for that part, decoded by the email package on its own.
        message = email.message_from_bytes(viewer.raw, policy=email.policy.default)
        csv_part = next(p for p in message.walk() if p.get_content_type() == "text/csv")
        expected_first_line = csv_part.get_content().splitlines()[0]
        assert body.text.splitlines()[0] == expected_first_line
        parts.move_cursor(parts.root)
        await wait_for(lambda: body.text == first_text)


async def test_h_shows_the_source_the_server_holds_and_h_again_the_text(pymap_demo):
    app = MailApp(pymap_demo.account, pymap_demo.password, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await loaded(app)
        await wait_for(lambda: listing.loaded_count == len(listing.uids))
        listing.cursor = next(i for i, uid in enumerate(listing.uids) if listing.envelopes[uid].has_attachment)
        await pilot.press("enter")
        viewer = app.query_one(MessageView)
        await wait_for(lambda: viewer.parsed is not None)
        body = app.query_one(BodyView)
        text = body.text
        await pilot.press("H")
        await wait_for(lambda: body.text != text)
        # The source's header lines, as a second connection reads them from the server.
        check = raw_client(pymap_demo.account, pymap_demo.password)
        check.select_folder(b"INBOX", readonly=True)
        uid = listing.uids[listing.cursor]
        header = check.fetch([uid], [b"BODY.PEEK[HEADER]"])[uid][b"BODY[HEADER]"].decode("utf-8", "replace")
        check.logout()
        content_type = next(line for line in header.splitlines() if line.lower().startswith("content-type:"))
        assert content_type in body.text.splitlines()
        await pilot.press("H")
        await wait_for(lambda: body.text == text)


async def test_help_screen_and_quit(pymap_demo):
    app = MailApp(pymap_demo.account, pymap_demo.password, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(app)
        await pilot.press("question_mark")
        assert app.screen.__class__.__name__ == "HelpScreen"
        await pilot.press("escape")
        assert app.screen.__class__.__name__ != "HelpScreen"
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


async def test_password_prompt_when_no_source_gives_one(pymap_demo):
    from textual.widgets import Input

    app = MailApp(pymap_demo.account, None, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.__class__.__name__ == "PasswordScreen"
        field = app.screen.query_one(Input)
        assert field.password  # masked
        await pilot.press(*pymap_demo.password, "enter")
        listing = await loaded(app)
        assert app.connected and len(listing.uids) > 0


async def test_command_palette_runs_actions(pymap_demo):
    app = MailApp(pymap_demo.account, pymap_demo.password, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await loaded(app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Last message")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(lambda: listing.cursor == len(listing.uids) - 1)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Open message")
        await pilot.pause(0.3)
        await pilot.press("enter")
        viewer = app.query_one(MessageView)
        await wait_for(lambda: viewer.parsed is not None)
        assert viewer.ref.uid == listing.uids[-1]


async def test_seen_flag_shows_even_when_the_user_moved_on(dovecot_demo):
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await loaded(app)
        unseen = [uid for uid in listing.uids if uid in listing.envelopes and not listing.envelopes[uid].seen][:2]
        assert len(unseen) == 2
        app.open_message(unseen[0])
        app.open_message(unseen[1])  # before the first answer arrives
        await wait_for(lambda: all(listing.envelopes[uid].seen for uid in unseen))
        viewer = app.query_one(MessageView)
        await wait_for(lambda: viewer.parsed is not None)
        assert viewer.ref.uid == unseen[1]
        await pilot.pause()


async def test_opened_row_stays_in_sight_when_the_viewer_shrinks_the_list(pymap_demo):
    app = MailApp(pymap_demo.account, pymap_demo.password, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await loaded(app)
        for _ in range(30):
            await pilot.press("j")
        await pilot.press("enter")
        await wait_for(lambda: app.query_one(MessageView).parsed is not None)
        await pilot.pause()
        top = round(listing.scroll_y)
        assert top <= listing.cursor < top + listing.size.height


async def test_a_mailbox_that_cannot_be_opened_says_why_and_goes_back_to_inbox(pymap_demo):
    from tui.models import Mailbox

    app = MailApp(pymap_demo.account, pymap_demo.password, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await loaded(app)
        inbox_uids = list(listing.uids)
        assert inbox_uids
        app.open_mailbox(app.session, Mailbox(raw_name=b"Deleted meanwhile", name="Deleted meanwhile", delimiter="/"))
        # Never an old list under the name of another mailbox, and never nowhere: INBOX again.
        await wait_for(lambda: "Deleted meanwhile cannot be opened any more" in status_text(app))
        assert app.selected is not None and app.selected.raw_name == b"INBOX"
        assert sorted(listing.uids) == sorted(inbox_uids)
        await pilot.pause()


async def test_two_accounts_each_with_its_own_tree_and_connection(dovecot_demo, pymap_demo):
    app = MailApp(dovecot_demo.account, dovecot_demo.password, others=[(pymap_demo.account, pymap_demo.password)],
                  read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await loaded(app)
        tree = app.query_one(MailboxTree)
        accounts = [node.label.plain.split()[0] for node in tree.root.children]
        assert accounts == ["dovecot", "pymap"]
        await wait_for(lambda: app.sessions["pymap"].mailboxes)
        pymap_node = tree.root.children[1]
        assert "INBOX" in [child.label.plain.split()[0] for child in pymap_node.children]
        assert app.session.name == "dovecot"
        # Open pymap's nested mailbox from the tree: the list now shows that account's mail.
        specs = next(m for m in app.sessions["pymap"].mailboxes if m.name == "Projects/Alpha/Specs")
        tree.select_mailbox_node("pymap", specs.raw_name)
        await pilot.pause()
        tree.focus()
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(lambda: app.selected is not None and app.selected.raw_name == specs.raw_name)
        assert app.session.name == "pymap"
        check = raw_client(pymap_demo.account, pymap_demo.password)
        expected = check.folder_status(specs.raw_name, [b"MESSAGES"])[b"MESSAGES"]
        check.logout()
        assert len(listing.uids) == expected
        await pilot.pause()
        assert status_text(app).startswith("pymap: ")


async def test_status_says_reconnecting_and_the_list_recovers(dovecot_demo):
    import dataclasses

    from proxy import CuttableProxy

    proxy = CuttableProxy(dovecot_demo.account.host, dovecot_demo.account.port)
    account = dataclasses.replace(dovecot_demo.account, host=proxy.host, port=proxy.port)
    app = MailApp(account, dovecot_demo.password, read_only=True,
                  worker_options={"reconnect_delays": (0.5,), "keepalive": 0.3})
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            listing = await loaded(app)
            rows = len(listing.uids)
            proxy.cut()
            await wait_for(lambda: "reconnecting" in status_text(app))
            await wait_for(lambda: proxy.connections == 2 and not app.session.problem)
            await wait_for(lambda: listing.loaded_count >= min(20, rows))
            assert len(listing.uids) == rows
            await pilot.pause()
    finally:
        proxy.close()


async def test_debug_trace_has_the_conversation_but_no_secret(dovecot_demo, tmp_path):
    import dataclasses

    trace_file = tmp_path / "imap.trace"
    account = dataclasses.replace(dovecot_demo.account, auth="plain")  # AUTHENTICATE PLAIN, the payload must go
    app = MailApp(account, dovecot_demo.password, debug_imap=trace_file)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await loaded(app)
        listing.cursor = 0
        await pilot.press("enter")
        await wait_for(lambda: app.query_one(MessageView).parsed is not None)
        await pilot.press("P")
        await pilot.pause(0.3)
        assert app.screen.__class__.__name__ == "ProtocolLogScreen"
        shown = " ".join(str(widget.render()) for widget in app.screen.query("Static"))
        assert "IMAP4REV1" in shown.upper()
        await pilot.press("escape")
    written = trace_file.read_bytes()
    assert b"SELECT" in written and b"UID FETCH" in written
    assert b"AUTHENTICATE PLAIN" in written
    assert b"CLIENTBUG" not in written  # e.g. no STATUS on the selected mailbox
    assert dovecot_demo.password.encode() not in written
    import base64

    sasl = base64.b64encode(f"\0{account.username}\0{dovecot_demo.password}".encode())
    assert sasl not in written


async def test_nothing_connected_and_the_last_prompt_declined_ends_the_app(dovecot_demo, pymap_demo):
    app = MailApp(dovecot_demo.account, "wrong password", others=[(pymap_demo.account, None)])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: app.sessions["dovecot"].failed)
        assert app.screen.__class__.__name__ == "PasswordScreen"
        await pilot.press("escape")
        await pilot.pause()
    assert app.return_code == 1
    assert len(app.startup_failures) == 1
    assert "refused the login for account 'dovecot'" in app.startup_failures[0]


async def test_tag_and_flag_keys_change_exactly_those_messages(dovecot_demo):
    from harness import raw_client as connect_raw
    from servers import append_messages, make_message

    name = f"Triage-{id(object())}"
    append_messages(dovecot_demo.account.host, dovecot_demo.account.port, dovecot_demo.account.username,
                    dovecot_demo.password, name, [make_message(i) for i in range(6)])
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        from tui.models import Mailbox

        app.open_mailbox(app.session, Mailbox(raw_name=name.encode(), name=name, delimiter="/"))
        listing = app.query_one(MessageList)
        await wait_for(lambda: app.selected is not None and app.selected.raw_name == name.encode()
                       and listing.loaded_count == 6)
        listing.focus()
        await pilot.press("t", "j", "t", "t")  # tag rows 0, 2 and 3
        tagged = set(listing.tagged)
        assert tagged == {listing.uids[0], listing.uids[2], listing.uids[3]}
        await pilot.press("F")
        await wait_for(lambda: all(listing.envelopes[uid].flagged for uid in tagged))
        await pilot.press("T")  # untag all
        assert not listing.tagged
        listing.cursor = 5
        await pilot.press("d")
        await wait_for(lambda: listing.envelopes[listing.uids[5]].deleted)
        await pilot.press("N")
        await wait_for(lambda: listing.envelopes[listing.uids[5]].seen)
        await pilot.press("u")
        await wait_for(lambda: not listing.envelopes[listing.uids[5]].deleted)
        uids = list(listing.uids)
    check = connect_raw(dovecot_demo.account, dovecot_demo.password)
    check.select_folder(name.encode(), readonly=True)
    flags = check.get_flags(uids)
    check.logout()
    assert {uid for uid in uids if b"\\Flagged" in flags[uid]} == tagged
    assert {uid for uid in uids if b"\\Seen" in flags[uid]} == {uids[5]}
    assert not any(b"\\Deleted" in flags[uid] for uid in uids)


async def test_read_only_keys_send_nothing(dovecot_demo, tmp_path):
    trace_file = tmp_path / "trace"
    app = MailApp(dovecot_demo.account, dovecot_demo.password, read_only=True, debug_imap=trace_file)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await loaded(app)
        before = dict(listing.envelopes)
        await pilot.press("T", "F", "N", "d", "A")
        await pilot.pause(0.3)
        assert "read-only" in status_text(app)
        assert all(listing.envelopes[uid].flags == before[uid].flags for uid in before)
    import re

    sent = trace_file.read_bytes()
    assert re.search(rb"C: \S+ SELECT", sent) is None  # read-only opens with EXAMINE
    assert re.search(rb"C: \S+ (UID )?(STORE|EXPUNGE|COPY|MOVE)", sent) is None


async def test_mailbox_info_shows_what_the_server_said(dovecot_demo):
    app = MailApp(dovecot_demo.account, dovecot_demo.password, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(app)
        await pilot.press("i")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "MailboxInfoScreen"
        from rich.console import Console

        console = Console(width=200, record=True, file=io.StringIO())
        for widget in app.screen.query("Static"):
            console.print(widget.content)
        shown = console.export_text()
        check = raw_client(dovecot_demo.account, dovecot_demo.password)
        info = check.select_folder(b"INBOX", readonly=True)
        check.logout()
        assert f"UIDVALIDITY {info[b'UIDVALIDITY']}" in " ".join(shown.split())
        assert f"UIDNEXT {info[b'UIDNEXT']}" in " ".join(shown.split())
        assert ("HIGHESTMODSEQ" in shown) == (b"HIGHESTMODSEQ" in info)  # only when the server sent it
        assert "read-only (EXAMINE)" in shown
        assert "UIDPLUS" in shown
        await pilot.press("escape")
        assert app.screen.__class__.__name__ != "MailboxInfoScreen"
