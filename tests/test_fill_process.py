"""The fill process (tui.imap.fill_process): a big mailbox's rows over a second connection.

Against a real Dovecot: the rows a child process fetches are the server's, the worker's
own connection fetches only the first screenful, the rows reach the header cache, and
whatever goes wrong with the child (a refused login, garbage on its pipe, a mailbox
switch) costs neither a row nor the app. The password only ever goes through a pipe.
"""

from __future__ import annotations

import sys
import time

import pytest
from harness import WorkerHarness, make_mailbox, raw_client
from servers import DovecotServer, make_message, require_dovecot
from test_cache_sync import fetched_uid_sets, server_subjects, subjects

from tui.cache import HeaderCache
from tui.config import Account
from tui.imap import list_loading
from tui.imap.contract import EnvelopesFetched, MailboxSelected, SelectMailbox
from tui.imap.fill_process import FillProcess, Job
from tui.imap.trace import ProtocolTrace
from tui.imap.uidset import compress_uids, expand_uid_set
from tui.imap.worker import FIRST_BATCH, cache_key

COUNT = 400
BIG = b"Big"
SMALL = b"Small"


@pytest.fixture(scope="module")
def server():
    require_dovecot()
    with DovecotServer() as dovecot:
        account = account_of(dovecot)
        make_mailbox(account, dovecot.password, BIG,
                     [make_message(n, subject=f"big {n} \u00e9t\u00e9") for n in range(COUNT)])
        make_mailbox(account, dovecot.password, SMALL, [make_message(n, subject=f"small {n}") for n in range(3)])
        yield dovecot


def account_of(server: DovecotServer) -> Account:
    return Account(name="filled", host=server.host, port=server.port, tls="none", username=server.user)


def open_big(server, cache, **options):
    """Open BIG until every row is in; (rows by UID, the worker's trace lines)."""
    trace = ProtocolTrace(maxlen=20000)
    with WorkerHarness(account_of(server), server.password, cache_path=cache, trace=trace, use_idle=False,
                       fill_process_min=50, **options) as harness:
        request = harness.worker.submit(SelectMailbox(BIG))
        harness.wait(MailboxSelected, lambda r: r.request_id == request.id)
        harness.wait(EnvelopesFetched, lambda r: r.raw_name == BIG and r.loaded == r.total, timeout=60)
    rows = {}
    for result in harness.seen:
        if isinstance(result, EnvelopesFetched):
            rows.update((row.uid, row) for row in result.rows)
    return rows, [entry.text for entry in trace.snapshot()[0]]


def test_the_rows_come_from_a_second_process_and_reach_the_cache(server, tmp_path):
    cache = tmp_path / "headers.sqlite3"
    rows, lines = open_big(server, cache)
    assert subjects(rows) == server_subjects(server, BIG) and len(rows) == COUNT
    assert not any(row.placeholder for row in rows.values())
    # this connection fetched the newest screenful only; the note names the other one
    (here,) = fetched_uid_sets(lines)
    assert sorted(expand_uid_set(here, COUNT)) == sorted(rows)[-FIRST_BATCH:]
    assert any(f"the rows of {COUNT - FIRST_BATCH:,} messages come over a second connection" in t for t in lines)
    # once the list is complete (here: when the worker stops) the rows are in the cache
    stored = HeaderCache(cache)
    try:
        state = stored.state(cache_key(account_of(server)), BIG)
        assert state is not None and state.count == COUNT
        assert sorted(stored.uids(cache_key(account_of(server)), BIG, state.uidvalidity)) == sorted(rows)
    finally:
        stored.close()
    # so the next open fetches no row at all
    again, lines = open_big(server, cache)
    assert subjects(again) == subjects(rows)
    assert fetched_uid_sets(lines) == [] and not any("second connection" in t for t in lines)


