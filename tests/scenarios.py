"""Shared steps that bring the app to a known screen (snapshot tests and screenshots)."""

from __future__ import annotations

import asyncio

from textual.pilot import Pilot

from tui.app import MailApp
from tui.widgets.mailbox_tree import MailboxTree
from tui.widgets.message_list import MessageList
from tui.widgets.message_view import MessageView, PartTree

ATTACHMENT_SUBJECT = "Unterlagen für März"


async def wait_for(predicate, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("the app did not reach the expected state in time")
        await asyncio.sleep(0.02)


async def fully_loaded(pilot: Pilot) -> None:
    """Every row and every mailbox count is in: nothing left to change the screen."""
    app: MailApp = pilot.app
    listing = app.query_one(MessageList)
    tree = app.query_one(MailboxTree)
    selectable = lambda: [m for m in app.mailboxes if m.selectable]  # noqa: E731
    await wait_for(lambda: app.selected is not None and listing.loaded_count == len(listing.uids))
    name = app.session.name
    await wait_for(lambda: selectable() and all(tree.status_of(name, m.raw_name) for m in selectable()))
    await pilot.pause()


async def open_message(pilot: Pilot, subject: str, sender: str = "") -> MessageView:
    """Open the first INBOX message whose subject starts with `subject` (and whose sender
    holds `sender`), moving to it with j as a user would."""
    await fully_loaded(pilot)
    app: MailApp = pilot.app
    listing = app.query_one(MessageList)
    row = next(i for i, uid in enumerate(listing.uids) if listing.envelopes[uid].subject.startswith(subject)
               and sender in str(listing.envelopes[uid].sender))
    for _ in range(row):
        await pilot.press("j")
    await pilot.press("enter")
    viewer = app.query_one(MessageView)
    await wait_for(lambda: viewer.parsed is not None)
    await pilot.pause()
    return viewer


async def open_listed(pilot: Pilot, app: MailApp, subject: str, rows: int) -> MessageView:
    """Open the message whose row shows `subject`, once the mailbox's `rows` rows are in."""
    listing = app.query_one(MessageList)
    await wait_for(lambda: app.selected is not None and listing.loaded_count == rows)
    await pilot.pause()
    listing.cursor = next(row for row in range(rows) if subject in listing.render_line(row).text)
    await pilot.press("enter")
    viewer = app.query_one(MessageView)
    await wait_for(lambda: viewer.parsed is not None)
    return viewer


def tree_node(app: MailApp, filename: str):
    """The part tree's node of the part named `filename`."""
    tree = app.query_one(PartTree)
    for line in range(tree.last_line + 1):
        node = tree.get_node_at_line(line)
        if node is not None and node.data is not None and node.data.filename == filename:
            return node
    raise AssertionError(f"{filename} is not in the part tree")


async def pick_part(pilot: Pilot, app: MailApp, filename: str) -> None:
    """Focus the part tree and put its cursor on the part named `filename`."""
    tree = app.query_one(PartTree)
    tree.focus()
    tree.move_cursor(tree_node(app, filename))
    await pilot.pause()


async def open_attachment_message(pilot: Pilot) -> None:
    await open_message(pilot, ATTACHMENT_SUBJECT)


async def open_newsletter(pilot: Pilot) -> None:
    """An HTML-only newsletter: its list, table and links as footnotes."""
    await open_message(pilot, "Tech Weekly #")


async def open_quoted_reply(pilot: Pilot) -> None:
    """A reply quoting three levels deep, T unfolding the long quote: a colour per level."""
    await open_message(pilot, "Re: Offsite venue options", sender="Olivia")
    await pilot.press("T")
    await pilot.pause()


async def open_bounce(pilot: Pilot) -> None:
    """A delivery report: who did not get the message, and why, in words."""
    await open_message(pilot, "Undelivered Mail Returned to Sender")


async def open_attachment_list(pilot: Pilot) -> None:
    """The parts pane focused, on the PDF: what S and o act on."""
    await open_attachment_message(pilot)
    await pilot.press("tab")
    for _ in range(2):  # past the message itself and its text
        await pilot.press("j")
    await pilot.pause()


async def open_source(pilot: Pilot) -> None:
    """H: the message as the server holds it."""
    await open_attachment_message(pilot)
    await pilot.press("H")
    await pilot.pause()


SEARCH_QUERY = "subject:alpha or from:Zoë -is:read"


async def search_results(pilot: Pilot) -> None:
    """`/` and a query on the demo INBOX: only the matches, and the count in the status line."""
    await fully_loaded(pilot)
    app: MailApp = pilot.app
    await pilot.press("slash")
    app.query_one("#search-input").value = SEARCH_QUERY
    await pilot.press("enter")
    await wait_for(lambda: app.search_query is not None and not app._search_request)
    listing = app.query_one(MessageList)
    await wait_for(lambda: all(uid in listing.envelopes for uid in listing.uids))
    await pilot.pause()


async def thread_view(pilot: Pilot) -> None:
    """`V` on the demo INBOX, the second thread with replies collapsed (`z`), the cursor on the first open thread."""
    await fully_loaded(pilot)
    listing = pilot.app.query_one(MessageList)
    await pilot.press("V")
    await wait_for(lambda: bool(listing.arrangement.lines))
    replies = [i for i, uid in enumerate(listing.uids) if listing.arrangement.lines[uid].depth > 0]
    roots = {listing.arrangement.lines[listing.uids[i]].root for i in replies}
    second = next(i for i in replies if listing.arrangement.lines[listing.uids[i]].root == sorted(
        roots, key=lambda root: listing.uids.index(root))[1])
    listing.cursor = second
    await pilot.press("z")
    await wait_for(lambda: any(line.hidden for line in listing.arrangement.lines.values()))
    # Back up to the root of the first open thread: it shows with its replies under it.
    first_reply = next(uid for uid in listing.uids if listing.arrangement.lines[uid].depth > 0)
    listing.cursor = listing.uids.index(listing.arrangement.lines[first_reply].root)
    await pilot.pause()
