"""IMAP IDLE (tui.imap.idle) against a real Dovecot, plain and implicit TLS, and a scripted server.

The Dovecot of the tests checks mailboxes every second while a client idles and sends
"* OK Still here" every second (tests/servers.py), so other clients' changes arrive
within about a second and keep-alives come during every wait of a second or more.
"""

from __future__ import annotations

import dataclasses
import itertools
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from harness import WorkerHarness, make_mailbox, raw_client, sent_commands
from proxy import CuttableProxy
from scripted_server import ScriptedServer, Step
from servers import DovecotServer, append_messages, make_message, require_dovecot
from tui.config import Account
from tui.imap import commands, idle, lean_fetch, mutations, sync
from tui.imap.connection import connect
from tui.imap.contract import (
    ConnectionLost,
    EnvelopesFetched,
    MailboxChanged,
    MailboxSelected,
    Reconnected,
    SelectMailbox,
)
from tui.imap.idle import Waker, can_idle, wait_for_changes
from tui.imap.trace import ProtocolTrace

# Other clients' changes reach an idling client within about a second here (Dovecot
# checks every second); this leaves room for a slow machine and is far below the
# timeouts the waits are given, so "before the timeout" is what is checked.
PROMPT = 5.0
LONG = 30.0
READ_TIMEOUT = 1.0  # shorter than the waits: idling must not trip over the socket's read timeout

_unique = itertools.count()


# -- connections ---------------------------------------------------------------------------------


def _account(server: DovecotServer, kind: str) -> Account:
    if kind == "tls":
        return Account(name="idle-tls", host="localhost", port=server.tls_port, tls="implicit",
                       username=server.user, ca_file=Path(server.ca_file), read_timeout=READ_TIMEOUT)
    return Account(name="idle-plain", host=server.host, port=server.port, tls="none",
                   username=server.user, read_timeout=READ_TIMEOUT)


def _other(server: DovecotServer) -> IMAPClient:
    """A second client, the one whose changes the idling one must notice."""
    client = IMAPClient(server.host, port=server.port, ssl=False, timeout=30)
    client.login(server.user, server.password)
    return client


class Idler:
    """Our connection (as the app makes it), with a mailbox of its own selected."""

    def __init__(self, server: DovecotServer, kind: str, messages: int) -> None:
        self.server = server
        self.name = f"Idle{next(_unique)}-{kind}"
        self.uids = append_messages(server.host, server.port, server.user, server.password, self.name,
                                    [make_message(i) for i in range(messages)]) if messages else []
        if not messages:
            other = _other(server)
            other.create_folder(self.name)
            other.logout()
        assert len(self.uids) == messages
        self.account = _account(server, kind)
        self.trace = ProtocolTrace(maxlen=5000, fetch_detail=None)
        self.client = connect(self.account, server.password, self.trace)
        sync.select(self.client, self.name.encode(), read_only=False)
        assert lean_fetch.all_uids(self.client) == self.uids
        # What the SELECT itself said is no news: start from an empty journal.
        commands.take_journal(self.client)
        self.waker = Waker()

    def wait(self, timeout: float = LONG) -> tuple[str, float]:
        started = time.monotonic()
        outcome = wait_for_changes(self.client, self.waker, timeout)
        return outcome, time.monotonic() - started

    def lines(self, direction: str) -> list[str]:
        return [e.text for e in self.trace.snapshot()[0] if e.direction == direction]

    def close(self) -> None:
        self.waker.close()
        try:
            self.client.logout()
        except Exception:
            pass


@pytest.fixture(params=["plain", "tls"])
def idler_factory(request, dovecot) -> Iterator:
    made: list[Idler] = []

    def make(messages: int = 3) -> Idler:
        made.append(Idler(dovecot, request.param, messages))
        return made[-1]

    yield make
    for idler in made:
        idler.close()


def _soon(seconds: float, action) -> threading.Thread:
    """Run `action` on another thread after `seconds` (while the test's thread idles)."""
    errors: list[BaseException] = []

    def run() -> None:
        time.sleep(seconds)
        try:
            action()
        except BaseException as error:  # surfaced by _joined
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def _joined(thread: threading.Thread) -> None:
    thread.join(30)
    assert not thread.is_alive()
    if thread.errors:  # type: ignore[attr-defined]
        raise thread.errors[0]  # type: ignore[attr-defined]


