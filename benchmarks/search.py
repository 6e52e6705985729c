"""How long a search takes in tui-mail, as ratios against raw imaplib on the same run.

Starts a private Dovecot, writes N messages into its INBOX, then for a few queries
(a handful of matches, half the mailbox, every message) measures:

  floor   imaplib: `UID SEARCH <the same keys>`, the answer's bytes only, not parsed
  worker  ImapWorker: parse the query, compile it, UID SEARCH (ESEARCH when the server
          has it), parse the answer, post SearchFinished: what the UI waits for
  list    MessageList.show_matches over the whole mailbox (the UI thread's share),
          timed in a headless app after the worker's answer

Usage: python benchmarks/search.py [--messages 50000] [--repeat 5]
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
from tui.imap.contract import EnvelopesFetched, MailboxSelected, SearchFinished, SearchMessages, SelectMailbox  # noqa: E402
from tui.imap.search import compile_search  # noqa: E402
from tui.imap.worker import ImapWorker  # noqa: E402
from tui.search_query import parse_query  # noqa: E402

START = datetime(2020, 1, 1, tzinfo=timezone.utc)


def messages(count: int):
    for index in range(count):
        date = START + timedelta(minutes=index)
        sender = "Bob Example <bob@example.org>" if index % 1000 == 0 else "Alice Example <alice@example.org>"
        flags = ("\\Seen",) if index < count - 100 else ()
        yield {"msg": make_message(index, date=date, sender=sender), "flags": flags, "date": date}


def queries(count: int) -> list[tuple[str, str]]:
    """(what it is, query); the raw keys are what the compiler makes of the query."""
    half = (START + timedelta(minutes=count // 2)).date().isoformat()
    return [
        ("few matches (UNSEEN)", "is:unread"),
        ("1 in 1000 (FROM)", "from:bob"),
        ("half (SINCE)", f"since:{half}"),
        ("every message (FROM)", "from:alice"),
    ]


def floor_search(server: DovecotServer, keys: bytes) -> float:
    imap = imaplib.IMAP4(server.host, server.port)
    imap._mode_utf8 = False
    imap.login(server.user, server.password)
    imap.select("INBOX")
    began = time.perf_counter()
    imap.uid("SEARCH", keys.decode("ascii"))
    elapsed = time.perf_counter() - began
    imap.logout()
    return elapsed


def worker_searches(account: Account, password: str, qs: list[str], repeat: int) -> dict[str, list[float]]:
    results: queue.Queue = queue.Queue()
    worker = ImapWorker(account, password, results.put)
    worker.start()
    worker.submit(SelectMailbox(b"INBOX"))
    while not isinstance(selected := results.get(timeout=600), MailboxSelected):
        pass
    sel = selected.selected
    # The background fill would share the connection with the searches: let it finish.
    while not (isinstance(r := results.get(timeout=600), EnvelopesFetched) and r.loaded == r.total):
        pass
    times: dict[str, list[float]] = {q: [] for q in qs}
    for _ in range(repeat):
        for query in qs:
            began = time.perf_counter()
            command = compile_search(parse_query(query))
            request = worker.submit(SearchMessages(b"INBOX", sel.uidvalidity, command, query))
            while True:
                result = results.get(timeout=600)
                if isinstance(result, SearchFinished) and result.request_id == request.id:
                    break
            times[query].append(time.perf_counter() - began)
    worker.stop()
    return times


def list_update(count: int, matches: list[int]) -> float:
    from tui.app import MailApp
    from tui.widgets.message_list import MessageList

    class Bare(MailApp):
        CSS_PATH = str(Path(sys.modules[MailApp.__module__].__file__).with_name("app.tcss"))

        def _start_sessions(self) -> None:  # no server: only the widget is timed
            pass

    async def scenario() -> float:
        app = Bare(Account(name="bench", host="127.0.0.1", port=1, tls="none", username="x"), "x")
        async with app.run_test(size=(120, 40)):
            listing = app.query_one(MessageList)
            listing.show_mailbox(tuple(range(1, count + 1)))
            began = time.perf_counter()
            listing.show_matches(matches)
            listing.show_matches(None)
            return (time.perf_counter() - began) / 2

    return asyncio.run(scenario())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cases = queries(args.messages)
    with DovecotServer() as server:
        loaded = time.perf_counter()
        fill_maildir(server, "INBOX", messages(args.messages))
        print(f"wrote {args.messages} messages in {time.perf_counter() - loaded:.1f} s")
        account = Account(name="bench", host=server.host, port=server.port, tls="none", username=server.user)
        compiled = {q: compile_search(parse_query(q)).shown().encode("ascii") for _label, q in cases}
        for keys in compiled.values():  # warm Dovecot's index and cache once, for both sides
            floor_search(server, keys)
        floors = {q: [floor_search(server, compiled[q]) for _ in range(args.repeat)] for _label, q in cases}
        ours = worker_searches(account, server.password, [q for _label, q in cases], args.repeat)
    print(f"INBOX of {args.messages} messages, medians of {args.repeat} runs")
    for label, query in cases:
        floor, mine = statistics.median(floors[query]), statistics.median(ours[query])
        print(f"  {label:22} {query:22} floor {floor * 1000:7.1f} ms  worker {mine * 1000:7.1f} ms"
              f"  = {mine / floor:.2f}x floor")
    every = list(range(1, args.messages + 1))
    print(f"  list update on the UI thread, every row matching: {list_update(args.messages, every) * 1000:.1f} ms; "
          f"1 in 1000: {list_update(args.messages, every[::1000]) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
