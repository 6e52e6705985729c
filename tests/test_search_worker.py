"""Search in the IMAP worker (issue 5): how the command travels, and what goes wrong.

The rows of the query language are in test_search_table.py (its corpus and helpers are
used here too). This file: literals with and without LITERAL+ (read off the protocol
trace), a server without ESEARCH, a server without UTF-8 search ([BADCHARSET]), a search
for a mailbox that is no longer open, \\Recent per session, and UIDs that stay right when
another client expunges a match.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from harness import WorkerHarness, account_for, raw_client, sent_commands
from scripted_server import ScriptedServer, Step
from servers import DovecotServer, append_messages, require_dovecot
from test_search_table import (
    CORPUS,
    ROWS,
    check_row,
    close_session,
    load_corpus,
    open_session,
    raw_search,
    unique_name,
    worker_search,
)

from tui.config import Account
from tui.imap.contract import (
    ConnectionLost,
    FetchMessage,
    MailboxChanged,
    MessageFetched,
    Reconnected,
    RequestFailed,
    SearchFinished,
    SearchMessages,
    SelectMailbox,
)
from tui.imap.commands import UnsafeArgument
from tui.imap.search import compile_search
from tui.imap.trace import ProtocolTrace
from tui.models import MessageRef
from tui.search_query import QueryError, Raw, parse_query

# Dovecot 2.3's list after login, without LITERAL+ (so literals wait for "+") and ESEARCH.
PLAIN_CAPABILITIES = "IMAP4rev1 SASL-IR ID ENABLE IDLE NAMESPACE CHILDREN UNSELECT SPECIAL-USE UIDPLUS MOVE"
NON_ASCII_AND_QUOTES = 'from:"Ålesund Kontor" or subject:"the \\"final\\" plan (v2)"'
SYNC_LITERAL = re.compile(r"\{\d+\}$")
NONSYNC_LITERAL = re.compile(r"\{\d+\+\}$")


def go_aheads(entries) -> int:
    """The server's "+" answers to our literals: a "+" right after a line of ours that ends
    in a synchronising literal's {N} (not the "+" that starts each IDLE)."""
    count, last_command = 0, ""
    for entry in entries:
        if entry.direction == "C":
            last_command = entry.text
        elif entry.text.startswith("+") and SYNC_LITERAL.search(last_command):
            count += 1
            last_command = ""
    return count


def searches_sent(trace) -> list[str]:
    """What the worker sent, without the IDLE it waits in between requests."""
    return [command for command in sent_commands(trace) if command != "IDLE"]


def client_lines(trace: ProtocolTrace) -> list[str]:
    return [e.text for e in trace.snapshot()[0] if e.direction == "C"]


def search_lines(trace: ProtocolTrace) -> list[str]:
    return [text for text in client_lines(trace) if re.match(r"\S+ UID SEARCH ", text)]


@pytest.fixture(scope="module")
def plain_dovecot():
    """A Dovecot announcing neither LITERAL+ nor ESEARCH, the corpus loaded, a traced worker."""
    require_dovecot()
    with DovecotServer(capability=PLAIN_CAPABILITIES) as server:
        account = account_for(server, "plain")
        name = unique_name("SearchPlain")
        uids = load_corpus(account, server.password, name)
        trace = ProtocolTrace(maxlen=5000)
        session = open_session(account, server.password, name, uids, trace=trace)
        yield session, trace
        close_session(session)


@pytest.fixture(scope="module")
def traced_dovecot(dovecot):
    """The session Dovecot (LITERAL+ and ESEARCH), the corpus loaded, a traced worker."""
    account = account_for(dovecot, "traced")
    name = unique_name("SearchTraced")
    uids = load_corpus(account, dovecot.password, name)
    trace = ProtocolTrace(maxlen=5000)
    session = open_session(account, dovecot.password, name, uids, trace=trace)
    yield session, trace
    close_session(session)


# -- literals ---------------------------------------------------------------------------------


def test_without_literal_plus_literals_wait_for_the_go_ahead(plain_dovecot):
    session, trace = plain_dovecot
    assert b"LITERAL+" not in session.raw.capabilities()
    before = len(trace.snapshot()[0])
    assert session.search(NON_ASCII_AND_QUOTES) == tuple(session.expected("EF"))
    entries = trace.snapshot()[0][before:]
    sent = [e.text for e in entries if e.direction == "C"]
    assert any(SYNC_LITERAL.search(text) for text in sent), sent
    assert not any(NONSYNC_LITERAL.search(text) for text in sent), sent
    assert go_aheads(entries)  # the server's go-ahead
    assert any("CHARSET UTF-8" in text for text in sent)


