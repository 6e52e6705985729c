"""Pilot tests for the search bar (issue 5): what the list shows, checked against the server's own SEARCH.

Every expected UID set comes from a raw `UID SEARCH` that the test writes by hand and
sends on a second connection, and from the messages the test itself appended.
"""

from __future__ import annotations

import itertools

from harness import make_mailbox, raw_client, sent_commands
from scenarios import wait_for
from servers import make_message
from test_triage_app import open_named, status_text
from tui.app import ImapResult, MailApp
from tui.dialogs import ConfirmScreen
from tui.imap.contract import SearchFinished
from tui.widgets.search_bar import SearchBar

_names = itertools.count(1)

# (sender, subject) of the test mailbox's messages, in APPEND order.
MESSAGES = [
    ("Alice Example <alice@example.org>", "Q3 report draft"),
    ("Bob Example <bob@example.org>", "Lunch?"),
    ("Alice Example <alice@example.org>", "Re: Q3 report draft"),
    ("Zoë Müller <zoe@example.de>", "Grüße aus Berlin"),
    ("Carol Example <carol@example.org>", 'The "final" plan (v2)'),
    ("Bob Example <bob@example.org>", "Q3 numbers"),
]


def search_mailbox(target) -> tuple[str, list[int]]:
    """A new mailbox holding MESSAGES; its name and the UIDs in MESSAGES order."""
    name = f"Search{next(_names)}x{id(object()) % 100000}"
    messages = [make_message(i, sender=s, subject=subject) for i, (s, subject) in enumerate(MESSAGES)]
    uids = make_mailbox(target.account, target.password, name.encode(), messages)
    return name, uids


def raw_search(target, name: str, criteria: bytes) -> set[int]:
    """The server's own answer to `UID SEARCH <criteria>`, sent byte for byte as written."""
    client = raw_client(target.account, target.password)
    try:
        client.select_folder(name.encode(), readonly=True)
        imap = client._imap
        imap.send(b"R1 UID SEARCH " + criteria + b"\r\n")
        found: set[int] = set()
        while True:
            line = imap._get_line()
            if line.startswith(b"+"):  # a synchronising literal: the test wrote the data after it
                continue
            if line.startswith(b"* SEARCH"):
                found.update(int(n) for n in line.split()[2:])
            if line.startswith(b"R1 "):
                assert line.startswith(b"R1 OK"), line
                return found
    finally:
        client.logout()


async def search_by_keys(pilot, app: MailApp, query: str) -> None:
    """`/`, the query, Enter; then wait until the answer is on screen."""
    await pilot.press("slash")
    bar = app.query_one(SearchBar)
    assert bar.display and bar.input.has_focus
    bar.input.value = query
    await pilot.press("enter")
    await wait_for(lambda: app.search_query == query and not app._search_request)


async def test_slash_searches_and_esc_shows_all_again(dovecot_demo):
    name, uids = search_mailbox(dovecot_demo)
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, name, len(MESSAGES))
        await pilot.press("slash")
        for key in "from:alice":  # typed key by key, as a user would
            await pilot.press(key if key != ":" else "colon")
        await pilot.press("enter")
        await wait_for(lambda: listing.matches is not None)
        expected = {uids[0], uids[2]}
        assert set(listing.uids) == expected == raw_search(dovecot_demo, name, b'FROM "alice"')
        assert listing.has_focus  # the list takes the keys again
        status = status_text(app)
        assert "2 of 6 messages match from:alice" in status

        await pilot.press("escape")
        assert listing.matches is None
        assert set(listing.uids) == set(uids)
        assert not app.query_one(SearchBar).display
        assert "match" not in status_text(app)


