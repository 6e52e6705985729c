"""The lean list-row fetch (tui.imap.lean_fetch): what it makes of a server's answers.

Two halves. Scripted servers send answers real servers rarely produce (items in odd
orders, NIL and quoted header sections, garbage next to good answers, unsolicited FETCHes,
NO/BAD, a hang-up) through the real imaplib reader. Then a real Dovecot, whose rows are
checked against what imapclient's own FETCH of ENVELOPE says on a second connection.
"""

from __future__ import annotations

import email.header
import imaplib
import itertools
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError
from scripted_server import ScriptedServer, Step
from servers import DovecotServer, fill_maildir, require_dovecot

from tui.headers import HEADER_FIELDS, MAX_HEADER_BLOCK, Row, envelope_of, header_fields
from tui.imap import lean_fetch
from tui.imap.commands import take_journal
from tui.imap.lean_fetch import (
    GONE,
    ROW_ITEMS,
    UNREADABLE,
    all_flags,
    all_uids,
    expand_uid_set,
    fetch_rows,
    parse_internaldate,
    parse_search,
)

HEADER_ITEM = b"BODY[HEADER.FIELDS (" + " ".join(HEADER_FIELDS).encode() + b")]"
SELECT_REPLY = (b"* 20 EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen \\Flagged)\r\n* OK [UIDVALIDITY 7] ok\r\n"
                b"* OK [UIDNEXT 100] ok\r\n{tag} OK [READ-WRITE] selected\r\n")


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data


def header(subject: str) -> bytes:
    return f"Subject: {subject}\r\nFrom: a@example.org\r\n\r\n".encode()


def stamp(*args, hours: float = 0) -> float:
    """Seconds since the epoch of a wall-clock time in a zone `hours` east of UTC."""
    return datetime(*args, tzinfo=timezone(timedelta(hours=hours))).timestamp()


@contextmanager
def scripted(*steps: Step, capabilities: bytes = b"IMAP4rev1"):
    """An IMAPClient logged in to a scripted server, a mailbox selected; then `steps`."""
    server = ScriptedServer(b"* OK ready", [
        Step("LOGIN", b"{tag} OK logged in\r\n"),
        Step("SELECT", SELECT_REPLY),
        *steps,
    ], capabilities=capabilities)
    with server:
        client = IMAPClient(server.host, port=server.port, ssl=False, timeout=10)
        client.login("u", "p")
        client.select_folder("INBOX")
        try:
            yield server, client
        finally:
            try:
                client.shutdown()
            except OSError:
                pass


def fetch_step(answers: bytes, tagged: bytes = b"{tag} OK done\r\n") -> Step:
    return Step("UID FETCH", answers + tagged)


def test_row_items_ask_for_every_header_field_and_nothing_else():
    assert ROW_ITEMS == b"(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE FROM TO CC SUBJECT " \
                        b"MESSAGE-ID IN-REPLY-TO REFERENCES CONTENT-TYPE)])"
    assert tuple(ROW_ITEMS.split(b"(")[2].rstrip(b")]").decode().split()) == HEADER_FIELDS


# -- answers in every shape ------------------------------------------------------------------


