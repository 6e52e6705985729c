"""Regenerate screenshots/ from the demo: `python scripts/screenshots.py`.

Uses the same demo server and the same scenarios as the snapshot tests, with the
clock pinned, then converts each SVG to PNG when rsvg-convert is installed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("TUI_MAIL_NOW", "2026-11-20T12:00:00+00:00")
os.environ.setdefault("TZ", "UTC")
time.tzset()

from scenarios import (  # noqa: E402
    fully_loaded,
    open_attachment_message,
    open_bounce,
    open_newsletter,
    open_quoted_reply,
    search_results,
    thread_view,
)

from tui.app import MailApp  # noqa: E402
from tui.demo import demo_account  # noqa: E402

SHOTS = {
    "main.svg": fully_loaded,
    "message.svg": open_attachment_message,
    "search.svg": search_results,
    "threads.svg": thread_view,
    "html-mail.svg": open_newsletter,
    "quoted-reply.svg": open_quoted_reply,
    "bounce.svg": open_bounce,
}


async def shoot(account, password, name, scenario) -> Path:
    app = MailApp(account, password)  # a throwaway server: \\Seen may change
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario(pilot)
        path = app.save_screenshot(name, path=str(ROOT / "screenshots"))
    return Path(path)


def main() -> None:
    (ROOT / "screenshots").mkdir(exist_ok=True)
    with demo_account() as (account, password):
        for name, scenario in SHOTS.items():
            svg = asyncio.run(shoot(account, password, name, scenario))
            print(f"wrote {svg.relative_to(ROOT)}")
            if shutil.which("rsvg-convert"):
                png = svg.with_suffix(".png")
                subprocess.run(["rsvg-convert", "-o", str(png), str(svg)], check=True)
                print(f"wrote {png.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
