"""Server-side order (RFC 5256 SORT and THREAD) against a real Dovecot, and the same
orders computed locally from the rows: both must equal what these tests know of the
messages they wrote. Parsing limits against a scripted server."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from scripted_server import ScriptedServer, Step
from servers import DovecotServer, append_messages, require_dovecot
from tui.headers import HEADER_FIELDS, Row
from tui.imap import ordering
from tui.imap.ordering import parse_sort, parse_thread, server_sort, server_threads
from tui.list_order import SORT_KEYS, sort_uids, thread_uids
from tui.threads import ThreadNode, messages_of, threads_from_server

pytestmark = pytest.mark.dovecot


# -- messages the tests know everything about --------------------------------------------


def utc(day: int, hour: int, minute: int = 0, offset_hours: int = 0) -> datetime:
    zone = timezone(timedelta(hours=offset_hours))
    return datetime(2024, 1, day, hour, minute, tzinfo=zone)


def message(*, subject: str, sender: str, date: datetime | None, mid: str | None = None,
            refs: tuple[str, ...] = (), irt: str | None = None, size: int | None = None) -> bytes:
    lines = []
    if date is not None:
        lines.append(f"Date: {format_datetime(date)}")
    lines += [f"From: {sender}", "To: Me <me@example.org>", f"Subject: {subject}"]
    if mid:
        lines.append(f"Message-ID: <{mid}@example.org>")
    if refs:
        lines.append("References: " + "\r\n ".join(f"<{r}@example.org>" for r in refs))
    if irt:
        lines.append(f"In-Reply-To: <{irt}@example.org>")
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", ""]
    head = "\r\n".join(lines).encode()
    body = b"body\r\n"
    if size is not None:  # pad the body to an exact RFC822.SIZE
        assert size >= len(head) + 2
        body = b"x" * (size - len(head) - 2) + b"\r\n"
    return head + body


def header_block(raw: bytes) -> bytes:
    """What BODY.PEEK[HEADER.FIELDS (HEADER_FIELDS)] returns: those fields, in order."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    fields = re.split(rb"\r\n(?![ \t])", head)
    wanted = {f.encode() for f in HEADER_FIELDS}
    kept = [f for f in fields if f.split(b":", 1)[0].strip().upper() in wanted]
    return b"".join(f + b"\r\n" for f in kept) + b"\r\n"


def load(server: DovecotServer, mailbox: str, items: list[dict]) -> tuple[IMAPClient, list[int], dict[int, Row]]:
    """Append two fillers and the items, expunge the fillers (so UIDs are not sequence
    numbers), select the mailbox; the client, the items' UIDs and their rows."""
    filler = [{"msg": message(subject="filler", sender="f@example.org", date=utc(1, 0)), "date": utc(1, 0)}] * 2
    uids = append_messages(server.host, server.port, server.user, server.password, mailbox, filler + items)
    assert len(uids) == len(items) + 2
    client = IMAPClient(server.host, server.port, ssl=False, timeout=30)
    client.login(server.user, server.password)
    client.select_folder(mailbox)
    client.delete_messages(uids[:2])
    client.expunge()
    uids = uids[2:]
    assert sorted(client.search(["ALL"])) == uids
    assert not uids or uids[0] == uids[-1] - len(uids) + 1 > 1  # sequence numbers start at 1
    rows = {uid: Row(uid, frozenset(), item["date"].timestamp(), len(item["msg"]), header_block(item["msg"]))
            for uid, item in zip(uids, items)}
    return client, uids, rows


# -- SORT --------------------------------------------------------------------------------

