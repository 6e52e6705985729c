"""Loading the open mailbox's list: from the header cache, over this connection, or from
the fill process; and what the worker tells the cache as it learns it.

A mixin of `ImapWorker` (worker.py keeps the thread, the connection, the request loop and
the SELECT). Background steps, in the order `_select` queues them: "flags" (no CONDSTORE:
are the cached rows' flags still true?), "cached" (the header cache's rows, newest
first), "fill" (a batch fetched here), "remote" (a batch from the fill process), "save"
(the fill process's rows into the cache, while the user does not type). Pure module: no
Textual.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING

from ..headers import Row
from . import lean_fetch
from .contract import EnvelopesFetched, MailboxChanged
from .fill_process import FillProcess, Job
from .uidset import compress_uids

if TYPE_CHECKING:
    from .worker import _Selection

log = logging.getLogger(__name__)

FILL_BATCH = 1000  # rows per background step (~50 ms of parsing): a key press never waits long
FIRST_BATCH = 100  # the first step: about a screenful
CACHE_BATCH = 20000  # cached rows per step: reading them is cheap, each step's pause is not
FILL_PROCESS_MIN = 5000  # rows to fetch from which a second process does it (see fill_process)


class ListLoading:
    """ImapWorker's list loading: needs its _selection, _background, _cache and friends."""

    def _drop_fills(self) -> None:
        """The open mailbox's background loading: gone with the mailbox."""
        self._background = deque(step for step in self._background
                                 if step[0] not in ("fill", "cached", "flags", "remote"))
        self._stop_filler()

    def _stop_filler(self) -> None:
        filler, self._filler = self._filler, None
        if filler is not None:
            filler.stop()

    def _can_fill_apart(self) -> bool:
        # An OAuth token source stays in this process: its command runs per connection.
        return self._fill_process_min is not None and isinstance(self._secret, str)

    def _spawn_filler(self) -> FillProcess | None:
        try:
            return FillProcess(self.account, self._secret)
        except Exception as error:  # noqa: BLE001 - whatever it is, this connection fetches instead
            log.warning("no fill process: %s", error)
            return None

    def _queue_fill(self, request_id: int, uids: tuple[int, ...]) -> None:
        """The rows to fetch, newest first, ahead of the mailbox counts: the list is what the
        user looks at. The first batch is a screenful, so the first screen never waits for
        a big one."""
        newest_first = list(reversed(uids))
        first = min(FIRST_BATCH, self._fill_batch)
        steps = [("fill", request_id, newest_first[:first])] if newest_first else []
        rest = newest_first[first:]
        if self._can_fill_apart() and len(rest) >= self._fill_process_min:
            steps.append(("remote", request_id, rest))
            if self._filler is None:  # it starts and logs in while the first screenful is fetched here
                self._filler = self._spawn_filler()
        else:
            steps += self._fill_steps(request_id, rest)
        self._background.extendleft(reversed(steps))

    def _fill_steps(self, request_id: int, newest_first: list[int]) -> list[tuple]:
        return [("fill", request_id, newest_first[start : start + self._fill_batch])
                for start in range(0, len(newest_first), self._fill_batch)]

    def _queue_fill_first(self, request_id: int, uids: list[int]) -> None:
        """New mail: its rows go before the rest of the fill."""
        newest_first = list(reversed(uids))
        batches = [newest_first[i : i + self._fill_batch] for i in range(0, len(newest_first), self._fill_batch)]
        for batch in reversed(batches):
            self._background.appendleft(("fill", request_id, batch))

    def _remote_fill_step(self, request_id: int, uids: list[int]) -> None:
        """Rows from the fill process: the next batch if it has come (waiting a little for
        it, or for a request); if the process fails, this connection fetches what is left."""
        sel = self._selection
        filler = self._filler
        if filler is None or not filler.started:
            filler = self._filler = filler or self._spawn_filler()
            if filler is None:
                self._background.extendleft(reversed(self._fill_steps(request_id, uids)))
                return
            filler.start(Job(sel.raw_name, sel.uidvalidity, compress_uids(uids)))
            self._unsaved_flags.setdefault((sel.raw_name, sel.uidvalidity), {})
            if self.trace is not None:
                self.trace.note(f"the rows of {len(uids):,} messages come over a second connection (pid {filler.pid})")
        self._waker.clear()  # a request that came before this is in the queue; one after wakes the wait
        rows = filler.rows(0.05, self._waker) if self._requests.empty() else None
        if rows:
            rows = [row for row in rows if row.uid not in sel.vanished and row.uid not in sel.loaded]
            changed = self._unsaved_flags.get((sel.raw_name, sel.uidvalidity))
            if changed:  # fetched before another client's change we have already reported
                rows = [row.with_flags(changed[row.uid]) if row.uid in changed else row for row in rows]
            if self._cache.enabled:
                self._unsaved.setdefault((sel.raw_name, sel.uidvalidity), []).extend(
                    row for row in rows if not row.placeholder)
            if sel.fresh_flags is not None:
                sel.fresh_flags.update((row.uid, row.flags) for row in rows)
            self._post_rows(request_id, sel, rows)
        if not filler.finished:
            self._background.appendleft(("remote", request_id, uids))
            if rows:
                self._yield_to_user()
            return
        self._filler = None
        if self._unsaved:
            self._background.append(("save", request_id, None))  # after the tree's counts
        else:
            self._unsaved_flags.clear()
        if filler.failure is not None and self.trace is not None:
            self.trace.note(f"the second connection failed ({filler.failure}); fetching on this one")
        # What it did not bring (it failed; or, never yet seen, left some out): fetched here.
        left = [uid for uid in uids if uid not in sel.loaded and uid not in sel.vanished]
        self._background.extendleft(reversed(self._fill_steps(request_id, left)))

    def _correct_posted_flags(self, request_id: int) -> None:
        """No CONDSTORE: every message's flags, against the cached rows already shown."""
        sel = self._selection
        fresh = lean_fetch.all_flags(self._client)
        shown, sel.posted_flags = sel.posted_flags or {}, None
        changed = {uid: fresh[uid] for uid, flags in shown.items() if uid in fresh and fresh[uid] != flags}
        sel.fresh_flags = fresh  # the cached rows still to come are corrected as they are read
        if changed:
            self._cache.set_flags(self._cache_key, sel.raw_name, sel.uidvalidity, changed.items())
            self._post(MailboxChanged(request_id, sel.raw_name, sel.uidvalidity, tuple(sel.uids), (), (),
                                      tuple(sorted(changed.items()))))

    def _post_cached(self, request_id: int) -> bool:
        """Post the next batch of cached rows; False when there are no more."""
        sel = self._selection
        batch = next(sel.cached_rows, None) if sel.cached_rows is not None else None
        if batch is None:
            sel.cached_rows = None
            if sel.modseq_after and sel.fresh_flags is not None:  # every cached row is right again
                self._cache.set_modseq(self._cache_key, sel.raw_name, sel.uidvalidity, sel.modseq_after)
            if sel.stale_cached:  # expunged while we were away: out of the cache
                self._cache.keep_only(self._cache_key, sel.raw_name, sel.uidvalidity, sel.uids)  # (as it is now)
            sel.on_server = frozenset()
            self._queue_fill(request_id, [uid for uid in sel.uids if uid not in sel.loaded and uid not in sel.vanished])
            return False
        on_server = sel.on_server
        rows = [row for row in batch if row.uid in on_server and row.uid not in sel.vanished and row.uid not in sel.loaded]
        sel.stale_cached = sel.stale_cached or any(row.uid not in on_server for row in batch)
        self._post_rows(request_id, sel, self._corrected(sel, rows))
        return True

    def _corrected(self, sel: _Selection, rows: list[Row]) -> list[Row]:
        """Cached rows with the flags the server has now (see _Selection.fresh_flags)."""
        fresh = sel.fresh_flags
        if fresh is None:
            return rows
        changed = []
        for index, row in enumerate(rows):
            flags = fresh.get(row.uid)
            if flags is not None and flags != row.flags:
                rows[index] = row.with_flags(flags)
                changed.append((row.uid, flags))
        if changed:
            self._cache.set_flags(self._cache_key, sel.raw_name, sel.uidvalidity, changed)
        return rows

    def _post_rows(self, request_id: int, sel: _Selection, rows: list[Row]) -> None:
        if not rows:
            return
        sel.loaded.update(row.uid for row in rows)
        if sel.posted_flags is not None:
            sel.posted_flags.update((row.uid, row.flags) for row in rows)
        self._post(EnvelopesFetched(request_id, sel.raw_name, sel.uidvalidity, tuple(rows), len(sel.loaded), sel.total))

    def _fetch_envelopes(
        self, request_id: int, raw_name: bytes, uidvalidity: int, uids: list[int], asked: bool = False
    ) -> None:
        sel = self._selection
        if sel is None or sel.raw_name != raw_name or sel.uidvalidity != uidvalidity:
            if asked:  # the UI waits for these rows: tell it, so it asks again later
                raise ValueError("that mailbox is not open right now")
            return  # a fill for a mailbox we have left: nobody is waiting for it
        wanted = [uid for uid in uids if uid not in sel.loaded]
        if wanted and sel.cached_rows is not None:  # still reading the cache: these may be in it
            cached = self._cache.rows_for(self._cache_key, raw_name, uidvalidity, wanted)
            self._post_rows(request_id, sel, self._corrected(sel, [cached[uid] for uid in wanted if uid in cached]))
            wanted = [uid for uid in wanted if uid not in cached]
        if not wanted:
            return
        rows = lean_fetch.fetch_rows(self._client, wanted)
        self._cache.put_rows(self._cache_key, raw_name, uidvalidity, [row for row in rows if not row.placeholder])
        if sel.fresh_flags is not None:
            sel.fresh_flags.update((row.uid, row.flags) for row in rows)
        self._post_rows(request_id, sel, rows)

    def _save_step(self) -> None:
        """Rows of the fill process into the header cache, a batch at a time, at the pace
        SQLite writes them (its inserts hand the GIL back and forth at every row) and never
        while the user types."""
        if not self._unsaved:
            return
        (raw_name, uidvalidity), rows = next(iter(self._unsaved.items()))
        batch, rest = rows[:CACHE_BATCH], rows[CACHE_BATCH:]
        if rest:
            self._unsaved[raw_name, uidvalidity] = rest
        else:
            del self._unsaved[raw_name, uidvalidity]
        self._put_unsaved(raw_name, uidvalidity, batch)
        self._cache.flush()
        if not rest and not self._filling(raw_name, uidvalidity):
            self._unsaved_flags.pop((raw_name, uidvalidity), None)
        if self._unsaved:
            self._background.append(("save", 0, None))
            self._yield_to_user()

    def _filling(self, raw_name: bytes, uidvalidity: int) -> bool:
        """A fill process is bringing this mailbox's rows (its flag changes must be kept)."""
        sel = self._selection
        return (self._filler is not None and sel is not None
                and (sel.raw_name, sel.uidvalidity) == (raw_name, uidvalidity))

    def _save_unsaved(self) -> None:
        """Every row still to be cached, queued to the cache's writer now (leaving, quitting)."""
        for (raw_name, uidvalidity), rows in self._unsaved.items():
            self._put_unsaved(raw_name, uidvalidity, rows)
        self._unsaved.clear()
        self._unsaved_flags.clear()

    def _put_unsaved(self, raw_name: bytes, uidvalidity: int, rows: list[Row]) -> None:
        sel = self._selection
        if sel is not None and (sel.raw_name, sel.uidvalidity) == (raw_name, uidvalidity):
            rows = [row for row in rows if row.uid not in sel.vanished]  # expunged since they came
        changed = self._unsaved_flags.get((raw_name, uidvalidity))
        if changed:
            rows = [row.with_flags(changed[row.uid]) if row.uid in changed else row for row in rows]
        self._cache.put_rows(self._cache_key, raw_name, uidvalidity, rows)

    def flags_now(self, changes: dict[int, frozenset[str]]) -> None:
        """Flags the server has now for messages of the open mailbox: into the cache too."""
        sel = self._selection
        if sel is None or not changes:
            return
        kept = self._unsaved_flags.get((sel.raw_name, sel.uidvalidity))
        if kept is not None:  # rows of a fill process still to come, or to be cached
            kept.update(changes)
        if sel.fresh_flags is not None:
            sel.fresh_flags.update(changes)
        self._cache.set_flags(self._cache_key, sel.raw_name, sel.uidvalidity, changes.items())

    def gone_now(self, uids: list[int]) -> None:
        """Messages expunged from the open mailbox: out of the cache."""
        sel = self._selection
        if sel is not None and uids:
            self._cache.remove(self._cache_key, sel.raw_name, sel.uidvalidity, uids)
