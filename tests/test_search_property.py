"""Property tests for search: user text lands in exactly one IMAP string, and nothing else
of it reaches the server as syntax.

How: the compiled command goes through the real `search()` / `run_command()` into a
scripted server (a real `imaplib.IMAP4` whose socket is replaced), which records every
byte and reads the commands back with its own RFC 3501 tokenizer (atoms, quoted strings
with escapes, `{N}` / `{N+}` literals, parentheses) and search-key grammar, both written
here, independently of tui/. The last tests run the same kind of queries against a real
Dovecot.

  a. any text in any string field: either a QueryError (only for NUL/CR/LF, an empty
     value or a bad header name) or exactly [UID, SEARCH, (CHARSET UTF-8)?, KEY, <string>]
     whose string decodes back to the text; the only CRLF outside literals is the last.
  b. whole random queries from a small grammar: the keys the server reads back mean what
     the query said (precedence, negation, -keyword), and parentheses balance.
  c. arbitrary text: parse_query raises nothing but QueryError, quickly.
  d. Dovecot: random subjects and random raw `!` keys never desynchronise the connection.

Example counts keep the file well under 60 s. For a longer run set
TUI_MAIL_FUZZ_EXAMPLES, e.g. `TUI_MAIL_FUZZ_EXAMPLES=5000 pytest tests/test_search_property.py`:
every property then runs that many examples (the Dovecot ones a tenth of it, at least 40).
"""

from __future__ import annotations

import email.header
import imaplib
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fuzzing import MORE as _MORE, fuzz
from imapclient.exceptions import IMAPClientError

from harness import make_mailbox, raw_client
from servers import make_message
from tui.config import Account
from tui.imap.commands import run_command
from tui.imap.search import compile_search, search
from tui.search_query import QueryError, Raw, parse_query, quote_value

TODAY = date(2026, 11, 25)


# -- an RFC 3501 command tokenizer ----------------------------------------------------------


class WireError(AssertionError):
    """The bytes are not a well-formed RFC 3501 command."""


class Incomplete(Exception):
    """More bytes are needed; `awaiting_literal`: a synchronising literal waits for "+"."""

    def __init__(self, awaiting_literal: bool = False) -> None:
        super().__init__("incomplete")
        self.awaiting_literal = awaiting_literal


@dataclass(frozen=True)
class WAtom:
    text: str


@dataclass(frozen=True)
class WString:
    data: bytes
    literal: bool
    synchronising: bool = False  # a literal sent as {N}, not {N+}

    def decoded(self) -> str:
        return self.data.decode("utf-8")  # strict: a literal must be valid UTF-8 here


# ATOM-CHAR: any CHAR except atom-specials: ( ) { SP CTL % * " \ ]. "*" is allowed
# too, for sequence sets (seq-number = nz-number / "*").
_ATOM_CHARS = frozenset(c for c in range(0x21, 0x7F) if chr(c) not in '(){%*"\\]') | {ord("*")}
_LITERAL = re.compile(rb"\{([0-9]+)(\+?)\}")
CR, LF, SP = 0x0D, 0x0A, 0x20