def test_items_in_any_order_keywords_nil_and_quoted_headers():
    answers = b"".join([
        # Dovecot's order, a zone west of UTC, keywords
        b'* 1 FETCH (UID 10 FLAGS (\\Seen $Label1 NonJunk) INTERNALDATE "17-Jul-1996 02:44:25 -0700" '
        b"RFC822.SIZE 4000 " + HEADER_ITEM + b" " + literal(header("first")) + b")\r\n",
        # items after the literal, a day without padding, MODSEQ in the middle
        b"* 2 FETCH (RFC822.SIZE 12 BODY[HEADER.FIELDS (SUBJECT FROM)] " + literal(header("second"))
        + b' FLAGS (\\Flagged) MODSEQ (77) UID 11 INTERNALDATE "1-Jan-2024 00:00:00 +0000")\r\n',
        # no flags, the header section NIL
        b'* 3 FETCH (INTERNALDATE "31-Dec-2023 23:59:59 +0530" UID 12 RFC822.SIZE 5 FLAGS () '
        + HEADER_ITEM + b" NIL)\r\n",
        # the header section as a quoted string with escapes
        b"* 4 FETCH (UID 13 " + HEADER_ITEM + b' "Subject: a \\"quoted\\" one \\\\ here" FLAGS (\\Answered) '
        b'RFC822.SIZE 7 INTERNALDATE "29-Feb-2024 12:00:00 +0000")\r\n',
    ])
    # another server's order, three times (the second and third take the learnt layout)
    for seq, uid in ((5, 14), (6, 15), (7, 16)):
        answers += (b"* %d FETCH (FLAGS (\\Seen) RFC822.SIZE %d UID %d MODSEQ (3) "
                    b'INTERNALDATE "02-Mar-2025 10:20:30 -0100" ' % (seq, uid * 100, uid)
                    + HEADER_ITEM + b" " + literal(header(f"row {uid}")) + b")\r\n")
    with scripted(fetch_step(answers)) as (server, client):
        rows = fetch_rows(client, [16, 15, 14, 13, 12, 11, 10])
    assert rows == [
        Row(16, frozenset({"\\Seen"}), stamp(2025, 3, 2, 10, 20, 30, hours=-1), 1600, header("row 16")),
        Row(15, frozenset({"\\Seen"}), stamp(2025, 3, 2, 10, 20, 30, hours=-1), 1500, header("row 15")),
        Row(14, frozenset({"\\Seen"}), stamp(2025, 3, 2, 10, 20, 30, hours=-1), 1400, header("row 14")),
        Row(13, frozenset({"\\Answered"}), stamp(2024, 2, 29, 12, 0, 0), 7, b'Subject: a "quoted" one \\ here'),
        Row(12, frozenset(), stamp(2023, 12, 31, 23, 59, 59, hours=5.5), 5, b""),
        Row(11, frozenset({"\\Flagged"}), stamp(2024, 1, 1, 0, 0, 0), 12, header("second")),
        Row(10, frozenset({"\\Seen", "$Label1", "NonJunk"}), stamp(1996, 7, 17, 2, 44, 25, hours=-7), 4000,
            header("first")),
    ]
    # the command went out as one UID FETCH of compressed ranges
    assert [line.split(b" ", 1)[1] for line in server.lines if b"UID FETCH" in line] == [
        b"UID FETCH 10:16 " + ROW_ITEMS]
    assert envelope_of(rows[3]).subject == 'a "quoted" one \\ here'


def test_flag_sets_are_shared_between_rows():
    answers = b"".join(
        b'* %d FETCH (UID %d FLAGS (\\Seen) INTERNALDATE "01-Jan-2024 00:00:00 +0000" RFC822.SIZE 1 ' % (n, n)
        + HEADER_ITEM + b" " + literal(b"\r\n") + b")\r\n" for n in (1, 2))
    with scripted(fetch_step(answers)) as (_server, client):
        first, second = fetch_rows(client, [1, 2])
    assert first.flags == {"\\Seen"} and first.flags is second.flags


def test_a_huge_header_block_is_cut():
    block = b"Subject: big\r\nX-Filler: " + b"x" * (MAX_HEADER_BLOCK * 2) + b"\r\n\r\n"
    answers = (b'* 1 FETCH (UID 5 FLAGS () INTERNALDATE "01-Jan-2024 00:00:00 +0000" RFC822.SIZE 99999999999999 '
               + HEADER_ITEM + b" " + literal(block) + b")\r\n")
    with scripted(fetch_step(answers)) as (_server, client):
        (row,) = fetch_rows(client, [5])
    assert row.headers == block[:MAX_HEADER_BLOCK] and len(row.headers) == MAX_HEADER_BLOCK
    assert row.size == lean_fetch.MAX_SIZE  # 99 TB is not a message size: capped
    assert envelope_of(row).subject == "big"


