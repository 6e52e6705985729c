"""Pilot tests for triage (issue 4): the keys and dialogs, checked on the server afterwards.

Each test works in mailboxes of its own on the shared Dovecot, and looks at the result
through a second connection, never through the app.
"""

from __future__ import annotations

import itertools
import re

import pytest
from imapclient import imap_utf7

from harness import make_mailbox, raw_client
from scenarios import wait_for
from servers import make_message
from tui.app import MailApp
from tui.dialogs import ConfirmScreen, PromptScreen
from tui.widgets.mailbox_picker import MailboxPicker
from tui.widgets.mailbox_tree import MailboxTree
from tui.widgets.message_list import MessageList

_names = itertools.count(1)


def fresh_mailbox(target, count: int, prefix: str = "Triage") -> str:
    """A new mailbox of `count` messages (one APPEND each: the cut-down servers lack MULTIAPPEND)."""
    name = f"{prefix}{next(_names)}x{id(object()) % 100000}"
    make_mailbox(target.account, target.password, name.encode(), [make_message(i) for i in range(count)])
    return name


def dialog_text(screen) -> str:
    """What the dialog shows, as one line: its title, body and buttons."""
    return " ".join(" ".join(str(widget.render()).split()) for widget in screen.query("Static"))


def status_text(app: MailApp) -> str:
    return str(app.query_one("#status").render())


async def open_named(app: MailApp, name: str, count: int) -> MessageList:
    listing = app.query_one(MessageList)
    await wait_for(lambda: any(m.name == name for m in app.mailboxes))
    mailbox = next(m for m in app.mailboxes if m.name == name)
    app.open_mailbox(app.session, mailbox)
    await wait_for(lambda: app.selected is not None and app.selected.raw_name == mailbox.raw_name
                   and len(listing.uids) == count and listing.loaded_count == count)
    listing.focus()
    return listing


async def mark_deleted_and_ask_to_expunge(pilot, app: MailApp, listing: MessageList) -> int:
    """`d` on the row under the cursor, once the server confirms it `$`; the UID marked."""
    uid = listing.current_uid
    await pilot.press("d")
    await wait_for(lambda: listing.envelopes[uid].deleted)
    await pilot.press("dollar_sign")
    await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
    return uid


async def type_text(pilot, text: str) -> None:
    for char in text:
        await pilot.press(char if char != " " else "space")


def server_flags(target, name: str) -> dict[int, set[bytes]]:
    check = raw_client(target.account, target.password)
    try:
        check.select_folder(imap_utf7.encode(name), readonly=True)
        uids = check.search(["ALL"])
        return {uid: set(flags) for uid, flags in check.get_flags(uids).items()} if uids else {}
    finally:
        check.logout()


def change_elsewhere(target, name: str, *, flag: int, expunge: int, new: tuple[int, str]) -> None:
    """Another client flags one message, expunges another and appends a new one (index, subject)."""
    other = raw_client(target.account, target.password)
    other.select_folder(name.encode())
    other.add_flags([flag], [b"\\Flagged"])
    other.add_flags([expunge], [b"\\Deleted"])
    other.expunge()
    other.append(name.encode(), make_message(new[0], subject=new[1]))
    other.logout()


