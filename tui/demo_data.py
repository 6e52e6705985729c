"""A deterministic, realistic demo mailbox (for ``tui-mail --demo``, tests, screenshots).

``generate_demo()`` builds the messages in memory (same seed and ``now`` -> same bytes,
no global random state, no clock); ``load_demo()`` puts them on an IMAP server.
Display names use "/" as hierarchy separator; the server's own delimiter is used when
loading. Addresses live under the reserved example.* domains.
"""

from __future__ import annotations

import base64
import random
import socket
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email import quoprimime
from email.header import Header
from email.utils import encode_rfc2231, format_datetime, formataddr
from html import escape
from typing import Any

from .demo_content import (
    DAYS,
    DRAFTS,
    DSN_TEMPLATE,
    INVITE_ICS,
    INVITE_TEXT,
    FOLDER_PLAN,
    HEADLINES,
    ISSUES,
    MARKUP_BODY,
    MARKUP_SUBJECT,
    MONTHS,
    NEWSLETTER_HTML,
    PEOPLE,
    PROJECTS,
    REPORT_LINES,
    SENDERS,
    TEMPLATES,
    THREADS,
)

__all__ = ["DEMO_FOLDERS", "DEMO_NOW", "DEMO_UNSUBSCRIBED", "MARKUP_SUBJECT", "DemoMessage",
           "generate_demo", "load_demo"]

DEMO_NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
DEMO_FOLDERS: tuple[str, ...] = (
    "INBOX", "Sent", "Drafts", "Trash", "Archive", "Newsletters", "Reçus",
    "Projects", "Projects/Alpha", "Projects/Alpha/Specs",
)
# Not subscribed by load_demo (Dovecot auto-subscribes its SPECIAL-USE folders, so this
# is deliberately none of those).
DEMO_UNSUBSCRIBED: tuple[str, ...] = ("Newsletters",)
UNSEEN_NEWEST = {"INBOX": 20, "Projects/Alpha": 2, "Newsletters": 3, "Reçus": 1}


@dataclass(frozen=True)
class DemoMessage:
    mailbox: str  # display path, "/"-separated
    raw: bytes  # RFC 5322, CRLF line endings
    flags: tuple[str, ...]
    internal_date: datetime  # aware, UTC


def _pdf(title: str) -> bytes:
    """A tiny valid one-page PDF showing ``title`` (ASCII)."""
    stream = f"BT /F1 18 Tf 20 40 Td ({title}) Tj ET".encode()
    objs = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 100]/Contents 4 0 R"
            b"/Resources<</Font<</F1 5 0 R>>>>>>",
            b"<</Length %d>>stream\n%s\nendstream" % (len(stream), stream),
            b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


BARS = ((0.55, (66, 133, 244)), (0.8, (52, 168, 83)), (0.4, (251, 188, 5)), (0.95, (234, 67, 53)))