def read_command(data: bytes) -> tuple[list, int]:
    """One command from the front of `data`: its items (nested lists for parentheses) and
    the bytes it took, ending with the first CRLF outside a literal. Raises Incomplete."""
    stack: list[list] = [[]]
    pos, n = 0, len(data)
    after_item = False  # an item just ended: only SP, ")" or CRLF may follow
    while True:
        if pos >= n:
            raise Incomplete()
        byte = data[pos]
        if byte == CR:
            if pos + 1 >= n:
                raise Incomplete()
            if data[pos + 1] != LF:
                raise WireError(f"CR without LF at {pos}")
            if not after_item:
                raise WireError(f"the line ends where an item should be, at {pos}")
            if len(stack) != 1:
                raise WireError("a '(' is never closed")
            return stack[0], pos + 2
        if byte == LF:
            raise WireError(f"a bare LF at {pos}")
        if after_item:
            if byte == SP:
                pos += 1
                after_item = False
                if pos < n and data[pos] in (SP, CR, ord(")")):
                    raise WireError(f"a space where an item should be, at {pos}")
            elif byte == ord(")"):
                if len(stack) == 1:
                    raise WireError(f"a ')' that closes nothing, at {pos}")
                group = stack.pop()
                stack[-1].append(group)
                pos += 1
            else:
                raise WireError(f"{bytes([byte])!r} right after an item, at {pos}")
            continue
        if byte == ord("("):
            stack.append([])
            pos += 1
            if pos < n and data[pos] in (SP, ord(")")):
                raise WireError(f"a space or ')' right after '(', at {pos}")
            continue
        if byte == ord('"'):
            value = bytearray()
            pos += 1
            while True:
                if pos >= n:
                    raise Incomplete()
                byte = data[pos]
                if byte == ord('"'):
                    pos += 1
                    break
                if byte == ord("\\"):
                    if pos + 1 >= n:
                        raise Incomplete()
                    if data[pos + 1] not in b'"\\':
                        raise WireError(f"a backslash before {data[pos + 1:pos + 2]!r} in a quoted string")
                    value.append(data[pos + 1])
                    pos += 2
                    continue
                if byte in (CR, LF, 0) or byte > 0x7F:  # QUOTED-CHAR is 7-bit TEXT-CHAR
                    raise WireError(f"{bytes([byte])!r} inside a quoted string")
                value.append(byte)
                pos += 1
            stack[-1].append(WString(bytes(value), literal=False))
            after_item = True
            continue
        if byte == ord("{"):
            match = _LITERAL.match(data, pos)
            if match is None:
                if re.fullmatch(rb"\{[0-9]*\+?", data[pos:]):
                    raise Incomplete()
                raise WireError(f"a '{{' that starts no literal, at {pos}")
            start = match.end() + 2
            if start > n:
                raise Incomplete()
            if data[match.end():start] != b"\r\n":
                raise WireError(f"a literal's size without CRLF after it, at {pos}")
            size, plus = int(match.group(1)), bool(match.group(2))
            if n < start + size:
                raise Incomplete(awaiting_literal=not plus and n == start)
            content = data[start:start + size]
            if b"\x00" in content:  # CHAR8 = %x01-ff
                raise WireError("a NUL inside a literal")
            stack[-1].append(WString(content, literal=True, synchronising=not plus))
            pos = start + size
            after_item = True
            continue
        end = pos
        while end < n and data[end] in _ATOM_CHARS:
            end += 1
        if end == pos:
            raise WireError(f"{bytes([byte])!r} cannot start an item, at {pos}")
        if end >= n:
            raise Incomplete()
        stack[-1].append(WAtom(data[pos:end].decode("ascii")))
        pos = end
        after_item = True


# -- a scripted server behind a real imaplib, and the client run_command needs -------------


