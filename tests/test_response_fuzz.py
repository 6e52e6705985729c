"""Fuzzing the handling of server answers (issue 7): zero crashes is the bar.

Every byte from a server is hostile. Realistic answers (a FETCH batch of list rows with
literals, EXISTS/EXPUNGE/VANISHED and unsolicited FETCHes in between, a tagged OK) are
mutated at random: bytes flipped, inserted, deleted, the answer cut short, literal lengths
rewritten (to {0}, off by a few, {2000000000}, thousands of digits), lines duplicated or
swapped, items swapped, parentheses and quotes put off balance, non-ASCII and control
bytes, very long atoms. Other examples are random lines after a valid prefix. The bytes
come from the scripted server of tests/scripted_server.py over a real socket, so the real
imaplib and imapclient read them exactly as they read a server's.

The property, for fetch_rows, all_flags, all_uids, store_flags, copy_messages and
synchronise (which replays what the others left in the change journal): the call returns
a well-formed answer (fetch_rows: one row per asked UID, in the order asked, each a
proper row or a placeholder; never a UID that was not asked for), or raises one of the
documented errors: IMAPClientError (a refused command; IMAPClientAbortError, its subclass,
for a connection that is out of step or gone) or OSError. Nothing else: no IndexError,
ValueError, UnicodeDecodeError, RecursionError, MemoryError. A literal announced huge is
never allocated (tracemalloc's peak stays under a few MB).

Example counts keep the file under 20 s. For a longer run set TUI_MAIL_FUZZ_EXAMPLES
(as tests/test_search_property.py does): every property then runs that many examples, e.g.
`TUI_MAIL_FUZZ_EXAMPLES=3000 pytest -p no:cacheprovider tests/test_response_fuzz.py` (about
five minutes; add --hypothesis-show-statistics to see how many examples ended in rows,
aborts or refusals).
"""

from __future__ import annotations

import imaplib
import math
import re
import tracemalloc
from contextlib import contextmanager
from datetime import datetime

import pytest
from hypothesis import (
    assume,
    currently_in_test_context,
    event,
    example,
    given,
)
from hypothesis import strategies as st

from fuzzing import fuzz
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError
from scripted_server import ScriptedServer, Step
from test_lean_fetch import HEADER_ITEM, SELECT_REPLY, header, literal

from tui.headers import MAX_HEADER_BLOCK, Row
from tui.imap import bulk_read, commands, mutations
from tui.imap.commands import parse_untagged, store_flags
from tui.imap.connection import CappedIMAPClient
from tui.imap.contract import CopyUid
from tui.imap.lean_fetch import (
    GONE,
    MAX_SIZE,
    UNREADABLE,
    all_flags,
    all_uids,
    fetch_rows,
)
from tui.imap.mutations import Changes, CopyOutcome, copy_messages, synchronise
from tui.imap.uidset import compress_uids


# The documented ways out. TimeoutError is an OSError but never an acceptable one here: the
# server hangs up after its answer, so a reader that waits has lost count of the bytes.
ALLOWED = (IMAPClientError, OSError)


def outcome_of(call):
    """(result, None) or (None, the documented error); anything else fails the test."""
    try:
        return call(), None
    except TimeoutError:
        raise
    except ALLOWED as error:
        if currently_in_test_context():  # the statistics of --hypothesis-show-statistics
            event("abort" if isinstance(error, IMAPClientAbortError) else
                  "refused" if type(error) is IMAPClientError else type(error).__name__)
        return None, error


# -- the server ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wire():
    """One scripted server for the module: each example is one connection (a fresh server
    per example would cost its listener's shutdown, 50 ms)."""
    with ScriptedServer(b"* OK ready") as server:
        yield server


def answer_step(command: str, reply: bytes) -> Step:
    """`command`'s answer; the server hangs up after it, so a reader that expects more gets EOF.

    `reply` may answer the commands that follow too, sent ahead: {tag} stands for this
    command's tag (the server fills it in), {next1} to {next3} for those of the next ones.
    """
    def answer(line: bytes) -> bytes:
        found = re.fullmatch(rb"(\D*)(\d+)", line.split(b" ", 1)[0])
        if found is None:
            return reply
        prefix, number = found.group(1), int(found.group(2))
        filled = reply
        for n in (1, 2, 3):
            filled = filled.replace(b"{next%d}" % n, prefix + b"%d" % (number + n))
        return filled

    return Step(command, answer, close=True)


