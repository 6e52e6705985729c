"""The header cache against a real Dovecot: a reopen shows what the server has now.

Each test opens a mailbox with a cache, lets another client append, expunge and
re-flag, and opens it again: the list must match the server exactly, and only the new
messages may be fetched (the rest comes from the cache). Three Dovecots: one with
QRESYNC (and CONDSTORE), one announcing CONDSTORE only, one announcing neither.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from harness import WorkerHarness, make_mailbox, raw_client, server_flags
from servers import DovecotServer, make_message, require_dovecot

from tui.cache import HeaderCache
from tui.config import Account
from tui.headers import envelope_of
from tui.imap.contract import EnvelopesFetched, MailboxChanged, MailboxSelected, Notice, SelectMailbox
from tui.imap.trace import ProtocolTrace
from tui.imap.worker import cache_key

BASE = "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE CHILDREN UNSELECT SPECIAL-USE UIDPLUS MOVE ESEARCH"
LEVELS = {"qresync": None, "condstore": BASE + " CONDSTORE", "neither": BASE}
ROW_FETCH = re.compile(r"UID FETCH (\S+) \(UID FLAGS INTERNALDATE")


@pytest.fixture(scope="module", params=list(LEVELS))
def server(request):
    require_dovecot()
    with DovecotServer(capability=LEVELS[request.param]) as dovecot:
        dovecot.level = request.param
        yield dovecot


def account_of(server: DovecotServer) -> Account:
    return Account(name="cached", host=server.host, port=server.port, tls="none", username=server.user)


def open_once(server, name: bytes, cache: Path) -> tuple[MailboxSelected, dict[int, object], list[str], list]:
    """Open `name` with the cache until every row is in; (selected, rows by UID, commands sent, results)."""
    trace = ProtocolTrace(maxlen=20000)
    with WorkerHarness(account_of(server), server.password, cache_path=cache, trace=trace, use_idle=False) as harness:
        request = harness.worker.submit(SelectMailbox(name))
        selected = harness.wait(MailboxSelected, lambda r: r.request_id == request.id)
        if selected.selected.uids:
            harness.wait(EnvelopesFetched, lambda r: r.raw_name == name and r.loaded == r.total)
        harness.settle(1.0)  # without CONDSTORE, corrected flags follow the cached rows
    rows = {}
    for result in harness.seen:  # as the list applies them: rows, then flag corrections
        if isinstance(result, EnvelopesFetched):
            rows.update((row.uid, row) for row in result.rows)
        elif isinstance(result, MailboxChanged):
            rows.update((uid, rows[uid].with_flags(flags)) for uid, flags in result.flags if uid in rows)
    sent = [e.text for e in trace.snapshot()[0] if e.direction == "C"]
    return selected, rows, sent, harness.seen


def fetched_uid_sets(sent: list[str]) -> list[str]:
    return [found.group(1) for line in sent if (found := ROW_FETCH.search(line))]


def subjects(rows) -> dict[int, str]:
    return {uid: envelope_of(row).subject for uid, row in rows.items()}


def server_subjects(server, name: bytes) -> dict[int, str]:
    client = raw_client(account_of(server), server.password)
    try:
        client.select_folder(name, readonly=True)
        uids = client.search(["ALL"])
        data = client.fetch(uids, ["ENVELOPE"]) if uids else {}
        return {uid: data[uid][b"ENVELOPE"].subject.decode() for uid in uids}
    finally:
        client.logout()


def test_reopen_after_another_client_changed_things(server, tmp_path):
    name = f"Cached-{server.level}".encode()
    account = account_of(server)
    uids = make_mailbox(account, server.password, name, [make_message(i, subject=f"Old {i}") for i in range(30)])
    cache = tmp_path / "headers.sqlite3"
    first, rows, sent, _ = open_once(server, name, cache)
    assert set(rows) == set(uids) and fetched_uid_sets(sent)  # cold: everything came from the server

    other = raw_client(account, server.password)
    other.select_folder(name)
    other.add_flags(uids[:5], [b"\\Seen"])
    other.add_flags([uids[10], uids[11]], [b"\\Flagged"])
    other.add_flags([uids[2]], ["$Work"])
    other.remove_flags([uids[3]], [b"\\Seen"])
    other.add_flags([uids[20], uids[21], uids[22]], [b"\\Deleted"])
    other.uid_expunge([uids[20], uids[21], uids[22]])
    other.append(name, make_message(100, subject="New one"))
    other.append(name, make_message(101, subject="New two"), flags=[b"\\Flagged"])
    now = sorted(other.search(["ALL"]))
    other.logout()
    new = [uid for uid in now if uid not in uids]
    assert len(new) == 2

    again, rows, sent, seen = open_once(server, name, cache)
    assert list(again.selected.uids) == now
    assert set(rows) == set(now)  # the expunged are gone, the new are there
    want = server_flags(account, server.password, name)
    assert {uid: row.flags - {"\\Recent"} for uid, row in rows.items()} == want
    assert subjects(rows) == server_subjects(server, name)
    # Only the two new messages were fetched: the other 25 rows came from the cache.
    assert fetched_uid_sets(sent) == [f"{new[0]}:{new[1]}"]
    select = next(line for line in sent if " SELECT " in line)
    if server.level == "qresync":
        assert "QRESYNC" in select and not any("CHANGEDSINCE" in line for line in sent)
    elif server.level == "condstore":
        assert "QRESYNC" not in select and any("CHANGEDSINCE" in line for line in sent)
    else:
        assert "QRESYNC" not in select and any(line.endswith("UID FETCH 1:* (UID FLAGS)") for line in sent)
        # The cached rows were shown first; the corrected flags came after them.
        kinds = [type(r).__name__ for r in seen if isinstance(r, (EnvelopesFetched, MailboxChanged))]
        assert kinds[0] == "EnvelopesFetched" and "MailboxChanged" in kinds

    # And the cache itself now holds exactly what the server has.
    stored = HeaderCache(cache)
    try:
        key = cache_key(account)
        assert stored.state("cached", name) is None  # the config name alone names nothing
        state = stored.state(key, name)
        assert state.uidvalidity == again.selected.uidvalidity
        assert stored.uids(key, name, state.uidvalidity) == now
        cached = stored.rows_for(key, name, state.uidvalidity, now)
        assert {uid: row.flags - {"\\Recent"} for uid, row in cached.items()} == want
    finally:
        stored.close()


def test_nothing_changed_fetches_no_rows(server, tmp_path):
    name = f"Quiet-{server.level}".encode()
    uids = make_mailbox(account_of(server), server.password, name, [make_message(i) for i in range(12)])
    cache = tmp_path / "headers.sqlite3"
    open_once(server, name, cache)
    again, rows, sent, _ = open_once(server, name, cache)
    assert set(rows) == set(uids) and fetched_uid_sets(sent) == []
    assert not any("CHANGEDSINCE" in line for line in sent) or server.level == "condstore"


def test_rows_missing_from_the_cache_are_fetched_and_stale_ones_leave_it(server, tmp_path):
    name = f"Holes-{server.level}".encode()
    account = account_of(server)
    uids = make_mailbox(account, server.password, name, [make_message(i) for i in range(30)])
    cache = tmp_path / "headers.sqlite3"
    first, _rows, _sent, _ = open_once(server, name, cache)
    uidvalidity = first.selected.uidvalidity
    stored = HeaderCache(cache)
    holes = [uids[3], uids[10], uids[11]]  # a write that never happened, say
    stored.remove(cache_key(account), name, uidvalidity, holes)
    stale = max(uids) + 1000  # a row of a message the server no longer has
    stored.put_rows(cache_key(account), name, uidvalidity,
                    [_rows[uids[0]]._replace(uid=stale)])
    stored.close()
    again, rows, sent, _ = open_once(server, name, cache)
    assert set(rows) == set(uids) and subjects(rows) == server_subjects(server, name)
    assert fetched_uid_sets(sent) == [f"{holes[0]},{holes[1]}:{holes[2]}"]  # those and nothing else
    stored = HeaderCache(cache)
    try:
        assert sorted(stored.uids(cache_key(account), name, uidvalidity)) == sorted(uids)
        assert stored.state(cache_key(account), name).count == len(uids)
    finally:
        stored.close()


def test_uidvalidity_change_drops_the_cached_rows(server, tmp_path):
    name = f"Reborn-{server.level}".encode()
    account = account_of(server)
    make_mailbox(account, server.password, name, [make_message(i, subject=f"First life {i}") for i in range(8)])
    cache = tmp_path / "headers.sqlite3"
    first, _rows, _sent, _ = open_once(server, name, cache)
    other = raw_client(account, server.password)
    other.delete_folder(name)
    other.logout()
    # Same name, new mailbox: Dovecot gives it another UIDVALIDITY, and UIDs start at 1 again.
    make_mailbox(account, server.password, name, [make_message(i, subject=f"Second life {i}") for i in range(5)])
    again, rows, sent, _ = open_once(server, name, cache)
    assert again.selected.uidvalidity != first.selected.uidvalidity
    assert sorted(subjects(rows).values()) == sorted(f"Second life {i}" for i in range(5))
    assert subjects(rows) == server_subjects(server, name)


def test_a_corrupt_cache_file_is_rebuilt_with_a_notice(server, tmp_path):
    name = f"Corrupt-{server.level}".encode()
    uids = make_mailbox(account_of(server), server.password, name, [make_message(i) for i in range(6)])
    cache = tmp_path / "headers.sqlite3"
    open_once(server, name, cache)
    cache.write_bytes(b"this is not a database, it is a mess" * 100)
    again, rows, sent, seen = open_once(server, name, cache)
    notices = [r.message for r in seen if isinstance(r, Notice)]
    assert notices and "rebuilt" in notices[0]
    assert set(rows) == set(uids) and subjects(rows) == server_subjects(server, name)
    # The fresh file works: the next open needs nothing from the server.
    _again, rows, sent, seen = open_once(server, name, cache)
    assert fetched_uid_sets(sent) == [] and not [r for r in seen if isinstance(r, Notice)]
