"""The demo mailbox generator (pure) and loading it into real IMAP servers."""

from __future__ import annotations

import email
import functools
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import policy
from email.utils import parsedate_to_datetime

import pytest
from imapclient import IMAPClient, imap_utf7

from tui.demo_data import (
    DEMO_FOLDERS,
    DEMO_NOW,
    DEMO_UNSUBSCRIBED,
    MARKUP_SUBJECT,
    DemoMessage,
    generate_demo,
    load_demo,
)


@pytest.fixture(scope="module")
def demo() -> list[DemoMessage]:
    return generate_demo()


def parse(message: DemoMessage) -> email.message.EmailMessage:
    """Parsed with the modern policy (cached: parsing is the slow part; don't mutate)."""
    return _parse(message.raw)


@functools.lru_cache(maxsize=None)
def _parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def by_subject(demo: list[DemoMessage], text: str) -> list[DemoMessage]:
    return [m for m in demo if text in str(parse(m)["Subject"])]


# -- pure --------------------------------------------------------------------------------


def test_deterministic_and_independent_of_global_random():
    random.seed(1)
    first = generate_demo()
    random.seed(2)
    assert generate_demo() == first
    assert generate_demo(seed=8) != first
    later = generate_demo(now=DEMO_NOW + timedelta(days=3))
    assert [m.internal_date + timedelta(days=3) for m in first] == [
        m.internal_date for m in later
    ]


def test_sizes(demo):
    counts = Counter(m.mailbox for m in demo)
    assert len(demo) >= 300
    assert counts["INBOX"] == 320
    assert all(counts[folder] > 0 for folder in DEMO_FOLDERS)
    assert set(counts) == set(DEMO_FOLDERS)
    assert Counter(m.mailbox for m in generate_demo(inbox_size=60))["INBOX"] == 60
    with pytest.raises(ValueError):
        generate_demo(inbox_size=5)


def test_folders():
    assert len(DEMO_FOLDERS) >= 6
    assert DEMO_FOLDERS[0] == "INBOX"
    for name in ("Sent", "Drafts", "Trash", "Archive", "Projects/Alpha/Specs"):
        assert name in DEMO_FOLDERS
    for name in DEMO_FOLDERS:  # every parent is a folder of its own
        parts = name.split("/")
        assert all("/".join(parts[:i]) in DEMO_FOLDERS for i in range(1, len(parts)))
    non_ascii = [name for name in DEMO_FOLDERS if not name.isascii()]
    assert non_ascii
    for name in non_ascii:
        encoded = imap_utf7.encode(name)
        assert encoded.isascii() and b"&" in encoded
        assert imap_utf7.decode(encoded) == name
    assert set(DEMO_UNSUBSCRIBED) < set(DEMO_FOLDERS) and "INBOX" not in DEMO_UNSUBSCRIBED


def test_every_message_parses_cleanly(demo):
    ids = set()
    for message in demo:
        assert b"\n" not in message.raw.replace(b"\r\n", b""), "bare LF"
        assert message.internal_date.tzinfo is not None
        assert message.internal_date.utcoffset() == timedelta(0)
        assert DEMO_NOW - timedelta(days=550) < message.internal_date < DEMO_NOW
        for pol in (policy.compat32, policy.default):
            parsed = email.message_from_bytes(message.raw, policy=pol)
            for part in parsed.walk():
                assert not part.defects, (parsed["Subject"], part.defects)
        parsed = parse(message)
        for header in ("From", "To", "Subject", "Date", "Message-ID"):
            assert parsed[header] is not None, header
        assert parsed["MIME-Version"] == "1.0"
        assert parsedate_to_datetime(parsed["Date"]) == message.internal_date
        ids.add(parsed["Message-ID"])
    assert len(ids) == len(demo)


def test_arrival_order(demo):
    dates = [m.internal_date for m in demo]
    assert dates == sorted(dates)
    assert max(dates) > DEMO_NOW - timedelta(hours=3)
    assert min(dates) < DEMO_NOW - timedelta(days=365)


