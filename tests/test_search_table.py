"""Search (issue 5), row by row of the query language, against Dovecot and pymap.

One mailbox of 14 known messages (A..N). Each row is a query as the user types it, the
IMAP criteria for it written by hand, and the messages that must match, worked out from
the corpus below by hand. Every row checks three things are the same: what the worker's
SearchFinished says, what a raw `UID SEARCH <hand-written criteria>` on a second
connection says (bytes sent over the socket by this file: nothing of tui/ builds it),
and the UIDs of the expected labels.
"""

from __future__ import annotations

import base64
import itertools
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from harness import WorkerHarness, raw_client
from imapclient import IMAPClient

from tui.config import Account
from tui.imap.contract import (
    EnvelopesFetched,
    MailboxSelected,
    RequestFailed,
    Result,
    SearchFinished,
    SearchMessages,
    SelectMailbox,
)
from tui.imap.search import compile_search
from tui.search_query import parse_query

# -- the corpus -----------------------------------------------------------------------------

LABELS = "ABCDEFGHIJKLMN"
ALL = frozenset(LABELS)


def _day(text: str) -> datetime:
    """Noon UTC: the same calendar day in any server time zone within +-11 h."""
    return datetime.fromisoformat(text).replace(hour=12, tzinfo=UTC)


def _mail(label: str, headers: list[str], body: str, sent: str) -> bytes:
    head = [f"Date: {_day(sent).strftime('%a, %d %b %Y %H:%M:%S +0000')}", f"Message-ID: <{label}@search.test>", *headers]
    if not any(h.startswith("Content-Type:") for h in headers):
        head += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii"]
    return ("\r\n".join(head) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


_PDF = base64.encodebytes(bytes(range(256)) * 12).decode("ascii")  # 3 KB of bytes, no words in it
_LOG = "".join(f"log line {n:04d}: all systems nominal\n" for n in range(1800))  # ~64 KB
_HTML = "<html><body><p>The meeting agenda is below.</p>" + "<p>&nbsp;</p>\n" * 80 + "</body></html>\n"

# label: (raw message, INTERNALDATE, flags and keywords set with STORE)
CORPUS: dict[str, tuple[bytes, str, tuple[bytes, ...]]] = {
    "A": (_mail("A", ["From: Alice Archer <alice@archer.test>", "To: Bob Builder <bob@builder.test>",
                      "Cc: Carol Cook <carol@cook.test>", "Subject: Quarterly report", "X-Project: apollo"],
                "The zebra numbers are in.\n", "2024-01-10"), "2024-01-10", (b"\\Seen", b"$Work")),
    "B": (_mail("B", ["From: Bob Builder <bob@builder.test>", "To: Alice Archer <alice@archer.test>",
                      "Subject: Re: Quarterly report", "X-Priority: 1"],
                "Thanks, looks fine.\n", "2024-01-15"), "2024-01-15", (b"\\Seen", b"\\Answered")),
    "C": (_mail("C", ["From: Carol Cook <carol@cook.test>", "To: Dave Digger <dave@digger.test>",
                      "Bcc: Eve Hidden <eve@hidden.test>", "Subject: zebra crossing", "X-Project: apollo-11"],
                "Mind the stripes.\n", "2024-01-31"), "2024-02-01", (b"\\Flagged",)),
    "D": (_mail("D", ["From: Dave Digger <dave@digger.test>", "To: Bob Builder <bob@builder.test>",
                      "Subject: Invoice attached", "MIME-Version: 1.0",
                      'Content-Type: multipart/mixed; boundary="mixed-d"'],
                "--mixed-d\nContent-Type: text/plain; charset=us-ascii\n\nPlease find the invoice attached.\n"
                '--mixed-d\nContent-Type: application/pdf; name="invoice.pdf"\n'
                "Content-Transfer-Encoding: base64\n\n" + _PDF + "--mixed-d--\n", "2024-02-15"),
          "2024-02-15", (b"$Work",)),
    "E": (_mail("E", ["From: =?utf-8?q?=C3=85lesund_Kontor?= <post@aalesund.test>",
                      "To: Bob Builder <bob@builder.test>", "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_Bergen?=",
                      "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
                      "Content-Transfer-Encoding: 8bit"],
                "Hjertelig hilsen fra Ålesund.\n", "2024-03-01"), "2024-03-01", (b"\\Seen", b"\\Flagged")),
    "F": (_mail("F", ["From: Frank Fisher <frank@fisher.test>", "To: Bob Builder <bob@builder.test>",
                      'Subject: the "final" plan (v2)'],
                "Draft of the plan.\n", "2024-03-10"), "2024-03-10", (b"\\Draft", b"Later")),
    "G": (_mail("G", ["From: Frank Fisher <frank@fisher.test>", "To: Bob Builder <bob@builder.test>",
                      "Subject: the final plan v2"],
                "Older plan.\n", "2024-03-15"), "2024-03-15", (b"\\Deleted", b"\\Seen")),
    "H": (_mail("H", ["From: Mail Delivery System <mailer-daemon@relay.test>", "To: Bob Builder <bob@builder.test>",
                      "Subject: Undelivered Mail Returned to Sender", "MIME-Version: 1.0",
                      'Content-Type: multipart/report; report-type=delivery-status; boundary="rep-h"'],
                "--rep-h\nContent-Type: text/plain; charset=us-ascii\n\nYour message could not be delivered.\n"
                + "The mail system tried several times and then gave up on it.\n" * 8 +
                "--rep-h\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; relay.test\n\n"
                "Final-Recipient: rfc822; nobody@nowhere.test\nAction: failed\nStatus: 5.1.1\n"
                "--rep-h\nContent-Type: text/rfc822-headers\n\nFrom: Bob Builder <bob@builder.test>\n"
                "To: nobody@nowhere.test\nSubject: hello\n--rep-h--\n", "2024-04-01"), "2024-04-01", ()),
    "I": (_mail("I", ["From: Irene Ives <irene@ives.test>", "To: Bob Builder <bob@builder.test>",
                      "Subject: Large logs"], _LOG, "2024-04-09"), "2024-04-10", (b"\\Seen",)),
    "J": (_mail("J", ["From: Build Bot <bot@ci.test>", "To: Bob Builder <bob@builder.test>",
                      "Subject: Build results in C:\\build\\out", "X-List: dev"],
                "All green.\n", "2024-05-01"), "2024-05-01", (b"\\Answered",)),
    "K": (_mail("K", ["From: Kim Keller <kim@keller.test>", "To: Bob Builder <bob@builder.test>",
                      "Cc: Carol Cook <carol@cook.test>", "Subject: Lunch on Friday", "X-List:"],
                "Pizza?\n", "2024-05-20"), "2024-05-20", (b"\\Seen",)),
    "L": (_mail("L", ["From: Lena Lund <lena@lund.test>", "To: Bob Builder <bob@builder.test>",
                      "Subject: Notes from Monday", "MIME-Version: 1.0",
                      'Content-Type: multipart/alternative; boundary="alt-l"'],
                "--alt-l\nContent-Type: text/plain; charset=us-ascii\n\nThe meeting agenda is below.\n"
                "--alt-l\nContent-Type: text/html; charset=us-ascii\n\n" + _HTML + "--alt-l--\n", "2024-06-01"),
          "2024-06-01", (b"\\Seen", b"\\Flagged", b"\\Answered")),
    "M": (_mail("M", ["From: Max Moss <max@moss.test>", "To: Bob Builder <bob@builder.test>",
                      "Subject: Tuesday", "X-Project: gemini"],
                "Put it on the agenda for the meeting on Tuesday.\n", "2024-06-15"), "2024-06-15", (b"work/urgent",)),
    "N": (_mail("N", ["From: Nina Nash <nina@nash.test>", "To: Alice Archer <alice@archer.test>",
                      "Subject: Holiday draft"],
                "Written long ago, sent late.\n", "2023-12-25"), "2024-07-01", (b"Later",)),
}
TINY = set("ABCEFGJKMN")  # under 1024 octets; D, H, L are 1-5 KB, I is ~64 KB (checked on load)
SEEN, FLAGGED, ANSWERED = set("ABEGIKL"), set("CEL"), set("BJL")

_unique = itertools.count()


def unique_name(what: str) -> bytes:
    return f"{what}{next(_unique)}-{time.monotonic_ns() % 10**8}".encode()


def load_corpus(account, password, name: bytes, labels: str = LABELS) -> dict[str, int]:
    """Append the messages (in label order), STORE their flags; label -> UID."""
    client = raw_client(account, password)
    try:
        client.create_folder(name)
        for label in labels:
            message, internal, _flags = CORPUS[label]
            client.append(name, message, msg_time=_day(internal))
        client.select_folder(name)  # SELECT: this session takes \Recent, so no later one has it
        ids = client.fetch(client.search(["ALL"]), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]", "RFC822.SIZE"])
        uids = {}
        for uid, data in ids.items():
            label = re.search(rb"<(\w)@search\.test>", data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]).group(1).decode()
            uids[label] = uid
            assert data[b"RFC822.SIZE"] == len(CORPUS[label][0])
        for label in labels:
            if CORPUS[label][2]:
                client.add_flags([uids[label]], list(CORPUS[label][2]))
        return uids
    finally:
        client.logout()


