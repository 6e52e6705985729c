"""Triage in the IMAP worker (issue 4) against real servers, checked through a second connection.

Every test makes its own mailboxes (the servers are shared by the session). The traces
show what was sent: a refused COPY is followed by nothing, a move never sends a bare
EXPUNGE, leaving a mailbox is UNSELECT, never CLOSE.
"""

from __future__ import annotations

import itertools
import re
import time

import pytest
from imapclient import imap_utf7

from harness import (
    WorkerHarness,
    make_mailbox,
    raw_client,
    sent_commands,
    server_flags,
    server_message_ids,
)
from servers import append_messages, make_message
from tui.imap.contract import (
    CheckMailbox,
    Checkpoint,
    Checkpointed,
    CopiesRemoved,
    CopyMessages,
    CopyRefused,
    CreateMailbox,
    DeleteMailbox,
    EnvelopesFetched,
    Expunge,
    FetchEnvelopes,
    FetchMessage,
    FlagsChanged,
    ListMailboxes,
    MailboxChanged,
    MailboxesListed,
    MailboxManaged,
    MailboxSelected,
    MessagesCopied,
    MessageFetched,
    MessagesExpunged,
    RemoveCopies,
    RenameMailbox,
    RequestFailed,
    SelectMailbox,
    StoreFlags,
    Subscribe,
)
from tui.imap.trace import ProtocolTrace
from tui.models import MessageRef

_unique = itertools.count()
STORE_LINE = re.compile(r"^\S+ (UID )?STORE ")  # not CONDSTORE in a CAPABILITY line


def name_for(target, what: str) -> bytes:
    return f"{what}{next(_unique)}-{target.kind}-{time.monotonic_ns() % 10**6}".encode()


def mailbox_with(target, what: str, count: int) -> tuple[bytes, list[int]]:
    name = name_for(target, what)
    uids = make_mailbox(target.account, target.password, name, [make_message(i, subject=f"{what} {i}") for i in range(count)])
    return name, uids


def opened(harness: WorkerHarness, name: bytes, read_only: bool = False):
    request = harness.worker.submit(SelectMailbox(name, read_only=read_only))
    selected = harness.wait(MailboxSelected, lambda r: r.request_id == request.id).selected
    harness.wait(EnvelopesFetched, lambda r: r.raw_name == name and r.loaded == r.total) if selected.uids else None
    return request, selected


def answer(harness: WorkerHarness, kind, request, timeout: float = 20.0):
    return harness.wait(kind, lambda r: r.request_id == request.id, timeout=timeout)


def after(harness: WorkerHarness, request) -> list:
    """The results that answer `request`, in the order they came (wait for them first)."""
    return [r for r in harness.seen if r.request_id == request.id]


def store_lines(trace: ProtocolTrace) -> list[str]:
    return [e.text for e in trace.snapshot()[0] if e.direction == "C" and STORE_LINE.match(e.text)]


def quiet_commands(harness: WorkerHarness, trace: ProtocolTrace) -> list[str]:
    harness.settle(0.3)  # the worker has nothing left to send (or post) after its last answer
    return sent_commands(trace)


# -- flags and keywords ---------------------------------------------------------------------


def test_flag_on_one_message(demo_target):
    name, uids = mailbox_with(demo_target, "Flag", 3)
    with WorkerHarness(demo_target.account, demo_target.password) as harness:
        _, selected = opened(harness, name)
        request = harness.worker.submit(StoreFlags(name, selected.uidvalidity, (uids[1],), ("\\Flagged",), True))
        changed = answer(harness, FlagsChanged, request)
        harness.settle()
    assert "\\Flagged" in dict(changed.flags)[uids[1]]
    assert after(harness, request) == [changed]  # nothing else changed: no MailboxChanged
    server = server_flags(demo_target.account, demo_target.password, name)
    assert [("\\Flagged" in server[uid]) for uid in uids] == [False, True, False]