class ScriptedServer(imaplib.IMAP4):
    """imaplib with its socket replaced by a server that reads commands with read_command.

    It answers CAPABILITY, NOOP and UID SEARCH (three UIDs, as SEARCH or ESEARCH), says
    "+" to each synchronising literal, and records every byte it was sent.
    """

    UIDS = (3, 1, 2)

    def __init__(self, capabilities: tuple[bytes, ...]) -> None:
        self.announced = b" ".join(capabilities)
        self.wire = bytearray()  # everything the client sent
        self.commands: list[tuple[bytes, list]] = []  # (the bytes of one command, its items)
        self.continuations = 0
        super().__init__("scripted", 143)

    # imaplib's transport
    def open(self, host="", port=143, timeout=None):
        self.host, self.port = host, port
        self._pending = bytearray()  # the client's unfinished command
        self._answers = bytearray(b"* OK scripted server ready\r\n")
        self._continued_at = -1

    def send(self, data):
        self.wire += data
        self._pending += data
        self._serve()

    def readline(self):
        end = self._answers.find(b"\n")
        if end < 0:
            raise AssertionError("the client waits for an answer the server has no reason to give")
        line = bytes(self._answers[: end + 1])
        del self._answers[: end + 1]
        return line

    def read(self, size):
        data = bytes(self._answers[:size])
        del self._answers[:size]
        return data

    def shutdown(self):
        pass

    # the server
    def _serve(self) -> None:
        while self._pending:
            try:
                items, used = read_command(bytes(self._pending))
            except Incomplete as waiting:
                if waiting.awaiting_literal and self._continued_at != len(self._pending):
                    self._continued_at = len(self._pending)
                    self.continuations += 1
                    self._answers += b"+ go ahead\r\n"
                return
            self.commands.append((bytes(self._pending[:used]), items))
            del self._pending[:used]
            self._continued_at = -1
            self._answer(items)

    def _answer(self, items: list) -> None:
        tag = items[0].text.encode()
        words = [item.text.upper() if isinstance(item, WAtom) else None for item in items[1:3]]
        if words[0] == "CAPABILITY":
            self._answers += b"* CAPABILITY " + self.announced + b"\r\n"
        elif words == ["UID", "SEARCH"]:
            if any(isinstance(item, WAtom) and item.text == "RETURN" for item in items[3:4]):
                self._answers += b'* ESEARCH (TAG "' + tag + b'") UID ALL 1:3\r\n'
            else:
                self._answers += b"* SEARCH " + b" ".join(b"%d" % uid for uid in self.UIDS) + b"\r\n"
        elif words[0] != "NOOP":
            self._answers += tag + b" BAD unexpected\r\n"
            return
        self._answers += tag + b" OK done\r\n"


class ScriptedClient:
    """What search() and run_command() use of an IMAPClient: `_imap` and capabilities()."""

    def __init__(self, capabilities: tuple[bytes, ...]) -> None:
        self._capabilities = capabilities
        self._imap = ScriptedServer(capabilities)
        self._imap.state = "SELECTED"

    def capabilities(self) -> tuple[bytes, ...]:
        return self._capabilities


CAPABILITY_SETS = [
    (b"IMAP4rev1", b"LITERAL+"),
    (b"IMAP4rev1",),
    (b"IMAP4rev1", b"LITERAL-"),
    (b"IMAP4rev1", b"LITERAL+", b"ESEARCH"),
]


@dataclass
class Sent:
    items: list  # the search command as the server read it, without tag, UID and SEARCH
    wire: bytes  # its bytes


def send_search(command, capabilities: tuple[bytes, ...]) -> Sent:
    """Run `search()` against a scripted server: what it read, checked for framing."""
    client = ScriptedClient(capabilities)
    server = client._imap
    before = len(server.commands)
    found = search(client, command)
    assert found == sorted(ScriptedServer.UIDS)  # the answer was read up to the tagged OK
    assert len(server.commands) == before + 1  # one command, nothing more
    wire, items = server.commands[-1]
    assert server._pending == b""  # no bytes after its final CRLF
    assert wire.endswith(b"\r\n")
    assert isinstance(items[0], WAtom) and items[1:3] == [WAtom("UID"), WAtom("SEARCH")]
    literals = [item for item in _flatten(items) if isinstance(item, WString) and item.literal]
    for literal in literals:  # LITERAL+: all {N+}; none: all {N}; LITERAL-: {N+} up to 4096
        if b"LITERAL+" in capabilities:
            assert not literal.synchronising
        elif b"LITERAL-" in capabilities:
            assert literal.synchronising == (len(literal.data) > 4096)
        else:
            assert literal.synchronising
    assert server.continuations == sum(literal.synchronising for literal in literals)
    assert run_command(client, "NOOP").status == "OK"  # still in step with the server
    return Sent(items[3:], wire)


def _flatten(items):
    for item in items:
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield item


# -- the search-key grammar (RFC 3501 section 9), over the tokenizer's items --------------