def test_garbage_costs_only_its_own_row_and_a_missing_uid_is_gone():
    good = (b'INTERNALDATE "05-May-2024 05:05:05 +0000" RFC822.SIZE 10 ' + HEADER_ITEM + b" ")
    answers = b"".join([
        b"* 1 FETCH (UID 20 FLAGS (\\Seen) " + good + literal(header("before")) + b")\r\n",
        # a size that is not a number
        b"* 2 FETCH (UID 21 FLAGS (\\Seen) RFC822.SIZE banana " + HEADER_ITEM + b" " + literal(header("x")) + b")\r\n",
        # unbalanced parentheses: not even imapclient's parser reads it
        b"* 3 FETCH (UID 22 FLAGS ((( " + HEADER_ITEM + b" " + literal(header("y")) + b")\r\n",
        # a bad date is only a missing date
        b'* 4 FETCH (UID 23 FLAGS () INTERNALDATE "31-Foo-2024 25:00:00 +0000" RFC822.SIZE 3 ' + HEADER_ITEM
        + b" " + literal(header("bad date")) + b")\r\n",
        b"* 6 FETCH (UID 25 FLAGS () " + good + literal(header("after")) + b")\r\n",
        # an item we did not ask for, with a nested list: the lean regexes give up, imapclient reads it
        b'* 7 FETCH (UID 26 X-EXTRA (1 (2 "three")) FLAGS ($Odd) RFC822.SIZE 66 ' + HEADER_ITEM + b" "
        + literal(header("unusual")) + b' INTERNALDATE "06-Jun-2024 06:06:06 +0600")\r\n',
    ])  # UID 24: no answer at all
    with scripted(fetch_step(answers)) as (_server, client):
        rows = fetch_rows(client, [20, 21, 22, 23, 24, 25, 26])
    assert [envelope_of(row).subject for row in rows] == [
        "before", UNREADABLE, UNREADABLE, "bad date", GONE, "after", "unusual"]
    assert [row.placeholder for row in rows] == [False, True, True, False, True, False, False]
    assert rows[0].internaldate == stamp(2024, 5, 5, 5, 5, 5) and rows[0].size == 10
    assert rows[3].internaldate is None and rows[3].size == 3
    assert rows[6] == Row(26, frozenset({"$Odd"}), stamp(2024, 6, 6, 6, 6, 6, hours=6), 66, header("unusual"))
    assert [row.uid for row in rows] == [20, 21, 22, 23, 24, 25, 26]


def twenty_mb_of_flags() -> bytes:
    """20 MB of keywords on one line: more than imaplib reads as one (1 MB; the app's 16 MB)."""
    return b"(" + b" ".join(b"$k%07d" % n for n in range(2_000_000)) + b")"


@pytest.mark.parametrize("shape", ["uid-first", "uid-inside"])
def test_an_answer_too_long_to_read_costs_only_its_row(shape):
    def row(seq: int, uid: int, subject: str) -> bytes:
        return (b'* %d FETCH (UID %d FLAGS (\\Seen) INTERNALDATE "01-Jan-2024 00:00:00 +0000" RFC822.SIZE 9 '
                % (seq, uid) + HEADER_ITEM + b" " + literal(header(subject)) + b")\r\n")

    if shape == "uid-first":  # a FLAGS list without literals; the UID names the row
        middle = (b"* 2 FETCH (UID 21 FLAGS " + twenty_mb_of_flags() + b' INTERNALDATE "01-Jan-2024 00:00:00 +0000" '
                  + HEADER_ITEM + b" " + literal(header("lost")) + b")\r\n")
        missing = GONE  # UID 23, which the server did not answer
    else:  # the UID only between two over-long lists: no row is named, so a missing one may be this
        middle = b"* 2 FETCH (FLAGS " + twenty_mb_of_flags() + b" UID 21 X-ENVELOPE " + twenty_mb_of_flags() + b")\r\n"
        missing = UNREADABLE
    answers = row(1, 20, "first") + middle + row(3, 22, "third")
    with scripted(fetch_step(answers), Step("NOOP", b"* 4 EXISTS\r\n{tag} OK still here\r\n")) as (_server, client):
        rows = fetch_rows(client, [20, 21, 22, 23])
        assert client.noop()[0] == b"still here"  # the connection read past it and is in step
    assert [envelope_of(row).subject for row in rows] == ["first", UNREADABLE, "third", missing]
    assert [row.placeholder for row in rows] == [False, True, False, True]
    assert rows[0].flags == rows[2].flags == frozenset({"\\Seen"})


def test_all_flags_without_an_answer_too_long_to_read(monkeypatch):
    monkeypatch.setattr(imaplib, "_MAXLINE", 1000)
    reply = (b"* 1 FETCH (UID 4 FLAGS (\\Seen))\r\n"
             b"* 2 FETCH (UID 8 FLAGS (" + b"$k " * 1000 + b"))\r\n"
             b"* 3 FETCH (UID 9 FLAGS ($Work))\r\n{tag} OK done\r\n")
    with scripted(Step("UID FETCH 1:* (UID FLAGS)", reply), Step("NOOP", b"{tag} OK still here\r\n")) as (_s, client):
        assert all_flags(client) == {4: frozenset({"\\Seen"}), 9: frozenset({"$Work"})}
        assert client.noop()[0] == b"still here"


