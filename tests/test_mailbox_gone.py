"""The open mailbox is deleted by another client: the app goes back to INBOX and says why,
instead of leaving the user in a mailbox that no longer exists (Dovecot drops the
connection that had it selected; the re-select after the reconnect is refused)."""

from __future__ import annotations

import pytest

from harness import account_for, raw_client
from scenarios import wait_for
from servers import DovecotServer, require_dovecot
from tui.app import MailApp
from tui.widgets.mailbox_tree import MailboxTree
from tui.widgets.message_list import MessageList


def message(subject: str) -> bytes:
    return (f"From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@example.org>\r\n\r\nbody\r\n").encode()


@pytest.fixture
def server():
    require_dovecot()
    with DovecotServer() as running:
        yield running


def tree_text(app: MailApp) -> str:
    tree = app.query_one(MailboxTree)
    return " ".join(str(node.label) for node in tree.root.children[0].children)


async def test_deleted_open_mailbox_returns_to_inbox_with_a_message(server):
    account = account_for(server, "gone")
    other = raw_client(account, server.password)
    for subject in ("inbox-1", "inbox-2", "inbox-3"):
        other.append("INBOX", message(subject))
    other.create_folder("Projects")
    other.append("Projects", message("project-1"))
    app = MailApp(account, server.password)
    async with app.run_test(size=(120, 30)) as pilot:
        listing = app.query_one(MessageList)
        await wait_for(lambda: app.selected is not None and app.selected.raw_name == b"INBOX")
        projects = next(m for m in app.session.mailboxes if m.raw_name == b"Projects")
        app.open_mailbox(app.session, projects)
        await wait_for(lambda: app.selected is not None and app.selected.raw_name == b"Projects"
                       and listing.loaded_count == 1)
        await pilot.pause(0.3)  # the worker waits in IDLE on Projects
        other.delete_folder("Projects")
        await wait_for(lambda: app.selected is not None and app.selected.raw_name == b"INBOX", timeout=20)
        await wait_for(lambda: listing.loaded_count == 3)
        await pilot.pause()
        status = str(app.query_one("#status").render())
        assert "Projects cannot be opened any more" in status and "back to INBOX" in status
        assert "Projects" not in tree_text(app) and "INBOX" in tree_text(app)
        subjects = {listing.envelopes[uid].subject for uid in listing.uids if uid in listing.envelopes}
        assert subjects == {"inbox-1", "inbox-2", "inbox-3"}
    assert other.folder_exists("Projects") is False
    assert len(other.select_folder("INBOX", readonly=True) and other.search("ALL")) == 3  # nothing else touched
    other.logout()
