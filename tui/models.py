"""Frozen value types shared by every layer (protocol, cache, UI).

Strings held here are decoded but *not* made safe for display: the UI passes
every one of them through `tui.safe_text` at render time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# SPECIAL-USE attributes (RFC 6154) we label and sort, in display order.
SPECIAL_USES = ("\\Sent", "\\Drafts", "\\Archive", "\\Junk", "\\Trash")


@dataclass(frozen=True)
class Mailbox:
    """One LIST entry."""

    raw_name: bytes  # exactly as the server sent it; sent back byte-exact
    name: str  # modified UTF-7 decoded, for display and sorting
    delimiter: str | None
    attributes: frozenset[str] = frozenset()  # e.g. "\\Noselect", lower-cased keys not assumed
    subscribed: bool = False
    special_use: str | None = None  # one of SPECIAL_USES, or None

    @property
    def selectable(self) -> bool:
        lowered = {a.lower() for a in self.attributes}
        return not ({"\\noselect", "\\nonexistent"} & lowered)

    @property
    def role_note(self) -> str:
        """"Sent" beside a folder called "Sent Items"; nothing beside one called "Sent"."""
        role = (self.special_use or "").lstrip("\\")
        return "" if role.casefold() == self.parts[-1].casefold() else role

    @property
    def parts(self) -> tuple[str, ...]:
        """The path of this mailbox in the hierarchy."""
        if not self.delimiter:
            return (self.name,)
        return tuple(self.name.split(self.delimiter))


@dataclass(frozen=True)
class MailboxStatus:
    raw_name: bytes
    messages: int
    unseen: int


@dataclass(frozen=True)
class SelectedMailbox:
    """What SELECT/EXAMINE told us, plus every UID in arrival order."""

    raw_name: bytes
    uidvalidity: int
    exists: int
    read_only: bool
    uids: tuple[int, ...]  # ascending
    unseen: int
    permanent_flags: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()
    recent: int = 0
    uidnext: int | None = None
    highestmodseq: int | None = None  # only from CONDSTORE servers


# "@" and the look-alikes a display name can hide an address behind (fullwidth, small).
_AT_SIGNS = ("@", "\uff20", "\ufe6b")


@dataclass(frozen=True)
class Address:
    name: str  # display name, decoded
    mailbox: str  # local@domain

    def display(self) -> str:
        """The name, unless it reads as another address: `"support@bank.com" <evil@x>` is
        shown as evil@x, the address the mail really came from (Thunderbird shows the
        address then too). The viewer always shows both."""
        name = self.name
        if not name:
            return self.mailbox
        if any(at in name for at in _AT_SIGNS) and name.strip(" \t\"'<>").casefold() != self.mailbox.casefold():
            return self.mailbox or "(no address)"  # `"support@bank.com" <>`: nothing real to show
        return name


@dataclass(frozen=True)
class Envelope:
    """One row of the message list."""

    uid: int
    flags: frozenset[str]
    date: datetime | None  # Date: header, else INTERNALDATE
    sender: Address | None
    to: tuple[Address, ...]
    subject: str
    size: int
    message_id: str = ""
    has_attachment: bool | None = None  # None: not known yet

    @property
    def seen(self) -> bool:
        return "\\Seen" in self.flags

    @property
    def flagged(self) -> bool:
        return "\\Flagged" in self.flags

    @property
    def answered(self) -> bool:
        return "\\Answered" in self.flags

    @property
    def deleted(self) -> bool:
        return "\\Deleted" in self.flags


@dataclass(frozen=True)
class MessageRef:
    """Names one message for good: UIDs are only unique within a UIDVALIDITY."""

    mailbox: bytes
    uidvalidity: int
    uid: int


@dataclass(frozen=True)
class MimePart:
    """One node of a message's part tree (see `tui.mime.part_tree`)."""

    path: str  # "1", "1.2", ... as in IMAP BODY section numbers; "" for the root
    content_type: str
    filename: str | None
    charset: str | None
    size: int  # decoded payload bytes (0 for containers)
    depth: int
    children: tuple["MimePart", ...] = field(default=())
    note: str = ""  # why this part is degraded, if it is
    # From a server's BODYSTRUCTURE only (big messages, fetched part by part); a tree
    # parsed from the whole message leaves them at their defaults.
    encoding: str = ""  # Content-Transfer-Encoding, lower-case
    attachment: bool = False  # Content-Disposition: attachment
    octets: int = 0  # the part's size on the server, still transfer-encoded