async def test_five_queries_equal_the_servers_own_search(dovecot_demo):
    """The issue's done-means queries, each against a hand-written raw SEARCH."""
    name, uids = search_mailbox(dovecot_demo)
    q3_report = {uids[0], uids[2]}
    cases = [
        ('from:alice subject:"q3 report"', b'FROM "alice" SUBJECT "q3 report"', q3_report),
        ("subject:grüße", b"CHARSET UTF-8 SUBJECT {7+}\r\ngr\xc3\xbc\xc3\x9fe", {uids[3]}),
        ('subject:"the \\"final\\" plan (v2)"', b'SUBJECT {21+}\r\nthe "final" plan (v2)', {uids[4]}),
        ("q3 -from:bob", b'TEXT "q3" NOT FROM "bob"', q3_report),
        ("from:bob or from:zoe subject:q3", b'OR FROM "bob" FROM "zoe" SUBJECT "q3"', {uids[5]}),
    ]
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, name, len(MESSAGES))
        for query, criteria, expected in cases:
            await search_by_keys(pilot, app, query)
            assert set(listing.uids) == raw_search(dovecot_demo, name, criteria) == expected, query
            assert f"{len(expected)} of 6 messages match" in status_text(app)


async def test_a_bad_query_names_the_term_and_sends_nothing(dovecot_demo):
    name, _uids = search_mailbox(dovecot_demo)
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, name, len(MESSAGES))
        trace = app.session.options["trace"]
        before = sent_commands(trace)
        await pilot.press("slash")
        bar = app.query_one(SearchBar)
        query = "from:alice since:2024-13-01"
        bar.input.value = query
        await pilot.press("enter")
        await pilot.pause()
        assert bar.has_class("-error")
        error = str(bar.query_one("#search-error").render())
        assert "2024-13-01" in error and "Nothing was searched" in error
        start, end = sorted(bar.input.selection)
        assert query[start:end] == "since:2024-13-01"  # typing now replaces just the bad term
        assert listing.matches is None
        await pilot.pause(0.3)
        assert [c for c in sent_commands(trace)[len(before):] if "SEARCH" in c] == []


async def test_up_and_down_recall_queries_across_sessions(dovecot_demo, tmp_path):
    name, _uids = search_mailbox(dovecot_demo)
    history = tmp_path / "state" / "search-history"
    app = MailApp(dovecot_demo.account, dovecot_demo.password, search_history=history)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_named(app, name, len(MESSAGES))
        await search_by_keys(pilot, app, "from:alice")
        await search_by_keys(pilot, app, "is:unread")
        await pilot.press("escape")
        await pilot.press("slash")
        bar = app.query_one(SearchBar)
        bar.input.value = "half-typed"
        await pilot.press("up")
        assert bar.value == "is:unread"
        await pilot.press("up")
        assert bar.value == "from:alice"
        await pilot.press("up")  # the oldest stays
        assert bar.value == "from:alice"
        await pilot.press("down")
        assert bar.value == "is:unread"
        await pilot.press("down")
        assert bar.value == "half-typed"
    assert history.read_text(encoding="utf-8").split("\n")[:2] == ["from:alice", "is:unread"]
    assert history.stat().st_mode & 0o077 == 0  # a query can be private

    again = MailApp(dovecot_demo.account, dovecot_demo.password, search_history=history)
    async with again.run_test(size=(120, 40)) as pilot:
        await open_named(again, name, len(MESSAGES))
        await pilot.press("slash", "up")
        assert again.query_one(SearchBar).value == "is:unread"


async def test_an_older_searchs_late_answer_does_not_replace_the_list(dovecot_demo):
    name, uids = search_mailbox(dovecot_demo)
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, name, len(MESSAGES))
        app.run_search("from:alice")
        old_request = app._search_request
        app.run_search("from:bob")  # asked before the first answer could be shown
        await wait_for(lambda: app.search_query == "from:bob")
        await pilot.pause(0.3)
        bobs = {uids[1], uids[5]}
        assert set(listing.uids) == bobs
        # The first search's answer, arriving late, is dropped.
        selected = app.selected
        late = SearchFinished(old_request, selected.raw_name, selected.uidvalidity, "from:alice", (uids[0], uids[2]))
        app.post_message(ImapResult(app.session.name, late))
        await pilot.pause(0.2)
        assert set(listing.uids) == bobs
        assert "from:bob" in status_text(app)


