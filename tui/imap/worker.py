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
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from ..config import Account
from ..models import MailboxStatus
from . import commands, search
from .connection import ConnectError, connect
from .handlers import TriageHandlers
from .trace import ProtocolTrace
from .trace import detach as detach_trace
from ..secrets import SecretError
from .contract import (
    Connected,
    ConnectionFailed,
    ConnectionLost,
    EnvelopesFetched,
    FetchEnvelopes,
    FetchMessage,
    FetchStatus,
    FlagsChanged,
    ListMailboxes,
    MailboxesListed,
    MailboxSelected,
    MessageFetched,
    Reconnected,
    Request,
    RequestFailed,
    Result,
    SearchFinished,
    SearchMessages,
    SelectMailbox,
    Shutdown,
    StatusFetched,
    StoreFlags,
)

log = logging.getLogger(__name__)

FILL_BATCH = 500
MAX_RETRIES = 1  # a request that drops the connection again is reported, not sent a third time
KEEPALIVE = 60.0  # seconds of idleness before a NOOP
RECONNECT_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)  # then every 60 s
MAX_MESSAGE_BYTES = 20 * 1024 * 1024  # a later issue fetches huge parts by ranges


@dataclass
class _Selection:
    raw_name: bytes
    uidvalidity: int
    total: int
    loaded: set[int]
    request_id: int  # the SelectMailbox it answers; a re-select after a reconnect reuses it
    read_only: bool  # as asked (EXAMINE); a re-select asks the same
    uids: list[int] = field(default_factory=list)  # ascending: the mailbox as we last knew it
    vanished: set[int] = field(default_factory=set)  # gone since it was opened: not filled any more
    writable: bool = True  # False when the server opened it READ-ONLY