def test_thousand_messages_one_uid_store_and_keywords(dovecot_demo):
    target = dovecot_demo
    name = name_for(target, "Thousand")
    append_messages(target.account.host, target.account.port, target.account.username, target.password,
                    name.decode(), [make_message(i) for i in range(1000)])
    trace = ProtocolTrace()
    with WorkerHarness(target.account, target.password, trace=trace) as harness:
        _, selected = opened(harness, name)
        chosen = selected.uids[:500] + selected.uids[501:]
        request = harness.worker.submit(
            StoreFlags(name, selected.uidvalidity, chosen, ("\\Seen", "$Triage", "project-x"), True)
        )
        changed = dict(answer(harness, FlagsChanged, request).flags)
        assert len(store_lines(trace)) == 1
        assert set(changed) == set(chosen)
        assert all({"\\Seen", "$Triage", "project-x"} <= flags for flags in changed.values())
        removed = harness.worker.submit(StoreFlags(name, selected.uidvalidity, chosen, ("$Triage",), False))
        answer(harness, FlagsChanged, removed)
        assert len(store_lines(trace)) == 2
    server = server_flags(target.account, target.password, name)
    assert {uid for uid, flags in server.items() if "project-x" in flags} == set(chosen)
    assert not any("$Triage" in flags for flags in server.values())
    assert "\\Seen" not in server[selected.uids[500]]


@pytest.mark.parametrize("bad", ["two words", "x]", "(paren", 'quo"te', "\\NotSystem", "é", "a" * 101, ""])
def test_bad_keyword_is_refused_before_anything_is_sent(dovecot_demo, bad):
    name, uids = mailbox_with(dovecot_demo, "Keyword", 1)
    trace = ProtocolTrace()
    with WorkerHarness(dovecot_demo.account, dovecot_demo.password, trace=trace) as harness:
        _, selected = opened(harness, name)
        request = harness.worker.submit(StoreFlags(name, selected.uidvalidity, tuple(uids), ("$Ok", bad), True))
        failure = answer(harness, RequestFailed, request)
    assert "keyword" in failure.message or "flag" in failure.message
    assert "\n" not in failure.message
    assert store_lines(trace) == []
    assert server_flags(dovecot_demo.account, dovecot_demo.password, name)[uids[0]] == frozenset()


# -- copy and move ----------------------------------------------------------------------------


def test_copy_maps_uids_and_leaves_the_source(dovecot_demo):
    target = dovecot_demo
    source, uids = mailbox_with(target, "CopySrc", 4)
    dest, dest_before = mailbox_with(target, "CopyDst", 2)
    before = server_flags(target.account, target.password, source)
    with WorkerHarness(target.account, target.password) as harness:
        _, selected = opened(harness, source)
        chosen = (uids[0], uids[2], uids[3])
        request = harness.worker.submit(CopyMessages(source, selected.uidvalidity, chosen, dest, move=False))
        copied = answer(harness, MessagesCopied, request)
        harness.settle()
    assert after(harness, request) == [copied]  # the source did not change: no MailboxChanged
    assert not copied.moved and not copied.marked_deleted
    assert server_flags(target.account, target.password, source) == before
    source_ids = server_message_ids(target.account, target.password, source)
    dest_ids = server_message_ids(target.account, target.password, dest)
    assert copied.copy_uid is not None and copied.copy_uid.source_uids == chosen
    mapping = dict(zip(copied.copy_uid.source_uids, copied.copy_uid.target_uids))
    assert set(mapping.values()) == set(dest_ids) - set(dest_before)
    for src, dst in mapping.items():
        assert dest_ids[dst] == source_ids[src]
    check = raw_client(target.account, target.password)
    assert copied.copy_uid.uidvalidity == check.select_folder(dest, readonly=True)[b"UIDVALIDITY"]
    check.logout()


def test_move_with_move(demo_target):
    target = demo_target
    source, uids = mailbox_with(target, "MoveSrc", 4)
    dest, _ = mailbox_with(target, "MoveDst", 0)
    ids = server_message_ids(target.account, target.password, source)
    trace = ProtocolTrace()
    with WorkerHarness(target.account, target.password, trace=trace) as harness:
        _, selected = opened(harness, source)
        chosen = (uids[1], uids[2])
        request = harness.worker.submit(CopyMessages(source, selected.uidvalidity, chosen, dest, move=True))
        moved = answer(harness, MessagesCopied, request)
        mailbox = answer(harness, MailboxChanged, request)
    assert moved.moved and not moved.marked_deleted
    assert mailbox.vanished == chosen and mailbox.uids == (uids[0], uids[3])
    commands = sent_commands(trace)
    assert "UID MOVE" in commands and "UID COPY" not in commands and "EXPUNGE" not in commands
    assert sorted(server_flags(target.account, target.password, source)) == [uids[0], uids[3]]
    dest_ids = server_message_ids(target.account, target.password, dest)
    assert sorted(dest_ids.values()) == sorted(ids[uid] for uid in chosen)
    assert moved.copy_uid is not None
    assert {dest_ids[t] for t in moved.copy_uid.target_uids} == {ids[s] for s in moved.copy_uid.source_uids}


