"""Snapshot tests: the screens a user sees, on a fresh demo server, clock and zone pinned.

Regenerate with `pytest tests/test_snapshots.py --snapshot-update`, then look at them.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from scenarios import (
    fully_loaded,
    open_attachment_list,
    open_attachment_message,
    open_bounce,
    open_newsletter,
    open_quoted_reply,
    open_source,
    search_results,
    thread_view,
    wait_for,
)
from tui.app import MailApp
from tui.demo import demo_account
from tui.screens import MailboxInfoScreen
from tui.widgets.message_list import MessageList


@pytest.fixture(scope="module")
def fresh_demo():
    """Its own server: other tests add mailboxes and flags to the shared ones."""
    with demo_account() as (account, password):
        yield account, password


def make_app(fresh_demo) -> MailApp:
    account, password = fresh_demo
    # Read-only: a snapshot must not change the server the next snapshot looks at.
    return MailApp(account, password, read_only=True)


def test_main_screen(snap_compare, fresh_demo):
    """The three panes at 120x40 with the demo INBOX loaded."""
    assert snap_compare(make_app(fresh_demo), terminal_size=(120, 40), run_before=fully_loaded)


def test_main_screen_narrow(snap_compare, fresh_demo):
    """The same at 80x24: every pane still usable."""
    assert snap_compare(make_app(fresh_demo), terminal_size=(80, 24), run_before=fully_loaded)


def test_open_message_with_parts(snap_compare, fresh_demo):
    """A message with attachments open: headers, body and its MIME part tree."""
    assert snap_compare(make_app(fresh_demo), terminal_size=(120, 40), run_before=open_attachment_message)


def test_open_message_narrow(snap_compare, fresh_demo):
    """An open message at 80x24: list, headers, body and parts all still there."""
    assert snap_compare(make_app(fresh_demo), terminal_size=(80, 24), run_before=open_attachment_message)


@pytest.mark.parametrize("scenario", [open_newsletter, open_quoted_reply, open_bounce, open_attachment_list, open_source],
                         ids=["html-newsletter", "quoted-reply", "bounce", "attachment-list", "source"])
def test_viewer(snap_compare, fresh_demo, scenario):
    """The viewer on the mail the issue names: an HTML newsletter, a reply quoting three
    levels deep, a bounce, the attachment list, the raw source."""
    assert snap_compare(make_app(fresh_demo), terminal_size=(120, 40), run_before=scenario)


def test_help_screen(snap_compare, fresh_demo):
    """The ? screen lists the keys."""

    async def show_help(pilot):
        await fully_loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(fresh_demo), terminal_size=(120, 40), run_before=show_help)


@pytest.fixture(scope="module")
def scratch_demo():
    """A demo server these snapshots may change (delete marks), apart from fresh_demo."""
    with demo_account() as (account, password):
        yield account, password


def test_move_picker(snap_compare, scratch_demo):
    """`s` with two messages tagged: the fuzzy picker, filtered, offering a new mailbox too."""
    account, password = scratch_demo

    async def pick(pilot):
        await fully_loaded(pilot)
        await pilot.press("t", "t", "s")
        for char in "arch":
            await pilot.press(char)
        await pilot.pause()

    assert snap_compare(MailApp(account, password), terminal_size=(120, 40), run_before=pick)


def test_expunge_dialog(snap_compare, scratch_demo):
    """`$` after marking messages deleted: the dialog names the count; No has the focus."""
    account, password = scratch_demo

    async def expunge(pilot):
        await fully_loaded(pilot)
        listing = pilot.app.query_one(MessageList)
        await pilot.press("d", "j", "d")
        await wait_for(lambda: sum(e.deleted for e in listing.envelopes.values()) >= 2)
        await pilot.press("dollar_sign")
        await pilot.pause()

    assert snap_compare(MailApp(account, password), terminal_size=(120, 40), run_before=expunge)


def test_mailbox_info_screen(snap_compare, fresh_demo):
    """`i`: what SELECT said. pymap picks a new UIDVALIDITY per start, so that one value is pinned."""

    async def info(pilot):
        await fully_loaded(pilot)
        app = pilot.app
        selected = replace(app.selected, uidvalidity=1764000000)
        app.push_screen(MailboxInfoScreen("INBOX", selected, app.session.capabilities))
        await pilot.pause()

    assert snap_compare(make_app(fresh_demo), terminal_size=(120, 40), run_before=info)


def test_search_results(snap_compare, fresh_demo):
    """`/` and a query: the bar above the list, only the matches, the count and query in the status line."""

    assert snap_compare(make_app(fresh_demo), terminal_size=(120, 40), run_before=search_results)


def test_sort_menu(snap_compare, fresh_demo):
    """`o`: the sort menu over the list, the current order ticked."""

    async def open_menu(pilot):
        await fully_loaded(pilot)
        await pilot.press("o")
        await pilot.pause()

    assert snap_compare(make_app(fresh_demo), terminal_size=(120, 40), run_before=open_menu)


def test_thread_view(snap_compare, fresh_demo):
    """`V` on the demo INBOX: reply trees drawn before the subjects, the second thread collapsed."""

    assert snap_compare(make_app(fresh_demo), terminal_size=(120, 40), run_before=thread_view)
