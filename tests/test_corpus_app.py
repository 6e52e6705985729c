"""The real-world broken MIME corpus (tests/corpus, see its README for provenance), served by
Dovecot: every message is listed, opens in the viewer and shows its part tree, one
after another in one session, and the app is still running at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import account_for, raw_client
from scenarios import wait_for
from servers import DovecotServer, require_dovecot
from tui.app import MailApp
from tui.widgets.message_list import MessageList
from tui.widgets.message_view import MessageView, PartTree

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".msg", ".eml"))


@pytest.fixture(scope="module")
def corpus_server():
    require_dovecot()
    with DovecotServer() as server:
        account = account_for(server, "corpus")
        client = raw_client(account, server.password)
        client.create_folder("Corpus")
        refused = []
        for path in FILES:
            try:
                client.append("Corpus", path.read_bytes())
            except Exception as error:  # e.g. a NUL byte Dovecot will not store
                refused.append((path.name, str(error)))
        stored = client.select_folder("Corpus", readonly=True)[b"EXISTS"]
        client.logout()
        yield account, server.password, stored, refused


async def test_every_corpus_message_lists_opens_and_shows_its_parts(corpus_server):
    account, password, stored, refused = corpus_server
    assert len(refused) <= len(FILES) // 10, refused  # nearly all of them reach the server
    app = MailApp(account, password, read_only=True)
    async with app.run_test(size=(140, 40)) as pilot:
        listing = app.query_one(MessageList)
        await wait_for(lambda: app.session.mailboxes and app.selected is not None)
        corpus = next(m for m in app.session.mailboxes if m.raw_name == b"Corpus")
        app.open_mailbox(app.session, corpus)
        await wait_for(lambda: app.selected is not None and app.selected.raw_name == b"Corpus"
                       and listing.loaded_count == stored, timeout=60)
        assert len(listing.uids) == stored
        viewer = app.query_one(MessageView)
        opened = 0
        for row in range(stored):
            listing.cursor = row
            uid = listing.current_uid
            await pilot.press("enter")
            await wait_for(lambda: viewer.parsed is not None and viewer.ref is not None and viewer.ref.uid == uid)
            parts = app.query_one(PartTree)
            assert parts.root.children, f"no part tree for UID {uid}"
            assert isinstance(viewer.parsed.body, str)
            opened += 1
            await pilot.press("escape")
        assert opened == stored
        assert app.is_running