def server_subjects(target, name: str) -> list[str]:
    check = raw_client(target.account, target.password)
    try:
        check.select_folder(imap_utf7.encode(name), readonly=True)
        uids = check.search(["ALL"])
        if not uids:
            return []
        data = check.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        return sorted(d[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().strip() for d in data.values())
    finally:
        check.logout()


async def test_tag_flag_move_to_a_new_nested_mailbox_undo_and_expunge(dovecot_demo):
    """The issue's 'done means', by keys: every step checked on the server."""
    source = fresh_mailbox(dovecot_demo, 12)
    target = f"{source}-Archive/2026/Q4"
    subjects = server_subjects(dovecot_demo, source)
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, source, 12)
        for _ in range(10):
            await pilot.press("t")
        tagged = set(listing.tagged)
        assert len(tagged) == 10
        await pilot.press("F")
        await wait_for(lambda: all(listing.envelopes[uid].flagged for uid in tagged))
        flags = server_flags(dovecot_demo, source)
        assert {uid for uid, f in flags.items() if b"\\Flagged" in f} == tagged

        await pilot.press("s")
        await wait_for(lambda: isinstance(app.screen, MailboxPicker))
        await type_text(pilot, target)
        await pilot.press("enter")
        await wait_for(lambda: len(listing.uids) == 2)
        assert "Moved 10 messages" in status_text(app)
        assert not listing.tagged
        await wait_for(lambda: any(m.name == target for m in app.mailboxes))  # the tree lists it
        moved = server_flags(dovecot_demo, target)
        assert len(moved) == 10 and all(b"\\Flagged" in f for f in moved.values())
        assert set(server_flags(dovecot_demo, source)) == set(flags) - tagged

        await pilot.press("U")
        await wait_for(lambda: len(listing.uids) == 12 and listing.loaded_count == 12)
        assert "Undone" in status_text(app)
        assert server_flags(dovecot_demo, target) == {}
        assert server_subjects(dovecot_demo, source) == subjects

        # Another client marks one message deleted: our expunge must leave it alone.
        other = raw_client(dovecot_demo.account, dovecot_demo.password)
        other.select_folder(source.encode())
        theirs = min(other.search(["ALL"]))
        other.add_flags([theirs], [b"\\Deleted"])
        other.logout()
        listing.cursor = 0
        ours = listing.current_uid
        assert ours != theirs
        await mark_deleted_and_ask_to_expunge(pilot, app, listing)
        assert "1 message" in dialog_text(app.screen)
        await pilot.press("y")
        await wait_for(lambda: ours not in listing.uids)
    after = server_flags(dovecot_demo, source)
    assert ours not in after
    assert theirs in after and b"\\Deleted" in after[theirs]
    assert len(after) == 11


async def test_copy_to_a_vanished_mailbox_offers_to_create_it(dovecot_demo):
    source = fresh_mailbox(dovecot_demo, 3)
    gone = fresh_mailbox(dovecot_demo, 0, prefix="Gone")
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, source, 3)
        await wait_for(lambda: any(m.name == gone for m in app.mailboxes))
        other = raw_client(dovecot_demo.account, dovecot_demo.password)
        other.delete_folder(gone.encode())  # another client deletes it meanwhile
        other.logout()
        await pilot.press("C")
        await wait_for(lambda: isinstance(app.screen, MailboxPicker))
        await type_text(pilot, gone)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
        assert "does not exist" in dialog_text(app.screen)
        await pilot.press("y")
        await wait_for(lambda: "Copied 1 message" in status_text(app))
        assert len(listing.uids) == 3
    assert len(server_flags(dovecot_demo, gone)) == 1
    assert len(server_flags(dovecot_demo, source)) == 3  # a copy leaves the source alone


async def test_undo_of_a_copy_removes_only_the_copies(dovecot_demo):
    source = fresh_mailbox(dovecot_demo, 4)
    target = fresh_mailbox(dovecot_demo, 2, prefix="Dest")
    before_target = server_subjects(dovecot_demo, target)
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, source, 4)
        await pilot.press("T", "C")
        await wait_for(lambda: isinstance(app.screen, MailboxPicker))
        await type_text(pilot, target)
        await pilot.press("enter")
        await wait_for(lambda: "Copied 4 messages" in status_text(app))
        assert len(server_flags(dovecot_demo, target)) == 6
        await pilot.press("U")
        await wait_for(lambda: "Undone" in status_text(app))
        await wait_for(lambda: len(listing.uids) == 4)
    assert server_subjects(dovecot_demo, target) == before_target
    assert len(server_flags(dovecot_demo, source)) == 4


async def test_undo_of_flags_restores_exactly_what_changed(dovecot_demo):
    source = fresh_mailbox(dovecot_demo, 3)
    other = raw_client(dovecot_demo.account, dovecot_demo.password)
    other.select_folder(source.encode())
    first = min(other.search(["ALL"]))
    other.add_flags([first], [b"\\Flagged"])  # already flagged before we act
    other.logout()
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, source, 3)
        await pilot.press("T", "F")  # not all flagged: flags all three
        await wait_for(lambda: all(e.flagged for e in listing.envelopes.values()))
        await pilot.press("U")
        await wait_for(lambda: sum(e.flagged for e in listing.envelopes.values()) == 1)
    flags = server_flags(dovecot_demo, source)
    assert {uid for uid, f in flags.items() if b"\\Flagged" in f} == {first}


