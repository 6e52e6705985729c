"""Server vs local sort and threads on a big INBOX, as ratios.

Starts a private Dovecot (the test fixture's), writes N small messages into its INBOX
(realistic threads: ~30% replies to a recent message, In-Reply-To plus a References
chain trimmed to the newest 10 ids as clients do; ~1% answer a message that is not
there), reads every row once with one UID FETCH of the header fields (not timed), then
measures on the same run:

  server threads   UID THREAD REFERENCES UTF-8 ALL, answer parsed into ThreadNodes
                   (tui.imap.ordering.server_threads)
  local threads    tui.list_order.thread_uids over the rows (JWZ), and the whole view:
                   + order_threads + flatten
  server sort      UID SORT (criterion) UTF-8 ALL per key (tui.imap.ordering.server_sort)
  local sort       tui.list_order.sort_uids per key

Dovecot's first THREAD / SORT of a key builds its index (cold); the medians are of the
runs after that (warm). Ratios are local / server: below 1, local is faster.

Usage: python benchmarks/threads.py [--messages 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from imapclient import IMAPClient  # noqa: E402
from imapclient.response_parser import parse_fetch_response  # noqa: E402

from servers import DovecotServer, fill_maildir  # noqa: E402

from tui.headers import HEADER_FIELDS, Row  # noqa: E402
from tui.imap.ordering import server_sort, server_threads  # noqa: E402
from tui.list_order import SORT_KEYS, sort_uids, thread_uids  # noqa: E402
from tui.threads import flatten, messages_of, order_threads  # noqa: E402

FIRST = "Anna Ben Carla David Eva Frank Grace Henry Irene Jack Karin Leo Maria Nils Olga Paul Rosa Sam".split()
LAST = "Smith Garcia Rossi Dubois Novak Jensen Silva Costa Kim Nguyen Patel Singh Berg Weber Klein".split()
TOPICS = "budget release roadmap outage hiring offsite review invoice migration launch".split()


def messages(count: int, seed: int = 1) -> Iterator[dict]:
    rng = random.Random(seed)
    start = datetime(2022, 1, 1, tzinfo=timezone.utc)
    chains: list[tuple[str, tuple[str, ...], str]] = []  # per message: (id, references, subject)
    for index in range(count):
        date = start + timedelta(minutes=index)
        mid = f"m{index}.{seed}@bench.example.org"
        first, last = rng.choice(FIRST), rng.choice(LAST)
        headers = [f"Date: {format_datetime(date)}", f"From: {first} {last} <{first.lower()}.{last.lower()}@example.org>",
                   "To: Team <team@example.org>"]
        roll = rng.random()
        if index > 20 and roll < 0.30:  # a reply to a recent message
            parent_id, parent_refs, parent_subject = chains[index - rng.randint(1, min(index, 500))]
            refs = (*parent_refs, parent_id)[-10:]
            subject = parent_subject if parent_subject.startswith("Re: ") else f"Re: {parent_subject}"
            headers += [f"Subject: {subject}", f"Message-ID: <{mid}>", f"In-Reply-To: <{parent_id}>",
                        "References: " + "\r\n ".join(f"<{r}>" for r in refs)]
        elif roll < 0.31:  # answering something that is not in this mailbox
            gone = f"gone{rng.randint(1, count // 100 + 1)}@elsewhere.example.org"
            refs = (gone,)
            subject = f"Re: {rng.choice(TOPICS)} {rng.randint(1, 50)}"
            headers += [f"Subject: {subject}", f"Message-ID: <{mid}>", f"In-Reply-To: <{gone}>", f"References: <{gone}>"]
        else:
            refs = ()
            subject = f"{rng.choice(TOPICS).capitalize()} {index}"
            headers += [f"Subject: {subject}", f"Message-ID: <{mid}>"]
        chains.append((mid, refs, subject))
        headers += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
        body = "Hello,\r\n\r\n" + "Some words here. " * rng.randint(2, 60) + "\r\n"
        flags = ("\\Seen",) if rng.random() < 0.97 else ()
        yield {"msg": ("\r\n".join(headers) + "\r\n\r\n" + body).encode(), "flags": flags, "date": date}


def read_rows(client: IMAPClient) -> dict[int, Row]:
    """Every row, by one UID FETCH 1:* of the list's header fields (not timed)."""
    section = "BODY.PEEK[HEADER.FIELDS (" + " ".join(HEADER_FIELDS) + ")]"
    key = ("BODY[HEADER.FIELDS (" + " ".join(HEADER_FIELDS) + ")]").encode()
    typ, data = client._imap.uid("FETCH", "1:*", f"(UID FLAGS INTERNALDATE RFC822.SIZE {section})")
    assert typ == "OK", data
    fetched = parse_fetch_response(data, True, True)
    rows = {}
    for uid, data in fetched.items():
        internal = data.get(b"INTERNALDATE")
        rows[uid] = Row(uid, frozenset(f.decode() for f in data.get(b"FLAGS", ())),
                        internal.timestamp() if internal else None, int(data.get(b"RFC822.SIZE", 0)),
                        data.get(key, b"") or b"")
    return rows


