"""What `U` can take back, built only from what the server confirmed.

A flag change is undone by the inverse STORE on exactly the messages it changed;
a copy by removing the copies COPYUID named; a move by moving those copies back.
Where the server said too little (no COPYUID) or nothing can bring mail back
(an expunge), the entry says why instead of guessing. No Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .imap.contract import CopyMessages, CopyUid, RemoveCopies, Request, StoreFlags
from .timefmt import count_text

MAX_UNDO = 50


@dataclass(frozen=True)
class FlagsUndo:
    account: str
    raw_name: bytes
    uidvalidity: int
    uids: tuple[int, ...]  # only the messages whose flag the action changed
    flag: str
    added: bool

    def request(self) -> Request:
        return StoreFlags(self.raw_name, self.uidvalidity, self.uids, (self.flag,), not self.added)

    def describe(self) -> str:
        verb = "set" if self.added else "cleared"
        return f"{self.flag} {verb} on {count_text(len(self.uids))}"


@dataclass(frozen=True)
class CopyUndo:
    account: str
    source: bytes
    target: bytes
    copy_uid: CopyUid
    moved: bool

    def request(self) -> Request:
        uids = self.copy_uid.target_uids
        if self.moved:
            # The copies are the messages now: move them back where they came from.
            return CopyMessages(self.target, self.copy_uid.uidvalidity, uids, self.source, move=True)
        return RemoveCopies(self.target, self.copy_uid.uidvalidity, uids)

    def describe(self) -> str:
        return f"{'move' if self.moved else 'copy'} of {count_text(len(self.copy_uid.target_uids))}"


@dataclass(frozen=True)
class CannotUndo:
    """The last action, which cannot be taken back, and why."""

    account: str
    why: str


UndoEntry = FlagsUndo | CopyUndo | CannotUndo


class UndoStack:
    def __init__(self) -> None:
        self._entries: list[UndoEntry] = []

    def push(self, entry: UndoEntry) -> None:
        self._entries.append(entry)
        del self._entries[:-MAX_UNDO]

    def pop(self) -> UndoEntry | None:
        return self._entries.pop() if self._entries else None

    def discard(self, entry: UndoEntry) -> None:
        """Take back an entry whose action the server then refused."""
        for index in range(len(self._entries) - 1, -1, -1):
            if self._entries[index] is entry:
                del self._entries[index]
                return

    def __len__(self) -> int:
        return len(self._entries)