def test_without_literal_plus_each_literal_waits(plain_dovecot):
    session, trace = plain_dovecot
    query = 'subject:grüße from:"Ålesund Kontor" body:"fra Ålesund"'  # three literals in one command
    before = len(trace.snapshot()[0])
    assert session.search(query) == tuple(session.expected("E"))
    entries = trace.snapshot()[0][before:]
    assert sum(bool(SYNC_LITERAL.search(e.text)) for e in entries if e.direction == "C") == 3
    assert go_aheads(entries) == 3


def test_with_literal_plus_literals_go_at_once(traced_dovecot):
    session, trace = traced_dovecot
    assert b"LITERAL+" in session.raw.capabilities()
    before = len(trace.snapshot()[0])
    assert session.search(NON_ASCII_AND_QUOTES) == tuple(session.expected("EF"))
    entries = trace.snapshot()[0][before:]
    sent = [e.text for e in entries if e.direction == "C"]
    assert any(NONSYNC_LITERAL.search(text) for text in sent), sent
    assert not any(SYNC_LITERAL.search(text) for text in sent), sent
    assert not [e for e in entries if e.direction == "S" and e.text.startswith("+") and "idling" not in e.text]


def test_with_literal_minus_only_small_literals_go_at_once():
    """LITERAL- (RFC 7888): non-synchronising up to 4096 octets; a longer one waits for "+"."""
    require_dovecot()
    with DovecotServer(capability=PLAIN_CAPABILITIES + " LITERAL-") as server:
        account = account_for(server, "literal-minus")
        name = unique_name("SearchLiteralMinus")
        uids = load_corpus(account, server.password, name, "ABCDEF")
        trace = ProtocolTrace(maxlen=5000)
        session = open_session(account, server.password, name, uids, trace=trace)
        try:
            long_value = "€" * 1400  # 4200 octets in UTF-8
            before = len(trace.snapshot()[0])
            assert session.search(f"subject:grüße or subject:{long_value}") == tuple(session.expected("E"))
            entries = trace.snapshot()[0][before:]
        finally:
            close_session(session)
    sent = [e.text for e in entries if e.direction == "C"]
    assert any(text.endswith("{7+}") for text in sent), sent
    assert any(text.endswith("{4200}") for text in sent), sent
    assert go_aheads(entries) == 1


# -- ESEARCH or not -----------------------------------------------------------------------------

ESEARCH_ROWS = {"from", "subject", "is-unread", "keyword", "before", "larger", "uid-range", "or-group",
                "raw-keys", "has-attachment", "non-ascii-subject", "quotes-and-parens", "is-new",
                "group-ending-in-literal", "negated-group-ending-in-literal"}


@pytest.mark.parametrize("case", [p for p in ROWS if p.id in ESEARCH_ROWS])
def test_without_esearch(plain_dovecot, case):
    session, trace = plain_dovecot
    assert b"ESEARCH" not in session.raw.capabilities()
    check_row(session, case)
    assert search_lines(trace) and not any(" RETURN " in line for line in search_lines(trace))


def test_with_esearch_the_answer_is_esearch(traced_dovecot):
    session, trace = traced_dovecot
    assert session.search("to:archer") == tuple(session.expected("BN"))
    assert any(" RETURN (ALL) " in line for line in search_lines(trace))
    assert any(e.direction == "S" and e.text.startswith("* ESEARCH ") for e in trace.snapshot()[0])


# -- a server that cannot search in UTF-8 ----------------------------------------------------

SELECT_REPLY = (b"* 2 EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen \\Flagged)\r\n* OK [UIDVALIDITY 7] ok\r\n"
                b"* OK [UIDNEXT 10] ok\r\n{tag} OK [READ-WRITE] selected\r\n")
BADCHARSET = b"{tag} NO [BADCHARSET (US-ASCII)] only US-ASCII here\r\n"


