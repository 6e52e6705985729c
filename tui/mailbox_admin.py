"""Mailbox management from the tree: create, rename, delete, subscribe, filter, jump.

A mixin for MailApp. Names the user types are encoded to modified UTF-7 here; the
tree refreshes from the LIST the worker sends after each change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .dialogs import ConfirmScreen, PromptScreen
from .imap.contract import (
    Checkpointed,
    CreateMailbox,
    DeleteMailbox,
    FetchStatus,
    ListMailboxes,
    MailboxManaged,
    RenameMailbox,
    Subscribe,
)
from .imap.commands import decode_mailbox_name
from .mailbox_names import BadMailboxName, encode_mailbox_name
from .models import Mailbox, MailboxStatus
from .safe_text import safe_line
from .timefmt import count_text
from .triage import PendingAction
from .widgets.mailbox_picker import MailboxPicker, PickerItem
from .widgets.mailbox_tree import MailboxTree, TreeEntry
from .widgets.message_list import MessageList

if TYPE_CHECKING:
    from .account_session import AccountSession


class MailboxAdminMixin:
    """Needs from the app: sessions, session, selected, open_mailbox, _show_status, query_one."""

    _delete_waiting: tuple[int, Mailbox] | None = None  # D pressed: its FetchStatus id, the mailbox

    def _tree_target(self) -> tuple[AccountSession, Mailbox | None] | None:
        """The account and mailbox under the tree's cursor (else the open one's account)."""
        entry = self.query_one(MailboxTree).current_entry
        session = self.sessions.get(entry.account) if isinstance(entry, TreeEntry) else self.session
        if session is None:
            return None
        return session, entry.mailbox if isinstance(entry, TreeEntry) else None

    def _may_manage(self, session: AccountSession) -> bool:
        if session.read_only:
            self._show_status("read-only: nothing was changed")
            return False
        return not self._refuse_when_disconnected(session)

    def action_create_mailbox(self) -> None:
        target = self._tree_target()
        if target is None or not self._may_manage(target[0]):
            return
        session, mailbox = target
        delimiter = mailbox.delimiter if mailbox else _delimiter(session)
        value = f"{mailbox.name}{delimiter}" if mailbox and delimiter and mailbox.name.upper() != "INBOX" else ""
        example = f"Projects{delimiter}2026" if delimiter else "Projects"
        hint = f"'{delimiter}' makes nested mailboxes, e.g. {example}." if delimiter else "This server has no hierarchy."
        prompt = PromptScreen(f"New mailbox on {safe_line(session.name)}", value=value, hint=hint)
        self.push_screen(prompt, lambda name: self._manage(session, name, CreateMailbox, "Creating"))

    def action_rename_mailbox(self) -> None:
        target = self._tree_target()
        if target is None or target[1] is None or not self._may_manage(target[0]):
            return
        session, mailbox = target
        if mailbox.name.upper() == "INBOX":
            self._show_status("INBOX cannot be renamed (the server would move all its mail instead).")
            return
        prompt = PromptScreen(f"Rename {safe_line(mailbox.name)} to", value=mailbox.name)

        def renamed(name: str | None) -> None:
            if name and name != mailbox.name:
                self._manage(session, name, lambda raw: RenameMailbox(mailbox.raw_name, raw), "Renaming")

        self.push_screen(prompt, renamed)

    def _manage(self, session: AccountSession, name: str | None, make, doing: str) -> None:
        if not name:
            return
        try:
            raw = encode_mailbox_name(name)
        except BadMailboxName as error:
            self._show_status(str(error))
            return
        self._send(make(raw), PendingAction("admin"), f"{doing} {safe_line(name)}…", session)

    def action_delete_mailbox(self) -> None:
        target = self._tree_target()
        if target is None or target[1] is None or not self._may_manage(target[0]):
            return
        session, mailbox = target
        if mailbox.name.upper() == "INBOX":
            self._show_status("INBOX cannot be deleted.")
            return
        if not mailbox.selectable:  # \Noselect: it holds no messages of its own
            self._confirm_delete(session, mailbox, None)
            return
        # The question is about the count: ask the server now, not what STATUS said earlier.
        request = session.submit(FetchStatus(mailbox.raw_name))
        if request is not None:
            self._delete_waiting = (request.id, mailbox)
            self._show_status(f"Counting the messages in {safe_line(mailbox.name)}…")

    def status_arrived(self, session: AccountSession, request_id: int, status: MailboxStatus) -> None:
        """The count D asked for (its own request, so no other STATUS can open the dialog)."""
        waiting = self._delete_waiting
        if waiting is not None and waiting[0] == request_id:
            self._delete_waiting = None
            self._confirm_delete(session, waiting[1], status.messages)

    def _confirm_delete(self, session: AccountSession, mailbox: Mailbox, messages: int | None) -> None:
        holds = "It holds no messages of its own" if messages is None else f"It holds {count_text(messages)}"
        children = [m for m in session.mailboxes if m.name.startswith(mailbox.name + (mailbox.delimiter or "\0"))]
        body = f"{holds}; they will be gone from the server for good." if messages else f"{holds}."
        if children:
            body += ("\nIt has 1 sub-mailbox, which is not deleted." if len(children) == 1
                     else f"\nIt has {len(children)} sub-mailboxes, which are not deleted.")
        dialog = ConfirmScreen(f"Delete the mailbox {safe_line(mailbox.name)}?", body, yes="Delete", danger=True)

        def answered(yes: bool) -> None:
            if not yes:
                self._show_status("Nothing was deleted.")
            else:
                self._send(DeleteMailbox(mailbox.raw_name), PendingAction("admin"), f"Deleting {safe_line(mailbox.name)}…",
                           session)

        self.push_screen(dialog, answered)

    def action_toggle_subscription(self) -> None:
        target = self._tree_target()
        if target is None or target[1] is None or not self._may_manage(target[0]):
            return
        session, mailbox = target
        verb = "Unsubscribing from" if mailbox.subscribed else "Subscribing to"
        self._send(Subscribe(mailbox.raw_name, not mailbox.subscribed), PendingAction("admin"),
                   f"{verb} {safe_line(mailbox.name)}…", session)

    def action_toggle_subscribed_only(self) -> None:
        tree = self.query_one(MailboxTree)
        tree.subscribed_only = not tree.subscribed_only
        for session in self.sessions.values():
            if session.mailboxes:
                tree.show_mailboxes(session.name, session.mailboxes)
        self._show_status("Showing subscribed mailboxes only (L shows all)." if tree.subscribed_only
                          else "Showing all mailboxes (L: subscribed only).")

    def action_filter_mailboxes(self) -> None:
        target = self._tree_target()
        if target is None or self._refuse_when_disconnected(target[0]):
            return
        session = target[0]
        current = session.list_pattern.decode("ascii", "replace")
        prompt = PromptScreen(
            f"Show the mailboxes of {safe_line(session.name)} matching",
            value="" if current == "*" else current,
            hint="A LIST pattern: * matches anything, % anything but the hierarchy delimiter. Empty shows all.",
        )

        def given(pattern: str | None) -> None:
            try:
                raw = encode_mailbox_name(pattern) if pattern else b"*"
            except BadMailboxName as error:
                self._show_status(str(error))
                return
            session.list_pattern = raw
            if session.submit(ListMailboxes(pattern=raw)) is not None:
                self._show_status("Showing all mailboxes." if raw == b"*" else f"Showing mailboxes matching {pattern}.")

        self.push_screen(prompt, given)

    def action_jump_to_mailbox(self) -> None:
        several = len(self.sessions) > 1
        items = [
            PickerItem(f"{session.name}: {m.name}" if several else m.name, (session.name, m), _detail(self, session, m))
            for session in self.sessions.values()
            for m in session.mailboxes
            if m.selectable
        ]
        if not items:
            return
        self.push_screen(MailboxPicker("Go to mailbox", items), self._jump_picked)

    def _jump_picked(self, choice: object) -> None:
        if not isinstance(choice, tuple):
            return
        account, mailbox = choice
        self.query_one(MailboxTree).select_mailbox_node(account, mailbox.raw_name)
        self.open_mailbox(self.sessions[account], mailbox)
        self.query_one(MessageList).focus()

    def _mailbox_managed(self, session: AccountSession, result: MailboxManaged) -> None:
        self._pending.pop(result.request_id, None)
        name = safe_line(session.mailbox_name(result.raw_name))
        if result.new_name is not None:
            new = safe_line(_decode(result.new_name))
            self._show_status(f"Renamed {name} to {new}.")
        else:
            self._show_status(f"{result.action.capitalize()} {_decode(result.raw_name)}.")
        if session.list_pattern != b"*":  # the worker lists everything after a change: keep the filter
            session.submit(ListMailboxes(pattern=session.list_pattern))
        selected = self.selected
        if session is not self.session or selected is None or result.action not in ("deleted", "renamed"):
            return
        delimiter = (_delimiter(session) or "").encode()
        old = result.raw_name
        inside = bool(delimiter) and selected.raw_name.startswith(old + delimiter)
        if selected.raw_name != old and not inside:
            return
        # The worker left the open mailbox (it, or a parent, changed): nothing of its list may
        # stay on screen. Open it under its new name, or again if only a parent went, else INBOX.
        if result.new_name is not None:
            raw = result.new_name + selected.raw_name[len(old):]
        else:
            raw = selected.raw_name if inside else b"INBOX"
        self.selected = None
        self.close_viewer()
        self.query_one(MessageList).show_mailbox(())
        self.query_one(MailboxTree).select_mailbox_node(session.name, raw)
        self.open_mailbox(session, Mailbox(raw, _decode(raw), _delimiter(session)))

    def _checkpointed(self, session: AccountSession, result: Checkpointed) -> None:
        self._pending.pop(result.request_id, None)
        self._show_status("CHECK done: the server has saved the mailbox's state.")


def _delimiter(session: AccountSession) -> str | None:
    return next((m.delimiter for m in session.mailboxes if m.delimiter), None)


def _decode(raw: bytes) -> str:
    return safe_line(decode_mailbox_name(raw))


def _detail(app, session: AccountSession, mailbox: Mailbox) -> str:
    status = app.query_one(MailboxTree).status_of(session.name, mailbox.raw_name)
    role = mailbox.role_note
    unread = f"{status.unseen} unread" if status and status.unseen else ""
    return "  ".join(part for part in (role, unread) if part)