def test_move_without_move_expunges_exactly_those(dovecot_no_move):
    target = dovecot_no_move
    source, uids = mailbox_with(target, "NoMoveSrc", 5)
    dest, _ = mailbox_with(target, "NoMoveDst", 0)
    other = raw_client(target.account, target.password)
    other.select_folder(source)
    other.add_flags([uids[4]], [b"\\Deleted"])  # another client's mark: must survive
    other.logout()
    trace = ProtocolTrace()
    with WorkerHarness(target.account, target.password, trace=trace) as harness:
        _, selected = opened(harness, source)
        request = harness.worker.submit(CopyMessages(source, selected.uidvalidity, (uids[0], uids[1]), dest, move=True))
        moved = answer(harness, MessagesCopied, request)
        mailbox = answer(harness, MailboxChanged, request)
    assert moved.moved and moved.copy_uid is not None and moved.copy_uid.source_uids == (uids[0], uids[1])
    assert mailbox.vanished == (uids[0], uids[1])
    commands = sent_commands(trace)
    assert "UID MOVE" not in commands and "EXPUNGE" not in commands and "CLOSE" not in commands
    assert commands.index("UID COPY") < commands.index("UID STORE") < commands.index("UID EXPUNGE")
    expunges = [e.text for e in trace.snapshot()[0] if e.direction == "C" and " EXPUNGE" in e.text]
    assert len(expunges) == 1 and expunges[0].endswith(f"UID EXPUNGE {uids[0]}:{uids[1]}")
    server = server_flags(target.account, target.password, source)
    assert sorted(server) == uids[2:]
    assert "\\Deleted" in server[uids[4]]
    assert len(server_flags(target.account, target.password, dest)) == 2


def test_move_without_uidplus_copies_and_marks_only(dovecot_no_uidplus):
    target = dovecot_no_uidplus
    source, uids = mailbox_with(target, "NoPlusSrc", 3)
    dest, _ = mailbox_with(target, "NoPlusDst", 0)
    trace = ProtocolTrace()
    with WorkerHarness(target.account, target.password, trace=trace) as harness:
        _, selected = opened(harness, source)
        request = harness.worker.submit(CopyMessages(source, selected.uidvalidity, (uids[0],), dest, move=True))
        copied = answer(harness, MessagesCopied, request)
        mailbox = answer(harness, MailboxChanged, request)
    assert (copied.moved, copied.marked_deleted, copied.copy_uid) == (False, True, None)
    assert mailbox.vanished == () and "\\Deleted" in dict(mailbox.flags)[uids[0]]
    assert not [c for c in sent_commands(trace) if "EXPUNGE" in c or c in ("CLOSE", "UID MOVE")]
    server = server_flags(target.account, target.password, source)
    assert sorted(server) == uids and "\\Deleted" in server[uids[0]]
    assert "\\Deleted" not in server[uids[1]]
    assert len(server_flags(target.account, target.password, dest)) == 1


@pytest.mark.parametrize("move", [True, False])
def test_trycreate_sends_nothing_more_then_create_works(demo_target, move):
    target = demo_target
    source, uids = mailbox_with(target, "TrySrc", 2)
    missing = name_for(target, "Parent") + "/Neu Ü".encode()
    missing = imap_utf7.encode(missing.decode())
    before = server_flags(target.account, target.password, source)
    trace = ProtocolTrace()
    with WorkerHarness(target.account, target.password, trace=trace) as harness:
        _, selected = opened(harness, source)
        request = harness.worker.submit(CopyMessages(source, selected.uidvalidity, (uids[0],), missing, move=move))
        refused = answer(harness, CopyRefused, request)
        assert refused.trycreate and refused.request == request
        assert "does not exist" in refused.message and "\n" not in refused.message
        assert quiet_commands(harness, trace)[-1] == ("UID MOVE" if move else "UID COPY")
        assert after(harness, request) == [refused]
        assert server_flags(target.account, target.password, source) == before
        again = harness.worker.submit(
            CopyMessages(source, selected.uidvalidity, (uids[0],), missing, move=move, create=True)
        )
        copied = answer(harness, MessagesCopied, again)
        if move:
            assert answer(harness, MailboxChanged, again).vanished == (uids[0],)
        # Saying yes twice is harmless: an existing target is fine for create=True.
        twice = harness.worker.submit(CopyMessages(source, selected.uidvalidity, (uids[1],), missing, move=False,
                                                   create=True))
        assert not answer(harness, MessagesCopied, twice).moved
    assert copied.moved == move
    check = raw_client(target.account, target.password)
    assert [n for _f, _d, n in check.list_folders(pattern=missing)] == [missing]
    assert [n for _f, _d, n in check.list_sub_folders(pattern=missing)] == [missing]
    check.logout()
    assert len(server_flags(target.account, target.password, missing)) == 2
    assert sorted(server_flags(target.account, target.password, source)) == (uids[1:] if move else uids)


