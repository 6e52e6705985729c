"""The lean reader for big answers (tui.imap.bulk_read), against scripted servers and Dovecot.

The reader takes `* N FETCH` answers straight from the socket's buffered file and hands
every other line to imaplib. Its promise: what it files is what imaplib's own reader
would have filed from the same bytes, the connection stays in step whatever the server
sends, and the protocol trace still sees it all (the first FETCH answers in full).
"""

from __future__ import annotations

import imaplib
from contextlib import contextmanager

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError
from scripted_server import ScriptedServer, Step
from servers import DovecotServer, fill_maildir, require_dovecot

from tui.imap import bulk_read
from tui.imap.bulk_read import check, run_uid
from tui.imap.lean_fetch import ROW_ITEMS, fetch_rows
from tui.imap.trace import ProtocolTrace, attach

SELECT_REPLY = (b"* 20 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 7] ok\r\n"
                b"{tag} OK [READ-WRITE] selected\r\n")

# Every kind of line a big FETCH can meet, in one answer: literals (one, two, empty), an
# answer without literal, a literal whose text looks like protocol, untagged lines of other
# kinds in between, a continuation-like "{" in a quoted string, and an ALERT.
MIXED = b"".join([
    b"* 1 FETCH (UID 10 FLAGS (\\Seen) BODY[HEADER.FIELDS (SUBJECT)] {15}\r\nSubject: one\r\n)\r\n",
    b"* 2 FETCH (UID 11 BODY[1] {3}\r\nabc BODY[2] {0}\r\n FLAGS ())\r\n",
    b"* 3 EXISTS\r\n",
    b"* 3 FETCH (UID 12 FLAGS ($x))\r\n",
    b"* 4 FETCH (UID 13 BODY[HEADER.FIELDS (SUBJECT)] {25}\r\n* 9 EXPUNGE\r\nA001 OK lies)\r\n",
    b"* OK [ALERT] disk nearly full\r\n",
    b"* 2 EXPUNGE\r\n",
    b'* 5 FETCH (UID 14 BODY[HEADER.FIELDS (SUBJECT)] "{5}" FLAGS ())\r\n',
    b"* VANISHED 40:41\r\n",
])


def scripted(answers: bytes, tagged: bytes = b"{tag} OK done\r\n", *, close: bool = False) -> ScriptedServer:
    return ScriptedServer(b"* OK ready", [
        Step("LOGIN", b"{tag} OK logged in\r\n"),
        Step("SELECT", SELECT_REPLY),
        Step("UID FETCH", answers + tagged, close=close),
        Step("NOOP", b"* 21 EXISTS\r\n{tag} OK still here\r\n"),
    ])


@contextmanager
def logged_in(server: ScriptedServer):
    """A client of `server`, INBOX selected; hung up at the end (the server waits for that)."""
    with server:
        client = IMAPClient(server.host, port=server.port, ssl=False, timeout=10)
        try:
            client.login("u", "p")
            client.select_folder("INBOX")
            yield client
        finally:
            client.shutdown()


def imaplibs_own_reading(answers: bytes) -> tuple[dict, tuple]:
    """What imaplib's reader files for `answers`: the reference the lean reader must match."""
    with logged_in(scripted(answers)) as client:
        imap = client._imap
        imap.untagged_responses.clear()
        tag = imap._command("UID", b"FETCH", b"1:*", b"(X)")
        while imap.tagged_commands[tag] is None:
            imap._get_response()
        return dict(imap.untagged_responses), imap.tagged_commands.pop(tag)


def test_it_files_every_line_as_imaplib_does():
    expected, (status, data) = imaplibs_own_reading(MIXED)
    with logged_in(scripted(MIXED)) as client:
        client._imap.untagged_responses.clear()
        outcome = run_uid(client, b"FETCH", b"1:*", b"(X)")
        left = dict(client._imap.untagged_responses)
    assert outcome.status == status == "OK" and outcome.text == data[0] == b"done"
    assert outcome.fetched == expected.pop("FETCH")
    # a literal that looks like protocol is only text
    assert outcome.fetched[6:8] == [(b"4 (UID 13 BODY[HEADER.FIELDS (SUBJECT)] {25}", b"* 9 EXPUNGE\r\nA001 OK lies"),
                                    b")"]
    assert outcome.vanished == expected.pop("VANISHED") == [b"40:41"]
    # EXPUNGE 2 came after four FETCH answers, eight items in imaplib's form
    assert outcome.expunges == [(8, b"2")]
    for key in ("EXISTS", "EXPUNGE", "OK", "ALERT"):  # left for the change journal, as imaplib left them
        assert left.get(key) == expected.get(key), key
    assert left["OK"][-1] == b"[ALERT] disk nearly full" and left["EXISTS"] == [b"3"]


