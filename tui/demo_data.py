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


# key: (display name, address, UTC offset in minutes, short name used in bodies)
SENDERS: dict[str, tuple[str, str, int, str]] = {
    "me": ("Sam Taylor", "sam.taylor@example.org", 0, "Sam"),
    "zoe": ("Zoë Müller", "zoe.mueller@example.de", 60, "Zoë"),
    "jose": ("José Álvarez", "jose.alvarez@example.es", 60, "José"),
    "hanako": ("佐藤 花子", "hanako.sato@example.jp", 540, "花子"),
    "priya": ("Priya Raman", "priya.raman@example.com", 330, "Priya"),
    "lukasz": ("Łukasz Wójcik", "lukasz.wojcik@example.pl", 60, "Łukasz"),
    "amara": ("Amara Okafor", "amara.okafor@example.com", 60, "Amara"),
    "chen": ("Chen Wei", "chen.wei@example.cn", 480, "Chen"),
    "olivia": ("Olivia Bennett", "olivia.bennett@example.co.uk", 0, "Olivia"),
    "mateo": ("Mateo Rossi", "mateo.rossi@example.it", 60, "Mateo"),
    "ingrid": ("Ingrid Søndergaard", "ingrid@example.dk", 60, "Ingrid"),
    "noah": ("Noah Fischer", "noah.fischer@example.com", -300, "Noah"),
    "fatima": ("Fatima El Idrissi", "fatima.elidrissi@example.net", 0, "Fatima"),
    "forge": ("Forge", "notifications@forge.example.com", 0, "Forge"),
    "news": ("Tech Weekly", "newsletter@techweekly.example.net", 0, "Tech Weekly"),
    "shop": ("Ñandú Outdoor", "shop@nandu.example.com", 60, "Ñandú"),
    "cal": ("Team Calendar", "calendar@example.org", 0, "Calendar"),
    "bank": ("Example Bank", "no-reply@bank.example.com", 60, "Example Bank"),
    "billing": ("CloudHost Billing", "billing@cloudhost.example.com", 0, "CloudHost"),
    "rail": ("Bahn Tickets", "tickets@rail.example.eu", 60, "Bahn"),
    "prize": ("Prize Committee", "winner@prizes.example.net", 0, "Prize"),
}
PEOPLE = tuple(k for k in SENDERS if k not in {
    "me", "forge", "news", "shop", "cal", "bank", "billing", "rail", "prize"})
PROJECTS = ("Alpha", "Orion", "Helios", "Juniper")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
MONTHS = ("January February March April May June July August September October November "
          "December").split()  # not strftime("%B"): that follows the locale
ISSUES = ("Crash when a folder name contains '&'", "Unicode subjects are cut off",
          "Add a dark theme", "IDLE reconnect loops forever", "Sort by size")
HEADLINES = ("Python 3.14 is out", "Rust in the kernel, one year on",
             "Terminal UIs are back", "IMAP is 40 years old")

