"""The typed contract between the UI thread and an account's IMAP worker.

Requests go down a queue; results come back through a callback the UI turns
into a Textual message. Every result names the request it answers, so the UI
can drop a late answer to a question it no longer asks.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from ..models import Envelope, Mailbox, MailboxStatus, MessageRef, MimePart, SelectedMailbox
from ..headers import Row, envelope_of
from .search import SearchCommand

_request_ids = itertools.count(1)


@dataclass(frozen=True)
class Request:
    id: int = field(default_factory=lambda: next(_request_ids), kw_only=True)
    # Safe to send again after a reconnect: reads and idempotent flag changes are,
    # a COPY or MOVE is not (it could run twice).
    retry_safe = True


@dataclass(frozen=True)
class ListMailboxes(Request):
    with_status: bool = True  # then STATUS for every selectable mailbox, in the background
    pattern: bytes = b"*"  # a LIST pattern (modified UTF-7, may hold * and %)


@dataclass(frozen=True)
class FetchStatus(Request):
    raw_name: bytes


@dataclass(frozen=True)
class SelectMailbox(Request):
    raw_name: bytes
    read_only: bool = False


@dataclass(frozen=True)
class FetchEnvelopes(Request):
    """The rows around the viewport: served before any background batch."""

    raw_name: bytes
    uidvalidity: int
    uids: tuple[int, ...]


@dataclass(frozen=True)
class FetchMessage(Request):
    """A message to show. A big one comes as its outline (MessageFetched with `outline`),
    then its text by ranges (PartFetched), never whole."""

    ref: MessageRef
    mark_seen: bool
    size: int | None = None  # RFC822.SIZE from the list when known: saves asking for it


@dataclass(frozen=True)
class FetchPart(Request):
    """`length` bytes of one part's content from `offset`, still transfer-encoded."""

    ref: MessageRef
    section: str  # an IMAP body section: "2", "1.2"
    offset: int
    length: int


@dataclass(frozen=True)
class SavePart(Request):
    """Stream one part (section "" is the whole message) into a file that must not exist
    yet, decoding its transfer encoding on the way."""

    ref: MessageRef
    section: str
    encoding: str
    target: str


@dataclass(frozen=True)
class SearchMessages(Request):
    """UID SEARCH in the open mailbox. `query` is what the user typed, echoed in the answer."""

    raw_name: bytes
    uidvalidity: int
    command: SearchCommand
    query: str


@dataclass(frozen=True)
class OrderMessages(Request):
    """The open mailbox's UIDs in the server's order: SORT by `key`, or THREAD=REFERENCES
    with `threads`. For while the local index is not complete yet."""

    raw_name: bytes
    uidvalidity: int
    key: str  # one of list_prefs.SORT_KEYS
    reverse: bool
    threads: bool


@dataclass(frozen=True)
class StoreFlags(Request):
    """Add or remove flags (system flags or keywords) on these messages, as one UID STORE."""

    raw_name: bytes
    uidvalidity: int
    uids: tuple[int, ...]
    flags: tuple[str, ...]
    add: bool


@dataclass(frozen=True)
class CopyMessages(Request):
    """Copy, or move, these messages of `raw_name` to `target`.

    `raw_name` need not be the open mailbox (undoing a move copies back from the
    target): the worker then opens it, acts, and re-opens the user's mailbox.
    Move: UID MOVE; else with UIDPLUS, UID COPY + UID STORE \\Deleted + UID EXPUNGE of
    exactly these UIDs; else copy and mark deleted, without expunging.
    """

    raw_name: bytes
    uidvalidity: int
    uids: tuple[int, ...]
    target: bytes
    move: bool
    create: bool = False  # CREATE the target first (the user said yes after a TRYCREATE)
    retry_safe = False


@dataclass(frozen=True)
class RemoveCopies(Request):
    """Undo of a copy: mark exactly these UIDs of `raw_name` deleted and UID EXPUNGE them."""

    raw_name: bytes
    uidvalidity: int
    uids: tuple[int, ...]
    retry_safe = False


@dataclass(frozen=True)
class Expunge(Request):
    """Remove the messages marked deleted: UID EXPUNGE of exactly `uids` with UIDPLUS.

    Without UIDPLUS only a bare EXPUNGE exists, which also removes messages other
    clients marked; the worker sends it only when `allow_bare` (the user was told).
    """

    raw_name: bytes
    uidvalidity: int
    uids: tuple[int, ...]
    allow_bare: bool = False
    retry_safe = False


@dataclass(frozen=True)
class CheckMailbox(Request):
    """`r`: NOOP, then report what other clients changed (new mail, flags, expunges)."""

    raw_name: bytes
    uidvalidity: int


@dataclass(frozen=True)
class Checkpoint(Request):
    """CHECK: ask the server to flush the open mailbox's state to disk."""


@dataclass(frozen=True)
class CreateMailbox(Request):
    raw_name: bytes  # modified UTF-7; the server's delimiter makes it nested
    retry_safe = False


@dataclass(frozen=True)
class RenameMailbox(Request):
    raw_name: bytes
    new_name: bytes
    retry_safe = False


@dataclass(frozen=True)
class DeleteMailbox(Request):
    raw_name: bytes
    retry_safe = False


@dataclass(frozen=True)
class Subscribe(Request):
    raw_name: bytes
    subscribe: bool  # False: unsubscribe


@dataclass(frozen=True)
class Shutdown(Request):
    pass


@dataclass(frozen=True)
class Result:
    request_id: int


@dataclass(frozen=True)
class Connected(Result):
    capabilities: frozenset[str]


