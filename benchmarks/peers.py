"""tui-mail against NeoMutt, mutt and aerc, each in a real pseudo-terminal, as ratios.

For each size (default 10k, 50k and 100k messages) it starts a private Dovecot with an
INBOX from benchmarks/mailgen.py (realistic sizes, MIME multipart, attachments, RFC 2047
headers, reply threads, a few percent unread and flagged), then launches every client in
a 120x40 pty (TERM=xterm-256color), reads the screen through pyte (a VT100 emulator) and
measures from the moment of launch:

  first screen        the newest message's subject (known: we generated it) is on screen
  full list           the whole index is loaded. tui-mail: the status line's "loading
                      N/M" is gone; NeoMutt and mutt show nothing before every header is
                      in, so theirs equals their first screen; aerc only ever fetches the
                      rows it shows: n/a
  warm first/full     the same, relaunched with the cache dir the cold run left behind
                      (tui-mail's header cache, mutt's and NeoMutt's header_cache, aerc's
                      cache-headers)
  peak RSS            max over the run of the summed VmRSS of the process and its
                      children, polled every 20 ms, or the main process's VmHWM if higher
  key p95             "j" every 100 ms, 30 times, from the first screen on (in a third,
                      cold run): time from the key's write to the screen showing the
                      cursor on another row; tui-mail's background load is still running
                      for the first of them ("keys during load" says how many)

and the floors it divides by, measured in the same run (the machine is noisy):

  first-screen floor  imaplib: connect, LOGIN, SELECT, FETCH <newest 50 by sequence>
                      (UID FLAGS ENVELOPE)
  full-list floor     imaplib: connect, LOGIN, SELECT, UID FETCH 1:* (UID FLAGS
                      INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE FROM TO CC
                      SUBJECT MESSAGE-ID IN-REPLY-TO REFERENCES CONTENT-TYPE)]), bytes only
  lean floor          the issue's floor for a complete index: the same FETCH, parsed into
                      rows by tui-mail's own lean path, one command on one connection
  key floor           a 20-line Python program in the same kind of pty that moves a
                      reverse-video bar one row per key: what the harness itself costs

Before measuring, every client runs once untimed on each mailbox so that Dovecot has
built its index and cached the header fields that client asks for (and the OS has the
binaries in its page cache): each client then meets the same warm server.

Usage:
  python benchmarks/peers.py [--sizes 10000,50000,100000] [--repeat 3]
                             [--clients tui-mail,neomutt,mutt,aerc]
                             [--tui-mail "CMD"] [--mail-cache DIR] [--json FILE]

Needs Dovecot (tests/servers.py) and `pyte`; peers that are not installed are skipped.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import imaplib
import json
import math
import os
import re
import select
import shlex
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

import pyte
from big_mailbox import floor_first_screen  # the same floor, other items
from mailgen import generate, newest_subject
from servers import DovecotServer, fill_maildir

COLS, ROWS = 120, 40
FIRST_ITEMS = "(UID FLAGS ENVELOPE)"
FULL_ITEMS = (
    "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE FROM TO CC SUBJECT "
    "MESSAGE-ID IN-REPLY-TO REFERENCES CONTENT-TYPE)])"
)
RSS_EVERY = 0.02
KEY_TIMEOUT = 5.0
ALL_CLIENTS = ("tui-mail", "neomutt", "mutt", "aerc")


# -- floors ------------------------------------------------------------------------------


def floor_full_list(server: DovecotServer) -> float:
    began = time.perf_counter()
    imap = imaplib.IMAP4(server.host, server.port)
    imap.login(server.user, server.password)
    imap.select("INBOX")
    imap.uid("FETCH", "1:*", FULL_ITEMS)
    elapsed = time.perf_counter() - began
    imap.logout()
    return elapsed


def floor_lean_list(server: DovecotServer) -> float:
    """The issue's "lean floor": the same FETCH, parsed into rows by tui-mail's own lean
    path (tui.imap.lean_fetch) in one command on one connection, nothing else."""
    from imapclient import IMAPClient

    from tui.imap.lean_fetch import all_uids, fetch_rows

    began = time.perf_counter()
    client = IMAPClient(server.host, port=server.port, ssl=False)
    client.login(server.user, server.password)
    client.select_folder(b"INBOX")
    rows = fetch_rows(client, all_uids(client))
    elapsed = time.perf_counter() - began
    client.logout()
    assert rows and not any(row.placeholder for row in rows)
    return elapsed


def mailbox_state(server: DovecotServer) -> bytes:
    imap = imaplib.IMAP4(server.host, server.port)
    imap.login(server.user, server.password)
    _typ, data = imap.status("INBOX", "(MESSAGES UNSEEN)")
    imap.logout()
    return data[0]


# A stand-in for a client: raw mode, a reverse-video bar that moves one row per key.
ECHO_PROGRAM = r"""
import os, sys, tty
tty.setraw(0)
W, H = 120, 38
def bar(row, on):
    text = ("  message %d" % row).ljust(W).encode()
    return b"\x1b[%d;1H" % (row + 1) + (b"\x1b[7m" + text + b"\x1b[0m" if on else text)
