"""The first account connects, lists and opens INBOX while the UI is still starting."""

from __future__ import annotations

import time

from harness import raw_client
from scenarios import wait_for
from tui.account_session import AccountSession, KeptResults
from tui.app import MailApp
from tui.imap.contract import Connected, MailboxSelected
from tui.imap.trace import ProtocolTrace
from tui.imap.worker import ImapWorker
from tui.widgets.message_list import MessageList


def test_kept_results_are_handed_over_in_order_then_passed_straight_on():
    kept = KeptResults()
    kept(Connected(0, frozenset()))
    kept(MailboxSelected(5, None))
    got = []
    kept.hand_over(got.append)
    kept(MailboxSelected(6, None))
    assert [type(r).__name__ for r in got] == ["Connected", "MailboxSelected", "MailboxSelected"]
    assert [r.request_id for r in got] == [0, 5, 6]


async def test_the_app_adopts_the_early_list_and_select(dovecot_demo):
    trace = ProtocolTrace(maxlen=5000)
    session = AccountSession(dovecot_demo.account, dovecot_demo.password, False, options={"trace": trace})
    session.start_early(ImapWorker)
    time.sleep(0.5)  # as if Textual took this long to import: the worker goes ahead meanwhile
    commands = [t.command for t in trace.snapshot()[1]]
    assert "LIST" in commands and "SELECT" in commands  # before the app exists
    app = MailApp(dovecot_demo.account, None, started=session)
    async with app.run_test(size=(120, 40)):
        listing = app.query_one(MessageList)
        await wait_for(lambda: app.selected is not None and listing.loaded_count > 20)
        assert app.selected.raw_name == b"INBOX" and app.session is session
        check = raw_client(dovecot_demo.account, dovecot_demo.password)
        check.select_folder(b"INBOX", readonly=True)
        assert list(app.selected.uids) == sorted(check.search(["ALL"]))
        check.logout()
        commands = [t.command for t in trace.snapshot()[1]]
        assert commands.count("SELECT") == 1 and commands.count("LIST") == 1  # adopted, not asked again
        assert not app.screen.query("PasswordScreen")
