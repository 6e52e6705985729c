"""The search language of `/`: what the user typed, parsed into a tree of search terms.

    from:alice subject:"q3 report" since:2024-01-01 is:unread

Terms side by side must all match; `or` joins the two terms beside it (it binds
tighter than the side-by-side AND, as in Gmail: `from:a from:b or from:c` is
a AND (b OR c)); `-term` and `not term` negate; parentheses group; `!` takes the
rest of the line as raw IMAP search keys. Every value is checked here (dates,
sizes, UID sets, keywords), so a malformed query fails before anything is sent,
with a message that names the bad term and where it is.

Pure: no IMAP, no Textual. `tui/imap/search.py` turns the tree into SEARCH keys.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from .imap.commands import keyword_problem

MAX_QUERY = 4000  # characters: a query longer than this is a paste gone wrong
MAX_DEPTH = 32  # nested parentheses and negations
MAX_NUMBER = 2**32 - 1  # RFC 3501 numbers (sizes, UIDs) are 32-bit

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class QueryError(ValueError):
    """What is wrong with a query, and where: `start`/`end` index the bad term in the text."""

    def __init__(self, message: str, start: int = 0, end: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.start = start
        self.end = max(end, start)


# -- the tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A user's string: sent as one quoted string or literal, never as anything else."""

    value: str


@dataclass(frozen=True)
class Atom:
    """A value this module built and checked: a date, a number, a UID set or a keyword."""

    value: str


@dataclass(frozen=True)
class Term:
    """One IMAP search key and its arguments: Term("FROM", (Text("alice"),))."""

    key: str
    args: tuple[Text | Atom, ...] = ()


@dataclass(frozen=True)
class Not:
    node: "Node"


@dataclass(frozen=True)
class Or:
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class And:
    nodes: tuple["Node", ...]


@dataclass(frozen=True)
class Raw:
    """`!` and what followed it: IMAP search keys as typed (printable ASCII, no "{")."""

    keys: str


Node = Term | Not | Or | And | Raw


# -- the vocabulary -------------------------------------------------------------------------

STRING_FIELDS = {
    "text": "TEXT",
    "from": "FROM",
    "to": "TO",
    "cc": "CC",
    "bcc": "BCC",
    "subject": "SUBJECT",
    "body": "BODY",
}
DATE_FIELDS = {
    "before": "BEFORE",
    "on": "ON",
    "since": "SINCE",
    "sent-before": "SENTBEFORE",
    "sent-on": "SENTON",
    "sent-since": "SENTSINCE",
}
SIZE_FIELDS = {"larger": "LARGER", "smaller": "SMALLER"}
STATES = {
    "read": "SEEN",
    "seen": "SEEN",
    "unread": "UNSEEN",
    "unseen": "UNSEEN",
    "flagged": "FLAGGED",
    "starred": "FLAGGED",
    "unflagged": "UNFLAGGED",
    "unstarred": "UNFLAGGED",
    "answered": "ANSWERED",
    "replied": "ANSWERED",
    "unanswered": "UNANSWERED",
    "unreplied": "UNANSWERED",
    "deleted": "DELETED",
    "undeleted": "UNDELETED",
    "draft": "DRAFT",
    "undraft": "UNDRAFT",
    "new": "NEW",
    "old": "OLD",
    "recent": "RECENT",
}
# keyword:\Seen and the like: the is: term that searches for that system flag.
_SYSTEM_FLAG_STATES = {"\\seen": "read", "\\flagged": "flagged", "\\answered": "answered",
                       "\\deleted": "deleted", "\\draft": "draft", "\\recent": "recent"}
FIELDS = (*STRING_FIELDS, "header", "is", "has", "keyword", *DATE_FIELDS, *SIZE_FIELDS, "uid")

# IMAP has no "has an attachment" key: a mixed or report body is the same guess the
# list's @ column makes from the Content-Type header.
HAS_ATTACHMENT = Or(
    Term("HEADER", (Text("Content-Type"), Text("multipart/mixed"))),
    Term("HEADER", (Text("Content-Type"), Text("multipart/report"))),
)