def _in_step(idler: Idler) -> None:
    """The connection answers the next command normally, and imaplib holds nothing of the IDLE."""
    assert idler.client._imap.tagged_commands == {}
    reply = commands.run_command(idler.client, "NOOP")
    assert reply.status == "OK"
    assert idler.client._imap.sock.gettimeout() == READ_TIMEOUT


# -- other clients' changes ----------------------------------------------------------------------


def test_new_mail_from_another_client_ends_the_wait(idler_factory, dovecot):
    idler = idler_factory(2)
    appended: list[int] = []
    sender = _soon(0.5, lambda: appended.extend(append_messages(
        dovecot.host, dovecot.port, dovecot.user, dovecot.password, idler.name, [make_message(99)], create=False)))
    outcome, took = idler.wait()
    _joined(sender)
    assert outcome == "changed"
    assert took < PROMPT
    assert len(appended) == 1 and appended[0] not in idler.uids
    changes = mutations.synchronise(idler.client, idler.uids, noop=False)
    assert changes.new == appended
    assert changes.uids == idler.uids + appended
    assert changes.vanished == []
    _in_step(idler)


def test_flags_set_by_another_client_end_the_wait(idler_factory, dovecot):
    idler = idler_factory(3)
    target = idler.uids[1]
    other = _other(dovecot)
    other.select_folder(idler.name)
    flagger = _soon(0.5, lambda: other.add_flags([target], [b"\\Flagged"]))
    outcome, took = idler.wait()
    _joined(flagger)
    other.logout()
    assert outcome == "changed"
    assert took < PROMPT
    fetches = [e for e in commands.journal(idler.client) if e.kind == "FETCH"]
    assert fetches, "the FETCH with the new flags must be in the journal"
    # Message 2 (by sequence number) is the one flagged; the FETCH carries its flags now.
    assert fetches[-1].number == 2
    assert "\\Flagged" in fetches[-1].flags
    changes = mutations.synchronise(idler.client, idler.uids, noop=False)
    assert changes.uids == idler.uids
    assert "\\Flagged" in changes.flags[target]
    _in_step(idler)


def test_expunge_by_another_client_ends_the_wait(idler_factory, dovecot):
    idler = idler_factory(3)
    gone = idler.uids[0]
    other = _other(dovecot)
    other.select_folder(idler.name)
    other.add_flags([gone], [b"\\Deleted"])
    # The \Deleted flag alone may already be announced: take that first, then wait for the expunge.
    first, _ = idler.wait(timeout=2.0)
    assert first in ("changed", "timeout")
    mutations.synchronise(idler.client, idler.uids, noop=False)
    expunger = _soon(0.5, lambda: other.uid_expunge([gone]))
    outcome, took = idler.wait()
    _joined(expunger)
    other.logout()
    assert outcome == "changed"
    assert took < PROMPT
    assert "EXPUNGE" in [e.kind for e in commands.journal(idler.client)]
    changes = mutations.synchronise(idler.client, idler.uids, noop=False)
    assert changes.vanished == [gone]
    assert changes.uids == idler.uids[1:]
    _in_step(idler)


# -- the waker -----------------------------------------------------------------------------------


def test_waker_from_another_thread_ends_the_wait_at_once(idler_factory):
    idler = idler_factory(1)
    waking = _soon(0.3, idler.waker.wake)
    outcome, took = idler.wait()
    _joined(waking)
    assert outcome == "woken"
    assert took < 2.0
    # IDLE was sent, and ended with DONE and its tagged OK.
    sent = idler.lines("C")
    assert sent[-1] == "DONE" and sent[-2].endswith(" IDLE")
    assert not idler.waker.is_set()
    assert commands.journal(idler.client) == []
    _in_step(idler)


def test_waker_set_before_the_call_sends_nothing(idler_factory):
    idler = idler_factory(1)
    idler.waker.wake()
    idler.waker.wake()  # two requests before the worker looked: still one wake-up
    tags_before = idler.client._imap.tagnum
    sent_before = len(idler.lines("C"))
    outcome, took = idler.wait()
    assert outcome == "woken"
    assert took < 0.5
    assert idler.client._imap.tagnum == tags_before
    assert len(idler.lines("C")) == sent_before
    # It was cleared: the next wait idles for real.
    outcome, _ = idler.wait(timeout=0.5)
    assert outcome == "timeout"
    assert idler.lines("C")[sent_before:] == [f"{idler.client._imap.tagpre.decode()}{tags_before} IDLE", "DONE"]
    _in_step(idler)