async def test_undo_of_an_expunge_says_it_cannot(dovecot_demo):
    source = fresh_mailbox(dovecot_demo, 2)
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, source, 2)
        await mark_deleted_and_ask_to_expunge(pilot, app, listing)
        await pilot.press("y")
        await wait_for(lambda: len(listing.uids) == 1)
        await pilot.press("U")
        assert "Cannot undo" in status_text(app)
        # Next on the stack: the d mark, on a message that is gone. It says so.
        await pilot.press("U")
        await wait_for(lambda: "Cannot undo" in status_text(app) and "no longer in the mailbox" in status_text(app))
    assert len(server_flags(dovecot_demo, source)) == 1


async def test_expunge_dialog_cancel_changes_nothing(dovecot_demo):
    source = fresh_mailbox(dovecot_demo, 2)
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, source, 2)
        await mark_deleted_and_ask_to_expunge(pilot, app, listing)
        await pilot.press("enter")  # a stray Enter lands on the safe button
        await pilot.pause(0.3)
        assert len(listing.uids) == 2
        assert "Nothing was expunged" in status_text(app)
    assert len(server_flags(dovecot_demo, source)) == 2


async def test_leaving_with_deleted_messages_asks_once(dovecot_demo):
    source = fresh_mailbox(dovecot_demo, 2)
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, source, 2)
        await pilot.press("d")
        await wait_for(lambda: listing.envelopes[listing.uids[0]].deleted)
        await pilot.press("c")
        await wait_for(lambda: isinstance(app.screen, MailboxPicker))
        await type_text(pilot, "INBOX")
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
        assert "Leaving" in dialog_text(app.screen)
        await pilot.press("n")
        await wait_for(lambda: app.selected is not None and app.selected.raw_name == b"INBOX")
        # Back and away again with the same marks: no second question.
        await open_named(app, source, 2)
        app.open_mailbox(app.session, next(m for m in app.mailboxes if m.name == "INBOX"))
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen)
        await wait_for(lambda: app.selected is not None and app.selected.raw_name == b"INBOX")
    flags = server_flags(dovecot_demo, source)
    assert len(flags) == 2 and sum(b"\\Deleted" in f for f in flags.values()) == 1


async def test_check_shows_another_clients_new_mail_flags_and_expunges(dovecot_demo):
    source = fresh_mailbox(dovecot_demo, 3)
    # Without IDLE (else the news is there before `r`: see test_new_mail_appears_without_a_key_press).
    app = MailApp(dovecot_demo.account, dovecot_demo.password, worker_options={"use_idle": False})
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, source, 3)
        oldest, middle, newest = sorted(listing.uids)
        change_elsewhere(dovecot_demo, source, flag=middle, expunge=oldest, new=(99, "Arrived meanwhile"))
        await pilot.press("r")
        await wait_for(lambda: len(listing.uids) == 3 and oldest not in listing.uids
                       and listing.envelopes.get(middle) is not None and listing.envelopes[middle].flagged)
        new = listing.uids[0]
        assert new > newest
        await wait_for(lambda: new in listing.envelopes)
        assert listing.envelopes[new].subject == "Arrived meanwhile"
        assert "1 message new" in status_text(app) or "1 new" in status_text(app).lower()


async def test_new_mail_appears_without_a_key_press(demo_target):
    """IDLE: another client's new mail, flag and expunge reach the list with no key pressed."""
    source = fresh_mailbox(demo_target, 3)
    app = MailApp(demo_target.account, demo_target.password)
    async with app.run_test(size=(120, 40)):
        listing = await open_named(app, source, 3)
        oldest, middle, newest = sorted(listing.uids)
        change_elsewhere(demo_target, source, flag=middle, expunge=oldest, new=(98, "Pushed by IDLE"))
        await wait_for(lambda: len(listing.uids) == 3 and oldest not in listing.uids and listing.uids[0] > newest
                       and listing.envelopes.get(middle) is not None and listing.envelopes[middle].flagged, timeout=15)
        new = listing.uids[0]
        await wait_for(lambda: new in listing.envelopes)
        assert listing.envelopes[new].subject == "Pushed by IDLE"
        assert "3 messages" in status_text(app)
        commands = [t.command for t in app.session.options["trace"].snapshot()[1]]
        assert "IDLE" in commands  # pushed, not polled


async def test_keyword_from_the_palette_action(dovecot_demo):
    source = fresh_mailbox(dovecot_demo, 2)
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, source, 2)
        assert "\\*" in app.selected.permanent_flags
        app.action_add_keyword()
        await wait_for(lambda: isinstance(app.screen, PromptScreen))
        await type_text(pilot, "$Work")
        await pilot.press("enter")
        uid = listing.current_uid
        await wait_for(lambda: "$Work" in listing.envelopes[uid].flags)
        app.action_add_keyword()
        await wait_for(lambda: isinstance(app.screen, PromptScreen))
        await type_text(pilot, "bad word")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert "nothing was changed" in status_text(app)
    flags = server_flags(dovecot_demo, source)
    assert flags[uid] >= {b"$Work"}
    assert not any(b"bad" in f for fs in flags.values() for f in fs)


