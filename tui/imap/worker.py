"""The one thread that owns an account's IMAP connection.

imaplib is blocking and not thread-safe, so a single long-lived thread drains a
request queue and posts results through `post` (the UI passes a function that
wraps them in a Textual message; tests pass a list's append). Foreground
requests always go first; background work (STATUS counts, the envelope fill)
runs one small step at a time in between, so a click never waits behind a
100,000-row fill.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from ..config import Account
from . import commands
from .connection import ConnectError, connect
from .contract import (
    Connected,
    ConnectionFailed,
    EnvelopesFetched,
    FetchEnvelopes,
    FetchMessage,
    FetchStatus,
    ListMailboxes,
    MailboxesListed,
    MailboxSelected,
    MessageFetched,
    Request,
    RequestFailed,
    Result,
    SelectMailbox,
    Shutdown,
    StatusFetched,
)

log = logging.getLogger(__name__)

FILL_BATCH = 500
MAX_MESSAGE_BYTES = 20 * 1024 * 1024  # a later issue fetches huge parts by ranges


@dataclass
class _Selection:
    raw_name: bytes
    uidvalidity: int
    total: int
    loaded: set[int]


class ImapWorker:
    def __init__(
        self,
        account: Account,
        password: str,
        post: Callable[[Result], None],
        *,
        fill_batch: int = FILL_BATCH,
        connect_fn: Callable[[Account, str], IMAPClient] = connect,
    ) -> None:
        self.account = account
        self._password = password
        self._post = post
        self._fill_batch = fill_batch
        self._connect = connect_fn
        self._requests: queue.Queue[Request] = queue.Queue()
        self._background: deque[tuple] = deque()
        self._selection: _Selection | None = None
        self._client: IMAPClient | None = None
        self._thread = threading.Thread(target=self._run, name=f"imap-{account.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, request: Request) -> Request:
        self._requests.put(request)
        return request

    def stop(self, timeout: float = 5.0) -> None:
        self._requests.put(Shutdown())
        self._thread.join(timeout)

    # -- the thread -------------------------------------------------------

    def _run(self) -> None:
        try:
            self._client = self._connect(self.account, self._password)
        except ConnectError as error:
            self._post(ConnectionFailed(0, str(error)))
            return
        except Exception as error:  # never a silent dead thread
            log.exception("connect failed")
            self._post(ConnectionFailed(0, f"Cannot connect to {self.account.host}: {error}"))
            return
        finally:
            self._password = ""  # the connection is made; keep no copy around
        self._post(Connected(0, frozenset(c.decode("ascii", "replace") for c in self._client.capabilities())))
        try:
            self._loop()
        finally:
            try:
                self._client.logout()
            except Exception:
                pass

    def _loop(self) -> None:
        while True:
            try:
                request = self._requests.get(block=not self._background)
            except queue.Empty:
                if not self._guarded(0, self._background_step):
                    return
                continue
            if isinstance(request, Shutdown):
                return
            if not self._guarded(request.id, lambda: self._handle(request)):
                return

    def _guarded(self, request_id: int, step: Callable[[], None]) -> bool:
        """Run one step; report failures. False when the connection is gone."""
        try:
            step()
        except (IMAPClientAbortError, OSError) as error:
            log.warning("connection lost: %s", error)
            self._post(ConnectionFailed(request_id, f"The connection to {self.account.host} was lost: {error}"))
            return False
        except (IMAPClientError, commands.UnsafeArgument, ValueError) as error:
            self._post(RequestFailed(request_id, str(error)))
        except Exception as error:
            log.exception("request %s failed", request_id)
            self._post(RequestFailed(request_id, f"Unexpected error: {error}"))
        return True

    def _handle(self, request: Request) -> None:
        client = self._client
        if isinstance(request, ListMailboxes):
            mailboxes = commands.list_mailboxes(client)
            self._post(MailboxesListed(request.id, tuple(mailboxes)))
            if request.with_status:
                self._background.extend(("status", request.id, m.raw_name) for m in mailboxes if m.selectable)
        elif isinstance(request, SelectMailbox):
            # If this SELECT fails, no mailbox is selected any more (RFC 3501): forget the
            # old one first, so its fill cannot run against the wrong (or no) mailbox.
            self._selection = None
            self._background = deque(step for step in self._background if step[0] != "fill")
            selected = commands.select_mailbox(client, request.raw_name, request.read_only)
            self._selection = _Selection(selected.raw_name, selected.uidvalidity, len(selected.uids), set())
            self._post(MailboxSelected(request.id, selected))
            self._queue_fill(request.id, selected.uids)
        elif isinstance(request, FetchStatus):
            self._post(StatusFetched(request.id, commands.fetch_status(client, request.raw_name)))
        elif isinstance(request, FetchEnvelopes):
            self._fetch_envelopes(request.id, request.raw_name, request.uidvalidity, list(request.uids))
        elif isinstance(request, FetchMessage):
            self._fetch_message(request)

    def _queue_fill(self, request_id: int, uids: tuple[int, ...]) -> None:
        newest_first = list(reversed(uids))
        for start in range(0, len(newest_first), self._fill_batch):
            self._background.append(("fill", request_id, newest_first[start : start + self._fill_batch]))

    def _background_step(self) -> None:
        kind, request_id, arg = self._background.popleft()
        if kind == "status":
            self._post(StatusFetched(request_id, commands.fetch_status(self._client, arg)))
        elif kind == "fill" and self._selection:
            sel = self._selection
            self._fetch_envelopes(request_id, sel.raw_name, sel.uidvalidity, arg)

    def _fetch_envelopes(self, request_id: int, raw_name: bytes, uidvalidity: int, uids: list[int]) -> None:
        sel = self._selection
        if sel is None or sel.raw_name != raw_name or sel.uidvalidity != uidvalidity:
            return  # asked about a mailbox we have left: nobody is waiting for it
        wanted = [uid for uid in uids if uid not in sel.loaded]
        if not wanted:
            return
        envelopes = commands.fetch_envelopes(self._client, wanted)
        sel.loaded.update(wanted)
        self._post(EnvelopesFetched(request_id, raw_name, uidvalidity, tuple(envelopes), len(sel.loaded), sel.total))

    def _fetch_message(self, request: FetchMessage) -> None:
        ref = request.ref
        sel = self._selection
        if sel is None or sel.raw_name != ref.mailbox or sel.uidvalidity != ref.uidvalidity:
            raise ValueError("that message belongs to a mailbox that is no longer open")
        raw, truncated = commands.fetch_message(self._client, ref.uid, MAX_MESSAGE_BYTES)
        flags = commands.mark_seen(self._client, ref.uid) if request.mark_seen else None
        self._post(MessageFetched(request.id, ref, raw, truncated, flags))