NO_ARGUMENT = {
    "ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "NEW", "OLD", "RECENT", "SEEN",
    "UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN",
}
STRING_ARGUMENT = {"BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO"}
DATE_ARGUMENT = {"BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE"}
NUMBER_ARGUMENT = {"LARGER", "SMALLER"}
KEYWORD_ARGUMENT = {"KEYWORD", "UNKEYWORD"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DATE = re.compile(r"([0-9]{1,2})-(" + "|".join(MONTHS) + r")-([0-9]{4})", re.I)
_SEQ_NUMBER = r"(?:[1-9][0-9]*|\*)"
_SEQUENCE_SET = re.compile(rf"{_SEQ_NUMBER}(?::{_SEQ_NUMBER})?(?:,{_SEQ_NUMBER}(?::{_SEQ_NUMBER})?)*")


def plain_quotable(text: str) -> bool:
    """The rule: printable ASCII without " and \\ goes quoted; anything else as a literal."""
    return all(" " <= char <= "~" and char not in '"\\' for char in text)


def read_string(item) -> str:
    if not isinstance(item, WString):
        raise WireError(f"user text must travel as a string, not {item!r}")
    text = item.decoded()
    if item.literal == plain_quotable(text):
        raise WireError(f"{text!r} went as a {'literal' if item.literal else 'quoted string'}")
    return text


def read_search(items: list) -> tuple[bool, str | None, tuple]:
    """(RETURN given, the CHARSET, the keys as a tree of ("AND", …), ("OR", …), ("NOT", …), leaves)."""
    position, esearch, charset = 0, False, None
    if items[:1] == [WAtom("RETURN")]:
        if items[1:2] != [[WAtom("ALL")]]:
            raise WireError(f"unexpected RETURN options {items[1:2]!r}")
        position, esearch = 2, True
    if items[position:position + 1] == [WAtom("CHARSET")]:
        value = items[position + 1]
        charset = value.text if isinstance(value, WAtom) else value.decoded()
        position += 2
    keys = []
    while position < len(items):
        key, position = read_key(items, position)
        keys.append(key)
    if not keys:
        raise WireError("no search key")
    return esearch, charset, ("AND", tuple(keys))


def read_key(items: list, position: int) -> tuple[tuple, int]:
    if position >= len(items):
        raise WireError("a search key is missing")
    item = items[position]
    if isinstance(item, list):
        inner, at = [], 0
        while at < len(item):
            key, at = read_key(item, at)
            inner.append(key)
        return ("AND", tuple(inner)), position + 1
    if isinstance(item, WString):
        raise WireError(f"a string {item!r} where a search key belongs")
    name = item.text.upper()

    def argument(offset: int = 1):
        if position + offset >= len(items):
            raise WireError(f"{name} lacks an argument")
        return items[position + offset]

    if name in NO_ARGUMENT:
        return (name,), position + 1
    if name == "NOT":
        key, after = read_key(items, position + 1)
        return ("NOT", key), after
    if name == "OR":
        left, after = read_key(items, position + 1)
        right, after = read_key(items, after)
        return ("OR", (left, right)), after
    if name in STRING_ARGUMENT:
        return (name, ("s", read_string(argument()))), position + 2
    if name == "HEADER":
        return ("HEADER", ("s", read_string(argument(1))), ("s", read_string(argument(2)))), position + 3
    value = argument()
    if not isinstance(value, WAtom):
        raise WireError(f"{name} takes an atom, not {value!r}")
    if name in DATE_ARGUMENT and _DATE.fullmatch(value.text):
        return (name, value.text), position + 2
    if name in NUMBER_ARGUMENT and value.text.isdigit() and int(value.text) < 2**32:
        return (name, value.text), position + 2
    if name in KEYWORD_ARGUMENT and "*" not in value.text:
        return (name, value.text), position + 2
    if name == "UID" and _SEQUENCE_SET.fullmatch(value.text):
        return ("UID", value.text), position + 2
    raise WireError(f"not a search key: {name} {value.text}")


def normal(tree: tuple) -> tuple:
    """AND and OR flattened (both are associative); ALL dropped from an AND of more."""
    kind = tree[0]
    if kind in ("AND", "OR"):
        children = []
        for child in tree[1]:
            child = normal(child)
            children.extend(child[1] if child[0] == kind else [child])
        if kind == "AND" and len(children) > 1:
            children = [child for child in children if child != ("ALL",)] or [("ALL",)]
        return children[0] if len(children) == 1 else (kind, tuple(children))
    if kind == "NOT":
        return ("NOT", normal(tree[1]))
    return tree


def all_strings(tree) -> list[str]:
    """Every user string in a tree."""
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, tuple):
            if len(node) == 2 and node[0] == "s" and isinstance(node[1], str):
                found.append(node[1])
                return
            for part in node:
                walk(part)

    walk(tree)
    return found