def test_threads(demo):
    ids = {str(parse(m)["Message-ID"]): m for m in demo}
    threads: Counter[str] = Counter()
    replies = 0
    for message in demo:
        parsed = parse(message)
        parent = parsed["In-Reply-To"]
        if parent is None:
            continue
        replies += 1
        assert str(parent) in ids
        references = str(parsed["References"]).split()
        assert references[-1] == str(parent)
        assert str(parsed["Subject"]).startswith("Re: ")
        threads[references[0]] += 1
    assert replies >= 10
    sizes = [count + 1 for count in threads.values()]
    assert len([size for size in sizes if 3 <= size <= 6]) >= 4
    # my replies sit in Sent, the message I answered is \Answered
    for message in demo:
        parsed = parse(message)
        if message.mailbox == "Sent" and parsed["In-Reply-To"]:
            answered = ids[str(parsed["In-Reply-To"])]
            assert "\\Answered" in answered.flags or answered.mailbox == "Sent"


def test_non_ascii_headers_are_rfc2047_encoded(demo):
    names = set()
    subjects = set()
    for message in demo:
        header_block = message.raw.split(b"\r\n\r\n", 1)[0]
        assert all(byte < 0x80 for byte in header_block)
        parsed = parse(message)
        names.add(parsed["From"].addresses[0].display_name)
        subjects.add(str(parsed["Subject"]))
    assert {"Zoë Müller", "José Álvarez", "佐藤 花子"} <= names
    assert any(not s.isascii() for s in subjects)
    assert "Grüße aus München" in subjects and "週末の予定について" in subjects
    assert any(b"=?utf-8?" in m.raw.split(b"\r\n\r\n", 1)[0] for m in demo)


def test_content_types(demo):
    types = Counter(parse(m).get_content_type() for m in demo)
    assert types["text/html"] >= 3  # HTML-only
    assert types["multipart/alternative"] >= 3
    assert types["multipart/mixed"] >= 3
    assert types["multipart/report"] == 1
    html = next(parse(m) for m in demo if parse(m).get_content_type() == "text/html")
    body = html.get_content()
    assert "<a href=" in body and "<ul>" in body and "<table" in body
    alternative = next(parse(m) for m in demo
                       if parse(m).get_content_type() == "multipart/alternative")
    assert [p.get_content_type() for p in alternative.iter_parts()] == [
        "text/plain", "text/html"]


def test_attachments(demo):
    [message] = by_subject(demo, "Unterlagen für März")
    parsed = parse(message)
    attachments = {a.get_filename(): a for a in parsed.iter_attachments()}
    assert set(attachments) == {"Rechnung_2026-11.pdf", "diagramm.png", "Übersicht März.csv"}
    assert b"filename*=utf-8''%C3%9Cbersicht%20M%C3%A4rz.csv" in message.raw  # RFC 2231
    for attachment in attachments.values():
        assert attachment["Content-Transfer-Encoding"] == "base64"
    assert attachments["Rechnung_2026-11.pdf"].get_content_type() == "application/pdf"
    assert attachments["Rechnung_2026-11.pdf"].get_content().startswith(b"%PDF-1.4")
    png = attachments["diagramm.png"].get_content()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png.endswith(b"IEND\xaeB`\x82")
    csv = attachments["Übersicht März.csv"]
    assert csv.get_content_type() == "text/csv"
    assert "März" in csv.get_payload(decode=True).decode()


def test_forwarded_message(demo):
    [message] = by_subject(demo, "Fwd: Contract renewal")
    parts = list(parse(message).iter_parts())
    assert parts[1].get_content_type() == "message/rfc822"
    inner = parts[1].get_content()
    assert inner["Subject"] == "Contract renewal"
    assert "renewal is due" in inner.get_content()


def test_delivery_status_notification(demo):
    [message] = [m for m in demo if parse(m).get_content_type() == "multipart/report"]
    parsed = parse(message)
    assert parsed.get_param("report-type") == "delivery-status"
    types = [p.get_content_type() for p in parsed.iter_parts()]
    assert types == ["text/plain", "message/delivery-status", "text/rfc822-headers"]


def test_markup_and_escape_subject_is_raw(demo):
    [message] = by_subject(demo, "Free prize")
    header_block = message.raw.split(b"\r\n\r\n", 1)[0]
    assert ("Subject: " + MARKUP_SUBJECT).encode() in header_block
    assert b"\x1b]52;c;" in header_block and b"\x07" in header_block
    assert parse(message)["Subject"].startswith("[@click=app.quit]")
    assert message is [m for m in demo if m.mailbox == "INBOX"][-1]  # newest: on screen