async def test_read_only_triage_keys_send_nothing(dovecot_demo, tmp_path):
    trace_file = tmp_path / "trace"
    app = MailApp(dovecot_demo.account, dovecot_demo.password, read_only=True, debug_imap=trace_file)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: app.selected is not None)
        for key in ("C", "s", "dollar_sign", "U"):
            await pilot.press(key)
            await pilot.pause(0.05)
            assert "read-only" in status_text(app), key
            assert not isinstance(app.screen, (MailboxPicker, ConfirmScreen))
        app.query_one(MailboxTree).focus()
        for key in ("a", "R", "D", "space"):
            await pilot.press(key)
            await pilot.pause(0.05)
            assert not isinstance(app.screen, (PromptScreen, ConfirmScreen)), key
    sent = trace_file.read_bytes()
    assert re.search(rb"C: \S+ (UID )?(STORE|EXPUNGE|COPY|MOVE|CREATE|DELETE|RENAME|SUBSCRIBE|UNSUBSCRIBE)\b",
                     sent) is None


async def test_mailbox_create_rename_subscribe_delete_with_a_non_ascii_name(dovecot_demo):
    base = f"Mgmt{next(_names)}x{id(object()) % 100000}"
    nested = f"{base}/Été 2026"
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: app.selected is not None)
        tree = app.query_one(MailboxTree)
        tree.focus()
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, PromptScreen))
        app.screen.query_one("Input").value = nested
        await pilot.press("enter")
        await wait_for(lambda: any(m.name == nested for m in app.mailboxes))
        check = raw_client(dovecot_demo.account, dovecot_demo.password)
        assert imap_utf7.encode(nested) in {name for _f, _d, name in check.list_folders(pattern=f"{base}*")}
        assert imap_utf7.encode(nested) in {name for _f, _d, name in check.list_sub_folders(pattern=f"{base}*")}

        # Rename it from the tree.
        tree.select_mailbox_node(app.session.name, imap_utf7.encode(nested))
        await pilot.pause(0.1)
        await pilot.press("R")
        await wait_for(lambda: isinstance(app.screen, PromptScreen))
        renamed = f"{base}/Été 2027"
        app.screen.query_one("Input").value = renamed
        await pilot.press("enter")
        await wait_for(lambda: any(m.name == renamed for m in app.mailboxes))
        names = {name for _f, _d, name in check.list_folders(pattern=f"{base}*")}
        assert imap_utf7.encode(renamed) in names and imap_utf7.encode(nested) not in names

        # Unsubscribe with Space, then L hides it.
        tree.select_mailbox_node(app.session.name, imap_utf7.encode(renamed))
        await pilot.pause(0.1)
        await pilot.press("space")
        await wait_for(lambda: not next(m for m in app.mailboxes if m.name == renamed).subscribed)
        assert imap_utf7.encode(renamed) not in {n for _f, _d, n in check.list_sub_folders(pattern=f"{base}*")}
        await pilot.press("L")
        shown = [n.data.mailbox.name for n in tree._mailbox_nodes.values() if n.data and n.data.mailbox]
        assert renamed not in shown and "INBOX" in shown
        await pilot.press("L")

        # Delete: the dialog names the count.
        check.append(imap_utf7.encode(renamed), make_message(1))
        tree.select_mailbox_node(app.session.name, imap_utf7.encode(renamed))
        await pilot.pause(0.1)
        await pilot.press("D")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
        assert "1 message" in dialog_text(app.screen)
        await pilot.press("y")
        await wait_for(lambda: not any(m.name == renamed for m in app.mailboxes))
        names = {name for _f, _d, name in check.list_folders(pattern=f"{base}*")}
        check.logout()
        assert imap_utf7.encode(renamed) not in names


async def test_jump_to_mailbox_by_fuzzy_name(pymap_demo):
    app = MailApp(pymap_demo.account, pymap_demo.password, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: app.selected is not None)
        await pilot.press("c")
        await wait_for(lambda: isinstance(app.screen, MailboxPicker))
        await type_text(pilot, "alspec")
        await pilot.press("enter")
        await wait_for(lambda: app.selected is not None and app.selected.raw_name.endswith(b"Specs"))


