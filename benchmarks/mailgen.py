"""A realistic, deterministic mailbox for benchmarks (stdlib only, no `email` package).

`generate(count, seed)` yields `{"msg": bytes, "flags": (...), "date": datetime}` items,
oldest first, ready for `tests/servers.fill_maildir`. Dates only go forward, so sequence
order, UID order, INTERNALDATE order and Date: header order all agree: the last item is
the newest message by every measure a client may sort on.

What a mailbox looks like (rough shares, chosen to resemble a busy work INBOX):

- senders: 1,500 people at ~150 domains (a few write most of the mail), 20 mailing
  lists and 10 notification robots; about 20% of display names are non-ASCII and sent
  RFC 2047 encoded (`=?UTF-8?B?..?=` or `=?ISO-8859-1?Q?..?=`)
- subjects: ~10% non-ASCII, RFC 2047 encoded; some long enough to be folded
- threads: ~45% of messages answer a recent thread: `Re: <subject>`, `In-Reply-To` the
  parent and a `References` chain back to the root (trimmed like real clients do)
- headers: Return-Path, 2-5 Received lines, DKIM-Signature, Authentication-Results,
  List-* for list mail, X-Mailer...: a 0.7-2.7 KB header block (median 1.8 KB), as on real mail
- bodies: 65% text/plain (quoted text in replies), 28% multipart/alternative (text +
  HTML), 7% multipart/mixed with a base64 attachment of 10 KB - 1.5 MB (PDF, PNG, ZIP,
  DOCX), log-distributed; median message ~3.5 KB, mean ~20 KB (10k: ~200 MB)
- flags: ~2.5% unread (more of them among the newest), ~2% \\Flagged, ~8% \\Answered;
  the newest message is unread and its subject is `newest_subject(count)` (ASCII, so a
  screen scraper can find it)

Usage as a script (writes a Maildir you can point Dovecot at, or just prints stats):
    python benchmarks/mailgen.py --count 10000 [--maildir DIR]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import random
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

__all__ = ["NEWEST_SENDER", "generate", "newest_subject"]

END = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)
NEWEST_SENDER = "Release Bot <releases@ci.example.com>"

FIRST = [
    "Anna", "Ben", "Carla", "David", "Eva", "Frank", "Grace", "Henry", "Irene", "Jack",
    "Karin", "Leo", "Maria", "Nils", "Olga", "Paul", "Quinn", "Rosa", "Sam", "Tina", "Uwe",
    "Vera", "Walter", "Xenia", "Yusuf", "Zoe", "Alice", "Bob", "Chen", "Diego", "Emma",
    "Femi", "Gita", "Hiro", "Ines", "Jonas", "Kemal", "Lena", "Marco", "Nora", "Omar",
    "Priya", "Rafael", "Sofia", "Tom", "Ursula", "Viktor", "Wen", "Yara", "Zeynep", "Mark",
    "Julia", "Peter", "Laura", "Simon", "Hannah", "Lukas", "Mia", "Felix", "Clara"
]
LAST = [
    "Smith", "Müller", "Schmidt", "Garcia", "Rossi", "Dubois", "Kowalski", "Novak",
    "Jensen", "Larsen", "Silva", "Costa", "Yamamoto", "Kim", "Nguyen", "Patel", "Singh",
    "Ivanova", "Petrov", "Andersson", "Berg", "Fischer", "Weber", "Wagner", "Becker",
    "Hoffmann", "Schulz", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz",
    "Zimmermann", "Braun", "Krüger", "Hartmann", "Lange", "Werner", "Krause", "Lehmann",
    "Köhler", "Walter", "Maier", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang",
    "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Vogel", "Friedrich", "Keller", "Günther",
    "Frank"
]
# names that really need RFC 2047
UNICODE_NAMES = [
    "José Álvarez", "Zoë Lefèvre", "Søren Kierkegård", "Łukasz Wąsowski", "Jürgen Größ",
    "François Besançon", "Ōtsuka Ryūnosuke", "山田 太郎", "李 娜", "Дмитрий Иванов",
    "Ελένη Παπαδοπούλου", "Ağustos Çelik", "Nguyễn Văn An", "Åsa Öberg", "İlkay Gündoğan",
]
DOMAINS_BASE = [
    "example.com", "example.org", "example.net", "acme.test", "globex.test", "initech.test",
    "umbrella.test", "hooli.test", "piedpiper.test", "vandelay.test", "wayne.test",
    "stark.test", "tyrell.test", "cyberdyne.test"
]
LISTS = [
    ("dev", "Developer discussion"), ("announce", "Announcements"), ("users", "User help"),
    ("security", "Security notices"), ("infra", "Infrastructure"), ("design", "Design review"),
    ("release", "Release coordination"), ("kernel", "Kernel patches"), ("docs", "Documentation"),
    ("random", "Off topic"), ("ops", "On-call"), ("qa", "Quality assurance"), ("perf", "Performance"),
    ("i18n", "Translations"), ("legal", "Legal"), ("hr", "People team"), ("sales", "Sales"),
    ("support", "Support escalations"), ("mobile", "Mobile apps"), ("data", "Data platform"),
]
ROBOTS = [
    ("GitHub", "notifications@github.example.com"), ("Jira", "jira@tracker.example.com"),
    ("Jenkins", "jenkins@ci.example.com"), ("PagerDuty", "alerts@pager.example.com"),
    ("Calendar", "calendar-notification@example.com"), ("Sentry", "noreply@sentry.example.com"),
    ("Confluence", "confluence@wiki.example.com"), ("Bank", "statements@bank.example.net"),
    ("Newsletter", "news@letters.example.org"), ("Travel", "booking@travel.example.net"),
]
WORDS = [
    "build", "release", "deploy", "migration", "outage", "report", "budget", "review",
    "meeting", "agenda", "plan", "roadmap", "quarterly", "invoice", "contract", "proposal",
    "draft", "feedback", "update", "status", "question", "request", "design", "prototype",
    "benchmark", "latency", "cache", "index", "server", "client", "database", "schema",
    "backup", "restore", "incident", "postmortem", "hiring", "onboarding", "travel",
    "expenses", "workshop", "conference", "slides", "demo", "customer", "partner",
    "renewal", "pricing", "security", "audit", "patch", "kernel", "driver", "firmware",
    "network", "storage", "cluster", "monitoring", "alert", "dashboard", "metrics",
    "logging", "tracing", "sprint", "retro", "planning", "estimate", "ticket", "bug",
    "regression", "feature", "flag", "rollout", "rollback", "config", "secrets",
    "certificate", "renewal", "domain", "DNS", "mail"
]
TEMPLATES = [
    "{W} {w} for {w}", "Question about the {w} {w}", "[{L}] {W} {w} {w}", "{W}: {w} and {w}",
    "Re-{w} the {w} {w}", "Minutes: {w} {w} meeting", "{W} {w} - action needed",
    "FYI: {w} {w}", "Draft {w} {w} v{n}", "Proposal: {w} {w} {w} {w}",
    "[PATCH v{n} {n}/{m}] {w}: {w} {w} {w} in {w}", "Your {w} {w} #{big}",
    "{W} {w} {w} {w} {w} {w} {w} {w} {w} {w} {w} {w}",  # long: gets folded
    "Invitation: {W} {w} @ Tue {n}:00 - {m}:00", "[{L}] Weekly {w} digest",
]
UNICODE_SUBJECTS = [
    "Grüße aus München: {w}", "Réunion de l'équipe – {w}", "Предложение по {w}",
    "会議の議事録 {w}", "关于{w}的问题", "Ευχαριστώ για το {w}", "Çalışma planı: {w}",
    "Năm mới – {w}", "Årsrapport för {w} ✓", "¿Revisión del {w}? 🙂", "Über die {w}-Änderung",
]
QUOTES = [
    "Thanks for the quick turnaround on this.", "I had a look and have a few comments inline.",
    "Can we discuss this in tomorrow's meeting?", "Looks good to me, ship it.",
    "I am not sure this covers the case where the cache is cold.",
    "Attached is the updated version with your remarks addressed.",
    "Let me know if anything is unclear.", "Sorry for the late reply, I was travelling.",
    "We saw the same thing on the staging cluster last week.",
    "The numbers below are from a run on an otherwise idle machine.",
]
LOREM = [
    "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed",
    "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna",
    "aliqua", "ut", "enim", "ad", "minim", "veniam", "quis", "nostrud", "exercitation",
    "ullamco", "laboris", "nisi", "aliquip", "ex", "ea", "commodo", "consequat", "duis",
    "aute", "irure", "in", "reprehenderit", "voluptate", "velit", "esse", "cillum",
    "fugiat", "nulla", "pariatur", "excepteur", "sint", "occaecat", "cupidatat", "non",
    "proident", "sunt", "culpa", "qui", "officia", "deserunt", "mollit", "anim", "id",
    "est", "laborum"
]
ATTACHMENTS = [
    ("application/pdf", "report-{n}.pdf"), ("image/png", "screenshot-{n}.png"),
    ("application/zip", "logs-{n}.zip"), ("image/jpeg", "IMG_{big}.jpg"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "notes {n}.docx"),
    ("text/csv", "export-{n}.csv"), ("application/octet-stream", "trace-{n}.bin"),
]


_QP_UNSAFE = re.compile(r"[^\x20-\x3c\x3e-\x7e\r\n]+")


def newest_subject(count: int) -> str:
    """The Subject of the newest message in a mailbox of `count` (plain ASCII)."""
    return f"Nightly build {count} passed: all green"


def _q_encode(text: str, charset: str) -> str:
    out = []
    for byte in text.encode(charset):
        char = chr(byte)
        if char == " ":
            out.append("_")
        elif char.isalnum() and byte < 128:
            out.append(char)
        else:
            out.append(f"={byte:02X}")
    return f"=?{charset}?Q?{''.join(out)}?="


def encode_words(text: str, rng: random.Random) -> str:
    """RFC 2047 for non-ASCII text, split in encoded words of <= 75 chars; ASCII unchanged."""
    if text.isascii():
        return text
    if rng.random() < 0.3:
        try:
            text.encode("iso-8859-1")
            return _q_encode(text, "ISO-8859-1")
        except UnicodeEncodeError:
            pass
    words, chunk = [], ""
    for char in text:  # never split a character's UTF-8 bytes across words
        if len((chunk + char).encode()) > 45:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return "\r\n ".join(f"=?UTF-8?B?{base64.b64encode(w.encode()).decode()}?=" for w in words)


def fold(name: str, value: str, limit: int = 78) -> str:
    """`Name: value` folded at spaces to lines of <= `limit` (encoded words kept whole)."""
    line = f"{name}: "
    lines = []
    for word in value.split(" "):
        if len(line) + len(word) > limit and line.strip() and not line.endswith(": "):
            lines.append(line.rstrip())
            line = " "
        line += word + " "
    lines.append(line.rstrip())
    return "\r\n".join(lines)


class _Person:
    __slots__ = ("address", "header", "name")

    def __init__(self, name: str, address: str, rng: random.Random) -> None:
        self.name = name
        self.address = address
        encoded = encode_words(name, rng)
        if encoded == name and any(c in name for c in ",.;:@\"()"):
            encoded = '"' + name + '"'
        self.header = f"{encoded} <{address}>"


class MailboxGenerator:
    def __init__(self, count: int, seed: int = 1) -> None:
        self.count = count
        self.rng = rng = random.Random(seed)
        domains = DOMAINS_BASE + [
            f"{rng.choice(WORDS)}{rng.choice(WORDS)}.{rng.choice(['com', 'org', 'net', 'de', 'fr', 'io'])}"
            for _ in range(140)
        ]
        self.people: list[_Person] = []
        for index in range(1500):
            if rng.random() < 0.12:
                name = rng.choice(UNICODE_NAMES)
            else:
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            local = "".join(c for c in name.lower().replace(" ", ".") if c.isascii() and (c.isalnum() or c == ".")).strip(".")
            address = f"{local or 'user'}.{index}@{rng.choice(domains)}"
            self.people.append(_Person(name, address, rng))
        self.me = _Person("Me Myself", "me@example.com", rng)
        self.lists = [(tag, desc, f"{tag}@lists.example.org") for tag, desc in LISTS]
        self.robots = [_Person(name, addr, rng) for name, addr in ROBOTS]
        # a sender's "popularity": a few people write most of the mail
        self.cum_weights = list(itertools.accumulate(1.0 / (1 + i) ** 0.8 for i in range(len(self.people))))
        self.blob = base64.b64encode(random.Random(seed + 1).randbytes(1_200_000)).decode()
        self.dkim = base64.b64encode(random.Random(seed + 2).randbytes(256)).decode()
        prose = random.Random(seed + 4)
        self.paragraphs = [self._make_paragraph(prose) for _ in range(3000)]
        self.threads: list[dict] = []  # recent threads: root subject, ids, participants

    # -- pieces --------------------------------------------------------------------------

    def _words(self, template: str, list_tag: str) -> str:
        rng = self.rng
        out = template
        while "{w}" in out:
            out = out.replace("{w}", rng.choice(WORDS), 1)
        while "{W}" in out:
            out = out.replace("{W}", rng.choice(WORDS).capitalize(), 1)
        return out.format(L=list_tag, n=rng.randint(1, 9), m=rng.randint(10, 19), big=rng.randint(1000, 99999))

    def _subject(self, list_tag: str) -> str:
        rng = self.rng
        if rng.random() < 0.10:
            return self._words(rng.choice(UNICODE_SUBJECTS), list_tag)
        return self._words(rng.choice(TEMPLATES), list_tag)

    def _make_paragraph(self, rng: random.Random) -> str:
        out = []
        for _ in range(rng.randint(2, 6)):
            out.append(" ".join(rng.choices(LOREM, k=rng.randint(6, 18))).capitalize() + ".")
        text = " ".join(out)
        lines, line = [], ""
        for word in text.split(" "):  # wrap at 72 like a mail client
            if len(line) + len(word) >= 72:
                lines.append(line.rstrip())
                line = ""
            line += word + " "
        lines.append(line.rstrip())
        return "\r\n".join(lines)

    def _paragraph(self) -> str:
        return self.rng.choice(self.paragraphs)

    def _text_body(self, sender: _Person, quoted: bool) -> str:
        rng = self.rng
        paragraphs = max(1, int(rng.lognormvariate(0.8, 0.7)))
        parts = [f"Hi,\r\n\r\n{rng.choice(QUOTES)}"]
        parts += [self._paragraph() for _ in range(paragraphs)]
        parts.append(f"Best,\r\n{sender.name.split(' ')[0]}")
        if quoted:
            quote = "\r\n".join(self._paragraph() for _ in range(rng.randint(1, 3)))
            parts.append("On an earlier day, someone wrote:\r\n" + "\r\n".join("> " + q for q in quote.split("\r\n")))
        if rng.random() < 0.5:
            parts.append("-- \r\n" + f"{sender.name}\r\n{rng.choice(WORDS).capitalize()} team, +49 30 {rng.randint(1000000, 9999999)}")
        return "\r\n\r\n".join(parts) + "\r\n"

    def _qp(self, text: str) -> str:
        """Quoted-printable that is good enough (UTF-8 text, lines already short)."""
        encoded = _QP_UNSAFE.sub(lambda m: "".join(f"={b:02X}" for b in m.group().encode()), text)
        lines = []
        for line in encoded.split("\r\n"):
            while len(line) > 76:  # soft line breaks, never inside an =XX escape
                cut = 75
                while "=" in line[cut - 2 : cut]:
                    cut -= 1
                lines.append(line[:cut] + "=")
                line = line[cut:]
            lines.append(line)
        return "\r\n".join(lines)

    def _html(self, text: str) -> str:
        paragraphs = "".join(
            f'<p style="margin:0 0 12px 0;font-family:Arial,Helvetica,sans-serif;font-size:14px">{p.replace(chr(13) + chr(10), " ")}</p>\r\n'
            for p in text.split("\r\n\r\n")
        )
        return (
            '<!DOCTYPE html>\r\n<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            "<style>body{margin:0;padding:0}table{border-collapse:collapse}</style></head>\r\n"
            '<body><table width="100%" cellpadding="0" cellspacing="0"><tr><td style="padding:16px">\r\n'
            f"{paragraphs}</td></tr></table></body></html>\r\n"
        )

    def _boundary(self, index: int, tag: str) -> str:
        return f"----=_Part_{tag}_{hashlib.md5(f'{index}{tag}'.encode()).hexdigest()[:16]}"

    def _attachment(self, index: int) -> tuple[str, str]:
        rng = self.rng
        ctype, template = rng.choice(ATTACHMENTS)
        name = template.format(n=rng.randint(1, 400), big=rng.randint(1000, 9999))
        size = int(min(1_500_000, max(10_000, rng.lognormvariate(11.3, 1.0))))  # median ~80 KB
        chars = (size + 2) // 3 * 4
        start = rng.randrange(0, max(1, len(self.blob) - chars))
        data = self.blob[start : start + chars]
        lines = "\r\n".join(data[i : i + 76] for i in range(0, len(data), 76))
        disp_name = encode_words(name, rng) if not name.isascii() else name
        head = (
            f'Content-Type: {ctype}; name="{disp_name}"\r\n'
            f'Content-Disposition: attachment; filename="{disp_name}"; size={size}\r\n'
            "Content-Transfer-Encoding: base64\r\n"
        )
        return head, lines

    # -- one message ---------------------------------------------------------------------

    def message(self, index: int, date: datetime) -> dict:
        rng = self.rng
        newest = index == self.count - 1
        list_tag = ""
        list_addr = ""
        reply_to_thread = None
        if newest:
            sender = _Person("Release Bot", "releases@ci.example.com", rng)
            subject = newest_subject(self.count)
        else:
            kind = rng.random()
            if kind < 0.18:
                sender = rng.choice(self.robots)
            else:
                sender = rng.choices(self.people, cum_weights=self.cum_weights)[0]
                if rng.random() < 0.35:
                    list_tag, _desc, list_addr = rng.choice(self.lists)
            if kind >= 0.18 and self.threads and rng.random() < 0.45 / 0.82:
                reply_to_thread = rng.choice(self.threads[-300:])
                subject = "Re: " + reply_to_thread["subject"]
                list_tag, list_addr = reply_to_thread["list"]
            else:
                subject = self._subject(list_tag or "misc")
        message_id = f"<{hashlib.sha1(f'{index}'.encode()).hexdigest()[:20]}.{index}@{sender.address.split('@')[1]}>"
        refs: list[str] = []
        if reply_to_thread is not None:
            parent = rng.choice(reply_to_thread["ids"][-4:])  # mostly the tail of the thread
            chain = reply_to_thread["chains"][parent]
            refs = chain + [parent]
            if len(refs) > 12:  # clients trim: root + the last few
                refs = refs[:1] + refs[-11:]
            reply_to_thread["ids"].append(message_id)
            reply_to_thread["chains"][message_id] = refs
        elif not newest and rng.random() < 0.5:
            self.threads.append(
                {"subject": subject, "ids": [message_id], "chains": {message_id: []},
                 "list": (list_tag, list_addr)}
            )
            if len(self.threads) > 2000:
                del self.threads[:1000]

        recipients = [self.me] + [rng.choices(self.people, cum_weights=self.cum_weights)[0] for _ in range(int(rng.expovariate(0.8)))]
        to = ", ".join(p.header for p in recipients[:3]) if not list_addr else f"{list_tag} list <{list_addr}>"
        cc = ", ".join(p.header for p in recipients[3:8])

        headers = [f"Return-Path: <{sender.address}>"]
        hops = rng.randint(2, 5)
        for hop in range(hops):
            stamp = format_datetime(date - timedelta(seconds=hops - hop))
            headers.append(
                f"Received: from mx{hop}.{sender.address.split('@')[1]} (mx{hop}.{sender.address.split('@')[1]} "
                f"[192.0.2.{rng.randint(1, 254)}])\r\n\tby mail.example.com (Postfix) with ESMTPS id "
                f"{rng.randrange(16**10):010X}\r\n\tfor <me@example.com>; {stamp}"
            )
        if rng.random() < 0.7:
            headers.append(
                f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={sender.address.split('@')[1]};\r\n"
                f"\ts=selector{rng.randint(1, 3)}; t={int(date.timestamp())};\r\n"
                "\th=from:to:subject:date:message-id:in-reply-to:references:mime-version;\r\n"
                f"\tbh={self.dkim[:44]};\r\n"
                "\tb=" + "\r\n\t  ".join(self.dkim[i : i + 64] for i in range(0, len(self.dkim), 64))
            )
            headers.append(
                "Authentication-Results: mail.example.com;\r\n\tdkim=pass header.d="
                f"{sender.address.split('@')[1]};\r\n\tspf=pass smtp.mailfrom={sender.address};\r\n\tdmarc=pass"
            )
        headers += [
            f"Date: {format_datetime(date)}",
            f"From: {sender.header}",
            fold("To", to),
        ]
        if cc:
            headers.append(fold("Cc", cc))
        headers.append(fold("Subject", encode_words(subject, rng)))
        headers.append(f"Message-ID: {message_id}")
        if refs:
            headers.append(f"In-Reply-To: {refs[-1]}")
            headers.append(fold("References", " ".join(refs)))
        if list_addr:
            headers += [
                f"List-Id: <{list_tag}.lists.example.org>",
                f"List-Post: <mailto:{list_addr}>",
                (f"List-Unsubscribe: <mailto:{list_tag}-leave@lists.example.org>,\r\n"
                 f" <https://lists.example.org/mailman/options/{list_tag}>"),
                "Precedence: list",
            ]
        if rng.random() < 0.5:
            headers.append(f"X-Mailer: {rng.choice(['Thunderbird 115.3', 'Apple Mail (2.3731)', 'Microsoft Outlook 16.0', 'mutt 2.2.12', 'K-9 Mail 6.7'])}")
        headers.append("MIME-Version: 1.0")

        text = self._text_body(sender, quoted=bool(refs))
        shape = rng.random()
        if newest:
            shape = 0.0
        if shape < 0.65:
            ctype = "Content-Type: text/plain; charset=utf-8; format=flowed"
            if text.isascii():
                body = text
                headers.append(ctype)
                headers.append("Content-Transfer-Encoding: 7bit")
            else:
                body = self._qp(text)
                headers.append(ctype)
                headers.append("Content-Transfer-Encoding: quoted-printable")
        else:
            alt = self._boundary(index, "alt")
            alternative = (
                f"--{alt}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                f"{self._qp(text)}\r\n--{alt}\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{self._qp(self._html(text))}\r\n--{alt}--\r\n"
            )
            if shape < 0.93:
                headers.append(f'Content-Type: multipart/alternative;\r\n\tboundary="{alt}"')
                body = alternative
            else:
                mixed = self._boundary(index, "mix")
                headers.append(f'Content-Type: multipart/mixed;\r\n\tboundary="{mixed}"')
                parts = [f"--{mixed}\r\nContent-Type: multipart/alternative;\r\n\tboundary=\"{alt}\"\r\n\r\n{alternative}"]
                for _ in range(1 if rng.random() < 0.8 else rng.randint(2, 3)):
                    head, data = self._attachment(index)
                    parts.append(f"--{mixed}\r\n{head}\r\n{data}\r\n")
                body = "This is a multi-part message in MIME format.\r\n\r\n" + "".join(parts) + f"--{mixed}--\r\n"

        raw = ("\r\n".join(headers) + "\r\n\r\n" + body).encode("utf-8")

        age = self.count - 1 - index
        unread = newest or rng.random() < (0.25 if age < 200 else 0.02)
        flags = []
        if not unread:
            flags.append("\\Seen")
        if rng.random() < 0.02:
            flags.append("\\Flagged")
        if not unread and rng.random() < 0.08:
            flags.append("\\Answered")
        return {"msg": raw, "flags": tuple(flags), "date": date}


def generate(count: int, seed: int = 1) -> Iterator[dict]:
    """`count` messages oldest first; the last one is the newest (see `newest_subject`)."""
    gen = MailboxGenerator(count, seed)
    rng = random.Random(seed + 3)
    gaps = [rng.expovariate(1 / 420) for _ in range(count)]  # ~7 min apart on average
    date = END - timedelta(seconds=sum(gaps))
    for index in range(count):
        date += timedelta(seconds=gaps[index])
        yield gen.message(index, date.replace(microsecond=0) if index else date)


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate a realistic mailbox (stats, or a Maildir).")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--maildir", help="write a Maildir here (cur/ new/ tmp/)")
    parser.add_argument("--dump", type=int, help="print message number N (0 = oldest) and exit")
    args = parser.parse_args()
    began = time.perf_counter()
    sizes, unread, flagged, replies, multipart, attached, encoded = [], 0, 0, 0, 0, 0, 0
    if args.maildir:
        import os
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(args.maildir, sub), exist_ok=True)
    for index, item in enumerate(generate(args.count, args.seed)):
        raw = item["msg"]
        if args.dump is not None:
            if index == args.dump:
                print(raw.decode())
                return
            continue
        sizes.append(len(raw))
        head = raw[: raw.find(b"\r\n\r\n")]
        unread += "\\Seen" not in item["flags"]
        flagged += "\\Flagged" in item["flags"]
        replies += b"\r\nReferences:" in head
        multipart += b"multipart/" in head
        attached += b"multipart/mixed" in head
        encoded += b"=?" in head
        if args.maildir:
            letters = "".join(sorted({"\\Seen": "S", "\\Flagged": "F", "\\Answered": "R"}[f] for f in item["flags"]))
            path = os.path.join(args.maildir, "cur", f"{int(item['date'].timestamp())}.M{index}.gen:2,{letters}")
            with open(path, "wb") as out:
                out.write(raw)
            stamp = item["date"].timestamp()
            os.utime(path, (stamp, stamp))
    n = len(sizes)
    sizes.sort()
    print(
        f"{n} messages in {time.perf_counter() - began:.1f} s: total {sum(sizes) / 1e6:.0f} MB, "
        f"median {sizes[n // 2] / 1e3:.1f} KB, mean {sum(sizes) / n / 1e3:.1f} KB, max {sizes[-1] / 1e6:.2f} MB; "
        f"unread {unread * 100 / n:.1f}%, flagged {flagged * 100 / n:.1f}%, replies {replies * 100 / n:.0f}%, "
        f"multipart {multipart * 100 / n:.0f}%, with attachment {attached * 100 / n:.1f}%, "
        f"RFC 2047 headers {encoded * 100 / n:.0f}%"
    )


if __name__ == "__main__":
    main()
