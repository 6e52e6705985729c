"""The IMAP worker against real servers (Dovecot and pymap), checked through a second connection."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from imapclient import imap_utf7

from harness import WorkerHarness, raw_client
from servers import make_message
from tui.demo_data import DEMO_FOLDERS, generate_demo
from tui.imap.contract import (
    Connected,
    ConnectionFailed,
    EnvelopesFetched,
    FetchEnvelopes,
    FetchMessage,
    ListMailboxes,
    MailboxesListed,
    MailboxSelected,
    MessageFetched,
    SelectMailbox,
    StatusFetched,
)
from tui.models import MessageRef

_unique = itertools.count()


def fresh_mailbox(target, messages: list[bytes]) -> bytes:
    """A mailbox of our own with these (unseen) messages, so tests do not disturb each other."""
    name = f"T{next(_unique)}-{target.kind}".encode()
    client = raw_client(target.account, target.password)
    client.create_folder(name)
    client.folder_encode = True  # imapclient's MULTIAPPEND needs it; the name is ASCII anyway
    client.multiappend(name.decode(), [{"msg": m, "flags": ()} for m in messages])
    client.logout()
    return name


def test_list_shows_demo_folders_decoded_and_counts(demo_target):
    with WorkerHarness(demo_target.account, demo_target.password) as harness:
        harness.wait(Connected)
        harness.worker.submit(ListMailboxes())
        listed = harness.wait(MailboxesListed).mailboxes
        by_name = {m.name: m for m in listed}
        assert set(DEMO_FOLDERS) <= set(by_name)
        non_ascii = [name for name in DEMO_FOLDERS if not name.isascii()]
        assert non_ascii, "the demo must hold a non-ASCII folder"
        for name in non_ascii:
            # Shown decoded, kept as the server's modified UTF-7 bytes.
            assert by_name[name].raw_name == imap_utf7.encode(name)
        expected = {}
        for message in generate_demo():
            expected[message.mailbox] = expected.get(message.mailbox, 0) + 1
        for name in non_ascii + ["Projects/Alpha/Specs"]:
            raw = by_name[name].raw_name
            status = harness.wait(StatusFetched, lambda r: r.status.raw_name == raw).status
            assert status.messages == expected.get(name, 0)
            check = raw_client(demo_target.account, demo_target.password)
            server_says = check.folder_status(raw, [b"MESSAGES", b"UNSEEN"])
            check.logout()
            assert (status.messages, status.unseen) == (server_says[b"MESSAGES"], server_says[b"UNSEEN"])


def test_special_folders_are_recognised(demo_target):
    with WorkerHarness(demo_target.account, demo_target.password) as harness:
        harness.worker.submit(ListMailboxes(with_status=False))
        listed = {m.name: m for m in harness.wait(MailboxesListed).mailboxes}
    assert listed["Sent"].special_use == "\\Sent"
    assert listed["Trash"].special_use == "\\Trash"
    assert listed["Drafts"].special_use == "\\Drafts"
    assert listed["INBOX"].special_use is None


def test_noselect_parent_is_listed_but_not_selectable(demo_target):
    client = raw_client(demo_target.account, demo_target.password)
    parent = f"Holder{next(_unique)}".encode()
    client.create_folder(parent + b"/Child")
    client.logout()
    with WorkerHarness(demo_target.account, demo_target.password) as harness:
        harness.worker.submit(ListMailboxes(with_status=False))
        listed = {m.raw_name: m for m in harness.wait(MailboxesListed).mailboxes}
    assert listed[parent + b"/Child"].selectable
    if parent in listed:  # Dovecot and pymap list the implied parent as \Noselect
        assert not listed[parent].selectable


def test_window_is_served_before_the_background_fill(demo_target):
    with WorkerHarness(demo_target.account, demo_target.password, fill_batch=20) as harness:
        harness.worker.submit(SelectMailbox(b"INBOX", read_only=True))
        selected = harness.wait(MailboxSelected).selected
        # The fill goes newest first; ask for the oldest rows, as a user jumping to the end would.
        oldest = selected.uids[:30]
        request = harness.worker.submit(FetchEnvelopes(b"INBOX", selected.uidvalidity, oldest))
        window = harness.wait(EnvelopesFetched, lambda r: r.request_id == request.id)
        assert window.loaded < window.total, "the window waited for the whole fill"
        check = raw_client(demo_target.account, demo_target.password)
        check.select_folder(b"INBOX", readonly=True)
        assert list(selected.uids) == sorted(check.search(["ALL"]))
        server_envelopes = check.fetch(list(oldest), ["ENVELOPE", "RFC822.SIZE"])
        check.logout()
        got = {e.uid: e for e in window.envelopes}
        assert set(got) == set(oldest)
        for uid in oldest:
            assert got[uid].size == server_envelopes[uid][b"RFC822.SIZE"]
            assert got[uid].message_id == server_envelopes[uid][b"ENVELOPE"].message_id.decode()
        done = harness.wait(EnvelopesFetched, lambda r: r.loaded == r.total, timeout=60)
        assert done.total == len(selected.uids)


def test_examine_and_read_leave_seen_alone(demo_target):
    mailbox = fresh_mailbox(demo_target, [make_message(1, subject="Peek only")])
    with WorkerHarness(demo_target.account, demo_target.password) as harness:
        harness.worker.submit(SelectMailbox(mailbox, read_only=True))
        selected = harness.wait(MailboxSelected).selected
        assert selected.read_only
        uid = selected.uids[0]
        harness.worker.submit(FetchMessage(MessageRef(mailbox, selected.uidvalidity, uid), mark_seen=False))
        fetched = harness.wait(MessageFetched)
    assert b"Subject: Peek only" in fetched.raw
    assert fetched.flags is None
    check = raw_client(demo_target.account, demo_target.password)
    check.select_folder(mailbox, readonly=True)
    assert b"\\Seen" not in check.get_flags([uid])[uid]
    check.logout()


def test_opening_sets_seen_on_that_message_only(demo_target):
    mailbox = fresh_mailbox(demo_target, [make_message(i) for i in range(3)])
    with WorkerHarness(demo_target.account, demo_target.password) as harness:
        harness.worker.submit(SelectMailbox(mailbox))
        selected = harness.wait(MailboxSelected).selected
        target_uid = selected.uids[1]
        ref = MessageRef(mailbox, selected.uidvalidity, target_uid)
        harness.worker.submit(FetchMessage(ref, mark_seen=True))
        fetched = harness.wait(MessageFetched)
    assert "\\Seen" in fetched.flags
    check = raw_client(demo_target.account, demo_target.password)
    check.select_folder(mailbox, readonly=True)
    flags = check.get_flags(list(selected.uids))
    check.logout()
    assert [b"\\Seen" in flags[uid] for uid in selected.uids] == [False, True, False]


def test_tls_with_the_test_ca(dovecot):
    from tui.config import Account

    base = Account(name="tls", host="localhost", port=dovecot.tls_port, tls="implicit", username=dovecot.user)
    with WorkerHarness(dataclasses.replace(base, ca_file=dovecot.ca_file), dovecot.password) as harness:
        assert "IMAP4REV1" in harness.wait(Connected).capabilities
    with WorkerHarness(base, dovecot.password) as harness:
        failure = harness.wait(ConnectionFailed)
    assert "certificate of localhost could not be verified" in failure.message
    assert "ca_file" in failure.message


def test_starttls_with_the_test_ca(dovecot):
    from tui.config import Account

    account = Account(
        name="st", host="localhost", port=dovecot.port, tls="starttls", username=dovecot.user, ca_file=dovecot.ca_file
    )
    with WorkerHarness(account, dovecot.password) as harness:
        connected = harness.wait(Connected)
    # Dovecot announces STARTTLS only before the handshake; the list we keep is the one after login.
    assert "STARTTLS" not in connected.capabilities
    assert "IMAP4REV1" in connected.capabilities


@pytest.mark.parametrize("kind", ["dovecot", "pymap"])
def test_wrong_password_is_one_clear_sentence(request, kind):
    target = request.getfixturevalue(f"{kind}_demo")
    with WorkerHarness(target.account, "not-the-password") as harness:
        failure = harness.wait(ConnectionFailed)
    assert failure.message.startswith(f"{target.account.host} refused the login for account '{kind}'")
    assert "Traceback" not in failure.message


def test_unreachable_port_is_clear():
    from tui.config import Account
    from tui.demo_server import free_port

    account = Account(name="gone", host="127.0.0.1", port=free_port(), tls="none", username="u")
    with WorkerHarness(account, "x") as harness:
        failure = harness.wait(ConnectionFailed)
    assert "refused the connection" in failure.message


def test_server_side_read_only_mailbox_opens_read_only_and_keeps_the_connection(dovecot_demo, dovecot):
    from servers import _maildir_path

    mailbox = fresh_mailbox(dovecot_demo, [make_message(1, subject="Locked")])
    folder = _maildir_path(dovecot, mailbox.decode())
    locked = [folder, folder / "cur", folder / "new", folder / "tmp"]
    for path in locked:
        path.chmod(0o555)  # Dovecot then answers SELECT with OK [READ-ONLY]
    try:
        with WorkerHarness(dovecot_demo.account, dovecot_demo.password) as harness:
            harness.worker.submit(SelectMailbox(mailbox, read_only=False))
            selected = harness.wait(MailboxSelected).selected
            assert selected.read_only
            assert len(selected.uids) == 1
            harness.worker.submit(ListMailboxes(with_status=False))
            assert harness.wait(MailboxesListed).mailboxes  # the connection survived
            assert not [r for r in harness.seen if isinstance(r, ConnectionFailed)]
    finally:
        for path in locked:
            path.chmod(0o700)


def test_failed_select_forgets_the_old_mailbox(demo_target):
    from tui.imap.contract import RequestFailed

    with WorkerHarness(demo_target.account, demo_target.password, fill_batch=10) as harness:
        harness.worker.submit(SelectMailbox(b"INBOX", read_only=True))
        selected = harness.wait(MailboxSelected).selected
        failed = harness.worker.submit(SelectMailbox(b"No such mailbox here", read_only=True))
        harness.wait(RequestFailed, lambda r: r.request_id == failed.id)
        # Nothing is selected now: rows of the old mailbox must not be fetched as junk.
        harness.worker.submit(FetchEnvelopes(b"INBOX", selected.uidvalidity, selected.uids[:5]))
        harness.worker.submit(ListMailboxes(with_status=False))
        harness.wait(MailboxesListed)
        after = harness.seen[harness.seen.index(next(r for r in harness.seen if r.request_id == failed.id)) :]
        placeholders = [
            e for r in after if isinstance(r, EnvelopesFetched) for e in r.envelopes if e.subject.startswith("(")
        ]
        assert placeholders == []
        harness.worker.submit(SelectMailbox(b"INBOX", read_only=True))
        assert harness.wait(MailboxSelected, lambda r: r.request_id > failed.id).selected.uids == selected.uids


def test_fetching_a_vanished_message_says_so(demo_target):
    from tui.imap.contract import RequestFailed

    mailbox = fresh_mailbox(demo_target, [make_message(1)])
    with WorkerHarness(demo_target.account, demo_target.password) as harness:
        harness.worker.submit(SelectMailbox(mailbox))
        selected = harness.wait(MailboxSelected).selected
        gone = MessageRef(mailbox, selected.uidvalidity, selected.uids[-1] + 1000)
        request = harness.worker.submit(FetchMessage(gone, mark_seen=True))
        failure = harness.wait(RequestFailed, lambda r: r.request_id == request.id)
    assert "no longer on the server" in failure.message


def test_cut_connection_is_reconnected_and_the_list_is_right_again(dovecot_demo):
    from proxy import CuttableProxy
    from tui.imap.contract import ConnectionLost, Reconnected

    mailbox = fresh_mailbox(dovecot_demo, [make_message(i) for i in range(5)])
    proxy = CuttableProxy(dovecot_demo.account.host, dovecot_demo.account.port)
    account = dataclasses.replace(dovecot_demo.account, host=proxy.host, port=proxy.port)
    try:
        with WorkerHarness(account, dovecot_demo.password, reconnect_delays=(0.1,)) as harness:
            select = harness.worker.submit(SelectMailbox(mailbox))
            before = harness.wait(MailboxSelected).selected
            harness.wait(EnvelopesFetched, lambda r: r.loaded == r.total)
            # While we are cut off, another client delivers a message.
            check = raw_client(dovecot_demo.account, dovecot_demo.password)
            check.folder_encode = True
            check.append(mailbox.decode(), make_message(99, subject="Arrived while offline"))
            proxy.cut()
            harness.worker.submit(ListMailboxes(with_status=False))
            harness.wait(ConnectionLost)
            harness.wait(Reconnected)
            again = harness.wait(MailboxSelected, lambda r: r.request_id == select.id and r.selected != before)
            assert harness.wait(MailboxesListed).mailboxes  # the request in flight was retried
            check.select_folder(mailbox, readonly=True)
            assert list(again.selected.uids) == sorted(check.search(["ALL"]))
            assert len(again.selected.uids) == len(before.uids) + 1
            check.logout()
            assert proxy.connections == 2
    finally:
        proxy.close()


def test_idle_worker_notices_a_drop_by_itself(pymap_demo):
    from proxy import CuttableProxy
    from tui.imap.contract import ConnectionLost, Reconnected

    proxy = CuttableProxy(pymap_demo.account.host, pymap_demo.account.port)
    account = dataclasses.replace(pymap_demo.account, host=proxy.host, port=proxy.port)
    try:
        with WorkerHarness(account, pymap_demo.password, keepalive=0.2, reconnect_delays=(0.1,)) as harness:
            harness.wait(Connected)
            proxy.cut()  # nobody asks anything: the keepalive NOOP must find out
            harness.wait(ConnectionLost, timeout=10)
            harness.wait(Reconnected, timeout=10)
    finally:
        proxy.close()


def _through_proxy(target):
    from proxy import CuttableProxy

    proxy = CuttableProxy(target.account.host, target.account.port)
    return proxy, dataclasses.replace(target.account, host=proxy.host, port=proxy.port)


def test_a_request_that_always_drops_the_connection_is_given_up(pymap_demo):
    from tui.imap.contract import RequestFailed

    proxy, account = _through_proxy(pymap_demo)
    try:
        with WorkerHarness(account, pymap_demo.password, reconnect_delays=(0.05,)) as harness:
            harness.worker.submit(SelectMailbox(b"INBOX", read_only=True))
            selected = harness.wait(MailboxSelected).selected
            proxy.cut_when_sent(b"BODY.PEEK[]")  # as if the server died on this one message
            poison = harness.worker.submit(FetchMessage(MessageRef(b"INBOX", selected.uidvalidity, selected.uids[-1]),
                                                        mark_seen=False))
            later = harness.worker.submit(ListMailboxes(with_status=False))
            failure = harness.wait(RequestFailed, lambda r: r.request_id == poison.id)
            assert "dropped each time" in failure.message
            assert harness.wait(MailboxesListed, lambda r: r.request_id == later.id).mailboxes
            assert proxy.connections == 3  # the first, one retry, and one to carry on: no storm
    finally:
        proxy.close()


def test_a_drop_during_the_reselect_is_reconnected_again(dovecot_demo):
    proxy, account = _through_proxy(dovecot_demo)
    try:
        with WorkerHarness(account, dovecot_demo.password, reconnect_delays=(0.05,)) as harness:
            harness.worker.submit(SelectMailbox(b"INBOX", read_only=True))
            selected = harness.wait(MailboxSelected).selected
            harness.wait(EnvelopesFetched, lambda r: r.loaded == r.total)
            proxy.cut_when_sent(b"BODY.PEEK[]", times=1)
            proxy.cut_when_sent(b"EXAMINE", times=1)  # the re-select after the first reconnect
            ref = MessageRef(b"INBOX", selected.uidvalidity, selected.uids[-1])
            request = harness.worker.submit(FetchMessage(ref, mark_seen=False))
            fetched = harness.wait(MessageFetched, lambda r: r.request_id == request.id)
            assert fetched.raw
            assert proxy.connections == 3
    finally:
        proxy.close()


def test_flags_on_a_thousand_messages_are_one_store(dovecot_demo):
    from servers import append_messages
    from tui.imap.contract import FlagsChanged, StoreFlags
    from tui.imap.trace import ProtocolTrace

    name = f"Thousand{next(_unique)}"
    append_messages(dovecot_demo.account.host, dovecot_demo.account.port, dovecot_demo.account.username,
                    dovecot_demo.password, name, [make_message(i) for i in range(1000)])
    trace = ProtocolTrace()
    with WorkerHarness(dovecot_demo.account, dovecot_demo.password, trace=trace) as harness:
        harness.worker.submit(SelectMailbox(name.encode()))
        selected = harness.wait(MailboxSelected).selected
        chosen = selected.uids[:300] + selected.uids[301:1000]  # a gap, so the set is not one range
        harness.worker.submit(StoreFlags(name.encode(), selected.uidvalidity, chosen, ("\\Flagged",), True))
        changed = dict(harness.wait(FlagsChanged).flags)
    stores = [t for t in trace.snapshot()[1] if t.command == "UID STORE"]
    assert len(stores) == 1 and stores[0].status == "OK"
    assert set(changed) == set(chosen) and all("\\Flagged" in flags for flags in changed.values())
    check = raw_client(dovecot_demo.account, dovecot_demo.password)
    check.select_folder(name.encode(), readonly=True)
    server = check.get_flags(list(selected.uids))
    check.logout()
    flagged = {uid for uid, flags in server.items() if b"\\Flagged" in flags}
    assert flagged == set(chosen)  # exactly those, not the one left out