def _png(width: int = 96, height: int = 64) -> bytes:
    """A small valid RGB PNG: a bar chart (four coloured bars on white), the demo's "diagram"."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    def pixel(x: int, y: int) -> bytes:
        slot, offset = divmod(x, width // len(BARS))
        if slot < len(BARS) and 3 <= offset < width // len(BARS) - 3:
            share, colour = BARS[slot]
            if y >= height - int(share * (height - 4)):
                return bytes(colour)
        return b"\xff\xff\xff"
    rows = b"".join(b"\0" + b"".join(pixel(x, y) for x in range(width)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
            0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def _csv(rng: random.Random) -> bytes:
    rows = ["Monat,Umsatz (EUR),Kunden"] + [
        f"{m},{rng.randint(8000, 20000)},{rng.randint(40, 90)}"
        for m in ("Januar", "Februar", "März", "April")]
    return ("\r\n".join(rows) + "\r\n").encode()


CRLF = "\r\n"


def _header(name: str, value: str) -> str:
    """One header line; non-ASCII values RFC 2047 encoded (control characters stay raw)."""
    if value.isascii():
        return f"{name}: {value}"
    return f"{name}: {Header(value, 'utf-8', header_name=name).encode(linesep=CRLF)}"


def _addresses(keys: Iterable[str]) -> str:
    return f",{CRLF} ".join(formataddr(SENDERS[k][:2], "utf-8") for k in keys)


def _date_header(sender: str, date: datetime) -> str:
    return format_datetime(date.astimezone(timezone(timedelta(minutes=SENDERS[sender][2]))))


Part = tuple[list[str], str]  # (header lines, body with CRLF line endings)


def _leaf(ctype: str, payload: str | bytes, filename: str | None = None) -> Part:
    if ctype == "message/rfc822":
        return [f"Content-Type: {ctype}", "Content-Disposition: attachment"], str(payload)
    if isinstance(payload, str):
        head = [f'Content-Type: {ctype}; charset="utf-8"']
        if payload.isascii():
            head.append("Content-Transfer-Encoding: 7bit")
            body = payload.replace("\n", CRLF)
        elif sum(not c.isascii() for c in payload) * 4 < len(payload):
            head.append("Content-Transfer-Encoding: quoted-printable")
            latin = payload.encode("utf-8").decode("latin-1")  # quoprimime wants this
            body = quoprimime.body_encode(latin, maxlinelen=76, eol=CRLF)
        else:
            payload = payload.encode("utf-8")
    if isinstance(payload, bytes):
        head = [f"Content-Type: {ctype}", "Content-Transfer-Encoding: base64"]
        body = base64.encodebytes(payload).decode("ascii").replace("\n", CRLF)
    if filename is not None:
        value = (f'filename="{filename}"' if filename.isascii()
                 else f"filename*={encode_rfc2231(filename, 'utf-8')}")
        head.append(f"Content-Disposition: attachment; {value}")
    return head, body if body.endswith(CRLF) else body + CRLF


def _multipart(subtype: str, parts: list[Part], boundary: str) -> Part:
    body = "".join(f"--{boundary}{CRLF}" + CRLF.join(head) + CRLF + CRLF + text + CRLF
                   for head, text in parts)
    head = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"']
    return head, body + f"--{boundary}--{CRLF}"


def _text_to_html(text: str) -> str:
    parts = []
    for para in text.strip().split("\n\n"):
        lines = para.split("\n")
        if all(line.startswith("- ") for line in lines):
            items = "".join(f"<li>{escape(line[2:])}</li>" for line in lines)
            parts.append(f"<ul>{items}</ul>")
        else:
            parts.append("<p>" + "<br>".join(escape(line) for line in lines) + "</p>")
    return "<html><body>\n" + "\n".join(parts) + "\n</body></html>\n"


def _long_report(rng: random.Random) -> str:
    lines = ["Hi team,", "", "here is the full infrastructure report for Q3.",
             "It is long, so grab a coffee.", ""]
    for section in range(1, 13):
        lines += [f"{section}. Cluster {section:02d}", "=" * 16, ""]
        lines += [rng.choice(REPORT_LINES) for _ in range(3)] + [""]
        lines.append("  node        cpu      memory      uptime")
        for node in range(20):
            lines.append(f"  node-{section:02d}{node:02d}  {rng.uniform(3, 97):5.1f}%  "
                         f"{rng.uniform(1, 64):6.1f} GiB  {rng.uniform(99, 100):7.3f}%")
        lines.append("")
    return "\n".join(lines + ["Questions welcome.", "", "Noah"]) + "\n"


@dataclass
class _Entry:
    folder: str
    date: datetime
    seq: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


class _Builder:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng, self.now = rng, now
        self.entries: list[_Entry] = []

    def ago(self, days: float) -> datetime:
        return (self.now - timedelta(days=days)).replace(microsecond=0)

    def date(self, lo: float, hi: float) -> datetime:
        """A date lo..hi days before now, denser towards recent days."""
        return self.ago(lo + (hi - lo) * self.rng.random() ** 1.5)

    def context(self, sender: str, date: datetime) -> dict[str, Any]:
        rng = self.rng
        return {"me": "Sam", "name": SENDERS[sender][3], "day": rng.choice(DAYS),
                "project": rng.choice(PROJECTS), "n": rng.randint(100, 999),
                "n2": rng.randint(100, 999), "month": MONTHS[date.month - 1],
                "time": f"{rng.randint(9, 16)}:{rng.choice(('00', '30'))}",
                "amount": f"€{rng.randint(5, 250)}.{rng.randint(0, 99):02d}",
                "sha": f"{rng.getrandbits(28):07x}", "issue": rng.choice(ISSUES),
                "headline": rng.choice(HEADLINES),
                "name2": SENDERS[rng.choice(PEOPLE)][0]}

    def compose(self, sender: str, to: list[str], subject: str, date: datetime, *,
                cc: Iterable[str] = (), body: str = "", kind: str = "plain",
                attachments: Iterable[tuple[str, str | None, str | bytes]] = (),
                headers: Iterable[tuple[str, str]] = ()) -> tuple[str, str]:
        """The message as text (CRLF, ASCII apart from raw control characters) and its
        Message-ID. attachments: (content type, filename, data)."""
        seq = len(self.entries) + 1
        domain = SENDERS[sender][1].split("@")[1]
        msgid = f"<{date:%Y%m%d%H%M%S}.{seq:04d}.{self.rng.getrandbits(32):08x}@{domain}>"
        head = [f"From: {_addresses([sender])}", f"To: {_addresses(to)}"]
        if cc:
            head.append(f"Cc: {_addresses(cc)}")
        head += [_header("Subject", subject), f"Date: {_date_header(sender, date)}",
                 f"Message-ID: {msgid}"] + [_header(k, v) for k, v in headers]
        part = _leaf("text/html" if kind == "html" else "text/plain", body)
        if kind == "invite":  # body and calendar: "text\f" + iCalendar
            text, _, ics = body.partition("\f")
            part = _multipart("alternative", [_leaf("text/plain", text),
                                              _leaf("text/calendar; method=REQUEST", ics)], f"=_cal_{seq:04d}")
        if kind == "alt":
            part = _multipart("alternative", [part, _leaf("text/html", _text_to_html(body))],
                              f"=_alt_{seq:04d}")
        if attachments:
            part = _multipart("mixed", [part] + [_leaf(c, d, f) for c, f, d in attachments],
                              f"=_mix_{seq:04d}")
        return CRLF.join(head + ["MIME-Version: 1.0"] + part[0]) + CRLF + CRLF + part[1], msgid

    def add(self, folder: str, date: datetime, text: str) -> _Entry:
        entry = _Entry(folder, date.astimezone(UTC), len(self.entries) + 1, text.encode())
        self.entries.append(entry)
        return entry

    def template(self, folder: str, tmpl: tuple[str, str, str, str, str], date: datetime
                 ) -> None:
        sender, kind, _, subject, body = tmpl
        sender = self.rng.choice(PEOPLE) if sender == "people" else sender
        to = [self.rng.choice(PEOPLE)] if sender == "me" else ["me"]
        ctx = self.context(to[0] if sender == "me" else sender, date)
        subject = subject.format(**ctx)
        headers: tuple[tuple[str, str], ...] = ()
        if body == "newsletter":
            domain = SENDERS[sender][1].split("@")[1]
            body = NEWSLETTER_HTML.format(sender=escape(SENDERS[sender][0]), domain=domain,
                                          subject=escape(subject), **ctx)
            headers = (("List-Id", f"<weekly.{domain}>"),
                       ("List-Unsubscribe", f"<https://{domain}/unsubscribe?u={ctx['n']}>"))
        else:
            body = body.format(**ctx) + "\n"
        attachments: tuple[Any, ...] = ()
        if kind == "pdf":
            prefix = {"rail": "Fahrkarte", "shop": "Reçu"}.get(sender, "Invoice")
            attachments = (("application/pdf", f"{prefix}_{ctx['n']}.pdf",
                            _pdf(f"Document {ctx['n']}")),)
        elif kind == "specs":
            attachments = (("text/csv", f"Datenmodell_Übersicht_{ctx['n']}.csv",
                            _csv(self.rng)), ("image/png", "diagram.png", _png()))
        text, _ = self.compose(sender, to, subject, date, body=body, kind=kind,
                               attachments=attachments, headers=headers)
        self.add(folder, date, text)

    def fill(self, folder: str, count: int, tag: str, lo: float, hi: float) -> None:
        choices = [t for t in TEMPLATES if tag in t[2]]
        for _ in range(count):
            self.template(folder, self.rng.choice(choices), self.date(lo, hi))

    def threads(self) -> None:
        for folder, subject, days, gap, posts in THREADS:
            date = self.ago(days)
            people = list(dict.fromkeys(key for key, _ in posts))
            refs: list[str] = []
            bodies: list[str] = []
            for index, (sender, text) in enumerate(posts):
                to, body, headers = "me" if sender != "me" else people[1], text, []
                if index:  # a reply to the previous post, quoting all of it (its quotes too)
                    to, quoted = posts[index - 1][0], bodies[-1]
                    body += (f"\n\nOn {_date_header(to, prev_date)}, {SENDERS[to][0]} "
                             "wrote:\n" + "\n".join(f"> {ln}".rstrip() for ln in quoted.split("\n")))
                    headers = [("In-Reply-To", refs[-1]), ("References", " ".join(refs))]
                    if sender == "me" and entry.folder != "Sent":
                        entry.flags.add("\\Answered")
                bodies.append(body)
                cc = [k for k in people if k not in (sender, to)]
                raw, msgid = self.compose(sender, [to], ("Re: " if index else "") + subject,
                                          date, cc=cc, body=body + "\n", headers=headers)
                refs.append(msgid)
                entry = self.add("Sent" if sender == "me" else folder, date, raw)
                prev_date = date
                date += timedelta(hours=gap * self.rng.uniform(0.7, 1.3))
                date = min(date, self.now - timedelta(minutes=5)).replace(microsecond=0)

    def special(self, days: float, sender: str, subject: str, body: str, **kw: Any) -> None:
        date = self.ago(days)
        self.add("INBOX", date, self.compose(sender, ["me"], subject, date, body=body, **kw)[0])

    def specials(self) -> None:
        self.special(0.05, "prize", MARKUP_SUBJECT, MARKUP_BODY)  # the newest INBOX mail
        self.template("INBOX", TEMPLATES[6], self.ago(0.8))  # text + html
        self.template("INBOX", TEMPLATES[14], self.ago(0.3))  # html only
        self.special(1.2, "zoe", "Unterlagen für März: Rechnung, Diagramm, Übersicht",
                     "Hallo Sam,\n\nanbei die Rechnung, das Diagramm und die Übersicht.\n\n"
                     "Viele Grüße\nZoë\n", attachments=(
                         ("application/pdf", "Rechnung_2026-11.pdf", _pdf("Rechnung")),
                         ("image/png", "diagramm.png", _png()),
                         ("text/csv", "Übersicht März.csv", _csv(self.rng))))
        inner, _ = self.compose("olivia", ["jose"], "Contract renewal",
                                self.ago(4.5), body="Hi José,\n\nthe contract "
                                "renewal is due on 1 December.\nCould you confirm the new "
                                "terms?\n\nOlivia\n")
        self.special(2.5, "jose", "Fwd: Contract renewal", "Sam, FYI - see the forwarded "
                     "message below.\n\nJosé\n",
                     attachments=(("message/rfc822", None, inner),))
        date, seq = self.ago(3.1), len(self.entries) + 1
        self.add("INBOX", date, DSN_TEMPLATE.format(
            date=format_datetime(date), orig_date=format_datetime(date - timedelta(minutes=3)),
            seq=seq, msgid=f"<dsn.{seq}@mx.example.org>").replace("\n", CRLF))
        self.special(4.0, "noah", "Infrastructure report Q3 (long)", _long_report(self.rng),
                     cc=("priya", "chen"))
        start = (self.now + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
        self.special(0.6, "cal", "Invitation: Alpha launch dry run", INVITE_TEXT + "\f" + INVITE_ICS.format(
            start=f"{start:%Y%m%dT%H%M%SZ}", end=f"{start + timedelta(hours=1):%Y%m%dT%H%M%SZ}",
            stamp=f"{self.now:%Y%m%dT%H%M%SZ}").replace("\n", CRLF), kind="invite")
        for key, subject, body in DRAFTS:
            date = self.date(0.2, 30)
            self.add("Drafts", date, self.compose("me", [key], subject, date, body=body)[0])

    def finish(self) -> list[DemoMessage]:
        rng, out = self.rng, []
        self.entries.sort(key=lambda e: (e.date, e.seq))
        for folder in DEMO_FOLDERS:
            group = [e for e in self.entries if e.folder == folder]
            for rank, entry in enumerate(reversed(group)):
                flags = entry.flags
                if folder == "Drafts":
                    flags |= {"\\Draft", "\\Seen"}
                    continue
                unseen = rank < UNSEEN_NEWEST.get(folder, 0) and "\\Answered" not in flags
                if folder == "INBOX" and rank >= UNSEEN_NEWEST[folder]:
                    unseen = rng.random() < 0.03
                    if rng.random() < 0.05:
                        flags.add("\\Answered")
                if not unseen or folder in ("Sent", "Trash"):
                    flags.add("\\Seen")
                if folder != "Trash" and rng.random() < (0.05 if folder == "Sent" else 0.15):
                    flags.add("\\Flagged")
        order = ("\\Seen", "\\Answered", "\\Flagged", "\\Draft")
        for entry in self.entries:
            out.append(DemoMessage(entry.folder, entry.raw,
                                   tuple(f for f in order if f in entry.flags), entry.date))
        return out


def generate_demo(seed: int = 7, now: datetime = DEMO_NOW, inbox_size: int = 320
                  ) -> list[DemoMessage]:
    """The demo messages of every folder, oldest first (append them in this order)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    builder = _Builder(random.Random(seed), now.astimezone(UTC).replace(microsecond=0))
    builder.threads()
    builder.specials()
    fixed = sum(e.folder == "INBOX" for e in builder.entries)
    if inbox_size < fixed:
        raise ValueError(f"inbox_size must be at least {fixed}")
    builder.fill("INBOX", inbox_size - fixed, "i", 0.02, 548)
    for folder, (count, tag, lo, hi) in FOLDER_PLAN.items():
        builder.fill(folder, count, tag, lo, hi)
    return builder.finish()