def test_a_child_that_cannot_log_in_leaves_the_fill_to_the_worker(server, tmp_path, monkeypatch):
    class WrongPassword(FillProcess):
        def __init__(self, account, secret):
            super().__init__(account, "not the password")

    monkeypatch.setattr(list_loading, "FillProcess", WrongPassword)
    rows, lines = open_big(server, tmp_path / "headers.sqlite3")
    assert subjects(rows) == server_subjects(server, BIG) and len(rows) == COUNT
    assert any("the second connection failed" in t for t in lines)
    here = [uid for uids in fetched_uid_sets(lines) for uid in expand_uid_set(uids, COUNT)]
    assert sorted(here) == sorted(rows)  # every row came over this connection instead, once


def test_a_mailbox_switch_stops_the_child(server, tmp_path, monkeypatch):
    children = []

    class Slow(FillProcess):  # one row a command: still busy when the user moves on
        def start(self, job):
            children.append(self)
            super().start(Job(job.raw_name, job.uidvalidity, job.uids, batch=1))

    monkeypatch.setattr(list_loading, "FillProcess", Slow)
    with WorkerHarness(account_of(server), server.password, use_idle=False, fill_process_min=50) as harness:
        big = harness.worker.submit(SelectMailbox(BIG))
        harness.wait(EnvelopesFetched, lambda r: r.request_id == big.id and r.loaded > FIRST_BATCH, timeout=30)
        small = harness.worker.submit(SelectMailbox(SMALL))
        harness.wait(EnvelopesFetched, lambda r: r.request_id == small.id and r.loaded == r.total)
        (child,) = children
        assert child._process.wait(timeout=5) != 0  # killed
        later = harness.settle(1.0)
    index = next(i for i, r in enumerate(later) if isinstance(r, MailboxSelected) and r.request_id == small.id)
    assert not any(isinstance(r, EnvelopesFetched) and r.raw_name == BIG for r in later[index:])


def test_the_password_goes_through_a_pipe_only(server):
    secret = server.password
    child = FillProcess(account_of(server), secret)
    try:
        time.sleep(0.5)  # logged in by now, waiting for its job
        assert child._process.poll() is None
        for name in ("cmdline", "environ"):
            with open(f"/proc/{child.pid}/{name}", "rb") as seen:
                assert secret.encode() not in seen.read()
    finally:
        child.stop()
    # never given a job: it logs out and ends by itself
    assert child._process.wait(timeout=10) == 0


@pytest.mark.parametrize("output", [
    b"\xff\xff\xff\xff",  # a frame longer than any we send
    b"\x00\x00\x00\x03abc",  # not marshal
    b"\x00\x00\x00\x05" + b"\xe9\x00\x00\x00\x00",  # marshal, but no frame of ours
    b"\x00\x00\x01\x00" + b"only part of it",  # the child ends mid-frame
    b"",  # the child ends without a word
])
def test_garbage_from_the_child_is_a_failure_not_a_crash(output):
    class Garbage(FillProcess):
        command = (sys.executable, "-c", f"import sys; sys.stdout.buffer.write({output!r})")

    child = Garbage(Account(name="x", host="127.0.0.1", port=1, tls="none", username="u"), "p")
    child.start(Job(b"INBOX", 1, "1:3"))
    deadline = time.monotonic() + 10
    while not child.finished and time.monotonic() < deadline:
        assert child.rows(0.1) is None
    assert child.finished and child.failure


def test_rows_fetched_apart_equal_rows_fetched_here(server):
    from tui.imap.lean_fetch import fetch_rows

    client = raw_client(account_of(server), server.password)
    try:
        info = client.select_folder(BIG, readonly=True)
        uids = sorted(client.search(["ALL"]), reverse=True)
        here = fetch_rows(client, uids)
    finally:
        client.logout()
    child = FillProcess(account_of(server), server.password)
    child.start(Job(BIG, info[b"UIDVALIDITY"], compress_uids(uids), batch=64))
    apart = []
    deadline = time.monotonic() + 30
    while not child.finished and time.monotonic() < deadline:
        apart += child.rows(0.1) or []
    assert child.failure is None and apart == here