# -- raw searches: bytes written here, sent over the socket ----------------------------------


def lit(text: str) -> bytes:
    """A synchronising literal for `text` in UTF-8."""
    data = text.encode("utf-8")
    return b"{%d}\r\n" % len(data) + data


def raw_search(client: IMAPClient, criteria: bytes) -> list[int]:
    """`UID SEARCH <criteria>` sent as is (waiting for "+" after each literal); the UIDs."""
    imap = client._imap
    tag = imap._new_tag()
    pieces = re.split(rb"(?<=\}\r\n)", tag + b" UID SEARCH " + criteria + b"\r\n")
    uids: list[int] = []
    for index, piece in enumerate(pieces):
        imap.send(piece)
        if index + 1 < len(pieces):
            line = imap._get_line()
            assert line.startswith(b"+"), line
    while True:
        line = imap._get_line()
        if line.startswith(b"* SEARCH"):
            uids += [int(n) for n in line.split()[2:]]
        elif line.startswith(tag + b" "):
            assert line.startswith(tag + b" OK"), line
            return sorted(uids)


# -- the worker ---------------------------------------------------------------------------------


@dataclass
class Session:
    """A worker with the mailbox open, a raw connection with it EXAMINEd, and label -> UID."""

    harness: WorkerHarness
    raw: IMAPClient
    name: bytes
    uidvalidity: int
    uids: dict[str, int]

    def search(self, query: str, today: date = date(2024, 6, 20)) -> tuple[int, ...] | str:
        return worker_search(self.harness, self.name, self.uidvalidity, query, today)

    def expected(self, labels) -> list[int]:
        return sorted(self.uids[label] for label in labels)


