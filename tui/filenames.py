"""File names for saved attachments: what the sender wrote, made safe to create.

A filename parameter is hostile text.  "../../.bashrc" must not leave the folder the user
chose, "invoice\\u202efdp.exe" must not pass for a PDF, "CON.txt" must not open a device
on a Windows share, and no name may hide itself behind a leading dot.  `safe_filename`
gives one plain path component; `free_path` picks "name (1).ext" next to an existing
file, because a save never replaces anything.

Pure module: no Textual or Rich imports.
"""

from __future__ import annotations

import mimetypes
import os
import re
from pathlib import Path

# One definition of "invisible" for what is shown and for what is saved.
from tui.safe_text import _BIDI, _INVISIBLE

__all__ = ["MAX_NAME_BYTES", "free_path", "safe_filename"]

MAX_NAME_BYTES = 255  # ext4, btrfs, XFS, APFS and NTFS (in UTF-16 units, which is looser)
MAX_EXTENSION_CHARS = 16  # longer than that after the last dot is not an extension worth keeping

# Names are capped long before the per-character work: whatever the last component says
# beyond this is cut anyway.  The tail is kept because it holds the extension.
_MAX_WORK_CHARS = 4096

_PATH_SEPARATORS = re.compile(r"[/\\]")
_WHITESPACE = re.compile(r"\s+")
# C0, DEL and C1 controls, bidi controls, invisible format characters, lone surrogates
# (which cannot be encoded as UTF-8, so the file could not even be created).
_DROP = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}{_INVISIBLE}\ud800-\udfff]+")
# Not allowed in names on Windows filesystems (NTFS, FAT, SMB shares).
_INVALID = re.compile(r'[<>:"|?*]')
# Windows opens a device for these stems, whatever the extension ("nul.txt", "COM1.tar.gz").
_RESERVED_STEMS = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{device}{n}" for device in ("COM", "LPT") for n in [*"0123456789", "\u00b9", "\u00b2", "\u00b3"]]
)
_EXTENSION_FOR = {"message/rfc822": ".eml", "text/plain": ".txt"}


def safe_filename(
    name: str | None,
    content_type: str = "application/octet-stream",
    fallback_stem: str = "attachment",
) -> str:
    """A single, visible, portable file name made from an untrusted one.  Never raises.

    The last path component only; no controls, bidi or invisible characters; runs of
    whitespace become one space; no leading or trailing dots or spaces; `<>:"|?*` become
    "_"; Windows device names get a "_" prefix; at most 255 UTF-8 bytes, keeping a short
    extension.  When nothing is left, `fallback_stem` plus an extension for
    `content_type` ("attachment.pdf").
    """
    cleaned = _clean(name if isinstance(name, str) else "")
    if not cleaned:
        stem = _clean(fallback_stem if isinstance(fallback_stem, str) else "") or "attachment"
        cleaned = _clean(stem + _extension_for(content_type))
    return cleaned


def free_path(directory: Path, name: str) -> Path:
    """`directory / name`, or the first "stem (1).ext", "stem (2).ext"... that is free.

    Anything at the path counts as taken, a dangling symlink included.  Only the last
    suffix is the extension: "a.tar.gz" becomes "a.tar (1).gz", which is still a .gz.
    `name` must be a single component (as `safe_filename` gives).  This only checks; the
    file is created later (see tui.new_file), so a name taken in between is refused
    there, never overwritten.  FileExistsError after 9999 numbered names are taken.
    """
    directory = Path(directory)
    if not name or name in (".", "..") or _PATH_SEPARATORS.search(name) or "\x00" in name:
        raise ValueError(f"not a single file name: {name!r}")
    candidate = directory / name
    if not os.path.lexists(candidate):
        return candidate
    stem, extension = os.path.splitext(name)
    for number in range(1, 10_000):
        marker = f" ({number})"
        budget = MAX_NAME_BYTES - len((marker + extension).encode("utf-8"))
        candidate = directory / f"{_cut_utf8(stem, budget)}{marker}{extension}"
        if not os.path.lexists(candidate):
            return candidate
    raise FileExistsError(f"no free name for {name!r} in {directory}")


def _clean(name: str) -> str:
    name = _PATH_SEPARATORS.split(name)[-1]
    if len(name) > _MAX_WORK_CHARS:
        name = name[: _MAX_WORK_CHARS // 2] + name[-_MAX_WORK_CHARS // 2 :]
    # Whitespace first, so "a\tb" reads "a b" rather than "ab".
    name = _WHITESPACE.sub(" ", name)
    name = _DROP.sub("", name)
    name = _INVALID.sub("_", name)
    # Removing an invisible character can bring two spaces together.
    name = _WHITESPACE.sub(" ", name).strip(". ")
    if not name:
        return ""
    if name.split(".", 1)[0].rstrip(" ").upper() in _RESERVED_STEMS:
        name = "_" + name
    return _cap(name)


def _cap(name: str) -> str:
    """At most MAX_NAME_BYTES of UTF-8, keeping a short extension and whole characters."""
    if len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    stem, extension = os.path.splitext(name)
    if len(extension) > MAX_EXTENSION_CHARS + 1:  # +1: the dot
        stem, extension = name, ""
    # The cut may end the stem on a dot or a space, which Windows would drop.
    stem = _cut_utf8(stem, MAX_NAME_BYTES - len(extension.encode("utf-8"))).rstrip(". ")
    return stem + extension


def _cut_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of `text` whose UTF-8 fits in `max_bytes`, never half a character."""
    return text.encode("utf-8")[: max(0, max_bytes)].decode("utf-8", "ignore")


def _extension_for(content_type: object) -> str:
    media_type = str(content_type or "").split(";", 1)[0].strip().lower()
    if media_type in _EXTENSION_FOR:
        return _EXTENSION_FOR[media_type]
    return mimetypes.guess_extension(media_type) or ".bin"