def timed(function: Callable[[], object]) -> tuple[float, object]:
    began = time.perf_counter()
    result = function()
    return time.perf_counter() - began, result


def measure(function: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """(first run, median of the next `repeat` runs, last result)."""
    first, result = timed(function)
    runs = []
    for _ in range(repeat):
        elapsed, result = timed(function)
        runs.append(elapsed)
    return first, statistics.median(runs), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    count, repeat = args.messages, args.repeat
    with DovecotServer() as server:
        began = time.perf_counter()
        fill_maildir(server, "INBOX", messages(count))
        print(f"wrote {count} messages in {time.perf_counter() - began:.1f} s")
        client = IMAPClient(server.host, server.port, ssl=False, timeout=600)
        client.login(server.user, server.password)
        began = time.perf_counter()
        client.select_folder("INBOX")
        print(f"SELECT (Dovecot indexes the mailbox) {time.perf_counter() - began:.1f} s")
        began = time.perf_counter()
        rows = read_rows(client)
        uids = sorted(rows)
        print(f"read {len(rows)} rows with one UID FETCH (not timed below) in {time.perf_counter() - began:.1f} s")
        assert len(rows) == count

        print(f"\nthreads, {count} messages (first run = cold; medians of {repeat} warm runs)")
        cold, server_t, roots = measure(lambda: server_threads(client), repeat)
        shown = sum(len(messages_of(root)) for root in roots)
        print(f"  server UID THREAD REFERENCES: first {cold:.2f} s, median {server_t:.2f} s "
              f"({len(roots)} threads, {shown} messages)")
        _first, local_t, local_roots = measure(lambda: thread_uids(rows, uids), repeat)
        print(f"  local thread_uids (JWZ):      median {local_t:.2f} s ({len(local_roots)} threads) "
              f"= {local_t / server_t:.1f}x server")
        server_sets = {frozenset(messages_of(root)) for root in roots}
        local_sets = {frozenset(messages_of(root)) for root in local_roots}
        print(f"  same threads (same message set) on both sides: {len(server_sets & local_sets) / len(local_sets):.1%}")
        seen = {uid: "\\Seen" not in row.flags for uid, row in rows.items()}

        def view():
            ordered = order_threads(thread_uids(rows, uids), lambda uid: uid, True)
            return flatten(ordered, set(), seen.__getitem__)

        _first, view_t, lines = measure(view, repeat)
        assert len(lines) == count
        print(f"  local threaded view (thread_uids + order_threads + flatten): median {view_t:.2f} s "
              f"= {view_t / server_t:.1f}x server")

        print(f"\nsort, {count} messages, newest/largest/Z first (REVERSE)")
        for key in SORT_KEYS:
            cold, server_s, server_order = measure(lambda key=key: server_sort(client, key, True), repeat)
            _first, local_s, local_order = measure(lambda key=key: sort_uids(rows, uids, key, True), repeat)
            same = sum(a == b for a, b in zip(server_order, local_order))
            print(f"  {key:8} server first {cold:6.3f} s, median {server_s:6.3f} s | local median {local_s:6.3f} s "
                  f"= {local_s / server_s:5.2f}x server | same position {same / count:.1%}")
        client.logout()


if __name__ == "__main__":
    main()
