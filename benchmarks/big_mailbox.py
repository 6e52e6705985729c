"""How fast tui-mail shows a big INBOX, as ratios against the raw imaplib floor.

Starts a private Dovecot (the test fixture's), writes N messages into its INBOX,
then measures on the same run, so machine noise hits both sides alike:

  floor first screen   imaplib: connect, LOGIN, SELECT, UID FETCH newest 50 rows
  ours  first screen   ImapWorker: connect, LOGIN, SELECT (+ UID SEARCH ALL), window
  floor full list      imaplib: UID FETCH 1:* (same items), bytes only, no parsing
  ours  full list      ImapWorker: every envelope parsed (background fill)
  app   first screen   the Textual app, headless: start to the first row drawn
  app   key latency    worst j/k round trip while the background fill runs

Usage: python benchmarks/big_mailbox.py [--messages 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import imaplib
import queue
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from servers import DovecotServer, fill_maildir, make_message  # noqa: E402

from tui.config import Account  # noqa: E402
from tui.imap.lean_fetch import ROW_ITEMS  # noqa: E402
from tui.imap.contract import EnvelopesFetched, FetchEnvelopes, MailboxSelected, SelectMailbox  # noqa: E402
from tui.imap.worker import ImapWorker  # noqa: E402

WINDOW = 50
ITEMS = ROW_ITEMS.decode("ascii")


def messages(count: int):
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    for index in range(count):
        date = start + timedelta(minutes=index)
        flags = ("\\Seen",) if index < count - 100 else ()
        yield {"msg": make_message(index, date=date), "flags": flags, "date": date}


def floor_first_screen(server: DovecotServer, items: str = ITEMS) -> float:
    """imaplib: connect, LOGIN, SELECT, FETCH the newest WINDOW messages' `items`."""
    began = time.perf_counter()
    imap = imaplib.IMAP4(server.host, server.port)
    imap.login(server.user, server.password)
    _typ, data = imap.select("INBOX")
    exists = int(data[0])
    imap.fetch(f"{max(1, exists - WINDOW + 1)}:{exists}", items)
    elapsed = time.perf_counter() - began
    imap.logout()
    return elapsed


def floor_full_list(server: DovecotServer) -> float:
    imap = imaplib.IMAP4(server.host, server.port)
    imap.login(server.user, server.password)
    imap.select("INBOX")
    began = time.perf_counter()
    imap.uid("FETCH", "1:*", ITEMS)
    elapsed = time.perf_counter() - began
    imap.logout()
    return elapsed


def ours(account: Account, password: str) -> tuple[float, float]:
    results: queue.Queue = queue.Queue()
    began = time.perf_counter()
    worker = ImapWorker(account, password, results.put)
    worker.start()
    worker.submit(SelectMailbox(b"INBOX"))
    first = full = None
    while full is None:
        result = results.get(timeout=600)
        if isinstance(result, MailboxSelected):
            sel = result.selected
            worker.submit(FetchEnvelopes(b"INBOX", sel.uidvalidity, sel.uids[-WINDOW:]))
        elif isinstance(result, EnvelopesFetched):
            if first is None and len(result.envelopes) >= WINDOW:
                first = time.perf_counter() - began
            if result.loaded == result.total:
                full = time.perf_counter() - began
    worker.stop()
    return first, full


def app_run(account: Account, password: str) -> tuple[float, float]:
    from textual import events

    from tui.app import MailApp
    from tui.widgets.message_list import MessageList

    async def scenario() -> tuple[float, float]:
        began = time.perf_counter()
        app = MailApp(account, password)
        async with app.run_test(size=(120, 40)) as pilot:
            listing = app.query_one(MessageList)
            while listing.loaded_count < 20:
                await asyncio.sleep(0.005)
            first_screen = time.perf_counter() - began
            worst = 0.0
            for press in range(40):
                key = "j" if press % 2 == 0 else "k"
                before = listing.cursor
                pressed = time.perf_counter()
                # Not pilot.press: it waits for the app to go idle, which it never
                # does while the fill keeps posting results.
                app.post_message(events.Key(key, key))
                while listing.cursor == before:
                    await asyncio.sleep(0.001)
                worst = max(worst, time.perf_counter() - pressed)
                await asyncio.sleep(0.02)  # a fast typist, not a flood
            return first_screen, worst

    return asyncio.run(scenario())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with DovecotServer() as server:
        loaded = time.perf_counter()
        fill_maildir(server, "INBOX", messages(args.messages))
        print(f"wrote {args.messages} messages in {time.perf_counter() - loaded:.1f} s")
        account = Account(name="bench", host=server.host, port=server.port, tls="none", username=server.user)
        floor_full_list(server)  # warm Dovecot's index once, for both sides
        rows = {name: [] for name in ("floor_first", "ours_first", "floor_full", "ours_full", "app_first", "app_key")}
        for _ in range(args.repeat):
            rows["floor_first"].append(floor_first_screen(server))
            first, full = ours(account, server.password)
            rows["ours_first"].append(first)
            rows["ours_full"].append(full)
            rows["floor_full"].append(floor_full_list(server))
            app_first, key = app_run(account, server.password)
            rows["app_first"].append(app_first)
            rows["app_key"].append(key)
    med = {name: statistics.median(values) for name, values in rows.items()}
    print(f"INBOX of {args.messages} messages, medians of {args.repeat} runs")
    print(f"  first screen: floor {med['floor_first'] * 1000:.0f} ms, worker {med['ours_first'] * 1000:.0f} ms "
          f"= {med['ours_first'] / med['floor_first']:.1f}x floor")
    print(f"  app first rows drawn (headless, incl. Textual start): {med['app_first'] * 1000:.0f} ms "
          f"= {med['app_first'] / med['floor_first']:.1f}x floor")
    print(f"  full list: floor (bytes only) {med['floor_full']:.2f} s, worker (parsed) {med['ours_full']:.2f} s "
          f"= {med['ours_full'] / med['floor_full']:.1f}x floor")
    print(f"  worst key round trip during the fill: {med['app_key'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
