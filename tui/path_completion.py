"""Completing a typed file path the way a shell's Tab does.

`complete("~/Doc", home=...)` lists the folder, keeps the names that start with what was
typed, and answers with the text completed as far as it is certain: the whole name
when one matches (a folder gets its "/"), the longest common start when several do.
"~" stays "~" in the text; only the lookup expands it.

Listing a folder may hang (a dead network mount), so `complete_soon` runs it in a
thread of its own and stops waiting after a timeout.  A thread stuck in the kernel
cannot be stopped, so at most a few are let run at once: a hung folder costs a few
threads, never a frozen screen.  Only the first 5000 entries of a folder are read.

Pure module: no Textual or Rich imports.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tui.safe_text import safe_line

__all__ = ["MAX_ENTRIES", "Completion", "complete", "complete_soon"]

MAX_ENTRIES = 5000  # entries read from one folder
MAX_RUNNING = 4  # listing threads still running (some may hang) before we refuse more

_running = 0
_running_lock = threading.Lock()


@dataclass(frozen=True)
class Completion:
    """`text` is the input completed (unchanged when nothing could be added);
    `candidates` the matching names when several match, folders ending in "/"."""

    text: str
    candidates: list[str] = field(default_factory=list)
    note: str = ""  # why there is nothing: "no match", a folder that cannot be read
    partial: bool = False  # the folder has more than MAX_ENTRIES entries; only those were looked at


def complete(text: str, *, home: Path, limit: int = MAX_ENTRIES) -> Completion:
    """Complete the last component of `text`.  Never raises; reads at most `limit` entries."""
    text = str(text or "")
    if text == "~":
        return Completion("~/") if os.path.isdir(home) else Completion(text, note="no home folder")
    folder_text, slash, prefix = text.rpartition("/")
    folder_text += slash
    folder = _lookup_folder(folder_text, home)
    show_hidden = prefix.startswith(".")
    matches: list[tuple[str, bool]] = []
    read = 0
    partial = False
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if read >= limit:
                    partial = True
                    break
                read += 1
                name = entry.name
                if not name.startswith(prefix) or (name.startswith(".") and not show_hidden):
                    continue
                # A name that needs cleaning to be shown (controls, bidi, undecodable
                # bytes) would go into the input as it is: it is left out.
                if safe_line(name, len(name) + 1) != name:
                    continue
                matches.append((name, _is_folder(entry)))
    except (OSError, ValueError) as error:  # ValueError: a NUL in the text
        reason = getattr(error, "strerror", None) or "cannot read it"
        return Completion(text, note=f"{folder_text or './'}: {reason}")
    if not matches:
        return Completion(text, note="no match", partial=partial)
    if len(matches) == 1:
        name, is_folder = matches[0]
        return Completion(folder_text + name + ("/" if is_folder else ""), partial=partial)
    matches.sort()
    common = os.path.commonprefix([name for name, _ in matches])
    candidates = [name + ("/" if is_folder else "") for name, is_folder in matches]
    return Completion(folder_text + common, candidates, partial=partial)


async def complete_soon(text: str, *, home: Path, timeout: float = 2.0) -> Completion:
    """`complete` in a thread of its own, for an event loop that must not wait on disks.
    After `timeout` seconds, or with too many listings still running, the answer is
    the text unchanged with a note."""
    global _running
    with _running_lock:
        if _running >= MAX_RUNNING:
            return Completion(text, note="folders are not answering")
        _running += 1
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[Completion] = loop.create_future()

    def deliver(result: Completion) -> None:
        if not answer.done():
            answer.set_result(result)

    def run() -> None:
        global _running
        try:
            result = complete(text, home=home)
        except Exception as error:  # never expected; the waiting side must still wake up
            result = Completion(text, note=str(error))
        finally:
            with _running_lock:
                _running -= 1
        try:
            loop.call_soon_threadsafe(deliver, result)
        except RuntimeError:  # the loop is gone: nobody is waiting any more
            pass

    threading.Thread(target=run, name="path-complete", daemon=True).start()
    try:
        return await asyncio.wait_for(asyncio.shield(answer), timeout)
    except TimeoutError:
        return Completion(text, note="that folder is not answering")


def _lookup_folder(folder_text: str, home: Path) -> str:
    if not folder_text:
        return "."
    if folder_text == "~/" or folder_text.startswith("~/"):
        return str(home) + folder_text[1:]
    if folder_text.startswith("~"):  # ~user/
        return os.path.expanduser(folder_text)
    return folder_text


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # follows a symlink, as a shell does
    except OSError:
        return False
