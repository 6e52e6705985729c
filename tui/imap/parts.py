"""Big messages part by part: their outline first, then only what is shown, by ranges.

A message over WHOLE_MESSAGE_BYTES is never fetched whole (as Thunderbird does past its
parts-on-demand threshold): RFC822.SIZE, BODYSTRUCTURE and the header come first, then
the text being read in TEXT_CHUNK ranges (`BODY.PEEK[1]<0.262144>`), and a part being
saved in SAVE_CHUNK ranges, decoded and written as it arrives. No Textual here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imapclient import IMAPClient

from ..new_file import NewFile
from ..transfer_decode import StreamDecoder
from .commands import MessageGone
from .contract import MessageOutline
from .structure import is_valid_section, parse_structure

WHOLE_MESSAGE_BYTES = 1024 * 1024  # up to this, one FETCH of the whole message is cheaper
TEXT_CHUNK = 256 * 1024  # text shown at a time; "load more" asks for the next range
SAVE_CHUNK = 1024 * 1024  # a saved part crosses memory this much at a time
MAX_HEADER_BYTES = 256 * 1024  # a header beyond this is hostile; the rest is not shown


def _item(data: dict, prefix: bytes) -> bytes | None:
    """A FETCH item by its name's start: servers echo `BODY[HEADER]<0>` for `BODY.PEEK[HEADER]<0.N>`."""
    for key, value in data.items():
        if isinstance(key, bytes) and key.startswith(prefix):
            return value if isinstance(value, bytes) else b""
    return None


def _fetch(client: IMAPClient, uid: int, items: list[str]) -> dict:
    data = client.fetch([uid], items).get(uid)
    if data is None:
        raise MessageGone("this message is no longer on the server")
    return data


def fetch_outline(client: IMAPClient, uid: int) -> tuple[MessageOutline, bytes]:
    """The message's size, part tree and header, with nothing of its content."""
    data = _fetch(client, uid, ["RFC822.SIZE", "BODYSTRUCTURE", f"BODY.PEEK[HEADER]<0.{MAX_HEADER_BYTES}>"])
    size = data.get(b"RFC822.SIZE")
    root, notes = parse_structure(data.get(b"BODYSTRUCTURE"))
    header = _item(data, b"BODY[HEADER]") or b""
    outline = MessageOutline(size=size if isinstance(size, int) and size >= 0 else 0, root=root, notes=tuple(notes))
    return outline, header


def _section_item(section: str) -> str:
    if not is_valid_section(section):  # it goes into the command line
        raise ValueError(f"not a body section: {section[:40]!r}")
    return f"BODY.PEEK[{section}]"


def fetch_range(client: IMAPClient, uid: int, section: str, offset: int, length: int) -> bytes:
    """Bytes [offset, offset+length) of a part's content, fewer at its end."""
    if offset < 0 or length <= 0:
        raise ValueError("a range starts at 0 or later and is not empty")
    data = _fetch(client, uid, [f"{_section_item(section)}<{offset}.{length}>"])
    name = f"BODY[{section}]".encode()
    chunk = data.get(name + f"<{offset}>".encode())
    if chunk is None and offset == 0:
        chunk = data.get(name)  # no origin echoed: fine only if it is all there is
        if isinstance(chunk, bytes) and len(chunk) > length:
            chunk = None
    if chunk is None:
        # A server sending the same bytes whatever range is asked would have a save
        # loop for ever, and "load more" repeat the text.
        if any(isinstance(key, bytes) and key.startswith(name) for key in data):
            raise ValueError("the server did not send the range asked for")
        raise MessageGone("the server did not send that part")
    return chunk if isinstance(chunk, bytes) else b""


class SaveFailed(ValueError):
    """The file could not be written (not the connection's fault: no reconnect)."""


def save_part(
    client: IMAPClient, uid: int, section: str, encoding: str, target: Path, chunk: int = SAVE_CHUNK
) -> tuple[int, str]:
    """Streams a part into `target`, which must not exist: it never replaces a file, and
    a failure leaves nothing behind. Returns the bytes written, and what the decoder
    noticed (damaged base64, an unknown encoding kept as it came), or ""."""
    decoder = StreamDecoder(encoding)
    written = 0
    # No part is bigger than its message: a server sending more is stopped there, not
    # left to fill the disk.
    size = _fetch(client, uid, ["RFC822.SIZE"]).get(b"RFC822.SIZE")
    limit = size if isinstance(size, int) and size >= 0 else 0
    with _file_errors(target):
        out = NewFile(target)
    with out:
        offset = 0
        while True:
            if offset > limit:
                raise SaveFailed(f"the server sent more than the message holds ({limit} bytes); nothing was saved")
            data = fetch_range(client, uid, section, offset, chunk)
            offset += len(data)
            decoded = decoder.feed(data)
            with _file_errors(target):
                out.write(decoded)
            written += len(decoded)
            if len(data) < chunk:
                break
        tail = decoder.finish()
        with _file_errors(target):
            out.write(tail)
            out.commit()
        written += len(tail)
    return written, decoder.note


@contextmanager
def _file_errors(target: Path) -> Iterator[None]:
    # Socket errors are OSErrors too, and the worker takes those for a dropped
    # connection: the file system's own must be told apart here.
    try:
        yield
    except FileExistsError:
        raise SaveFailed(f"{target} exists already; nothing was saved") from None
    except OSError as error:
        raise SaveFailed(f"cannot write {target}: {error.strerror or error}") from None