def test_answers_that_are_not_our_rows_go_back_to_imaplib_and_into_the_journal():
    row = (b'INTERNALDATE "01-Jan-2024 00:00:00 +0000" RFC822.SIZE 1 ' + HEADER_ITEM + b" " + literal(b"\r\n"))
    unsolicited = [
        b"2 (FLAGS (\\Deleted \\Seen))",  # another client's change: no UID, no header
        b"9 (UID 99 FLAGS (\\Seen))",  # a UID we did not ask for
        b"1 (MODSEQ (5) FLAGS ($Done))",
    ]
    answers = b"".join([
        b"* 1 FETCH (UID 30 FLAGS () " + row + b")\r\n",
        b"* " + unsolicited[0].replace(b" ", b" FETCH ", 1) + b"\r\n",
        b"* 2 FETCH (UID 31 FLAGS () " + row + b")\r\n",
        b"* " + unsolicited[1].replace(b" ", b" FETCH ", 1) + b"\r\n",
        b"* " + unsolicited[2].replace(b" ", b" FETCH ", 1) + b"\r\n",
        b"* 7 FETCH (UID 77 FLAGS () " + row + b")\r\n",  # a whole row, but not asked for
    ])
    with scripted(fetch_step(answers)) as (_server, client):
        rows = fetch_rows(client, [30, 31])
        left = client._imap.untagged_responses["FETCH"]
        assert left[:3] == unsolicited
        assert left[3][0].startswith(b"7 (UID 77 ") and left[4] == b")"
        journal = take_journal(client)
    assert [row.uid for row in rows] == [30, 31] and not any(row.placeholder for row in rows)
    (event,) = [e for e in journal if e.kind == "LEFTOVER" and "FETCH" in e.leftovers]
    assert event.leftovers["FETCH"][:3] == unsolicited


def test_expunges_during_the_fetch_make_placeholders_whichever_way_they_came():
    def answer(seq: int, uid: int) -> bytes:
        return (b'* %d FETCH (UID %d FLAGS () INTERNALDATE "01-Jan-2024 00:00:00 +0000" RFC822.SIZE 1 ' % (seq, uid)
                + HEADER_ITEM + b" " + literal(header(str(uid))) + b")\r\n")

    fake = (b'* 2 FETCH (UID 41 FLAGS (\\Deleted) INTERNALDATE "01-Jan-1970 00:00:00 +0000" RFC822.SIZE 0 '
            + HEADER_ITEM + b" NIL)\r\n")
    # Dovecot's way: made-up data for the expunged message, its EXPUNGE after the answers
    after = answer(1, 40) + fake + answer(3, 42) + answer(4, 43) + b"* OK [EXPUNGEISSUED] gone\r\n* 2 EXPUNGE\r\n"
    # another way: EXPUNGE first (seq 2 = UID 41 is gone, 42 and 43 renumbered), then the answers
    before = b"* 2 EXPUNGE\r\n" + answer(1, 40) + answer(2, 42) + answer(3, 43)
    # and both: 43 expunged in the middle (numbering of then), 40 at the end (numbering after that)
    mixed = answer(1, 40) + answer(2, 41) + b"* 4 EXPUNGE\r\n" + answer(3, 42) + b"* 1 EXPUNGE\r\n"
    for answers, gone in ((after, {41}), (before, {41}), (mixed, {43, 40})):
        with scripted(fetch_step(answers, b"{tag} OK done\r\n")) as (_server, client):
            rows = fetch_rows(client, [40, 41, 42, 43])
        assert {row.uid for row in rows if envelope_of(row).subject == GONE} == gone, answers
        assert all(envelope_of(row).subject == str(row.uid) for row in rows if row.uid not in gone)


def test_vanished_uids_are_gone():
    answers = b"".join(
        b'* %d FETCH (UID %d FLAGS () INTERNALDATE "01-Jan-2024 00:00:00 +0000" RFC822.SIZE 1 ' % (n, n + 50)
        + HEADER_ITEM + b" " + literal(header("x")) + b")\r\n" for n in (1, 2, 3)) + b"* VANISHED 52:53\r\n"
    with scripted(fetch_step(answers)) as (_server, client):
        rows = fetch_rows(client, [51, 52, 53])
    assert [row.placeholder for row in rows] == [False, True, True]