def worker_search(harness, name, uidvalidity, query, today=date(2024, 6, 20)):
    """The UIDs of the worker's SearchFinished, or the message of its RequestFailed."""
    command = compile_search(parse_query(query, today=today))
    request = harness.worker.submit(SearchMessages(name, uidvalidity, command, query))
    result = harness.wait(Result, lambda r: r.request_id == request.id and isinstance(r, (SearchFinished, RequestFailed)))
    if isinstance(result, RequestFailed):
        return result.message
    assert result.raw_name == name and result.uidvalidity == uidvalidity and result.query == query
    return result.uids


def open_session(account, password, name: bytes, uids: dict[str, int], **options):
    harness = WorkerHarness(account, password, **options).__enter__()
    request = harness.worker.submit(SelectMailbox(name))
    selected = harness.wait(MailboxSelected, lambda r: r.request_id == request.id).selected
    harness.wait(EnvelopesFetched, lambda r: r.raw_name == name and r.loaded == r.total)
    raw = raw_client(account, password)
    raw.select_folder(name, readonly=True)
    return Session(harness, raw, name, selected.uidvalidity, uids)


def close_session(session: Session) -> None:
    session.harness.__exit__(None, None, None)
    session.raw.logout()


# -- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    id: str
    query: str
    raw: bytes
    expected: frozenset[str] | None  # None: only "the worker agrees with the raw search"
    today: date = date(2024, 6, 20)


