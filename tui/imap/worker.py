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
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from ..cache import HeaderCache
from ..cache_writer import CacheWriter
from ..config import Account
from ..headers import Row
from ..models import MailboxStatus
from ..secrets import SecretError
from . import alerts, commands, idle, ordering, search, sync
from .connection import ConnectError, connect
from .contract import (
    Connected,
    ConnectionFailed,
    ConnectionLost,
    FetchEnvelopes,
    FetchMessage,
    FetchPart,
    FetchStatus,
    FlagsChanged,
    ListMailboxes,
    MailboxesListed,
    MailboxSelected,
    MessagesOrdered,
    Notice,
    OrderMessages,
    Reconnected,
    Request,
    RequestFailed,
    Result,
    SavePart,
    SearchFinished,
    SearchMessages,
    SelectMailbox,
    Shutdown,
    StatusFetched,
    StoreFlags,
)
from .fill_process import FillProcess
from .handlers import TriageHandlers
from .message_fetch import MessageFetching
from .list_loading import (
    CACHE_BATCH,
    FILL_BATCH,
    FILL_PROCESS_MIN,
    FIRST_BATCH,
    ListLoading,
)
from .trace import ProtocolTrace
from .trace import detach as detach_trace

log = logging.getLogger(__name__)

FILL_PAUSE = 0.005  # seconds the worker rests after a fill step: the UI thread gets the GIL
USER_ACTIVE = 0.25  # after a key press, background steps wait this long for the UI to draw
MAX_RETRIES = 1  # a request that drops the connection again is reported, not sent a third time
KEEPALIVE = 60.0  # seconds of quiet before a NOOP, without IDLE: it notices new mail and dead links
IDLE_RENEW = 5 * 60.0  # IDLE is left and entered again this often: the server's limit is 29 minutes
STATUS_EVERY = 5 * 60.0  # the other mailboxes' counts are asked again this often
RECONNECT_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)  # then every 60 s


def cache_key(account: Account) -> str:
    """The header cache's name for an account: its name, user, host and port."""
    return f"{account.name}\x00{account.username}@{account.host}:{account.port}"


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
    cached_rows: Iterator[list[Row]] | None = None  # the header cache's rows not posted yet
    # While they are read: the server's UIDs at the SELECT (a cached row of another UID was
    # expunged while we were away), and whether such a row came. What the cache lacks is
    # known, and fetched, once its rows are all read.
    on_server: frozenset[int] = frozenset()
    stale_cached: bool = False
    # Without CONDSTORE the cache's flags may be stale. Until every message's flags are in
    # (fresh_flags), the flags of the rows posted are kept (posted_flags) to correct them
    # afterwards; then cached rows are corrected as they are read. Kept current by the session.
    fresh_flags: dict[int, frozenset[str]] | None = None
    posted_flags: dict[int, frozenset[str]] | None = None
    modseq_after: int | None = None  # stored in the cache once the corrections are done


