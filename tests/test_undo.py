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
