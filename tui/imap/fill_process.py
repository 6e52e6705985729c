"""A big mailbox's list rows, fetched by a second process over a second connection.

Reading and parsing 100,000 rows costs about a second of Python, and in the app's process
every bit of it holds the GIL the UI thread needs to start up and to answer keys. A child
process has a GIL and a CPU core of its own: it logs in, EXAMINEs the mailbox (read-only:
no flag changes, no \\Recent taken), fetches the UIDs it is given with the same lean fetch,
newest first, and streams the rows back over a pipe; the worker only unpacks them
(marshal: a tenth of the cost of parsing them). The worker puts them into the header
cache once the list is complete, while the user does not type (worker.py): in the child,
the inserts would double its work on the way to the full list.

Parent to child (stdin, pickles): ("login", account, password) at once, then a `Job`
when the UIDs are known, then stdin closes. The password never goes on the command line
or into the environment, where other users' `ps` could see it.
Child to parent (stdout): frames of a 4-byte length and a marshal payload:
("rows", [(uid, flags, internaldate, size, headers, placeholder), ...]), then ("done",)
or ("failed", "why"). The child's stderr goes nowhere: the terminal belongs to the UI.

Whatever goes wrong with the child (it cannot start, log in, or open the mailbox; the
UIDVALIDITY differs; it dies), the worker fetches what is left itself.

Pure module: no Textual.
"""

from __future__ import annotations

import fcntl
import logging
import marshal
import os
import pickle
import select
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

from ..config import Account
from ..headers import Row

__all__ = ["BATCH", "FillProcess", "Job", "main"]

log = logging.getLogger(__name__)

BATCH = 5000  # rows per command and per frame: ~60 ms of the child's work, ~5 ms of the worker's
_HEADER = struct.Struct(">I")
_new_tuple = tuple.__new__
_ROW_FIELDS = len(Row._fields)
_PIPE_SIZE = 1024 * 1024
NICE = 5  # the child's niceness: a background job
MAX_FRAME = 512 * 1024 * 1024  # a frame longer than this is not from our child: the fill stops


@dataclass(frozen=True)
class Job:
    raw_name: bytes
    uidvalidity: int
    uids: str  # a UID set ("1:40000,40002"): fetched newest first. A few bytes, where a
    # pickled list of 100,000 would fill the pipe while the child is still logging in
    batch: int = BATCH


class FillProcess:
    """The worker's side: start the child (it logs in at once), later hand it the job
    (`start`), read its frames (`rows`). A child never given a job logs out when `stop`ped."""

    # -P: never a tui/ from the current directory (it would be handed the password)
    command = (sys.executable, "-P", "-m", "tui.imap.fill_process")

    def __init__(self, account: Account, secret: str) -> None:
        self.started = False
        self.finished = False  # "done" or "failed" came, or the pipe ended
        self.failure: str | None = None
        self._buffer = bytearray()
        self._process = subprocess.Popen(
            list(self.command),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True,  # the terminal's signals are the UI's; the worker stops it
        )
        os.set_blocking(self._process.stdout.fileno(), False)
        try:  # a frame is ~2.5 MB: 64 KB at a wake-up would cost the worker 40 of them
            fcntl.fcntl(self._process.stdout.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_SIZE)
        except OSError:
            pass  # not Linux, or above /proc/sys/fs/pipe-max-size: the default works too
        self._tell(("login", account, secret))

    def start(self, job: Job) -> None:
        """The mailbox and the UIDs to fetch: the child begins (or has failed: see `rows`)."""
        self.started = True
        self._tell(job)
        self._close_stdin()

    def _close_stdin(self) -> None:
        try:
            self._process.stdin.close()
        except OSError:
            pass

    def _tell(self, message) -> None:
        try:
            self._process.stdin.write(pickle.dumps(message))
            self._process.stdin.flush()
        except OSError as error:  # it has died: rows() says so
            log.warning("the fill process is gone: %s", error)

    @property
    def pid(self) -> int:
        return self._process.pid

    def fileno(self) -> int:
        return self._process.stdout.fileno()

    def rows(self, wait: float, waker=None) -> list[Row] | None:
        """The next frame's rows, waiting at most `wait` seconds (less if `waker` is set);
        None if none came in time or the child has finished (see `finished`, `failure`).
        A frame begun is read on to its end within that time, not a pipe's worth per call."""
        if self.finished:
            return None
        deadline = time.monotonic() + wait
        watched = [self] if waker is None else [self, waker]
        while (frame := self._next_frame()) is None:
            left = deadline - time.monotonic()
            if self.finished or left <= 0:
                return None
            ready, _, _ = select.select(watched, [], [], left)
            if self not in ready:
                return None  # the time is up, or the waker: a request waits
            self._read_available()
        kind = frame[0] if isinstance(frame, tuple) and frame else None
        if kind == "rows" and len(frame) == 2:
            # Our own child's tuples, made from Rows: built the fastest way (a third of
            # Row(...)); a flag set is one object per frame already (marshal keeps sharing).
            try:
                rows = [_new_tuple(Row, row) for row in frame[1]]
                if any(len(row) != _ROW_FIELDS for row in rows):
                    raise ValueError("a row of another shape")
            except (TypeError, ValueError):  # not from this version of us
                self._fail("the fill process sent an unreadable frame")
                return None
            return rows
        if kind == "done":
            self.finished = True
            self._reap()
        else:
            self._fail(str(frame[1]) if kind == "failed" and len(frame) == 2 else "the fill process sent an unknown frame")
        return None

    def stop(self) -> None:
        """Stop the child (a mailbox switch, a reconnect, quitting); never raises. One that
        was never given a job is only told so: it logs out and ends by itself."""
        self.finished = True
        if not self.started:
            self._close_stdin()
            return
        if self._process.poll() is None:
            try:
                self._process.kill()
            except OSError:
                pass
        self._reap()

    def _read_available(self) -> None:
        """Into the buffer, what the pipe has now; its end is a failure unless "done" came."""
        try:
            while chunk := os.read(self.fileno(), 1 << 20):
                self._buffer += chunk
                if len(self._buffer) > MAX_FRAME + _HEADER.size:
                    return  # _next_frame refuses it
        except BlockingIOError:
            return
        except OSError as error:
            self._fail(f"the fill process pipe failed ({error})")
            return
        if len(self._buffer) < _HEADER.size or len(self._buffer) < _HEADER.size + _HEADER.unpack_from(self._buffer)[0]:
            self._fail("the fill process ended early")  # end of file, and no whole frame left

    def _next_frame(self):
        if len(self._buffer) < _HEADER.size:
            return None
        (size,) = _HEADER.unpack_from(self._buffer)
        if size > MAX_FRAME:
            self._fail("the fill process sent an oversized frame")
            return None
        if len(self._buffer) < _HEADER.size + size:
            return None
        payload = bytes(self._buffer[_HEADER.size:_HEADER.size + size])
        del self._buffer[:_HEADER.size + size]
        try:
            return marshal.loads(payload)
        except (EOFError, ValueError, TypeError):
            self._fail("the fill process sent an unreadable frame")
            return None

    def _fail(self, why: str) -> None:
        if not self.finished:
            log.warning("%s", why)
            self.failure = why
        self.stop()

    def _reap(self) -> None:
        try:
            self._process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self._process.kill()
            try:
                self._process.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                pass
        for pipe in (self._process.stdin, self._process.stdout):
            try:
                pipe.close()
            except OSError:
                pass


