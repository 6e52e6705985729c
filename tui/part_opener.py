"""Opening a message part in another program, on the user's explicit key press only.

The part is written to a file in a private temporary folder (mode 0700, under
$XDG_RUNTIME_DIR when there is one), then opened with what mailcap names for its type,
else xdg-open (`open` on macOS).  The files stay until `cleanup()` at the app's exit,
because a detached viewer may read its file long after it started (Thunderbird and
mutt do the same).

Each file gets a folder of its own, so it keeps the sender's name (a viewer shows it in
its title bar) without ever meeting another file of that name.  That name is made
plain first (letters, digits, "+-@.,_" only; mutt's mailcap_sanitize does the same):
it is pasted into shell command lines, some of which quote it again.

Pure module: no Textual or Rich imports.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tui.filenames import safe_filename
from tui.mailcap import find_viewer, media_type
from tui.new_file import NewFile

__all__ = ["RISKY_EXTENSIONS", "NoProgram", "OpenCommand", "PartOpener", "plain_name"]

# What xdg-open would run or install rather than show.  A mailcap entry the user wrote
# for the part's type is their choice; handing such a file to xdg-open is not.
RISKY_EXTENSIONS = frozenset(
    ".appimage .apk .bat .cmd .com .cpl .crx .deb .desktop .exe .flatpakref .flatpakrepo "
    ".hta .jar .jnlp .js .jse .lnk .msi .pif .pl .ps1 .py .rb .reg .rpm .run .scr .sh "
    ".url .vbe .vbs .wsf .xpi"
    # what macOS `open` runs or installs, and Linux app bundles
    " .app .applescript .command .dmg .fileloc .flatpak .inetloc .mpkg .pkg .scpt .snap .terminal .tool"
    " .webloc .workflow".split()
)
_PLAIN_NAME_PUNCTUATION = frozenset("+-@.,_")


@dataclass(frozen=True)
class OpenCommand:
    """How to open one file: `launch` it detached, or `run_in_terminal` when
    `needs_terminal` (with the app suspended)."""

    argv: tuple[str, ...]
    file: Path
    stdin: bool = False  # the file goes to the program's standard input
    needs_terminal: bool = False
    program: str = ""  # for messages: "xdg-open", "the mailcap entry at ~/.mailcap:3"


@dataclass(frozen=True)
class NoProgram:
    """Nothing can open the part here; `reason` is a sentence for the user."""

    reason: str


def plain_name(name: str) -> str:
    """`name` with every character a shell could read as syntax made "_"."""
    return "".join(ch if ch.isalnum() or ch in _PLAIN_NAME_PUNCTUATION else "_" for ch in name)


class PartOpener:
    """Owns the temporary folder of opened parts.  One per app; `cleanup()` at exit."""

    def __init__(self, parent: Path | None = None) -> None:
        self._parent = parent
        self._root: Path | None = None
        self._lock = threading.Lock()

    @property
    def root(self) -> Path | None:
        """The private folder, once something was prepared."""
        return self._root

    def prepare(self, filename_hint: str | None, content_type: str) -> Path:
        """A fresh path, not yet created, for a part called `filename_hint` (hostile).

        The name is safe and plain and has an extension (from the type when the sender
        gave none): xdg-open and many viewers go by it.  OSError if no folder can be made.
        """
        media = media_type(content_type) or "application/octet-stream"
        name = plain_name(safe_filename(filename_hint, media, "attachment"))
        if not os.path.splitext(name)[1]:
            name += mimetypes.guess_extension(media) or ".bin"
        folder = Path(tempfile.mkdtemp(prefix="", dir=self._private_root()))
        return folder / name

    def write_bytes(self, path: Path, data: bytes) -> Path:
        """Write `data` to a prepared `path`; the file appears only when complete."""
        with NewFile(path) as out:
            out.write(data)
            return out.commit()

    def command_for(
        self, content_type: str, path: Path, params: Mapping[str, str] | None = None
    ) -> OpenCommand | NoProgram:
        """What opens the written file at `path`: the mailcap entry for the type, else
        xdg-open (`open` on macOS), else a mailcap text filter shown in a pager.

        `params` are the part's Content-Type parameters, e.g. {"charset": ...} (hostile:
        tui.mailcap uses only plain values).  May rename the file if a mailcap
        nametemplate asks for it.  Runs mailcap test= commands: call it off the UI
        thread.  Call it once per prepared path.
        """
        media = media_type(content_type)
        what = media or "this part"
        viewer = find_viewer(content_type, path, params=params or {})
        if viewer is not None:
            if not _renamed(path, viewer.file):
                return NoProgram(f"Could not rename the file as the mailcap entry at {viewer.source} asks.")
            return OpenCommand(
                argv=("/bin/sh", "-c", viewer.command),
                file=viewer.file,
                stdin=viewer.stdin,
                needs_terminal=viewer.needs_terminal,
                program=f"the mailcap entry at {viewer.source}",
            )
        system, why_not = _system_opener()
        if system is not None:
            if path.suffix.lower() in RISKY_EXTENSIONS:
                return NoProgram(
                    f"{path.name} looks like a program or an installer: it is not opened from a message. "
                    "Press S to save it if you really want it."
                )
            return OpenCommand(argv=(system, str(path)), file=path, program=os.path.basename(system))
        text_filter = find_viewer(content_type, path, params=params or {}, copious_output=True)
        pager = _pager()
        if text_filter is not None and pager is not None and _renamed(path, text_filter.file):
            return OpenCommand(
                argv=("/bin/sh", "-c", f"{text_filter.command} | {pager}"),
                file=text_filter.file,
                stdin=text_filter.stdin,
                needs_terminal=True,
                program=f"the mailcap entry at {text_filter.source}, in a pager",
            )
        if why_not == "no display":
            return NoProgram(
                f"No display to open {what} on (over SSH or on a console?): add a needsterminal entry "
                "for it to ~/.mailcap, or press S to save it."
            )
        if sys.platform == "darwin":
            return NoProgram(f"No program to open {what}: add a line to ~/.mailcap, or press S to save it.")
        return NoProgram(f"No program to open {what}: add a line to ~/.mailcap or install xdg-utils, "
                         "or press S to save it.")

    def launch(self, command: OpenCommand, *, on_exit: Callable[[int], None] | None = None) -> None:
        """Start a program that shows the file on its own (a window), detached from the
        terminal: its own session, no shared stdio.  `on_exit(returncode)` is called
        from a background thread when it ends.  OSError if it cannot be started."""
        stdin = open(command.file, "rb") if command.stdin else None
        try:
            process = subprocess.Popen(
                list(command.argv),
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=True,
                start_new_session=True,
            )
        finally:
            if stdin is not None:
                stdin.close()
        # Waited for, so it does not linger as a zombie until the app ends.
        threading.Thread(target=_wait, args=(process, on_exit), name="part-viewer", daemon=True).start()

    def run_in_terminal(self, command: OpenCommand) -> int:
        """Run a terminal program in the foreground with the terminal's stdio; its exit
        code (127 if it could not start).  The caller suspends the app around this."""
        try:
            stdin = open(command.file, "rb") if command.stdin else None
        except OSError:
            return 127
        # Ctrl+C in the program reaches our whole process group: it must stop the
        # program, not the app.  A handler (unlike SIG_IGN) is reset in the child.
        previous = _swallow_sigint()
        try:
            return subprocess.run(list(command.argv), stdin=stdin, close_fds=True).returncode
        except OSError:
            return 127
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            if stdin is not None:
                stdin.close()

    def cleanup(self) -> None:
        """Remove the folder and every file opened from it."""
        with self._lock:
            root, self._root = self._root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def _private_root(self) -> Path:
        with self._lock:
            if self._root is None or not self._root.is_dir():
                self._root = _make_private_root(self._parent)
            return self._root


def _make_private_root(parent: Path | None) -> Path:
    """A new folder only we can enter: in `parent`, else $XDG_RUNTIME_DIR (a per-user
    tmpfs, gone at logout), else the system's temporary folder."""
    candidates: list[str | None] = []
    if parent is not None:
        candidates.append(str(parent))
    else:
        runtime = os.environ.get("XDG_RUNTIME_DIR", "")
        if os.path.isabs(runtime) and os.path.isdir(runtime):
            candidates.append(runtime)
        candidates.append(None)
    error: OSError | None = None
    for folder in candidates:
        try:
            return Path(tempfile.mkdtemp(prefix="tui-mail-", dir=folder))  # mode 0700
        except OSError as failure:
            error = failure
    assert error is not None
    raise error


