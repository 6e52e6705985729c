"""How fast the SQLite header cache is, against floors that build nothing.

Writes N realistic rows (header blocks of 400-700 bytes, a few flag sets) into a fresh
cache file, then measures on the same run, so machine noise hits both sides alike:

  put_rows          HeaderCache.put_rows, batches of --batch, one transaction each
    floor raw       executemany of ready-packed blocks into the same table, no checks
    floor pickle    pickle.dump of the whole list of Rows
  read all          HeaderCache.rows, newest first, batches of --batch, Rows built
    floor raw       every block's blobs SELECTed, nothing unpacked, no Row building
    floor pickle    pickle.load of the whole list of Rows
  open + start      HeaderCache(path) and start(): what a reopen costs before any row
  first batch       the first batch of rows, newest first (what reopening shows), for a
                    mailbox of 2 batches and for the big one: it must not grow with it
  uids              HeaderCache.uids (the cached UID list, ascending)
  keep_only         the server's full list of N UIDs, 1% expunged / nothing expunged
  set_flags 1000    1000 random UIDs get new flags
  remove 1000       1000 random UIDs removed

Usage: python benchmarks/cache.py [--messages 100000] [--batch 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui import cache_blocks  # noqa: E402
from tui.cache import HeaderCache  # noqa: E402
from tui.headers import Row  # noqa: E402

ACCOUNT = "bench"
MAILBOX = b"INBOX"
SMALL = b"Small"
UIDVALIDITY = 1_700_000_000
FLAG_SETS = [frozenset(), frozenset({"\\Seen"}), frozenset({"\\Seen", "\\Answered"}),
             frozenset({"\\Seen", "\\Flagged"}), frozenset({"\\Seen", "$Forwarded", "Work"})]
WORDS = ["quarterly", "report", "meeting", "agenda", "invoice", "draft", "review", "update", "release",
         "notes", "about", "the", "project", "budget", "schedule", "travel", "plans", "lunch", "tomorrow",
         "question", "answer"]


def header_block(rng: random.Random, uid: int) -> bytes:
    sender = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}"
    lines = [
        f"Date: Tue, {1 + uid % 28} Nov 2023 {uid % 24:02d}:{uid % 60:02d}:13 +0100",
        f'From: "{sender}" <{sender.replace(" ", ".").lower()}@example.org>',
        f"To: team-{uid % 17}@lists.example.com, someone.else@example.net",
        f"Subject: Re: {' '.join(rng.choices(WORDS, k=rng.randint(3, 9)))}",
        f"Message-ID: <{uid}.{rng.getrandbits(48):x}@mail.example.org>",
        "Content-Type: multipart/alternative; boundary=\"b1_" + f"{rng.getrandbits(64):x}\"",
    ]
    if uid > 1:
        lines.append(f"In-Reply-To: <{uid - 1}.{rng.getrandbits(48):x}@mail.example.org>")
    block = "\r\n".join(lines).encode() + b"\r\n"
    target = rng.randint(420, 655)  # a last reference may overshoot: about 400-700 bytes
    references = []
    while len(block) + sum(len(ref) + 1 for ref in references) + 14 < target:
        references.append(f"<{rng.getrandbits(40):x}.{rng.getrandbits(24):x}@mail.example.org>")
    if references:
        block += ("References: " + "\r\n ".join(references) + "\r\n").encode()
    return block + b"\r\n"


def make_rows(count: int) -> list[Row]:
    rng = random.Random(42)
    base = 1_600_000_000.0
    return [Row(uid, FLAG_SETS[0] if uid > count - 200 else rng.choice(FLAG_SETS), base + uid * 60.0,
                rng.randint(2_000, 200_000), header_block(rng, uid)) for uid in range(1, count + 1)]


def timed(action: Callable[..., object], *args: object) -> tuple[float, object]:
    began = time.perf_counter()
    result = action(*args)
    return time.perf_counter() - began, result


def fresh(directory: Path, name: str) -> Path:
    path = directory / name
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass
    return path


def put_all(path: Path, rows: list[Row], batch: int) -> None:
    cache = HeaderCache(path)
    cache.start(ACCOUNT, MAILBOX, UIDVALIDITY)
    for start in range(0, len(rows), batch):
        cache.put_rows(ACCOUNT, MAILBOX, UIDVALIDITY, rows[start:start + batch])
    cache.close()


def packed_blocks(rows: list[Row]) -> list[tuple]:
    """The rows as the cache stores them (cache_blocks), packed before the clock starts."""
    entries = {row.uid: ('["\\\\Seen"]', row.internaldate, row.size, row.headers) for row in rows}
    uids = sorted(entries)
    return [(1, piece[0], piece[-1], *cache_blocks.pack_block(piece, entries))
            for piece in (uids[start:start + cache_blocks.BLOCK_ROWS]
                          for start in range(0, len(uids), cache_blocks.BLOCK_ROWS))]


def raw_put_all(path: Path, blocks: list[tuple], batch: int) -> None:
    """The floor: the same schema, blocks ready packed, no UIDVALIDITY check, no count."""
    HeaderCache(path).close()  # the schema
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("INSERT INTO mailboxes (account, name, uidvalidity) VALUES (?, ?, ?)", (ACCOUNT, MAILBOX, UIDVALIDITY))
    per_batch = max(1, batch // cache_blocks.BLOCK_ROWS)
    for start in range(0, len(blocks), per_batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO blocks (mailbox_id, low, high, uids, flags, heads) VALUES (?, ?, ?, ?, ?, ?)",
                         blocks[start:start + per_batch])
        conn.execute("COMMIT")
    conn.close()


def dump(rows: list[Row], path: Path) -> None:
    with open(path, "wb") as file:
        pickle.dump(rows, file, protocol=pickle.HIGHEST_PROTOCOL)


def load(path: Path) -> list[Row]:
    with open(path, "rb") as file:
        return pickle.load(file)


def read_all(cache: HeaderCache, batch: int) -> int:
    return sum(len(rows) for rows in cache.rows(ACCOUNT, MAILBOX, UIDVALIDITY, batch=batch))


def raw_read_all(path: Path, batch: int) -> int:
    conn = sqlite3.connect(path, isolation_level=None)
    total = 0
    for uids, _flags, _heads in conn.execute("SELECT uids, flags, heads FROM blocks WHERE mailbox_id = 1 "
                                             "ORDER BY high DESC"):
        total += len(uids) // 4
    conn.close()
    return total


def first_batch(path: Path, mailbox: bytes, batch: int) -> tuple[float, float, int]:
    """(seconds to open the file and start, seconds to the first batch, its length)."""
    began = time.perf_counter()
    cache = HeaderCache(path)
    cache.start(ACCOUNT, mailbox, UIDVALIDITY)
    opened = time.perf_counter()
    rows = next(cache.rows(ACCOUNT, mailbox, UIDVALIDITY, batch=batch), [])
    done = time.perf_counter()
    cache.close()
    return opened - began, done - opened, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where the files go (default: a temporary directory)")
    args = parser.parse_args()
    count, batch = args.messages, args.batch

    rows = make_rows(count)
    sizes = [len(row.headers) for row in rows]
    print(f"{count} rows, header blocks {min(sizes)}-{max(sizes)} bytes (mean {statistics.mean(sizes):.0f}), "
          f"batches of {batch}, median of {args.repeat}; sqlite {sqlite3.sqlite_version}, "
          f"Python {sys.version.split()[0]}")

    with tempfile.TemporaryDirectory(dir=args.dir) as temp:
        directory = Path(temp)
        figures: dict[str, list[float]] = {}

        def record(name: str, seconds: float) -> None:
            figures.setdefault(name, []).append(seconds)

        rng = random.Random(7)
        blocks = packed_blocks(rows)
        for _ in range(args.repeat):
            path = fresh(directory, "headers.sqlite3")
            record("put_rows", timed(put_all, path, rows, batch)[0])
            raw = fresh(directory, "raw.sqlite3")
            record("put_rows floor raw", timed(raw_put_all, raw, blocks, batch)[0])
            pickled = directory / "rows.pickle"

            record("put_rows floor pickle", timed(dump, rows, pickled)[0])

            # A small mailbox in the same file: the first batch must cost the same there.
            small_rows = rows[:min(count, 2 * batch)]
            small = HeaderCache(path)
            small.start(ACCOUNT, SMALL, UIDVALIDITY)
            small.put_rows(ACCOUNT, SMALL, UIDVALIDITY, small_rows)
            small.close()
            for name, mailbox, size in (("small", SMALL, len(small_rows)), ("big", MAILBOX, count)):
                opening, seconds, got = first_batch(path, mailbox, batch)
                assert got == min(batch, size), got
                record(f"open + start, {size}-row mailbox", opening)
                record(f"first batch, {size}-row mailbox", seconds)

            cache = HeaderCache(path)
            seconds, got = timed(read_all, cache, batch)
            assert got == count, got
            record("read all", seconds)
            record("read all floor raw", timed(raw_read_all, path, batch)[0])

            record("read all floor pickle", timed(load, pickled)[0])
            record("uids", timed(cache.uids, ACCOUNT, MAILBOX, UIDVALIDITY)[0])
            record("state", timed(cache.state, ACCOUNT, MAILBOX)[0])
            some = rng.sample(range(1, count + 1), 50)
            record("rows_for 50", timed(cache.rows_for, ACCOUNT, MAILBOX, UIDVALIDITY, some)[0])

            server = list(range(1, count + 1))
            record("keep_only, nothing expunged", timed(cache.keep_only, ACCOUNT, MAILBOX, UIDVALIDITY, server)[0])
            server = [uid for uid in server if uid % 100]
            seconds, gone = timed(cache.keep_only, ACCOUNT, MAILBOX, UIDVALIDITY, server)
            assert gone == count // 100, gone
            record("keep_only, 1% expunged", seconds)

            changes = [(uid, frozenset({"\\Seen", "\\Flagged"})) for uid in rng.sample(server, 1000)]
            record("set_flags 1000", timed(cache.set_flags, ACCOUNT, MAILBOX, UIDVALIDITY, changes)[0])
            doomed = rng.sample(server, 1000)
            record("remove 1000", timed(cache.remove, ACCOUNT, MAILBOX, UIDVALIDITY, doomed)[0])
            assert cache.state(ACCOUNT, MAILBOX).count == len(server) - 1000
            cache.close()
            file_size = path.stat().st_size
            pickle_size = pickled.stat().st_size

    width = max(len(name) for name in figures)
    for name, values in figures.items():
        median = statistics.median(values)
        per_row = ""
        if name.startswith(("put_rows", "read all")):
            per_row = f"   {median / count * 1e6:6.2f} µs/row"
        print(f"  {name:<{width}}  {median * 1000:9.1f} ms{per_row}")
    print(f"  file {file_size / 1e6:.1f} MB (pickle {pickle_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