# -- the child ---------------------------------------------------------------------------------


def batches(client, job: Job) -> Iterator[list[Row]]:
    """EXAMINE the mailbox and fetch the job's rows, `job.batch` at a time."""
    from imapclient.exceptions import IMAPClientError

    from ..headers import MAX_HEADER_BLOCK
    from . import lean_fetch, sync
    from .bulk_read import read_uid
    from .lean_fetch import MAX_UIDS
    from .uidset import expand_uid_set

    try:
        selected, _ = sync.select(client, job.raw_name, read_only=True)
        if selected.uidvalidity != job.uidvalidity:
            raise IMAPClientError("the mailbox changed (UIDVALIDITY) since it was opened")
        uids = sorted(expand_uid_set(job.uids, MAX_UIDS), reverse=True)
        chunks = [uids[start:start + job.batch] for start in range(0, len(uids), job.batch)]
        tag = lean_fetch.send_rows_fetch(client, chunks[0]) if chunks else None
        for index, chunk in enumerate(chunks):
            outcome = read_uid(client, tag, keep=MAX_HEADER_BLOCK)
            if index + 1 < len(chunks):  # the server works on the next batch while this one is parsed
                tag = lean_fetch.send_rows_fetch(client, chunks[index + 1])
            yield lean_fetch.rows_answered(client, outcome, chunk)
    finally:
        try:
            client.logout()
        except Exception:  # noqa: BLE001 - the rows are in; a rude goodbye costs nothing
            pass


def _send(out, frame) -> None:
    payload = marshal.dumps(frame)
    out.write(_HEADER.pack(len(payload)) + payload)
    out.flush()


def main() -> int:
    from ..gc_tuning import tune_gc
    from .connection import connect

    tune_gc()  # it builds 100,000 rows too

    out, messages = sys.stdout.buffer, sys.stdin.buffer
    try:
        os.nice(NICE)  # when the cores are busy, the UI answers keys first
    except OSError:
        pass
    try:
        _, account, secret = pickle.load(messages)
        client = connect(account, secret)
        try:
            job = pickle.load(messages)
        except EOFError:  # not needed after all
            client.logout()
            return 0
        for rows in batches(client, job):
            _send(out, ("rows", [tuple(row) for row in rows]))
        _send(out, ("done",))
    except BrokenPipeError:
        return 1  # the worker stopped us: nobody to tell
    except Exception as error:  # noqa: BLE001 - the worker falls back to fetching itself
        try:
            _send(out, ("failed", f"{type(error).__name__}: {error}"[:500]))
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