def _badcharset_server(capabilities: bytes, refusal: list[Step]) -> ScriptedServer:
    return ScriptedServer(b"* OK ready", [
        Step("LOGIN", b"{tag} OK logged in\r\n"),
        Step("SELECT", SELECT_REPLY),
        Step("UID SEARCH ALL", b"* SEARCH 4 9\r\n{tag} OK done\r\n"),
        Step("UID SEARCH UNSEEN", b"* SEARCH 9\r\n{tag} OK done\r\n"),
        *refusal,
        Step('UID SEARCH SUBJECT "hello"', b"* SEARCH 9\r\n{tag} OK done\r\n"),
        Step("NOOP", b"{tag} OK nothing new\r\n"),
        Step("UID FETCH", b"{tag} OK done\r\n"),  # the envelope fill, after both searches
    ], capabilities=capabilities)


@pytest.mark.parametrize("kind", ["literal-plus", "synchronising"])
def test_badcharset_is_reported_and_the_connection_goes_on(kind):
    if kind == "literal-plus":  # the literal came with the command; the refusal follows it
        server = _badcharset_server(b"IMAP4rev1 LITERAL+", [Step("UID SEARCH CHARSET UTF-8", b""),
                                                            Step("+", BADCHARSET)])
    else:  # the server refuses instead of saying "+": the literal must not be sent
        server = _badcharset_server(b"IMAP4rev1", [Step("UID SEARCH CHARSET UTF-8", BADCHARSET)])
    trace = ProtocolTrace()
    with server:
        account = Account(name="ascii", host=server.host, port=server.port, tls="none", username="tester",
                          connect_timeout=5.0, read_timeout=5.0)
        with WorkerHarness(account, "pw", trace=trace) as harness:
            # All at once, so that they run before the background fill (its UID FETCH is last).
            harness.worker.submit(SelectMailbox(b"INBOX"))
            refused, hello = (harness.worker.submit(SearchMessages(b"INBOX", 7, compile_search(parse_query(q)), q))
                              for q in ("subject:grüße", "subject:hello"))
            failed = harness.wait(RequestFailed, lambda r: r.request_id == refused.id)
            found = harness.wait(SearchFinished, lambda r: r.request_id == hello.id)
            harness.settle(0.5)
        server.wait_done()
    assert "cannot search for non-ASCII text" in failed.message and "BADCHARSET" in failed.message
    assert found.uids == (9,)
    assert not any(isinstance(r, SearchFinished) and r.request_id == refused.id for r in harness.seen)
    assert server.unexpected == [] and server.errors == [] and server.steps_left == 0
    assert ("grüße".encode() in server.received) == (kind == "literal-plus")


# -- a mailbox that is not open (any more) -----------------------------------------------------


def test_stale_search_sends_nothing(traced_dovecot):
    session, trace = traced_dovecot
    harness = session.harness
    before = searches_sent(trace)
    for name, uidvalidity in ((session.name, session.uidvalidity + 1), (b"INBOX", session.uidvalidity)):
        failed = worker_search(harness, name, uidvalidity, "subject:report")
        assert isinstance(failed, str) and "no longer open" in failed
    harness.settle(0.3)
    assert searches_sent(trace) == before  # not even a NOOP: nothing at all went out (IDLE aside)
    assert session.search("subject:report") == tuple(session.expected("AB"))  # and it still works


def test_raw_keys_the_server_refuses(traced_dovecot):
    """`!` keys go as typed; a BAD from the server is the search failing, not the connection."""
    session, _trace = traced_dovecot
    since = len(session.harness.seen)
    for query in ("!NOSUCHKEY 12", "!SEEN)"):
        failed = session.search(query)
        assert isinstance(failed, str) and "UID SEARCH failed" in failed, (query, failed)
    assert not any(isinstance(r, (ConnectionLost, Reconnected)) for r in session.harness.seen[since:])
    assert session.search("!OR DRAFT DELETED") == tuple(session.expected("FG"))


def test_raw_keys_holding_a_literal_marker_are_refused_before_anything_is_sent():
    """`!SUBJECT {5}` would go out as `(SUBJECT {5})`; Dovecot answers "+ OK" to the `{5}`
    before it sees what follows, and the connection falls out of step. So the parser
    refuses it, pointing at the brace, and the compiler refuses it again."""
    query = "!SUBJECT {5}"
    with pytest.raises(QueryError) as refused:
        parse_query(query)
    assert query[refused.value.start:refused.value.end] == "{"
    with pytest.raises(UnsafeArgument):
        compile_search(Raw("SUBJECT {5}"))