# -- a: any text in any string field --------------------------------------------------------

TRICKY = [
    '"', "\\", "\\\"", "(", ")", ")(", "{5}", "{5+}", "{0}\r\n", "\r\n", "\r", "\n", "\x00",
    "OR ALL", '" FLAGGED "', ") OR (ALL", "*", "%", "]", " ", "\t", "é", "日本", "\u2028", "\x85",
    "\x7f", "\x01", "~", "!", "-", "or", ":", "\U0001F600",
]
user_text = st.lists(st.one_of(st.text(max_size=12), st.sampled_from(TRICKY)), max_size=8).map("".join)
STRING_FIELDS = {
    "from": "FROM", "to": "TO", "cc": "CC", "bcc": "BCC", "subject": "SUBJECT", "body": "BODY", "text": "TEXT",
}


def has_line_break_or_nul(text: str) -> bool:
    return any(char in "\r\n\x00" for char in text)


def check_one_string_key(query: str, expected_key: tuple, strings: list[str], capabilities) -> None:
    command = compile_search(parse_query(query, today=TODAY))
    sent = send_search(command, capabilities)
    esearch, charset, tree = read_search(sent.items)
    assert esearch == (b"ESEARCH" in capabilities)
    non_ascii = any(not text.isascii() for text in strings)
    assert charset == ("UTF-8" if non_ascii else None)
    assert tree == ("AND", (expected_key,))  # exactly one key: nothing else reached the server
    # send_search saw the command end at its first CRLF outside a literal, with no byte
    # after it: that CRLF is the last byte, and the only one outside literals.


@fuzz(300)
@given(field=st.sampled_from([*STRING_FIELDS, None]), value=user_text, capabilities=st.sampled_from(CAPABILITY_SETS))
def test_any_text_in_a_string_field_is_one_string(field, value, capabilities):
    query = (f"{field}:" if field else "") + quote_value(value)
    if has_line_break_or_nul(value) or value == "" or len(query) > 4000:
        with pytest.raises(QueryError):
            parse_query(query, today=TODAY)
        return
    check_one_string_key(query, (STRING_FIELDS.get(field, "TEXT"), ("s", value)), [value], capabilities)


def valid_header_name(name: str) -> bool:
    # RFC 5322 field name: printable ASCII (33-126) but the colon
    return bool(name) and all(33 <= ord(char) <= 126 and char != ":" for char in name)


header_name = st.one_of(
    st.sampled_from(["X-Priority", "List-Id", "Subject", 'X-"Q"', "X\\B", "X-~!", "x(y)", "{5}"]), user_text
)


@fuzz(200)
@given(name=header_name, value=user_text, capabilities=st.sampled_from(CAPABILITY_SETS))
def test_any_text_in_a_header_term_is_two_strings(name, value, capabilities):
    query = f"header:{quote_value(name)}:{quote_value(value)}"
    if has_line_break_or_nul(name + value) or not valid_header_name(name) or len(query) > 4000:
        with pytest.raises(QueryError):
            parse_query(query, today=TODAY)
        return
    check_one_string_key(query, ("HEADER", ("s", name), ("s", value)), [name, value], capabilities)


# -- b: whole random queries ----------------------------------------------------------------

