"""Triage on the server: copy, move, expunge, undo, mailbox management, and noticing
what other clients changed in the open mailbox.

Plain functions over an IMAPClient, run on the account's worker thread (no Textual).
Every command goes out through `commands.run_command`, so its untagged answers are
read in order; the safety rules of issue 4 live here:

- a move is UID MOVE; without MOVE, UID COPY + UID STORE \\Deleted + UID EXPUNGE of
  exactly those UIDs (UIDPLUS); without UIDPLUS the originals are only marked \\Deleted.
  A bare EXPUNGE, which also removes what other clients marked, is never sent for a move;
- a refused COPY or MOVE sends nothing more, so the source is as it was;
- undo works by UID: COPYUID says which UIDs the copies got;
- UIDs mean something only with their UIDVALIDITY: `selected_warning` says when the
  session's SELECT can no longer be trusted (the mailbox was replaced under the same
  name), MailboxReplaced tells the user (tests/test_uidvalidity_race.py).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, IMAPClientReadOnlyError

from . import commands
from .commands import Untagged, quote_mailbox, run_command
from .contract import CopyUid
from .uidset import compress_uids, expand_uid_set, parse_uid_set

MAX_ROUNDS = 3  # searches one synchronisation may spend before it takes what it has
MAX_UNPLACED = 256  # flag changes by number kept while the view is muddled (each expunge renumbers them)
NO_UIDPLUS_UNDO = "cannot undo the copy: the server lacks UIDPLUS, so only these messages cannot be removed"


class CopyFailed(IMAPClientError):
    """The COPY or MOVE itself was refused: nothing happened to the source."""

    def __init__(self, message: str, trycreate: bool) -> None:
        super().__init__(message)
        self.trycreate = trycreate


class PartlyDone(IMAPClientError):
    """The copies exist, but removing the originals failed (see `outcome`)."""

    def __init__(self, message: str, outcome: "CopyOutcome") -> None:
        super().__init__(message)
        self.outcome = outcome


class MailboxReplaced(IMAPClientError):
    """The mailbox by that name is not the one the UIDs were read from (a new UIDVALIDITY),
    or it is gone: the messages chosen are not there. The message is for the user."""

    def __init__(self, raw_name: bytes, gone: bool = False) -> None:
        name = commands.decode_mailbox_name(raw_name)
        if gone:
            message = f"nothing was changed: {name} no longer exists on the server (another client deleted it)"
        else:
            message = (f"nothing was changed: {name} was replaced on the server since its messages were "
                       "listed (deleted and created again), so the messages chosen are no longer there")
        super().__init__(message)
        self.raw_name = raw_name
        self.gone = gone


@dataclass(frozen=True)
class CopyOutcome:
    moved: bool
    marked_deleted: bool
    copy_uid: CopyUid | None


def has(client: IMAPClient, capability: str) -> bool:
    return capability.encode("ascii") in client.capabilities()


def uid_set(uids) -> bytes:
    return compress_uids(uids).encode("ascii")


# -- is it still the same mailbox ---------------------------------------------------------


# A bare NO or BAD, or one whose code (RFC 5530) speaks of the server's state; others
# ([ALERT], [OVERQUOTA], [LIMIT]...) inform and leave the view as it was.
_VIEW_BROKEN = frozenset({None, "SERVERBUG", "CORRUPTION", "UNAVAILABLE", "NONEXISTENT", "EXPUNGEISSUED"})


def selected_warning(client: IMAPClient) -> str | None:
    """Before a change naming messages by UID: NOOP, and the server's warning (an untagged
    NO or BAD, not an [ALERT] for the user), if it gave one; its answers go to the journal.

    A warning says the session's view may be broken: only a new SELECT then tells whether
    the UIDs still name the same messages. Dovecot, after another client deleted the mailbox
    and created it again, answers from the old view (STATUS too), runs UID MOVE and UID
    EXPUNGE on the new messages that took the UIDs, and says "* NO Internal error" to NOOP.
    """
    reply = run_command(client, "NOOP")
    for event in reply.untagged:
        if event.kind in ("NO", "BAD") and event.code in _VIEW_BROKEN:
            return f"the server warned about the open mailbox: {commands.one_line(event.text) or event.kind}"
    return None


# -- copy and move ----------------------------------------------------------------------


def create_for_copy(client: IMAPClient, target: bytes) -> None:
    """CREATE the target (fine if it exists already), then SUBSCRIBE it."""
    reply = run_command(client, "CREATE", quote_mailbox(target))
    if reply.status != "OK" and not _already_exists(reply):
        raise CopyFailed(f"cannot create {commands.decode_mailbox_name(target)}: {reply.sentence()}", False)
    run_command(client, "SUBSCRIBE", quote_mailbox(target))  # best effort: a NO changes nothing


def copy_messages(client: IMAPClient, uids: list[int], target: bytes, move: bool) -> CopyOutcome:
    """Copy or move these UIDs of the selected mailbox to `target` (see the module doc)."""
    chosen = uid_set(uids)
    quoted = quote_mailbox(target)
    if move and has(client, "MOVE"):
        reply = _copy_or_refuse(client, b"MOVE", chosen, quoted, target)
        return CopyOutcome(True, False, parse_copyuid(reply, uids))
    reply = _copy_or_refuse(client, b"COPY", chosen, quoted, target)
    copy_uid = parse_copyuid(reply, uids)
    if not move:
        return CopyOutcome(False, False, copy_uid)
    uidplus = has(client, "UIDPLUS")
    # Without UIDPLUS the flags come back (no .SILENT), so the list can show the marks.
    marked = run_command(client, "UID", b"STORE", chosen, b"+FLAGS.SILENT" if uidplus else b"+FLAGS", b"(\\Deleted)")
    if marked.status != "OK":
        raise PartlyDone(
            f"copied, but the originals could not be marked deleted: {marked.sentence()}",
            CopyOutcome(False, False, copy_uid if uidplus else None),
        )
    if not uidplus:  # a bare EXPUNGE would also remove what other clients marked
        return CopyOutcome(False, True, None)
    expunged = run_command(client, "UID", b"EXPUNGE", chosen)
    if expunged.status != "OK":
        raise PartlyDone(
            f"copied and marked deleted, but the originals could not be expunged: {expunged.sentence()}",
            CopyOutcome(False, True, copy_uid),
        )
    return CopyOutcome(True, False, copy_uid)


def _copy_or_refuse(client: IMAPClient, verb: bytes, chosen: bytes, quoted: bytes, target: bytes) -> commands.Reply:
    reply = run_command(client, "UID", verb, chosen, quoted)
    if reply.status == "OK":
        return reply
    codes = reply.codes()
    name = commands.decode_mailbox_name(target)
    action = "moved" if verb == b"MOVE" else "copied"
    if "TRYCREATE" in codes:
        message = f"nothing was {action}: {name} does not exist"
    elif "OVERQUOTA" in codes:
        message = f"nothing was {action}: {name} is over quota ({reply.sentence()})"
    else:
        message = f"nothing was {action} to {name}: {reply.sentence()}"
    raise CopyFailed(message, "TRYCREATE" in codes)


def parse_copyuid(reply: commands.Reply, asked: list[int]) -> CopyUid | None:
    """COPYUID <uidvalidity> <source set> <target set> (RFC 4315), untagged or tagged.

    Only believed when it names the messages we asked about, each once: undo acts on
    these target UIDs, and a hostile "1:4294967295" must not be expanded at all.
    """
    data = reply.codes().get("COPYUID")
    if not data:
        return None
    try:
        validity, sources, targets = data.decode("ascii").split()
        target_validity = int(validity)
        source_uids = expand_uid_set(sources, len(asked))
        target_uids = expand_uid_set(targets, len(asked))
    except (ValueError, UnicodeDecodeError):
        return None
    if len(source_uids) != len(target_uids) or len(set(target_uids)) != len(target_uids):
        return None
    if len(set(source_uids)) != len(source_uids) or not set(source_uids) <= set(asked):
        return None
    return CopyUid(target_validity, tuple(source_uids), tuple(target_uids))


# -- removing -----------------------------------------------------------------------------


def remove_copies(client: IMAPClient, uids: list[int]) -> None:
    """Mark exactly these UIDs \\Deleted and UID EXPUNGE them (needs UIDPLUS)."""
    if not has(client, "UIDPLUS"):
        raise IMAPClientError(NO_UIDPLUS_UNDO)
    chosen = uid_set(uids)
    marked = run_command(client, "UID", b"STORE", chosen, b"+FLAGS.SILENT", b"(\\Deleted)")
    if marked.status != "OK":
        raise IMAPClientError(f"cannot remove the copies: {marked.sentence()}")
    expunged = run_command(client, "UID", b"EXPUNGE", chosen)
    if expunged.status != "OK":
        raise IMAPClientError(f"the copies are marked deleted but were not expunged: {expunged.sentence()}")


def expunge(client: IMAPClient, uids: list[int], allow_bare: bool) -> None:
    """UID EXPUNGE of exactly `uids`; a bare EXPUNGE only without UIDPLUS and when allowed."""
    if has(client, "UIDPLUS"):
        reply = run_command(client, "UID", b"EXPUNGE", uid_set(uids))
    elif allow_bare:
        reply = run_command(client, "EXPUNGE")
    else:
        raise IMAPClientError(
            "nothing was expunged: this server lacks UIDPLUS, so expunging would also remove "
            "every message another client marked deleted"
        )
    if reply.status != "OK":
        raise IMAPClientError(f"the server refused to expunge: {reply.sentence()}")


def open_for_change(client: IMAPClient, raw_name: bytes) -> int:
    """SELECT another mailbox read-write (for an undo); its UIDVALIDITY."""
    name = commands.decode_mailbox_name(raw_name)
    try:
        info = client.select_folder(commands.check_mailbox_name(raw_name), readonly=False)
    except IMAPClientReadOnlyError:
        raise IMAPClientError(f"cannot undo: {name} is read-only on the server") from None
    except IMAPClientAbortError:
        raise
    except IMAPClientError as error:  # e.g. it was deleted meanwhile
        reason = commands.one_line(str(error).removeprefix("select failed: "))
        raise IMAPClientError(f"cannot undo: {name} cannot be opened ({reason})") from None
    commands.reset_journal(client)
    if info.get(b"READ-ONLY"):
        raise IMAPClientError(f"cannot undo: {name} is read-only on the server")
    return int(info.get(b"UIDVALIDITY", 0))


# -- mailboxes ----------------------------------------------------------------------------


def leave_mailbox(client: IMAPClient) -> None:
    """Deselect without expunging: UNSELECT, else EXAMINE INBOX. Never CLOSE (it expunges)."""
    if has(client, "UNSELECT"):
        reply = run_command(client, "UNSELECT", keep=False)
        if reply.status == "OK":
            client._imap.state = "AUTH"
            commands.reset_journal(client)
            return
    client.select_folder(b"INBOX", readonly=True)
    commands.reset_journal(client)


def create_mailbox(client: IMAPClient, raw_name: bytes) -> None:
    reply = run_command(client, "CREATE", quote_mailbox(raw_name))
    if reply.status != "OK":
        raise IMAPClientError(f"cannot create {commands.decode_mailbox_name(raw_name)}: {reply.sentence()}")
    run_command(client, "SUBSCRIBE", quote_mailbox(raw_name))  # what other mail clients expect


def rename_mailbox(client: IMAPClient, raw_name: bytes, new_name: bytes) -> None:
    reply = run_command(client, "RENAME", quote_mailbox(raw_name), quote_mailbox(new_name))
    if reply.status != "OK":
        raise IMAPClientError(f"cannot rename {commands.decode_mailbox_name(raw_name)}: {reply.sentence()}")
    # The subscription moves along (best effort: many servers keep it under the old name).
    run_command(client, "UNSUBSCRIBE", quote_mailbox(raw_name))
    run_command(client, "SUBSCRIBE", quote_mailbox(new_name))


def delete_mailbox(client: IMAPClient, raw_name: bytes) -> None:
    reply = run_command(client, "DELETE", quote_mailbox(raw_name))
    if reply.status != "OK":
        raise IMAPClientError(f"cannot delete {commands.decode_mailbox_name(raw_name)}: {reply.sentence()}")
    run_command(client, "UNSUBSCRIBE", quote_mailbox(raw_name))  # no stale subscription left behind


def subscribe(client: IMAPClient, raw_name: bytes, on: bool) -> None:
    reply = run_command(client, "SUBSCRIBE" if on else "UNSUBSCRIBE", quote_mailbox(raw_name))
    if reply.status != "OK":
        verb = "subscribe to" if on else "unsubscribe from"
        raise IMAPClientError(f"cannot {verb} {commands.decode_mailbox_name(raw_name)}: {reply.sentence()}")


def checkpoint(client: IMAPClient) -> None:
    reply = run_command(client, "CHECK")
    if reply.status != "OK":
        raise IMAPClientError(f"CHECK was refused: {reply.sentence()}")


def _already_exists(reply: commands.Reply) -> bool:
    return "ALREADYEXISTS" in reply.codes() or "exists" in reply.text.lower()


# -- what changed -------------------------------------------------------------------------


@dataclass(frozen=True)
class Changes:
    uids: list[int]  # ascending: the mailbox now
    new: list[int]
    vanished: list[int]
    flags: dict[int, frozenset[str]]  # flags the server announced, for messages still there


class _View:
    """The open mailbox by sequence number, as the server's answers describe it.

    `seq[n - 1]` is message n's UID, or None for a message announced by EXISTS whose UID
    is not known yet (always at the end). Once an answer cannot be placed for sure,
    `dirty` is set and only a full UID SEARCH can say what the mailbox holds.

    Flags announced by number meanwhile (after a NOOP, servers name no UID) wait in
    `unplaced`, renumbered by each EXPUNGE after them, until that search numbers the
    mailbox again: another client's flag change is not lost to an earlier muddle.
    """

    def __init__(self, uids: list[int]) -> None:
        self.seq: list[int | None] = list(uids)
        self.dirty = False
        self.flags: dict[int, frozenset[str]] = {}
        self.moved = False  # the message list itself changed (else only flags, if anything)
        self.unplaced: list[tuple[int, frozenset[str]]] = []  # (message number, flags), in order

    def apply(self, event: Untagged) -> None:
        kind = event.kind
        if kind == "EXPUNGE":
            self._expunge(event.number)
        elif kind == "EXISTS":
            self._exists(event.number)
        elif kind == "FETCH":
            self._fetch(event)
        elif kind == "LEFTOVER":
            self._leftovers(event.leftovers or {})
        elif kind == "VANISHED":
            self._vanished(event.text)
        elif kind == "UNPARSED":
            self.dirty = True
            self.unplaced.clear()  # it may have been an expunge: the numbers mean nothing now

    def _vanished(self, text: str) -> None:
        """VANISHED (QRESYNC enabled: it replaces EXPUNGE) names UIDs, not positions."""
        if text.upper().startswith("(EARLIER)"):
            return  # about the time before this session's view: SELECT has dealt with it
        self.unplaced.clear()  # gone by UID: which numbers moved is not known
        if self.dirty:
            return
        try:
            gone = parse_uid_set(text.strip())
        except ValueError:
            self.dirty = True
            return
        if None in self.seq:
            self.dirty = True  # it may name a message whose UID we do not know yet
            return
        # Sequence order is UID order: each range is one slice of seq, found by bisection.
        doomed: set[int] = set()
        for low, high in gone:
            doomed.update(self.seq[bisect.bisect_left(self.seq, low):bisect.bisect_right(self.seq, high)])
        before = len(self.seq)
        self.seq = [uid for uid in self.seq if uid not in doomed]
        self.moved = self.moved or len(self.seq) != before

    def _expunge(self, number: int) -> None:
        self.unplaced = [(n - 1 if n > number else n, flags) for n, flags in self.unplaced if n != number]
        if self.dirty:
            return
        self.moved = True
        if 1 <= number <= len(self.seq):
            del self.seq[number - 1]
        else:
            self.dirty = True

    def _exists(self, count: int) -> None:
        if self.dirty:
            return
        if count < len(self.seq):  # fewer messages than we know of, without an EXPUNGE: we lost track
            self.dirty = True
        elif count > len(self.seq):
            self.moved = True
            self.seq.extend([None] * (count - len(self.seq)))

    def _fetch(self, event: Untagged, placed: bool = True) -> None:
        number, uid = event.number, event.uid
        known = not self.dirty and placed and 1 <= number <= len(self.seq)
        if uid is not None:
            if known:
                if self.seq[number - 1] is None:
                    self.seq[number - 1] = uid
                elif self.seq[number - 1] != uid:
                    self.dirty = True
        elif known:
            uid = self.seq[number - 1]
        elif (self.dirty and placed and event.flags is not None and number is not None and number >= 1
              and len(self.unplaced) < MAX_UNPLACED):
            self.unplaced.append((number, event.flags))
        if uid is not None and event.flags is not None:
            self.flags[uid] = event.flags

    def _leftovers(self, leftovers: dict) -> None:
        """Answers imaplib filed by kind: in order within a kind, but not across kinds."""
        expunges = _numbers(leftovers.get("EXPUNGE", ()))
        exists = _numbers(leftovers.get("EXISTS", ()))
        if expunges is None or exists is None:  # a number nobody can read: we lost track
            self.dirty = True
            return
        if leftovers.get("VANISHED") or expunges:
            self.unplaced.clear()  # expunged in an order nobody knows
        if leftovers.get("VANISHED") or (expunges and exists):
            self.dirty = True
        for number in expunges:
            self._expunge(number)
        if exists:
            self._exists(exists[-1])
        for raw in leftovers.get("FETCH", ()):
            if isinstance(raw, bytes):
                try:
                    event = commands.parse_untagged(b"* " + raw.replace(b" ", b" FETCH ", 1))
                except ValueError:  # a number of thousands of digits (run_command aborts on it)
                    self.dirty = True
                    continue
                if event.kind == "FETCH":
                    # Before or after those expunges? Unknown: only a UID places it then.
                    self._fetch(event, placed=not expunges)

    def unknown_tail(self) -> int:
        return sum(1 for uid in self.seq if uid is None)

    def renumbered(self, uids: list[int]) -> None:
        """A full search said what the mailbox holds: number it again, place waiting flags."""
        self.seq, self.dirty, self.moved = uids, False, True
        for number, flags in self.unplaced:
            if number <= len(uids):
                self.flags[uids[number - 1]] = flags
        self.unplaced.clear()


def _numbers(values) -> list[int] | None:
    """The message numbers imaplib filed; None if one of them is not a message number (a
    literal, a word, thousands of digits, which int() refuses: no mailbox counts past 10)."""
    numbers = []
    for value in values:
        digits = value.strip() if isinstance(value, bytes) else b""
        if not (digits.isdigit() and len(digits) <= 10):
            return None
        numbers.append(int(digits))
    return numbers


def synchronise(client: IMAPClient, uids: list[int], noop: bool) -> Changes:
    """What changed in the selected mailbox since `uids` (ascending) was right.

    Replays the journal (and, with `noop`, a NOOP's answers first fetched), finds the UIDs
    of new messages with `UID SEARCH UID <last+1>:*`, and falls back to `UID SEARCH ALL`
    whenever the answers cannot be placed for sure. Matched by UID always.
    """
    if noop:
        run_command(client, "NOOP")
    view = _View(uids)
    for event in commands.take_journal(client):
        view.apply(event)
    for _round in range(MAX_ROUNDS):
        if view.dirty:
            _search(client, view, b"ALL", full=True)
        elif view.unknown_tail():
            first_unknown = view.seq.index(None)
            floor = max((uid for uid in view.seq[:first_unknown]), default=0)
            # "n:*" always matches the last message, even when its UID is below n.
            _search(client, view, f"UID {floor + 1}:*".encode("ascii"), full=False, floor=floor)
        else:
            break
    if not (view.moved or view.dirty):  # the usual case: no need to compare 100,000 UIDs
        flags = {uid: f for uid, f in view.flags.items() if _holds(uids, uid)}
        return Changes(list(uids), [], [], flags)
    final = sorted({uid for uid in view.seq if uid is not None})
    before, after = set(uids), set(final)
    return Changes(
        uids=final,
        new=[uid for uid in final if uid not in before],
        vanished=sorted(before - after),
        flags={uid: flags for uid, flags in view.flags.items() if uid in after},
    )


def _holds(ascending: list[int], uid: int) -> bool:
    at = bisect.bisect_left(ascending, uid)
    return at < len(ascending) and ascending[at] == uid


def _search(client: IMAPClient, view: _View, criteria: bytes, full: bool, floor: int = 0) -> None:
    """One UID SEARCH, its answer put into `view` at the point it came, in order."""
    reply = run_command(client, "UID", b"SEARCH", *criteria.split(b" "), keep=False)
    if reply.status != "OK":
        raise IMAPClientError(f"cannot list the mailbox's messages: {reply.sentence()}")
    for event in reply.untagged:
        if event.kind != "SEARCH":
            view.apply(event)
            continue
        if full:
            view.renumbered(sorted(set(event.uids)))
            continue
        if view.dirty:
            continue  # the next round searches everything
        first_unknown = view.seq.index(None) if None in view.seq else len(view.seq)
        prefix, tail = view.seq[:first_unknown], view.seq[first_unknown:]
        found = sorted({uid for uid in event.uids if uid > floor} | {uid for uid in tail if uid is not None})
        if len(found) == len(tail):
            view.seq = prefix + found
        else:
            view.dirty = True