_SIZE = re.compile(r"(\d{1,12})\s*(k|kb|kib|m|mb|mib|g|gb|gib|b)?", re.I)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_IMAP_DATE = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})")
_RELATIVE = re.compile(r"(\d{1,5})([dwmy])", re.I)
_UID_SET = re.compile(r"(?:\d+|\*)(?::(?:\d+|\*))?(?:,(?:\d+|\*)(?::(?:\d+|\*))?)*")
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext: printable ASCII but the colon


# -- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "(", ")", "or", "and", "not", "-", "raw"
    start: int
    end: int
    segments: tuple[tuple[str, bool], ...] = ()  # a word: (text, was quoted) pieces
    raw: str = ""  # "raw": what followed the "!", without the spaces around it
    raw_start: int = 0  # "raw": where `raw` starts in the query

    @property
    def text(self) -> str:
        return "".join(text for text, _quoted in self.segments)


def _tokens(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, i, i + 1))
            i += 1
        elif char == "!":
            after = query[i + 1 :]
            raw = after.strip()
            if not raw:
                raise QueryError("'!' needs raw IMAP search keys after it, e.g. !LARGER 10000", i, n)
            tokens.append(_Token("raw", i, n, raw=raw, raw_start=i + 1 + len(after) - len(after.lstrip())))
            i = n
        elif char == "-" and (i + 1 >= n or query[i + 1].isspace() or query[i + 1] == ")"):
            raise QueryError("a '-' must stand right before the term it negates, e.g. -from:bob", i, i + 1)
        elif char == "-":
            tokens.append(_Token("-", i, i + 1))
            i += 1
        else:
            i = _word(query, i, tokens)
    return tokens


def _word(query: str, start: int, tokens: list[_Token]) -> int:
    """Read one word: unquoted runs and "quoted runs" side by side, up to a space or parenthesis."""
    segments: list[tuple[str, bool]] = []
    i, n = start, len(query)
    while i < n and not query[i].isspace() and query[i] not in "()":
        if query[i] == '"':
            opened = i
            i += 1
            chars: list[str] = []
            while True:
                if i >= n:
                    raise QueryError('this quote is never closed: add a " at its end', opened, n)
                if query[i] == "\\" and i + 1 < n and query[i + 1] in '"\\':
                    chars.append(query[i + 1])
                    i += 2
                elif query[i] == '"':
                    i += 1
                    break
                else:
                    chars.append(query[i])
                    i += 1
            segments.append(("".join(chars), True))
        else:
            run_start = i
            while i < n and not query[i].isspace() and query[i] not in '()"':
                i += 1
            segments.append((query[run_start:i], False))
    if len(segments) == 1 and not segments[0][1] and segments[0][0].lower() in ("or", "and", "not"):
        tokens.append(_Token(segments[0][0].lower(), start, i))
    else:
        tokens.append(_Token("word", start, i, tuple(segments)))
    return i


# -- the parser -----------------------------------------------------------------------------


def parse_query(query: str, today: date | None = None) -> Node:
    """The tree for `query`, or QueryError. `today` anchors relative dates (7d, 2w, 3m, 1y)."""
    if len(query) > MAX_QUERY:
        raise QueryError(f"the query is too long (at most {MAX_QUERY} characters)", MAX_QUERY, len(query))
    for position, char in enumerate(query):
        if char in "\r\n\x00":
            raise QueryError("the query holds a line break or NUL character; remove it", position, position + 1)
        if "\ud800" <= char <= "\udfff":
            raise QueryError("the query holds a broken character (a lone surrogate); remove it",
                             position, position + 1)
    parser = _Parser(query, _tokens(query), today or date.today())
    if not parser.tokens:
        raise QueryError("type something to search for, e.g. from:alice is:unread", 0, len(query))
    node = parser.conjunction(depth=0)
    if parser.position < len(parser.tokens):  # only a stray ")" stops a conjunction early
        token = parser.tokens[parser.position]
        raise QueryError("this ')' closes nothing", token.start, token.end)
    return node