# Filler templates: (sender key or "people", kind, folder tags, subject, body).
# kinds: plain, alt (text+html), html (html only), pdf / specs (with attachments).
# tags: i=INBOX a=Archive t=Trash p=Projects s=Sent n=Newsletters r=Reçus x=Specs
TEMPLATES: tuple[tuple[str, str, str, str, str], ...] = (
    ("people", "plain", "ia", "Lunch on {day}?",
     "Hi {me},\n\nare you free for lunch on {day}? The new ramen place near the "
     "station finally opened.\n\nCheers,\n{name}"),
    ("people", "plain", "iap", "Quick question about {project}",
     "Hey {me},\n\ndo you know who owns the deployment scripts for {project}? The README "
     "still points at the old wiki page.\n\nThanks!\n{name}"),
    ("people", "alt", "iap", "Notes from today's {project} sync",
     "Hi all,\n\nshort summary of today's sync:\n\n- the {project} beta ships on {day}\n"
     "- {name} takes over the on-call rota\n- open question: do we keep the old API?\n\n"
     "Full notes are in the wiki.\n\n{name}"),
    ("zoe", "plain", "ia", "Grüße aus München",
     "Hallo {me},\n\nviele Grüße aus München! Das Wetter ist herrlich und die Konferenz "
     "war großartig. Nächste Woche bin ich wieder im Büro.\n\nLiebe Grüße\nZoë"),
    ("jose", "plain", "ia", "Réunion de lundi — ordre du jour",
     "Bonjour {me},\n\nvoici l'ordre du jour pour lundi :\n\n1. Bilan du trimestre\n"
     "2. Feuille de route {project}\n3. Questions diverses\n\nÀ lundi,\nJosé"),
    ("hanako", "plain", "ia", "週末の予定について",
     "{me}さん\n\n週末のハイキングの件、土曜日の朝9時に駅で集合でいかがでしょうか？\n"
     "雨の場合は日曜日に延期します。\n\n花子"),
    ("people", "alt", "ia", "Photos from the weekend 📷",
     "Hi {me},\n\nI uploaded the photos from the weekend to the shared album. The one "
     "with the goat is my favourite.\n\n{name}"),
    ("people", "plain", "iap", "Can you review PR #{n}?",
     "Hi {me},\n\ncould you take a look at PR #{n} when you have a minute? It touches "
     "the {project} cache layer, so a second pair of eyes would help.\n\n{name}"),
    ("people", "plain", "ia", "Re-scheduling our 1:1",
     "Hi {me},\n\nsomething came up on {day}. Could we move our 1:1 to {time}?\n\n{name}"),
    ("people", "plain", "ia", "Travel expenses for {month}",
     "Hi {me},\n\nplease submit your travel expenses for {month} by the end of the "
     "week. Receipts can be scanned.\n\nThanks,\n{name}"),
    ("people", "alt", "ip", "Heads-up: {project} code freeze starts {day}",
     "Hi everyone,\n\nthe {project} code freeze starts on {day} at {time}. Please land "
     "your changes before then.\n\n- bug fixes are fine after the freeze\n- features are "
     "not\n\n{name}"),
    ("people", "plain", "ia", "Book recommendation",
     "{me},\n\nyou asked for a book tip: \"The Soul of a New Machine\" by Tracy Kidder. "
     "Still holds up.\n\n{name}"),
    ("forge", "plain", "iat", "[tui-mail] Issue #{n}: {issue}",
     "{issue} (#{n})\n\nOpened by {name2}.\n\nSteps to reproduce are in the issue.\n\n--\n"
     "Reply to this email directly or view it on Forge:\n"
     "https://forge.example.com/tui-mail/tui-mail/issues/{n}"),
    ("forge", "plain", "iat", "[tui-mail] CI failed on main ({sha})",
     "Workflow \"tests\" failed for commit {sha} on main.\n\n  test_threads.py::"
     "test_reply_chain FAILED\n\nhttps://forge.example.com/tui-mail/tui-mail/actions/{n}"),
    ("news", "html", "itn", "Tech Weekly #{n}: {headline}", "newsletter"),
    ("shop", "html", "itn", "Ñandú Outdoor — Sommer-Schlussverkauf ☀", "newsletter"),
    ("cal", "alt", "ip", "Invitation: {project} planning @ {day} {time}",
     "You have been invited to \"{project} planning\".\n\nWhen: {day} {time}\n"
     "Where: Room 4.12 / video call\nOrganizer: {name2}\n\nAccept or decline in your "
     "calendar."),
    ("bank", "plain", "iar", "Your statement for {month} is ready",
     "Dear customer,\n\nyour account statement for {month} is now available in online "
     "banking.\n\nThis is an automated message, please do not reply."),
    ("billing", "pdf", "r", "Receipt for your payment to CloudHost ({amount})",
     "Thank you for your payment of {amount}.\n\nInvoice #{n} is attached as a PDF."),
    ("rail", "pdf", "r", "Ihre Fahrkarte – Buchung {n}",
     "Guten Tag,\n\nvielen Dank für Ihre Buchung. Ihre Fahrkarte finden Sie im Anhang."
     "\n\nGute Reise!"),
    ("shop", "pdf", "r", "Reçu n° {n} — commande confirmée",
     "Merci pour votre commande de {amount}. Votre reçu est joint à ce message."),
    ("me", "plain", "s", "Slides for {day}",
     "Hi {name},\n\nhere are my notes for the slides on {day}. I'll send the final deck "
     "tomorrow.\n\nSam"),
    ("me", "plain", "s", "Thanks!",
     "Hi {name},\n\nthanks a lot for your help with {project} last week!\n\nSam"),
    ("people", "specs", "x", "{project} data model, revision {n}",
     "Hi,\n\nattached are the updated data model export and the diagram for revision "
     "{n}.\n\n{name}"),
)

