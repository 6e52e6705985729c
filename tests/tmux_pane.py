"""tui-mail in a real terminal: a private tmux server, and waiting for text on its screen.

Tests that must see the bytes the app writes (not only what a widget holds) run it in a
tmux session named "demo" and record the pane with pipe-pane.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SESSION = "demo"


def tmux_server(tmp_path: Path) -> Iterator[Callable[..., str]]:
    if shutil.which("tmux") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is not installed (apt-get install tmux)")
        pytest.skip("tmux is not installed")
    socket = str(tmp_path / "tmux.sock")

    def run(*args: str) -> str:
        return subprocess.run(["tmux", "-S", socket, *args], capture_output=True, text=True, check=True).stdout

    yield run
    subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True)


def wait_for_screen(tmux: Callable[..., str], text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", SESSION)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; screen was:\n{screen}")