def row(id, query, raw, expected, today=date(2024, 6, 20)):
    return pytest.param(Row(id, query, raw, None if expected is None else frozenset(expected), today), id=id)


UNSEEN = ALL - SEEN
ROWS = [
    # text
    row("bare-word", "agenda", b'TEXT "agenda"', "LM"),
    row("quoted-phrase", '"meeting agenda"', b'TEXT "meeting agenda"', "L"),
    row("text", "text:zebra", b'TEXT "zebra"', "AC"),
    row("from", "from:archer", b'FROM "archer"', "A"),
    row("from-case", "from:ARCHER", b'FROM "Archer"', "A"),
    row("to", "to:archer", b'TO "archer"', "BN"),
    row("cc", "cc:cook", b'CC "cook"', "AK"),
    row("bcc", "bcc:hidden", b'BCC "hidden"', "C"),
    row("subject", "subject:report", b'SUBJECT "report"', "AB"),
    row("body", "body:zebra", b'BODY "zebra"', "A"),
    row("header", "header:X-Project:apollo", b'HEADER "X-Project" "apollo"', "AC"),
    row("header-empty-value", "header:X-List:", b'HEADER X-List ""', "JK"),
    # states
    row("is-read", "is:read", b"SEEN", SEEN),
    row("is-unread", "is:unread", b"UNSEEN", UNSEEN),
    row("is-flagged", "is:flagged", b"FLAGGED", FLAGGED),
    row("is-unflagged", "is:unflagged", b"UNFLAGGED", ALL - FLAGGED),
    row("is-answered", "is:answered", b"ANSWERED", ANSWERED),
    row("is-unanswered", "is:unanswered", b"UNANSWERED", ALL - ANSWERED),
    row("is-deleted", "is:deleted", b"DELETED", "G"),
    row("is-undeleted", "is:undeleted", b"UNDELETED", ALL - {"G"}),
    row("is-draft", "is:draft", b"DRAFT", "F"),
    row("is-undraft", "is:undraft", b"UNDRAFT", ALL - {"F"}),
    # The loader SELECTed the mailbox after appending, so it took \Recent for every
    # message; neither the worker's session nor the raw one has any.
    row("is-new", "is:new", b"NEW", ""),
    row("is-old", "is:old", b"OLD", ALL),
    row("is-recent", "is:recent", b"RECENT", ""),
    row("keyword", "keyword:$Work", b"KEYWORD $Work", "AD"),
    row("keyword-plain", "keyword:Later", b"KEYWORD Later", "FN"),
    row("minus-keyword", "-keyword:Later", b"UNKEYWORD Later", ALL - {"F", "N"}),
    row("keyword-punctuation", "keyword:work/urgent", b"KEYWORD work/urgent", "M"),
    # dates: INTERNALDATE, then the Date: header (C, I and N were sent on another day)
    row("before", "before:2024-02-01", b"BEFORE 1-Feb-2024", "AB"),
    row("before-imap-date", "before:1-Feb-2024", b"BEFORE 01-Feb-2024", "AB"),
    row("on", "on:2024-02-01", b"ON 1-Feb-2024", "C"),
    row("since", "since:2024-06-01", b"SINCE 1-Jun-2024", "LMN"),
    row("sent-before", "sent-before:2024-01-01", b"SENTBEFORE 1-Jan-2024", "N"),
    row("sent-on", "sent-on:31-Jan-2024", b"SENTON 31-Jan-2024", "C"),
    row("sent-since", "sent-since:2024-06-01", b"SENTSINCE 1-Jun-2024", "LM"),
    row("relative-months", "since:1m", b"SINCE 20-May-2024", "KLMN", today=date(2024, 6, 20)),
    row("relative-weeks", "before:2w", b"BEFORE 15-Jan-2024", "A", today=date(2024, 1, 29)),
    row("relative-year", "since:1y", b"SINCE 1-Mar-2024", set("EFGHIJKLMN"), today=date(2025, 3, 1)),
    row("yesterday", "on:yesterday", b"ON 1-Feb-2024", "C", today=date(2024, 2, 2)),
    row("today", "sent-since:today", b"SENTSINCE 15-Jun-2024", "M", today=date(2024, 6, 15)),
    # sizes and UIDs (a fresh Dovecot mailbox: A..N are UIDs 1..14, checked)
    row("larger", "larger:50k", b"LARGER 51200", "I"),
    row("smaller", "smaller:1k", b"SMALLER 1024", TINY),
    row("uid-range", "uid:3:5", b"UID 3:5", "CDE"),
    row("uid-star", "uid:12:*", b"UID 12:*", "LMN"),
    # structure
    row("minus-term", "-from:archer", b'NOT FROM "archer"', ALL - {"A"}),
    row("not-term", "not is:read", b"NOT SEEN", UNSEEN),
    row("or", "from:archer or from:bob", b'OR FROM "archer" FROM "bob"', "AB"),
    row("or-binds-tighter", "is:flagged from:carol or subject:report", b'FLAGGED OR FROM "carol" SUBJECT "report"', "C"),
    row("parentheses", "(from:archer or is:flagged) -keyword:$Work", b'OR FROM "archer" FLAGGED UNKEYWORD $Work', "CEL"),
    row("not-group", "not (is:read is:flagged)", b"NOT (SEEN FLAGGED)", ALL - {"E", "L"}),
    row("or-group", "from:bob or (is:flagged is:unread)", b'OR FROM "bob" (FLAGGED UNSEEN)', "BC"),
    row("group-ending-in-literal", "from:bob or (is:flagged subject:grüße)",
        b'CHARSET UTF-8 OR FROM "bob" (FLAGGED SUBJECT ' + lit("grüße") + b")", "BE"),
    row("negated-group-ending-in-literal", '-(from:frank subject:"the \\"final\\" plan (v2)")',
        b'NOT (FROM "frank" SUBJECT "the \\"final\\" plan (v2)")', ALL - {"F"}),
    row("implicit-and", "is:unread keyword:$Work", b"UNSEEN KEYWORD $Work", "D"),
    row("explicit-and", "is:read and subject:report", b'SEEN SUBJECT "report"', "AB"),
    row("raw-keys", "!OR ANSWERED DRAFT", b"OR ANSWERED DRAFT", "BFJL"),
    row("raw-after-term", "-is:deleted !OR DRAFT FLAGGED", b"UNDELETED OR DRAFT FLAGGED", "CEFL"),
    row("has-attachment", "has:attachment",
        b'OR HEADER "Content-Type" "multipart/mixed" HEADER "Content-Type" "multipart/report"', "DH"),
    # values that cannot travel as plain quoted strings
    row("non-ascii-subject", "subject:grüße", b"CHARSET UTF-8 SUBJECT " + lit("grüße"), "E"),
    row("non-ascii-from", "from:Ålesund", b"CHARSET UTF-8 FROM " + lit("Ålesund"), "E"),
    row("non-ascii-phrase", 'from:"Ålesund Kontor"', b"CHARSET UTF-8 FROM " + lit("Ålesund Kontor"), "E"),
    row("non-ascii-body", 'body:"fra Ålesund"', b"CHARSET UTF-8 BODY " + lit("fra Ålesund"), "E"),
    row("non-ascii-and-flag", "subject:grüße is:flagged -is:draft",
        b"CHARSET UTF-8 SUBJECT " + lit("grüße") + b" FLAGGED UNDRAFT", "E"),
    row("quotes-and-parens", 'subject:"the \\"final\\" plan (v2)"', b'SUBJECT "the \\"final\\" plan (v2)"', "F"),
    row("quote-inside", 'subject:"final\\" plan"', b'SUBJECT "final\\" plan"', "F"),
    row("parens-inside", 'subject:"(v2)"', b'SUBJECT "(v2)"', "F"),
    row("backslash", 'subject:"C:\\\\build"', b'SUBJECT "C:\\\\build"', "J"),
    row("non-ascii-and-quotes", 'subject:grüße or subject:"the \\"final\\" plan (v2)"',
        b'CHARSET UTF-8 OR SUBJECT ' + lit("grüße") + b' SUBJECT "the \\"final\\" plan (v2)"', "EF"),
]