@contextmanager
def session(wire: ScriptedServer, step: Step, capabilities: bytes = b"IMAP4rev1"):
    """A client logged in to `wire` with INBOX selected, whose next command gets `step`."""
    wire.capabilities = capabilities
    # What the server keeps of past connections would grow with every example (and its
    # copying would count in the memory tests): the server is idle between examples.
    wire.received, wire.lines, wire.errors = b"", [], []
    wire.script = [Step("LOGIN", b"{tag} OK logged in\r\n"), Step("SELECT", SELECT_REPLY), step]
    client = CappedIMAPClient(wire.host, port=wire.port, ssl=False, timeout=10)  # the app's connection class
    try:
        client.login("u", "p")
        client.select_folder("INBOX")
        client.capabilities()  # asked now, so that no CAPABILITY comes between the scripted commands
        yield client
    finally:
        try:
            client.shutdown()
        except OSError:
            pass
        wire.wait_done()
    # the server only ever fails to send to a client that hung up first
    assert all(error.startswith(("BrokenPipeError", "ConnectionResetError")) for error in wire.errors), wire.errors


# -- realistic answers ---------------------------------------------------------------------------

FLAG_WORDS = [b"\\Seen", b"\\Flagged", b"\\Deleted", b"\\Answered", b"\\Recent", b"$Label1", b"NonJunk"]
DATES = [b"17-Jul-1996 02:44:25 -0700", b" 1-Jan-2024 00:00:00 +0000", b"29-Feb-2024 12:00:00 +0530",
         b"31-Dec-2023 23:59:59 +1345"]
