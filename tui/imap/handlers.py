"""The worker's answers to the requests that change things on the server (issue 4).

A mixin of `ImapWorker` (worker.py keeps the thread, the connection and the reading
requests). What follows which request, in order:

- StoreFlags: FlagsChanged, then MailboxChanged if the open mailbox changed otherwise too.
- CopyMessages on the open mailbox: MessagesCopied (or CopyRefused, and then nothing
  else), then MailboxChanged if the mailbox changed (a move always does: `vanished`).
  On another mailbox (an undo): that one is opened, its UIDVALIDITY checked, the copy
  made, and the user's mailbox opened again: MessagesCopied, then MailboxSelected with
  the id of the SelectMailbox that opened it.
- RemoveCopies: CopiesRemoved, then MailboxChanged (if any) or MailboxSelected as above.
- Expunge: MessagesExpunged, then MailboxChanged (if any).
- CheckMailbox: MailboxChanged, always (also when nothing changed).

A MailboxChanged that follows another result carries that request's id; it comes only
when something changed (new mail, vanished messages, flags other than those just set).
- Checkpoint: Checkpointed.
- CreateMailbox, RenameMailbox, DeleteMailbox, Subscribe: MailboxManaged, then
  MailboxesListed (and StatusFetched in the background), all with the request's id.
Failures are one RequestFailed. No Textual here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from . import commands, mutations
from .contract import (
    CheckMailbox,
    Checkpoint,
    Checkpointed,
    CopiesRemoved,
    CopyMessages,
    CopyRefused,
    CreateMailbox,
    DeleteMailbox,
    Expunge,
    MailboxChanged,
    MailboxManaged,
    MessagesCopied,
    MessagesExpunged,
    RemoveCopies,
    RenameMailbox,
    Request,
    Subscribe,
    UNCONFIRMED,
)

log = logging.getLogger(__name__)


class TriageHandlers:
    """Needs from ImapWorker: account, _client, _cache, _selection, _background, _post, _select,
    _list_mailboxes, _queue_fill_first, _drop_fills, flags_now, gone_now."""

    def _handle_triage(self, request: Request) -> bool:
        handler = {
            CopyMessages: self._copy,
            RemoveCopies: self._remove_copies,
            Expunge: self._expunge,
            CheckMailbox: self._check_mailbox,
            Checkpoint: self._checkpoint,
            CreateMailbox: self._manage,
            RenameMailbox: self._manage,
            DeleteMailbox: self._manage,
            Subscribe: self._manage,
        }.get(type(request))
        if handler is None:
            return False
        handler(request)
        return True

    # -- guards -------------------------------------------------------------------

    def _refuse_read_only_account(self) -> None:
        if self.account.read_only:  # the UI refuses first; this is the last line of defence
            raise ValueError("this account is read-only: nothing was changed")

    def _open_selection(self, raw_name: bytes, uidvalidity: int):
        sel = self._selection
        if sel is None or (sel.raw_name, sel.uidvalidity) != (raw_name, uidvalidity):
            raise ValueError("those messages belong to a mailbox that is no longer open")
        return sel

    def _writable_selection(self, raw_name: bytes, uidvalidity: int):
        self._refuse_read_only_account()
        sel = self._selection
        if sel is not None and sel.raw_name == raw_name and sel.uidvalidity != uidvalidity:
            raise mutations.MailboxReplaced(raw_name)  # reopened since the key press
        sel = self._open_selection(raw_name, uidvalidity)
        if sel.read_only or not sel.writable:
            raise ValueError("this mailbox is open read-only: nothing was changed")
        # Dovecot keeps a session on a mailbox deleted and created again elsewhere on its
        # old view, yet runs UID MOVE and UID EXPUNGE on the new messages that took the
        # same UIDs; only a NOOP's "* NO" tells. Checked before every change, then a new
        # SELECT settles it.
        warning = mutations.selected_warning(self._client)
        if warning is None:
            return sel
        log.warning("%s; opening %r again before changing it", warning, raw_name)
        self._select(sel.request_id, raw_name, sel.read_only)
        sel = self._selection
        if sel is None or sel.uidvalidity != uidvalidity:
            raise mutations.MailboxReplaced(raw_name)
        if sel.read_only or not sel.writable:
            raise ValueError("this mailbox is open read-only: nothing was changed")
        return sel

    def _is_open(self, raw_name: bytes) -> bool:
        return self._selection is not None and self._selection.raw_name == raw_name

    # -- what changed -------------------------------------------------------------

    def _sync(self) -> mutations.Changes:
        """NOOP and the journal: what the open mailbox holds now; new messages get filled."""
        sel = self._selection
        changes = mutations.synchronise(self._client, sel.uids, noop=True)
        sel.uids = changes.uids
        sel.total = len(changes.uids)
        if changes.vanished:
            sel.vanished.update(changes.vanished)
            sel.loaded.difference_update(changes.vanished)
            self.gone_now(changes.vanished)
        self.flags_now(changes.flags)
        if changes.new:
            self._queue_fill_first(sel.request_id, changes.new)
        return changes

    def _post_changes(self, request_id: int, changes: mutations.Changes, always: bool = True,
                      reported: dict[int, frozenset[str]] | None = None) -> None:
        """MailboxChanged; after another result (`always` False) only if something changed.

        `reported`: flags a FlagsChanged already gave; the same again is no news.
        """
        if reported:
            flags = {uid: f for uid, f in changes.flags.items() if reported.get(uid) != f}
            changes = mutations.Changes(changes.uids, changes.new, changes.vanished, flags)
        if not always and not (changes.new or changes.vanished or changes.flags):
            return
        sel = self._selection
        self._post(MailboxChanged(
            request_id, sel.raw_name, sel.uidvalidity, tuple(changes.uids), tuple(changes.new),
            tuple(changes.vanished), tuple(sorted(changes.flags.items())),
        ))

    def _changing(self, request_id: int, work: Callable[[], bool]) -> None:
        """Run a change on the open mailbox, then say what it holds now (unless nothing happened)."""
        try:
            changed = work()
        except mutations.PartlyDone:
            self.follow_up(request_id)
            raise
        if changed:
            self.follow_up(request_id)

    def follow_up(self, request_id: int, reported: dict[int, frozenset[str]] | None = None) -> None:
        """After a change that worked: what else changed. A refusal here is not the change failing."""
        try:
            changes = self._sync()
        except IMAPClientAbortError:
            raise
        except IMAPClientError as error:
            log.warning("checking for changes after request %s failed: %s", request_id, error)
            return
        self._post_changes(request_id, changes, always=False, reported=reported)

    def _elsewhere(self, raw_name: bytes, uidvalidity: int, work: Callable[[], bool]) -> None:
        """Act on a mailbox that is not open (an undo), then open the user's one again."""
        user = self._selection
        self._selection = None
        self._drop_fills()
        aborted = False
        try:
            if mutations.open_for_change(self._client, raw_name) != uidvalidity:
                name = commands.decode_mailbox_name(raw_name)
                raise IMAPClientError(f"cannot undo: {name} changed (UIDVALIDITY); nothing was done")
            work()
        except (IMAPClientAbortError, OSError):
            aborted = True
            self._selection = user  # the reconnect opens it again
            raise
        finally:
            # Never CLOSE (it expunges): selecting the user's mailbox leaves this one.
            if user is not None and not aborted:
                self._select(user.request_id, user.raw_name, user.read_only)

    # -- after a dropped connection -------------------------------------------------

    def _unconfirmed(self, request: Request) -> str:
        """What to tell the user about a change that was cut off and is not sent again.

        It may or may not have happened (the answer is what was lost), and a second try
        could copy or move twice. Where the mailbox as it is again after the reconnect
        shows the outcome, say it: "nothing was changed" after a move that was done would
        hide where the messages went.
        """
        try:
            return f"{UNCONFIRMED} {self._what_was_cut(request)}"
        except Exception:  # a clearer sentence is not worth a dead worker thread
            log.exception("describing request %s", request.id)
            return f"{UNCONFIRMED} it; not retried: check the mailbox"

    def _what_was_cut(self, request: Request) -> str:
        name = commands.decode_mailbox_name
        if isinstance(request, CopyMessages):
            source, target = name(request.raw_name), name(request.target)
            if not request.move:
                return (f"the copy to {target}; not retried, so that nothing is copied twice: "
                        f"check {target} for the copies")
            sel = self._selection
            if sel is None or (sel.raw_name, sel.uidvalidity) != (request.raw_name, request.uidvalidity):
                return f"the move to {target}; not retried: check {source} and {target}"
            left = len(set(request.uids) & set(sel.uids))
            if not left:
                return (f"the move to {target}; not retried. {source} no longer holds them: "
                        f"the move was most likely done (it cannot be undone from here): check {target}")
            # Without MOVE the copies come first: the target may hold them already.
            some = "all of them" if left == len(request.uids) else f"{left} of {len(request.uids)}"
            return (f"the move to {target}; not retried. {source} still holds {some}, and {target} "
                    f"may hold copies already: check {target} before moving them again")
        if isinstance(request, RemoveCopies):
            return f"the removal of the copies in {name(request.raw_name)}; not retried: check that mailbox"
        if isinstance(request, Expunge):
            sel = self._selection
            if sel is not None and (sel.raw_name, sel.uidvalidity) == (request.raw_name, request.uidvalidity):
                left = len(set(request.uids) & set(sel.uids))
                return (f"the expunge; not retried. {len(request.uids) - left} of {len(request.uids)} "
                        "messages are gone; the list shows the mailbox as it is now")
            return "the expunge; not retried: check the mailbox"
        if isinstance(request, (CreateMailbox, RenameMailbox, DeleteMailbox)):
            verb = {CreateMailbox: "creating", RenameMailbox: "renaming", DeleteMailbox: "deleting"}[type(request)]
            return f"{verb} {name(request.raw_name)}; not retried: check the mailbox list"
        return "it; not retried: check the mailbox"

    # -- copy, move, remove ---------------------------------------------------------

    def _copy(self, request: CopyMessages) -> None:
        self._refuse_read_only_account()
        work = lambda: self._copy_work(request)  # noqa: E731
        if self._is_open(request.raw_name):
            self._writable_selection(request.raw_name, request.uidvalidity)
            self._changing(request.id, work)
        else:
            self._elsewhere(request.raw_name, request.uidvalidity, work)

    def _copy_work(self, request: CopyMessages) -> bool:
        try:
            if request.create:
                mutations.create_for_copy(self._client, request.target)
            outcome = mutations.copy_messages(self._client, list(request.uids), request.target, request.move)
        except mutations.CopyFailed as refused:
            self._post(CopyRefused(request.id, str(refused), request, refused.trycreate))
            return False
        except mutations.PartlyDone as partly:
            self._post(self._copied(request, partly.outcome))
            raise
        self._post(self._copied(request, outcome))
        return True

    @staticmethod
    def _copied(request: CopyMessages, outcome: mutations.CopyOutcome) -> MessagesCopied:
        return MessagesCopied(
            request.id, request.raw_name, request.uidvalidity, request.uids, request.target,
            outcome.moved, outcome.marked_deleted, outcome.copy_uid,
        )

    def _remove_copies(self, request: RemoveCopies) -> None:
        self._refuse_read_only_account()
        if not mutations.has(self._client, "UIDPLUS"):  # before anything is opened or sent
            raise IMAPClientError(mutations.NO_UIDPLUS_UNDO)

        def work() -> bool:
            mutations.remove_copies(self._client, list(request.uids))
            self._post(CopiesRemoved(request.id, request.raw_name, request.uids))
            return True

        if self._is_open(request.raw_name):
            self._writable_selection(request.raw_name, request.uidvalidity)
            self._changing(request.id, work)
        else:
            self._elsewhere(request.raw_name, request.uidvalidity, work)

    def _expunge(self, request: Expunge) -> None:
        self._writable_selection(request.raw_name, request.uidvalidity)
        mutations.expunge(self._client, list(request.uids), request.allow_bare)
        changes = self._sync()
        present = set(changes.uids)
        self._post(MessagesExpunged(request.id, request.raw_name, request.uidvalidity,
                                    tuple(uid for uid in request.uids if uid not in present)))
        self._post_changes(request.id, changes, always=False)

    # -- looking ----------------------------------------------------------------------

    def _check_mailbox(self, request: CheckMailbox) -> None:
        self._open_selection(request.raw_name, request.uidvalidity)
        self._post_changes(request.id, self._sync())

    def _checkpoint(self, request: Checkpoint) -> None:
        if self._selection is None:
            raise ValueError("no mailbox is open")
        mutations.checkpoint(self._client)
        self._post(Checkpointed(request.id))

    # -- mailboxes ----------------------------------------------------------------------

    def _manage(self, request: Request) -> None:
        self._refuse_read_only_account()
        client = self._client
        raw_name = commands.check_mailbox_name(request.raw_name)
        new_name = None
        if isinstance(request, CreateMailbox):
            mutations.create_mailbox(client, raw_name)
            action = "created"
        elif isinstance(request, Subscribe):
            mutations.subscribe(client, raw_name, request.subscribe)
            action = "subscribed" if request.subscribe else "unsubscribed"
        elif isinstance(request, RenameMailbox):
            new_name = commands.check_mailbox_name(request.new_name)
            self._away_from(raw_name, lambda: mutations.rename_mailbox(client, raw_name, new_name))
            action = "renamed"
        else:
            self._away_from(raw_name, lambda: mutations.delete_mailbox(client, raw_name))
            action = "deleted"
        if new_name is not None or isinstance(request, DeleteMailbox):
            self._cache.forget(self._cache_key, raw_name)
        self._post(MailboxManaged(request.id, action, raw_name, new_name))
        self._list_mailboxes(request.id, b"*", with_status=True)

    def _away_from(self, raw_name: bytes, work: Callable[[], None]) -> None:
        """Rename or delete: first leave the open mailbox if it is that one (or inside it).

        Leaving is UNSELECT (or EXAMINE INBOX), never CLOSE. If the server then refuses,
        the user's mailbox is opened again, as it was.
        """
        sel = self._selection
        inside = sel is not None and (
            sel.raw_name == raw_name or any(sel.raw_name.startswith(raw_name + sep) for sep in (b"/", b"."))
        )
        if not inside:
            work()
            return
        mutations.leave_mailbox(self._client)
        self._selection = None
        self._drop_fills()
        try:
            work()
        except (IMAPClientAbortError, OSError):
            raise
        except Exception:
            self._select(sel.request_id, sel.raw_name, sel.read_only)
            raise