# Dovecot and pymap both: the representative subset.
PYMAP_ROWS = {
    "from", "subject", "is-flagged", "keyword", "minus-keyword", "before", "larger", "or",
    "parentheses", "raw-keys", "group-ending-in-literal", "negated-group-ending-in-literal", "header",
    "header-empty-value", "non-ascii-subject", "non-ascii-from",
    "non-ascii-phrase", "quotes-and-parens", "backslash", "non-ascii-and-quotes", "has-attachment",
}
# pymap (dict backend) announces PERMANENTFLAGS without \* and drops keywords from a STORE
# without a word, so its copy of the corpus has no $Work and no Later (the fixture checks
# that). Those rows expect what the same data without keywords gives.
PYMAP_EXPECTED = {"keyword": frozenset(), "minus-keyword": ALL, "parentheses": frozenset("ACEL")}


def _start(account, password, what: str) -> Session:
    name = unique_name(what)
    uids = load_corpus(account, password, name)
    first = uids["A"]
    assert [uids[label] for label in LABELS] == list(range(first, first + 14))
    assert {label for label, (msg, _, _) in CORPUS.items() if len(msg) < 1024} == TINY
    assert len(CORPUS["I"][0]) > 51200 and all(len(CORPUS[x][0]) < 51200 for x in LABELS if x != "I")
    return open_session(account, password, name, uids)