SUBJECTS = ["plain", "Grüße aus Köln", "=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "* 1 FETCH (UID 9)", "{5}"]
HEADER_FORMS = ["literal", "literal", "literal", "nil", "quoted"]


def stamp(date: bytes) -> float:
    return datetime.strptime(date.strip().decode(), "%d-%b-%Y %H:%M:%S %z").timestamp()


class Answer:
    """A realistic answer: its bytes ({tag} for the tag), and what a clean read of it gives."""

    def __init__(self, data: bytes, rows: dict[int, Row] | None = None, clean: bool = True) -> None:
        self.data, self.rows, self.clean = data, rows or {}, clean

    def __repr__(self) -> str:  # what a failing example prints
        return f"Answer({self.data!r})"


@st.composite
def row_answer(draw, seq: int, uid: int) -> tuple[bytes, Row]:
    """One `* seq FETCH` answer of the list-row items, in Dovecot's order or another."""
    flags = draw(st.lists(st.sampled_from(FLAG_WORDS), max_size=3, unique=True))
    date = draw(st.sampled_from(DATES))
    size = draw(st.integers(0, 10 ** 7))
    form = draw(st.sampled_from(HEADER_FORMS))
    subject = draw(st.sampled_from(SUBJECTS))
    items = [b"UID %d" % uid, b"FLAGS (" + b" ".join(flags) + b")", b'INTERNALDATE "' + date + b'"',
             b"RFC822.SIZE %d" % size]
    if draw(st.booleans()):
        items.append(b"MODSEQ (%d)" % draw(st.integers(1, 10 ** 6)))
    if form == "literal":
        block = header(subject)
        items.append(HEADER_ITEM + b" " + literal(block))
    elif form == "nil":
        block = b""
        items.append(HEADER_ITEM + b" NIL")
    else:
        block = b'Subject: a "quoted" \\ one'
        items.append(HEADER_ITEM + b' "Subject: a \\"quoted\\" \\\\ one"')
    if draw(st.booleans()):
        items = draw(st.permutations(items))
    line = b"* %d FETCH (" % seq + b" ".join(items) + b")\r\n"
    return line, Row(uid, frozenset(f.decode() for f in flags), stamp(date), size, block)


def extra_line(count: int) -> st.SearchStrategy[bytes]:
    """An untagged answer that may come in the middle of any command's answers."""
    number = st.integers(1, count + 2)
    return st.one_of(
        number.map(lambda n: b"* %d EXISTS\r\n" % n),
        number.map(lambda n: b"* %d EXPUNGE\r\n" % n),
        number.map(lambda n: b"* %d RECENT\r\n" % n),
        st.tuples(st.integers(1, 70), st.integers(1, 70)).map(lambda r: b"* VANISHED %d:%d\r\n" % r),
        st.integers(1, 70).map(lambda n: b"* VANISHED (EARLIER) %d\r\n" % n),
        number.map(lambda n: b"* %d FETCH (FLAGS (\\Deleted \\Seen))\r\n" % n),
        st.tuples(number, st.integers(1, 70)).map(lambda t: b"* %d FETCH (UID %d FLAGS ($x) MODSEQ (9))\r\n" % t),
        st.sampled_from([b"* OK [ALERT] disk nearly full\r\n", b"* OK [EXPUNGEISSUED] gone\r\n",
                         b"* NO [OVERQUOTA] full\r\n", b"* FLAGS (\\Seen $x)\r\n", b"* OK still here\r\n"]),
    )


TAGGED = [b"{tag} OK done\r\n", b"{tag} OK done\r\n", b"{tag} OK [ALERT] done\r\n",
          b"{tag} NO [EXPUNGEISSUED] some are gone\r\n"]


@st.composite
def interleaved(draw, units: list[bytes], count: int) -> tuple[list[bytes], bool]:
    """`units` with extra untagged answers put between them; whether none were."""
    extras = draw(st.lists(st.tuples(st.integers(0, len(units)), extra_line(count)), max_size=3))
    for at, line in sorted(extras, reverse=True):
        units = units[:at] + [line] + units[at:]
    return units, not extras


def search_answers(uids: list[int]) -> bytes:
    """What synchronise's searches get, sent ahead: up to three rounds of them."""
    found = b"* SEARCH" + b"".join(b" %d" % uid for uid in uids) + b"\r\n"
    return b"".join(found + b"{next%d} OK done\r\n" % n for n in (1, 2, 3))


@st.composite
def asked_uids(draw) -> list[int]:
    return draw(st.lists(st.integers(1, 60), min_size=1, max_size=6, unique=True))


@st.composite
def rows_batch(draw, asked: list[int]) -> tuple[list[bytes], dict[int, Row], bool]:
    """The answers to a list-row FETCH of `asked`: some asked UIDs, maybe one not asked for."""
    answered = draw(st.lists(st.sampled_from(asked), unique=True, max_size=len(asked)))
    if draw(st.integers(0, 3)) == 0:
        answered.append(draw(st.integers(61, 99)))  # a UID nobody asked for
    units, rows = [], {}
    for seq, uid in enumerate(answered, 1):
        line, row = draw(row_answer(seq, uid))
        units.append(line)
        rows[uid] = row
    units, clean = draw(interleaved(units, len(answered)))
    return units, {uid: row for uid, row in rows.items() if uid in asked}, clean


# -- mutations -------------------------------------------------------------------------------------

_LITERAL = re.compile(rb"\{(\d*)\}")
_SPECIALS = b'()"[]{}\\'

TOKENS = [b"(", b")", b'"', b"\\", b"{", b"}", b"[", b"]", b" ", b"NIL", b"\r\n", b"\r", b"\n", b"\x00",
          b"\x1b[2J", b"\x7f", b"\xff\xfe", "é€😀".encode(), b"\xc3", b"\xed\xa0\x80", b"* ", b"+ more\r\n",
          b"* 1 FETCH (", b"UID 7 ", b"UID 99 ", b"FLAGS (\\Seen) ", HEADER_ITEM + b" ", b"{5}\r\n", b"{0}\r\n",
          b"{2000000000}\r\n", b"{99999999999}\r\n", b"{tag} OK done\r\n", b"{tag} BAD no\r\n",
          b"* BYE going away\r\n", b"* 3 EXPUNGE\r\n", b"* VANISHED 1:*\r\n", b"X" * 4100, b"9" * 5000]

SIZES = st.one_of(
    st.integers(0, 400).map(lambda n: b"%d" % n),
    st.sampled_from([b"", b"2000000000", b"4294967295", b"4294967296", b"99999999999", b"1" + b"0" * 30,
                     b"9" * 5000, b"-1", b"+5", b"0x10"]),
)
position = st.integers(0, 10 ** 6)  # taken modulo the length where it is applied: shrinks to the start

MUTATION = st.one_of(
    st.tuples(st.just("flip"), position, st.integers(1, 255)),
    st.tuples(st.just("insert"), position, st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=12),
                                                     st.integers(100, 20000).map(lambda n: b"A" * n))),
    st.tuples(st.just("delete"), position, st.integers(1, 40)),
    st.tuples(st.just("cut"), position),
    st.tuples(st.just("literal"), position, SIZES),
    st.tuples(st.just("duplicate"), position),
    st.tuples(st.just("swap lines"), position, position),
    st.tuples(st.just("swap items"), position, position, position),
    st.tuples(st.just("unbalance"), position, st.sampled_from(list(_SPECIALS))),
)
MUTATIONS = st.lists(MUTATION, min_size=1, max_size=4)


