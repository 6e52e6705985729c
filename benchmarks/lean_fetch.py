"""The lean list-row fetch (tui.imap.lean_fetch) on a big INBOX, as ratios to raw imaplib.

Starts a private Dovecot (the test fixture's), writes N fairly realistic messages (threads
with References chains, an RFC 2047 or 8-bit subject now and then, bodies from a few
hundred bytes to tens of KB, some attachments, flags and a few keywords) into its INBOX,
then on the same run, so machine noise hits both sides alike, medians of --repeat runs:

  rows     floor: imaplib `UID FETCH 1:* ROW_ITEMS`, the bytes only, nothing parsed
           floor batched: the same in the batches fetch_rows uses (one big answer held
           whole costs imaplib more per message than 50 small ones)
           ours:  fetch_rows over the whole mailbox, newest first, in batches of --batch
  envelope floor: imaplib FETCH of UID FLAGS ENVELOPE INTERNALDATE RFC822.SIZE, bytes only
           imapclient: client.fetch of the same, parsed into objects
           (both on a sample of --sample messages, scaled up to N)
  uids     floor: imaplib `UID SEARCH RETURN (ALL) ALL` resp. `UID SEARCH ALL`, bytes only
           ours: all_uids (ESEARCH; and with ESEARCH hidden: UID SEARCH ALL)
           imapclient: client.search()
  flags    floor: imaplib `UID FETCH 1:* (UID FLAGS)`, bytes only
           ours: all_flags
  memory   what the N rows hold (tracemalloc, a separate untimed run)

Usage: python benchmarks/lean_fetch.py [--messages 100000] [--repeat 3] [--batch 2000]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from imapclient import IMAPClient
from servers import DovecotServer, fill_maildir

from tui.imap.lean_fetch import ROW_ITEMS, all_flags, all_uids, fetch_rows
from tui.imap.uidset import compress_uids

START = datetime(2020, 1, 1, tzinfo=UTC)
ENVELOPE_ITEMS = ["UID", "FLAGS", "ENVELOPE", "INTERNALDATE", "RFC822.SIZE"]
WORDS = ["quarterly", "report", "budget", "meeting", "notes", "draft", "review", "release", "plan", "invoice", "travel", "lunch", "offsite", "hiring", "roadmap", "migration", "outage", "postmortem", "design", "proposal", "survey"]
FIRST = ["Anna", "Bernd", "Chiara", "Dmitri", "Emma", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kaori", "Lars", "Mia", "Noor", "Olek", "Priya"]
LAST = ["Schmidt", "Rossi", "Novak", "Tanaka", "Silva", "Berg", "Kowalski", "Haddad", "Müller", "Øster", "Dubois", "Lindqvist"]


def realistic_messages(count: int, seed: int = 7):
    """Deterministic messages with threads, encodings and varied sizes ({msg, flags, date})."""
    rng = random.Random(seed)
    people = [(f"{rng.choice(FIRST)} {rng.choice(LAST)}", f"user{n}@example{n % 7}.org") for n in range(300)]
    threads: list[dict] = []
    for index in range(count):
        date = START + timedelta(minutes=index * 20 + rng.randrange(15), seconds=rng.randrange(60))
        if threads and rng.random() < 0.6:
            thread = rng.choice(threads[-200:])
            subject = "Re: " + thread["subject"]
            references = thread["ids"][-10:]
        else:
            subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7))).capitalize()
            if rng.random() < 0.07:
                subject = "=?utf-8?q?" + subject.replace(" ", "_") + "_=C3=BCber_Stra=C3=9Fe?="
            elif rng.random() < 0.03:
                subject = subject + " – Grüße"  # raw 8-bit UTF-8
            thread = {"subject": subject, "ids": []}
            threads.append(thread)
            references = []
        message_id = f"<{index}.{rng.randrange(10**9)}@mail.example.org>"
        thread["ids"].append(message_id)
        name, address = rng.choice(people)
        sender = f'"{name}" <{address}>' if name.isascii() else f"=?utf-8?q?{quote_q(name)}?= <{address}>"
        recipients = ", ".join(f"{n} <{a}>" for n, a in rng.sample(people, rng.randint(1, 3)) if n.isascii()) or \
            "team@example.org"
        attachment = rng.random() < 0.1
        lines = [
            "Return-Path: <bounce@example.org>",
            f"Received: from mx{rng.randrange(9)}.example.org by mail.example.org; {format_datetime(date)}",
            f"Date: {format_datetime(date)}",
            f"From: {sender}",
            f"To: {recipients}",
            *(["Cc: list@example.org"] if rng.random() < 0.2 else []),
            f"Subject: {subject}",
            f"Message-ID: {message_id}",
            *([f"In-Reply-To: {references[-1]}", "References: " + "\r\n ".join(references)] if references else []),
            "MIME-Version: 1.0",
            ("Content-Type: multipart/mixed; boundary=\"b1\"" if attachment
             else "Content-Type: text/plain; charset=utf-8"),
            "X-Mailer: benchmark",
            "",
        ]
        size = int(rng.lognormvariate(6.5, 1.0)) + 80  # median ~750 bytes, a long tail
        body = ("lorem ipsum dolor sit amet " * (size // 27 + 1))[:size]
        if attachment:
            blob = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\r\n" * rng.randint(50, 1500)
            body = (f"--b1\r\nContent-Type: text/plain\r\n\r\n{body}\r\n--b1\r\nContent-Type: application/pdf\r\n"
                    f"Content-Transfer-Encoding: base64\r\n\r\n{blob}--b1--\r\n")
        flags = ("\\Seen",) if rng.random() < 0.85 else ()
        if rng.random() < 0.05:
            flags += ("\\Flagged",)
        if references and rng.random() < 0.2:
            flags += ("\\Answered",)
        yield {"msg": ("\r\n".join(lines) + body).encode("utf-8"), "flags": flags, "date": date}


def quote_q(text: str) -> str:
    return "".join(c if c.isascii() and c.isalnum() else "".join(f"={b:02X}" for b in c.encode()) for c in text)


def connect(server: DovecotServer) -> IMAPClient:
    client = IMAPClient(server.host, port=server.port, ssl=False, timeout=600)
    client.login(server.user, server.password)
    client.select_folder("INBOX")
    return client


def timed(function):
    began = time.perf_counter()
    result = function()
    return time.perf_counter() - began, result


def batches(uids: list[int], size: int):
    """Newest first, as the app fills its list."""
    for end in range(len(uids), 0, -size):
        yield uids[max(0, end - size):end]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--sample", type=int, default=10_000)
    args = parser.parse_args()
    count = args.messages
    with DovecotServer() as server:
        began = time.perf_counter()
        fill_maildir(server, "INBOX", realistic_messages(count))
        print(f"wrote {count} messages in {time.perf_counter() - began:.1f} s")
        client = connect(server)
        # a few keywords, on ranges (fill_maildir writes system flags only)
        for start, keyword in ((1000, b"$Work"), (count // 2, b"$Label1"), (count - 3000, b"Junk")):
            client._imap.uid("STORE", f"{max(1, start)}:{max(1, start) + 999}", "+FLAGS.SILENT", f"({keyword.decode()})")
        uids = all_uids(client)
        assert len(uids) == count, (len(uids), count)
        sample = uids[-args.sample:]
        sample_set = f"{sample[0]}:{sample[-1]}"
        client._imap.uid("FETCH", "1:*", ROW_ITEMS)  # warm Dovecot's caches once, for both sides
        client._imap.uid("FETCH", sample_set, "(" + " ".join(ENVELOPE_ITEMS) + ")")
        no_esearch = tuple(c for c in client.capabilities() if c != b"ESEARCH")

        times: dict[str, list[float]] = {}

        def note(name: str, seconds: float) -> None:
            times.setdefault(name, []).append(seconds)

        for _ in range(args.repeat):
            gc.collect()
            note("rows floor", timed(lambda: client._imap.uid("FETCH", "1:*", ROW_ITEMS))[0])
            gc.collect()
            # the same batches as fetch_rows, bytes only: what batching itself costs or saves
            note("rows floor batched", timed(lambda: [client._imap.uid("FETCH", compress_uids(batch), ROW_ITEMS)[0]
                                                      for batch in batches(uids, args.batch)])[0])
            gc.collect()
            elapsed, got = timed(lambda: [row for batch in batches(uids, args.batch) for row in fetch_rows(client, batch)])
            assert len(got) == count and not any(row.placeholder for row in got)
            note("rows ours", elapsed)
            del got
            gc.collect()
            note("envelope floor", timed(
                lambda: client._imap.uid("FETCH", sample_set, "(" + " ".join(ENVELOPE_ITEMS) + ")"))[0])
            gc.collect()
            # imapclient names every UID: 5,000 a command keeps the line under Dovecot's 64 KB
            elapsed, parsed = timed(lambda: [client.fetch(sample[at:at + 5000], ENVELOPE_ITEMS)
                                             for at in range(0, len(sample), 5000)])
            assert sum(map(len, parsed)) == len(sample)
            note("envelope imapclient", elapsed)
            del parsed
            note("esearch floor", timed(lambda: client._imap.uid("SEARCH", "RETURN", "(ALL)", "ALL"))[0])
            client._imap.untagged_responses.pop("ESEARCH", None)
            elapsed, found = timed(lambda: all_uids(client))
            assert found == uids
            note("esearch ours", elapsed)
            note("search floor", timed(lambda: client._imap.uid("SEARCH", "ALL"))[0])
            client.capabilities, caps = (lambda: no_esearch), client.capabilities
            elapsed, found = timed(lambda: all_uids(client))
            client.capabilities = caps
            assert found == uids
            note("search ours", elapsed)
            elapsed, found = timed(lambda: client.search())
            assert sorted(found) == uids
            note("search imapclient", elapsed)
            note("flags floor", timed(lambda: client._imap.uid("FETCH", "1:*", "(UID FLAGS)"))[0])
            elapsed, flags = timed(lambda: all_flags(client))
            assert len(flags) == count
            note("flags ours", elapsed)

        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        rows = [row for batch in batches(uids, args.batch) for row in fetch_rows(client, batch)]
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        header_bytes = sum(len(row.headers) for row in rows)
        client.logout()

    med = {name: statistics.median(values) for name, values in times.items()}
    scale = count / len(sample)
    print(f"INBOX of {count} messages, medians of {args.repeat} runs (batches of {args.batch})")
    print(f"  rows:     floor (1:*, bytes only) {med['rows floor']:.2f} s, fetch_rows {med['rows ours']:.2f} s "
          f"= {med['rows ours'] / med['rows floor']:.2f}x floor")
    print(f"            floor in the same batches {med['rows floor batched']:.2f} s: fetch_rows = "
          f"{med['rows ours'] / med['rows floor batched']:.2f}x that "
          f"({(med['rows ours'] - med['rows floor batched']) / count * 1e6:.1f} us/message of parsing)")
    print(f"  envelope: floor {med['envelope floor'] * scale:.2f} s, imapclient {med['envelope imapclient'] * scale:.2f} s "
          f"= {med['envelope imapclient'] / med['envelope floor']:.2f}x floor "
          f"(sample of {len(sample)} scaled x{scale:.0f}); fetch_rows is "
          f"{med['envelope imapclient'] * scale / med['rows ours']:.1f}x faster")
    print(f"  uids:     ESEARCH floor {med['esearch floor'] * 1000:.1f} ms, all_uids {med['esearch ours'] * 1000:.1f} ms "
          f"= {med['esearch ours'] / med['esearch floor']:.2f}x")
    print(f"            SEARCH floor {med['search floor'] * 1000:.1f} ms, all_uids {med['search ours'] * 1000:.1f} ms "
          f"= {med['search ours'] / med['search floor']:.2f}x, imapclient search {med['search imapclient'] * 1000:.1f} ms "
          f"= {med['search imapclient'] / med['search floor']:.2f}x")
    print(f"  flags:    floor {med['flags floor']:.2f} s, all_flags {med['flags ours']:.2f} s "
          f"= {med['flags ours'] / med['flags floor']:.2f}x floor")
    print(f"  memory:   {count} rows hold {held / 2**20:.1f} MB ({held / count:.0f} bytes/row, "
          f"of which header blocks {header_bytes / count:.0f})")


if __name__ == "__main__":
    main()