def test_typing_holds_the_background_load_back_and_a_request_still_goes_through(server):
    from tui.imap.contract import FetchStatus, StatusFetched
    from tui.imap.worker import ImapWorker

    arrived: list[tuple[float, object]] = []
    worker = ImapWorker(account_of(server), server.password, lambda r: arrived.append((time.monotonic(), r)),
                        fill_batch=10, use_idle=False, fill_process_min=None)
    worker.start()
    try:
        worker.submit(SelectMailbox(BIG))
        deadline = time.monotonic() + 20
        while not any(isinstance(r, EnvelopesFetched) and r.loaded > FIRST_BATCH for _, r in arrived):
            assert time.monotonic() < deadline
            time.sleep(0.005)
        began = time.monotonic()
        asked = None
        while time.monotonic() < began + 1.5:  # a key every 100 ms, as someone scrolling
            worker.user_active()
            if asked is None and time.monotonic() > began + 0.7:
                asked = worker.submit(FetchStatus(SMALL))
            time.sleep(0.1)
        stopped = time.monotonic()
        while not any(isinstance(r, EnvelopesFetched) and r.loaded == r.total for _, r in arrived):
            assert time.monotonic() < stopped + 20
            time.sleep(0.01)
    finally:
        worker.stop()
    batches = [at for at, r in arrived if isinstance(r, EnvelopesFetched)]
    # a batch begun as the typing started may land; then nothing until it stops
    assert not [at for at in batches if began + 0.2 < at < stopped]
    assert [at for at in batches if at >= stopped]  # and the load goes on afterwards
    (answered,) = [at for at, r in arrived if isinstance(r, StatusFetched) and r.request_id == asked.id]
    assert answered < stopped  # a request is never held back by the typing


def test_rows_from_the_child_get_the_flags_reported_since_it_fetched_them(server, tmp_path, monkeypatch):
    """Frames wait in the pipe (while the user types, say); a flag change the server reported
    meanwhile must win over the older flags they carry, on screen and in the cache."""
    cache = tmp_path / "headers.sqlite3"
    changed: list[int] = []
    harness_box: list[WorkerHarness] = []

    class Late(FillProcess):
        def rows(self, wait, waker=None):
            rows = super().rows(wait, waker)
            if rows and not changed:
                uid = rows[-1].uid  # fetched without \\Flagged; flagged now, and reported
                other = raw_client(account_of(server), server.password)
                other.select_folder(BIG)
                other.add_flags([uid], [b"\\Flagged"])
                other.logout()
                harness_box[0].worker.flags_now({uid: frozenset({"\\Flagged"})})
                changed.append(uid)
            return rows

    monkeypatch.setattr(list_loading, "FillProcess", Late)
    try:
        with WorkerHarness(account_of(server), server.password, cache_path=cache, use_idle=False,
                           fill_process_min=50) as harness:
            harness_box.append(harness)
            request = harness.worker.submit(SelectMailbox(BIG))
            harness.wait(EnvelopesFetched, lambda r: r.request_id == request.id and r.loaded == r.total, timeout=60)
        (uid,) = changed
        shown = [row for r in harness.seen if isinstance(r, EnvelopesFetched) for row in r.rows if row.uid == uid]
        assert [row.flags for row in shown] == [frozenset({"\\Flagged"})]
        stored = HeaderCache(cache)
        try:
            state = stored.state(cache_key(account_of(server)), BIG)
            (row,) = stored.rows_for(cache_key(account_of(server)), BIG, state.uidvalidity, [uid]).values()
            assert row.flags == frozenset({"\\Flagged"})
        finally:
            stored.close()
    finally:
        if changed:
            other = raw_client(account_of(server), server.password)
            other.select_folder(BIG)
            other.remove_flags(changed, [b"\\Flagged"])
            other.logout()
