"""End to end in a real terminal: `tui-mail --demo` under tmux, scanning the bytes it writes.

A widget can hold inert text and still leak: this checks what actually reaches the
terminal when the hostile demo message is listed and opened.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tmux_pane import tmux_server, wait_for_screen
from tui.demo_data import MARKUP_SUBJECT

HOSTILE_PAYLOADS = [b"]52;", b"ZXZpbA==", b"]0;pwned", b"pwned title"]


@pytest.fixture
def tmux(tmp_path):
    yield from tmux_server(tmp_path)


def test_hostile_message_reaches_the_terminal_as_plain_text(tmux, tmp_path):
    raw_log = tmp_path / "pane.bytes"
    executable = Path(sys.executable).parent / "tui-mail"
    command = f"{executable} --demo" if executable.exists() else f"{sys.executable} -m tui --demo"
    tmux("new-session", "-d", "-s", "demo", "-x", "120", "-y", "40", f"env -u COLUMNS -u LINES XDG_STATE_HOME={tmp_path} {command}; sleep 30")
    tmux("resize-window", "-t", "demo", "-x", "120", "-y", "40")  # -x/-y alone lose to default-size
    tmux("pipe-pane", "-t", "demo", "-o", f"cat > {raw_log}")
    visible = MARKUP_SUBJECT.split("\x1b")[0].strip()  # "[@click=app.quit]Free prize[/]"
    screen = wait_for_screen(tmux, visible)
    assert "INBOX" in screen
    # The hostile message is the newest, on the first row: open it.
    tmux("send-keys", "-t", "demo", "Enter")
    screen = wait_for_screen(tmux, "Subject: " + visible)
    assert "[link=https://evil.example.com]claim here[/link]" in screen  # body markup shown literally
    tmux("send-keys", "-t", "demo", "q")
    time.sleep(1.0)
    written = raw_log.read_bytes()
    assert b"Free prize" in written
    for payload in HOSTILE_PAYLOADS:
        assert payload not in written, f"{payload!r} reached the terminal"
    # The app quit on q (and not earlier through a live [@click=app.quit]).
    assert "Free prize" not in tmux("capture-pane", "-p", "-t", "demo")


def _config(tmp_path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text("[accounts.work]\n" + body)
    path.chmod(0o600)  # it runs a password_command: readable by others would add a warning line
    return path


@pytest.mark.parametrize(
    "case, expected",
    [
        ("wrong password", "refused the login for account 'work'"),
        ("bad certificate", "could not be verified"),
        ("refused connection", "refused the connection"),
        ("unknown host", "Cannot find the host"),
    ],
)
def test_connection_mistakes_end_the_cli_with_one_clear_line(tmux, tmp_path, dovecot, case, expected):
    from tui.demo_server import free_port

    bodies = {
        "wrong password": f'host = "127.0.0.1"\nport = {dovecot.port}\ntls = "none"\nusername = "{dovecot.user}"\n'
        'password_command = "echo not-the-password"\n',
        "bad certificate": f'host = "localhost"\nport = {dovecot.tls_port}\nusername = "{dovecot.user}"\n'
        'password_command = "echo x"\n',
        "refused connection": f'host = "127.0.0.1"\nport = {free_port()}\ntls = "none"\nusername = "u"\n'
        'password_command = "echo x"\n',
        "unknown host": 'host = "no-such-host.invalid"\nusername = "u"\npassword_command = "echo x"\n',
    }
    config = _config(tmp_path, bodies[case])
    executable = Path(sys.executable).parent / "tui-mail"
    rc = tmp_path / "rc"
    # Textual draws on stderr, so the message is read off the screen after it exits.
    command = f"env -u COLUMNS -u LINES XDG_STATE_HOME={tmp_path} {executable} --config {config}; echo $? > {rc}; sleep 30"
    tmux("new-session", "-d", "-s", "demo", "-x", "200", "-y", "30", command)
    deadline = time.monotonic() + 30
    while not rc.exists() or not rc.read_text().strip():
        assert time.monotonic() < deadline, "tui-mail did not exit by itself"
        time.sleep(0.2)
    assert rc.read_text().strip() == "1"
    screen = tmux("capture-pane", "-p", "-J", "-t", "demo")
    lines = [line for line in screen.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("tui-mail: ") and expected in lines[0]
    assert "Traceback" not in screen