def test_no_bad_and_a_hang_up():
    row = (b'* 1 FETCH (UID 1 FLAGS () INTERNALDATE "01-Jan-2024 00:00:00 +0000" RFC822.SIZE 1 ' + HEADER_ITEM
           + b" " + literal(b"\r\n") + b")\r\n")
    with scripted(fetch_step(row + b"* 3 FETCH (FLAGS (\\Seen))\r\n", b"{tag} NO [SERVERBUG] disk on fire\r\n")) \
            as (_server, client):
        with pytest.raises(IMAPClientError, match="disk on fire"):
            fetch_rows(client, [1])
        # the unsolicited change still reaches the journal; our row does not
        assert client._imap.untagged_responses["FETCH"] == [b"3 (FLAGS (\\Seen))"]
    with scripted(fetch_step(b"", b"{tag} BAD what is that\r\n")) as (_server, client):
        with pytest.raises(IMAPClientError, match="what is that"):
            fetch_rows(client, [1])
    # RFC 5530: NO [EXPUNGEISSUED] is not a failure, only gone messages
    with scripted(fetch_step(row, b"{tag} NO [EXPUNGEISSUED] some are gone\r\n")) as (_server, client):
        rows = fetch_rows(client, [1, 2])
    assert [row.placeholder for row in rows] == [False, True]
    with scripted(Step("UID FETCH", b"* 1 FETCH (UID 1 FLAGS () " + HEADER_ITEM + b" {500}\r\nonly a bit",
                       close=True)) as (_server, client):
        with pytest.raises((IMAPClientAbortError, OSError)):
            fetch_rows(client, [1])


def test_nothing_asked_sends_nothing():
    with scripted() as (server, client):
        assert fetch_rows(client, []) == []
    assert not any(b"FETCH" in line for line in server.lines)


# -- dates, sets ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [
    (b"17-Jul-1996 02:44:25 -0700", stamp(1996, 7, 17, 2, 44, 25, hours=-7)),
    (b" 1-Jan-2024 00:00:00 +0000", stamp(2024, 1, 1, 0, 0, 0)),
    (b"1-jan-2024 00:00:00 +0000", stamp(2024, 1, 1, 0, 0, 0)),
    (b"29-Feb-2024 23:59:59 +1345", stamp(2024, 2, 29, 23, 59, 59, hours=13.75)),
    (b"31-Dec-1969 23:59:59 +0000", -1.0),
    (b"30-Feb-2024 00:00:00 +0000", None),  # no such day
    (b"01-Jan-2024 24:00:00 +0000", None),
    (b"01-Jan-2024 00:00:00 0000", None),
    (b"01-Jan-2024 00:00:xx +0000", None),
    (b"yesterday", None),
    (b"", None),
    (None, None),
])
def test_internaldate(raw, expected):
    assert parse_internaldate(raw) == expected
    assert parse_internaldate(raw) == expected  # the second time from the caches


def test_expand_uid_set():
    assert expand_uid_set(b"1:5,7,9:12") == [1, 2, 3, 4, 5, 7, 9, 10, 11, 12]
    assert expand_uid_set(b"12:9,3,1:2,3") == [1, 2, 3, 9, 10, 11, 12]  # reversed and overlapping
    assert expand_uid_set(b"") == []
    with pytest.raises(IMAPClientError):
        expand_uid_set(b"1:50000001")
    with pytest.raises(IMAPClientError):
        expand_uid_set(b"1:4294967295,1:4294967295")
    with pytest.raises(IMAPClientError):
        expand_uid_set(b"1:x")


def test_parse_search():
    assert parse_search(b"") == []
    assert parse_search(b"3 1 2 (MODSEQ 917)") == [3, 1, 2]  # CONDSTORE may append a MODSEQ
    assert parse_search(b"007 8  9") == [7, 8, 9]  # not JSON: the slower way, same numbers
    assert parse_search(b" ".join(b"%d" % n for n in range(1, 70001))) == list(range(1, 70001))
    with pytest.raises(IMAPClientError):
        parse_search(b"1 2 3", limit=2)
    with pytest.raises(IMAPClientError):
        parse_search(b"1 2 x")


