"""A parsed query (tui/search_query.py) as an IMAP `UID SEARCH`, and the search itself.

The one rule: a user's text travels as exactly one IMAP string. Printable ASCII
without `"` or `\\` goes as a quoted string; anything else (non-ASCII, quotes,
backslashes) as a literal, whose length prefix keeps its content inert. With any
non-ASCII value the command says CHARSET UTF-8. Raw keys after `!` go as typed,
inside one pair of parentheses, after the parser checked them for line breaks,
NUL, 8-bit characters and "{" (which would start a literal). Atoms (dates,
numbers, UID sets, keywords) come only from the parser, which built and checked
them; they are checked again here.

A parenthesised list is written as RFC 3501 spells it, `(KEY … KEY)`: no space
after "(" or before ")". run_command puts one space between arguments, so the
"(" travels glued to the first key and the ")" to the last argument; when that
is a literal, after which nothing can be glued, the list ends with `ALL)`
instead (AND with ALL changes nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from ..search_query import And, Atom, Node, Not, Or, Raw, Term, Text
from .commands import Literal, UnsafeArgument, one_line, run_command

MAX_RESULT = 5_000_000  # UIDs an ESEARCH answer may expand to: more is a hostile server
_SAFE_QUOTED = re.compile(r"[ !#-\[\]-~]*")  # printable ASCII but " and \
# What our dates, numbers, UID sets and keywords use: RFC 3501 ATOM-CHARs (printable
# ASCII but the atom-specials), plus "*" for sequence sets.
_ATOM = re.compile(r"[!#$&'*+-\[^-z|}~]+")
_KEYS = re.compile(r"[A-Z]+")


class BadCharset(IMAPClientError):
    """The server cannot search in UTF-8 ([BADCHARSET])."""


@dataclass(frozen=True)
class SearchCommand:
    """The arguments of `UID SEARCH`: bytes (a key, an atom, a quoted string, a list's
    "(" or ")" glued on), or a Literal; run_command puts one space between them."""

    keys: tuple[bytes | Literal, ...]
    utf8: bool  # a value holds non-ASCII: send CHARSET UTF-8

    def arguments(self, esearch: bool = False) -> tuple[bytes | Literal, ...]:
        head: list[bytes] = [b"RETURN", b"(ALL)"] if esearch else []  # RFC 4731: a compact answer
        if self.utf8:
            head += [b"CHARSET", b"UTF-8"]
        return (*head, *self.keys)

    def shown(self) -> str:
        """The keys as a person reads them (literals shown as their text), for logs and tests."""
        return " ".join(
            f"{{{len(k.data)}}}{k.data.decode('utf-8', 'replace')}" if isinstance(k, Literal) else k.decode("ascii")
            for k in self.keys
        )


def compile_search(node: Node) -> SearchCommand:
    keys: list[bytes | Literal] = []
    _emit(node, keys, bare=True)
    utf8 = any(isinstance(k, Literal) and not k.data.isascii() for k in keys)
    return SearchCommand(tuple(keys), utf8)


def _emit(node: Node, keys: list[bytes | Literal], bare: bool = False) -> None:
    if isinstance(node, Term):
        if not _KEYS.fullmatch(node.key):
            raise UnsafeArgument(f"not a search key: {node.key!r}")
        keys.append(node.key.encode("ascii"))
        for arg in node.args:
            keys.append(_string(arg.value) if isinstance(arg, Text) else _atom(arg))
    elif isinstance(node, Not):
        keys.append(b"NOT")
        _emit(node.node, keys)
    elif isinstance(node, Or):
        keys.append(b"OR")
        _emit(node.left, keys)
        _emit(node.right, keys)
    elif isinstance(node, And):
        # At the top, or inside another AND, the keys stand side by side. An operand
        # of OR or NOT must be one key: a parenthesised list is.
        group: list[bytes | Literal] = []
        for child in node.nodes:
            _emit(child, group, bare=True)
        if not group:
            raise UnsafeArgument("an empty list of search keys")
        if not bare:
            _parenthesise(group)
        keys.extend(group)
    elif isinstance(node, Raw):
        keys.append(b"(" + _raw(node.keys) + b")")
    else:
        raise UnsafeArgument(f"not a search term: {type(node).__name__}")


def _parenthesise(group: list[bytes | Literal]) -> None:
    # A key always starts with its name (bytes): the "(" goes right before it.
    first = group[0]
    if not isinstance(first, bytes):
        raise UnsafeArgument("a list of search keys must start with a key")
    group[0] = b"(" + first
    if isinstance(group[-1], bytes):
        group[-1] = group[-1] + b")"
    else:
        group.append(b"ALL)")


def _string(value: str) -> bytes | Literal:
    if _SAFE_QUOTED.fullmatch(value):
        return b'"' + value.encode("ascii") + b'"'
    data = value.encode("utf-8")
    if b"\x00" in data:
        raise UnsafeArgument("a search value holds a NUL character")
    return Literal(data)


def _atom(atom: Atom) -> bytes:
    if not _ATOM.fullmatch(atom.value):
        raise UnsafeArgument(f"not a valid search value: {atom.value!r}")
    return atom.value.encode("ascii")


def _raw(keys: str) -> bytes:
    if not keys or not all(" " <= char <= "~" for char in keys):
        raise UnsafeArgument("raw search keys must be printable ASCII, without line breaks")
    if "{" in keys:  # a literal's start: the server would wait for data that never comes
        raise UnsafeArgument("raw search keys cannot hold a '{'")
    return keys.encode("ascii")


def search(client: IMAPClient, command: SearchCommand, limit: int = MAX_RESULT) -> list[int]:
    """UID SEARCH (with ESEARCH when the server has it): the matching UIDs, ascending.

    Other clients' expunges during the search come back in the connection's journal,
    in order, for the change tracking; the UIDs stay valid regardless. An answer of
    more than `limit` UIDs (the mailbox cannot hold that many) is a hostile server's.
    """
    esearch = b"ESEARCH" in client.capabilities()
    reply = run_command(client, "UID", b"SEARCH", *command.arguments(esearch))
    if reply.status != "OK":
        if "BADCHARSET" in reply.codes():
            raise BadCharset(
                "the server cannot search for non-ASCII text ([BADCHARSET]); "
                "search for an ASCII part of it instead"
            )
        raise IMAPClientError(f"the server refused the search: {reply.sentence()}")
    found: set[int] = set()
    for event in reply.untagged:
        if event.kind == "SEARCH":
            found.update(event.uids)
        elif event.kind == "ESEARCH":
            found.update(_esearch_uids(event.text, limit - len(found)))
        if len(found) > limit:
            raise IMAPClientError("the server's search answer is implausibly large")
    return sorted(found)


def _esearch_uids(text: str, limit: int = MAX_RESULT) -> list[int]:
    """The UIDs of `(TAG "A5") UID ALL 1:3,7` (RFC 4731); none when ALL is absent."""
    match = re.search(r"\bALL ([0-9:,]+)", text)
    if match is None:
        return []
    uids: list[int] = []
    for part in match.group(1).split(","):
        low, _, high = part.partition(":")
        if not low.isdigit() or (high and not high.isdigit()):
            raise IMAPClientError(f"cannot read the server's search answer: {one_line(text)[:80]}")
        first, last = sorted((int(low), int(high or low)))
        if len(uids) + (last - first + 1) > limit:
            raise IMAPClientError("the server's search answer is implausibly large")
        uids.extend(range(first, last + 1))
    return uids