def _lines(data: bytes) -> list[bytes]:
    parts = data.split(b"\n")
    return [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def mutate(data: bytes, ops) -> bytes:
    for op in ops:
        kind, at = op[0], op[1]
        if kind == "flip" and data:
            at %= len(data)
            data = data[:at] + bytes([data[at] ^ op[2]]) + data[at + 1:]
        elif kind == "insert":
            at %= len(data) + 1
            data = data[:at] + op[2] + data[at:]
        elif kind == "delete":
            at %= len(data) + 1
            data = data[:at] + data[at + op[2]:]
        elif kind == "cut":
            data = data[: at % (len(data) + 1)]
        elif kind == "literal":
            found = list(_LITERAL.finditer(data))
            if found:
                chosen = found[at % len(found)]
                data = data[: chosen.start(1)] + op[2] + data[chosen.end(1):]
        elif kind in ("duplicate", "swap lines", "swap items"):
            lines = _lines(data)
            if not lines:
                continue
            at %= len(lines)
            if kind == "duplicate":
                lines.insert(at, lines[at])
            elif kind == "swap lines":
                other = op[2] % len(lines)
                lines[at], lines[other] = lines[other], lines[at]
            else:
                words = lines[at].split(b" ")
                i, j = op[2] % len(words), op[3] % len(words)
                words[i], words[j] = words[j], words[i]
                lines[at] = b" ".join(words)
            data = b"".join(lines)
        elif kind == "unbalance":
            spots = [index for index, byte in enumerate(data) if byte == op[2]]
            if spots:
                spot = spots[at % len(spots)]
                data = data[:spot] + data[spot + 1:]
    return data


# -- what a well-formed answer is ------------------------------------------------------------------


def check_rows(rows, asked: list[int]) -> None:
    assert [row.uid for row in rows] == asked  # one per asked UID, in order: none that was not asked
    for row in rows:
        assert type(row) is Row
        assert isinstance(row.flags, frozenset) and all(type(flag) is str for flag in row.flags)
        assert row.internaldate is None or (type(row.internaldate) is float and math.isfinite(row.internaldate))
        assert type(row.size) is int and 0 <= row.size <= MAX_SIZE
        assert type(row.headers) is bytes and len(row.headers) <= MAX_HEADER_BLOCK
        if row.placeholder:
            assert row.headers in (b"Subject: %s\r\n" % GONE.encode(), b"Subject: %s\r\n" % UNREADABLE.encode())
            assert row.flags == frozenset() and row.internaldate is None and row.size == 0


def check_flags(flags) -> None:
    assert type(flags) is dict
    for uid, value in flags.items():
        assert type(uid) is int and uid >= 0
        assert isinstance(value, frozenset) and all(type(flag) is str for flag in value)


def check_changes(changes, before: list[int]) -> None:
    assert type(changes) is Changes
    assert all(type(uid) is int for uid in changes.uids) and changes.uids == sorted(set(changes.uids))
    assert set(changes.new) <= set(changes.uids) and not set(changes.new) & set(before)
    assert set(changes.vanished) <= set(before) and not set(changes.vanished) & set(changes.uids)
    assert set(changes.flags) <= set(changes.uids)
    check_flags(changes.flags)


# -- fetch_rows ---------------------------------------------------------------------------------------


def fetch_and_replay(wire, asked: list[int], reply: bytes) -> list[Row] | None:
    """fetch_rows of `asked` against `reply`, then synchronise, which replays what the
    answer left for the change journal. The rows, or None for a documented error."""
    with session(wire, answer_step("UID FETCH", reply)) as client:
        rows, error = outcome_of(lambda: fetch_rows(client, asked))
        if error is not None:
            return None
        check_rows(rows, asked)
        event("rows")
        before = sorted(asked)
        changes, _error = outcome_of(lambda: synchronise(client, before, noop=False))
        if changes is not None:
            check_changes(changes, before)
        return rows


@st.composite
def rows_reply(draw) -> tuple[list[int], Answer]:
    asked = draw(asked_uids())
    units, rows, clean = draw(rows_batch(asked))
    tagged = draw(st.sampled_from(TAGGED))
    data = b"".join(units) + tagged + search_answers(asked)
    return asked, Answer(data, rows, clean and tagged.startswith(b"{tag} OK done"))


# Answers that crashed fetch_rows once: a literal size of 5,000 digits (int() refuses more
# than 4,300) in the lean reader's line and in one it hands to imaplib; a literal imaplib
# allocated in full before reading it (MemoryError).
THOUSANDS = b"9" * 5000


@fuzz(150)
@given(case=rows_reply(), ops=st.one_of(st.just([]), MUTATIONS))
@example(case=([5], Answer(b"* 1 FETCH (UID 5 " + HEADER_ITEM + b" {" + THOUSANDS + b"}\r\nx)\r\n{tag} OK done\r\n",
                           clean=False)), ops=[])
@example(case=([5], Answer(b"* 1 FETCH X {" + THOUSANDS + b"}\r\n{tag} OK done\r\n", clean=False)), ops=[])
@example(case=([5], Answer(b"* OK {99999999999}\r\nabc\r\n{tag} OK done\r\n", clean=False)), ops=[])
def test_fetch_rows_survives_mutated_answers(wire, case, ops):
    asked, answer = case
    rows = fetch_and_replay(wire, asked, mutate(answer.data, ops))
    if not ops and answer.clean:  # the harness delivers: an unmutated answer is read exactly
        assert rows is not None
        assert rows == [answer.rows.get(uid) or row for uid, row in zip(asked, rows)]
        assert {row.uid for row in rows if not row.placeholder} == set(answer.rows)


random_line = st.one_of(
    st.binary(max_size=60),
    st.binary(max_size=60).map(lambda data: b"* " + data),
    st.tuples(st.integers(0, 99), st.binary(max_size=60)).map(lambda t: b"* %d FETCH (" % t[0] + t[1]),
    st.tuples(st.integers(1, 60), st.binary(max_size=60)).map(lambda t: b"* 1 FETCH (UID %d " % t[0] + t[1]),
    st.tuples(st.integers(0, 99), st.binary(max_size=20)).map(lambda t: b"* 1 FETCH (UID 1 {%d}\r\n" % t[0] + t[1]),
)
line_end = st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r", b""])


@fuzz(150)
@given(asked=asked_uids(), data=st.data(),
       noise=st.lists(st.tuples(random_line, line_end).map(b"".join), min_size=1, max_size=5),
       tagged=st.sampled_from([b"", *TAGGED]))
def test_fetch_rows_survives_random_lines_after_a_valid_prefix(wire, asked, data, noise, tagged):
    units, _rows, _clean = data.draw(rows_batch(asked))
    prefix = units[: data.draw(st.integers(0, len(units)))]
    fetch_and_replay(wire, asked, b"".join(prefix) + b"".join(noise) + tagged + search_answers(asked))


# -- every flag, every UID -------------------------------------------------------------------------


@st.composite
def flags_reply(draw) -> Answer:
    uids = draw(st.lists(st.integers(1, 60), max_size=6, unique=True))
    units, expected = [], {}
    for seq, uid in enumerate(uids, 1):
        flags = draw(st.lists(st.sampled_from(FLAG_WORDS), max_size=3, unique=True))
        items = [b"UID %d" % uid, b"FLAGS (" + b" ".join(flags) + b")"]
        if draw(st.booleans()):
            items.append(b"MODSEQ (%d)" % draw(st.integers(1, 10 ** 6)))
        if draw(st.booleans()):
            items = draw(st.permutations(items))
        units.append(b"* %d FETCH (" % seq + b" ".join(items) + b")\r\n")
        expected[uid] = frozenset(flag.decode() for flag in flags)
    if draw(st.booleans()):  # an answer with a literal, which nobody asked for: still read
        units.append(b"* 9 FETCH (UID 59 X-ODD {3}\r\nabc FLAGS (\\Seen))\r\n")
        expected[59] = frozenset({"\\Seen"})
    units, clean = draw(interleaved(units, len(uids)))
    tagged = draw(st.sampled_from(TAGGED[:3]))
    return Answer(b"".join(units) + tagged + search_answers(sorted(expected)), clean=clean)


@fuzz(150)
@given(answer=flags_reply(), ops=st.one_of(st.just([]), MUTATIONS), changed_since=st.sampled_from([None, 5]))
def test_all_flags_survives_mutated_answers(wire, answer, ops, changed_since):
    with session(wire, answer_step("UID FETCH", mutate(answer.data, ops))) as client:
        flags, error = outcome_of(lambda: all_flags(client, changed_since=changed_since))
        if flags is None:
            assert ops, error  # an unmutated answer is always read
            return
        check_flags(flags)
        event("flags")
        before = sorted(flags)
        changes, _error = outcome_of(lambda: synchronise(client, before, noop=False))
        if changes is not None:
            check_changes(changes, before)


@st.composite
def uids_reply(draw) -> tuple[bytes, Answer, list[int]]:
    uids = sorted(draw(st.lists(st.integers(1, 200), max_size=12, unique=True)))
    if draw(st.booleans()):
        capabilities = b"IMAP4rev1 ESEARCH"
        ranges = compress_uids(uids).encode() if uids else b""
        line = (b'* ESEARCH (TAG "{tag}") UID ALL ' + ranges if uids else b'* ESEARCH (TAG "{tag}") UID') + b"\r\n"
    else:
        capabilities = b"IMAP4rev1"
        line = b"* SEARCH" + b"".join(b" %d" % uid for uid in uids) + b"\r\n"
    units, clean = draw(interleaved([line], len(uids)))
    return capabilities, Answer(b"".join(units) + b"{tag} OK done\r\n", clean=clean), uids


@fuzz(150)
@given(case=uids_reply(), ops=st.one_of(st.just([]), MUTATIONS))
@example(case=(b"IMAP4rev1 ESEARCH", Answer(b'* ESEARCH (TAG "{tag}") UID ALL 1:' + THOUSANDS + b"\r\n"
                                             b"{tag} OK done\r\n"), None), ops=[])  # refused, not expanded
def test_all_uids_survives_mutated_answers(wire, case, ops):
    capabilities, answer, uids = case
    with session(wire, answer_step("UID SEARCH", mutate(answer.data, ops)), capabilities) as client:
        found, _error = outcome_of(lambda: all_uids(client))
    if found is not None:
        assert all(type(uid) is int for uid in found) and found == sorted(set(found))
        event("uids")
    if not ops and uids is not None:
        assert found == uids


# -- unsolicited answers, STORE, COPY and MOVE (run_command, parse_untagged, the change view) ---------


@st.composite
def noop_reply(draw) -> tuple[list[int], bytes]:
    before = sorted(draw(st.lists(st.integers(1, 60), max_size=6, unique=True)))
    lines = draw(st.lists(extra_line(len(before)), max_size=5))
    found = sorted(set(before) | set(draw(st.lists(st.integers(1, 80), max_size=3))))
    searched = b"* SEARCH" + b"".join(b" %d" % uid for uid in found) + b"\r\n"
    return before, b"".join(lines) + b"{tag} OK done\r\n" + b"".join(
        searched + b"{next%d} OK done\r\n" % n for n in (1, 2, 3))


@fuzz(150)
@given(case=noop_reply(), ops=st.one_of(st.just([]), MUTATIONS))
@example(case=([1, 2], b"* " + THOUSANDS + b" EXISTS\r\n{tag} OK done\r\n"), ops=[])  # an abort
def test_synchronise_survives_mutated_unsolicited_answers(wire, case, ops):
    before, reply = case
    with session(wire, answer_step("NOOP", mutate(reply, ops))) as client:
        changes, _error = outcome_of(lambda: synchronise(client, before, noop=True))
    if changes is not None:
        check_changes(changes, before)
        event("changes")


@st.composite
def store_reply(draw) -> tuple[list[int], bytes]:
    asked = draw(asked_uids())
    lines = []
    for seq, uid in enumerate(draw(st.lists(st.sampled_from(asked), unique=True)), 1):
        lines.append(b"* %d FETCH (UID %d FLAGS (\\Seen %s))\r\n" % (seq, uid, draw(st.sampled_from(FLAG_WORDS))))
    lines, _clean = draw(interleaved(lines, len(asked)))
    # what the STORE did not echo, read_flags asks for
    echoed = b"".join(b"* %d FETCH (UID %d FLAGS ($x))\r\n" % (n, uid) for n, uid in enumerate(asked, 1))
    return asked, b"".join(lines) + b"{tag} OK done\r\n" + echoed + b"{next1} OK done\r\n"


@fuzz(100)
@given(case=store_reply(), ops=st.one_of(st.just([]), MUTATIONS))
def test_store_flags_survives_mutated_answers(wire, case, ops):
    asked, reply = case
    with session(wire, answer_step("UID STORE", mutate(reply, ops))) as client:
        flags, _error = outcome_of(lambda: store_flags(client, asked, ("\\Seen",), True))
    if flags is not None:
        check_flags(flags)
        assert set(flags) <= set(asked)
        event("flags")
    if not ops:
        assert flags is not None and set(flags) == set(asked)


@st.composite
def copy_reply(draw) -> tuple[bytes, list[int], bytes]:
    capabilities = draw(st.sampled_from([b"IMAP4rev1 UIDPLUS MOVE", b"IMAP4rev1 UIDPLUS", b"IMAP4rev1"]))
    asked = sorted(draw(asked_uids()))
    targets = b",".join(b"%d" % (uid + 100) for uid in asked)
    sources = b",".join(b"%d" % uid for uid in asked)
    code = draw(st.sampled_from([b"[COPYUID 7 %s %s] " % (sources, targets), b""]))
    gone = b"".join(b"* %d EXPUNGE\r\n" % n for n in range(len(asked), 0, -1))
    lines, _clean = draw(interleaved([gone] if b"MOVE" in capabilities else [], len(asked)))
    reply = (b"".join(lines) + b"{tag} OK " + code + b"done\r\n"  # COPY or MOVE
             + b"{next1} OK stored\r\n" + gone + b"{next2} OK expunged\r\n")  # STORE, EXPUNGE
    return capabilities, asked, reply


@fuzz(100)
@given(case=copy_reply(), move=st.booleans(), ops=st.one_of(st.just([]), MUTATIONS))
def test_copy_and_move_survive_mutated_answers(wire, case, move, ops):
    capabilities, asked, reply = case
    command = "UID MOVE" if move and b"MOVE" in capabilities else "UID COPY"
    with session(wire, answer_step(command, mutate(reply, ops)), capabilities) as client:
        done, _error = outcome_of(lambda: copy_messages(client, asked, b"Archive", move))
    if done is not None:
        assert type(done) is CopyOutcome
        if done.copy_uid is not None:  # undo acts on these: only believed when they name what was asked
            assert type(done.copy_uid) is CopyUid
            assert len(done.copy_uid.source_uids) == len(done.copy_uid.target_uids)
            assert set(done.copy_uid.source_uids) <= set(asked)
            assert len(set(done.copy_uid.target_uids)) == len(done.copy_uid.target_uids)
        event("copied")


# -- the parsers on their own ----------------------------------------------------------------------


@fuzz(400)
@given(line=st.one_of(
    st.binary(max_size=80),
    st.tuples(st.sampled_from([b"* ", b"* 3 ", b"* 3 FETCH ", b"* VANISHED ", b"* SEARCH ", b"* OK ["]),
              st.binary(max_size=80)).map(b"".join),
    st.builds(mutate, st.sampled_from([b"* 3 FETCH (UID 7 FLAGS (\\Seen $x) MODSEQ (4))", b"* 9 EXPUNGE",
                                       b"* 12 EXISTS", b"* OK [COPYUID 7 1:3 5:7] done", b"* SEARCH 1 2 3"]),
              MUTATIONS),
))
@example(line=b"* " + THOUSANDS + b" FETCH (FLAGS ())")  # crashed the LEFTOVER replay once
def test_untagged_parsing_and_the_change_view_take_any_bytes(line):
    """parse_untagged reads any line or refuses it with ValueError (run_command's abort); the
    change view takes any of them, and any LEFTOVER imaplib may have filed, without a crash."""
    try:
        parsed = parse_untagged(line)
    except ValueError:
        parsed = None
    else:
        assert type(parsed) is commands.Untagged
    view = mutations._View([1, 2, 3, 5, 8])
    if parsed is not None:
        view.apply(parsed)
    body = line[2:] if line.startswith(b"* ") else line
    view.apply(commands.Untagged("LEFTOVER", leftovers={
        "FETCH": [body, (body, b"literal")], "EXPUNGE": [body], "EXISTS": [body], "VANISHED": [body]}))
    view.apply(commands.Untagged("VANISHED", text=body.decode("utf-8", "replace")))
    assert all(uid is None or type(uid) is int for uid in view.seq)
    check_flags(view.flags)


# -- a literal announced huge is never allocated --------------------------------------------------

MEMORY_BOUND = 4 * 1024 * 1024  # the rows' kept header part (64 KB) and a 1 MB read buffer, with room
HUGE_SIZES = [2_000_000_000, 4_294_967_296, 99_999_999_999]


def peak_memory(call) -> int:
    """The most memory allocated during `call`, which must end in an abort: the answers the
    tests below give end inside the literal."""
    tracemalloc.start()
    try:
        _result, error = outcome_of(call)
        assert isinstance(error, IMAPClientAbortError), error
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("size", HUGE_SIZES)
@pytest.mark.parametrize("reply", [
    b"* 1 FETCH (UID 5 " + HEADER_ITEM + b" {%d}\r\nonly this",  # the lean reader's literal
    b"* 1 FETCH (UID 5 BODY[1] {1}\r\nx BODY[2] {%d}\r\nonly this",  # a second literal on the line
    b"* OK {%d}\r\nonly this",  # a line handed to imaplib's reader
    b"* 1 FETCH X {%d}\r\nonly this",  # a FETCH answer without its parenthesis: imaplib's too
    b"* 3 EXISTS\r\n* 1 FETCH (UID 5 BODY[] {%d}\r\nonly this",
], ids=["fetch", "second", "other", "no-paren", "after-exists"])
def test_a_huge_literal_in_a_fetch_is_never_allocated(wire, reply, size):
    with session(wire, answer_step("UID FETCH", reply % size)) as client:
        assert peak_memory(lambda: fetch_rows(client, [5])) < MEMORY_BOUND


@pytest.mark.parametrize("size", HUGE_SIZES)
@pytest.mark.parametrize("command, reply, call", [
    ("NOOP", b"* 2 FETCH (FLAGS ()) {%d}\r\nonly this", lambda client: synchronise(client, [1, 2], noop=True)),
    ("UID STORE", b"* 1 FETCH (UID 5 X {%d}\r\nonly this",
     lambda client: store_flags(client, [5], ("\\Seen",), True)),
    # the STORE echoed nothing, so store_flags asks for the flags
    ("UID STORE", b"{tag} OK done\r\n* 1 FETCH (UID 5 FLAGS ()) {%d}\r\nonly this",
     lambda client: store_flags(client, [5], ("\\Seen",), True)),
    ("UID FETCH", b"* 1 FETCH (UID 5 FLAGS () X {%d}\r\nonly this", all_flags),
    ("UID SEARCH", b"* SEARCH {%d}\r\nonly this", all_uids),
], ids=["noop", "store", "read-flags", "flags", "search"])
def test_a_huge_literal_in_any_answer_we_read_is_never_allocated(wire, command, reply, call, size):
    with session(wire, answer_step(command, reply % size)) as client:
        assert peak_memory(lambda: call(client)) < MEMORY_BOUND


@fuzz(40)
@given(case=rows_reply(), at=position, size=st.sampled_from(HUGE_SIZES))
def test_a_huge_literal_anywhere_in_a_batch_is_never_allocated(wire, case, at, size):
    asked, answer = case
    lines = _lines(answer.data)
    untagged = lines.index(next(line for line in lines if line.startswith(b"{tag} ")))
    assume(untagged > 0)
    at %= untagged
    lines[at] = lines[at].removesuffix(b"\r\n") + b" {%d}\r\n" % size
    with session(wire, answer_step("UID FETCH", b"".join(lines[: at + 1]) + b"only this")) as client:
        assert peak_memory(lambda: fetch_rows(client, asked)) < MEMORY_BOUND


# -- a line that never ends ----------------------------------------------------------------------


@pytest.mark.parametrize("call", [lambda client: fetch_rows(client, [5]), all_flags], ids=["rows", "flags"])
def test_a_fetch_line_without_end_is_an_abort_past_the_cap_in_bounded_memory(wire, call):
    # Past imaplib's line limit a FETCH answer is read on in chunks (its row is only damaged);
    # past bulk_read's cap it is given up, the line's bytes never all in memory at once.
    endless = b"* 1 FETCH (UID 5 FLAGS (" + b"$k " * ((bulk_read.MAX_DAMAGED_LINE + 8 * 2 ** 20) // 3)
    with session(wire, answer_step("UID FETCH", endless)) as client:
        tracemalloc.start()
        try:
            _result, error = outcome_of(lambda: call(client))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert isinstance(error, IMAPClientAbortError) and f"more than {bulk_read.MAX_DAMAGED_LINE} bytes" in str(error)
    # the longest line imaplib takes (which readline builds in pieces, then joins) and a chunk:
    # under half of what the server sent
    assert peak < 2 * imaplib._MAXLINE + MEMORY_BOUND < len(endless) / 2