# Six messages; arrival (INTERNALDATE) follows the order they are appended in.
SORT_ITEMS = [
    dict(subject="Re: Banana", sender="Zoe Zimmer <aaron@example.org>", date=utc(2, 9), size=700),
    dict(subject="Apple", sender="adam <adam@example.org>", date=utc(1, 23, 30, -2), size=500),  # Jan 2 01:30Z
    dict(subject="[list] cherry", sender="bert@example.org", date=None, size=500),  # INTERNALDATE: Jan 1 12:00
    dict(subject="apple", sender='"Carl, Jr." <carl@example.org>', date=utc(3, 8, 0, 1), size=900),  # Jan 3 07:00Z
    dict(subject="Fwd: banana", sender="Adam <adam2@example.org>", date=utc(2, 9), size=300),
    dict(subject="Durian", sender="dora <dora@example.org>", date=utc(1, 0), size=650),
]
# The orders, by index into SORT_ITEMS, worked out by hand. Ties go by UID ascending, in
# both directions (RFC 5256: REVERSE reverses the criterion, ties stay in mailbox order).
EXPECTED_SORT = {
    # dates: 5 Jan 1 00:00, 2 Jan 1 12:00 (INTERNALDATE), 1 Jan 2 01:30, 0 = 4 Jan 2 09:00, 3 Jan 3
    ("date", False): [5, 2, 1, 0, 4, 3],
    ("date", True): [3, 0, 4, 1, 2, 5],
    ("arrival", False): [0, 1, 2, 3, 4, 5],
    ("arrival", True): [5, 4, 3, 2, 1, 0],
    # display names: adam = Adam, bert@example.org, carl, jr., dora, zoe zimmer
    ("sender", False): [1, 4, 2, 3, 5, 0],
    ("sender", True): [0, 5, 3, 2, 1, 4],
    # base subjects: apple = apple, banana = banana, cherry, durian
    ("subject", False): [1, 3, 0, 4, 2, 5],
    ("subject", True): [5, 2, 0, 4, 1, 3],
    # sizes: 300, 500 = 500, 650, 700, 900
    ("size", False): [4, 1, 2, 5, 0, 3],
    ("size", True): [3, 0, 5, 1, 2, 4],
}
# RFC 5256 FROM (no SORT=DISPLAY): the address's mailbox: aaron, adam, adam2, bert, carl, dora
EXPECTED_FROM = {False: [0, 1, 4, 2, 3, 5], True: [5, 3, 2, 4, 1, 0]}


def _sort_items() -> list[dict]:
    items = []
    for index, spec in enumerate(SORT_ITEMS):
        arrival = utc(1, 10 + index)  # Jan 1 10:00, 11:00, 12:00 (message 2's only date) ...
        raw = message(subject=spec["subject"], sender=spec["sender"], date=spec["date"], mid=f"s{index}",
                      size=spec["size"])
        assert len(raw) == spec["size"]
        items.append({"msg": raw, "date": arrival})
    return items


@pytest.fixture(scope="module")
def sorted_box(dovecot):
    client, uids, rows = load(dovecot, "ordering-sort", _sort_items())
    yield client, uids, rows
    client.logout()


@pytest.mark.parametrize("key", SORT_KEYS)
@pytest.mark.parametrize("reverse", [False, True], ids=["ascending", "descending"])
def test_server_sort_equals_known_order_and_local_sort(sorted_box, key, reverse):
    client, uids, rows = sorted_box
    expected = [uids[index] for index in EXPECTED_SORT[key, reverse]]
    assert server_sort(client, key, reverse) == expected
    assert sort_uids(rows, uids, key, reverse) == expected
    assert "SORT" not in client._imap.untagged_responses  # the answer is not kept twice


def test_server_sort_by_from_without_sort_display(sorted_box, monkeypatch):
    client, uids, _rows = sorted_box
    announced = tuple(c for c in client.capabilities() if c.upper() != b"SORT=DISPLAY")
    monkeypatch.setattr(client, "capabilities", lambda: announced)
    assert ordering.sort_criteria(client, "sender", True) == b"(REVERSE FROM)"
    for reverse in (False, True):
        assert server_sort(client, "sender", reverse) == [uids[i] for i in EXPECTED_FROM[reverse]]


def test_server_sort_criteria():
    class Caps:
        def capabilities(self):
            return (b"IMAP4REV1", b"SORT", b"SORT=DISPLAY")

    assert ordering.sort_criteria(Caps(), "date", False) == b"(DATE)"
    assert ordering.sort_criteria(Caps(), "arrival", True) == b"(REVERSE ARRIVAL)"
    assert ordering.sort_criteria(Caps(), "sender", False) == b"(DISPLAYFROM)"
    assert ordering.sort_criteria(Caps(), "subject", True) == b"(REVERSE SUBJECT)"
    assert ordering.sort_criteria(Caps(), "size", False) == b"(SIZE)"
    with pytest.raises(ValueError):
        ordering.sort_criteria(Caps(), "colour", False)


