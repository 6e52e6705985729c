"""Sort and thread view in the app (issue 6), against Dovecot.

Expected orders are worked out here from the messages the test wrote, never read back
from the list under test.
"""

from __future__ import annotations

import itertools

from harness import WorkerHarness, make_mailbox
from scenarios import wait_for
from tui.app import MailApp
from tui.imap.contract import MailboxSelected, MessagesOrdered, OrderMessages, SelectMailbox
from tui.widgets.message_list import MessageList
from tui.widgets.sort_menu import SortMenu

_names = itertools.count()

# (name, sender, subject, day of July 2024, Message-ID, References)
MESSAGES = [
    ("launch", "Carol Zed <carol@example.org>", "Launch plan", 3, "launch@x", ""),
    ("reply1", "Alice Young <alice@example.org>", "Re: Launch plan", 5, "r1@x", "<launch@x>"),
    ("budget", "Bob Xavier <bob@example.org>", "Budget", 1, "budget@x", ""),
    ("reply2", "Dave Will <dave@example.org>", "Re: Launch plan", 9, "r2@x", "<launch@x> <r1@x>"),
    ("orphan", "Erin Vale <erin@example.org>", "Re: Lost parent", 7, "o@x", "<missing@x>"),
    ("budget2", "Alice Young <alice@example.org>", "Re: Budget", 2, "b2@x", "<budget@x>"),
]


def message(sender: str, subject: str, day: int, message_id: str, references: str, size: int) -> bytes:
    lines = [
        f"Date: Mon, {day} Jul 2024 10:00:00 +0000",
        f"From: {sender}",
        "To: team@example.org",
        f"Subject: {subject}",
        f"Message-ID: <{message_id}>",
        *([f"References: {references}", f"In-Reply-To: {references.split()[-1]}"] if references else []),
        "Content-Type: text/plain; charset=utf-8",
        "",
        "x" * size,
        "",
    ]
    return "\r\n".join(lines).encode()


def fill(target) -> tuple[str, dict[str, int]]:
    name = f"Order{next(_names)}x{id(object()) % 100000}"
    raw = [message(sender, subject, day, mid, refs, 100 * (index + 1))
           for index, (_key, sender, subject, day, mid, refs) in enumerate(MESSAGES)]
    uids = make_mailbox(target.account, target.password, name.encode(), raw)
    return name, {key: uid for (key, *_rest), uid in zip(MESSAGES, uids)}


async def open_named(app: MailApp, name: str) -> MessageList:
    listing = app.query_one(MessageList)
    await wait_for(lambda: any(m.name == name for m in app.mailboxes))
    mailbox = next(m for m in app.mailboxes if m.name == name)
    app.open_mailbox(app.session, mailbox)
    await wait_for(lambda: app.selected is not None and app.selected.raw_name == mailbox.raw_name
                   and listing.loaded_count == len(MESSAGES) and len(listing.uids) == len(MESSAGES))
    listing.focus()
    return listing


async def choose(pilot, app: MailApp, key: str) -> None:
    """`o`, then `key` once the menu is up (a key before it would act on the list)."""
    await pilot.press("o")
    await wait_for(lambda: isinstance(app.screen, SortMenu))
    await pilot.press(key)
    await wait_for(lambda: not isinstance(app.screen, SortMenu))


def screen_rows(app: MailApp, count: int) -> list[str]:
    listing = app.query_one(MessageList)
    return ["".join(segment.text for segment in listing.render_line(y)) for y in range(count)]


async def test_sort_menu_orders_by_each_key_and_remembers_it(dovecot_demo, tmp_path):
    name, uid = fill(dovecot_demo)
    prefs = tmp_path / "list-order.json"
    app = MailApp(dovecot_demo.account, dovecot_demo.password, list_prefs=prefs)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, name)
        assert listing.uids == sorted(uid.values(), reverse=True)  # arrival, newest first

        await pilot.press("o")
        await wait_for(lambda: isinstance(app.screen, SortMenu))
        await pilot.press("f")  # sender: by display name, Z first (the menu keeps "reverse")
        by_sender = ["erin", "dave", "carol", "bob", "alice"]
        expected = [uid[k] for k in ("orphan", "reply2", "launch", "budget")]
        await wait_for(lambda: listing.uids[:4] == expected)
        assert set(listing.uids[4:]) == {uid["reply1"], uid["budget2"]}  # the two of Alice
        assert "by sender, Z to A" in str(app.query_one("#status").render())
        assert by_sender[0] in screen_rows(app, 1)[0].lower()

        await choose(pilot, app, "r")  # reverse: A first
        await wait_for(lambda: listing.uids[-4:] == expected[::-1])

        await choose(pilot, app, "d")  # date sent, oldest first (still reversed from above)
        by_date = sorted(uid, key=lambda k: next(m[3] for m in MESSAGES if m[0] == k))
        await wait_for(lambda: listing.uids == [uid[k] for k in by_date])

        await choose(pilot, app, "z")  # size: the last written is the largest
        await wait_for(lambda: listing.uids == sorted(uid.values()))

        await choose(pilot, app, "s")  # subject without Re:, A to Z; ties by arrival
        await wait_for(lambda: [listing.envelopes[u].subject.removeprefix("Re: ") for u in listing.uids]
                       == sorted(m[2].removeprefix("Re: ") for m in MESSAGES))

    # Remembered for this mailbox: a new session opens it sorted by subject again.
    app = MailApp(dovecot_demo.account, dovecot_demo.password, list_prefs=prefs)
    async with app.run_test(size=(120, 40)):
        listing = await open_named(app, name)
        assert listing.order.key == "subject" and not listing.order.reverse
        await wait_for(lambda: [listing.envelopes[u].subject.removeprefix("Re: ") for u in listing.uids]
                       == sorted(m[2].removeprefix("Re: ") for m in MESSAGES))