def test_long_plain_text_message(demo):
    long = [m for m in demo if parse(m).get_content_type() == "text/plain"
            and parse(m).get_content().count("\n") >= 200]
    assert long


def test_flags(demo):
    assert all(f in {"\\Seen", "\\Flagged", "\\Answered", "\\Draft"}
               for m in demo for f in m.flags)
    flagged = sum("\\Flagged" in m.flags for m in demo)
    assert 0.08 * len(demo) <= flagged <= 0.2 * len(demo)
    assert sum("\\Answered" in m.flags for m in demo) >= 5
    assert all("\\Draft" in m.flags for m in demo if m.mailbox == "Drafts")
    inbox = [m for m in demo if m.mailbox == "INBOX"]
    assert sum("\\Seen" not in m.flags for m in inbox[-20:]) >= 15
    older = inbox[:-20]
    assert sum("\\Seen" in m.flags for m in older) >= 0.9 * len(older)


# -- against real servers ---------------------------------------------------------------


@pytest.fixture(params=["pymap", pytest.param("dovecot", marks=pytest.mark.dovecot)])
def fresh_server(request):
    """A server of our own with an empty mailbox (the session-wide ``pymap_server`` and
    ``dovecot`` fixtures already get the demo loaded by ``*_demo``; loading it twice
    there would duplicate every message). Yields (host, port, username, password)."""
    if request.param == "pymap":
        from tui.demo_server import PymapServer

        with PymapServer() as server:
            yield server.host, server.port, server.username, server.password
        return
    from servers import DovecotServer, require_dovecot

    require_dovecot()
    with DovecotServer() as server:
        yield server.host, server.port, server.user, server.password


@pytest.mark.parametrize("folder_encode", [True, False])
def test_load_demo(fresh_server, folder_encode, demo):
    host, port, username, password = fresh_server
    client = IMAPClient(host, port=port, ssl=False, timeout=30)
    client.folder_encode = folder_encode
    client.login(username, password)
    try:
        started = time.perf_counter()
        load_demo(client, demo)
        elapsed = time.perf_counter() - started
        assert client.folder_encode is folder_encode  # restored
        load_demo(client, [])  # again: folders exist already, nothing appended
        client.folder_encode = True

        listed = {name for _, _, name in client.list_folders()}
        assert set(DEMO_FOLDERS) <= listed  # Dovecot also has Junk
        subscribed = {name for _, _, name in client.list_sub_folders()}
        assert set(DEMO_FOLDERS) - set(DEMO_UNSUBSCRIBED) <= subscribed
        assert not set(DEMO_UNSUBSCRIBED) & subscribed

        counts = Counter(m.mailbox for m in demo)
        for folder in DEMO_FOLDERS:
            status = client.folder_status(folder, [b"MESSAGES"])
            assert status[b"MESSAGES"] == counts[folder], folder

        client.folder_encode = False  # the non-ASCII name really is modified UTF-7
        raw_names = {name for _, _, name in client.list_folders()}
        assert all(imap_utf7.encode(f) in raw_names for f in DEMO_FOLDERS)
        client.folder_encode = True

        for folder in ("INBOX", "Drafts", "Projects/Alpha/Specs"):
            expected = [m for m in demo if m.mailbox == folder]
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            assert len(uids) == len(expected)
            fetched = client.fetch(uids, ["FLAGS", "INTERNALDATE", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
            for uid, message in zip(sorted(uids), expected):  # UID order = arrival order
                data = fetched[uid]
                flags = {f.decode() for f in data[b"FLAGS"]} - {"\\Recent"}
                assert flags == set(message.flags), (folder, uid)
                assert data[b"INTERNALDATE"].timestamp() == message.internal_date.timestamp()
                header = data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"]
                assert str(parse(message)["Message-ID"]).encode() in header
    finally:
        client.logout()
    print(f"load_demo: {len(demo)} messages in {elapsed:.2f} s")
    assert elapsed < 10  # ~0.4 s on an idle machine; generous for loaded CI runners