os.write(1, b"\x1b[2J" + b"".join(bar(r, r == 0) for r in range(H)) + b"\x1b[40;1H" + sys.argv[1].encode())
row = 0
while True:
    key = os.read(0, 1)
    if not key or key == b"q":
        break
    os.write(1, bar(row, False) + bar((row + 1) % H, True))
    row = (row + 1) % H
"""


# -- the terminal ------------------------------------------------------------------------


def _controlling_tty() -> None:  # runs in the child, after setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(key.encode()):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        current = stack.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend(int(child) for child in children.read().split())
        except OSError:
            pass
    return pids


class Terminal:
    """One client in a 120x40 pty, its screen as pyte sees it, its RSS polled meanwhile."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.master = master
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        # answer the terminal queries pyte knows (device attributes, cursor position)
        self.screen.write_process_input = lambda data: self._write(data.encode())
        self.rss_peak_kb = 0
        self._last_rss = 0.0
        self.closed = False
        self.began = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
            start_new_session=True, preexec_fn=_controlling_tty, close_fds=True,  # noqa: PLW1509 (no threads)
        )
        os.close(slave)

    def _write(self, data: bytes) -> None:
        try:
            os.write(self.master, data)
        except OSError:
            pass

    def press(self, key: str) -> float:
        self._write(key.encode())
        return time.perf_counter()

    def sample_rss(self) -> None:
        self._last_rss = time.perf_counter()
        total = sum(_status_kb(pid, "VmRSS:") for pid in _tree(self.proc.pid))
        self.rss_peak_kb = max(self.rss_peak_kb, total, _status_kb(self.proc.pid, "VmHWM:"))

    def pump(self, until: float) -> float | None:
        """Read output until `until` or until some arrives; the time it was read, or None."""
        while True:
            now = time.perf_counter()
            if now - self._last_rss >= RSS_EVERY:
                self.sample_rss()
            wait = min(until - now, RSS_EVERY - (now - self._last_rss))
            if until - now <= 0 or self.closed:
                return None
            ready, _, _ = select.select([self.master], [], [], max(0.0, wait))
            if not ready:
                continue
            # Drain what is there before parsing: pyte costs ~1 us a byte, and a client
            # blocked on a full pty buffer while we parse would be timed for our work.
            chunks: list[bytes] = []
            read_at = 0.0
            while True:
                try:
                    data = os.read(self.master, 1 << 16)
                except OSError:  # EIO: the client is gone
                    data = b""
                if not data:
                    self.closed = True
                    break
                chunks.append(data)
                read_at = time.perf_counter()
                if not select.select([self.master], [], [], 0)[0]:
                    break
            if not chunks:
                return None
            self.stream.feed(b"".join(chunks))
            return read_at

    def wait_for(self, predicate: Callable[[pyte.Screen], bool], timeout: float) -> float | None:
        """Seconds since launch when `predicate(screen)` first held, or None on timeout."""
        if predicate(self.screen):
            return time.perf_counter() - self.began
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and not self.closed:
            read_at = self.pump(deadline)
            if read_at is not None and predicate(self.screen):
                return read_at - self.began
        return None

    def idle(self, seconds: float) -> None:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline and not self.closed:
            self.pump(deadline)

    def dump(self) -> str:
        return "\n".join(f"  |{line.rstrip()}" for line in self.screen.display)

    def close(self, quit_keys: str, timeout: float = 15.0) -> None:
        """Quit like a user (so caches get written), then make sure the process is gone."""
        self.sample_rss()
        if self.proc.poll() is None:
            self._write(quit_keys.encode())
            deadline = time.perf_counter() + timeout
            while self.proc.poll() is None and time.perf_counter() < deadline:
                self.pump(min(deadline, time.perf_counter() + 0.05))
        if self.proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.proc.pid, sig)  # the session we created for it
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(5)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.proc.wait()
        os.close(self.master)