@pytest.fixture(scope="module")
def dovecot_session(dovecot):
    account = Account(name="search", host=dovecot.host, port=dovecot.port, tls="none", username=dovecot.user)
    session = _start(account, dovecot.password, "SearchTable")
    assert session.uids["A"] == 1  # the uid: rows count on it (pymap starts at 101: not run there)
    yield session
    close_session(session)


@pytest.fixture(scope="module")
def pymap_session(pymap_demo):
    session = _start(pymap_demo.account, pymap_demo.password, "SearchTable")
    flags = session.raw.get_flags(list(session.uids.values()))
    assert not any(b"$Work" in f or b"Later" in f for f in flags.values())  # see PYMAP_EXPECTED
    assert b"\\Flagged" in flags[session.uids["C"]]
    yield session
    close_session(session)


def check_row(session: Session, case: Row, expected: frozenset[str] | None = None) -> None:
    app = session.search(case.query, today=case.today)
    raw = raw_search(session.raw, case.raw)
    assert list(app) == raw, f"worker {app} != raw {raw} for {case.query!r}"
    expected = case.expected if expected is None else expected
    if expected is not None:
        assert raw == session.expected(expected), (
            f"{case.query!r}: server found {sorted(k for k, v in session.uids.items() if v in raw)}")


@pytest.mark.parametrize("case", ROWS)
def test_dovecot(dovecot_session, case):
    check_row(dovecot_session, case)


@pytest.mark.parametrize("case", [p for p in ROWS if p.id in PYMAP_ROWS])
def test_pymap(pymap_session, case):
    check_row(pymap_session, case, PYMAP_EXPECTED.get(case.id))


def test_pymap_subset_is_in_the_table():
    assert PYMAP_ROWS >= set(PYMAP_EXPECTED) and PYMAP_ROWS <= {p.id for p in ROWS}
    assert len({p.id for p in ROWS}) == len(ROWS)
