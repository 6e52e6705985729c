"""The typed contract between the UI thread and an account's IMAP worker.

Requests go down a queue; results come back through a callback the UI turns
into a Textual message. Every result names the request it answers, so the UI
can drop a late answer to a question it no longer asks.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from ..models import Envelope, Mailbox, MailboxStatus, MessageRef, SelectedMailbox

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
    ref: MessageRef
    mark_seen: bool


@dataclass(frozen=True)
class StoreFlags(Request):
    """Add or remove system flags on these messages, as one UID STORE."""

    raw_name: bytes
    uidvalidity: int
    uids: tuple[int, ...]
    flags: tuple[str, ...]
    add: bool


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


@dataclass(frozen=True)
class EnvelopesFetched(Result):
    raw_name: bytes
    uidvalidity: int
    envelopes: tuple[Envelope, ...]
    loaded: int  # rows with an envelope so far, this one included
    total: int


@dataclass(frozen=True)
class FlagsChanged(Result):
    """The flags the server now has for these messages (after a STORE, or re-read after a refusal)."""

    raw_name: bytes
    uidvalidity: int
    flags: tuple[tuple[int, frozenset[str]], ...]


@dataclass(frozen=True)
class MessageFetched(Result):
    ref: MessageRef
    raw: bytes
    truncated: bool
    flags: frozenset[str] | None  # new flags if \Seen was set, else None