class _Parser:
    def __init__(self, query: str, tokens: list[_Token], today: date) -> None:
        self.query = query
        self.tokens = tokens
        self.position = 0
        self.today = today

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def conjunction(self, depth: int) -> Node:
        """Terms side by side (and an optional `and` between them): all must match."""
        nodes: list[Node] = []
        while (token := self.peek()) is not None and token.kind != ")":
            if token.kind == "and":
                self.take()
                if not nodes or self.peek() is None or self.peek().kind in (")", "or", "and"):
                    raise QueryError("'and' needs a term on each side", token.start, token.end)
                continue
            nodes.append(self.disjunction(depth))
        if not nodes:
            raise QueryError("nothing to search for here", *self._here())
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def disjunction(self, depth: int) -> Node:
        nodes = [self.negation(depth)]
        while (token := self.peek()) is not None and token.kind == "or":
            self.take()
            following = self.peek()
            if following is None or following.kind in (")", "or", "and"):
                raise QueryError("'or' needs a term on each side, e.g. from:alice or from:bob", token.start, token.end)
            nodes.append(self.negation(depth))
        return _any_of(nodes)

    def negation(self, depth: int) -> Node:
        token = self.peek()
        if token is None:
            raise QueryError("the query ends where a term should follow", *self._here())
        if token.kind == "or":
            raise QueryError("'or' needs a term on each side, e.g. from:alice or from:bob", token.start, token.end)
        if token.kind in ("-", "not"):
            self.take()
            if depth >= MAX_DEPTH:
                raise QueryError("the query is nested too deeply", token.start, token.end)
            following = self.peek()
            if following is None or following.kind in (")", "or", "and"):
                raise QueryError(f"'{token.kind}' needs a term to negate right after it", token.start, token.end)
            return _negate(self.negation(depth + 1))
        return self.primary(depth)

    def primary(self, depth: int) -> Node:
        token = self.take()
        if token.kind == "(":
            if depth >= MAX_DEPTH:
                raise QueryError("the query is nested too deeply", token.start, token.end)
            if self.peek() is not None and self.peek().kind == ")":
                raise QueryError("empty parentheses: put terms inside, or remove them", token.start, self.peek().end)
            inner = self.conjunction(depth + 1)
            closing = self.peek()
            if closing is None or closing.kind != ")":
                raise QueryError("this '(' is never closed: add a ')'", token.start, token.end)
            self.take()
            return inner
        if token.kind == ")":
            raise QueryError("this ')' closes nothing", token.start, token.end)
        if token.kind == "raw":
            return Raw(_checked_raw(token))
        return _term(token, self.today)

    def _here(self) -> tuple[int, int]:
        token = self.peek()
        if token is not None:
            return token.start, token.end
        return len(self.query), len(self.query)


def _any_of(nodes: list[Node]) -> Node:
    """OR of `nodes` as a balanced tree: a chain of hundreds stays a few levels deep
    (for the compiler's recursion and the server's); `a or b or c` is OR (OR a b) c."""
    if len(nodes) == 1:
        return nodes[0]
    middle = (len(nodes) + 1) // 2
    return Or(_any_of(nodes[:middle]), _any_of(nodes[middle:]))


def _negate(node: Node) -> Node:
    # -keyword:x is UNKEYWORD x, as the table in the README says; the rest is NOT.
    if isinstance(node, Term) and node.key == "KEYWORD":
        return Term("UNKEYWORD", node.args)
    return Not(node)


