"""Big messages against a real Dovecot: the viewer gets the outline, then only the text it
shows, by ranges; a saved part streams from the server into a new file, byte-exact,
without sitting whole in memory and without ever replacing a file."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import quopri
import random
import tracemalloc
from email.message import EmailMessage

import pytest

from textual.widgets import Input

from harness import WorkerHarness, dovecot_holding, raw_client
from proxy import CuttableProxy
from scenarios import open_listed, pick_part, wait_for
from tui import viewing
from tui.app import MailApp
from tui.dialogs import PromptScreen
from tui.imap.contract import (
    FetchMessage,
    FetchPart,
    MailboxSelected,
    MessageFetched,
    PartFetched,
    PartSaved,
    RequestFailed,
    SavePart,
    SelectMailbox,
)
from tui.imap import parts
from tui.imap.parts import TEXT_CHUNK, WHOLE_MESSAGE_BYTES
from tui.imap.structure import content_section
from tui.models import MessageRef
from tui.widgets.message_view import BodyView, MessageView

MB = 1024 * 1024
BODY_TEXT = "Hello, the report is attached.\n"


def with_attachment(payload: bytes, filename: str, text: str = BODY_TEXT) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Alice <alice@example.org>"
    msg["To"] = "bob@example.org"
    msg["Subject"] = f"{filename} attached"
    msg.set_content(text)
    msg.add_attachment(payload, maintype="application", subtype="pdf", filename=filename)
    return msg.as_bytes()


def long_text(size: int) -> str:
    rng = random.Random(7)
    words = ["gr\u00fcn", "blue", "\u65e5\u672c", "line", "caf\u00e9", "z"]
    lines, total = [], 0
    while total < size:
        line = " ".join(rng.choice(words) for _ in range(12)) + f" {len(lines)}\n"
        lines.append(line)
        total += len(line.encode())
    return "".join(lines)


def text_message(text: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "alice@example.org"
    msg["Subject"] = "a long letter"
    msg.set_content(text, cte="quoted-printable")
    return msg.as_bytes()


PAYLOAD_50 = random.Random(50).randbytes(50 * MB)
PAYLOAD_20 = random.Random(20).randbytes(20 * MB)
LONG_TEXT = long_text(3 * MB)
HOSTILE_NAME = "../../.bashrc\u202egpj.exe"
MESSAGES = (  # UIDs 1 to 5
    with_attachment(PAYLOAD_50, "fifty.pdf"),
    with_attachment(PAYLOAD_20, "twenty.pdf"),
    text_message(LONG_TEXT),
    with_attachment(b"%PDF-1.4 small\n", "small.pdf"),
    with_attachment(b"MZ not really a program", HOSTILE_NAME),
)


@pytest.fixture(scope="module")
def big_mail():
    with dovecot_holding("big", MESSAGES) as held:
        yield held


@pytest.fixture
def net(big_mail):
    server, account = big_mail
    proxy = CuttableProxy(server.host, server.port)
    try:
        yield dataclasses.replace(account, host=proxy.host, port=proxy.port), server.password, proxy
    finally:
        proxy.close()


def open_inbox(harness: WorkerHarness) -> MailboxSelected:
    harness.worker.submit(SelectMailbox(b"INBOX"))
    return harness.wait(MailboxSelected)


def fetch(harness: WorkerHarness, selected: MailboxSelected, uid: int) -> tuple[MessageFetched, list[PartFetched]]:
    ref = MessageRef(b"INBOX", selected.selected.uidvalidity, uid)
    request = harness.worker.submit(FetchMessage(ref, mark_seen=False))
    fetched = harness.wait(MessageFetched, lambda r: r.request_id == request.id, timeout=60)
    ranges = []
    if fetched.outline is not None:
        ranges.append(harness.wait(PartFetched, lambda r: r.request_id == request.id, timeout=60))
    return fetched, ranges


def leaf_named(root, filename):
    stack = [root]
    while stack:
        part = stack.pop()
        if part.filename == filename:
            return part
        stack.extend(part.children)
    raise AssertionError(f"no part named {filename}")


def test_a_50_mb_message_opens_by_transferring_only_what_is_shown(net):
    account, password, proxy = net
    with WorkerHarness(account, password) as harness:
        selected = open_inbox(harness)
        before = proxy.to_client_bytes
        fetched, ranges = fetch(harness, selected, uid=1)
        transferred = proxy.to_client_bytes - before
    assert fetched.outline is not None and fetched.outline.size > 50 * MB
    assert b"Subject: fifty.pdf attached" in fetched.raw and len(fetched.raw) < 4096  # the header only
    attachment = leaf_named(fetched.outline.root, "fifty.pdf")
    assert attachment.content_type == "application/pdf" and attachment.encoding == "base64"
    assert abs(attachment.size - 50 * MB) < MB  # estimated from the encoded size
    assert ranges[0].data.decode().replace("\r\n", "\n") == BODY_TEXT  # the text, whole: it is short
    assert transferred < 64 * 1024, f"{transferred} bytes crossed the network to open it"


def test_a_small_message_still_comes_whole(net):
    account, password, _proxy = net
    with WorkerHarness(account, password) as harness:
        fetched, _ = fetch(harness, open_inbox(harness), uid=4)
    assert fetched.outline is None
    assert base64.b64encode(b"%PDF-1.4 small\n") in fetched.raw  # the attachment came along
    assert len(fetched.raw) < WHOLE_MESSAGE_BYTES


def test_a_long_text_comes_by_ranges_that_add_up_to_the_text(net):
    account, password, proxy = net
    with WorkerHarness(account, password) as harness:
        selected = open_inbox(harness)
        before = proxy.to_client_bytes
        fetched, ranges = fetch(harness, selected, uid=3)
        first_cost = proxy.to_client_bytes - before
        outline = fetched.outline
        assert outline is not None
        body = outline.root if not outline.root.children else outline.root.children[0]
        section = content_section(outline.root, body)
        data = bytearray(ranges[0].data)
        while True:
            request = harness.worker.submit(FetchPart(ranges[0].ref, section, len(data), TEXT_CHUNK))
            more = harness.wait(PartFetched, lambda r: r.request_id == request.id)
            data += more.data
            if len(more.data) < TEXT_CHUNK:
                break
    assert len(ranges[0].data) == TEXT_CHUNK
    assert first_cost < TEXT_CHUNK + 16 * 1024  # one range, not the message
    text = quopri.decodestring(bytes(data)).decode().replace("\r\n", "\n")
    assert_same_text(text, LONG_TEXT)


def assert_same_text(got: str, expected: str) -> None:
    # Not `==` in the assert: pytest would diff two 3 MB strings for minutes.
    same = got == expected
    at = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
    assert same, f"differs at {at} of {len(expected)}: {got[at:at + 40]!r} vs {expected[at:at + 40]!r}"


def saved_files(folder) -> list[str]:
    return sorted(os.listdir(folder))


def test_saving_a_20_mb_attachment_writes_the_servers_bytes_without_holding_them(big_mail, tmp_path):
    server, account = big_mail
    with WorkerHarness(account, server.password) as harness:
        selected = open_inbox(harness)
        fetched, _ = fetch(harness, selected, uid=2)
        part = leaf_named(fetched.outline.root, "twenty.pdf")
        section = content_section(fetched.outline.root, part)
        target = tmp_path / "twenty.pdf"
        tracemalloc.start()
        try:
            request = harness.worker.submit(SavePart(fetched.ref, section, part.encoding, str(target)))
            saved = harness.wait(PartSaved, lambda r: r.request_id == request.id, timeout=120)
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # What the server holds for that part, decoded on its own: the same bytes.
    client = raw_client(account, server.password)
    client.select_folder("INBOX", readonly=True)
    on_server = base64.b64decode(client.fetch([2], [f"BODY.PEEK[{section}]"])[2][f"BODY[{section}]".encode()])
    client.logout()
    assert saved.size == len(PAYLOAD_20) == target.stat().st_size and saved.note == ""
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(on_server).hexdigest()
    assert on_server == PAYLOAD_20
    assert peak < 12 * MB, f"saving peaked at {peak / MB:.1f} MB"
    assert saved_files(tmp_path) == ["twenty.pdf"]  # no temporary file left


def test_saving_never_replaces_a_file(big_mail, tmp_path):
    server, account = big_mail
    target = tmp_path / "report.pdf"
    target.write_bytes(b"mine")
    with WorkerHarness(account, server.password) as harness:
        selected = open_inbox(harness)
        ref = MessageRef(b"INBOX", selected.selected.uidvalidity, 4)
        request = harness.worker.submit(SavePart(ref, "2", "base64", str(target)))
        failed = harness.wait(RequestFailed, lambda r: r.request_id == request.id)
    assert "exists already" in failed.message
    assert target.read_bytes() == b"mine"
    assert saved_files(tmp_path) == ["report.pdf"]


def test_a_save_cut_off_by_the_network_leaves_no_file_and_is_retried_whole(net, tmp_path):
    account, password, proxy = net
    target = tmp_path / "fifty.pdf"
    with WorkerHarness(account, password) as harness:
        selected = open_inbox(harness)
        fetched, _ = fetch(harness, selected, uid=1)
        part = leaf_named(fetched.outline.root, "fifty.pdf")
        section = content_section(fetched.outline.root, part)
        proxy.cut_after_sent(f"BODY.PEEK[{section}]<".encode(), skip=3)  # the 4th range is lost
        request = harness.worker.submit(SavePart(fetched.ref, section, part.encoding, str(target)))
        saved = harness.wait(PartSaved, lambda r: r.request_id == request.id, timeout=120)
    assert proxy.fired, "the cut never happened"
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(PAYLOAD_50).digest()
    assert saved.size == len(PAYLOAD_50)
    assert saved_files(tmp_path) == ["fifty.pdf"]


def test_a_section_that_is_not_one_is_never_sent(big_mail, tmp_path):
    server, account = big_mail
    with WorkerHarness(account, server.password) as harness:
        selected = open_inbox(harness)
        ref = MessageRef(b"INBOX", selected.selected.uidvalidity, 4)
        request = harness.worker.submit(FetchPart(ref, "1]<0.10> UID STORE 1:* +FLAGS (\\Deleted", 0, 10))
        failed = harness.wait(RequestFailed, lambda r: r.request_id == request.id)
    assert "not a body section" in failed.message
    client = raw_client(account, server.password)
    client.select_folder("INBOX", readonly=True)
    assert not client.search(["DELETED"])
    client.logout()


# -- in the app, as a user would -------------------------------------------------------


async def open_row(pilot, app, subject: str) -> MessageView:
    return await open_listed(pilot, app, subject, len(MESSAGES))


async def save_from_tree(pilot, app, filename: str) -> PromptScreen:
    await pick_part(pilot, app, filename)
    await pilot.press("S")
    await wait_for(lambda: isinstance(app.screen, PromptScreen))
    return app.screen


async def test_the_app_shows_a_50_mb_messages_text_and_saves_its_attachment(big_mail, tmp_path, monkeypatch):
    server, account = big_mail
    monkeypatch.setattr(viewing, "downloads_dir", lambda: tmp_path)
    app = MailApp(account, server.password, read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        viewer = await open_row(pilot, app, "fifty.pdf")
        body = app.query_one(BodyView)
        await wait_for(lambda: BODY_TEXT.strip() in body.text)
        assert viewer.outline is not None
        prompt = await save_from_tree(pilot, app, "fifty.pdf")
        assert prompt.query_one(Input).value == str(tmp_path / "fifty.pdf")
        await pilot.press("enter")
        target = tmp_path / "fifty.pdf"
        await wait_for(lambda: target.exists(), timeout=120)
        await pilot.pause()
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(PAYLOAD_50).digest()


async def test_the_app_loads_more_of_a_long_text_on_l(big_mail):
    server, account = big_mail
    app = MailApp(account, server.password, read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_row(pilot, app, "a long letter")
        body = app.query_one(BodyView)
        await wait_for(lambda: "Press L to load more" in body.text)
        first = body.text
        assert LONG_TEXT.startswith(first[: first.index("\n\n[")].rstrip("\n")[:-200])
        await pilot.press("G")  # to the end of what is loaded, where the note says L
        await wait_for(lambda: body.scroll_offset.y == body.max_scroll_y > 0)
        place = body.scroll_offset.y
        await pilot.press("L")
        await wait_for(lambda: len(body.text) > len(first) + 100_000)
        await pilot.pause()
        second = body.text
        assert body.scroll_offset.y == place < body.max_scroll_y  # the reader stays where they were
    shown = second[: second.index("\n\n[")]
    assert LONG_TEXT.startswith(shown[:-200])  # the next range follows on, nothing lost or doubled
    assert "[512K of " in second  # two ranges of 256K


async def test_a_hostile_attachment_name_is_saved_as_a_plain_name_in_the_folder(big_mail, tmp_path, monkeypatch):
    server, account = big_mail
    monkeypatch.setattr(viewing, "downloads_dir", lambda: tmp_path)
    app = MailApp(account, server.password, read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_row(pilot, app, "gpj.exe")
        prompt = await save_from_tree(pilot, app, HOSTILE_NAME)
        suggested = prompt.query_one(Input).value
        assert os.path.dirname(suggested) == str(tmp_path)
        name = os.path.basename(suggested)
        assert name.endswith(".exe") and "\u202e" not in name and not name.startswith(".")
        await pilot.press("enter")
        await wait_for(lambda: saved_files(tmp_path) == [name])
    assert (tmp_path / name).read_bytes() == b"MZ not really a program"
    assert not os.path.lexists(os.path.expanduser("~/.bashrc\u202egpj.exe"))


class RangeIgnoringServer:
    """Answers every range with the whole part, and no origin: a broken or hostile server."""

    def __init__(self, part: bytes, size: int) -> None:
        self.part, self.size, self.asked = part, size, 0

    def fetch(self, uids, items):
        if items == ["RFC822.SIZE"]:
            return {uids[0]: {b"RFC822.SIZE": self.size}}
        self.asked += 1
        return {uids[0]: {b"BODY[2]": self.part}}


class EndlessServer(RangeIgnoringServer):
    """Echoes each range properly, but the part never ends."""

    def fetch(self, uids, items):
        if items == ["RFC822.SIZE"]:
            return {uids[0]: {b"RFC822.SIZE": self.size}}
        self.asked += 1
        origin = items[0].split("<")[1].split(".")[0]
        return {uids[0]: {f"BODY[2]<{origin}>".encode(): b"A" * parts.SAVE_CHUNK}}


@pytest.mark.parametrize("server", [RangeIgnoringServer(b"B" * (3 * MB), 4 * MB), EndlessServer(b"", 4 * MB)],
                         ids=["ignores ranges", "never ends"])
def test_a_server_that_breaks_ranges_cannot_make_a_save_fill_the_disk(server, tmp_path):
    target = tmp_path / "x.bin"
    with pytest.raises(ValueError):  # SaveFailed is one: the worker reports it, no reconnect
        parts.save_part(server, 7, "2", "", target)
    assert server.asked <= 6  # stopped at the message's size, not looping
    assert saved_files(tmp_path) == []


def test_a_part_in_an_unknown_encoding_is_saved_as_it_came_and_says_so(big_mail, tmp_path):
    server, account = big_mail
    target = tmp_path / "small.pdf"
    with WorkerHarness(account, server.password) as harness:
        selected = open_inbox(harness)
        ref = MessageRef(b"INBOX", selected.selected.uidvalidity, 4)
        request = harness.worker.submit(SavePart(ref, "2", "x-uuencode", str(target)))
        saved = harness.wait(PartSaved, lambda r: r.request_id == request.id)
    assert "x-uuencode" in saved.note and "not decoded" in saved.note
    assert target.read_bytes().strip() == base64.b64encode(b"%PDF-1.4 small\n")  # the bytes as stored


async def test_h_shows_a_big_messages_source_by_ranges_and_h_again_goes_back(big_mail):
    server, account = big_mail
    app = MailApp(account, server.password, read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_row(pilot, app, "fifty.pdf")
        body = app.query_one(BodyView)
        await wait_for(lambda: BODY_TEXT.strip() in body.text)
        await pilot.press("H")
        await wait_for(lambda: "Press L to load more" in body.text)
        source = body.text
        assert "Subject: fifty.pdf attached" in source and "Content-Transfer-Encoding: base64" in source
        assert "[256K of 68M shown." in source  # the first range of the whole message, not all of it
        await pilot.press("L")
        await wait_for(lambda: "[512K of 68M shown." in body.text)
        await pilot.press("H")
        await wait_for(lambda: body.text.strip() == BODY_TEXT.strip())