# -- every UID, every flag (scripted) --------------------------------------------------------


def test_all_uids_with_esearch_takes_the_answer_with_our_tag():
    reply = (b'* ESEARCH (TAG "X999") UID ALL 500:600\r\n'  # somebody else's
             b'* ESEARCH (TAG "{tag}") UID ALL 1:5,7,9:12\r\n{tag} OK done\r\n')
    with scripted(Step("UID SEARCH RETURN (ALL) ALL", reply), capabilities=b"IMAP4rev1 ESEARCH") as (_s, client):
        assert all_uids(client) == [1, 2, 3, 4, 5, 7, 9, 10, 11, 12]
        assert "ESEARCH" not in client._imap.untagged_responses
    no_tag = b'* ESEARCH UID ALL 3:4\r\n{tag} OK done\r\n'  # the correlator is optional (RFC 4731)
    with scripted(Step("UID SEARCH RETURN (ALL) ALL", no_tag), capabilities=b"IMAP4rev1 ESEARCH") as (_s, client):
        assert all_uids(client) == [3, 4]
    empty = b'* ESEARCH (TAG "{tag}") UID\r\n{tag} OK done\r\n'
    with scripted(Step("UID SEARCH RETURN (ALL) ALL", empty), capabilities=b"IMAP4rev1 ESEARCH") as (_s, client):
        assert all_uids(client) == []
    huge = b'* ESEARCH (TAG "{tag}") UID ALL 1:4000000000\r\n{tag} OK done\r\n'
    with scripted(Step("UID SEARCH RETURN (ALL) ALL", huge), capabilities=b"IMAP4rev1 ESEARCH") as (_s, client):
        with pytest.raises(IMAPClientError, match="more than"):
            all_uids(client)


def test_all_uids_without_esearch():
    with scripted(Step("UID SEARCH ALL", b"* SEARCH 9 3 4 3\r\n{tag} OK done\r\n")) as (server, client):
        assert all_uids(client) == [3, 4, 9]
    assert not any(b"RETURN" in line for line in server.lines)
    with scripted(Step("UID SEARCH ALL", b"{tag} NO mailbox gone\r\n")) as (server, client):
        with pytest.raises(IMAPClientError, match="mailbox gone"):
            all_uids(client)


def test_all_flags_modseq_and_unsolicited():
    reply = (b"* 1 FETCH (UID 4 FLAGS (\\Seen) MODSEQ (12))\r\n"
             b"* 2 FETCH (MODSEQ (13) FLAGS () UID 8)\r\n"
             b"* 2 FETCH (FLAGS (\\Deleted) MODSEQ (14))\r\n"  # unsolicited: no UID
             b"* 3 FETCH (UID 9 FLAGS ($Work \\Flagged))\r\n{tag} OK done\r\n")
    with scripted(Step("UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE 11)", reply)) as (_server, client):
        assert all_flags(client, changed_since=11) == {
            4: frozenset({"\\Seen"}), 8: frozenset(), 9: frozenset({"$Work", "\\Flagged"})}
        assert client._imap.untagged_responses["FETCH"] == [b"2 (FLAGS (\\Deleted) MODSEQ (14))"]
    with pytest.raises(ValueError):
        all_flags(client, changed_since=-1)


# -- against Dovecot -------------------------------------------------------------------------

_names = itertools.count()
START = datetime(2023, 3, 1, 8, 0, tzinfo=UTC)
SUBJECTS = [
    "Plain subject",
    "=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=",  # RFC 2047
    "Grüße, 8-bit",  # raw UTF-8 in the header
    "=?iso-8859-1?b?Q2Fm6Q==?= au lait",
    "Re: Plain subject",
]
DECODED = ["Plain subject", "Grüße aus Köln", "Grüße, 8-bit", "Café au lait", "Re: Plain subject"]
SENDERS = ['"Ann Example" <ann@example.org>', "=?utf-8?q?J=C3=B6rg?= <joerg@example.de>", "bare@example.net"]