def test_search_before_any_mailbox_is_open(dovecot):
    trace = ProtocolTrace()
    with WorkerHarness(account_for(dovecot, "closed"), dovecot.password, trace=trace) as harness:
        failed = worker_search(harness, b"INBOX", 1, "from:alice")
        harness.settle(0.2)
    assert isinstance(failed, str) and "no longer open" in failed
    assert "UID SEARCH" not in sent_commands(trace)


# -- \Recent belongs to one session -------------------------------------------------------------


def test_recent_is_the_workers_own(dovecot):
    """Appended without anybody selecting: the worker's SELECT takes \\Recent for all three."""
    account = account_for(dovecot, "recent")
    name = unique_name("SearchRecent")
    appended = append_messages(dovecot.host, dovecot.port, dovecot.user, dovecot.password, name.decode(), [
        {"msg": CORPUS[label][0], "flags": flags, "date": datetime(2024, 5, 1, 12, tzinfo=UTC)}
        for label, flags in (("A", (b"\\Seen",)), ("B", ()), ("C", ()))
    ])
    session = open_session(account, dovecot.password, name, dict(zip("ABC", appended)))
    try:
        assert session.search("is:recent") == tuple(session.expected("ABC"))
        assert session.search("is:new") == tuple(session.expected("BC"))  # recent and unseen
        assert session.search("is:old") == ()
        # The raw session came second: none of them is recent for it.
        assert raw_search(session.raw, b"RECENT") == [] and raw_search(session.raw, b"OLD") == sorted(appended)
    finally:
        close_session(session)


# -- another client expunges a match ------------------------------------------------------------


def message_id_of(raw: bytes) -> str:
    return re.search(rb"Message-ID: <(\w)@search\.test>", raw).group(1).decode()


def test_expunge_elsewhere_leaves_the_uids_right(demo_target):
    account, password = demo_target.account, demo_target.password
    name = unique_name("SearchExpunge")
    uids = load_corpus(account, password, name, "ABCDEFG")
    session = open_session(account, password, name, uids, use_idle=False)  # the search, not IDLE, must learn it
    try:
        found = session.search("to:builder")  # A, D, E, F, G: A is the first message of all
        assert found == tuple(session.expected("ADEFG"))
        other = raw_client(account, password)
        other.select_folder(name)
        other.add_flags([uids["A"]], [b"\\Deleted"])
        other.uid_expunge([uids["A"]]) if b"UIDPLUS" in other.capabilities() else other.expunge()
        assert uids["A"] not in other.search(["ALL"])
        # The earlier answer still names D..G: every sequence number moved, the UIDs did not.
        fetched = other.fetch([u for u in found if u != uids["A"]], ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        assert {u: message_id_of(d[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]) for u, d in fetched.items()} == {
            uids[x]: x for x in "DEFG"}
        other.logout()
        # The worker has not heard of the expunge yet; it fetches E by the UID of that answer.
        request = session.harness.worker.submit(
            FetchMessage(MessageRef(name, session.uidvalidity, uids["E"]), mark_seen=False))
        fetched_e = session.harness.wait(MessageFetched, lambda r: r.request_id == request.id)
        assert message_id_of(fetched_e.raw) == "E"
        # Searching again: the four that are left, by UID, and the list learns that A went.
        since = len(session.harness.seen)
        again = session.search("to:builder")
        assert again == tuple(session.expected("DEFG"))
        changed = session.harness.wait_after(since, MailboxChanged)
        assert uids["A"] in changed.vanished and changed.uids == tuple(session.expected("BCDEFG"))
        assert session.search("from:archer") == ()  # A is gone for the server too
        assert session.search("to:builder -subject:plan") == tuple(session.expected("DE"))
    finally:
        close_session(session)



def test_an_esearch_answer_larger_than_the_mailbox_can_be_is_refused():
    """`UID ALL 1:4000000000` is 40 bytes on the wire and gigabytes as a list: never built."""
    from imapclient.exceptions import IMAPClientError

    from tui.imap.search import _esearch_uids

    assert _esearch_uids('(TAG "A1") UID ALL 3:5,9', limit=10) == [3, 4, 5, 9]
    with pytest.raises(IMAPClientError):
        _esearch_uids('(TAG "A1") UID ALL 1:4000000000', limit=200_000)