STATE_KEYS = {
    "read": "SEEN", "unread": "UNSEEN", "flagged": "FLAGGED", "unflagged": "UNFLAGGED",
    "answered": "ANSWERED", "unanswered": "UNANSWERED", "deleted": "DELETED", "undeleted": "UNDELETED",
    "draft": "DRAFT", "undraft": "UNDRAFT", "new": "NEW", "old": "OLD", "recent": "RECENT",
}
DATE_KEYS = {
    "before": "BEFORE", "on": "ON", "since": "SINCE",
    "sent-before": "SENTBEFORE", "sent-on": "SENTON", "sent-since": "SENTSINCE",
}
UNITS = {"": 1, "k": 1024, "K": 1024, "kb": 1024, "M": 1024**2, "m": 1024**2, "G": 1024**3}
KEYWORDS = ["$Important", "Junk", "NonJunk", "$label1", "a/b", "x!y", "#tag", "a&b", "Q}"]
RAW = {  # raw keys after "!", and what they mean
    "LARGER 100": ("AND", (("LARGER", "100"),)),
    "OR SEEN FLAGGED": ("OR", (("SEEN",), ("FLAGGED",))),
    'NOT FROM "x y"': ("NOT", ("FROM", ("s", "x y"))),
    "UNSEEN DELETED": ("AND", (("UNSEEN",), ("DELETED",))),
}
value_text = st.text(st.characters(exclude_characters="\r\n\x00", exclude_categories=("Cs",)), min_size=1, max_size=12)
plain_word = st.from_regex(r"[a-zA-Z0-9@._]{1,8}", fullmatch=True).filter(lambda w: w.lower() not in ("or", "and", "not"))


def mixed_case(draw, word: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c.lower() for c in word)


@st.composite
def string_term(draw):
    field = draw(st.sampled_from([*STRING_FIELDS, None]))
    if draw(st.booleans()):
        value = draw(plain_word)
        written = value
    else:
        value = draw(value_text)
        written = quote_value(value)
    return (f"{field}:" if field else "") + written, (STRING_FIELDS.get(field, "TEXT"), ("s", value))


@st.composite
def state_term(draw):
    state = draw(st.sampled_from(sorted(STATE_KEYS)))
    return f"is:{mixed_case(draw, state)}", (STATE_KEYS[state],)


@st.composite
def date_term(draw):
    field = draw(st.sampled_from(sorted(DATE_KEYS)))
    day = draw(st.dates(date(1900, 1, 1), date(2100, 12, 31)))
    form = draw(st.sampled_from(["iso", "imap", "today", "days"]))
    if form == "iso":
        written = f"{day.year:04d}-{day.month:02d}-{day.day:02d}"
    elif form == "imap":
        written = f"{day.day}-{mixed_case(draw, MONTHS[day.month - 1])}-{day.year}"
    elif form == "today":
        written, day = "today", TODAY
    else:
        days = draw(st.integers(0, 3000))
        written, day = f"{days}d", TODAY - timedelta(days=days)
    return f"{field}:{written}", (DATE_KEYS[field], f"{day.day}-{MONTHS[day.month - 1]}-{day.year:04d}")


@st.composite
def size_term(draw):
    field = draw(st.sampled_from(["larger", "smaller"]))
    unit = draw(st.sampled_from(sorted(UNITS)))
    number = draw(st.integers(0, 5000))
    assume(number * UNITS[unit] < 2**32)
    return f"{field}:{number}{unit}", (field.upper(), str(number * UNITS[unit]))


@st.composite
def uid_term(draw):
    number = st.integers(1, 2**32 - 1).map(str)
    part = st.one_of(number, st.just("*"), st.tuples(number, st.one_of(number, st.just("*"))).map(":".join))
    written = ",".join(draw(st.lists(part, min_size=1, max_size=3)))
    return f"uid:{written}", ("UID", written)


@st.composite
def keyword_term(draw):
    keyword = draw(st.sampled_from(KEYWORDS))
    return f"keyword:{keyword}", ("KEYWORD", keyword)


@st.composite
def header_term(draw):
    name = draw(st.sampled_from(["X-Priority", "List-Id", 'X-"Q"', "X\\B", "x(y)"]))
    value = draw(st.one_of(st.just(""), value_text))
    return f"header:{quote_value(name)}:{quote_value(value)}", ("HEADER", ("s", name), ("s", value))


ATTACHMENT = ("OR", (
    ("HEADER", ("s", "Content-Type"), ("s", "multipart/mixed")),
    ("HEADER", ("s", "Content-Type"), ("s", "multipart/report")),
))
leaf = st.one_of(
    string_term(), state_term(), date_term(), size_term(), uid_term(), keyword_term(), header_term(),
    st.just(("has:attachment", ATTACHMENT)),
)