def corpus_message(index: int) -> bytes:
    subject = SUBJECTS[index % len(SUBJECTS)]
    references = " ".join(f"<m{n}@corpus.test>" for n in range(max(0, index - 3), index))
    lines = [
        f"Date: {email_date(START + timedelta(hours=index))}",
        f"From: {SENDERS[index % len(SENDERS)]}",
        "To: Bob <bob@example.org>",
        f"Subject: {subject}",
        f"Message-ID: <m{index}@corpus.test>",
        *([f"References: {references}", f"In-Reply-To: <m{index - 1}@corpus.test>"] if index else []),
        "MIME-Version: 1.0",
        ("Content-Type: multipart/mixed; boundary=b" if index % 4 == 0 else "Content-Type: text/plain; charset=utf-8"),
        "X-Not-Asked: for",
        "",
        f"Body {index}\r\n" * (index * 7 + 1),
    ]
    return "\r\n".join(lines).encode("utf-8")


def email_date(value: datetime) -> str:
    from email.utils import format_datetime

    return format_datetime(value)


def fill(server: DovecotServer, count: int) -> str:
    name = f"Lean{next(_names)}x{time.monotonic_ns() % 10**6}"
    flag_cycle = [("\\Seen",), (), ("\\Seen", "\\Flagged"), ("\\Answered",)]
    fill_maildir(server, name, ({"msg": corpus_message(i), "flags": flag_cycle[i % 4],
                                 "date": START + timedelta(days=i, seconds=17)} for i in range(count)))
    return name


def connect(server) -> IMAPClient:
    client = IMAPClient(server.host, port=server.port, ssl=False, timeout=30)
    client.login(server.user, server.password)
    client.normalise_times = False
    return client


@pytest.fixture
def pair(dovecot):
    """Two connections to the shared Dovecot, a fresh mailbox of 20 messages open in both."""
    name = fill(dovecot, 20)
    ours, theirs = connect(dovecot), connect(dovecot)
    ours.select_folder(name)
    theirs.select_folder(name)
    uids = theirs.search()
    theirs.add_flags(uids[5:7], [b"$Important"])  # a keyword (fill_maildir only does system flags)
    yield ours, theirs, name
    for client in (ours, theirs):
        client.logout()


def test_rows_match_imapclients_own_envelopes(pair):
    ours, theirs, _name = pair
    uids = all_uids(ours)
    assert uids == sorted(theirs.search())
    rows = fetch_rows(ours, uids)
    truth = theirs.fetch(uids, ["ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822.SIZE"])
    assert [row.uid for row in rows] == uids
    for index, row in enumerate(rows):
        data = truth[row.uid]
        assert not row.placeholder
        # \\Recent is per session: the first one to open the mailbox has it, the second not
        assert row.flags - {"\\Recent"} == frozenset(f.decode() for f in data[b"FLAGS"]), row.uid
        assert "\\Recent" in row.flags
        assert row.size == data[b"RFC822.SIZE"]
        assert row.internaldate == data[b"INTERNALDATE"].timestamp()
        assert row.internaldate == (START + timedelta(days=index, seconds=17)).timestamp()
        envelope, shown = data[b"ENVELOPE"], envelope_of(row)
        assert shown.subject == DECODED[index % len(DECODED)]
        assert shown.subject == str(email.header.make_header(email.header.decode_header(
            envelope.subject.decode("utf-8"))))
        sender = envelope.from_[0]
        assert shown.sender.mailbox == f"{sender.mailbox.decode()}@{sender.host.decode()}"
        assert shown.sender.name == str(email.header.make_header(email.header.decode_header(
            (sender.name or b"").decode())))
        assert shown.message_id.strip("<>") == envelope.message_id.decode().strip("<>") == f"m{index}@corpus.test"
        assert shown.has_attachment == (index % 4 == 0)
        fields = header_fields(row.headers)
        assert b"x-not-asked" not in row.headers.lower()  # only the fields asked for
        if index:
            assert fields["in-reply-to"] == f"<m{index - 1}@corpus.test>".encode()
            assert fields["references"].split()[-1] == f"<m{index - 1}@corpus.test>".encode()
    assert {uid for uid in uids if "$Important" in rows[uids.index(uid)].flags} == set(uids[5:7])
    # batches in another order give the same rows, in the order asked
    assert fetch_rows(ours, uids[::-3]) == rows[::-3]