# -- expunge ----------------------------------------------------------------------------------


def test_expunge_leaves_another_clients_deleted_message(demo_target):
    target = demo_target
    name, uids = mailbox_with(target, "Expunge", 3)
    with WorkerHarness(target.account, target.password) as harness:
        _, selected = opened(harness, name)
        mark = harness.worker.submit(StoreFlags(name, selected.uidvalidity, (uids[0],), ("\\Deleted",), True))
        answer(harness, FlagsChanged, mark)
        other = raw_client(target.account, target.password)
        other.select_folder(name)
        other.add_flags([uids[2]], [b"\\Deleted"])
        other.logout()
        request = harness.worker.submit(Expunge(name, selected.uidvalidity, (uids[0],)))
        expunged = answer(harness, MessagesExpunged, request)
        mailbox = answer(harness, MailboxChanged, request)
    assert [type(r) for r in after(harness, request)] == [MessagesExpunged, MailboxChanged]
    assert expunged.uids == (uids[0],)
    assert mailbox.vanished == (uids[0],) and mailbox.uids == (uids[1], uids[2])
    server = server_flags(target.account, target.password, name)
    assert sorted(server) == [uids[1], uids[2]] and "\\Deleted" in server[uids[2]]


def test_expunge_without_uidplus_needs_allow_bare(dovecot_no_uidplus):
    target = dovecot_no_uidplus
    name, uids = mailbox_with(target, "Bare", 2)
    other = raw_client(target.account, target.password)
    other.select_folder(name)
    other.add_flags(uids, [b"\\Deleted"])
    other.logout()
    trace = ProtocolTrace()
    with WorkerHarness(target.account, target.password, trace=trace) as harness:
        _, selected = opened(harness, name)
        refused = harness.worker.submit(Expunge(name, selected.uidvalidity, (uids[0],)))
        failure = answer(harness, RequestFailed, refused)
        assert "UIDPLUS" in failure.message
        assert not [c for c in sent_commands(trace) if "EXPUNGE" in c]
        assert sorted(server_flags(target.account, target.password, name)) == uids
        allowed = harness.worker.submit(Expunge(name, selected.uidvalidity, (uids[0],), allow_bare=True))
        expunged = answer(harness, MessagesExpunged, allowed)
        answer(harness, MailboxChanged, allowed)
    assert expunged.uids == (uids[0],)
    assert "EXPUNGE" in sent_commands(trace)
    assert server_flags(target.account, target.password, name) == {}  # the bare one took both, as warned


# -- undo ---------------------------------------------------------------------------------------


def test_undo_copy_removes_only_the_copies_and_reopens_the_source(dovecot_demo):
    target = dovecot_demo
    source, uids = mailbox_with(target, "UndoCopySrc", 3)
    dest, dest_own = mailbox_with(target, "UndoCopyDst", 1)
    trace = ProtocolTrace()
    with WorkerHarness(target.account, target.password, trace=trace) as harness:
        select, selected = opened(harness, source)
        request = harness.worker.submit(CopyMessages(source, selected.uidvalidity, tuple(uids[:2]), dest, move=False))
        copy_uid = answer(harness, MessagesCopied, request).copy_uid
        since = len(harness.seen)
        undo = harness.worker.submit(RemoveCopies(dest, copy_uid.uidvalidity, copy_uid.target_uids))
        removed = answer(harness, CopiesRemoved, undo)
        reopened = harness.wait_after(since, MailboxSelected, lambda r: r.request_id == select.id)
        assert harness.seen.index(removed, since) < harness.seen.index(reopened, since)
        # The list fills again after the re-select.
        harness.wait_after(since, EnvelopesFetched, lambda r: r.raw_name == source and r.loaded == r.total == 3)
    assert removed.uids == copy_uid.target_uids
    assert reopened.selected.raw_name == source and reopened.selected.uids == tuple(uids)
    assert "CLOSE" not in sent_commands(trace)
    assert sorted(server_flags(target.account, target.password, dest)) == dest_own
    assert sorted(server_flags(target.account, target.password, source)) == uids


