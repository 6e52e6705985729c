"""The command palette's entries: every action by name, with its key in the help text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from .widgets.message_list import MessageList
from .widgets.mailbox_tree import MailboxTree

if TYPE_CHECKING:
    from .app import MailApp


def palette_commands(app: MailApp) -> Iterator[SystemCommand]:
    listing = app.query_one(MessageList)
    tree = app.query_one(MailboxTree)
    yield SystemCommand("Help: keys", "Show every key binding (?)", app.action_help)
    yield SystemCommand("Protocol log", "The last IMAP commands, their latency, the capabilities (P)",
                        app.action_protocol_log)
    yield SystemCommand("Mailbox info", "FLAGS, UIDVALIDITY, UIDNEXT... of the open mailbox (i)",
                        app.action_mailbox_info)
    yield SystemCommand("Search...", "Search the open mailbox: from:, subject:, is:unread... (/)", app.action_search)
    yield SystemCommand("Quick filter: unread", "Show only unread messages (is:unread)",
                        lambda: app.quick_filter("is:unread"))
    yield SystemCommand("Quick filter: flagged", "Show only flagged messages (is:flagged)",
                        lambda: app.quick_filter("is:flagged"))
    yield SystemCommand("Quick filter: has attachment", "Show only messages with attachments (has:attachment)",
                        lambda: app.quick_filter("has:attachment"))
    yield SystemCommand("Quick filter: from this sender", "Show the messages from this message's sender",
                        app.filter_by_sender)
    yield SystemCommand("Quick filter: this thread's subject", "Show the messages with this subject, Re: or not",
                        app.filter_by_thread_subject)
    yield SystemCommand("Show all messages", "Leave the search (Esc)", app.clear_search)
    yield SystemCommand("Sort...", "Order the list by date, arrival, sender, subject or size; threads (o)",
                        app.action_sort_menu)
    yield SystemCommand("Thread view", "Show the list as threads, or not (V)", app.action_toggle_threads)
    yield SystemCommand("Collapse or expand this thread", "In the thread view (z)", listing.action_toggle_thread)
    yield SystemCommand("Collapse or expand all threads", "In the thread view (Z)", listing.action_toggle_all_threads)
    yield SystemCommand("Open message", "Open the message under the cursor (Enter)", app.action_open_message)
    yield SystemCommand("Close message", "Close the message viewer (Esc)", app.action_close_viewer)
    yield SystemCommand("Toggle read", "Mark read/unread: tagged messages, else this one (N)",
                        lambda: app.action_toggle_flag("seen"))
    yield SystemCommand("Toggle flagged", "Flag/unflag: tagged messages, else this one (F)",
                        lambda: app.action_toggle_flag("flagged"))
    yield SystemCommand("Toggle answered", "Mark answered or not (A)", lambda: app.action_toggle_flag("answered"))
    yield SystemCommand("Delete", "Mark deleted: tagged messages, else this one (d)",
                        lambda: app.action_set_deleted(True))
    yield SystemCommand("Undelete", "Clear the deleted mark (u)", lambda: app.action_set_deleted(False))
    yield SystemCommand("Add keyword...", "Set a custom keyword (from PERMANENTFLAGS) on the messages",
                        app.action_add_keyword)
    yield SystemCommand("Remove keyword...", "Clear a custom keyword from the messages", app.action_remove_keyword)
    yield SystemCommand("Copy to mailbox...", "Copy tagged messages, else this one (C)", app.action_copy_to)
    yield SystemCommand("Move to mailbox...", "Move tagged messages, else this one (s)", app.action_move_to)
    yield SystemCommand("Expunge", "Remove the messages marked deleted, after a confirmation ($)", app.action_expunge)
    yield SystemCommand("Undo", "Undo the last flag change, copy or move (U)", app.action_undo)
    yield SystemCommand("Check for new mail", "Ask the server what changed (r)", app.action_check_mail)
    yield SystemCommand("CHECK", "Ask the server to save the open mailbox's state (IMAP CHECK)",
                        app.action_checkpoint)
    yield SystemCommand("Go to mailbox...", "Open a mailbox by fuzzy name (c)", app.action_jump_to_mailbox)
    yield SystemCommand("New mailbox...", "Create a mailbox; the delimiter nests it (a in the tree)",
                        app.action_create_mailbox)
    yield SystemCommand("Rename mailbox...", "Rename the mailbox under the tree cursor (R)", app.action_rename_mailbox)
    yield SystemCommand("Delete mailbox...", "Delete the mailbox under the tree cursor (D)", app.action_delete_mailbox)
    yield SystemCommand("Subscribe / unsubscribe", "Toggle the subscription of the tree's mailbox (Space)",
                        app.action_toggle_subscription)
    yield SystemCommand("Subscribed mailboxes only", "Toggle showing only subscribed mailboxes (L)",
                        app.action_toggle_subscribed_only)
    yield SystemCommand("Filter mailboxes...", "Show mailboxes matching a LIST pattern with * and % (l)",
                        app.action_filter_mailboxes)
    yield SystemCommand("Tag all / untag all", "Tag every message shown, or untag all (T)", listing.action_tag_all)
    yield SystemCommand("Next message", "Move down the list (j)", listing.action_cursor_down)
    yield SystemCommand("Previous message", "Move up the list (k)", listing.action_cursor_up)
    yield SystemCommand("First message", "Jump to the newest message (g)", listing.action_first)
    yield SystemCommand("Last message", "Jump to the oldest message (G)", listing.action_last)
    yield SystemCommand("Focus mailboxes", "Move to the mailbox tree", lambda: tree.focus())
    yield SystemCommand("Focus messages", "Move to the message list", lambda: listing.focus())
    yield SystemCommand("Next pane", "Move to the next pane (Tab)", app.action_focus_next)
    yield SystemCommand("Previous pane", "Move to the previous pane (Shift+Tab)", app.action_focus_previous)