def test_waker_is_cheap_and_never_blocks():
    with Waker() as waker:
        assert not waker.is_set()
        started = time.monotonic()
        for _ in range(200_000):  # far more than a socket buffer holds
            waker.wake()
        assert time.monotonic() - started < 10
        assert waker.is_set()
        waker.clear()
        assert not waker.is_set()
    waker.wake()  # after close: nothing happens, nothing raises


# -- nothing happens -----------------------------------------------------------------------------


def test_timeout_keepalives_are_not_changes(idler_factory):
    idler = idler_factory(2)
    wait = 2.5  # longer than the socket's read timeout (1 s) and than Dovecot's keep-alive interval
    outcome, took = idler.wait(timeout=wait)
    assert outcome == "timeout"
    assert wait - 0.1 <= took < wait + 1.5
    assert any("Still here" in line for line in idler.lines("S")), "the server sent no keep-alive"
    assert commands.journal(idler.client) == []
    changes = mutations.synchronise(idler.client, idler.uids, noop=False)
    assert (changes.uids, changes.new, changes.vanished) == (idler.uids, [], [])
    _in_step(idler)


# -- changes between two waits -------------------------------------------------------------------


def test_mail_that_came_between_waits_is_reported_by_the_next_wait(idler_factory, dovecot):
    """Dovecot tells an idling client what changed since its last command right after "+ idling"."""
    idler = idler_factory(1)
    outcome, _ = idler.wait(timeout=0.2)
    assert outcome == "timeout"
    appended = append_messages(dovecot.host, dovecot.port, dovecot.user, dovecot.password, idler.name,
                               [make_message(7)], create=False)
    outcome, took = idler.wait()  # LONG: only an answer already read but left unseen would make it wait that long
    assert outcome == "changed"
    assert took < PROMPT
    assert idler.lines("C")[-2].endswith(" IDLE")  # it idled, and the server said so at once
    changes = mutations.synchronise(idler.client, idler.uids, noop=False)
    assert changes.new == appended
    _in_step(idler)


def test_news_an_earlier_command_heard_makes_the_next_wait_return_at_once(idler_factory, dovecot):
    """An EXISTS that came with another command's answers is in the journal: "changed", nothing sent."""
    idler = idler_factory(1)
    appended = append_messages(dovecot.host, dovecot.port, dovecot.user, dovecot.password, idler.name,
                               [make_message(8)], create=False)
    # A command through imapclient: imaplib files the EXISTS that comes with it by kind.
    assert (len(idler.uids) + 1, b"EXISTS") in idler.client.noop()[1]
    tags_before = idler.client._imap.tagnum
    outcome, took = idler.wait()
    assert outcome == "changed"
    assert took < 0.5
    assert idler.client._imap.tagnum == tags_before
    changes = mutations.synchronise(idler.client, idler.uids, noop=False)
    assert changes.new == appended
    # Taken: now the wait idles again.
    outcome, _ = idler.wait(timeout=0.3)
    assert outcome == "timeout"
    _in_step(idler)


# -- capability ----------------------------------------------------------------------------------


def test_can_idle_follows_the_capability(dovecot):
    client = connect(_account(dovecot, "plain"), dovecot.password)
    try:
        assert can_idle(client)
    finally:
        client.logout()
    require_dovecot()
    # Dovecot's list after login, without IDLE (Dovecot still runs it; only the announcement changes).
    without = "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE NAMESPACE CHILDREN UNSELECT SPECIAL-USE UIDPLUS MOVE"
    with DovecotServer(capability=without) as server:
        client = connect(_account(server, "plain"), server.password)
        try:
            assert b"IDLE" not in client.capabilities()
            assert b"UIDPLUS" in client.capabilities()  # the cut list is the one announced
            assert not can_idle(client)
        finally:
            client.logout()