def _nodelay(client: Any, on: bool | int) -> bool | int:
    """Set TCP_NODELAY on the client's socket, returning the old value. imapclient sends an
    APPEND in many small writes; with Nagle plus delayed ACKs every command then stalls
    ~40 ms, which dominates loading the demo."""
    try:
        sock = client.socket()
        old = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(on))
        return old
    except (AttributeError, OSError):
        return on


def load_demo(client: Any, messages: list[DemoMessage], chunk_size: int = 200) -> None:
    """Create, subscribe and fill every demo folder on a logged-in ``IMAPClient``.

    Folders are created parents first (existing ones are kept); all but
    ``DEMO_UNSUBSCRIBED`` are subscribed; messages are appended in list order with
    MULTIAPPEND, ``chunk_size`` per command (one APPEND each without MULTIAPPEND).
    """
    # imapclient re-encodes even bytes names when folder_encode is on ("&" -> "&-"), and
    # with it off multiappend() cannot work at all (it builds a str argument): so switch
    # it on for the duration and pass display names as str.
    old_encode = getattr(client, "folder_encode", True)
    client.folder_encode = True
    old_nodelay = _nodelay(client, True)
    try:
        _load(client, messages, chunk_size)
    finally:
        client.folder_encode = old_encode
        _nodelay(client, old_nodelay)