def unit(depth: int):
    if depth <= 0:
        return leaf
    return st.one_of(leaf, leaf, negated(depth), group(depth))


@st.composite
def negated(draw, depth):
    text, meaning = draw(unit(depth - 1))
    sign = draw(st.sampled_from(["-", "not "]))
    # -keyword:x is UNKEYWORD x; every other negation is NOT
    return sign + text, ("UNKEYWORD", meaning[1]) if meaning[0] == "KEYWORD" else ("NOT", meaning)


@st.composite
def group(draw, depth):
    text, meaning = draw(conjunction(depth - 1))
    return f"({text})", meaning


@st.composite
def disjunction(draw, depth):
    parts = draw(st.lists(unit(depth), min_size=1, max_size=3))
    meaning = parts[0][1] if len(parts) == 1 else ("OR", tuple(m for _t, m in parts))
    return " or ".join(t for t, _m in parts), meaning


@st.composite
def conjunction(draw, depth):
    parts = draw(st.lists(disjunction(depth), min_size=1, max_size=3))
    text = parts[0][0]
    for part_text, _meaning in parts[1:]:
        text += draw(st.sampled_from([" ", " and ", "  "])) + part_text
    meaning = parts[0][1] if len(parts) == 1 else ("AND", tuple(m for _t, m in parts))
    return text, meaning


@st.composite
def whole_query(draw):
    text, meaning = draw(conjunction(2))
    if draw(st.integers(0, 4)) == 0:
        raw = draw(st.sampled_from(sorted(RAW)))
        text, meaning = f"{text} !{raw}", ("AND", (meaning, RAW[raw]))
    return text, meaning


@fuzz(300)
@given(query=whole_query(), capabilities=st.sampled_from(CAPABILITY_SETS))
def test_random_queries_reach_the_server_as_meant(query, capabilities):
    text, meaning = query
    assume(len(text) <= 4000)
    sent = send_search(compile_search(parse_query(text, today=TODAY)), capabilities)
    esearch, charset, tree = read_search(sent.items)  # parentheses balanced, or read_command raised
    assert esearch == (b"ESEARCH" in capabilities)
    assert normal(tree) == normal(meaning)
    non_ascii = any(not s.isascii() for s in all_strings(meaning))
    assert charset == ("UTF-8" if non_ascii else None)


# -- c: arbitrary text ----------------------------------------------------------------------

QUERYISH = [
    "from:", "to:", "subject:", "header:", "X-A:", "is:", "read", "has:", "attachment", "keyword:", "$x",
    "since:", "2024-01-31", "7d", "31-jan-2024", "larger:", "5k", "uid:", "1:*", "a", "alice", "or", "OR",
    "and", "not", "-", "(", ")", '"', "\\", "!", ":", "é", "\t", " ", "\x00", "\r", "{5}", "ALL", "//",
]


def contains_raw(node) -> bool:
    if isinstance(node, Raw):
        return True
    return any(contains_raw(child) for child in getattr(node, "nodes", ())) or any(
        contains_raw(getattr(node, name)) for name in ("node", "left", "right") if hasattr(node, name)
    )


def check_any_query(query: str) -> None:
    try:
        tree = parse_query(query, today=TODAY)
    except QueryError as error:
        assert 0 <= error.start <= error.end <= len(query)
        assert error.message and not error.message.endswith(".")
        return
    command = compile_search(tree)
    if not contains_raw(tree):  # raw keys are the user's own IMAP: the server judges them
        read_search(send_search(command, CAPABILITY_SETS[0]).items)


