"""The undo entries turn what the server confirmed into the inverse command."""

from __future__ import annotations

import pytest

from tui.imap.contract import CopyMessages, CopyUid, RemoveCopies, StoreFlags
from tui.mailbox_names import BadMailboxName, encode_mailbox_name
from tui.undo import CannotUndo, CopyUndo, FlagsUndo, UndoStack


def test_flags_undo_is_the_inverse_store_on_the_changed_messages_only():
    entry = FlagsUndo("acct", b"INBOX", 7, (3, 5), "\\Flagged", added=True)
    request = entry.request()
    assert isinstance(request, StoreFlags)
    assert (request.raw_name, request.uidvalidity, request.uids, request.flags, request.add) == (
        b"INBOX", 7, (3, 5), ("\\Flagged",), False)


def test_undoing_a_copy_removes_the_copies_named_by_copyuid():
    copy_uid = CopyUid(uidvalidity=99, source_uids=(1, 2), target_uids=(40, 41))
    request = CopyUndo("acct", b"INBOX", b"Archive", copy_uid, moved=False).request()
    assert isinstance(request, RemoveCopies)
    assert (request.raw_name, request.uidvalidity, request.uids) == (b"Archive", 99, (40, 41))


def test_undoing_a_move_moves_the_copies_back():
    copy_uid = CopyUid(uidvalidity=99, source_uids=(1, 2), target_uids=(40, 41))
    request = CopyUndo("acct", b"INBOX", b"Archive", copy_uid, moved=True).request()
    assert isinstance(request, CopyMessages)
    assert (request.raw_name, request.uidvalidity, request.uids, request.target, request.move) == (
        b"Archive", 99, (40, 41), b"INBOX", True)
    assert request.retry_safe is False  # never sent twice after a reconnect


def test_stack_pops_newest_first_and_discards_a_refused_entry():
    stack = UndoStack()
    first, second = CannotUndo("a", "one"), CannotUndo("a", "two")
    stack.push(first)
    stack.push(second)
    stack.discard(second)
    assert stack.pop() is first
    assert stack.pop() is None


def test_stack_keeps_a_bounded_history():
    stack = UndoStack()
    for n in range(200):
        stack.push(CannotUndo("a", str(n)))
    assert len(stack) == 50
    assert stack.pop().why == "199"


@pytest.mark.parametrize("typed, wire", [
    ("Archiv/Été 2026", b"Archiv/&AMk-t&AOk- 2026"),
    ("Projects/2026", b"Projects/2026"),
    ("a&b", b"a&-b"),
])
def test_typed_names_become_modified_utf7(typed, wire):
    assert encode_mailbox_name(typed) == wire


@pytest.mark.parametrize("typed", ["", "   ", "bad\r\nA001 DELETE INBOX", "x\x1b]52;c;aGk=\x07", "n" * 201])
def test_names_that_cannot_be_sent_are_refused(typed):
    with pytest.raises(BadMailboxName):
        encode_mailbox_name(typed)


def _reply(code_data: bytes):
    from tui.imap.commands import Reply

    return Reply("OK", "Copy completed", "COPYUID", code_data)


def test_copyuid_ranges_map_each_source_to_its_copy():
    from tui.imap.mutations import parse_copyuid

    copy_uid = parse_copyuid(_reply(b"38505 1:3,5 3956:3959"), [1, 2, 3, 5])
    assert copy_uid == CopyUid(38505, (1, 2, 3, 5), (3956, 3957, 3958, 3959))


@pytest.mark.parametrize("data", [
    b"1 1:4294967295 1:4294967295",  # would expand to four billion numbers
    b"1 1:3 10:11",  # counts differ
    b"1 7 10",  # a message we did not ask about
    b"1 1,1 10,11",  # the same source twice
    b"1 1:2 10,10",  # two copies with one UID
    b"x 1 2",
])
def test_copyuid_that_does_not_match_the_request_is_not_believed(data):
    from tui.imap.mutations import parse_copyuid

    assert parse_copyuid(_reply(data), [1, 2, 3, 5]) is None


def test_exists_without_a_number_is_not_guessed_at():
    from tui.imap.commands import parse_untagged

    assert parse_untagged(b"* EXISTS").kind == "UNPARSED"
    assert parse_untagged(b"* 4 EXISTS").number == 4