class ImapWorker(TriageHandlers, ListLoading, MessageFetching):
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
        idle_renew: float = IDLE_RENEW,
        use_idle: bool = True,
        status_every: float = STATUS_EVERY,
        trace: ProtocolTrace | None = None,
        cache_path: Path | None = None,
        fill_process_min: int | None = FILL_PROCESS_MIN,
    ) -> None:
        self.account = account
        # Kept for reconnects, in memory only; a callable (an OAuth token command)
        # is asked again each time, since tokens expire.
        self._secret = secret
        self._post = post
        self._reconnect_delays = reconnect_delays
        self._keepalive = keepalive
        self._idle_renew = idle_renew
        self._status_every = status_every
        self._waker = idle.Waker()  # ends an IDLE wait when a request comes
        self._use_idle = use_idle  # False: poll with NOOP even where IDLE works
        self._no_idle = False  # the server refused IDLE on this connection: poll with NOOP
        self._status_names: tuple[bytes, ...] = ()  # the mailboxes whose counts the tree shows
        self._status_due = float("inf")
        self._user_active_until = 0.0
        self.trace = trace
        self._drops = 0  # connection drops since the last step that worked
        self._lost_selection: _Selection | None = None
        self._stopping = threading.Event()
        self._fill_batch = fill_batch
        self._fill_process_min = fill_process_min  # None: every row is fetched on this connection
        self._filler: FillProcess | None = None  # the open mailbox's fill process (logging in, or fetching)
        # Rows the fill process brought, not in the header cache yet: (mailbox, uidvalidity)
        # -> rows; and flag changes the server reported since it began, by the same key:
        # its rows may be older than those (see _remote_fill_step, _save_step).
        self._unsaved: dict[tuple[bytes, int], list[Row]] = {}
        self._unsaved_flags: dict[tuple[bytes, int], dict[int, frozenset[str]]] = {}
        self._connect = connect_fn
        self._cache_path = cache_path
        # The cache's name for this account: the same config name pointed at another
        # server or user must not find the first one's rows.
        self._cache_key = cache_key(account)
        self._cache = HeaderCache(None)  # the real one is opened on the worker thread (sqlite3 objects stay on theirs)
        self._requests: queue.Queue[Request] = queue.Queue()
        self._background: deque[tuple] = deque()
        self._selection: _Selection | None = None
        self._client: IMAPClient | None = None
        self._thread = threading.Thread(target=self._run, name=f"imap-{account.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, request: Request) -> Request:
        self._requests.put(request)
        self._waker.wake()
        return request

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._requests.put(Shutdown())
        self._waker.wake()
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._waker.close()

    # -- the thread -------------------------------------------------------

    def _run(self) -> None:
        if self._cache_path is not None:
            self._cache = CacheWriter(HeaderCache(self._cache_path))
            if self._cache.notice:
                self._post(Notice(0, self._cache.notice))
        try:
            self._run_connected()
        finally:
            self._stop_filler()
            self._save_unsaved()
            self._cache.close()  # waits for the writes

    def _run_connected(self) -> None:
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
        self._post_alerts()
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
            self._queue_status_refresh()
            idling = not self._background and self._can_idle()
            try:
                if self._background or idling:
                    request = self._requests.get(block=False)
                else:
                    request = self._requests.get(timeout=self._quiet_time(self._keepalive))
            except queue.Empty:
                # Background work; else wait in IDLE for news of the open mailbox; else a
                # NOOP that notices new mail and a dropped connection before the user does.
                if self._background and time.monotonic() < self._user_active_until:
                    self._yield_to_user()  # the user is typing: background work waits (requests do not)
                    continue
                if self._background:
                    step = self._background_step
                else:
                    step = self._idle_step if idling else self._poll_step
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
                    self._post(RequestFailed(request.id, self._unconfirmed(request)))
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
        self._drop_fills()
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
            self._no_idle = False  # a new connection (maybe another server behind the name)
            self._post(Reconnected(0, self._capabilities()))
            self._post_alerts()
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
        # The alert watch (alerts.watch_alerts) closes over the connection: a cycle,
        # never collected if gc.freeze() caught it (gc_tuning).
        client._imap.__dict__.pop("_append_untagged", None)
        try:
            client.shutdown()
        except Exception:
            pass

    def _guarded(self, request_id: int, step: Callable[[], None]) -> bool:
        """Run one step; report failures. False when the connection is gone."""
        try:
            try:
                step()
                self._drops = 0
            except (IMAPClientAbortError, OSError) as error:
                log.warning("connection lost: %s", error)
                self._post(ConnectionLost(request_id, self._lost(error)))
                return False
            except (IMAPClientError, commands.UnsafeArgument, ValueError) as error:
                self._post(RequestFailed(request_id, str(error)))
            except Exception as error:
                log.exception("request %s failed", request_id)
                self._post(RequestFailed(request_id, f"Unexpected error: {error}"))
            return True
        finally:
            self._post_alerts()  # whatever the step read, and however it ended

    def _post_alerts(self) -> None:
        """[ALERT]s must reach the user (RFC 3501 7.1): as notices, which the UI makes inert."""
        if self._client is not None:
            for text in alerts.take_alerts(self._client):
                self._post(Notice(0, f"{self.account.host} says: {text}"))

    def _lost(self, error: Exception) -> str:
        # A silent server looks like any other drop ("timed out") unless the user is told
        # that it stopped answering, and after how long (the account's read_timeout).
        if any(isinstance(e, TimeoutError) for e in (error, error.__cause__, error.__context__)):
            return (f"{self.account.host} stopped answering (nothing for {self.account.read_timeout:g} s); "
                    "reconnecting…")
        return f"The connection to {self.account.host} was lost ({error}); reconnecting…"

    def _can_idle(self) -> bool:
        return (self._use_idle and self._selection is not None and not self._no_idle
                and idle.can_idle(self._client))

    def _quiet_time(self, limit: float) -> float:
        """How long the worker may wait for a request before it has something to do."""
        return max(0.0, min(limit, self._status_due - time.monotonic()))

    def _idle_step(self) -> None:
        wait = self._quiet_time(self._idle_renew)
        began = time.monotonic()
        try:
            outcome = idle.wait_for_changes(self._client, self._waker, wait)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as error:  # refused: this server gets NOOPs instead
            log.warning("IDLE refused, polling instead: %s", error)
            self._no_idle = True
            return
        if outcome == "changed" and self._selection is not None and not self._refresh_open_mailbox():
            self._no_idle = True  # the news cannot be read: polling will not spin on it
        elif outcome == "timeout" and wait > 2.0 and time.monotonic() - began < wait / 4:
            log.warning("the server ends IDLE at once; polling instead")
            self._no_idle = True  # else the loop would send IDLE again and again

    def _poll_step(self) -> None:
        if self._selection is not None:
            self._refresh_open_mailbox()
        else:
            commands.run_command(self._client, "NOOP")

    def _refresh_open_mailbox(self) -> bool:
        """What other clients changed, for the list: new mail, flags, expunges. False if it failed."""
        try:
            changes = self._sync()
        except IMAPClientAbortError:
            raise
        except IMAPClientError as error:
            log.warning("checking the open mailbox failed: %s", error)
            return False
        self._post_changes(0, changes, always=False)
        return True

    def _queue_status_refresh(self) -> None:
        """Every few minutes, the other mailboxes' counts again, in the background."""
        if time.monotonic() < self._status_due or self._client is None:
            return
        self._status_due = time.monotonic() + self._status_every
        open_name = self._selection.raw_name if self._selection is not None else None
        queued = {step[2] for step in self._background if step[0] == "status"}
        self._background.extend(
            ("status", 0, name) for name in self._status_names if name != open_name and name not in queued
        )

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
        elif isinstance(request, FetchPart):
            self._fetch_part(request)
        elif isinstance(request, SavePart):
            self._save_part(request)
        elif isinstance(request, StoreFlags):
            self._store_flags(request)
        elif isinstance(request, SearchMessages):
            self._search(request)
        elif isinstance(request, OrderMessages):
            self._order(request)
        else:
            self._handle_triage(request)

    def _list_mailboxes(self, request_id: int, pattern: bytes, with_status: bool) -> None:
        mailboxes = commands.list_mailboxes(self._client, pattern)
        self._post(MailboxesListed(request_id, tuple(mailboxes)))
        if with_status and pattern == b"*":
            self._status_names = tuple(m.raw_name for m in mailboxes if m.selectable)
            self._status_due = time.monotonic() + self._status_every
        if with_status:
            self._background.extend(("status", request_id, m.raw_name) for m in mailboxes if m.selectable)

    def _select(self, request_id: int, raw_name: bytes, read_only: bool) -> None:
        # If this SELECT fails, no mailbox is selected any more (RFC 3501): forget the
        # old one first, so its fill cannot run against the wrong (or no) mailbox.
        if self._unsaved and not any(step[0] == "save" for step in self._background):
            self._background.append(("save", 0, None))  # the mailbox left: its rows still go to the cache
        self._selection = None
        self._drop_fills()
        opened = sync.open_mailbox(self._client, self._cache, self._cache_key, raw_name, read_only)
        selected = opened.selected
        sel = _Selection(
            selected.raw_name, selected.uidvalidity, len(selected.uids), set(), request_id, read_only,
            uids=list(selected.uids), writable=not selected.read_only,
            posted_flags={} if opened.how == "flags" else None,
        )
        self._selection = sel
        self._post(MailboxSelected(request_id, selected, min(opened.cached_count, len(selected.uids))))
        if opened.how == "flags" and b"CONDSTORE" in self._client.capabilities():
            sel.modseq_after = selected.highestmodseq  # once every cached row's flags are corrected
        if not opened.cached_count:
            self._queue_fill(request_id, selected.uids)
            return
        # The newest screenful from the cache at once, the rest of it in the background;
        # then what it lacks (new mail, mostly) from the server. Which UIDs it holds is
        # not asked first: reading 100,000 of them is a third of a reopen.
        newest = selected.uids[-FIRST_BATCH:][::-1]
        screenful = self._cache.rows_for(self._cache_key, raw_name, selected.uidvalidity, newest)
        self._post_rows(request_id, sel, self._corrected(sel, [screenful[uid] for uid in newest if uid in screenful]))
        sel.on_server = frozenset(selected.uids)
        sel.cached_rows = self._cache.rows(self._cache_key, raw_name, selected.uidvalidity,
                                           batch=max(self._fill_batch, CACHE_BATCH))
        self._background.appendleft(("cached", request_id, None))
        if opened.how == "flags":  # right after the first screenful: are its flags still true?
            self._background.appendleft(("flags", request_id, None))

    def _background_step(self) -> None:
        kind, request_id, arg = self._background.popleft()
        if kind == "status":
            self._post(StatusFetched(request_id, self._status(arg)))
        elif kind == "fill" and self._selection:
            sel = self._selection
            present = [uid for uid in arg if uid not in sel.vanished]  # no rows for what has gone
            self._fetch_envelopes(request_id, sel.raw_name, sel.uidvalidity, present)
            self._yield_to_user()
        elif kind == "cached" and self._selection and self._selection.request_id == request_id:
            if self._post_cached(request_id):
                self._background.appendleft(("cached", request_id, None))
                self._yield_to_user()
        elif kind == "flags" and self._selection and self._selection.request_id == request_id:
            self._correct_posted_flags(request_id)
        elif kind == "remote" and self._selection and self._selection.request_id == request_id:
            self._remote_fill_step(request_id, arg)
        elif kind == "save":
            self._save_step()

    def user_active(self, seconds: float = USER_ACTIVE) -> None:
        """The user pressed a key (any thread may call this): background work steps aside."""
        self._user_active_until = time.monotonic() + seconds

    def _yield_to_user(self) -> None:
        """Parsing holds the GIL: without a pause the UI thread waits for it at every step of
        drawing a frame. While the user types, the background load waits for them: each key
        press moves the end of the pause (a batch begun between two keys delayed the second)."""
        until = time.monotonic() + FILL_PAUSE
        while self._requests.empty() and not self._stopping.is_set():  # a request ends the pause
            now = time.monotonic()
            until = max(until, min(self._user_active_until, now + USER_ACTIVE))
            if until <= now:
                return
            time.sleep(min(until - now, 0.01))

    def _status(self, raw_name: bytes) -> MailboxStatus:
        sel = self._selection
        if sel is not None and sel.raw_name == raw_name:
            # STATUS on the selected mailbox is a client bug (RFC 3501 6.3.10; Dovecot
            # says [CLIENTBUG]): count its unseen messages with a search instead.
            return MailboxStatus(raw_name, sel.total, commands.count_unseen(self._client))
        return commands.fetch_status(self._client, raw_name)

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
        self.flags_now(flags)
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

    def _order(self, request: OrderMessages) -> None:
        sel = self._selection
        if sel is None or (sel.raw_name, sel.uidvalidity) != (request.raw_name, request.uidvalidity):
            raise ValueError("that mailbox is no longer open")
        if request.threads:
            roots = ordering.server_threads(self._client)
            answer = MessagesOrdered(request.id, sel.raw_name, sel.uidvalidity, request.key, request.reverse,
                                     True, threads=tuple(roots))
        else:
            uids = ordering.server_sort(self._client, request.key, request.reverse)
            answer = MessagesOrdered(request.id, sel.raw_name, sel.uidvalidity, request.key, request.reverse,
                                     False, uids=tuple(uids))
        self._post(answer)
        self.follow_up(request.id)
