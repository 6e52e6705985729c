"""Faults (issue 7): connections that drop before, during or after a command, and servers
that go silent, between the worker and a real Dovecot.

Every test runs the worker through a `CuttableProxy` and checks the server's own state
through a second, direct connection: after a dropped connection every message exists
exactly once, a change is never sent twice blindly, and the user is told what happened.
Private Dovecots for this module; each test makes its own mailboxes.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from harness import WorkerHarness, make_mailbox, server_flags, server_message_ids
from proxy import CuttableProxy
from servers import DovecotServer, fill_maildir, make_message, require_dovecot

from tui.config import Account
from tui.imap.contract import (
    ConnectionLost,
    CopyMessages,
    EnvelopesFetched,
    Expunge,
    FlagsChanged,
    MailboxSelected,
    Reconnected,
    RequestFailed,
    SelectMailbox,
    StoreFlags,
)

# Dovecot 2.3's list after login without MOVE (as in conftest): a move is COPY + STORE + EXPUNGE.
WITHOUT_MOVE = "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE CHILDREN UNSELECT SPECIAL-USE UIDPLUS"

_unique = itertools.count()


@dataclasses.dataclass
class Net:
    server: DovecotServer
    direct: Account  # for the checks: straight to Dovecot
    proxied: Account  # for the worker: through the proxy
    proxy: CuttableProxy

    @property
    def password(self) -> str:
        return self.server.password

    def mailbox(self, what: str, count: int) -> tuple[bytes, list[int]]:
        name = f"{what}{next(_unique)}".encode()
        return name, make_mailbox(self.direct, self.password, name, [make_message(i, subject=f"{what} {i}") for i in range(count)])

    def ids(self, name: bytes) -> dict[int, bytes]:
        return server_message_ids(self.direct, self.password, name)

    def worker(self, read_timeout: float | None = None, **options) -> WorkerHarness:
        account = self.proxied if read_timeout is None else dataclasses.replace(self.proxied, read_timeout=read_timeout)
        options = {"reconnect_delays": (0.1,), "fill_process_min": None} | options
        return WorkerHarness(account, self.password, **options)


def _server(capability: str | None = None) -> Iterator[DovecotServer]:
    require_dovecot()
    with DovecotServer(capability=capability) as server:
        yield server


@pytest.fixture(scope="module")
def dovecot_for_faults() -> Iterator[DovecotServer]:
    yield from _server()


@pytest.fixture(scope="module")
def dovecot_without_move() -> Iterator[DovecotServer]:
    yield from _server(WITHOUT_MOVE)


def _net(server: DovecotServer) -> Iterator[Net]:
    direct = Account(name="faults", host=server.host, port=server.port, tls="none", username=server.user)
    proxy = CuttableProxy(server.host, server.port)
    try:
        yield Net(server, direct, dataclasses.replace(direct, host=proxy.host, port=proxy.port), proxy)
    finally:
        proxy.close()


@pytest.fixture
def net(dovecot_for_faults) -> Iterator[Net]:
    yield from _net(dovecot_for_faults)


@pytest.fixture
def net_without_move(dovecot_without_move) -> Iterator[Net]:
    yield from _net(dovecot_without_move)


def opened(harness: WorkerHarness, name: bytes):
    request = harness.worker.submit(SelectMailbox(name))
    selected = harness.wait(MailboxSelected, lambda r: r.request_id == request.id).selected
    if selected.uids:
        harness.wait(EnvelopesFetched, lambda r: r.raw_name == name and r.loaded == r.total)
    return request, selected


def reopened(harness: WorkerHarness, since: int, select: SelectMailbox, timeout: float = 20.0):
    """The re-select after the reconnect, and the UIDs of every row the worker posted after it."""
    harness.wait_after(since, Reconnected, timeout=timeout)
    again = harness.wait_after(since, MailboxSelected, lambda r: r.request_id == select.id, timeout=timeout)
    start = harness.seen.index(again)
    if again.selected.uids:
        harness.wait_after(start, EnvelopesFetched, lambda r: r.loaded == r.total, timeout=timeout)
    harness.settle(0.3)  # nothing more may come: a second pass would duplicate rows
    rows = [row.uid for r in harness.seen[start:] if isinstance(r, EnvelopesFetched) for row in r.rows]
    return again.selected, rows


def cut_off(harness: WorkerHarness, select: SelectMailbox, arm, request):
    """Arm the proxy's fault, send `request`: the request sent, then the re-selected mailbox
    and the UIDs of its rows after the reconnect (see reopened)."""
    since = len(harness.seen)
    arm()
    sent = harness.worker.submit(request)
    return (sent, *reopened(harness, since, select))


def told(harness: WorkerHarness, request) -> str:
    """What the user was told about a change that was cut off: one RequestFailed, no success."""
    answers = [r for r in harness.seen if r.request_id == request.id and not isinstance(r, (ConnectionLost, MailboxSelected))]
    assert [type(r) for r in answers] == [RequestFailed], answers
    return answers[0].message


# -- copy and move: never sent twice ---------------------------------------------------------


def test_a_move_cut_before_the_server_gets_it_moves_nothing(net):
    source, uids = net.mailbox("MoveBefore", 3)
    target, _ = net.mailbox("MoveBeforeDst", 0)
    ids = net.ids(source)
    with net.worker() as harness:
        select, selected = opened(harness, source)
        since = len(harness.seen)
        net.proxy.cut_when_sent(b"UID MOVE", times=1)
        move = harness.worker.submit(CopyMessages(source, selected.uidvalidity, (uids[1],), target, move=True))
        harness.wait_after(since, ConnectionLost)
        again, rows = reopened(harness, since, select)
    assert net.proxy.fired == [("before", b"UID MOVE")]
    assert net.ids(source) == ids  # every message still there, once, with its UID
    assert net.ids(target) == {}
    assert list(again.uids) == sorted(ids) and sorted(rows) == sorted(ids)
    message = told(harness, move)
    assert "not retried" in message and "still holds all of them" in message, message
    assert net.proxy.server_got(b"UID MOVE") == 0  # nor later: it is not sent again


def test_a_move_whose_answer_is_lost_is_not_sent_again(net):
    source, uids = net.mailbox("MoveAfter", 3)
    target, _ = net.mailbox("MoveAfterDst", 0)
    ids = net.ids(source)
    with net.worker() as harness:
        select, selected = opened(harness, source)
        move, again, rows = cut_off(harness, select, lambda: net.proxy.cut_after_sent(b"UID MOVE"),
                                    CopyMessages(source, selected.uidvalidity, (uids[1],), target, move=True))
    assert net.proxy.fired == [("after", b"UID MOVE")]
    assert Counter(net.ids(target).values()) == {ids[uids[1]]: 1}  # moved once, not twice
    assert net.ids(source) == {uid: ids[uid] for uid in uids if uid != uids[1]}
    assert list(again.uids) == [uids[0], uids[2]] and sorted(rows) == [uids[0], uids[2]]
    assert net.proxy.server_got(b"UID MOVE") == 1
    # The user learns that it happened (the messages left), not "nothing was changed".
    message = told(harness, move)
    assert "not retried" in message and "no longer holds" in message, message


def test_a_copy_whose_answer_is_lost_makes_one_copy(net):
    source, uids = net.mailbox("CopyAfter", 3)
    target, _ = net.mailbox("CopyAfterDst", 0)
    ids = net.ids(source)
    flags = server_flags(net.direct, net.password, source)
    with net.worker() as harness:
        select, selected = opened(harness, source)
        chosen = (uids[0], uids[2])
        copy, again, rows = cut_off(harness, select, lambda: net.proxy.cut_after_sent(b"UID COPY"),
                                    CopyMessages(source, selected.uidvalidity, chosen, target, move=False))
    assert net.proxy.fired == [("after", b"UID COPY")]
    assert Counter(net.ids(target).values()) == Counter(ids[uid] for uid in chosen)  # one copy each
    assert net.ids(source) == ids and server_flags(net.direct, net.password, source) == flags
    assert list(again.uids) == uids and sorted(rows) == uids
    assert net.proxy.server_got(b"UID COPY") == 1
    message = told(harness, copy)
    assert "not retried" in message and f"check {target.decode()}" in message, message


def test_a_fallback_move_cut_after_the_copy_says_the_copies_may_exist(net_without_move):
    net = net_without_move
    source, uids = net.mailbox("NoMoveAfter", 3)
    target, _ = net.mailbox("NoMoveAfterDst", 0)
    ids = net.ids(source)
    with net.worker() as harness:
        select, selected = opened(harness, source)
        move, again, _rows = cut_off(harness, select, lambda: net.proxy.cut_after_sent(b"UID COPY"),
                                     CopyMessages(source, selected.uidvalidity, (uids[1],), target, move=True))
    # Copied, but the originals were neither marked nor expunged: nothing is lost, and the
    # user is told the target may already hold a copy rather than that nothing happened.
    assert Counter(net.ids(target).values()) == {ids[uids[1]]: 1}
    assert net.ids(source) == ids
    assert all("\\Deleted" not in f for f in server_flags(net.direct, net.password, source).values())
    assert list(again.uids) == uids
    assert net.proxy.server_got(b"UID COPY") == 1 and net.proxy.server_got(b"UID STORE") == 0
    message = told(harness, move)
    assert "still holds all of them" in message and "may hold copies" in message, message


def test_an_expunge_whose_answer_is_lost_says_what_is_gone(net):
    source, uids = net.mailbox("ExpungeAfter", 4)
    ids = net.ids(source)
    chosen = (uids[1], uids[3])
    with net.worker() as harness:
        select, selected = opened(harness, source)
        mark = harness.worker.submit(StoreFlags(source, selected.uidvalidity, chosen, ("\\Deleted",), True))
        harness.wait(FlagsChanged, lambda r: r.request_id == mark.id)
        expunge, again, rows = cut_off(harness, select, lambda: net.proxy.cut_after_sent(b"UID EXPUNGE"),
                                       Expunge(source, selected.uidvalidity, chosen))
    assert net.ids(source) == {uid: ids[uid] for uid in (uids[0], uids[2])}  # exactly those went
    assert list(again.uids) == [uids[0], uids[2]] and sorted(rows) == [uids[0], uids[2]]
    assert net.proxy.server_got(b"UID EXPUNGE") == 1
    message = told(harness, expunge)
    assert "not retried" in message and "2 of 2 messages are gone" in message, message


# -- flags: retried, and the retry is harmless -------------------------------------------


@pytest.mark.parametrize("fault", ["before", "after"])
def test_a_flag_change_cut_off_is_retried_once_and_set_as_asked(net, fault):
    source, uids = net.mailbox(f"Store{fault}", 4)
    chosen = (uids[0], uids[2])
    with net.worker() as harness:
        select, selected = opened(harness, source)
        since = len(harness.seen)
        (net.proxy.cut_when_sent if fault == "before" else net.proxy.cut_after_sent)(b"UID STORE", times=1)
        store = harness.worker.submit(StoreFlags(source, selected.uidvalidity, chosen, ("\\Flagged",), True))
        changed = dict(harness.wait(FlagsChanged, lambda r: r.request_id == store.id).flags)
        again, rows = reopened(harness, since, select)
        assert not any(isinstance(r, RequestFailed) for r in harness.seen)
    assert net.proxy.fired == [(fault, b"UID STORE")]
    assert set(changed) == set(chosen) and all("\\Flagged" in f for f in changed.values())
    flagged = {uid for uid, f in server_flags(net.direct, net.password, source).items() if "\\Flagged" in f}
    assert flagged == set(chosen)  # exactly those: the retry neither missed nor spread
    assert list(again.uids) == uids and sorted(rows) == uids
    assert net.proxy.connections == 2
    assert net.proxy.server_got(b"UID STORE") == (1 if fault == "before" else 2)


# -- the background fill ---------------------------------------------------------------------


@pytest.mark.parametrize("cache", [False, True], ids=["no-cache", "cache"])
@pytest.mark.parametrize("fault", ["before", "mid-answer"])
def test_a_fill_cut_in_the_middle_covers_every_message_once(net, tmp_path, fault, cache):
    name = f"Fill{next(_unique)}"
    total = 3000
    fill_maildir(net.server, name, (make_message(i) for i in range(total)))
    if fault == "before":
        net.proxy.cut_when_sent(b"UID FETCH", times=1, skip=2)
    else:  # the client has parsed part of the batch when the connection goes
        net.proxy.cut_after_sent(b"UID FETCH", skip=2, forward_bytes=30_000)
    options = {"fill_batch": 500, "cache_path": tmp_path / "cache.sqlite" if cache else None}
    with net.worker(**options) as harness:
        select = harness.worker.submit(SelectMailbox(name.encode()))
        harness.wait(MailboxSelected, lambda r: r.request_id == select.id)
        since = len(harness.seen)
        harness.wait(ConnectionLost, timeout=30)
        before = [row.uid for r in harness.seen if isinstance(r, EnvelopesFetched) for row in r.rows]
        again, rows = reopened(harness, since, select, timeout=60)
    server = sorted(net.ids(name.encode()))
    assert len(server) == total and list(again.uids) == server
    assert 0 < len(before) < total  # the cut really came in the middle of the fill
    duplicates = [uid for uid, n in Counter(rows).items() if n > 1]
    assert not duplicates and sorted(rows) == server  # every message once: no gap, no duplicate


# -- a server that goes silent ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["UID STORE", "NOOP", "IDLE"])
def test_a_silent_server_times_out_and_the_worker_recovers(net, command):
    source, uids = net.mailbox("Silent", 3)
    ids = net.ids(source)
    options = {"use_idle": command == "IDLE", "keepalive": 0.5}
    with net.worker(read_timeout=2.0, **options) as harness:
        select, selected = opened(harness, source)
        since = len(harness.seen)
        net.proxy.stall_after_sent(command.encode())
        if command == "UID STORE":
            store = harness.worker.submit(StoreFlags(source, selected.uidvalidity, (uids[1],), ("\\Seen",), True))
        net.proxy.wait_fired()
        began = time.monotonic()
        lost = harness.wait_after(since, ConnectionLost, timeout=15)
        waited = time.monotonic() - began
        again, rows = reopened(harness, since, select)
        if command == "UID STORE":
            changed = dict(harness.wait(FlagsChanged, lambda r: r.request_id == store.id).flags)
            assert "\\Seen" in changed[uids[1]]
    assert 1.0 < waited < 8.0  # the read timeout, not a hang
    assert "stopped answering" in lost.message, lost.message
    assert net.ids(source) == ids and list(again.uids) == uids and sorted(rows) == uids
    seen = {uid for uid, f in server_flags(net.direct, net.password, source).items() if "\\Seen" in f}
    assert seen == ({uids[1]} if command == "UID STORE" else set())
