"""The mailcap reader (tui.mailcap): parsing, lookup order, tests, and above all that
nothing a message says can reach a shell as syntax.  Commands are run by a real /bin/sh."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui import mailcap
from tui.mailcap import (
    MailcapEntry,
    expand,
    find_viewer,
    load_entries,
    mailcap_files,
    parse_mailcap,
)


def write_mailcap(folder: Path, text: str, name: str = "mailcap") -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def caps(tmp_path, monkeypatch):
    """Write a mailcap and make it the only one read."""

    def use(text: str) -> Path:
        path = write_mailcap(tmp_path, text)
        monkeypatch.setenv("MAILCAPS", str(path))
        return path

    return use


def run_shell(command: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["/bin/sh", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=10)


# --- parsing ----------------------------------------------------------------------


def test_parse_fields_flags_comments_and_continuations():
    text = (
        "# a comment\n"
        "\n"
        "image/png; feh %s; needsterminal; test=test -n \"$DISPLAY\"\n"
        "  # an indented comment\n"
        "text/html; lynx -dump %s; \\\n"
        "    copiousoutput; nametemplate=%s.html\n"
        "IMAGE; viewer %s\n"
        "application/x-thing; a \\; b %s; description=x\n"
        "broken-line-without-command\n"
        "text/plain;;\n"
        "bad type; x %s\n"
    )
    entries = parse_mailcap(text, "caps")
    assert [entry.media_type for entry in entries] == ["image/png", "text/html", "image/*", "application/x-thing"]
    png, html, _image, thing = entries
    assert png.view == "feh %s" and png.needs_terminal and not png.copious_output
    assert png.test == 'test -n "$DISPLAY"'
    assert png.source == "caps:3"
    assert html.copious_output and html.name_template == "%s.html"
    assert html.view == "lynx -dump %s" and html.source == "caps:5"
    assert thing.view == "a \\; b %s"  # the escape is undone on expansion, not before
    assert expand(thing.view, file="/f", content_type="application/x-thing", params={}) == ("a ; b /f", True)


def test_search_path_from_mailcaps_or_the_usual_files(monkeypatch, tmp_path):
    monkeypatch.setenv("MAILCAPS", f"{tmp_path}/one::{tmp_path}/two")
    assert mailcap_files() == [tmp_path / "one", tmp_path / "two"]
    monkeypatch.delenv("MAILCAPS")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert mailcap_files() == [
        tmp_path / ".mailcap",
        Path("/etc/mailcap"),
        Path("/usr/etc/mailcap"),
        Path("/usr/local/etc/mailcap"),
    ]


def test_files_are_read_in_order_and_missing_ones_skipped(tmp_path, monkeypatch):
    first = write_mailcap(tmp_path, "image/png; first %s\n", "first")
    second = write_mailcap(tmp_path, "image/png; second %s\ntext/plain; less %s\n", "second")
    monkeypatch.setenv("MAILCAPS", f"{first}:{tmp_path}/missing:{second}")
    assert [entry.view for entry in load_entries()] == ["first %s", "second %s", "less %s"]


def test_a_mailcap_bigger_than_the_cap_is_read_only_up_to_it(tmp_path, monkeypatch):
    filler = "# " + "x" * 100 + "\n"
    text = "image/png; early %s\n" + filler * (mailcap.MAX_FILE_BYTES // len(filler) + 10) + "image/gif; late %s\n"
    monkeypatch.setenv("MAILCAPS", str(write_mailcap(tmp_path, text)))
    assert [entry.view for entry in load_entries()] == ["early %s"]


def test_a_fifo_named_as_mailcap_is_not_read(tmp_path, monkeypatch):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    monkeypatch.setenv("MAILCAPS", str(fifo))
    assert load_entries() == []  # and it returned: opening a FIFO would block


def test_entry_and_line_counts_are_capped(monkeypatch):
    monkeypatch.setattr(mailcap, "MAX_ENTRIES_PER_FILE", 5)
    assert len(parse_mailcap("image/png; x %s\n" * 50)) == 5
    long_line = "image/png; x " + "y" * (mailcap.MAX_LINE_CHARS + 10) + " %s\n"
    assert parse_mailcap(long_line + "image/gif; ok %s\n")[0].media_type == "image/gif"


# --- lookup -----------------------------------------------------------------------


def test_first_matching_entry_wins_wildcard_or_not(caps, tmp_path):
    caps("image/*; generic %s\nimage/png; specific %s\n")
    assert find_viewer("image/png", tmp_path / "a.png").command == f"generic {tmp_path}/a.png"
    caps("image/png; specific %s\nimage/*; generic %s\n")
    assert find_viewer("image/png", tmp_path / "a.png").command == f"specific {tmp_path}/a.png"
    assert find_viewer("image/gif", tmp_path / "a.gif").command == f"generic {tmp_path}/a.gif"
    assert find_viewer("video/mp4", tmp_path / "a.mp4") is None


def test_types_match_without_case_and_parameters(caps, tmp_path):
    caps("Application/PDF; zathura %s\n")
    assert find_viewer("application/pdf; name=x.pdf", tmp_path / "x.pdf") is not None
    assert find_viewer("APPLICATION/Pdf", tmp_path / "x.pdf") is not None


def test_a_type_that_is_not_a_plain_token_is_looked_up_as_octet_stream(caps, tmp_path):
    caps("application/octet-stream; hexdump %s; needsterminal\napplication/*; other %t\n")
    viewer = find_viewer("application/pdf'$(touch x)", tmp_path / "x")
    assert viewer.command == f"hexdump {tmp_path}/x" and viewer.needs_terminal


def test_flags_come_through(caps, tmp_path):
    caps("text/html; w3m %s; needsterminal\n")
    viewer = find_viewer("text/html", tmp_path / "a.html")
    assert viewer.needs_terminal and not viewer.copious_output and not viewer.stdin
    assert viewer.source.endswith("mailcap:1")


def test_copiousoutput_entries_only_when_asked_for(caps, tmp_path):
    caps("application/pdf; pdftotext %s -; copiousoutput\napplication/pdf; zathura %s\n")
    assert find_viewer("application/pdf", tmp_path / "a.pdf").command == f"zathura {tmp_path}/a.pdf"
    text_filter = find_viewer("application/pdf", tmp_path / "a.pdf", copious_output=True)
    assert text_filter.command == f"pdftotext {tmp_path}/a.pdf -" and text_filter.copious_output
    caps("application/pdf; pdftotext %s -; copiousoutput\n")
    assert find_viewer("application/pdf", tmp_path / "a.pdf") is None


def test_without_percent_s_the_file_goes_to_stdin(caps, tmp_path):
    caps("text/plain; wc -c\n")
    viewer = find_viewer("text/plain", tmp_path / "a.txt")
    assert viewer.stdin and viewer.command == "wc -c"
    (tmp_path / "a.txt").write_bytes(b"12345")
    with open(tmp_path / "a.txt", "rb") as stdin:
        out = subprocess.run(["/bin/sh", "-c", viewer.command], stdin=stdin, capture_output=True, text=True)
    assert out.stdout.strip() == "5"


def test_escaped_percent_is_literal_and_leaves_stdin(caps, tmp_path):
    caps("text/plain; printf '100\\%s'\n")
    viewer = find_viewer("text/plain", tmp_path / "a.txt")
    assert viewer.command == "printf '100%s'" and viewer.stdin


def test_nametemplate_renames_the_file(caps, tmp_path):
    caps("text/html; firefox %s; nametemplate=%s.html\n")
    viewer = find_viewer("text/html", tmp_path / "page")
    assert viewer.file == tmp_path / "page.html"
    assert viewer.command == f"firefox {tmp_path}/page.html"
    assert find_viewer("text/html", tmp_path / "page.html").file == tmp_path / "page.html"


def test_percent_t_is_the_type(caps, tmp_path):
    caps("image/*; show --type=%t %s\n")
    assert find_viewer("image/svg+xml", tmp_path / "a.svg").command == f"show --type=image/svg+xml {tmp_path}/a.svg"


def test_multipart_substitutions_skip_the_entry(caps, tmp_path):
    caps("application/pdf; view %n %s\napplication/pdf; view %F\napplication/pdf; fallback %s\n")
    assert find_viewer("application/pdf", tmp_path / "a.pdf").command == f"fallback {tmp_path}/a.pdf"


# --- test= ------------------------------------------------------------------------


def test_failing_test_skips_the_entry(caps, tmp_path):
    caps("image/png; first %s; test=false\nimage/png; second %s; test=true\nimage/png; third %s\n")
    assert find_viewer("image/png", tmp_path / "a.png").command.startswith("second ")


def test_test_sees_the_environment_and_the_file(caps, tmp_path, monkeypatch):
    (tmp_path / "a.png").write_bytes(b"png")
    caps('image/png; gui %s; test=test -n "$DISPLAY"\nimage/png; tui %s; test=test -s %s\n')
    monkeypatch.delenv("DISPLAY", raising=False)
    assert find_viewer("image/png", tmp_path / "a.png").command.startswith("tui ")
    monkeypatch.setenv("DISPLAY", ":0")
    assert find_viewer("image/png", tmp_path / "a.png").command.startswith("gui ")
    monkeypatch.delenv("DISPLAY")
    assert find_viewer("image/png", tmp_path / "missing.png") is None


def test_a_test_that_hangs_is_stopped(caps, tmp_path, monkeypatch):
    monkeypatch.setattr(mailcap, "TEST_TIMEOUT", 0.3)
    caps("image/png; slow %s; test=sleep 30\nimage/png; quick %s\n")
    started = time.monotonic()
    assert find_viewer("image/png", tmp_path / "a.png").command.startswith("quick ")
    assert time.monotonic() - started < 5


def test_all_tests_of_a_lookup_share_a_time_budget(caps, tmp_path, monkeypatch):
    monkeypatch.setattr(mailcap, "TEST_TIMEOUT", 0.3)
    monkeypatch.setattr(mailcap, "TEST_BUDGET", 0.5)
    caps("image/png; a %s; test=sleep 30\n" * 10 + "image/png; b %s; test=true\nimage/png; c %s\n")
    started = time.monotonic()
    viewer = find_viewer("image/png", tmp_path / "a.png")
    assert time.monotonic() - started < 3
    assert viewer.command.startswith("c ")  # budget spent: "b" is not tested, so not taken


def test_a_hostile_parameter_in_a_test_skips_the_entry(caps, tmp_path):
    marker = tmp_path / "marker"
    caps("text/plain; first %s; test=test %{charset} = x\ntext/plain; second %s\n")
    viewer = find_viewer("text/plain", tmp_path / "a.txt", params={"charset": f"x;touch {marker}"})
    assert viewer.command.startswith("second ")
    assert not marker.exists()


# --- hostile values ---------------------------------------------------------------

HOSTILE_NAME = "a b;touch MARK;'q'\"d\"$(touch MARK)`touch MARK`.pdf"


@pytest.mark.parametrize("template", ["cp %s out.pdf", "cp -- %s out.pdf"])
def test_an_unquoted_file_name_is_quoted_for_the_shell(caps, tmp_path, template):
    source = tmp_path / HOSTILE_NAME
    source.write_bytes(b"%PDF-1.4 data")
    caps(f"application/pdf; {template}\n")
    viewer = find_viewer("application/pdf", source)
    result = run_shell(viewer.command, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.pdf").read_bytes() == b"%PDF-1.4 data"
    assert not (tmp_path / "MARK").exists()


@pytest.mark.parametrize("template", ["cp '%s' out.pdf", 'cp "%s" out.pdf', 'sh -c "cat $(echo %s)"'])
def test_a_name_inside_the_authors_quotes_must_be_plain(caps, tmp_path, template):
    caps(f"application/pdf; {template}\napplication/pdf; fallback %s\n")
    hostile = find_viewer("application/pdf", tmp_path / HOSTILE_NAME)
    assert hostile.command.startswith("fallback ")
    plain = tmp_path / "Rechnung_März-2024.pdf"
    plain.write_bytes(b"%PDF plain")
    viewer = find_viewer("application/pdf", plain)
    assert not viewer.command.startswith("fallback ")
    if template.startswith("cp"):
        assert run_shell(viewer.command, tmp_path).returncode == 0
        assert (tmp_path / "out.pdf").read_bytes() == b"%PDF plain"


@pytest.mark.parametrize("template", ["cat \\\\%s", "cat $%s", "cat \"\\\\%s\""])
def test_a_value_after_a_shell_backslash_or_dollar_is_refused(caps, tmp_path, template):
    caps(f"text/plain; {template}\n")
    assert find_viewer("text/plain", tmp_path / "a.txt") is None


def test_a_hostile_parameter_skips_the_entry(caps, tmp_path):
    marker = tmp_path / "MARK"
    caps("text/plain; iconv -f %{charset} %s > out.txt\ntext/plain; cat %s > fallback.txt\n")
    source = tmp_path / "a.txt"
    source.write_bytes(b"hello")
    for charset in [f"utf-8;touch {marker}", "$(touch MARK)", "x y", "'", "a" * 65, "utf-8\n"]:
        viewer = find_viewer("text/plain", source, params={"charset": charset})
        assert viewer.command == f"cat {source} > fallback.txt", charset
        run_shell(viewer.command, tmp_path)
    assert not marker.exists()
    assert (tmp_path / "fallback.txt").read_bytes() == b"hello"


def test_a_plain_parameter_is_used_and_a_missing_one_is_empty(caps, tmp_path):
    caps("text/plain; iconv -f %{charset} -t utf-8 %s\n")
    assert find_viewer("text/plain", tmp_path / "a", params={"Charset": "ISO-8859-1"}).command == (
        f"iconv -f ISO-8859-1 -t utf-8 {tmp_path}/a"
    )
    assert find_viewer("text/plain", tmp_path / "a").command == f"iconv -f  -t utf-8 {tmp_path}/a"


def test_unterminated_parameter_skips_the_entry():
    assert expand("cat %{charset %s", file="/f", content_type="text/plain", params={}) is None


@pytest.mark.parametrize(
    "content_type", ["text/plain'x", "text/plain;rm", "text/$(id)", "text", "", "a" * 70 + "/b"]
)
def test_percent_t_refuses_anything_but_a_plain_type(content_type):
    assert expand("show %t", file="/f", content_type=content_type, params={}) is None


def test_matches_handles_wildcards_only_on_the_subtype():
    entry = MailcapEntry("image/*", "x")
    assert entry.matches("image/png") and not entry.matches("imagex/png") and not entry.matches("text/plain")


def test_module_does_not_import_textual():
    code = "import sys, tui.mailcap; print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