def _checked_raw(token: _Token) -> str:
    # Line breaks and NUL were refused for the whole query; raw keys must also stay
    # 7-bit, because only our own values travel as literals with a charset.
    # A "{" would start a literal: servers answer "+" to `{5}` before they see what
    # follows, and the connection falls out of step. Text with braces goes in subject: etc.
    for offset, char in enumerate(token.raw):
        position = token.raw_start + offset
        if not " " <= char <= "~":
            raise QueryError(
                "raw IMAP keys after '!' must be plain ASCII; search for other text with "
                "from:, subject: and the other terms", position, position + 1,
            )
        if char == "{":
            raise QueryError(
                "raw IMAP keys after '!' cannot hold a '{' (it would start an IMAP literal); search "
                "for such text with subject:, from: and the like", position, position + 1,
            )
    return token.raw


# -- terms ----------------------------------------------------------------------------------


def _term(token: _Token, today: date) -> Node:
    field, value_segments = _split_field(token)
    if field is None:
        if not token.text:
            raise QueryError('"" is an empty phrase: put the text to search for between the quotes',
                             token.start, token.end)
        return Term("TEXT", (Text(token.text),))
    value = "".join(text for text, _quoted in value_segments)
    start, end = token.start, token.end
    if field == "header":
        return _header(value_segments, start, end)
    if not value:
        raise QueryError(f"{field}: needs a value right after the colon, e.g. {_example(field)}", start, end)
    if field in STRING_FIELDS:
        return Term(STRING_FIELDS[field], (Text(value),))
    if field == "is":
        key = STATES.get(value.lower())
        if key is None:
            hint = _closest(value.lower(), STATES, prefix="is:")
            raise QueryError(
                f"is:{value} is not a state{hint}; use is:read, unread, flagged, answered, deleted, "
                "draft (each also with un-), new, old or recent", start, end,
            )
        return Term(key)
    if field == "has":
        if value.lower() not in ("attachment", "attachments"):
            raise QueryError("has: knows only has:attachment", start, end)
        return HAS_ATTACHMENT
    if field == "keyword":
        if value.startswith("\\"):
            state = _SYSTEM_FLAG_STATES.get(value.lower())
            if state:
                raise QueryError(f"keyword:{value} is a system flag, not a keyword; search for it with is:{state}",
                                 start, end)
            raise QueryError(f"keyword:{value}: keywords cannot start with a backslash; for system flags use is:, "
                             "e.g. is:flagged", start, end)
        problem = keyword_problem(value)
        if problem:
            raise QueryError(f"keyword:{value}: {problem}", start, end)
        return Term("KEYWORD", (Atom(value),))
    if field in DATE_FIELDS:
        return Term(DATE_FIELDS[field], (Atom(imap_date(parse_date(value, today, start, end))),))
    if field in SIZE_FIELDS:
        return Term(SIZE_FIELDS[field], (Atom(str(_size(value, field, start, end))),))
    return Term("UID", (Atom(_uid_set(value, start, end)),))


def _split_field(token: _Token) -> tuple[str | None, tuple[tuple[str, bool], ...]]:
    """("from", value segments) for from:…; (None, …) for a plain word or phrase."""
    first_text, first_quoted = token.segments[0]
    if first_quoted or ":" not in first_text:
        return None, token.segments
    name, _, rest = first_text.partition(":")
    field = name.lower()
    if field not in FIELDS:
        if re.fullmatch(r"[A-Za-z][A-Za-z-]*", name) and not rest.startswith("//"):
            hint = _closest_field(field)
            raise QueryError(
                f"{name}: is not a search term{hint}; to search for the text, put it in quotes",
                token.start, token.start + len(name) + 1,
            )
        return None, token.segments  # "10:30" or "https://…": text after all
    rest_segments = ((rest, False),) if rest else ()
    return field, rest_segments + token.segments[1:]


def _closest_field(field: str) -> str:
    return _closest(field, FIELDS, suffix=":")