def test_undo_move_moves_back(demo_target):
    target = demo_target
    source, uids = mailbox_with(target, "UndoMoveSrc", 3)
    dest, _ = mailbox_with(target, "UndoMoveDst", 0)
    ids = server_message_ids(target.account, target.password, source)
    with WorkerHarness(target.account, target.password) as harness:
        select, selected = opened(harness, source)
        request = harness.worker.submit(CopyMessages(source, selected.uidvalidity, (uids[0], uids[2]), dest, move=True))
        copy_uid = answer(harness, MessagesCopied, request).copy_uid
        answer(harness, MailboxChanged, request)
        undo = harness.worker.submit(
            CopyMessages(dest, copy_uid.uidvalidity, copy_uid.target_uids, source, move=True)
        )
        since = len(harness.seen)
        back = answer(harness, MessagesCopied, undo)
        reopened = harness.wait_after(since, MailboxSelected, lambda r: r.request_id == select.id)
    assert back.moved
    assert [type(r) for r in after(harness, undo)] == [MessagesCopied]  # then the source re-opened
    assert server_flags(target.account, target.password, dest) == {}
    now = server_message_ids(target.account, target.password, source)
    assert sorted(now.values()) == sorted(ids.values())
    assert reopened.selected.uids == tuple(sorted(now))


def test_undo_refuses_when_uidvalidity_changed(pymap_demo):
    target = pymap_demo
    source, uids = mailbox_with(target, "UvSrc", 1)
    dest, dest_uids = mailbox_with(target, "UvDst", 1)
    with WorkerHarness(target.account, target.password) as harness:
        select, selected = opened(harness, source)
        check = raw_client(target.account, target.password)
        validity = check.select_folder(dest, readonly=True)[b"UIDVALIDITY"]
        check.logout()
        since = len(harness.seen)
        undo = harness.worker.submit(RemoveCopies(dest, validity + 1, tuple(dest_uids)))
        failure = answer(harness, RequestFailed, undo)
        reopened = harness.wait_after(since, MailboxSelected, lambda r: r.request_id == select.id)
        assert reopened.selected.uids == tuple(uids)
    assert "changed (UIDVALIDITY)" in failure.message
    assert sorted(server_flags(target.account, target.password, dest)) == dest_uids


def test_remove_copies_needs_uidplus(dovecot_no_uidplus):
    target = dovecot_no_uidplus
    name, uids = mailbox_with(target, "NoUndo", 1)
    trace = ProtocolTrace()
    with WorkerHarness(target.account, target.password, trace=trace) as harness:
        request = harness.worker.submit(RemoveCopies(name, 1, tuple(uids)))
        failure = answer(harness, RequestFailed, request)
    assert "UIDPLUS" in failure.message
    assert not [c for c in sent_commands(trace) if c in ("SELECT", "UID STORE", "UID EXPUNGE")]


# -- noticing other clients -----------------------------------------------------------------------


