"""The server's orders (RFC 5256 SORT and THREAD), for while the local index is incomplete.

`server_sort` sends `UID SORT (criteria) UTF-8 ALL`, `server_threads` sends
`UID THREAD REFERENCES UTF-8 ALL`, both through commands.run_command, so other untagged
answers that arrive meanwhile (EXPUNGE, EXISTS, FETCH) reach the journal in order. The
answers are parsed here, without recursion and with limits, rather than by imapclient
(whose parser recurses once per nesting level):

- at most MAX_UIDS numbers in one answer, each a valid UID (1 .. 2**32-1);
- at most MAX_NESTING levels of parentheses in a THREAD answer.

A server past a limit gets an IMAPClientError, as does one without the capability or one
that says NO. Every function runs on the account's worker thread with a mailbox selected.

The keys are the local ones of tui.list_order (SORT_KEYS). "sender" is DISPLAYFROM when
the server announces SORT=DISPLAY (RFC 5957: the display name, else the address, which
is what the local sort compares), else FROM (RFC 5256: the address's mailbox part).
"arrival" is ARRIVAL, i.e. INTERNALDATE, while the local sort uses the UID; the two agree
unless messages were appended with old dates. Ties: RFC 5256 orders them by sequence
number ascending, REVERSE or not, as the local sort does by UID.
"""

from __future__ import annotations

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from ..threads import ThreadNode, threads_from_server
from .commands import run_command

__all__ = ["MAX_NESTING", "MAX_UIDS", "parse_sort", "parse_thread", "server_sort", "server_threads", "sort_criteria"]

MAX_UIDS = 50_000_000  # more UIDs than any mailbox holds: a hostile or broken answer
MAX_NESTING = 10_000  # parenthesis levels in a THREAD answer (a real one needs a few dozen)
_MAX_UID = 2**32 - 1

_CRITERIA = {"date": b"DATE", "arrival": b"ARRIVAL", "subject": b"SUBJECT", "size": b"SIZE"}


def sort_criteria(client: IMAPClient, key: str, reverse: bool) -> bytes:
    """The parenthesised SORT criteria for a local sort key, e.g. b"(REVERSE DATE)"."""
    if key == "sender":
        criterion = b"DISPLAYFROM" if b"SORT=DISPLAY" in _capabilities(client) else b"FROM"
    elif key in _CRITERIA:
        criterion = _CRITERIA[key]
    else:
        raise ValueError(f"unknown sort key {key!r}")
    return b"(" + (b"REVERSE " if reverse else b"") + criterion + b")"


def server_sort(client: IMAPClient, key: str, reverse: bool) -> list[int]:
    """Every UID of the selected mailbox in the server's order for `key` (a SORT_KEYS name)."""
    if b"SORT" not in _capabilities(client):
        raise IMAPClientError("the server cannot sort (it does not announce SORT)")
    criteria = sort_criteria(client, key, reverse)
    reply = run_command(client, "UID", b"SORT", criteria, b"UTF-8", b"ALL")
    _forget(client, "SORT")
    if reply.status != "OK":
        raise IMAPClientError(f"the server refused to sort: {reply.sentence()}")
    return parse_sort([event.text for event in reply.untagged if event.kind == "SORT"])


def server_threads(client: IMAPClient) -> list[ThreadNode]:
    """The selected mailbox's threads by the server's REFERENCES algorithm (by UID)."""
    if b"THREAD=REFERENCES" not in _capabilities(client):
        raise IMAPClientError("the server cannot thread (it does not announce THREAD=REFERENCES)")
    reply = run_command(client, "UID", b"THREAD", b"REFERENCES", b"UTF-8", b"ALL")
    _forget(client, "THREAD")
    if reply.status != "OK":
        raise IMAPClientError(f"the server refused to thread: {reply.sentence()}")
    return threads_from_server(parse_thread([event.text for event in reply.untagged if event.kind == "THREAD"]))


def _capabilities(client: IMAPClient) -> tuple[bytes, ...]:
    return tuple(c.upper() for c in client.capabilities())


def _forget(client: IMAPClient, kind: str) -> None:
    # imaplib also files the answer by kind; it is ours already, and can be megabytes.
    client._imap.untagged_responses.pop(kind, None)


def _uid(token: str) -> int:
    if len(token) > 10 or int(token) == 0 or int(token) > _MAX_UID:
        raise IMAPClientError(f"the server sent {token[:20]!r} where a UID belongs")
    return int(token)


def parse_sort(texts: list[str]) -> list[int]:
    """UIDs from the text of `* SORT` answers (several answers are joined, in order).

    A parenthesised part ends the numbers (CONDSTORE's "(MODSEQ n)"); anything else that
    is not a number is an error.
    """
    uids: list[int] = []
    for text in texts:
        tokens = text.split("(", 1)[0].split()
        if len(uids) + len(tokens) > MAX_UIDS:
            raise IMAPClientError(f"the SORT answer holds more than {MAX_UIDS:,} UIDs")
        if tokens:
            # ASCII digits only, at most 10 of them: int() stays cheap, "²" or "1e5" is junk
            if not (all(map(str.isdigit, tokens)) and all(map(str.isascii, tokens))
                    and max(map(len, tokens)) <= 10):
                junk = next(t for t in tokens if not (t.isdigit() and t.isascii() and len(t) <= 10))
                raise IMAPClientError(f"unreadable SORT answer near {junk[:40]!r}")
            found = list(map(int, tokens))
            if min(found) < 1 or max(found) > _MAX_UID:
                raise IMAPClientError("the SORT answer holds a number that is no UID")
            uids.extend(found)
    return uids


def parse_thread(texts: list[str]) -> tuple:
    """The nested tuples of `* THREAD` answers (imapclient's shape: ((1, 2, (3,), (4,)), ...)).

    Iterative; at most MAX_NESTING levels and MAX_UIDS numbers; parentheses must balance.
    """
    top: list = []
    count = 0
    for text in texts:
        stack: list[list] = [top]
        for token in text.replace("(", " ( ").replace(")", " ) ").split():
            if token == "(":
                if len(stack) > MAX_NESTING:
                    raise IMAPClientError(f"the THREAD answer nests deeper than {MAX_NESTING:,} levels")
                stack.append([])
            elif token == ")":
                if len(stack) == 1:
                    raise IMAPClientError("unreadable THREAD answer: a ')' without its '('")
                done = tuple(stack.pop())
                stack[-1].append(done)
            elif token.isdigit() and token.isascii():
                count += 1
                if count > MAX_UIDS:
                    raise IMAPClientError(f"the THREAD answer holds more than {MAX_UIDS:,} UIDs")
                if len(stack) == 1:
                    raise IMAPClientError("unreadable THREAD answer: a number outside any thread")
                stack[-1].append(_uid(token))
            else:
                raise IMAPClientError(f"unreadable THREAD answer near {token[:40]!r}")
        if len(stack) != 1:
            raise IMAPClientError("unreadable THREAD answer: a '(' without its ')'")
    return tuple(top)
