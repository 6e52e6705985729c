"""Snapshot tests: the screens a user sees, on a fresh demo server, clock and zone pinned.

Regenerate with `pytest tests/test_snapshots.py --snapshot-update`, then look at them.
"""

from __future__ import annotations

import pytest

from scenarios import fully_loaded, open_attachment_message
from tui.app import MailApp
from tui.demo import demo_account


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


def test_help_screen(snap_compare, fresh_demo):
    """The ? screen lists the keys."""

    async def show_help(pilot):
        await fully_loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(fresh_demo), terminal_size=(120, 40), run_before=show_help)