# -- THREAD ------------------------------------------------------------------------------

# (subject, Message-ID, References); all from one sender, a minute apart.
THREAD_ITEMS = [
    ("Plan", "a", ()),  # 0
    ("Re: Plan", "b", ("a",)),  # 1: reply to 0
    ("Re: Plan", "c", ("a", "b")),  # 2: reply to 1
    ("Re: Plan", "d", ("a",)),  # 3: another reply to 0
    ("Re: Lost", "e", ("gone",)),  # 4: reply to a message not here
    ("Re: Lost", "f", ("gone",)),  # 5: so is this: 4 and 5 under a dummy
    ("Budget", "g", ()),  # 6
    ("Re: Budget", "h", ()),  # 7: no References at all: joins 6 by subject
    ("Self", "i", ("i",)),  # 8: refers to itself
    ("Re: Plan", "j", ("zz", "a")),  # 9: reply to 0 through a missing message
    ("Note", None, ()),  # 10: no Message-ID
]
# by index; None is a dummy
EXPECTED_THREADS = [
    (0, [(1, [(2, [])]), (3, []), (9, [])]),
    (None, [(4, []), (5, [])]),
    (6, [(7, [])]),
    (8, []),
    (10, []),
]


def canon(node: ThreadNode):
    return (node.uid, sorted((canon(c) for c in node.children), key=repr))


def shape(roots):
    return sorted((canon(r) for r in roots), key=repr)


def _expected_with(uids, tree):
    uid, children = tree
    return (uids[uid] if uid is not None else None, sorted((_expected_with(uids, c) for c in children), key=repr))


@pytest.fixture(scope="module")
def threaded_box(dovecot):
    items = []
    for index, (subject, mid, refs) in enumerate(THREAD_ITEMS):
        date = utc(5, 10, index)
        raw = message(subject=subject, sender="Ann <ann@example.org>", date=date, mid=mid, refs=refs,
                      irt=refs[-1] if refs else None)
        items.append({"msg": raw, "date": date})
    client, uids, rows = load(dovecot, "ordering-thread", items)
    yield client, uids, rows
    client.logout()


def test_server_threads_equal_known_tree_and_local_threads(threaded_box):
    client, uids, rows = threaded_box
    expected = sorted((_expected_with(uids, tree) for tree in EXPECTED_THREADS), key=repr)
    server = server_threads(client)
    assert shape(server) == expected  # UIDs, not sequence numbers (these differ by 2 here)
    assert shape(thread_uids(rows, uids)) == expected
    assert "THREAD" not in client._imap.untagged_responses


def test_same_subject_without_replies_differs_from_rfc5256_by_design(dovecot):
    # RFC 5256 (Dovecot) puts two "Weekly report" roots under a dummy; we keep them apart.
    items = [{"msg": message(subject="Weekly report", sender="a@example.org", date=utc(6, h), mid=f"w{h}"),
              "date": utc(6, h)} for h in (1, 2)]
    client, uids, rows = load(dovecot, "ordering-weekly", items)
    try:
        assert shape(server_threads(client)) == [(None, [(uids[0], []), (uids[1], [])])]
        assert shape(thread_uids(rows, uids)) == sorted([(uids[0], []), (uids[1], [])], key=repr)
    finally:
        client.logout()


def test_empty_mailbox(dovecot):
    client, uids, _rows = load(dovecot, "ordering-empty", [])
    try:
        assert uids == []
        assert server_sort(client, "date", True) == []
        assert server_threads(client) == []
    finally:
        client.logout()


# -- capabilities cut --------------------------------------------------------------------


@pytest.fixture(scope="module")
def dovecot_no_sort():
    require_dovecot()
    with DovecotServer(capability="IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS MULTIAPPEND") as server:
        yield server


def test_no_sort_or_thread_capability_is_an_error(dovecot_no_sort):
    client, _uids, _rows = load(dovecot_no_sort, "INBOX", _sort_items())
    try:
        assert b"SORT" not in client.capabilities()
        with pytest.raises(IMAPClientError, match="does not announce SORT"):
            server_sort(client, "date", False)
        with pytest.raises(IMAPClientError, match="THREAD=REFERENCES"):
            server_threads(client)
    finally:
        client.logout()