# -- reading the screen ------------------------------------------------------------------


def screen_has(text: str) -> Callable[[pyte.Screen], bool]:
    return lambda screen: any(text in line for line in screen.display)


def list_looks(screen: pyte.Screen, rows: range, cols: range = range(60, COLS)) -> tuple:
    """How each row of the message list is drawn: its dominant (background, reverse).

    Taken over the right half of the screen, clear of side panes. Only the cursor's
    highlight changes it: text arriving in a row (a status line ticking, a row filled
    in) does not, as long as the colours stay.
    """
    looks = []
    for row in rows:
        line = screen.buffer[row]
        counts = Counter((line[col].bg, line[col].reverse) for col in cols)
        looks.append(counts.most_common(1)[0][0])
    return tuple(looks)


def status_line(screen: pyte.Screen) -> str:
    return screen.display[ROWS - 2]


# -- the clients ---------------------------------------------------------------------------


@dataclass
class Client:
    name: str
    binary: str | None
    list_rows: range  # where the message list is drawn
    quit_keys: str = "q"
    key: str = "j"
    has_full_list: bool = True  # False: fetches only what it shows (aerc)
    full_is_first: bool = False  # loads every header before showing the index (mutt)

    def available(self) -> bool:
        return self.binary is not None

    def setup(self, server: DovecotServer, home: Path, cache: Path) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def loading(self, screen: pyte.Screen) -> bool:
        return False

    def loaded(self, screen: pyte.Screen) -> bool:
        return True

    def problem(self, screen: pyte.Screen) -> str | None:
        return None