async def test_thread_view_collapse_and_unread_counts(dovecot_demo, tmp_path):
    name, uid = fill(dovecot_demo)
    app = MailApp(dovecot_demo.account, dovecot_demo.password, list_prefs=tmp_path / "prefs.json")
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, name)
        await choose(pilot, app, "d")  # date, newest first: the thread with the newest message leads
        await pilot.press("V")
        # Launch plan (newest reply on the 9th), the orphan (7th), Budget (2nd).
        expected = [uid["launch"], uid["reply1"], uid["reply2"], uid["orphan"], uid["budget"], uid["budget2"]]
        await wait_for(lambda: listing.uids == expected)
        lines = listing.arrangement.lines
        assert [lines[u].depth for u in expected] == [0, 1, 2, 0, 0, 1]
        rows = screen_rows(app, 6)
        assert "Launch plan" in rows[0] and "─>" not in rows[0]
        assert "─>" in rows[1] and "─>" in rows[2] and "─>" in rows[5]

        listing.cursor = 1  # on a reply: z collapses its whole thread, the cursor goes to the root
        await pilot.press("z")
        await wait_for(lambda: listing.uids == [uid["launch"], uid["orphan"], uid["budget"], uid["budget2"]])
        assert listing.current_uid == uid["launch"]
        unread = sum(1 for k in ("reply1", "reply2") if not listing.envelopes[uid[k]].seen)
        assert lines is not listing.arrangement.lines
        assert listing.arrangement.lines[uid["launch"]].hidden == 2
        top = screen_rows(app, 1)[0]
        assert "[+2" in top and (f"{unread} unread" in top if unread else "unread" not in top)

        await pilot.press("Z")  # all collapsed
        await wait_for(lambda: listing.uids == [uid["launch"], uid["orphan"], uid["budget"]])
        await pilot.press("Z")  # all open again
        await wait_for(lambda: listing.uids == expected)
        await pilot.press("V")  # and back to the flat list, by date
        await wait_for(lambda: listing.uids == sorted(uid.values(), key=lambda u: -next(
            m[3] for m in MESSAGES if uid[m[0]] == u)))


def test_the_worker_asks_the_server_to_sort_and_thread(dovecot_demo):
    """OrderMessages: the server's SORT and THREAD (for while the index fills)."""
    name, uid = fill(dovecot_demo)
    with WorkerHarness(dovecot_demo.account, dovecot_demo.password, use_idle=False) as harness:
        request = harness.worker.submit(SelectMailbox(name.encode()))
        selected = harness.wait(MailboxSelected, lambda r: r.request_id == request.id).selected
        ask = harness.worker.submit(OrderMessages(name.encode(), selected.uidvalidity, "date", True, False))
        answer = harness.wait(MessagesOrdered, lambda r: r.request_id == ask.id)
        days = {uid[m[0]]: m[3] for m in MESSAGES}
        assert list(answer.uids) == sorted(days, key=lambda u: -days[u])
        ask = harness.worker.submit(OrderMessages(name.encode(), selected.uidvalidity, "date", True, True))
        answer = harness.wait(MessagesOrdered, lambda r: r.request_id == ask.id)
        shape = {node.uid: sorted(child.uid for child in node.children) for node in answer.threads}
        assert shape[uid["launch"]] == [uid["reply1"]] and shape[uid["budget"]] == [uid["budget2"]]
        assert answer.threaded and not answer.uids


async def test_a_big_mailbox_is_sorted_and_threaded_by_the_server(dovecot_demo, tmp_path, monkeypatch):
    """Above LOCAL_LIMIT messages the server's SORT and THREAD order the list, off the UI thread."""
    import tui.ordering

    monkeypatch.setattr(tui.ordering, "LOCAL_LIMIT", 3)  # our six messages count as big
    name, uid = fill(dovecot_demo)
    app = MailApp(dovecot_demo.account, dovecot_demo.password, list_prefs=tmp_path / "prefs.json")
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, name)
        trace = app.session.options["trace"]
        await choose(pilot, app, "d")
        days = {uid[m[0]]: m[3] for m in MESSAGES}
        await wait_for(lambda: listing.uids == sorted(days, key=lambda u: -days[u]))
        assert listing.server_order is not None and any("SORT" in t.command for t in trace.snapshot()[1])
        status = str(app.query_one("#status").render())
        assert "by date, newest first" in status and "sorting" not in status
        await pilot.press("V")
        expected = [uid["launch"], uid["reply1"], uid["reply2"], uid["orphan"], uid["budget"], uid["budget2"]]
        await wait_for(lambda: listing.uids == expected)
        assert listing.server_order.threads and any("THREAD" in t.command for t in trace.snapshot()[1])
        assert [listing.arrangement.lines[u].depth for u in expected] == [0, 1, 2, 0, 0, 1]
