"""Shell-like completion of a typed path (tui.path_completion), on a real folder tree."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tui import path_completion
from tui.path_completion import Completion, complete, complete_soon


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "Documents").mkdir()
    (tmp_path / "Downloads").mkdir()
    (tmp_path / "Downloads" / "report.pdf").write_bytes(b"%PDF")
    (tmp_path / "Desktop.txt").write_text("x")
    (tmp_path / ".config").mkdir()
    (tmp_path / ".profile").write_text("x")
    (tmp_path / "music").mkdir()
    return tmp_path


def test_unique_file_is_completed_whole(tree):
    assert complete(f"{tree}/Downloads/re", home=tree) == Completion(f"{tree}/Downloads/report.pdf")


def test_unique_folder_gets_a_slash(tree):
    assert complete(f"{tree}/mu", home=tree) == Completion(f"{tree}/music/")
    assert complete(f"{tree}/Downloads", home=tree).text == f"{tree}/Downloads/"


def test_several_matches_give_the_common_start_and_the_candidates(tree):
    result = complete(f"{tree}/D", home=tree)
    assert result.text == f"{tree}/D"  # "Desktop.txt", "Documents", "Downloads" share only "D"
    assert result.candidates == ["Desktop.txt", "Documents/", "Downloads/"]
    result = complete(f"{tree}/Do", home=tree)
    assert result.text == f"{tree}/Do"
    assert result.candidates == ["Documents/", "Downloads/"]
    (tree / "Downloads-old").mkdir()
    result = complete(f"{tree}/Dow", home=tree)
    assert result.text == f"{tree}/Downloads"
    assert result.candidates == ["Downloads/", "Downloads-old/"]  # sorted by name


def test_a_folder_ending_in_slash_lists_its_visible_entries(tree):
    result = complete(f"{tree}/", home=tree)
    assert result.text == f"{tree}/"
    assert result.candidates == ["Desktop.txt", "Documents/", "Downloads/", "music/"]


def test_hidden_names_only_when_the_typed_name_starts_with_a_dot(tree):
    assert ".config/" not in complete(f"{tree}/", home=tree).candidates
    result = complete(f"{tree}/.", home=tree)
    assert result.candidates == [".config/", ".profile"]
    assert complete(f"{tree}/.c", home=tree).text == f"{tree}/.config/"


def test_tilde_is_kept_in_the_text_and_expanded_for_the_lookup(tree):
    assert complete("~/Downloads/r", home=tree).text == "~/Downloads/report.pdf"
    assert complete("~/mu", home=tree).text == "~/music/"
    assert complete("~", home=tree).text == "~/"
    assert complete("~/Do", home=tree).candidates == ["Documents/", "Downloads/"]


def test_relative_paths_are_looked_up_in_the_working_folder(tree, monkeypatch):
    monkeypatch.chdir(tree)
    assert complete("Downloads/re", home=Path("/nonexistent")).text == "Downloads/report.pdf"
    assert complete("mu", home=Path("/nonexistent")).text == "music/"


def test_no_match_and_unreadable_folders_leave_the_text_with_a_note(tree):
    assert complete(f"{tree}/zzz", home=tree) == Completion(f"{tree}/zzz", note="no match")
    missing = complete(f"{tree}/nope/x", home=tree)
    assert missing.text == f"{tree}/nope/x" and missing.candidates == []
    assert "No such file" in missing.note
    assert complete("a\x00b/c", home=tree).text == "a\x00b/c"  # a NUL: no crash
    assert complete(f"{tree}/Desktop.txt/x", home=tree).note  # not a folder


def test_names_that_cannot_be_shown_as_they_are_are_left_out(tree):
    (tree / "evil\x1b]52;c;aGk=\x07name").write_text("x")
    (tree / "ev\u202efdp.exe").write_text("x")
    (tree / "even.txt").write_text("x")
    assert complete(f"{tree}/ev", home=tree).text == f"{tree}/even.txt"


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses names that are not UTF-8")
def test_undecodable_name_is_left_out(tree):
    os.close(os.open(os.path.join(os.fsencode(tree), b"bad\xffname"), os.O_CREAT | os.O_WRONLY, 0o600))
    (tree / "badge").write_text("x")
    assert complete(f"{tree}/bad", home=tree).text == f"{tree}/badge"


def test_a_big_folder_is_read_only_up_to_the_limit(tmp_path):
    for i in range(30):
        (tmp_path / f"f{i:02}").write_text("")
    result = complete(f"{tmp_path}/f", home=tmp_path, limit=10)
    assert result.partial
    assert len(result.candidates) == 10
    assert complete(f"{tmp_path}/f", home=tmp_path, limit=100).partial is False


def test_symlink_to_a_folder_counts_as_a_folder(tree):
    (tree / "link").symlink_to(tree / "music")
    (tree / "dangling").symlink_to(tree / "gone")
    assert complete(f"{tree}/li", home=tree).text == f"{tree}/link/"
    assert complete(f"{tree}/dang", home=tree).text == f"{tree}/dangling"


async def test_complete_soon_answers_like_complete(tree):
    assert await complete_soon(f"{tree}/mu", home=tree) == Completion(f"{tree}/music/")


async def test_complete_soon_does_not_wait_for_a_hung_folder(tree, monkeypatch):
    release = threading.Event()
    real = path_completion.complete

    def hung(text, *, home, limit=path_completion.MAX_ENTRIES):
        release.wait(10)
        return real(text, home=home, limit=limit)

    monkeypatch.setattr(path_completion, "complete", hung)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = await complete_soon(f"{tree}/mu", home=tree, timeout=0.2)
        assert loop.time() - started < 2
        assert result.text == f"{tree}/mu" and "not answering" in result.note
        # Hung listings are capped: beyond MAX_RUNNING the answer comes at once.
        for _ in range(path_completion.MAX_RUNNING):
            await complete_soon(f"{tree}/mu", home=tree, timeout=0.05)
        refused = await complete_soon(f"{tree}/mu", home=tree, timeout=5)
        assert refused.note == "folders are not answering"
    finally:
        release.set()
    for _ in range(100):  # the released threads finish and free their places
        if path_completion._running == 0:
            break
        await asyncio.sleep(0.02)
    assert path_completion._running == 0


def test_module_does_not_import_textual():
    code = "import sys, tui.path_completion; print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