async def test_new_mail_joins_a_search_it_matches_and_expunged_rows_leave(dovecot_demo):
    name, uids = search_mailbox(dovecot_demo)
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, name, len(MESSAGES))
        await search_by_keys(pilot, app, "from:alice")
        other = raw_client(dovecot_demo.account, dovecot_demo.password)
        try:
            other.append(name.encode(), make_message(50, subject="From Alice, new"))
            other.append(name.encode(), make_message(51, sender="Bob Example <bob@example.org>"))
            other.select_folder(name.encode())
            other.add_flags([uids[0]], [b"\\Deleted"])
            other.uid_expunge([uids[0]])
        finally:
            other.logout()
        expected = raw_search(dovecot_demo, name, b'FROM "alice"')
        assert uids[0] not in expected and len(expected) == 2  # uids[2] and the new one
        await pilot.press("r")
        await wait_for(lambda: set(listing.uids) == expected)
        assert "2 of 7 messages match from:alice" in status_text(app)
        await pilot.press("escape")
        assert len(listing.uids) == 7


async def test_quick_filters_from_the_palette_use_this_messages_sender_and_subject(dovecot_demo):
    name, uids = search_mailbox(dovecot_demo)
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, name, len(MESSAGES))
        listing.cursor = listing.uids.index(uids[2])  # "Re: Q3 report draft" from alice
        app.filter_by_thread_subject()
        await wait_for(lambda: app.search_query is not None and not app._search_request)
        assert app.search_query == 'subject:"Q3 report draft"'
        assert set(listing.uids) == raw_search(dovecot_demo, name, b'SUBJECT "Q3 report draft"') == {uids[0], uids[2]}

        await pilot.press("escape")
        listing.cursor = listing.uids.index(uids[3])  # from Zoë
        app.filter_by_sender()
        await wait_for(lambda: app.search_query == 'from:"zoe@example.de"' and not app._search_request)
        assert set(listing.uids) == raw_search(dovecot_demo, name, b'FROM "zoe@example.de"') == {uids[3]}

        app.quick_filter("has:attachment")
        await wait_for(lambda: app.search_query == "has:attachment" and not app._search_request)
        assert listing.uids == []  # the test's messages are all text/plain
        assert "No message matches" in status_text(app)


async def test_expunge_while_searching_says_how_many_are_hidden(dovecot_demo):
    name, uids = search_mailbox(dovecot_demo)
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, name, len(MESSAGES))
        listing.cursor = listing.uids.index(uids[1])
        await pilot.press("d")
        await wait_for(lambda: listing.envelopes[uids[1]].deleted)
        await search_by_keys(pilot, app, "from:alice")
        await pilot.press("dollar_sign")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen))
        text = " ".join(" ".join(str(w.render()).split()) for w in app.screen.query("Static"))
        assert "Remove 1 message" in text and "The search hides it" in text
        await pilot.press("n")
    assert raw_search(dovecot_demo, name, b"ALL") == set(uids)  # nothing was removed


async def test_a_search_overtaken_by_opening_another_mailbox_fails_quietly(dovecot_demo):
    """Searched right after clicking another mailbox: the worker has left the old one, so
    the search fails; that is no problem of the account's, and nothing stays red."""
    name, _uids = search_mailbox(dovecot_demo)
    other, _ = search_mailbox(dovecot_demo)
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_named(app, name, len(MESSAGES))
        target = next(m for m in app.mailboxes if m.name == other)
        app.open_mailbox(app.session, target)
        app.run_search("from:alice")  # still the old mailbox on screen: sent after the SELECT
        failed = app._search_request
        await wait_for(lambda: app.selected.raw_name == target.raw_name and failed not in app._search_ids)
        await pilot.pause(0.2)
        assert app.session.problem == ""
        assert "no longer open" not in status_text(app)
        assert app.search_query is None and not app.query_one(SearchBar).display


async def test_tagged_rows_hidden_by_the_search_are_not_acted_on(dovecot_demo):
    name, uids = search_mailbox(dovecot_demo)
    app = MailApp(dovecot_demo.account, dovecot_demo.password)
    async with app.run_test(size=(120, 40)) as pilot:
        listing = await open_named(app, name, len(MESSAGES))
        listing.cursor = listing.uids.index(uids[1])  # a message from bob
        await pilot.press("t")
        await search_by_keys(pilot, app, "from:alice")
        await pilot.press("d")
        await pilot.pause(0.3)
        assert "tagged are hidden by the search" in status_text(app)
    flags = raw_search(dovecot_demo, name, b"DELETED")
    assert flags == set()  # neither the hidden tagged message nor the row under the cursor
