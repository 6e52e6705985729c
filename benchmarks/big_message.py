"""Opening and saving a big message, against raw imaplib floors on the same Dovecot run.

A message of a short text and one base64 attachment of --mb megabytes is appended to a
Dovecot started for the run (tests/servers.py), then, --repeat times each:

  open              FetchMessage through the ImapWorker, until the text is in
                    (MessageFetched with the outline, then PartFetched)
    floor outline   imaplib: one UID FETCH (RFC822.SIZE BODYSTRUCTURE BODY.PEEK[HEADER]
                    BODY.PEEK[1]<0.262144>): the least any client must ask
    floor whole     imaplib: UID FETCH BODY.PEEK[] (what a client fetching the whole
                    message pays before it shows anything)
  save              SavePart of the attachment into a new file, streamed and decoded
    floor save      imaplib: UID FETCH BODY.PEEK[2], base64-decoded, written at once
                    (the whole part in memory: the speed to match, not the method)

Figures are medians, with each line's ratio to its floor. Usage:
python benchmarks/big_message.py [--mb 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import base64
import imaplib
import os
import random
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from harness import WorkerHarness, account_for, raw_client  # noqa: E402
from servers import DovecotServer  # noqa: E402
from tui.imap.contract import (  # noqa: E402
    FetchMessage,
    MailboxSelected,
    MessageFetched,
    PartFetched,
    PartSaved,
    SavePart,
    SelectMailbox,
)
from tui.models import MessageRef  # noqa: E402


def message(megabytes: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = "alice@example.org"
    msg["Subject"] = "the report"
    msg.set_content("Hello, the report is attached.\n")
    payload = random.Random(1).randbytes(megabytes * 1024 * 1024)
    msg.add_attachment(payload, maintype="application", subtype="pdf", filename="report.pdf")
    return msg.as_bytes()


def timed(step) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def raw_imap(server) -> imaplib.IMAP4:
    imap = imaplib.IMAP4(server.host, server.port)
    imap._mesg = lambda *a: None
    imap.login(server.user, server.password)
    imap.select("INBOX", readonly=True)
    return imap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, list[float]] = {}

    def note(name: str, seconds: float) -> None:
        figures.setdefault(name, []).append(seconds)

    with DovecotServer() as server, tempfile.TemporaryDirectory() as folder:
        account = account_for(server, "bench")
        client = raw_client(account, server.password)
        client.append("INBOX", message(args.mb))
        client.logout()
        imap = raw_imap(server)
        with WorkerHarness(account, server.password) as harness:
            harness.worker.submit(SelectMailbox(b"INBOX", read_only=True))
            selected = harness.wait(MailboxSelected).selected
            ref = MessageRef(b"INBOX", selected.uidvalidity, 1)
            for run in range(args.repeat):
                note("floor outline", timed(lambda: imap.uid(
                    "FETCH", "1", "(RFC822.SIZE BODYSTRUCTURE BODY.PEEK[HEADER] BODY.PEEK[1]<0.262144>)")))
                note("floor whole", timed(lambda: imap.uid("FETCH", "1", "(BODY.PEEK[])")))

                def open_it() -> None:
                    request = harness.worker.submit(FetchMessage(ref, mark_seen=False))
                    harness.wait(MessageFetched, lambda r: r.request_id == request.id, timeout=120)
                    harness.wait(PartFetched, lambda r: r.request_id == request.id, timeout=120)

                note("open", timed(open_it))

                def floor_save() -> None:
                    _typ, data = imap.uid("FETCH", "1", "(BODY.PEEK[2])")
                    Path(folder, f"floor-{run}.pdf").write_bytes(base64.b64decode(data[0][1]))

                note("floor save", timed(floor_save))

                def save() -> None:
                    target = os.path.join(folder, f"saved-{run}.pdf")
                    request = harness.worker.submit(SavePart(ref, "2", "base64", target))
                    harness.wait(PartSaved, lambda r: r.request_id == request.id, timeout=300)

                note("save", timed(save))
        imap.logout()

    median = {name: statistics.median(values) for name, values in figures.items()}
    print(f"{args.mb} MB attachment, medians of {args.repeat} (Dovecot on loopback)")
    for name, floor in (("floor outline", None), ("floor whole", None), ("open", "floor outline"),
                        ("floor save", None), ("save", "floor save")):
        ratio = f"  {median[name] / median[floor]:.2f}x {floor}" if floor else ""
        print(f"  {name:14s} {median[name] * 1000:9.1f} ms{ratio}")
    print(f"  open vs floor whole: {median['open'] / median['floor whole']:.3f}x")


if __name__ == "__main__":
    main()