@dataclass(frozen=True)
class ConnectionFailed(Result):
    """The worker has stopped for good (a start-up or authentication failure)."""

    message: str


@dataclass(frozen=True)
class ConnectionLost(Result):
    """The connection dropped; the worker is reconnecting."""

    message: str


@dataclass(frozen=True)
class Reconnected(Result):
    capabilities: frozenset[str]


# How a RequestFailed for a change cut off by a dropped connection begins: it may or may
# not have happened, so the UI must not say "nothing was changed".
UNCONFIRMED = "the connection dropped before the server confirmed"


@dataclass(frozen=True)
class RequestFailed(Result):
    message: str


@dataclass(frozen=True)
class MailboxesListed(Result):
    mailboxes: tuple[Mailbox, ...]


@dataclass(frozen=True)
class StatusFetched(Result):
    status: MailboxStatus


@dataclass(frozen=True)
class MailboxSelected(Result):
    selected: SelectedMailbox
    cached: int = 0  # rows the header cache held for it (stale ones included): they follow at once


@dataclass(frozen=True)
class EnvelopesFetched(Result):
    """List rows, as fetched or read from the header cache (undecoded: see tui.headers)."""

    raw_name: bytes
    uidvalidity: int
    rows: tuple[Row, ...]
    loaded: int  # rows known so far, these included
    total: int

    @property
    def envelopes(self) -> tuple[Envelope, ...]:
        """The rows decoded (all of them: for tests and small batches, not the bulk path)."""
        return tuple(envelope_of(row) for row in self.rows)


@dataclass(frozen=True)
class SearchFinished(Result):
    """The UIDs (ascending) that matched; a MailboxChanged may follow if other clients changed things."""

    raw_name: bytes
    uidvalidity: int
    query: str
    uids: tuple[int, ...]


@dataclass(frozen=True)
class FlagsChanged(Result):
    """The flags the server now has for these messages (after a STORE, or re-read after a refusal)."""

    raw_name: bytes
    uidvalidity: int
    flags: tuple[tuple[int, frozenset[str]], ...]


@dataclass(frozen=True)
class MessageOutline:
    """A big message before any of its content: what BODYSTRUCTURE says, and its header."""

    size: int  # RFC822.SIZE
    root: MimePart
    notes: tuple[str, ...]


@dataclass(frozen=True)
class MessageFetched(Result):
    ref: MessageRef
    raw: bytes  # the whole message, or only its header when there is an outline
    truncated: bool
    flags: frozenset[str] | None  # new flags if \Seen was set, else None
    outline: MessageOutline | None = None


@dataclass(frozen=True)
class PartFetched(Result):
    ref: MessageRef
    section: str
    offset: int
    data: bytes  # shorter than asked: the part ends here


@dataclass(frozen=True)
class PartSaved(Result):
    ref: MessageRef
    target: str
    size: int  # bytes written
    note: str = ""  # what the decoding noticed: damaged base64, an unknown encoding kept


@dataclass(frozen=True)
class CopyUid:
    """A COPYUID answer (RFC 4315): which UID each message got in the target."""

    uidvalidity: int  # the target mailbox's
    source_uids: tuple[int, ...]
    target_uids: tuple[int, ...]  # in the same order as source_uids


@dataclass(frozen=True)
class MessagesCopied(Result):
    raw_name: bytes  # where they came from
    uidvalidity: int
    uids: tuple[int, ...]
    target: bytes
    moved: bool  # they left the source (UID MOVE, or COPY + STORE + UID EXPUNGE)
    marked_deleted: bool  # copied and marked \\Deleted, not expunged (no UIDPLUS)
    copy_uid: CopyUid | None  # None: the server did not say (no UIDPLUS): no undo


@dataclass(frozen=True)
class CopyRefused(Result):
    """The COPY/MOVE was refused; the source is as it was."""

    message: str
    request: CopyMessages
    trycreate: bool  # NO [TRYCREATE]: the target does not exist; creating it may help


@dataclass(frozen=True)
class CopiesRemoved(Result):
    raw_name: bytes
    uids: tuple[int, ...]


@dataclass(frozen=True)
class MessagesExpunged(Result):
    raw_name: bytes
    uidvalidity: int
    uids: tuple[int, ...]  # the UIDs that are gone


@dataclass(frozen=True)
class MailboxChanged(Result):
    """The open mailbox as the server has it now, after NOOP or after one of our commands."""

    raw_name: bytes
    uidvalidity: int
    uids: tuple[int, ...]  # ascending: every message it holds now
    new: tuple[int, ...]
    vanished: tuple[int, ...]
    flags: tuple[tuple[int, frozenset[str]], ...]  # flags another client changed


@dataclass(frozen=True)
class MailboxManaged(Result):
    """CREATE, RENAME, DELETE, SUBSCRIBE or UNSUBSCRIBE worked; a MailboxesListed follows."""

    action: str  # "created", "renamed", "deleted", "subscribed", "unsubscribed"
    raw_name: bytes
    new_name: bytes | None = None


@dataclass(frozen=True)
class MessagesOrdered(Result):
    """The answer to OrderMessages: `uids` in the server's order, or `threads` (roots)."""

    raw_name: bytes
    uidvalidity: int
    key: str
    reverse: bool
    threaded: bool
    uids: tuple[int, ...] = ()  # SORT's answer
    threads: tuple = ()  # THREAD's answer: threads.ThreadNode roots


@dataclass(frozen=True)
class Notice(Result):
    """Something the user should know that is not a failure (e.g. the header cache was rebuilt)."""

    message: str


@dataclass(frozen=True)
class Checkpointed(Result):
    pass
