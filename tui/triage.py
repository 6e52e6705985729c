"""The message list's triage actions: flags, keywords, copy and move, expunge, undo, check.

A mixin for MailApp: it keeps the app module about panes and results, and this one
about what a key does to the mail. Every action applies to the tagged messages, else
the one under the cursor, as one command over a UID set; the list changes when the
server confirms, never before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .dialogs import ConfirmScreen, PromptScreen
from .imap.contract import (
    CheckMailbox,
    Checkpoint,
    CopiesRemoved,
    CopyMessages,
    CopyRefused,
    Expunge,
    FetchStatus,
    FlagsChanged,
    ListMailboxes,
    MailboxChanged,
    MessagesCopied,
    MessagesExpunged,
    Request,
    StoreFlags,
    UNCONFIRMED,
)
from .imap.commands import SYSTEM_FLAGS, keyword_problem
from .mailbox_names import BadMailboxName, encode_mailbox_name
from .safe_text import safe_line
from .timefmt import count_text
from .undo import CannotUndo, CopyUndo, FlagsUndo, UndoEntry, UndoStack
from .widgets.mailbox_picker import MailboxPicker, NewMailboxName, PickerItem
from .widgets.message_list import MessageList

if TYPE_CHECKING:
    from .account_session import AccountSession

FLAG_KEYS = {"seen": "\\Seen", "flagged": "\\Flagged", "answered": "\\Answered"}


@dataclass
class PendingAction:
    """A request whose answer decides what goes on the undo stack and the status line."""

    kind: str  # "flags", "stored", "copy", "undo", "expunge", "check", "checkpoint", "admin"
    entry: UndoEntry | None = None
    count: int = 0
    done: str = ""  # the notice once the server has confirmed it


class TriageMixin:
    """Needs from the app: session, selected, submit, _show_status, _refuse_when_disconnected, query_one."""

    undo_stack: UndoStack
    _pending: dict[int, PendingAction]
    _expunge_asked: set[tuple]

    def _init_triage(self) -> None:
        self.undo_stack = UndoStack()
        self._pending = {}
        self._expunge_asked = set()  # the deleted sets the user already said "keep" to
        self._own_marks: dict[int, set[int]] = {}  # request id -> UIDs its follow-up flags are ours
        self._after_expunge: dict[int, object] = {}  # request id -> what to do once it is answered

    # -- guards ------------------------------------------------------------

    def _writable_selection(self, uids_needed: bool = True) -> bool:
        """True when a mutating action may go ahead; otherwise the status line says why."""
        selected = self.selected
        if selected is None:
            return False
        if selected.read_only:
            self._show_status("read-only: nothing was changed")
            return False
        listing = self.query_one(MessageList)
        if uids_needed and not listing.targets:
            if listing.tagged:  # tagged, then hidden by a search: never act on what is not shown
                self._show_status(f"The {count_text(len(listing.tagged))} tagged are hidden by the search; "
                                  "Esc shows them, T untags.")
            return False
        return not self._refuse_when_disconnected(self.session)

    def _send(self, request: Request, pending: PendingAction, status: str,
              session: AccountSession | None = None) -> int | None:
        sent = (session or self.session).submit(request)
        if sent is None:
            return None
        self._pending[sent.id] = pending
        self._show_status(status)
        return sent.id

    # -- flags and keywords -----------------------------------------------

    def action_toggle_flag(self, name: str) -> None:
        """N, F, A: if every target has the flag, remove it; else add it (like mutt)."""
        flag = FLAG_KEYS[name]
        listing = self.query_one(MessageList)
        targets = listing.targets
        have_all = all(flag in listing.rows[uid].flags for uid in targets if uid in listing.rows)
        self._store(targets, flag, add=not have_all)

    def action_set_deleted(self, deleted: bool) -> None:
        self._store(self.query_one(MessageList).targets, "\\Deleted", add=deleted)

    def _store(self, uids: list[int], flag: str, add: bool) -> None:
        if not self._writable_selection() or not uids:
            return
        selected = self.selected
        rows = self.query_one(MessageList).rows
        # Undo touches only what this action changed: a message already flagged stays flagged.
        # A row not loaded yet has unknown flags: undo leaves it alone rather than guess.
        changing = tuple(uid for uid in uids if uid in rows and (flag in rows[uid].flags) != add)
        entry = FlagsUndo(self.session.name, selected.raw_name, selected.uidvalidity, changing, flag, add)
        verb, done = ("Setting", "set on") if add else ("Clearing", "cleared from")
        self._send(
            StoreFlags(selected.raw_name, selected.uidvalidity, tuple(uids), (flag,), add),
            PendingAction("flags", entry if changing else None, len(uids),
                          done=f"{safe_line(flag)} {done} {count_text(len(uids))}."),
            f"{verb} {safe_line(flag)} on {count_text(len(uids))}…",
        )

    def action_add_keyword(self) -> None:
        self._ask_keyword(add=True)

    def action_remove_keyword(self) -> None:
        self._ask_keyword(add=False)

    def _ask_keyword(self, add: bool) -> None:
        if not self._writable_selection():
            return
        selected = self.selected
        listing = self.query_one(MessageList)
        uids = listing.targets
        allowed = sorted(f for f in selected.permanent_flags if not f.startswith("\\"))
        any_keyword = "\\*" in selected.permanent_flags
        if add and not allowed and not any_keyword:
            self._show_status("This mailbox allows no custom keywords (its PERMANENTFLAGS name none).")
            return
        present = sorted(
            {f for uid in uids if uid in listing.rows for f in listing.rows[uid].flags} - SYSTEM_FLAGS
        )
        if not add and not present:
            self._show_status(f"No keywords on the {count_text(len(uids))} chosen.")
            return
        if add:
            known = sorted(set(allowed) | {f for f in selected.flags if not f.startswith("\\")})
            hint = ("Known: " + " ".join(known) if known else "No keywords yet.") + (
                "  New keywords are allowed." if any_keyword else "  Only these are allowed."
            )
        else:
            hint = "On these messages: " + " ".join(present)
        title = f"{'Add keyword to' if add else 'Remove keyword from'} {count_text(len(uids))}"
        prompt = PromptScreen(safe_line(title), hint=safe_line(hint, 500), placeholder="e.g. $Work")
        self.push_screen(prompt, lambda answer: self._keyword_given(uids, answer, add))

    def _keyword_given(self, uids: list[int], keyword: str | None, add: bool) -> None:
        if not keyword:
            return
        problem = keyword_problem(keyword)
        if problem:
            self._show_status(f"{problem}: nothing was changed.")
            return
        self._store(uids, keyword, add)

    def _flags_confirmed(self, session: AccountSession, result: FlagsChanged) -> None:
        pending = self._pending.pop(result.request_id, None)
        if pending is None:
            return
        if pending.kind == "flags":
            self._show_status(pending.done)
        if pending.kind == "flags" and pending.entry is not None:
            self.undo_stack.push(pending.entry)
            # Kept until the RequestFailed that may follow a refusal takes it back.
            self._pending[result.request_id] = PendingAction("stored", pending.entry)
        elif pending.kind == "undo":
            # A refusal still sends the flags re-read first: keep the entry until it cannot be one.
            self._pending[result.request_id] = PendingAction("undone", pending.entry, pending.count)
            what = safe_line(pending.entry.describe())
            gone = pending.count - len(result.flags)
            if gone >= pending.count:
                self._show_status(f"Cannot undo the {what}: those messages are no longer in the mailbox.")
            elif gone > 0:
                self._show_status(f"Undone: {what}, except {count_text(gone)} no longer in the mailbox.")
            else:
                self._show_status(f"Undone: {what}.")

    # -- copy and move ----------------------------------------------------

    def action_copy_to(self) -> None:
        self._pick_target(move=False)

    def action_move_to(self) -> None:
        self._pick_target(move=True)

    def _pick_target(self, move: bool) -> None:
        if not self._writable_selection():
            return
        uids = tuple(self.query_one(MessageList).targets)
        items = [
            PickerItem(m.name, m, m.role_note)
            for m in self.session.mailboxes
            if m.selectable and m.raw_name != self.selected.raw_name
        ]
        verb = "Move" if move else "Copy"
        picker = MailboxPicker(
            f"{verb} {count_text(len(uids))} to", items, allow_new=True,
            hint="Type to filter; a name that does not exist yet becomes a new mailbox.",
        )
        self.push_screen(picker, lambda choice: self._target_picked(uids, move, choice))

    def _target_picked(self, uids: tuple[int, ...], move: bool, choice: object) -> None:
        selected = self.selected
        if choice is None or selected is None:
            return
        create = isinstance(choice, NewMailboxName)
        if create:
            try:
                target = encode_mailbox_name(choice.name)
            except BadMailboxName as error:
                self._show_status(str(error))
                return
            name = choice.name
        else:
            target, name = choice.raw_name, choice.name
        self._copy(CopyMessages(selected.raw_name, selected.uidvalidity, uids, target, move, create=create), name)

    def _copy(self, request: CopyMessages, target_name: str) -> None:
        verb = "Moving" if request.move else "Copying"
        self._send(request, PendingAction("copy", count=len(request.uids)),
                   f"{verb} {count_text(len(request.uids))} to {safe_line(target_name)}…")

    def _copied(self, session: AccountSession, result: MessagesCopied) -> None:
        pending = self._pending.pop(result.request_id, None)
        target = session.mailbox_name(result.target)
        n = count_text(len(result.uids))
        if pending is not None and pending.kind == "undo":
            self._show_status(f"Undone: {safe_line(pending.entry.describe())}")
        elif result.marked_deleted:
            # These \Deleted marks are the user's own move, not another client's.
            self._own_marks[result.request_id] = set(result.uids)
            if result.copy_uid is None:
                why, reason = "the server gave no COPYUID (no UIDPLUS), so the copies are unknown", "no UIDPLUS"
            else:
                why, reason = "the move stopped half-way (copied and marked, not expunged)", "the expunge failed"
            self.undo_stack.push(CannotUndo(session.name, why))
            self._show_status(
                f"Copied {n} to {target} and marked them deleted, but they are not expunged ({reason}): "
                "press $ to expunge, or u to keep them."
            )
        else:
            if result.copy_uid is not None:
                self.undo_stack.push(CopyUndo(session.name, result.raw_name, result.target, result.copy_uid, result.moved))
            else:
                self.undo_stack.push(CannotUndo(session.name, "the server gave no COPYUID (no UIDPLUS), so the copies are unknown"))
            self._show_status(f"{'Moved' if result.moved else 'Copied'} {n} to {target}.")
        if result.moved:
            self.query_one(MessageList).tagged -= set(result.uids)
        if not any(m.raw_name == result.target for m in session.mailboxes):
            session.submit(ListMailboxes(pattern=session.list_pattern))  # the copy created it
        # Both ends' counts changed (an undo moves back from a mailbox that is not open).
        for raw_name in (result.raw_name, result.target):
            session.submit(FetchStatus(raw_name))

    def _copies_removed(self, session: AccountSession, result: CopiesRemoved) -> None:
        pending = self._pending.pop(result.request_id, None)
        what = pending.entry.describe() if pending is not None and pending.entry is not None else "copy"
        self._show_status(f"Undone: {safe_line(what)}; the copies are gone, the originals stay.")
        session.submit(FetchStatus(result.raw_name))

    def _copy_refused(self, session: AccountSession, result: CopyRefused) -> None:
        pending = self._pending.pop(result.request_id, None)
        request = result.request
        name = session.mailbox_name(request.target)
        if result.trycreate and not request.create and (pending is None or pending.kind != "undo"):
            verb = "move" if request.move else "copy"
            dialog = ConfirmScreen(
                f"{name} does not exist",
                f"The server has no mailbox called {name}.\nCreate it and {verb} {count_text(len(request.uids))} there?",
                yes="Create",
            )

            def answered(yes: bool) -> None:
                if yes:
                    retry = CopyMessages(request.raw_name, request.uidvalidity, request.uids, request.target,
                                         request.move, create=True)
                    self._copy(retry, name)
                else:
                    self._show_status(f"Nothing was {'moved' if request.move else 'copied'}.")

            self.push_screen(dialog, answered)
            return
        undoing = pending is not None and pending.kind == "undo"
        if undoing and pending.entry is not None:
            self.undo_stack.push(pending.entry)
        self._show_status(f"{'Undo failed' if undoing else 'Nothing was changed'}: {result.message}")

    # -- expunge ----------------------------------------------------------

    def action_expunge(self) -> None:
        if not self._writable_selection(uids_needed=False):
            return
        deleted = self.query_one(MessageList).deleted_uids
        if not deleted:
            self._show_status("No message is marked deleted (d marks one).")
            return
        self.push_screen(self._expunge_dialog(deleted), lambda yes: self._expunge_answered(deleted, yes))

    def _expunge_dialog(self, deleted: list[int], leaving: bool = False) -> ConfirmScreen:
        name = self.session.mailbox_name(self.selected.raw_name)
        body = f"Remove {count_text(len(deleted))} marked deleted from {name} for good?\nThis cannot be undone."
        message_list = self.query_one(MessageList)
        elsewhere = len(message_list.deleted_elsewhere)
        hidden = len(set(deleted) - set(message_list.uids))
        if hidden:
            if hidden == len(deleted):
                hides = "it" if hidden == 1 else "all of them"
                body += f"\nThe search hides {hides}: Esc shows all messages."
            else:
                body += f"\n{hidden:,} of them {'is' if hidden == 1 else 'are'} hidden by the search."
        if "UIDPLUS" not in self.session.capabilities:
            body += (
                "\nThis server lacks UIDPLUS, so only a plain EXPUNGE exists: it removes EVERY message "
                "marked deleted in this mailbox, including any that other clients marked"
                + (f" ({count_text(elsewhere)} of them shown)." if elsewhere else ".")
            )
        elif elsewhere:
            body += (
                f"\n{count_text(elsewhere)} marked deleted by another client since you opened the "
                f"mailbox {'stays' if elsewhere == 1 else 'stay'} as {'it is' if elsewhere == 1 else 'they are'} "
                "(press d on one to include it)."
            )
        title = f"Leaving {name}: expunge first?" if leaving else "Expunge"
        return ConfirmScreen(title, body, yes="Expunge", no="Keep" if leaving else "Cancel", danger=True)

    def _expunge_answered(self, deleted: list[int], yes: bool) -> int | None:
        """Send the expunge if the user said yes; the request id, or None when nothing was sent."""
        selected = self.selected
        if not yes or selected is None:
            if not yes:
                self._show_status("Nothing was expunged.")
            return None
        bare = "UIDPLUS" not in self.session.capabilities
        return self._send(
            Expunge(selected.raw_name, selected.uidvalidity, tuple(deleted), allow_bare=bare),
            PendingAction("expunge", count=len(deleted)),
            f"Expunging {count_text(len(deleted))}…",
        )

    def _expunged(self, session: AccountSession, result: MessagesExpunged) -> None:
        self._pending.pop(result.request_id, None)
        self.undo_stack.push(CannotUndo(session.name, "expunged messages are gone from the server for good"))
        self._show_status(f"Expunged {count_text(len(result.uids))}.")
        then = self._after_expunge.pop(result.request_id, None)
        if then is not None:
            then()

    def ask_before_leaving(self, then) -> bool:
        """Like mutt: messages left marked deleted get one question. True: asked, `then` runs after."""
        selected = self.selected
        if selected is None or selected.read_only or not self.session.connected:
            return False
        deleted = self.query_one(MessageList).deleted_uids
        key = (self.session.name, selected.raw_name, selected.uidvalidity, frozenset(deleted))
        if not deleted or key in self._expunge_asked:
            return False
        self._expunge_asked.add(key)

        def answered(yes: bool) -> None:
            sent = self._expunge_answered(deleted, True) if yes else None
            if sent is None:
                then()
            else:  # quitting now could cut the expunge off: leave when it is answered
                self._after_expunge[sent] = then

        self.push_screen(self._expunge_dialog(deleted, leaving=True), answered)
        return True

    # -- undo, check ------------------------------------------------------

    def action_undo(self) -> None:
        if self.session.read_only or (self.selected is not None and self.selected.read_only):
            self._show_status("read-only: nothing was changed")
            return
        entry = self.undo_stack.pop()
        if entry is None:
            self._show_status("Nothing to undo.")
            return
        if isinstance(entry, CannotUndo):
            self._show_status(f"Cannot undo the last action: {entry.why}.")
            return
        session = self.sessions.get(entry.account)
        if session is None or self._refuse_when_disconnected(session):
            self.undo_stack.push(entry)
            return
        if self.selected is None or session is not self.session:
            self.undo_stack.push(entry)
            self._show_status(f"Open a mailbox of {safe_line(session.name)} to undo there.")
            return
        if isinstance(entry, FlagsUndo) and (entry.raw_name, entry.uidvalidity) != (
            self.selected.raw_name, self.selected.uidvalidity
        ):
            self.undo_stack.push(entry)
            self._show_status(f"Open {safe_line(session.mailbox_name(entry.raw_name))} to undo that flag change.")
            return
        count = len(entry.uids) if isinstance(entry, FlagsUndo) else len(entry.copy_uid.target_uids)
        self._send(entry.request(), PendingAction("undo", entry, count), f"Undoing the {safe_line(entry.describe())}…")

    def action_check_mail(self) -> None:
        selected = self.selected
        if selected is None or self._refuse_when_disconnected(self.session):
            return
        self._send(CheckMailbox(selected.raw_name, selected.uidvalidity), PendingAction("check"), "Checking for new mail…")

    def action_checkpoint(self) -> None:
        if self.selected is None or self._refuse_when_disconnected(self.session):
            return
        self._send(Checkpoint(), PendingAction("checkpoint"), "CHECK…")

    def _mailbox_changed(self, session: AccountSession, result: MailboxChanged) -> None:
        pending = self._pending.get(result.request_id)
        if pending is not None and pending.kind == "check":
            del self._pending[result.request_id]
        else:
            pending = None  # a store, copy or expunge reports this as its follow-up
        selected = self.selected
        if session is not self.session or selected is None:
            return
        if (result.raw_name, result.uidvalidity) != (selected.raw_name, selected.uidvalidity):
            return
        self.selected = replace(selected, uids=result.uids, exists=len(result.uids))
        ours = self._own_marks.pop(result.request_id, set())
        self.query_one(MessageList).apply_changes(result.uids, result.flags, ours=ours)
        self.search_new_mail(result.new)
        if pending is not None and pending.kind == "check":
            news = []
            if result.new:
                news.append(f"{count_text(len(result.new))} new")
            if result.vanished:
                news.append(f"{count_text(len(result.vanished))} removed elsewhere")
            if result.flags:
                news.append(f"flags changed on {count_text(len(result.flags))}")
            self._show_status("; ".join(news).capitalize() + "." if news else "No new mail.")
        else:
            self._show_status()
        session.submit(FetchStatus(result.raw_name))

    def _triage_failed(self, request_id: int, text: str) -> bool:
        """If that request was one of ours, say why it failed as a notice and take back its undo entry."""
        pending = self._pending.pop(request_id, None)
        then = self._after_expunge.pop(request_id, None)
        if then is not None:  # the expunge failed: still leave, as asked, and say so
            self.notify(f"Expunge failed: {safe_line(text)}", severity="error", markup=False)
            then()
        if pending is None:
            return False
        if pending.kind == "stored" and pending.entry is not None:
            self.undo_stack.discard(pending.entry)
        if pending.kind in ("undo", "undone") and pending.entry is not None:
            self.undo_stack.push(pending.entry)  # nothing was undone: U may try again
        prefix = {"undo": "Undo failed", "undone": "Undo failed", "admin": "The server refused", "check": "Check failed"}.get(
            pending.kind, "Nothing was changed"
        )
        if text.startswith(UNCONFIRMED):  # it may have happened: the text says what is known
            prefix = "Not confirmed"
        self._show_status(f"{prefix}: {text}")
        return True
