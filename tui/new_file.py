"""Write a file that must not exist yet, and never replace one that does.

Saving an attachment streams megabytes into a folder the user chose, where a file of
the same name may appear at any moment (another save, a browser download, an attacker's
symlink in a shared folder).  So the data goes to a hidden temporary file next to the
target, and only a complete file appears under the real name, through `link()`, which
fails rather than replaces.  Until then the target name is not touched at all.

Pure module: no Textual or Rich imports.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["NewFile"]

# Errors with which a filesystem says it has no hard links (FAT/exFAT, some network and
# FUSE filesystems), as opposed to "the name is taken" or "no permission".
_NO_HARD_LINKS = frozenset(
    code for code in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS) if code is not None
)
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_TEMP_NAME_BYTES = 200  # room for ".", ".part-" and the random part within 255 bytes


class NewFile:
    """A file being written at `target`; it appears there only on `commit()`.

    `NewFile(target)` creates the hidden temporary file at once (mode 0o666 minus the
    umask, like any new file).  `write(data)` appends.  `commit()` makes the complete
    file appear at `target` and returns it, or raises FileExistsError if anything (a
    file, a directory, a dangling symlink) is at `target` by then.  Every failure, and
    `abort()`, removes the temporary file.  As a context manager it aborts unless
    committed.

    FileNotFoundError if target's folder does not exist; FileExistsError at once if the
    target already exists.
    """

    def __init__(self, target: Path) -> None:
        self.target = Path(target)
        folder = self.target.parent
        if not folder.is_dir():
            raise FileNotFoundError(errno.ENOENT, f"The folder to save in does not exist: {folder}", str(folder))
        if os.path.lexists(self.target):
            raise FileExistsError(errno.EEXIST, f"A file of that name already exists: {self.target}", str(self.target))
        self.temporary, descriptor = _create_temporary(self.target)
        self._file = os.fdopen(descriptor, "wb")
        self._finished = False

    def write(self, data: bytes) -> None:
        if self._finished:
            raise ValueError("write to a NewFile that was already committed or aborted")
        try:
            self._file.write(data)
        except BaseException:
            self.abort()
            raise

    def commit(self) -> Path:
        """Make the complete file appear at `target`, never over anything already there."""
        if self._finished:
            raise ValueError("commit of a NewFile that was already committed or aborted")
        try:
            self._file.flush()
            # The data is on disk before its name is: a crash leaves a whole file or none.
            os.fsync(self._file.fileno())
            self._file.close()
            _publish(self.temporary, self.target)
        except BaseException:
            self.abort()
            raise
        self._finished = True
        return self.target

    def abort(self) -> None:
        """Forget the data: the temporary file is removed and `target` never touched."""
        self._finished = True
        try:
            self._file.close()
        except OSError:
            pass
        try:
            os.unlink(self.temporary)
        except FileNotFoundError:
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._finished:
            self.abort()


def _create_temporary(target: Path) -> tuple[Path, int]:
    """A new hidden file next to `target`, created by us (O_EXCL: never an existing file or symlink)."""
    stem = target.name.encode("utf-8", "surrogateescape")[:_TEMP_NAME_BYTES].decode("utf-8", "ignore")
    for _ in range(100):
        temporary = target.with_name(f".{stem}.part-{secrets.token_hex(6)}")
        try:
            return temporary, os.open(temporary, _CREATE_NEW, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "Could not create a temporary file", str(target.parent))


def _publish(temporary: Path, target: Path) -> None:
    try:
        # link() fails with EEXIST on anything at `target`, a dangling symlink included.
        os.link(temporary, target)
    except OSError as error:
        if isinstance(error, FileExistsError) or error.errno not in _NO_HARD_LINKS:
            raise
        # No hard links here.  Claim the name with an empty file of our own, then move
        # the data over it.  Someone could replace our empty file in between and lose
        # their file to ours: a narrow window, only on such filesystems.
        placeholder = os.open(target, _CREATE_NEW, 0o666)
        try:
            claimed = os.fstat(placeholder)
        finally:
            os.close(placeholder)
        try:
            os.replace(temporary, target)
        except BaseException:
            _remove_if_same(target, claimed)
            raise
    else:
        os.unlink(temporary)


def _remove_if_same(path: Path, expected: os.stat_result) -> None:
    """Remove our placeholder after a failed move, unless someone else's file is there now."""
    try:
        current = os.lstat(path)
        if (current.st_dev, current.st_ino) == (expected.st_dev, expected.st_ino):
            os.unlink(path)
    except OSError:
        pass
