"""Opening a part in another program (tui.part_opener): real files, real processes.

The "viewers" are shell commands from a mailcap written per test, or a fake xdg-open
script first on PATH; they record what they were given in $OUT, which the test reads.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tui.part_opener import NoProgram, OpenCommand, PartOpener, plain_name

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\nbinary \x00\xff payload\n"


@pytest.fixture
def out(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    monkeypatch.setenv("OUT", str(folder))
    return folder


@pytest.fixture
def opener(tmp_path):
    parent = tmp_path / "runtime"
    parent.mkdir()
    opener = PartOpener(parent)
    yield opener
    opener.cleanup()


@pytest.fixture
def caps(tmp_path, monkeypatch):
    def use(text: str) -> Path:
        path = tmp_path / "mailcap"
        path.write_text(text)
        monkeypatch.setenv("MAILCAPS", str(path))
        return path

    return use


@pytest.fixture
def fake_xdg_open(tmp_path, monkeypatch) -> Path:
    """An xdg-open first on PATH that writes its arguments, one per line, to $OUT/argv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "xdg-open"
    script.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$OUT/argv"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ.get('PATH', '')}")
    monkeypatch.setenv("DISPLAY", ":99")
    return script


@pytest.fixture
def no_opener(tmp_path, monkeypatch):
    """A PATH with no xdg-open (nor anything else) on it."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def launch_and_wait(opener: PartOpener, command: OpenCommand) -> int:
    done = threading.Event()
    codes: list[int] = []

    def finished(code: int) -> None:
        codes.append(code)
        done.set()

    opener.launch(command, on_exit=finished)
    assert done.wait(10), "the launched program did not end"
    return codes[0]


def written(opener: PartOpener, name: str, content_type: str, data: bytes = PDF) -> Path:
    path = opener.prepare(name, content_type)
    opener.write_bytes(path, data)
    return path


# --- the temporary folder ---------------------------------------------------------


def test_files_live_in_a_private_folder_removed_by_cleanup(opener, tmp_path):
    assert opener.root is None  # nothing made until something is opened
    path = written(opener, "report.pdf", "application/pdf")
    root = opener.root
    assert root.parent == tmp_path / "runtime"
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
    assert path.is_relative_to(root) and path.read_bytes() == PDF
    opener.cleanup()
    assert not root.exists() and not path.exists()
    opener.cleanup()  # twice is fine
    again = written(opener, "report.pdf", "application/pdf")  # a new folder after cleanup
    assert again.exists() and opener.root != root


def test_xdg_runtime_dir_is_preferred(tmp_path, monkeypatch):
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    opener = PartOpener()
    try:
        path = opener.prepare("a.txt", "text/plain")
        assert opener.root.parent == runtime
        assert path.parent.parent == opener.root
    finally:
        opener.cleanup()
    assert list(runtime.iterdir()) == []


def test_same_name_twice_gets_two_files(opener):
    first = written(opener, "report.pdf", "application/pdf", b"one")
    second = written(opener, "report.pdf", "application/pdf", b"two")
    assert first.name == second.name == "report.pdf"
    assert first != second
    assert (first.read_bytes(), second.read_bytes()) == (b"one", b"two")


@pytest.mark.parametrize(
    ("hint", "content_type", "expected"),
    [
        ("report.pdf", "application/pdf", "report.pdf"),
        ("report", "application/pdf", "report.pdf"),  # viewers and xdg-open go by the extension
        (None, "image/png", "attachment.png"),
        ("../../.bashrc", "text/plain", "bashrc.txt"),
        ("a b;$(id)`x`'q'.pdf", "application/pdf", "a_b___id__x__q_.pdf"),
        ("Rechnung März.pdf", "application/pdf", "Rechnung_März.pdf"),
        ("noext", "application/x-unknown-thing", "noext.bin"),
    ],
)
def test_prepared_names_are_safe_plain_and_have_an_extension(opener, hint, content_type, expected):
    path = opener.prepare(hint, content_type)
    assert path.name == expected
    assert not path.exists()


def test_plain_name_keeps_letters_of_any_script():
    assert plain_name("Отчёт 2024 (final).pdf") == "Отчёт_2024__final_.pdf"


# --- mailcap entries, run for real ------------------------------------------------


def test_mailcap_viewer_gets_the_written_file(opener, caps, out):
    caps('application/pdf; cp %s "$OUT/opened.pdf"\n')
    path = written(opener, "report.pdf", "application/pdf")
    command = opener.command_for("application/pdf", path)
    assert isinstance(command, OpenCommand)
    assert command.argv[:2] == ("/bin/sh", "-c") and not command.needs_terminal
    assert "mailcap:1" in command.program
    assert launch_and_wait(opener, command) == 0
    assert (out / "opened.pdf").read_bytes() == PDF


def test_exit_code_of_a_launched_program_is_reported(opener, caps, out):
    caps("application/pdf; exit 4\n")
    path = written(opener, "report.pdf", "application/pdf")
    assert launch_and_wait(opener, opener.command_for("application/pdf", path)) == 4


@pytest.mark.parametrize("quoting", ["%s", "'%s'", '"%s"'])
def test_a_hostile_file_name_cannot_inject_commands(opener, caps, out, quoting):
    marker = out / "MARK"
    caps(f'application/pdf; cp {quoting} "$OUT/opened.pdf"\n')
    hint = f"x';touch {marker};'\"$(touch {marker})`touch {marker}`.pdf"
    path = written(opener, hint, "application/pdf")
    command = opener.command_for("application/pdf", path)
    assert isinstance(command, OpenCommand)
    assert launch_and_wait(opener, command) == 0
    assert (out / "opened.pdf").read_bytes() == PDF
    assert not marker.exists()


def test_a_hostile_charset_cannot_inject_commands(opener, caps, out, no_opener):
    marker = out / "MARK"
    caps('text/plain; echo %{charset} > "$OUT/charset.txt"\n')
    path = written(opener, "note.txt", "text/plain", b"hello")
    for charset in [f"utf-8;touch {marker}", f"$(touch {marker})", f"'; touch {marker}; '"]:
        answer = opener.command_for("text/plain", path, {"charset": charset})
        assert isinstance(answer, NoProgram)  # the entry was skipped; nothing else here
    assert not marker.exists()
    command = opener.command_for("text/plain", path, {"charset": "us-ascii"})
    assert launch_and_wait(opener, command) == 0
    assert (out / "charset.txt").read_text() == "us-ascii\n"


def test_failing_test_skips_to_the_next_entry(opener, caps, out):
    caps(
        'application/pdf; cp %s "$OUT/first.pdf"; test=false\n'
        'application/pdf; cp %s "$OUT/second.pdf"; test=test -s %s\n'
    )
    path = written(opener, "report.pdf", "application/pdf")
    assert launch_and_wait(opener, opener.command_for("application/pdf", path)) == 0
    assert not (out / "first.pdf").exists()
    assert (out / "second.pdf").read_bytes() == PDF


def test_wildcard_entries_in_file_order(opener, caps, out):
    caps('image/*; cp %s "$OUT/generic"\nimage/png; cp %s "$OUT/specific"\n')
    path = written(opener, "a.png", "image/png")
    launch_and_wait(opener, opener.command_for("image/png", path))
    assert (out / "generic").exists() and not (out / "specific").exists()


def test_stdin_entry_gets_the_file_on_standard_input(opener, caps, out):
    caps('application/pdf; cat > "$OUT/from-stdin"\n')
    path = written(opener, "report.pdf", "application/pdf")
    command = opener.command_for("application/pdf", path)
    assert command.stdin
    assert launch_and_wait(opener, command) == 0
    assert (out / "from-stdin").read_bytes() == PDF


def test_nametemplate_renames_the_file_before_opening(opener, caps, out):
    caps('text/html; cp %s "$OUT/"; nametemplate=%s.html\n')
    path = written(opener, "page", "application/octet-stream", b"<p>hi")
    command = opener.command_for("text/html", path)
    assert command.file == path.with_name("page.bin.html")
    assert not path.exists()
    launch_and_wait(opener, command)
    assert (out / "page.bin.html").read_bytes() == b"<p>hi"


def test_needsterminal_runs_in_the_foreground_with_its_exit_code(opener, caps, out):
    caps('application/pdf; cp %s "$OUT/seen.pdf" \\; exit 3; needsterminal\n')
    path = written(opener, "report.pdf", "application/pdf")
    command = opener.command_for("application/pdf", path)
    assert command.needs_terminal
    assert opener.run_in_terminal(command) == 3
    assert (out / "seen.pdf").read_bytes() == PDF


def test_run_in_terminal_passes_stdin_and_says_127_when_nothing_starts(opener, caps, out, tmp_path):
    caps('text/plain; cat > "$OUT/stdin.txt"; needsterminal\n')
    path = written(opener, "a.txt", "text/plain", b"typed")
    assert opener.run_in_terminal(opener.command_for("text/plain", path)) == 0
    assert (out / "stdin.txt").read_bytes() == b"typed"
    assert opener.run_in_terminal(OpenCommand(argv=(str(tmp_path / "nothing"),), file=path)) == 127


def test_ctrl_c_in_a_terminal_program_stops_it_not_the_app(tmp_path):
    # In a session of its own: the program's Ctrl+C goes to its whole process group.
    script = (
        "import signal\n"
        "from pathlib import Path\n"
        "from tui.part_opener import OpenCommand, PartOpener\n"
        f"command = OpenCommand(argv=('/bin/sh', '-c', 'kill -INT 0; sleep 5; exit 5'), file=Path({str(tmp_path)!r}))\n"
        "code = PartOpener().run_in_terminal(command)\n"
        "print('survived', code, signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, start_new_session=True
    )
    assert result.stdout.strip() == f"survived {-signal.SIGINT} True", result.stderr


# --- xdg-open and no program ------------------------------------------------------


def test_xdg_open_when_mailcap_has_nothing(opener, caps, out, fake_xdg_open):
    caps("image/png; feh %s\n")
    path = written(opener, "report.pdf", "application/pdf")
    command = opener.command_for("application/pdf", path)
    assert command.argv == (str(fake_xdg_open), str(path))  # an argv list: no shell
    assert command.program == "xdg-open" and not command.needs_terminal
    assert launch_and_wait(opener, command) == 0
    assert (out / "argv").read_text() == f"{path}\n"


def test_xdg_open_with_a_hostile_name_gets_exactly_one_argument(opener, caps, out, fake_xdg_open):
    caps("")
    path = written(opener, "-x --help $(id) a b.pdf", "application/pdf")
    command = opener.command_for("application/pdf", path)
    launch_and_wait(opener, command)
    assert (out / "argv").read_text().splitlines() == [str(path)]


def test_programs_and_installers_are_not_handed_to_xdg_open(opener, caps, out, fake_xdg_open):
    caps("")
    for name in ("setup.desktop", "tool.JAR", "run.sh", "invoice.exe"):
        path = written(opener, name, "application/pdf")
        answer = opener.command_for("application/pdf", path)
        assert isinstance(answer, NoProgram), name
        assert "S to save" in answer.reason
    assert not (out / "argv").exists()


def test_without_a_display_xdg_open_is_not_used(opener, caps, out, fake_xdg_open, monkeypatch):
    caps("")
    monkeypatch.delenv("DISPLAY")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    path = written(opener, "report.pdf", "application/pdf")
    answer = opener.command_for("application/pdf", path)
    assert isinstance(answer, NoProgram)
    assert answer.reason.startswith("No display to open application/pdf")
    assert "~/.mailcap" in answer.reason and "S to save" in answer.reason
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert isinstance(opener.command_for("application/pdf", path), OpenCommand)


def test_without_a_display_a_text_filter_is_shown_in_the_pager(opener, caps, out, fake_xdg_open, monkeypatch):
    caps("application/pdf; tr a-z A-Z < %s; copiousoutput\n")
    monkeypatch.delenv("DISPLAY")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    # Our less, first on PATH: what reaches it, and how it is started.
    less = fake_xdg_open.parent / "less"
    less.write_text('#!/bin/sh\ncat > "$OUT/paged"; echo "$LESS|$LESSSECURE|$*" > "$OUT/less-env"\n')
    less.chmod(0o755)
    monkeypatch.setenv("PAGER", "more")  # passes escape sequences through: never used for this
    monkeypatch.setenv("LESS", "-R")  # the same for less
    path = written(opener, "report.pdf", "application/pdf", b"some text")
    command = opener.command_for("application/pdf", path)
    assert command.needs_terminal and "pager" in command.program
    assert opener.run_in_terminal(command) == 0
    assert (out / "paged").read_bytes() == b"SOME TEXT"
    assert (out / "less-env").read_text() == "|1|\n"  # no -R: control characters shown as ^[


def test_no_program_at_all_says_what_to_do(opener, caps, no_opener):
    caps("")
    path = written(opener, "report.pdf", "application/pdf")
    answer = opener.command_for("application/pdf", path)
    if sys.platform != "darwin":
        assert answer == NoProgram(
            "No program to open application/pdf: add a line to ~/.mailcap or install xdg-utils, "
            "or press S to save it."
        )
    hostile = opener.command_for("application/pdf\x1b]52;c;x\x07", path)
    assert "this part" in hostile.reason and "\x1b" not in hostile.reason


def test_module_does_not_import_textual():
    code = "import sys, tui.part_opener; print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