# (folder, subject, first message days before now, hours between, messages)
THREADS: tuple[tuple[str, str, float, float, tuple[tuple[str, str], ...]], ...] = (
    ("INBOX", "Alpha launch checklist", 1.6, 5, (
        ("zoe", "Hi all,\n\nI put the launch checklist in the shared drive. Please tick "
         "off your items by Thursday:\n\n- release notes\n- migration guide\n"
         "- status page update"),
        ("me", "Thanks Zoë! Release notes are done, I'll take the migration guide too."),
        ("jose", "Status page is updated. I also added a rollback section."),
        ("me", "The rollback section looks good. Dry run tomorrow at 10:00?"),
        ("zoe", "Dry run works for me. See you at 10!"))),
    ("INBOX", "Über das Budget 2027", 38, 20, (
        ("lukasz", "Hallo Sam,\n\nanbei meine Anmerkungen zum Budgetentwurf. Die "
         "Reisekosten sind aus meiner Sicht zu knapp bemessen."),
        ("me", "Hallo Łukasz,\n\ndanke! Ich erhöhe die Reisekosten um 10 % und schicke "
         "dir die neue Version."),
        ("lukasz", "Perfekt, danke. Dann gebe ich den Entwurf am Freitag frei."))),
    ("INBOX", "会議の議事録 — meeting notes", 95, 9, (
        ("hanako", "皆さん、\n\n本日の会議の議事録を共有します。\n\n1. リリース日程の確認\n"
         "2. 翻訳の進捗\n3. 次回の会議は来週の水曜日です。"),
        ("me", "Thank you, Hanako! Could you add the translation deadline to item 2?"),
        ("hanako", "はい、追加しました。The deadline is the 14th."),
        ("priya", "Thanks both. I'll sync the glossary before then."))),
    ("INBOX", "Offsite venue options", 210, 30, (
        ("olivia", "Hi everyone,\n\nI shortlisted three venues for the spring offsite:\n"
         "\n1. Lakeside Lodge (60 people)\n2. The Old Mill (40 people)\n"
         "3. Harbour Loft (80 people)\n\nPreferences?"),
        ("mateo", "The Old Mill looks lovely, but 40 is tight if the design team joins."),
        ("me", "+1 for Lakeside Lodge, it has the better train connection."),
        ("olivia", "Lakeside it is, unless someone objects by Friday."),
        ("ingrid", "No objection — can we make sure there are vegetarian options?"),
        ("me", "I'll ask them about the menu. Thanks for organising, Olivia!"))),
    ("Projects/Alpha", "Spec review: sync protocol v2", 21, 26, (
        ("priya", "Hi,\n\nthe draft for sync protocol v2 is ready for review. Main "
         "change: we switch from polling to IDLE with a 29 minute refresh."),
        ("me", "Looks good overall. What happens when the server has no IDLE?"),
        ("chen", "We fall back to NOOP polling every 60 seconds. I added a section."),
        ("priya", "Merged Chen's section. I'll mark the spec as accepted on Monday."))),
)