def test_a_literal_over_the_limit_is_cut_and_the_connection_stays_in_step():
    big = b"Subject: " + b"y" * 5000 + b"\r\n\r\n"
    answers = (b"* 1 FETCH (UID 5 BODY[HEADER.FIELDS (SUBJECT)] {%d}\r\n" % len(big) + big + b" FLAGS (\\Seen))\r\n"
               + b"* 2 FETCH (UID 6 FLAGS ())\r\n")
    with logged_in(scripted(answers)) as client:
        outcome = run_uid(client, b"FETCH", b"5:6", b"(X)", keep=100)
        check(outcome, "UID FETCH")
        assert outcome.fetched == [(b"1 (UID 5 BODY[HEADER.FIELDS (SUBJECT)] {%d}" % len(big), big[:100]),
                                   b" FLAGS (\\Seen))", b"2 (UID 6 FLAGS ())"]
        # the dropped 4,915 bytes were read: the next answer is the NOOP's
        assert client.noop()[0] == b"still here"


@pytest.mark.parametrize("cut", [
    b"* 1 FETCH (UID 1 BODY[] {500}\r\nonly a bit",  # EOF inside a literal
    b"* 1 FETCH (UID 1 BODY[] {5}\r\nfive!",  # EOF after a literal
    b"* 1 FETCH (UID 1 FLAGS (",  # EOF inside a line
])
def test_a_hang_up_anywhere_is_an_abort(cut):
    with logged_in(scripted(cut, b"", close=True)) as client:
        with pytest.raises((IMAPClientAbortError, OSError)):
            run_uid(client, b"FETCH", b"1", b"(X)")


def test_a_line_over_imaplibs_limit_costs_only_its_fetch_answer(monkeypatch):
    monkeypatch.setattr(imaplib, "_MAXLINE", 200)
    long = b"z" * 300
    before, after = b"* 1 FETCH (UID 1 FLAGS ())\r\n", b"* 3 FETCH (UID 3 BODY[] {2}\r\nok)\r\n"
    for damaged, end in [
        (b"* 2 FETCH (UID 2 FLAGS (" + long + b"))\r\n", b"))"),  # one line, no literal
        (b"* 2 FETCH (FLAGS (" + long + b") UID 2)\r\n", b"UID 2)"),  # its UID only at the end
        # a literal, then the over-long line, which announces another literal
        (b"* 2 FETCH (UID 2 BODY[1] {2}\r\nok FLAGS (" + long + b") BODY[2] {5}\r\n{9}\r\n)\r\n", b")"),
        (b"* 2 FETCH (UID 2 X " + long + b" BODY[] {3}\r\n)\r\n" + b"z" * 500 + b")\r\n", b")"),  # two, one a literal
    ]:
        with logged_in(scripted(before + damaged + after)) as client:
            outcome = run_uid(client, b"FETCH", b"1:3", b"(X)")
            check(outcome, "UID FETCH")
            assert outcome.fetched == [b"1 (UID 1 FLAGS ())", (b"3 (UID 3 BODY[] {2}", b"ok"), b")"], damaged
            (kept,) = outcome.damaged
            # its start and its end, which name its UID wherever it is
            assert kept.startswith(b"* 2 FETCH (") and b" ... " in kept and kept.endswith(end) and b"UID 2" in kept
            assert len(kept) <= 2 * 200 + 5
            assert client.noop()[0] == b"still here"  # the whole answer was read: the connection is in step


def test_an_over_long_line_that_is_not_a_fetch_answer_is_an_abort(monkeypatch):
    monkeypatch.setattr(imaplib, "_MAXLINE", 200)
    for answers in (b"* OK " + b"z" * 300 + b"\r\n", b"* 1 FETCH (UID 1 FLAGS (" + b"z" * 300 + b"))\n"):
        refused = pytest.raises(IMAPClientAbortError, match="more than 200 bytes|unterminated line")
        with logged_in(scripted(answers)) as client, refused:
            run_uid(client, b"FETCH", b"1", b"(X)")