def test_check_sees_new_mail_flags_and_expunges(demo_target):
    target = demo_target
    name, uids = mailbox_with(target, "Check", 3)
    # Without IDLE: the news must come with the command's answer, not before it.
    with WorkerHarness(target.account, target.password, use_idle=False) as harness:
        _, selected = opened(harness, name)
        quiet = harness.worker.submit(CheckMailbox(name, selected.uidvalidity))
        nothing = answer(harness, MailboxChanged, quiet)
        assert (nothing.new, nothing.vanished, nothing.uids) == ((), (), tuple(uids))
        other = raw_client(target.account, target.password)
        other.append(name, make_message(50, subject="Late arrival"))
        other.select_folder(name)
        other.add_flags([uids[1]], [b"\\Flagged"])
        other.add_flags([uids[0]], [b"\\Deleted"])
        other.uid_expunge([uids[0]]) if b"UIDPLUS" in other.capabilities() else other.expunge()
        new_uid = max(other.search(["ALL"]))
        other.logout()
        request = harness.worker.submit(CheckMailbox(name, selected.uidvalidity))
        changed = answer(harness, MailboxChanged, request)
        assert changed.new == (new_uid,)
        assert changed.vanished == (uids[0],)
        assert changed.uids == (uids[1], uids[2], new_uid)
        assert "\\Flagged" in dict(changed.flags)[uids[1]]
        # The new row fills by itself, and can also be asked for.
        filled = harness.wait(EnvelopesFetched, lambda r: any(e.uid == new_uid for e in r.envelopes))
        assert filled.total == 3 and filled.loaded == 3
        rows = harness.worker.submit(FetchEnvelopes(name, selected.uidvalidity, (new_uid,)))
        harness.worker.submit(CheckMailbox(name, selected.uidvalidity))
        harness.wait(MailboxChanged, lambda r: r.request_id > request.id)
        assert not [r for r in after(harness, rows) if isinstance(r, RequestFailed)]
    assert [e.subject for e in filled.envelopes if e.uid == new_uid] == ["Late arrival"]


def test_a_command_also_reports_other_clients_changes(dovecot_demo):
    target = dovecot_demo
    name, uids = mailbox_with(target, "Piggy", 4)
    # Without IDLE: the news must come with the command's answer, not before it.
    with WorkerHarness(target.account, target.password, use_idle=False) as harness:
        _, selected = opened(harness, name)
        other = raw_client(target.account, target.password)
        other.append(name, make_message(60))
        other.select_folder(name)
        other.add_flags([uids[3]], [b"\\Deleted"])
        other.uid_expunge([uids[3]])
        new_uid = max(other.search(["ALL"]))
        # several events between our commands, some arriving during a FETCH (filed unordered)
        body = harness.worker.submit(FetchMessage(MessageRef(name, selected.uidvalidity, uids[0]), mark_seen=False))
        answer(harness, MessageFetched, body)
        other.add_flags([uids[2]], [b"\\Answered"])
        other.logout()
        request = harness.worker.submit(StoreFlags(name, selected.uidvalidity, (uids[0],), ("\\Seen",), True))
        changed = answer(harness, MailboxChanged, request)
    assert changed.uids == (uids[0], uids[1], uids[2], new_uid)
    assert changed.new == (new_uid,) and changed.vanished == (uids[3],)
    assert "\\Answered" in dict(changed.flags)[uids[2]]


# -- mailboxes ------------------------------------------------------------------------------------


def _listed(target) -> tuple[set[bytes], set[bytes]]:
    check = raw_client(target.account, target.password)
    try:
        return ({n for _f, _d, n in check.list_folders()}, {n for _f, _d, n in check.list_sub_folders()})
    finally:
        check.logout()


def test_create_rename_subscribe_delete_a_non_ascii_nested_name(demo_target):
    target = demo_target
    parent = f"Archiv{next(_unique)}{target.kind}"
    name = imap_utf7.encode(f"{parent}/Été 2026")
    renamed = imap_utf7.encode(f"{parent}/Hiver 2027 ∞")
    with WorkerHarness(target.account, target.password) as harness:
        created = harness.worker.submit(CreateMailbox(name))
        managed = answer(harness, MailboxManaged, created)
        listed = answer(harness, MailboxesListed, created)
        assert (managed.action, managed.raw_name) == ("created", name)
        assert [type(r) for r in after(harness, created)][:2] == [MailboxManaged, MailboxesListed]
        entry = {m.raw_name: m for m in listed.mailboxes}[name]
        assert entry.name == f"{parent}/Été 2026" and entry.subscribed
        names, subscribed = _listed(target)
        assert name in names and name in subscribed

        unsub = harness.worker.submit(Subscribe(name, subscribe=False))
        assert answer(harness, MailboxManaged, unsub).action == "unsubscribed"
        assert not {m.raw_name: m for m in answer(harness, MailboxesListed, unsub).mailboxes}[name].subscribed
        assert name not in _listed(target)[1]
        sub = harness.worker.submit(Subscribe(name, subscribe=True))
        assert answer(harness, MailboxManaged, sub).action == "subscribed"
        assert name in _listed(target)[1]

        rename = harness.worker.submit(RenameMailbox(name, renamed))
        done = answer(harness, MailboxManaged, rename)
        assert (done.action, done.raw_name, done.new_name) == ("renamed", name, renamed)
        answer(harness, MailboxesListed, rename)
        names, subscribed = _listed(target)
        assert renamed in names and name not in names
        assert renamed in subscribed and name not in subscribed

        delete = harness.worker.submit(DeleteMailbox(renamed))
        assert answer(harness, MailboxManaged, delete).action == "deleted"
        assert renamed not in {m.raw_name for m in answer(harness, MailboxesListed, delete).mailboxes}
        names, subscribed = _listed(target)
        assert renamed not in names and renamed not in subscribed

        again = harness.worker.submit(DeleteMailbox(renamed))
        failure = answer(harness, RequestFailed, again)
        assert failure.message.startswith(f"cannot delete {parent}/Hiver 2027 ∞: ") and "\n" not in failure.message