def _closest(word: str, choices, prefix: str = "", suffix: str = "") -> str:
    """' (did you mean is:read?)' for a near miss, else ''."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {prefix}{close[0]}{suffix}?)" if close else ""


def _header(segments: tuple[tuple[str, bool], ...], start: int, end: int) -> Term:
    # header:Name:value. The name ends at the first unquoted colon.
    name_parts: list[str] = []
    for index, (text, quoted) in enumerate(segments):
        if not quoted and ":" in text:
            head, _, tail = text.partition(":")
            name = "".join(name_parts) + head
            value = tail + "".join(t for t, _q in segments[index + 1 :])
            break
        name_parts.append(text)
    else:
        raise QueryError("header: takes a name and a value: header:X-Priority:1 (the value may be empty)", start, end)
    if not _HEADER_NAME.fullmatch(name):
        raise QueryError(f"header:{name}: is not a header name (printable ASCII, no spaces)", start, end)
    return Term("HEADER", (Text(name), Text(value)))


def _example(field: str) -> str:
    examples = {"is": "is:unread", "has": "has:attachment", "keyword": "keyword:$Important", "uid": "uid:100:200"}
    if field in DATE_FIELDS:
        return f"{field}:2024-01-31"
    if field in SIZE_FIELDS:
        return f"{field}:50k"
    return examples.get(field, f"{field}:alice")


# -- values ---------------------------------------------------------------------------------


def parse_date(value: str, today: date, start: int = 0, end: int = 0) -> date:
    """2024-01-31, 31-Jan-2024, today, yesterday, or a time back from today: 7d, 2w, 3m, 1y."""
    lowered = value.lower()
    try:
        if lowered == "today":
            return today
        if lowered == "yesterday":
            return today - timedelta(days=1)
        if match := _ISO_DATE.fullmatch(value):
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if match := _IMAP_DATE.fullmatch(value):
            month = match.group(2).capitalize()
            if month in MONTHS:
                return date(int(match.group(3)), MONTHS.index(month) + 1, int(match.group(1)))
        if match := _RELATIVE.fullmatch(value):
            return _back_from(today, int(match.group(1)), match.group(2).lower())
    except (ValueError, OverflowError):
        raise QueryError(f"{value} is not a date that exists", start, end) from None
    raise QueryError(f"{value} is not a date; use 2024-01-31, 31-Jan-2024, today, or 7d / 2w / 3m / 1y", start, end)


def _back_from(today: date, count: int, unit: str) -> date:
    if unit == "d":
        return today - timedelta(days=count)
    if unit == "w":
        return today - timedelta(weeks=count)
    months = count * (12 if unit == "y" else 1)
    year, month = divmod(today.year * 12 + (today.month - 1) - months, 12)
    day = min(today.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def imap_date(day: date) -> str:
    """RFC 3501 date: 1-Feb-2024 (English month names, whatever the locale)."""
    if not 1 <= day.year <= 9999:
        raise ValueError(day)
    return f"{day.day}-{MONTHS[day.month - 1]}-{day.year:04d}"


def _size(value: str, field: str, start: int, end: int) -> int:
    match = _SIZE.fullmatch(value.strip())
    if not match:
        raise QueryError(f"{field}:{value} is not a size; use octets or k/M/G, e.g. {field}:50k", start, end)
    unit = (match.group(2) or "").lower()[:1]
    octets = int(match.group(1)) * _SIZE_UNITS[unit]
    if octets > MAX_NUMBER:
        raise QueryError(f"{field}:{value} is too large for IMAP (at most {MAX_NUMBER} octets, just under 4G)",
                         start, end)
    return octets


def _uid_set(value: str, start: int, end: int) -> str:
    if not _UID_SET.fullmatch(value):
        raise QueryError(f"uid:{value} is not a UID set; use e.g. uid:100, uid:100:200 or uid:1,5,9:*", start, end)
    for number in re.findall(r"\d+", value):
        if not 0 < int(number) <= MAX_NUMBER:
            raise QueryError(f"uid:{value}: UIDs run from 1 to {MAX_NUMBER}", start, end)
    # RFC 3501 numbers have no leading zeros: uid:007 goes as 7
    return re.sub(r"\d+", lambda match: str(int(match.group())), value)


def quote_value(text: str) -> str:
    """`text` as one quoted query value (for queries the app builds: "from this sender")."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