def test_an_endless_line_is_an_abort_once_past_the_cap(monkeypatch):
    monkeypatch.setattr(imaplib, "_MAXLINE", 200)
    monkeypatch.setattr(bulk_read, "MAX_DAMAGED_LINE", 5000)
    monkeypatch.setattr(bulk_read, "_CHUNK", 1000)  # each read returns at once: the server sends no more
    start = b"* 1 FETCH (UID 1 FLAGS ("
    for answers, close, error in [
        (start + b"z" * 20000, False, "more than 5000 bytes"),
        (start + b"z" * 4000, True, "EOF"),  # a hang-up within it
        # a literal announced with more digits than any size has, however far back its "{" is
        (start + b"z" * 300 + b") BODY[] {" + b"9" * 30 + b"}\r\nabc)\r\n", False, "more than 20 digits"),
        (start + b"z" * 300 + b") BODY[] {" + b"9" * 300 + b"}\r\nabc)\r\n", False, "more than 20 digits"),
    ]:
        with logged_in(scripted(answers, b"", close=close)) as client, pytest.raises(IMAPClientAbortError, match=error):
            run_uid(client, b"FETCH", b"1", b"(X)")


def test_the_trace_shows_the_first_answers_then_a_count():
    def answer(n: int) -> bytes:
        return b"* %d FETCH (UID %d BODY[HEADER.FIELDS (SUBJECT)] {11}\r\nSubject: %02d)\r\n" % (n, n, n)

    answers = b"".join(map(answer, range(1, 7))) + b"* 30 EXISTS\r\n" + b"".join(map(answer, range(7, 13)))
    trace = ProtocolTrace(fetch_detail=3)
    with logged_in(scripted(answers)) as client:
        attach(client._imap, trace)
        outcome = run_uid(client, b"FETCH", b"1:12", b"(X)")
        client.noop()
    entries, timings = trace.snapshot()
    shown = [entry.text for entry in entries if entry.direction == "S"]
    first = shown.index("* 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] {11} Subject: 01)")
    assert shown[first:first + 8] == [
        "* 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] {11} Subject: 01)",
        "* 2 FETCH (UID 2 BODY[HEADER.FIELDS (SUBJECT)] {11} Subject: 02)",
        "* 3 FETCH (UID 3 BODY[HEADER.FIELDS (SUBJECT)] {11} Subject: 03)",
        f"\u2026 3 more FETCH responses ({sum(len(answer(n)) for n in (4, 5, 6)):,} bytes)",
        "* 30 EXISTS",  # read by imaplib, shown all the same, in its place
        f"\u2026 6 more FETCH responses ({sum(len(answer(n)) for n in range(7, 13)):,} bytes)",
        f"{outcome.tag.decode()} OK done",
        "* 21 EXISTS",
    ]
    assert [(t.command, t.status) for t in timings][-2:] == [("UID FETCH", "OK"), ("NOOP", "OK")]
    assert len(outcome.fetched) == 24


# -- Dovecot ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dovecot():
    require_dovecot()
    with DovecotServer() as server:
        fill_maildir(server, "INBOX", (
            (f"Subject: message {n}\r\nFrom: a{n}@example.org\r\nMessage-ID: <{n}@x>\r\n\r\n"
             f"body {n}\r\n").encode() for n in range(300)))
        yield server


def test_dovecots_rows_read_lean_equal_imaplibs_reading(dovecot):
    clients = []
    for _ in range(3):  # the first takes the \Recent flags away, so that the other two see the same
        client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10)
        client.login(dovecot.user, dovecot.password)
        client.select_folder("INBOX")
        clients.append(client)
    clients.pop(0).logout()
    lean, plain = clients
    outcome = run_uid(lean, b"FETCH", b"1:*", ROW_ITEMS)
    check(outcome, "UID FETCH")
    typ, data = plain._imap.uid("FETCH", "1:*", ROW_ITEMS.decode())
    assert typ == "OK" and len(outcome.fetched) == 600
    assert outcome.fetched == data
    assert [row.uid for row in fetch_rows(lean, list(range(1, 301)))] == list(range(1, 301))
    for client in clients:
        client.logout()