@fuzz(500, deadline=timedelta(seconds=1))
@given(query=st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_parser(query):
    check_any_query(query)


@fuzz(500, deadline=timedelta(seconds=1))
@given(query=st.lists(st.sampled_from(QUERYISH), max_size=20).flatmap(
    lambda words: st.sampled_from(["", " "]).map(lambda sep: sep.join(words))))
def test_query_like_text_never_crashes_the_parser(query):
    check_any_query(query)


@fuzz(100, deadline=timedelta(seconds=1))
@given(prefix=st.sampled_from(["", "subject:", "!", "header:X:", "keyword:"]),
       text=st.text(st.one_of(st.characters(categories=["Cs"]), st.characters()), min_size=1, max_size=20))
def test_even_lone_surrogates_give_a_query_error(prefix, text):
    """Text that cannot be encoded for the server (a lone surrogate) is refused, not a crash."""
    check_any_query(prefix + text)


# -- d: a real Dovecot ------------------------------------------------------------------------

SUBJECTS = ['say "hi" now', "Grüße aus Köln", "back\\slash {5} (x)", "plain words"]


def _message(index: int, subject: str) -> bytes:
    header = subject if subject.isascii() else email.header.Header(subject, "utf-8").encode()
    return make_message(index, subject=header)


@pytest.fixture(scope="module")
def live(dovecot):
    """A connection to Dovecot with a small mailbox of its own selected: (client, its UIDs)."""
    account = Account(name="search-fuzz", host=dovecot.host, port=dovecot.port, tls="none", username=dovecot.user)
    name = f"search-fuzz-{uuid.uuid4().hex[:8]}".encode()
    uids = make_mailbox(account, dovecot.password, name, [_message(i, s) for i, s in enumerate(SUBJECTS)])
    client = raw_client(account, dovecot.password)
    client.select_folder(name, readonly=True)
    yield client, uids
    client.logout()


def assert_in_step(client, uids) -> None:
    client.noop()
    assert sorted(client.search(["ALL"])) == uids
    assert sorted(search(client, compile_search(parse_query("!ALL")))) == uids


@pytest.mark.dovecot
@pytest.mark.parametrize(
    "query, matches",
    [
        ("subject:" + quote_value('say "hi"'), [0]),
        ('subject:"Grüße"', [1]),
        ("subject:" + quote_value("\\slash {5}"), [2]),
        ("subject:plain", [3]),
        ("not (subject:plain subject:words)", [0, 1, 2]),
        ('not (subject:aus subject:"Köln")', [0, 2, 3]),  # a list ending in a literal
        ('subject:hi or subject:"Köln"', [0, 1]),
        ('subject:"OR ALL"', []),
    ],
)
def test_dovecot_finds_what_the_text_says(live, query, matches):
    client, uids = live
    assert search(client, compile_search(parse_query(query, today=TODAY))) == [uids[i] for i in matches]
    assert_in_step(client, uids)


@pytest.mark.dovecot
@settings(max_examples=max(40, _MORE // 10), deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=user_text.filter(lambda v: v and not has_line_break_or_nul(v)))
def test_dovecot_takes_any_subject_text(live, value):
    client, uids = live
    found = search(client, compile_search(parse_query("subject:" + quote_value(value), today=TODAY)))
    assert set(found) <= set(uids)
    assert_in_step(client, uids)


raw_keys = st.lists(
    st.one_of(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=6),
              st.sampled_from(["{5}", "{5+}", "{0}", '"', "(", ")", "\\", "OR", "ALL", "TEXT", " "])),
    min_size=1, max_size=8,
).map("".join).filter(lambda text: text.strip())


@pytest.mark.dovecot
@settings(max_examples=max(40, _MORE // 10), deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=raw_keys)
def test_dovecot_stays_in_step_after_any_raw_keys(live, keys):
    """Raw keys may be refused (BAD, NO), but nothing the user types after "!" can start a
    literal or a second command: the connection stays in step."""
    client, uids = live
    if "{" in keys:  # would start a literal: refused before anything is sent
        with pytest.raises(QueryError):
            parse_query("!" + keys, today=TODAY)
        keys = keys.replace("{", "(")
    try:
        found = search(client, compile_search(parse_query("!" + keys, today=TODAY)))
    except IMAPClientError as refused:  # BAD or NO: fine, the server read one whole command
        assert "closed the connection" not in str(refused)
    else:
        assert set(found) <= set(uids)
    assert_in_step(client, uids)
