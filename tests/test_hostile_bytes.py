"""Escape sequences in every place a message can hide them never reach the terminal.

tui-mail runs under tmux against a Dovecot holding hostile mail; every byte it writes
to the terminal is recorded (pipe-pane) while the messages are listed and opened, and
then scanned for the payloads. Each payload carries a marker that appears nowhere
else, so finding the marker means the sequence got through.
"""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path

import pytest

from harness import account_for, raw_client
from servers import DovecotServer, require_dovecot
from tmux_pane import tmux_server, wait_for_screen


def encoded_word(text: str) -> bytes:
    return b"=?utf-8?b?" + base64.b64encode(text.encode()) + b"?="


OSC52 = "\x1b]52;c;U0VDUkVUNTI=\x07"  # would write "SECRET52" to the clipboard
OSC0 = "\x1b]0;PWNTITLE\x07"  # would set the window title
OSC8 = "\x1b]8;;https://evil.example/LINKMARK\x1b\\"  # would hide a link target
DCS = "\x1bPDCSMARK\x1b\\"
CSI_6N = "\x1b[6n"  # would make the terminal type its cursor position into our input
C1_OSC = "\u009d0;C1TITLE\u009c"  # the 8-bit OSC, as a UTF-8 header can carry it

HEADERS_MESSAGE = (
    b"From: " + encoded_word(f"Bank{OSC8}Support") + b" <support@bank.example>\r\n"
    b"To: you@example.org\r\n"
    b"Subject: " + encoded_word(f"Invoice {OSC52}ready") + b" " + f"raw{CSI_6N}QZ7 {C1_OSC}now".encode()
    + b"\r\nDate: Mon, 20 Nov 2023 10:00:00 +0000\r\nMessage-ID: <h1@example.org>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    + f"Plain body {DCS}with DCS and a title {OSC0}change.\r\n".encode()
)

ATTACHMENT_MESSAGE = (
    b"From: Files <files@example.org>\r\nTo: you@example.org\r\nSubject: Attachment names\r\n"
    b"Date: Mon, 20 Nov 2023 10:01:00 +0000\r\nMessage-ID: <h2@example.org>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
    b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n"
    b"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
    b'Content-Disposition: attachment; filename="' + f"{OSC0}r{C1_OSC}e{DCS}p\u202egnp.exe".encode() + b'"\r\n\r\n'
    b"aGVsbG8=\r\n--b1--\r\n"
)

HTML_MESSAGE = (
    b"From: News <news@example.org>\r\nTo: you@example.org\r\nSubject: HTML newsletter\r\n"
    b"Date: Mon, 20 Nov 2023 10:02:00 +0000\r\nMessage-ID: <h3@example.org>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    + f"<html><body><p>Hello {OSC52}reader</p><a href=\"https://evil.example/\">{OSC8}click</a>"
      f"<p>{DCS}end</p></body></html>\r\n".encode()
)

LIST_FOOTER = "Open  q Quit"  # the list's key bar; the viewer's says "esc Back"

# Bytes that only the payloads contain: none may reach the terminal.
MARKERS = [b"U0VDUkVUNTI=", b"PWNTITLE", b"LINKMARK", b"DCSMARK", b"C1TITLE", b"\x1b[6nQZ7", b"\xc2\x9d"]


@pytest.fixture
def tmux(tmp_path):
    yield from tmux_server(tmp_path)


def test_payloads_in_headers_names_filenames_and_bodies_never_reach_the_terminal(tmux, tmp_path):
    require_dovecot()
    with DovecotServer() as server:
        client = raw_client(account_for(server, "evil"), server.password)
        for raw in (HEADERS_MESSAGE, ATTACHMENT_MESSAGE, HTML_MESSAGE):  # the HTML one is newest: first row
            client.append("INBOX", raw)
        client.logout()
        config = tmp_path / "config.toml"
        config.write_text(f'[accounts.evil]\nhost = "{server.host}"\nport = {server.port}\ntls = "none"\n'
                          f'username = "{server.user}"\npassword_command = "printf %s {server.password}"\n')
        config.chmod(0o600)
        raw_log = tmp_path / "pane.bytes"
        executable = Path(sys.executable).parent / "tui-mail"
        command = f"{executable}" if executable.exists() else f"{sys.executable} -m tui"
        tmux("new-session", "-d", "-s", "demo", "-x", "160", "-y", "40",
             f"env -u COLUMNS -u LINES HOME={tmp_path} XDG_STATE_HOME={tmp_path}/state "
             f"XDG_CACHE_HOME={tmp_path}/cache {command} --config {config}; sleep 30")
        tmux("resize-window", "-t", "demo", "-x", "160", "-y", "40")  # room for the filename in the part tree
        tmux("pipe-pane", "-t", "demo", "-o", f"cat > {raw_log}")
        screen = wait_for_screen(tmux, "Invoice ready")
        assert "Invoice ready rawQZ7 now" in screen  # each sequence removed whole, the text around it kept
        rows = [line for line in screen.splitlines() if "2023-11-20" in line]
        assert ["HTML newsletter" in rows[0], "Attachment names" in rows[1], "Invoice ready" in rows[2]] == [True] * 3
        for index, shown in enumerate(("Hello reader", "octet-stream re", "Plain body with DCS and a title change.")):
            if index:
                time.sleep(0.3)  # at a person's pace
                tmux("send-keys", "-t", "demo", "j")  # the cursor stays on the row last opened
                time.sleep(0.3)
            tmux("send-keys", "-t", "demo", "Enter")
            wait_for_screen(tmux, shown)  # (the filename: its sequences and RLO gone)
            tmux("send-keys", "-t", "demo", "Escape")
            screen = wait_for_screen(tmux, LIST_FOOTER)  # the viewer is closed
        tmux("send-keys", "-t", "demo", "q")
        time.sleep(1.0)
        written = raw_log.read_bytes()
        assert b"Invoice" in written and b"gnp.exe" in written and b"Hello" in written
        for marker in MARKERS:
            assert marker not in written, f"{marker!r} reached the terminal"