class ImapWorker(TriageHandlers):
    def __init__(
        self,
        account: Account,
        secret: str | Callable[[], str],
        post: Callable[[Result], None],
        *,
        fill_batch: int = FILL_BATCH,
        connect_fn: Callable[[Account, str], IMAPClient] = connect,
        reconnect_delays: tuple[float, ...] = RECONNECT_DELAYS,
        keepalive: float = KEEPALIVE,
        trace: ProtocolTrace | None = None,
    ) -> None:
        self.account = account
        # Kept for reconnects, in memory only; a callable (an OAuth token command)
        # is asked again each time, since tokens expire.
        self._secret = secret
        self._post = post
        self._reconnect_delays = reconnect_delays
        self._keepalive = keepalive
        self.trace = trace
        self._drops = 0  # connection drops since the last step that worked
        self._lost_selection: _Selection | None = None
        self._stopping = threading.Event()
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
        self._stopping.set()
        self._requests.put(Shutdown())
        self._thread.join(timeout)

    # -- the thread -------------------------------------------------------

    def _run(self) -> None:
        try:
            self._client = self._open()
        except ConnectError as error:
            # At start-up a failure is the user's to fix (host, password, certificate):
            # say it once, do not retry in a loop.
            self._post(ConnectionFailed(0, str(error)))
            return
        except Exception as error:  # never a silent dead thread
            log.exception("connect failed")
            self._post(ConnectionFailed(0, f"Cannot connect to {self.account.host}: {error}"))
            return
        self._post(Connected(0, self._capabilities()))
        try:
            self._loop()
        finally:
            try:
                self._client.logout()
            except Exception:
                pass

    def _open(self) -> IMAPClient:
        secret = self._secret() if callable(self._secret) else self._secret
        if self.trace is None:
            return self._connect(self.account, secret)
        return self._connect(self.account, secret, self.trace)

    def _capabilities(self) -> frozenset[str]:
        return frozenset(c.decode("ascii", "replace") for c in self._client.capabilities())

    def _loop(self) -> None:
        while True:
            try:
                if self._background:
                    request = self._requests.get(block=False)
                else:
                    request = self._requests.get(timeout=self._keepalive)
            except queue.Empty:
                # Background work, or an idle NOOP that notices a dropped connection
                # before the user's next key press does.
                step = self._background_step if self._background else self._keepalive_noop
                if not self._guarded(0, step) and not self._reconnect():
                    return
                continue
            if isinstance(request, Shutdown):
                return
            attempts = 0
            while not self._guarded(request.id, lambda: self._handle(request)):
                if not self._reconnect():
                    return
                attempts += 1
                if not request.retry_safe:
                    self._post(RequestFailed(request.id, "the connection dropped; not retried, check the mailbox"))
                    break
                if attempts > MAX_RETRIES:
                    # The same request keeps killing the connection: stop feeding it to the server.
                    self._post(RequestFailed(request.id, "the connection dropped each time this was asked"))
                    break

    def _reconnect(self) -> bool:
        """Reconnect with backoff and re-select the open mailbox. False: give up (stopping or fatal)."""
        selection = self._selection or self._lost_selection
        self._lost_selection = selection  # kept until a re-select succeeds
        self._selection = None
        self._background = deque(step for step in self._background if step[0] != "fill")
        while True:
            # The backoff grows across back-to-back drops; only a success resets it.
            delay = self._reconnect_delays[min(self._drops, len(self._reconnect_delays) - 1)]
            self._drops += 1
            self._discard_client()
            if self._stopping.wait(delay):
                return False
            try:
                self._client = self._open()
            except ConnectError as error:
                if not error.retryable:  # a wrong password or certificate stays wrong
                    self._post(ConnectionFailed(0, str(error)))
                    return False
                self._post(ConnectionLost(0, f"{error} Retrying…"))
                continue
            except SecretError as error:  # e.g. the OAuth token command now fails
                self._post(ConnectionFailed(0, str(error)))
                return False
            except Exception as error:  # keep trying, and say why: the network may come back
                log.warning("reconnect failed: %s", error)
                self._post(ConnectionLost(0, f"Reconnecting to {self.account.host} failed ({error}); retrying…"))
                continue
            self._post(Reconnected(0, self._capabilities()))
            if selection is None:
                return True
            # The user's view must match the server again: re-select, refill.
            reselect = lambda: self._select(selection.request_id, selection.raw_name, selection.read_only)  # noqa: E731
            if self._guarded(selection.request_id, reselect):
                self._lost_selection = None
                return True
            # Dropped again during the re-select: go round, keeping the selection.

    def _discard_client(self) -> None:
        """Let go of a dead connection: close its socket and untie the trace from it."""
        client, self._client = self._client, None
        if client is None:
            return
        if self.trace is not None:
            detach_trace(client._imap)
        try:
            client.shutdown()
        except Exception:
            pass

    def _guarded(self, request_id: int, step: Callable[[], None]) -> bool:
        """Run one step; report failures. False when the connection is gone."""
        try:
            step()
            self._drops = 0
        except (IMAPClientAbortError, OSError) as error:
            log.warning("connection lost: %s", error)
            self._post(ConnectionLost(request_id, f"The connection to {self.account.host} was lost ({error}); reconnecting…"))
            return False
        except (IMAPClientError, commands.UnsafeArgument, ValueError) as error:
            self._post(RequestFailed(request_id, str(error)))
        except Exception as error:
            log.exception("request %s failed", request_id)
            self._post(RequestFailed(request_id, f"Unexpected error: {error}"))
        return True

    def _keepalive_noop(self) -> None:
        # Its answers (new mail, expunges) are kept in order for the next CheckMailbox.
        commands.run_command(self._client, "NOOP")

    def _handle(self, request: Request) -> None:
        if isinstance(request, ListMailboxes):
            self._list_mailboxes(request.id, request.pattern, request.with_status)
        elif isinstance(request, SelectMailbox):
            self._select(request.id, request.raw_name, request.read_only)
        elif isinstance(request, FetchStatus):
            self._post(StatusFetched(request.id, self._status(request.raw_name)))
        elif isinstance(request, FetchEnvelopes):
            self._fetch_envelopes(request.id, request.raw_name, request.uidvalidity, list(request.uids), asked=True)
        elif isinstance(request, FetchMessage):
            self._fetch_message(request)
        elif isinstance(request, StoreFlags):
            self._store_flags(request)
        elif isinstance(request, SearchMessages):
            self._search(request)
        else:
            self._handle_triage(request)

    def _list_mailboxes(self, request_id: int, pattern: bytes, with_status: bool) -> None:
        mailboxes = commands.list_mailboxes(self._client, pattern)
        self._post(MailboxesListed(request_id, tuple(mailboxes)))
        if with_status:
            self._background.extend(("status", request_id, m.raw_name) for m in mailboxes if m.selectable)

    def _select(self, request_id: int, raw_name: bytes, read_only: bool) -> None:
        # If this SELECT fails, no mailbox is selected any more (RFC 3501): forget the
        # old one first, so its fill cannot run against the wrong (or no) mailbox.
        self._selection = None
        self._background = deque(step for step in self._background if step[0] != "fill")
        selected = commands.select_mailbox(self._client, raw_name, read_only)
        commands.reset_journal(self._client)
        self._selection = _Selection(
            selected.raw_name, selected.uidvalidity, len(selected.uids), set(), request_id, read_only,
            uids=list(selected.uids), writable=not selected.read_only,
        )
        self._post(MailboxSelected(request_id, selected))
        self._queue_fill(request_id, selected.uids)

    def _queue_fill(self, request_id: int, uids: tuple[int, ...]) -> None:
        newest_first = list(reversed(uids))
        for start in range(0, len(newest_first), self._fill_batch):
            self._background.append(("fill", request_id, newest_first[start : start + self._fill_batch]))

    def _queue_fill_first(self, request_id: int, uids: list[int]) -> None:
        """New mail: its rows go before the rest of the fill."""
        newest_first = list(reversed(uids))
        batches = [newest_first[i : i + self._fill_batch] for i in range(0, len(newest_first), self._fill_batch)]
        for batch in reversed(batches):
            self._background.appendleft(("fill", request_id, batch))

    def _background_step(self) -> None:
        kind, request_id, arg = self._background.popleft()
        if kind == "status":
            self._post(StatusFetched(request_id, self._status(arg)))
        elif kind == "fill" and self._selection:
            sel = self._selection
            present = [uid for uid in arg if uid not in sel.vanished]  # no rows for what has gone
            self._fetch_envelopes(request_id, sel.raw_name, sel.uidvalidity, present)

    def _status(self, raw_name: bytes) -> MailboxStatus:
        sel = self._selection
        if sel is not None and sel.raw_name == raw_name:
            # STATUS on the selected mailbox is a client bug (RFC 3501 6.3.10; Dovecot
            # says [CLIENTBUG]): count its unseen messages with a search instead.
            return MailboxStatus(raw_name, sel.total, commands.count_unseen(self._client))
        return commands.fetch_status(self._client, raw_name)

    def _fetch_envelopes(
        self, request_id: int, raw_name: bytes, uidvalidity: int, uids: list[int], asked: bool = False
    ) -> None:
        sel = self._selection
        if sel is None or sel.raw_name != raw_name or sel.uidvalidity != uidvalidity:
            if asked:  # the UI waits for these rows: tell it, so it asks again later
                raise ValueError("that mailbox is not open right now")
            return  # a fill for a mailbox we have left: nobody is waiting for it
        wanted = [uid for uid in uids if uid not in sel.loaded]
        if not wanted:
            return
        envelopes = commands.fetch_envelopes(self._client, wanted)
        sel.loaded.update(wanted)
        self._post(EnvelopesFetched(request_id, raw_name, uidvalidity, tuple(envelopes), len(sel.loaded), sel.total))

    def _store_flags(self, request: StoreFlags) -> None:
        sel = self._writable_selection(request.raw_name, request.uidvalidity)
        uids = list(request.uids)
        try:
            flags = commands.store_flags(self._client, uids, request.flags, request.add)
        except IMAPClientAbortError:
            raise
        except IMAPClientError:
            # NO or BAD: show the list as the server has it, then report the refusal.
            self._post(FlagsChanged(request.id, sel.raw_name, sel.uidvalidity,
                                    tuple(commands.read_flags(self._client, uids).items())))
            raise
        self._post(FlagsChanged(request.id, sel.raw_name, sel.uidvalidity, tuple(flags.items())))
        # And what other clients did meanwhile, if anything.
        self.follow_up(request.id, reported=flags)

    def _search(self, request: SearchMessages) -> None:
        sel = self._selection
        if sel is None or (sel.raw_name, sel.uidvalidity) != (request.raw_name, request.uidvalidity):
            raise ValueError("that mailbox is no longer open; search again")
        # More matches than the mailbox holds (plus new mail) would be a hostile answer.
        uids = search.search(self._client, request.command, limit=len(sel.uids) + 100_000)
        self._post(SearchFinished(request.id, sel.raw_name, sel.uidvalidity, request.query, tuple(uids)))
        self.follow_up(request.id)  # what other clients did meanwhile: the list must match the server

    def _fetch_message(self, request: FetchMessage) -> None:
        ref = request.ref
        sel = self._selection
        if sel is None or sel.raw_name != ref.mailbox or sel.uidvalidity != ref.uidvalidity:
            raise ValueError("that message belongs to a mailbox that is no longer open")
        raw, truncated = commands.fetch_message(self._client, ref.uid, MAX_MESSAGE_BYTES)
        flags = commands.mark_seen(self._client, ref.uid) if request.mark_seen else None
        self._post(MessageFetched(request.id, ref, raw, truncated, flags))