def test_all_flags_and_changedsince(pair):
    ours, theirs, name = pair
    uids = sorted(theirs.search())
    expected = {uid: frozenset(f.decode() for f in flags) | {"\\Recent"}  # ours opened it first
                for uid, flags in theirs.get_flags(uids).items()}
    assert all_flags(ours) == expected
    assert all_flags(ours, changed_since=0) == expected  # CHANGEDSINCE turns CONDSTORE on by itself
    highest = int(ours.folder_status(name, ["HIGHESTMODSEQ"])[b"HIGHESTMODSEQ"])
    assert all_flags(ours, changed_since=highest) == {}
    theirs.add_flags([uids[3]], [b"$Later"])
    theirs.remove_flags([uids[0]], [b"\\Seen"])
    # Dovecot answers from this session's view, synchronised at the end of each command: a
    # change another client made since our last command comes as an unsolicited FETCH (no
    # UID) after the answers, and goes to the change journal.
    first = all_flags(ours, changed_since=highest)
    announced = [raw for e in take_journal(ours) if e.kind == "LEFTOVER" for raw in e.leftovers.get("FETCH", [])]
    assert uids[3] in first or any(b"$Later" in raw for raw in announced), (first, announced)
    changed = all_flags(ours, changed_since=highest)
    now = {uid: frozenset(f.decode() for f in flags) | {"\\Recent"} for uid, flags in theirs.get_flags(uids).items()}
    assert changed == {uids[3]: now[uids[3]], uids[0]: now[uids[0]]}
    assert "$Later" in changed[uids[3]] and "\\Seen" not in changed[uids[0]]


def test_a_message_expunged_between_listing_and_fetching(pair):
    ours, theirs, _name = pair
    uids = all_uids(ours)
    theirs.delete_messages([uids[4]])
    theirs.expunge()
    rows = fetch_rows(ours, uids)
    assert [row.uid for row in rows] == uids
    assert [row.uid for row in rows if row.placeholder] == [uids[4]]
    assert envelope_of(rows[4]).subject == GONE
    assert envelope_of(rows[5]).subject == DECODED[5 % len(DECODED)]
    # the EXPUNGE itself is left for the change journal
    assert any(e.kind == "LEFTOVER" and e.leftovers.get("EXPUNGE") for e in take_journal(ours))
    # once more, for a message whose header Dovecot has cached: it answers with the real data
    theirs.delete_messages([uids[8]])
    theirs.expunge()
    again = fetch_rows(ours, [uid for uid in uids if uid != uids[4]])
    assert [row.uid for row in again if row.placeholder] == [uids[8]]


def test_another_clients_flag_change_reaches_the_journal(pair):
    ours, theirs, _name = pair
    uids = all_uids(ours)
    theirs.add_flags([uids[2]], [b"$Seen-by-other"])
    fetch_rows(ours, uids)
    leftovers = [e.leftovers for e in take_journal(ours) if e.kind == "LEFTOVER"]
    changes = [raw for found in leftovers for raw in found.get("FETCH", []) if isinstance(raw, bytes)]
    assert any(b"$Seen-by-other" in raw for raw in changes), leftovers


@pytest.fixture(scope="module")
def dovecot_without_esearch():
    require_dovecot()
    capability = "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE CHILDREN UNSELECT SPECIAL-USE UIDPLUS MOVE"
    with DovecotServer(capability=capability) as server:
        yield server


def test_all_uids_without_esearch_against_dovecot(dovecot_without_esearch):
    server = dovecot_without_esearch
    name = fill(server, 30)
    ours, theirs = connect(server), connect(server)
    try:
        assert b"ESEARCH" not in ours.capabilities()
        ours.select_folder(name)
        theirs.select_folder(name)
        sent: list[bytes] = []
        send = ours._imap.send
        ours._imap.send = lambda data: (sent.append(data), send(data))[1]
        assert all_uids(ours) == sorted(theirs.search()) and len(theirs.search()) == 30
        theirs.delete_messages(theirs.search()[10:13])
        theirs.expunge()
        # The answer is the mailbox as this session saw it; the EXPUNGEs that came with
        # it are left for the change journal, as after any command.
        assert all_uids(ours) == sorted(set(theirs.search()) | set(range(11, 14)))
        assert any(e.kind == "LEFTOVER" and len(e.leftovers.get("EXPUNGE", [])) == 3 for e in take_journal(ours))
        uids = all_uids(ours)
        assert uids == sorted(theirs.search()) and len(uids) == 27
        assert any(b" UID SEARCH ALL\r\n" in line for line in sent) and not any(b"RETURN" in line for line in sent)
        assert [row.uid for row in fetch_rows(ours, uids) if not row.placeholder] == uids
    finally:
        ours.logout()
        theirs.logout()