# -- a scripted server: what Dovecot will not do on demand ---------------------------------------


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context) from a throw-away CA."""
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("localhost")
    directory = tmp_path_factory.mktemp("idle-tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    cert.write_bytes(b"".join(pem.bytes() for pem in leaf.cert_chain_pems))
    key.write_bytes(leaf.private_key_pem.bytes())
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return server_context, client_context


def _scripted(script: list[Step], tls: tuple[ssl.SSLContext, ssl.SSLContext] | None) -> ScriptedServer:
    return ScriptedServer(b"* PREAUTH ready", script, capabilities=b"IMAP4rev1 IDLE",
                          tls_context=tls[0] if tls else None, implicit_tls=tls is not None)


def _scripted_client(server: ScriptedServer, tls) -> IMAPClient:
    client = IMAPClient("localhost", port=server.port, ssl=tls is not None,
                        ssl_context=tls[1] if tls else None, timeout=READ_TIMEOUT)
    commands.reset_journal(client)
    return client


@pytest.mark.parametrize("use_tls", [False, True], ids=["plain", "tls"])
def test_a_notification_already_read_with_the_continuation_is_not_left_waiting(use_tls, tls_pair):
    """The "+", a long keep-alive and an EXISTS in one write: over TLS in one record (12 KB), more
    than imaplib's reader takes at once, so part waits decrypted in the SSL object, part in the
    reader's buffer; the socket itself has nothing more to say. None of it may wait for the timeout."""
    tls = tls_pair if use_tls else None
    burst = b"+ idling\r\n* OK " + b"x" * 12000 + b"\r\n* 3 EXISTS\r\n"
    script = [Step("IDLE", burst), Step("+", b"* 1 FETCH (FLAGS (\\Seen))\r\n{tag} OK Idle completed\r\n")]
    with _scripted(script, tls) as server:
        client = _scripted_client(server, tls)
        with Waker() as waker:
            started = time.monotonic()
            outcome = wait_for_changes(client, waker, 10.0)
            took = time.monotonic() - started
        assert outcome == "changed"
        assert took < 2.0
        assert server.lines[-1] == b"DONE"
        # Both changes, in the order they came: the one during IDLE and the one before the tagged OK.
        events = commands.take_journal(client)
        assert [(e.kind, e.number) for e in events] == [("EXISTS", 3), ("FETCH", 1)]
        assert events[1].flags == frozenset({"\\Seen"})
        assert client._imap.tagged_commands == {}
        assert commands.run_command(client, "NOOP").status == "OK"
        client.logout()
        server.wait_done()
    assert server.steps_left == 0 and not server.unexpected and not server.errors


@pytest.mark.parametrize("use_tls", [False, True], ids=["plain", "tls"])
def test_bye_during_idle_is_an_abort(use_tls, tls_pair):
    tls = tls_pair if use_tls else None
    script = [Step("IDLE", b"+ idling\r\n* 4 EXISTS\r\n* BYE Server shutting down\r\n", close=True)]
    with _scripted(script, tls) as server:
        client = _scripted_client(server, tls)
        with Waker() as waker, pytest.raises(IMAPClientAbortError, match="Server shutting down"):
            wait_for_changes(client, waker, 10.0)
        # What came before the BYE is kept, in order.
        assert [(e.kind, e.number) for e in commands.journal(client)] == [("EXISTS", 4)]
        client.shutdown()
        server.wait_done()


def test_connection_closed_during_idle_is_noticed_before_the_timeout():
    script = [Step("IDLE", b"+ idling\r\n", close=True)]
    with _scripted(script, None) as server:
        client = _scripted_client(server, None)
        started = time.monotonic()
        with Waker() as waker, pytest.raises((IMAPClientAbortError, OSError)):
            wait_for_changes(client, waker, 10.0)
        assert time.monotonic() - started < 2.0
        client.shutdown()
        server.wait_done()


def test_idle_refused_is_an_error_and_the_connection_stays_usable():
    script = [Step("IDLE", b"{tag} NO [CANNOT] Not in this mailbox\r\n")]
    with _scripted(script, None) as server:
        client = _scripted_client(server, None)
        with Waker() as waker, pytest.raises(IMAPClientError, match="Not in this mailbox") as caught:
            wait_for_changes(client, waker, 10.0)
        assert not isinstance(caught.value, IMAPClientAbortError)
        assert client._imap.tagged_commands == {}
        assert commands.run_command(client, "NOOP").status == "OK"
        client.logout()
        server.wait_done()
    assert server.lines[-2].endswith(b"NOOP") and not server.unexpected


# -- a server that goes silent: the liveness check ----------------------------------------------

LIVENESS = 2.0  # the bound under test; the app's is idle.LIVENESS (60 s)