def _renamed(path: Path, wanted: Path) -> bool:
    """Give the file the name a mailcap nametemplate asks for (in its own folder)."""
    if wanted == path:
        return True
    try:
        os.rename(path, wanted)
    except OSError:
        return False
    return True


def _system_opener() -> tuple[str | None, str]:
    """The desktop's "open this file" program, or None and why not."""
    if sys.platform == "darwin":
        found = shutil.which("open")
        return found, "" if found else "not found"
    found = shutil.which("xdg-open")
    if found is None:
        return None, "not found"
    # Without a display xdg-open falls back to terminal programs it would run with no
    # terminal (we detach it), or fails: better say so and offer the alternatives.
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return None, "no display"
    return found, ""


def _pager() -> str | None:
    """less as it shows control characters (^[ rather than ESC): the filter's output is
    the message's, hostile. Not $PAGER: `less -R` or `more` would pass escape sequences
    (OSC 52...) to the terminal. LESSSECURE: no shell or editor from inside it."""
    return "LESS= LESSOPEN= LESSSECURE=1 less" if shutil.which("less") else None


def _wait(process: subprocess.Popen, on_exit: Callable[[int], None] | None) -> None:
    code = process.wait()
    if on_exit is not None:
        try:
            on_exit(code)
        except Exception:  # a callback's failure must not end in a thread traceback on the terminal
            pass


def _swallow_sigint():
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, lambda signum, frame: None)
