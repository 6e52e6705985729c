"""tui.new_file: a file appears whole under its name, and never replaces anything."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

import tui.new_file
from tui.new_file import NewFile


def entries(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.fixture
def umask_027():
    previous = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(previous)


def test_content_arrives_exactly(tmp_path):
    target = tmp_path / "report.pdf"
    chunks = [bytes(range(256)) * 4096, b"", b"\x00tail\r\n"]
    with NewFile(target) as new:
        for chunk in chunks:
            new.write(chunk)
        assert not target.exists()  # nothing under the real name before commit
        assert new.commit() == target
    assert target.read_bytes() == b"".join(chunks)
    assert entries(tmp_path) == ["report.pdf"]  # the temporary file is gone


def test_temporary_file_is_hidden_next_to_the_target(tmp_path):
    with NewFile(tmp_path / "a.txt") as new:
        assert new.temporary.parent == tmp_path
        assert new.temporary.name.startswith(".a.txt.part-")
        assert entries(tmp_path) == [new.temporary.name]


def test_temporary_name_fits_for_a_longest_name(tmp_path):
    target = tmp_path / ("é" * 125 + ".pdf")  # 254 bytes
    with NewFile(target) as new:
        new.write(b"x")
        assert len(new.temporary.name.encode()) <= 255
        new.commit()
    assert target.read_bytes() == b"x"


def test_existing_target_is_never_changed(tmp_path):
    target = tmp_path / "a.txt"
    target.write_bytes(b"original")
    before = os.lstat(target)
    with pytest.raises(FileExistsError):
        NewFile(target)
    assert target.read_bytes() == b"original"
    assert os.lstat(target).st_ino == before.st_ino
    assert entries(tmp_path) == ["a.txt"]


def test_target_created_while_writing_is_not_overwritten(tmp_path):
    target = tmp_path / "a.txt"
    new = NewFile(target)
    new.write(b"ours")
    target.write_bytes(b"theirs")  # another program saved under the same name meanwhile
    inode = os.lstat(target).st_ino
    with pytest.raises(FileExistsError):
        new.commit()
    assert target.read_bytes() == b"theirs"
    assert os.lstat(target).st_ino == inode
    assert entries(tmp_path) == ["a.txt"]


def test_dangling_symlink_at_target_is_not_followed_or_replaced(tmp_path):
    target = tmp_path / "a.txt"
    elsewhere = tmp_path / "elsewhere"
    target.symlink_to(elsewhere)
    with pytest.raises(FileExistsError):
        NewFile(target)
    # And when the symlink is planted after the start:
    other = tmp_path / "b.txt"
    new = NewFile(other)
    new.write(b"ours")
    other.symlink_to(elsewhere)
    with pytest.raises(FileExistsError):
        new.commit()
    assert not elsewhere.exists()
    assert other.is_symlink() and os.readlink(other) == str(elsewhere)
    assert entries(tmp_path) == ["a.txt", "b.txt"]


def test_abort_leaves_nothing(tmp_path):
    new = NewFile(tmp_path / "a.txt")
    new.write(b"data")
    new.abort()
    new.abort()  # twice is harmless
    assert entries(tmp_path) == []
    with pytest.raises(ValueError):
        new.write(b"more")
    with pytest.raises(ValueError):
        new.commit()


def test_exception_inside_the_block_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), NewFile(tmp_path / "a.txt") as new:
        new.write(b"partial")
        raise RuntimeError("connection lost")
    assert entries(tmp_path) == []


def test_leaving_the_block_without_commit_leaves_nothing(tmp_path):
    with NewFile(tmp_path / "a.txt") as new:
        new.write(b"data")
    assert entries(tmp_path) == []


def test_missing_folder_is_a_clear_error(tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        NewFile(missing / "a.txt")
    assert not (tmp_path / "no").exists()


def test_mode_respects_the_umask(tmp_path, umask_027):
    target = tmp_path / "a.txt"
    with NewFile(target) as new:
        new.write(b"x")
        new.commit()
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640


def refuse_hard_links(monkeypatch):
    def no_link(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(tui.new_file.os, "link", no_link)


def test_without_hard_links_the_file_still_appears(tmp_path, monkeypatch, umask_027):
    refuse_hard_links(monkeypatch)
    target = tmp_path / "a.txt"
    with NewFile(target) as new:
        new.write(b"data")
        new.commit()
    assert target.read_bytes() == b"data"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert entries(tmp_path) == ["a.txt"]


def test_without_hard_links_an_existing_target_is_still_refused(tmp_path, monkeypatch):
    refuse_hard_links(monkeypatch)
    target = tmp_path / "a.txt"
    new = NewFile(target)
    new.write(b"ours")
    target.write_bytes(b"theirs")
    with pytest.raises(FileExistsError):
        new.commit()
    assert target.read_bytes() == b"theirs"
    assert entries(tmp_path) == ["a.txt"]


def test_other_link_errors_are_raised_and_clean_up(tmp_path, monkeypatch):
    def broken_link(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(tui.new_file.os, "link", broken_link)
    new = NewFile(tmp_path / "a.txt")
    new.write(b"data")
    with pytest.raises(OSError) as raised:
        new.commit()
    assert raised.value.errno == errno.EIO
    assert entries(tmp_path) == []