@pytest.mark.parametrize("pattern, expected, unexpected", [("Proj*", "Specs", "INBOX"), ("%", "INBOX", "Specs")])
async def test_list_pattern_filter(pymap_demo, pattern, expected, unexpected):
    app = MailApp(pymap_demo.account, pymap_demo.password, read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: app.selected is not None and app.mailboxes)
        app.query_one(MailboxTree).focus()
        await pilot.press("l")
        await wait_for(lambda: isinstance(app.screen, PromptScreen))
        await type_text(pilot, pattern)
        await pilot.press("enter")
        await wait_for(lambda: not any(m.parts[-1] == unexpected for m in app.mailboxes))
        assert any(m.parts[-1] == expected for m in app.mailboxes)


async def test_move_without_uidplus_copies_marks_and_says_how_to_finish(dovecot_no_uidplus):
    source = fresh_mailbox(dovecot_no_uidplus, 3)
    target = fresh_mailbox(dovecot_no_uidplus, 0, prefix="Dest")
    app = MailApp(dovecot_no_uidplus.account, dovecot_no_uidplus.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, source, 3)
        moved = listing.current_uid
        await pilot.press("s")
        await wait_for(lambda: isinstance(app.screen, MailboxPicker))
        await type_text(pilot, target)
        await pilot.press("enter")
        await wait_for(lambda: "press $" in status_text(app))
        await wait_for(lambda: listing.envelopes[moved].deleted)  # still listed, struck through
        assert len(listing.uids) == 3
        await pilot.press("U")
        assert "Cannot undo" in status_text(app)
        source_flags = server_flags(dovecot_no_uidplus, source)
        assert len(source_flags) == 3  # nothing was expunged
        assert {uid for uid, f in source_flags.items() if b"\\Deleted" in f} == {moved}
        assert len(server_flags(dovecot_no_uidplus, target)) == 1
        # Finishing the move as the status line says: $ counts the user's own marks.
        await pilot.press("dollar_sign")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
        assert "Remove 1 message" in dialog_text(app.screen) and "plain EXPUNGE" in dialog_text(app.screen)
        await pilot.press("y")
        await wait_for(lambda: len(listing.uids) == 2)
    assert moved not in server_flags(dovecot_no_uidplus, source)


async def test_move_without_move_capability_removes_exactly_those(dovecot_no_move):
    source = fresh_mailbox(dovecot_no_move, 4)
    target = fresh_mailbox(dovecot_no_move, 0, prefix="Dest")
    app = MailApp(dovecot_no_move.account, dovecot_no_move.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, source, 4)
        await pilot.press("t", "t", "s")
        await wait_for(lambda: isinstance(app.screen, MailboxPicker))
        await type_text(pilot, target)
        await pilot.press("enter")
        await wait_for(lambda: len(listing.uids) == 2)
        assert "Moved 2 messages" in status_text(app)
        kept = set(listing.uids)
    assert set(server_flags(dovecot_no_move, source)) == kept
    assert len(server_flags(dovecot_no_move, target)) == 2


async def test_a_move_whose_answer_is_lost_is_not_called_nothing_changed(dovecot_demo):
    import dataclasses

    from proxy import CuttableProxy

    source = fresh_mailbox(dovecot_demo, 2)
    target = fresh_mailbox(dovecot_demo, 0, prefix="Dest")
    proxy = CuttableProxy(dovecot_demo.account.host, dovecot_demo.account.port)
    proxy.cut_after_sent(b"UID MOVE")  # the server moves it; its answer never comes
    account = dataclasses.replace(dovecot_demo.account, host=proxy.host, port=proxy.port)
    app = MailApp(account, dovecot_demo.password, worker_options={"reconnect_delays": (0.3,)})
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            listing = await open_named(app, source, 2)
            await pilot.press("s")
            await wait_for(lambda: isinstance(app.screen, MailboxPicker))
            await type_text(pilot, target)
            await pilot.press("enter")
            await wait_for(lambda: "Not confirmed" in status_text(app), timeout=30)
            status = status_text(app)
            assert "Nothing was changed" not in status and "no longer holds them" in status
            await wait_for(lambda: len(listing.uids) == 1)  # the re-selected list: as the server has it
    finally:
        proxy.close()
    assert len(server_flags(dovecot_demo, source)) == 1
    assert len(server_flags(dovecot_demo, target)) == 1  # moved once, never twice