def test_deleting_the_open_mailbox_unselects_and_expunges_nothing_else(demo_target):
    target = demo_target
    doomed, _ = mailbox_with(target, "Doomed", 2)
    keeper, keeper_uids = mailbox_with(target, "Keeper", 2)
    other = raw_client(target.account, target.password)
    other.select_folder(keeper)
    other.add_flags([keeper_uids[0]], [b"\\Deleted"])
    other.logout()
    trace = ProtocolTrace()
    with WorkerHarness(target.account, target.password, trace=trace) as harness:
        _, selected = opened(harness, doomed)
        request = harness.worker.submit(DeleteMailbox(doomed))
        assert answer(harness, MailboxManaged, request).action == "deleted"
        answer(harness, MailboxesListed, request)
        # nothing is open now: rows of the deleted mailbox are refused, not fetched
        rows = harness.worker.submit(FetchEnvelopes(doomed, selected.uidvalidity, selected.uids))
        assert "not open" in answer(harness, RequestFailed, rows).message
    commands = sent_commands(trace)
    assert "CLOSE" not in commands and "EXPUNGE" not in commands
    left = "UNSELECT" if target.kind == "dovecot" else "EXAMINE"
    assert commands.index(left) < commands.index("DELETE")
    assert doomed not in _listed(target)[0]
    server = server_flags(target.account, target.password, keeper)
    assert sorted(server) == keeper_uids and "\\Deleted" in server[keeper_uids[0]]


def test_list_patterns(demo_target):
    target = demo_target
    top = f"Pat{next(_unique)}{target.kind}"
    check = raw_client(target.account, target.password)
    for name in (f"{top}/a", f"{top}/a/b", f"{top}/c"):
        check.create_folder(name.encode())
    check.logout()
    with WorkerHarness(target.account, target.password) as harness:
        one = harness.worker.submit(ListMailboxes(with_status=False, pattern=f"{top}/%".encode()))
        every = harness.worker.submit(ListMailboxes(with_status=False, pattern=f"{top}/*".encode()))
        level = {m.raw_name for m in answer(harness, MailboxesListed, one).mailboxes}
        deep = {m.raw_name for m in answer(harness, MailboxesListed, every).mailboxes}
        bad = harness.worker.submit(ListMailboxes(with_status=False, pattern=b"x\r\nA1 LOGOUT"))
        assert "line break" in answer(harness, RequestFailed, bad).message
    assert level == {f"{top}/a".encode(), f"{top}/c".encode()}
    assert deep == {f"{top}/a".encode(), f"{top}/a/b".encode(), f"{top}/c".encode()}


def test_bad_mailbox_name_is_not_sent(pymap_demo):
    trace = ProtocolTrace()
    with WorkerHarness(pymap_demo.account, pymap_demo.password, trace=trace) as harness:
        request = harness.worker.submit(CreateMailbox(b"Evil\r\nA1 DELETE INBOX"))
        assert "line break" in answer(harness, RequestFailed, request).message
    assert not [c for c in sent_commands(trace) if c in ("CREATE", "DELETE")]


# -- read-only ------------------------------------------------------------------------------------