# -- a server that says NO, or sends too much --------------------------------------------

_CAPS = b"IMAP4rev1 SORT THREAD=REFERENCES"


def _scripted(*steps: Step) -> ScriptedServer:
    return ScriptedServer(
        b"* OK [CAPABILITY " + _CAPS + b"] ready",
        [Step("LOGIN", b"{tag} OK [CAPABILITY " + _CAPS + b"] in\r\n"),
         Step("SELECT", b"* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n{tag} OK [READ-WRITE] selected\r\n"),
         *steps],
        capabilities=_CAPS,
    )


def _run(server: ScriptedServer, call):
    with server:
        client = IMAPClient(server.host, server.port, ssl=False, timeout=10)
        client.login("u", "p")
        client.select_folder("INBOX")
        try:
            return call(client)
        finally:
            client.shutdown()


def test_server_saying_no_is_an_error():
    server = _scripted(Step("UID SORT", b"{tag} NO [UNAVAILABLE] sorting is switched off\r\n"),
                       Step("UID THREAD", b"{tag} NO too busy\r\n"))

    def both(client):
        with pytest.raises(IMAPClientError, match="refused to sort: sorting is switched off"):
            server_sort(client, "size", True)
        with pytest.raises(IMAPClientError, match="refused to thread: too busy"):
            server_threads(client)

    _run(server, both)
    assert any(line.endswith(b"UID SORT (REVERSE SIZE) UTF-8 ALL") for line in server.lines)
    assert any(line.endswith(b"UID THREAD REFERENCES UTF-8 ALL") for line in server.lines)


def test_hostile_thread_nesting_is_an_error_not_a_crash():
    deep = ordering.MAX_NESTING + 5
    answer = b"* THREAD (1 " + b"(2 " * deep + b")" * deep + b")\r\n{tag} OK done\r\n"
    server = _scripted(Step("UID THREAD", answer))
    with pytest.raises(IMAPClientError, match="nests deeper"):
        _run(server, server_threads)


def test_nesting_within_the_limit_parses_without_recursion():
    deep = 5000  # (1 (2 (3 ... ))(9)) : a branch at every level
    text = "".join(f"({n} " for n in range(1, deep + 1)) + ")" * deep
    roots = threads_from_server(parse_thread([text]))
    assert len(roots) == 1 and messages_of(roots[0]) == list(range(1, deep + 1))


def test_too_many_uids_is_an_error(monkeypatch):
    monkeypatch.setattr(ordering, "MAX_UIDS", 100)
    answer = b"* SORT " + b" ".join(b"%d" % n for n in range(1, 102)) + b"\r\n{tag} OK done\r\n"
    with pytest.raises(IMAPClientError, match="more than 100 UIDs"):
        _run(_scripted(Step("UID SORT", answer)), lambda c: server_sort(c, "date", False))
    with pytest.raises(IMAPClientError, match="more than 100 UIDs"):
        parse_thread(["(" + " ".join(str(n) for n in range(1, 102)) + ")"])
    assert len(parse_sort([" ".join(str(n) for n in range(1, 101))])) == 100


@pytest.mark.parametrize("text", ["1 2 x", "1 99999999999", "0", "1 -2", "1 ²", "1 ٣", "4294967296"])
def test_parse_sort_rejects_junk(text):
    with pytest.raises(IMAPClientError):
        parse_sort([text])


def test_parse_sort_stops_at_modseq():
    assert parse_sort(["5 3 9 (MODSEQ 1234)"]) == [5, 3, 9]
    assert parse_sort(["", "4 2", "7"]) == [4, 2, 7]


@pytest.mark.parametrize("text", ["(1 2", "1 2)", "(1))", "3", "(1 x)", "(99999999999)", "(0)", "(1 ٣)", "(1)x"])
def test_parse_thread_rejects_junk(text):
    with pytest.raises(IMAPClientError):
        parse_thread([text])


def test_parse_thread_shapes():
    assert parse_thread(["(2)(3 6 (4 23)(44 7 96))"]) == ((2,), (3, 6, (4, 23), (44, 7, 96)))
    assert parse_thread(["((3)(5))"]) == (((3,), (5,)),)
    assert parse_thread([""]) == ()