def _load(client: Any, messages: list[DemoMessage], chunk_size: int) -> None:
    from imapclient.exceptions import IMAPClientError

    def text(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value or "")

    def server_name(display: str) -> str:
        if display.upper() == "INBOX":
            return display
        return prefix + display.replace("/", delimiter)

    delimiter, prefix = "/", ""
    capabilities = client.capabilities()
    if b"NAMESPACE" in capabilities:
        personal = client.namespace().personal
        if personal:
            prefix, delimiter = text(personal[0][0]), text(personal[0][1]) or "/"
    else:
        listed = client.list_folders("", "")
        if listed and listed[0][1]:
            delimiter = text(listed[0][1])
    folders = list(DEMO_FOLDERS) + sorted({m.mailbox for m in messages} - set(DEMO_FOLDERS))
    wanted: list[str] = []
    for folder in folders:  # parents first
        parts = folder.split("/")
        wanted += ["/".join(parts[: i + 1]) for i in range(len(parts))]
    wanted = list(dict.fromkeys(wanted))
    existing = {text(name) for _, _, name in client.list_folders()}
    for folder in wanted:
        server = server_name(folder)
        if folder.upper() != "INBOX" and server not in existing:
            try:
                client.create_folder(server)
            except IMAPClientError as exc:
                if "exist" not in str(exc).lower():
                    raise
        if folder not in DEMO_UNSUBSCRIBED:
            client.subscribe_folder(server)
    multi = b"MULTIAPPEND" in capabilities
    for folder in wanted:
        items = [{"msg": m.raw, "flags": m.flags, "date": m.internal_date}
                 for m in messages if m.mailbox == folder]
        server = server_name(folder)
        for start in range(0, len(items), chunk_size if multi else 1):
            if multi:
                client.multiappend(server, items[start: start + chunk_size])
            else:
                item = items[start]
                client.append(server, item["msg"], item["flags"], item["date"])