def test_read_only_selection_refuses_every_change(demo_target):
    target = demo_target
    name, uids = mailbox_with(target, "ReadOnly", 2)
    dest, _ = mailbox_with(target, "ReadOnlyDst", 0)
    trace = ProtocolTrace()
    with WorkerHarness(target.account, target.password, trace=trace) as harness:
        _, selected = opened(harness, name, read_only=True)
        v = selected.uidvalidity
        for request in (
            CopyMessages(name, v, (uids[0],), dest, move=False),
            CopyMessages(name, v, (uids[0],), dest, move=True),
            Expunge(name, v, (uids[0],)),
            RemoveCopies(name, v, (uids[0],)),
            StoreFlags(name, v, (uids[0],), ("\\Deleted",), True),
        ):
            harness.worker.submit(request)
            assert "read-only" in answer(harness, RequestFailed, request).message
        check = harness.worker.submit(CheckMailbox(name, v))  # looking is fine
        answer(harness, MailboxChanged, check)
        point = harness.worker.submit(Checkpoint())
        answer(harness, Checkpointed, point)
    sent = sent_commands(trace)
    assert not [c for c in sent if c in ("UID COPY", "UID MOVE", "UID STORE", "UID EXPUNGE", "EXPUNGE", "SELECT")]
    assert server_flags(target.account, target.password, dest) == {}


def test_read_only_account_refuses_mailbox_changes(pymap_demo):
    import dataclasses

    account = dataclasses.replace(pymap_demo.account, read_only=True)
    trace = ProtocolTrace()
    with WorkerHarness(account, pymap_demo.password, trace=trace) as harness:
        for request in (CreateMailbox(b"NeverMade"), DeleteMailbox(b"INBOX"), Subscribe(b"INBOX", subscribe=False)):
            harness.worker.submit(request)
            assert "read-only" in answer(harness, RequestFailed, request).message
    assert not [c for c in sent_commands(trace) if c in ("CREATE", "DELETE", "UNSUBSCRIBE")]


def test_check_after_the_newest_message_went_and_another_came(dovecot_demo):
    """UID SEARCH UID n:* also matches the last message when its UID is below n: filtered."""
    target = dovecot_demo
    name, uids = mailbox_with(target, "Tail", 3)
    with WorkerHarness(target.account, target.password) as harness:
        _, selected = opened(harness, name)
        other = raw_client(target.account, target.password)
        other.select_folder(name)
        other.add_flags([uids[2]], [b"\\Deleted"])
        other.uid_expunge([uids[2]])
        first = harness.worker.submit(CheckMailbox(name, selected.uidvalidity))
        assert answer(harness, MailboxChanged, first).uids == (uids[0], uids[1])
        other.append(name, make_message(70))
        newest = max(other.search(["ALL"]))
        other.add_flags([newest], [b"\\Deleted"])
        other.uid_expunge([newest])  # came and went before we looked: nothing new
        second = harness.worker.submit(CheckMailbox(name, selected.uidvalidity))
        quiet = answer(harness, MailboxChanged, second)
        other.append(name, make_message(71))
        third = harness.worker.submit(CheckMailbox(name, selected.uidvalidity))
        arrived = answer(harness, MailboxChanged, third)
        latest = max(other.search(["ALL"]))
        other.logout()
    assert (quiet.new, quiet.vanished, quiet.uids) == ((), (), (uids[0], uids[1]))
    assert arrived.new == (latest,) and arrived.uids == (uids[0], uids[1], latest)


def test_undo_into_a_deleted_mailbox_fails_clearly_and_reopens(dovecot_demo):
    target = dovecot_demo
    source, uids = mailbox_with(target, "GoneSrc", 2)
    dest, _ = mailbox_with(target, "GoneDst", 0)
    with WorkerHarness(target.account, target.password) as harness:
        select, selected = opened(harness, source)
        request = harness.worker.submit(CopyMessages(source, selected.uidvalidity, (uids[0],), dest, move=False))
        copy_uid = answer(harness, MessagesCopied, request).copy_uid
        other = raw_client(target.account, target.password)
        other.delete_folder(dest)
        other.logout()
        since = len(harness.seen)
        undo = harness.worker.submit(RemoveCopies(dest, copy_uid.uidvalidity, copy_uid.target_uids))
        failure = answer(harness, RequestFailed, undo)
        harness.wait_after(since, MailboxSelected, lambda r: r.request_id == select.id)
    assert failure.message.startswith(f"cannot undo: {dest.decode()} cannot be opened")
    assert "\n" not in failure.message
    assert sorted(server_flags(target.account, target.password, source)) == uids