@pytest.mark.parametrize("use_tls", [False, True], ids=["plain", "tls"])
def test_a_server_frozen_during_idle_is_noticed_within_the_liveness_bound(use_tls, tls_pair):
    """"+ idling", then nothing, not even an answer to DONE: a frozen server (or a network gone)."""
    tls = tls_pair if use_tls else None
    script = [Step("IDLE", b"+ idling\r\n"), Step("+", b"")]  # the DONE is read and never answered
    with _scripted(script, tls) as server:
        client = _scripted_client(server, tls)
        started = time.monotonic()
        with Waker() as waker, pytest.raises(IMAPClientAbortError, match="stopped answering") as caught:
            wait_for_changes(client, waker, LONG, liveness=LIVENESS)
        took = time.monotonic() - started
        client.shutdown()
    assert LIVENESS * 0.75 <= took < LIVENESS + 1.0  # silence first (no check sooner), then the answer's wait
    assert "while idle" in str(caught.value)
    assert not isinstance(caught.value.__context__, TimeoutError)  # else the worker blames its read timeout
    assert server.lines[-1] == b"DONE"  # the silence was checked with DONE, not just waited out


def test_a_server_that_never_sends_the_continuation_is_noticed_within_the_bound_not_the_read_timeout():
    """A read timeout of 30 s would leave a dead connection unnoticed that long; the IDLE's own
    answers are awaited a quarter of the liveness bound at most, and the read timeout is put back."""
    script = [Step("IDLE", b"")]
    with _scripted(script, None) as server:
        client = IMAPClient("localhost", port=server.port, ssl=False, timeout=30.0)
        commands.reset_journal(client)
        started = time.monotonic()
        with Waker() as waker, pytest.raises(IMAPClientAbortError, match="stopped answering"):
            wait_for_changes(client, waker, LONG, liveness=LIVENESS)
        took = time.monotonic() - started
        assert client._imap.sock.gettimeout() == 30.0
        client.shutdown()
    assert took < LIVENESS / 4 + 1.0


def test_a_silent_but_healthy_server_is_checked_and_the_wait_goes_on():
    """No keep-alives at all (RFC 2177 allows 29 minutes of silence): DONE, the tagged OK, "alive"."""
    script = [Step("IDLE", b"+ idling\r\n"), Step("+", b"{tag} OK Idle completed\r\n")]
    with _scripted(script, None) as server:
        client = _scripted_client(server, None)
        with Waker() as waker:
            started = time.monotonic()
            outcome = wait_for_changes(client, waker, LONG, liveness=LIVENESS)
            took = time.monotonic() - started
        assert outcome == "alive"
        assert LIVENESS * 0.75 - 0.1 <= took < LIVENESS  # checked after the silence, answered at once
        assert commands.journal(client) == []
        assert client._imap.tagged_commands == {}
        assert client._imap.sock.gettimeout() == READ_TIMEOUT
        assert commands.run_command(client, "NOOP").status == "OK"
        client.logout()
        server.wait_done()
    assert server.lines[-3] == b"DONE" and not server.unexpected and not server.errors


def test_keepalives_put_the_check_off(idler_factory):
    """Dovecot's "* OK Still here" every second is a sign of life: no check, the wait runs its course."""
    idler = idler_factory(1)
    started = time.monotonic()
    # Without keep-alives a check would come after 1.8 s of silence (the read timeout, 1 s, is
    # longer than a quarter of 2.4 s); Dovecot speaks every second.
    outcome = wait_for_changes(idler.client, idler.waker, 4.0, liveness=2.4)
    took = time.monotonic() - started
    assert outcome == "timeout" and took >= 3.9
    assert idler.lines("C")[-2:] == [f"{idler.client._imap.tagpre.decode()}{idler.client._imap.tagnum - 1} IDLE", "DONE"]
    _in_step(idler)


# -- the worker idling on a server with no keep-alives (pymap) -----------------------------------


def _pymap_account(pymap_server, host: str, port: int) -> Account:
    # The app's read timeout (120 s): the bound must hold whatever it is.
    return Account(name="idle-pymap", host=host, port=port, tls="none", username=pymap_server.username)


def _idling(harness: WorkerHarness, name: bytes) -> SelectMailbox:
    select = harness.worker.submit(SelectMailbox(name))
    harness.wait(MailboxSelected, lambda r: r.request_id == select.id)
    harness.wait(EnvelopesFetched, lambda r: r.raw_name == name and r.loaded == r.total)
    return select


