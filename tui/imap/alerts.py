"""[ALERT] texts (RFC 3501 7.1: they must reach the user), caught on every path a
connection reads: the greeting, untagged lines, and each command's tagged answer,
whoever runs the command. No Textual here.
"""

from __future__ import annotations

import weakref

from imapclient import IMAPClient

_alerts: "weakref.WeakKeyDictionary[IMAPClient, list[str]]" = weakref.WeakKeyDictionary()
MAX_ALERTS = 20  # kept until taken; a server repeating one forever fills nothing


class _TaggedAnswers(dict):
    """imaplib's `tagged_commands`, which keeps the [ALERT] of every tagged answer filed in it.

    Whoever reads (imaplib, imapclient, run_command, bulk_read, idle), imaplib's reader files
    each tagged answer here as (status, [text]): one place for every command. A weak
    reference: the connection must not keep itself alive through its own dict.
    """

    def __init__(self, client: IMAPClient, pending: dict) -> None:
        super().__init__(pending)
        self._client = weakref.ref(client)

    def __setitem__(self, tag, answer) -> None:
        client = self._client()
        if client is not None and isinstance(answer, tuple) and len(answer) == 2 and answer[1]:
            text = answer[1][0]
            _keep_alert(client, text)
        super().__setitem__(tag, answer)


def watch_alerts(client: IMAPClient) -> None:
    """From now on keep every [ALERT] this connection reads, whoever reads it.

    Tagged ones as imaplib files the answer (_TaggedAnswers). Untagged: imaplib files
    "* OK [ALERT] text" as an OK line and an empty ALERT, and imapclient's commands throw
    their OK lines away: the line is caught as imaplib files it.
    """
    imap = client._imap
    append = imap._append_untagged

    def filed(typ, dat):
        if typ in ("OK", "NO", "BAD", "BYE"):  # ("* BYE [ALERT] going down": the last thing said)
            _keep_alert(client, dat)
        return append(typ, dat)

    imap._append_untagged = filed
    imap.tagged_commands = _TaggedAnswers(client, imap.tagged_commands)
    welcome = getattr(imap, "welcome", b"")
    if isinstance(welcome, bytes) and welcome[:2] == b"* ":
        _keep_alert(client, welcome.split(b" ", 2)[-1])


def take_alerts(client: IMAPClient) -> list[str]:
    """The [ALERT] texts the server sent since the last call (RFC 3501 7.1: they must reach
    the user). Raw: the UI makes them inert (safe_line), which needs escape sequences whole."""
    client._imap.untagged_responses.pop("ALERT", None)
    return [text[:500] for text in _alerts.pop(client, []) if text.strip()]


def forget_alerts(client: IMAPClient) -> None:
    """Before STARTTLS anyone on the path could have written them."""
    _alerts.pop(client, None)


def _keep_alert(client: IMAPClient, data) -> None:
    if isinstance(data, bytes) and data[:7].upper() == b"[ALERT]":
        kept = _alerts.setdefault(client, [])
        if len(kept) < MAX_ALERTS:
            kept.append(data[7:].decode("utf-8", "replace").strip())