def base_env(home: Path, cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    # PYTHONDONTWRITEBYTECODE: a pip-installed tui-mail has its bytecode compiled; an
    # editable one run with this set would compile every module at every launch (~0.3 s).
    for name in ("COLORTERM", "TMUX", "STY", "MAIL", "MAILDIR", "MUTT", "NEOMUTT", "TUI_MAIL_CONFIG",
                 "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    env.update(
        TERM="xterm-256color", LANG="C.UTF-8", LC_ALL="C.UTF-8", HOME=str(home),
        XDG_CACHE_HOME=str(cache), XDG_STATE_HOME=str(home / "state"), XDG_CONFIG_HOME=str(home / "config"),
    )
    return env


class TuiMail(Client):
    def __init__(self, command: list[str]) -> None:
        found = shutil.which(command[0]) if command else None
        super().__init__("tui-mail", found, range(ROWS - 2))
        self.command = command

    def setup(self, server, home, cache):
        config = home / "config.toml"
        config.write_text(
            "[accounts.bench]\n"
            f'host = "{server.host}"\nport = {server.port}\ntls = "none"\n'
            f'username = "{server.user}"\n'
            f"password_command = \"printf '%s' {server.password}\"\n"
        )
        return [*self.command, "--config", str(config)], base_env(home, cache)

    def loading(self, screen):
        return "loading" in status_line(screen)

    def loaded(self, screen):
        line = status_line(screen)
        return "messages" in line and "loading" not in line

    def problem(self, screen):
        line = status_line(screen)
        return line.strip() if " ! " in line else None


class Mutt(Client):
    """mutt and NeoMutt: same muttrc; NeoMutt also gets QRESYNC and CONDSTORE."""

    def __init__(self, name: str) -> None:
        super().__init__(name, shutil.which(name), range(1, ROWS - 2), full_is_first=True)

    def setup(self, server, home, cache):
        rc = home / "muttrc"
        lines = [
            f'set folder="imap://{server.user}@{server.host}:{server.port}/"',
            'set spoolfile="+INBOX"',
            f'set imap_user="{server.user}"',
            f'set imap_pass="{server.password}"',
            f'set header_cache="{cache}/"',
            "set ssl_starttls=no",
            "set ssl_force_tls=no",
            "set sort=reverse-date",  # newest on top, and the cursor on it
            "set move=no",
            "set quit=yes",
            "set imap_check_subscribed=no",
            "unset imap_passive",
            "set mail_check=600",
            "set sleep_time=0",  # no pause after informational messages
            "set beep=no",
        ]
        if self.name == "neomutt":
            lines += ["set imap_qresync=yes", "set imap_condstore=yes"]
        rc.write_text("\n".join(lines) + "\n")
        return [self.binary, "-n", "-F", str(rc)], base_env(home, cache)


class Aerc(Client):
    def __init__(self) -> None:
        super().__init__("aerc", shutil.which("aerc"), range(1, ROWS - 1), has_full_list=False)

    def setup(self, server, home, cache):
        conf = home / "config" / "aerc"
        conf.mkdir(parents=True, exist_ok=True)
        accounts = conf / "accounts.conf"
        accounts.write_text(
            "[bench]\n"
            f"source = imap+insecure://{server.user}:{server.password}@{server.host}:{server.port}\n"
            "outgoing = /bin/true\n"
            "default = INBOX\n"
            "from = Bench <bench@example.com>\n"
            "cache-headers = true\n"
        )
        accounts.chmod(0o600)
        for name in ("aerc.conf", "binds.conf"):
            shipped = Path("/usr/share/aerc") / name
            if shipped.exists():
                shutil.copy(shipped, conf / name)
            else:
                (conf / name).touch()
        return [self.binary], base_env(home, cache)


class EchoFloor(Client):
    def __init__(self) -> None:
        super().__init__("key floor", sys.executable, range(ROWS - 2))

    def setup(self, server, home, cache):
        return [sys.executable, "-c", ECHO_PROGRAM, "ready"], base_env(home, cache)


# -- one run -------------------------------------------------------------------------------


@dataclass
class Run:
    first: float | None = None
    full: float | None = None
    rss_mb: float | None = None
    keys: list[float] = field(default_factory=list)
    keys_during_load: int = 0
    error: str | None = None


def launch(client: Client, server, home: Path, cache: Path) -> Terminal:
    home.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    argv, env = client.setup(server, home, cache)
    return Terminal(argv, env, str(home))


def measure(client: Client, server, home: Path, cache: Path, needle: str, *, keys: int, interval: float,
            timeout: float) -> Run:
    run = Run()
    term = launch(client, server, home, cache)
    try:
        run.first = term.wait_for(screen_has(needle), timeout)
        if run.first is None:
            run.error = "no first screen" + (" (it exited)" if term.closed else f" in {timeout:.0f} s")
            return run
        if keys:
            press_keys(client, term, run, keys, interval)
        elif client.full_is_first:
            run.full = run.first
        elif client.has_full_list:
            run.full = term.wait_for(lambda s: client.loaded(s) or client.problem(s) is not None, timeout)
            problem = client.problem(term.screen)
            if run.full is None or problem:
                run.error = problem or f"list not complete in {timeout:.0f} s"
                run.full = None
        term.idle(0.1)
    finally:
        if run.error:
            run.error += "\n" + term.dump()
        term.close(client.quit_keys)
        run.rss_mb = term.rss_peak_kb / 1024
    return run


def press_keys(client: Client, term: Terminal, run: Run, count: int, interval: float) -> None:
    rows = client.list_rows
    # let the first screen settle: the list's looks unchanged for 0.2 s (at most 3 s)
    settle_until = time.perf_counter() + 3.0
    last = list_looks(term.screen, rows)
    stable_since = time.perf_counter()
    while time.perf_counter() < settle_until and not term.closed:
        term.pump(min(settle_until, time.perf_counter() + 0.02))
        now_rows = list_looks(term.screen, rows)
        if now_rows != last:
            last, stable_since = now_rows, time.perf_counter()
        elif time.perf_counter() - stable_since >= 0.2:
            break
    for _ in range(count):
        before = list_looks(term.screen, rows)
        run.keys_during_load += client.loading(term.screen)
        pressed = term.press(client.key)
        moved = term.wait_for(lambda s, before=before: list_looks(s, rows) != before, KEY_TIMEOUT)
        run.keys.append(KEY_TIMEOUT if moved is None else moved - (pressed - term.began))
        rest = pressed + interval - time.perf_counter()
        if rest > 0:
            term.idle(rest)


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


# -- mailboxes -----------------------------------------------------------------------------


def fill_inbox(server: DovecotServer, count: int, seed: int, mail_cache: Path | None) -> None:
    """Generate the INBOX, or hard-link it from `mail_cache` where an earlier run left it."""
    if mail_cache is None:
        fill_maildir(server, "INBOX", generate(count, seed))
        return
    generator = hashlib.sha1((HERE / "mailgen.py").read_bytes()).hexdigest()[:8]  # a changed generator: new mail
    store = mail_cache / f"inbox-{count}-seed{seed}-{generator}"
    done = store / "complete"
    if not done.exists():
        shutil.rmtree(store, ignore_errors=True)
        fake = SimpleNamespace(home=store, maildir=store / "Maildir", mail_uid=server.mail_uid,
                               mail_gid=server.mail_gid)
        store.mkdir(parents=True)
        fill_maildir(fake, "INBOX", generate(count, seed))
        done.touch()
    cur = server.maildir / "cur"
    for entry in os.scandir(store / "Maildir" / "cur"):
        try:
            os.link(entry.path, cur / entry.name)
        except OSError:
            shutil.copy2(entry.path, cur / entry.name)
            if os.getuid() == 0:
                os.chown(cur / entry.name, server.mail_uid, server.mail_gid)


def maildir_bytes(server: DovecotServer) -> int:
    return sum(entry.stat().st_size for entry in os.scandir(server.maildir / "cur"))


# -- the benchmark ---------------------------------------------------------------------------


METRICS = [
    # key, label, floor key, unit
    ("first", "first screen (cold)", "floor_first", "s"),
    ("full", "full list (cold)", "floor_full", "s"),
    ("full", "  vs the lean floor", "floor_lean", "s"),
    ("warm_first", "first screen (warm)", "floor_first", "s"),
    ("warm_full", "full list (warm)", "floor_full", "s"),
    ("rss", "peak RSS", None, "MB"),
    ("key_p95", "key p95", "floor_key", "s"),
]


def bench_size(count: int, clients: list[Client], args, workdir: Path) -> dict:
    needle = newest_subject(count)[:20]
    results: dict[str, dict[str, list]] = {c.name: {} for c in clients}
    floors: dict[str, list[float]] = {"floor_first": [], "floor_full": [], "floor_lean": [], "floor_key": []}
    notes: list[str] = []
    with DovecotServer() as server:
        began = time.perf_counter()
        fill_inbox(server, count, args.seed, args.mail_cache)
        size = maildir_bytes(server)
        print(f"\n== {count:,} messages, {size / 1e6:,.0f} MB (ready in {time.perf_counter() - began:.1f} s)",
              flush=True)
        floor_full_list(server)  # Dovecot builds its index and caches the floor's fields
        state = mailbox_state(server)
        run_dir = workdir / f"size-{count}"

        def record(client: Client, metric: str, value) -> None:
            results[client.name].setdefault(metric, []).append(value)

        def checked(client: Client, run: Run, what: str) -> Run:
            if run.error:
                notes.append(f"{client.name} {what}: {run.error}")
                lines = run.error.splitlines()
                tail = [line for line in lines[1:] if line.strip(" |")][-12:]  # a traceback's end
                print("\n".join([f"   {client.name} {what}: {lines[0]}", *tail]), file=sys.stderr, flush=True)
            now = mailbox_state(server)
            if now != state:
                notes.append(f"{client.name} {what} changed the mailbox: {state!r} -> {now!r}")
            return run

        active = list(clients)
        if not args.no_warmup:
            for client in clients:
                home = run_dir / "warmup" / client.name
                run = checked(client, measure(client, server, home, home / "cache", needle, keys=0,
                                              interval=args.key_interval, timeout=args.timeout), "warm-up")
                print(f"   warm-up {client.name}: first {fmt_s(run.first)}, full {fmt_s(run.full)}", flush=True)
                if run.first is None:  # it crashed or never showed the list: no point timing it
                    active.remove(client)
                    notes.append(f"{client.name}: skipped at this size, its warm-up run failed")
        key_floor = EchoFloor()
        for repeat in range(args.repeat):
            floors["floor_first"].append(floor_first_screen(server, FIRST_ITEMS))
            floors["floor_full"].append(floor_full_list(server))
            floors["floor_lean"].append(floor_lean_list(server))
            home = run_dir / f"r{repeat}" / "floor"
            echo = measure(key_floor, server, home, home / "cache", "ready", keys=args.keys,
                           interval=args.key_interval, timeout=30)
            floors["floor_key"].append(p95(echo.keys) or 0.0)
            for client in active:
                home = run_dir / f"r{repeat}" / client.name
                cache = home / "cache"
                opts = {"interval": args.key_interval, "timeout": args.timeout}
                cold = checked(client, measure(client, server, home, cache, needle, keys=0, **opts), "cold")
                warm = checked(client, measure(client, server, home, cache, needle, keys=0, **opts), "warm")
                keyed_home = run_dir / f"r{repeat}" / f"{client.name}-keys"
                keyed = checked(client, measure(client, server, keyed_home, keyed_home / "cache", needle,
                                                keys=args.keys, **opts), "keys")
                record(client, "first", cold.first)
                record(client, "full", cold.full)
                record(client, "warm_first", warm.first)
                record(client, "warm_full", warm.full)
                record(client, "rss", cold.rss_mb)
                record(client, "key_p95", p95(keyed.keys))
                record(client, "keys_during_load", keyed.keys_during_load)
                print(
                    f"   run {repeat + 1}/{args.repeat} {client.name}: first {fmt_s(cold.first)}, "
                    f"full {fmt_s(cold.full)}, warm {fmt_s(warm.first)}/{fmt_s(warm.full)}, "
                    f"RSS {cold.rss_mb:.0f} MB, key p95 {fmt_s(p95(keyed.keys))} "
                    f"({keyed.keys_during_load}/{len(keyed.keys)} during load)",
                    flush=True,
                )
            shutil.rmtree(run_dir / f"r{repeat}", ignore_errors=True)
    return {"messages": count, "bytes": size, "floors": floors, "clients": results, "notes": notes}


def median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_s(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f}x" if value >= 100 else f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def print_table(report: dict, clients: list[Client], repeat: int, keys: int) -> None:
    floors = {name: median(values) for name, values in report["floors"].items()}
    med = {c.name: {m: median(v) for m, v in report["clients"][c.name].items()} for c in clients}
    peers = [c for c in clients if c.name != "tui-mail"]
    has_tui = any(c.name == "tui-mail" for c in clients)
    print(f"\nINBOX of {report['messages']:,} messages ({report['bytes'] / 1e6:,.0f} MB), medians of {repeat} run(s);"
          " (Nx) = times the floor")
    header = ["metric", "floor"] + [c.name for c in clients] + [f"tui/{p.name}" for p in peers if has_tui]
    rows = [header]
    for key, label, floor_key, unit in METRICS:
        floor = floors.get(floor_key) if floor_key else None
        row = [label, fmt_s(floor) if floor_key else "-"]
        for client in clients:
            value = med[client.name].get(key)
            if value is None:
                row.append("n/a")
                continue
            text = f"{value:.0f} MB" if unit == "MB" else fmt_s(value)
            if floor:
                text += f" ({fmt_ratio(value / floor)})"
            row.append(text)
        if has_tui:
            mine = med["tui-mail"].get(key)
            for peer in peers:
                theirs = med[peer.name].get(key)
                row.append(fmt_ratio(mine / theirs) if mine is not None and theirs else "n/a")
        rows.append(row)
    during = ["keys during load"] + ["-"] + [
        f"{med[c.name].get('keys_during_load') or 0:.0f}/{keys}" if c.name == "tui-mail" else "-"
        for c in clients
    ]
    rows.append(during + [""] * (len(header) - len(during)))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    for index, row in enumerate(rows):
        print("  " + "  ".join(str(cell).ljust(widths[i]) if i == 0 else str(cell).rjust(widths[i])
                               for i, cell in enumerate(row)))
        if index == 0:
            print("  " + "  ".join("-" * w for w in widths))
    if has_tui and peers:
        print("  tui/peer < 1: tui-mail is faster (or smaller); > 1: slower")
    for note in report["notes"]:
        print("  note: " + note.splitlines()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,50000,100000", help="comma-separated message counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per client and size; medians are printed")
    parser.add_argument("--clients", default=",".join(ALL_CLIENTS),
                        help="comma-separated, from: " + ", ".join(ALL_CLIENTS))
    parser.add_argument("--tui-mail", default=None, metavar="CMD",
                        help='how to start tui-mail (default: the tui-mail next to this Python, e.g. "python -m tui")')
    parser.add_argument("--keys", type=int, default=30, help="key presses in the latency run")
    parser.add_argument("--key-interval", type=float, default=0.1, help="seconds between key presses")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a client may take per screen")
    parser.add_argument("--seed", type=int, default=1, help="mailbox generator seed")
    parser.add_argument("--mail-cache", type=Path, default=None, metavar="DIR",
                        help="keep generated mailboxes here and hard-link them in next time (same filesystem)")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed first run of each client")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write every figure here")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    wanted = [name.strip() for name in args.clients.split(",") if name.strip()]
    unknown = set(wanted) - set(ALL_CLIENTS)
    if unknown:
        parser.error(f"unknown clients: {', '.join(sorted(unknown))}")

    if args.tui_mail:
        tui_command = shlex.split(args.tui_mail)
    else:
        beside = Path(sys.executable).with_name("tui-mail")
        tui_command = [str(beside) if beside.exists() else "tui-mail"]
    makers = {"tui-mail": lambda: TuiMail(tui_command), "neomutt": lambda: Mutt("neomutt"),
              "mutt": lambda: Mutt("mutt"), "aerc": Aerc}
    clients = []
    for name in wanted:
        client = makers[name]()
        if client.available():
            clients.append(client)
        else:
            print(f"{name}: not installed, skipped", file=sys.stderr)
    if not clients:
        print("no client to measure", file=sys.stderr)
        return 1
    print("clients: " + ", ".join(f"{c.name} ({version(c)})" for c in clients), flush=True)

    reports = []
    workdir = Path(tempfile.mkdtemp(prefix="tui-peers-"))
    try:
        for count in sizes:
            report = bench_size(count, clients, args, workdir)
            reports.append(report)
            print_table(report, clients, args.repeat, args.keys)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1))
    return 0


def version(client: Client) -> str:
    if isinstance(client, TuiMail):
        argv, flag = client.command, "--version"
    else:
        argv, flag = [client.binary or "?"], "-v"
    try:
        out = subprocess.run([*argv, flag], check=False, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    first = out.strip().splitlines()[0] if out.strip() else "?"
    return re.sub(r"\s*\(.*", "", first) if client.name == "aerc" else first


if __name__ == "__main__":
    sys.exit(main())