def test_the_worker_reports_a_server_frozen_during_idle_within_the_bound(pymap_server, monkeypatch):
    monkeypatch.setattr(idle, "LIVENESS", LIVENESS)
    name = f"IdleFrozen{next(_unique)}".encode()
    direct = _pymap_account(pymap_server, pymap_server.host, pymap_server.port)
    make_mailbox(direct, pymap_server.password, name, [make_message(i) for i in range(2)])
    proxy = CuttableProxy(pymap_server.host, pymap_server.port)
    account = dataclasses.replace(direct, host=proxy.host, port=proxy.port)
    try:
        with WorkerHarness(account, pymap_server.password, reconnect_delays=(0.1,), fill_process_min=None) as harness:
            select = _idling(harness, name)
            since = len(harness.seen)
            # pymap says nothing while idling: the first thing sent is the check's DONE,
            # and from then on the server is frozen, as far as the worker can tell.
            proxy.stall_after_sent(b"DONE")
            armed = time.monotonic()
            lost = harness.wait_after(since, ConnectionLost, timeout=LIVENESS + 10)
            waited = time.monotonic() - armed
            harness.wait_after(since, Reconnected)
            again = harness.wait_after(since, MailboxSelected, lambda r: r.request_id == select.id)
    finally:
        proxy.close()
    assert proxy.fired == [("stall", b"DONE")]
    assert waited < LIVENESS + 1.0, waited  # not the 5-minute renewal plus the 120 s read timeout
    assert "stopped answering" in lost.message and "while idle" in lost.message, lost.message
    assert again.selected.raw_name == name and len(again.selected.uids) == 2


def test_a_healthy_idle_connection_is_checked_stays_up_and_delivers_new_mail(pymap_server, monkeypatch):
    monkeypatch.setattr(idle, "LIVENESS", LIVENESS)
    name = f"IdleHealthy{next(_unique)}".encode()
    account = _pymap_account(pymap_server, pymap_server.host, pymap_server.port)
    uids = make_mailbox(account, pymap_server.password, name, [make_message(i) for i in range(2)])
    trace = ProtocolTrace()
    with WorkerHarness(account, pymap_server.password, trace=trace, fill_process_min=None) as harness:
        _idling(harness, name)
        start = len(sent_commands(trace))
        harness.settle(LIVENESS * 2.5)  # room for at least two checks
        during = sent_commands(trace)[start:]
        other = raw_client(account, pymap_server.password)
        try:
            other.append(name, make_message(50))
        finally:
            other.logout()
        changed = harness.wait(MailboxChanged, lambda r: r.raw_name == name and r.new, timeout=PROMPT)
    assert not any(isinstance(r, ConnectionLost) for r in harness.seen)
    # Checked, and idling again after each check: never polling instead (an IDLE that ends
    # early looks like a server that ends IDLE at once, which the worker polls with NOOP).
    assert during.count("IDLE") >= 3 and set(during) == {"IDLE"}, during
    assert len(changed.new) == 1 and changed.new[0] not in uids
    assert list(changed.uids) == uids + list(changed.new)


def test_flags_announced_by_number_after_unordered_news_are_not_lost(idler_factory, dovecot):
    """imaplib filed an EXPUNGE and an EXISTS by kind (their order is lost), so what comes
    next by message number cannot be placed at once. Another client's flag change, which
    the NOOP after the wait announces by number only, must still reach the list: once a
    full search has numbered the mailbox again."""
    idler = idler_factory(3)
    first, _second, third = idler.uids
    other = _other(dovecot)
    other.select_folder(idler.name)
    other.append(idler.name, make_message(9))
    other.add_flags([first], [b"\\Deleted"])
    other.uid_expunge([first])
    idler.client.noop()  # through imapclient: the EXPUNGE and the EXISTS are filed by kind
    other.add_flags([third], [b"\\Flagged"])
    other.logout()
    outcome, took = idler.wait()
    assert outcome == "changed" and took < 0.5  # the filed news, at once
    changes = mutations.synchronise(idler.client, idler.uids, noop=True)
    fetched = [line for line in idler.lines("S") if "FETCH" in line and "Flagged" in line]
    assert fetched and "UID" not in fetched[-1]  # announced by number: the case under test
    assert changes.vanished == [first] and len(changes.new) == 1
    assert "\\Flagged" in changes.flags[third]
    _in_step(idler)
