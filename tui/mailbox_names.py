"""Mailbox names typed by the user, turned into what goes on the wire. No Textual here."""

from __future__ import annotations

from imapclient import imap_utf7

from .safe_text import safe_line


class BadMailboxName(ValueError):
    pass


def encode_mailbox_name(text: str) -> bytes:
    """Modified UTF-7 (RFC 3501 5.1.3) of a name the user typed, or BadMailboxName."""
    name = text.strip()
    if not name:
        raise BadMailboxName("A mailbox needs a name.")
    if safe_line(name) != name or any(c in name for c in "\r\n\x00"):
        raise BadMailboxName("A mailbox name cannot hold control characters.")
    if len(name) > 200:
        raise BadMailboxName("That name is too long (200 characters at most).")
    return imap_utf7.encode(name)