# folder -> (count, template tag, min days ago, max days ago); INBOX is filled separately
FOLDER_PLAN = {
    "Sent": (14, "s", 1, 540), "Trash": (9, "t", 1, 60), "Archive": (42, "a", 200, 548),
    "Newsletters": (12, "n", 0.5, 300), "Reçus": (8, "r", 3, 400),
    "Projects": (5, "p", 5, 300), "Projects/Alpha": (8, "p", 2, 120),
    "Projects/Alpha/Specs": (6, "x", 3, 150),
}
DRAFTS = (
    ("zoe", "Antwort: Übergabe der Schlüssel", "Hallo Zoë,\n\ndie Übergabe könnte am"),
    ("olivia", "Offsite ideas (unfinished)", "Ideas so far:\n\n- boat trip\n- "),
    ("jose", "", "José, about the contract —"),
)
NEWSLETTER_HTML = """<html><head><meta charset="utf-8"><title>{sender}</title></head>
<body style="font-family: sans-serif">
<h1>{subject}</h1>
<p>Hello {me}, here is what happened this week:</p>
<ul>
<li><a href="https://{domain}/articles/{n}">{headline}</a> &ndash; the long read</li>
<li><a href="https://{domain}/articles/{n2}">Ten keyboard shortcuts you will love</a></li>
<li>Deal of the week: <b>{amount}</b> off with code <code>DEMO{n}</code></li>
</ul>
<table border="1" cellpadding="4">
<tr><th>Release</th><th>Version</th><th>Date</th></tr>
<tr><td>Textual</td><td>8.2</td><td>{day}</td></tr>
<tr><td>Dovecot</td><td>2.4</td><td>{month}</td></tr>
</table>
<p>You receive this because you subscribed at {domain}.
<a href="https://{domain}/unsubscribe?u={n}">Unsubscribe</a></p>
</body></html>
"""
MARKUP_SUBJECT = "[@click=app.quit]Free prize[/] \x1b]52;c;ZXZpbA==\x07 [/bold]"
MARKUP_BODY = ("Congratulations!!! [bold red]You won[/] a [@click=app.quit]prize[/].\n"
               "\x1b[31mThis line tries to turn your terminal red.\x1b[0m\n"
               "\x1b]0;pwned title\x07[link=https://evil.example.com]claim here[/link]\n")
DSN_TEMPLATE = """From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: Sam Taylor <sam.taylor@example.org>
Subject: Undelivered Mail Returned to Sender
Date: {date}
Message-ID: {msgid}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
 boundary="=_dsn_{seq}"

This is a MIME-encapsulated message.

--=_dsn_{seq}
Content-Type: text/plain; charset=us-ascii
Content-Description: Notification

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<lars@invalid.example.com>: host mx.invalid.example.com[192.0.2.25] said:
    550 5.1.1 <lars@invalid.example.com>: Recipient address rejected:
    User unknown in virtual mailbox table

--=_dsn_{seq}
Content-Type: message/delivery-status
Content-Description: Delivery report

Reporting-MTA: dns; mx.example.org
Arrival-Date: {date}

Final-Recipient: rfc822; lars@invalid.example.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.invalid.example.com
Diagnostic-Code: smtp; 550 5.1.1 Recipient address rejected: User unknown

--=_dsn_{seq}
Content-Type: text/rfc822-headers
Content-Description: Undelivered Message Headers

From: Sam Taylor <sam.taylor@example.org>
To: lars@invalid.example.com
Subject: Slides for Thursday
Date: {orig_date}
Message-ID: <slides.{seq}@example.org>

--=_dsn_{seq}--
"""
REPORT_LINES = (
    "Capacity stayed within the planned envelope for the whole quarter.",
    "Two incidents were caused by expired certificates; renewal is now automated.",
    "Backups were restored successfully in the monthly drill (RTO 41 minutes).",
    "Disk usage grows by roughly 3% per month; no action needed before Q2.",
)


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


def _png(size: int = 8) -> bytes:
    """A tiny valid RGB PNG (a colour gradient)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\0" + b"".join(bytes((x * 32, y * 32, 200)) for x in range(size))
                    for y in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2,
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
            for index, (sender, text) in enumerate(posts):
                to, body, headers = "me" if sender != "me" else people[1], text, []
                if index:  # a reply to the previous post, quoting it
                    to, quoted = posts[index - 1]
                    body += (f"\n\nOn {_date_header(to, prev_date)}, {SENDERS[to][0]} "
                             "wrote:\n" + "\n".join(f"> {ln}".rstrip()
                                                   for ln in quoted.split("\n")))
                    headers = [("In-Reply-To", refs[-1]), ("References", " ".join(refs))]
                    if sender == "me" and entry.folder != "Sent":
                        entry.flags.add("\\Answered")
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
