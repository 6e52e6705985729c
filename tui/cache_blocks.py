"""How the header cache stores list rows: in blocks of a few hundred messages, one SQLite row each.

Why blocks: a warm reopen reads 100,000 rows. Stepping over them one SQLite row at a
time cost 0.4 s of CPU in the app, and Python's sqlite3 hands the GIL over at every
step, so the read crawled while the UI thread started up. A block is one step and a
few C-level unpacks; measured on a 100k reopen, the whole list came 0.15-0.2 s sooner.

A block holds, for its messages in ascending UID order:
  * `uids`: the UIDs, little-endian 32-bit;
  * `flags`: each message's flags as JSON text, one per line (JSON escapes newlines),
    UTF-8;
  * `heads`: per message INTERNALDATE (NaN for none), RFC822.SIZE and the header
    block's length, packed, then the header blocks one after another.
The blocks of a mailbox never overlap in UID range, so reading them by range gives
rows in UID order. A flag change rewrites only a block's `flags`; an expunge rewrites
the block. New mail joins the newest block while it has room.

Every function runs inside the caller's transaction and raises sqlite3 errors to it;
a block that does not add up raises `sqlite3.DatabaseError` ("malformed"), which the
cache treats as a damaged file. Pure module: no Textual, no imaplib.
"""

from __future__ import annotations

import math
import sqlite3
import struct
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .headers import Row

__all__ = ["BLOCK_ROWS", "SCHEMA", "Entry", "drop_all", "find_rows", "keep_only", "pack_block", "put", "read_rows", "remove",
           "set_flags", "uids"]

BLOCK_ROWS = 500  # ~250 KB of headers: an expunge rewrites at most that
_SPLIT_AT = 2 * BLOCK_ROWS  # a block grown past this by merges is cut into BLOCK_ROWS pieces
_HEAD = struct.Struct("<dQI")  # internaldate, size, length of the header block
_MAX_UID = 2**32 - 1
_MAX_SIZE = 2**64 - 1

SCHEMA = (
    """CREATE TABLE blocks (
        id INTEGER PRIMARY KEY,
        mailbox_id INTEGER NOT NULL,
        low INTEGER NOT NULL,
        high INTEGER NOT NULL,
        uids BLOB NOT NULL,
        flags BLOB NOT NULL,
        heads BLOB NOT NULL)""",
    "CREATE INDEX blocks_by_range ON blocks (mailbox_id, high)",
)

# uid -> (flags text, internaldate, size, header block): a row as stored
Entry = tuple[str, "float | None", int, bytes]


@dataclass
class _Block:
    id: int
    low: int
    high: int
    uids: tuple[int, ...]
    flags: list[str]


def _malformed(block_id: object) -> sqlite3.DatabaseError:
    return sqlite3.DatabaseError(f"header cache block {block_id} is malformed")


def _unpack_uids(blob: bytes, block_id: object, low: int, high: int) -> tuple[int, ...]:
    """The block's UIDs, checked: ascending, and from `low` to `high` as its row says (a
    flipped bit would otherwise show one message's headers under another's UID)."""
    if not isinstance(blob, bytes) or not blob or len(blob) % 4:
        raise _malformed(block_id)
    uids = struct.unpack(f"<{len(blob) // 4}I", blob)
    if uids[0] != low or uids[-1] != high or any(a >= b for a, b in zip(uids, uids[1:])):
        raise _malformed(block_id)
    return uids


def _split_flags(blob: bytes, count: int, block_id: object) -> list[str]:
    try:
        flags = blob.decode("utf-8").split("\n")  # (decoded here: damage is then ours to see)
    except (AttributeError, UnicodeDecodeError):
        raise _malformed(block_id) from None
    if len(flags) != count:
        raise _malformed(block_id)
    return flags


def _unpack_heads(heads: bytes, count: int, block_id: object):
    """(internaldate, size, header block) per message."""
    fixed = count * _HEAD.size
    if not isinstance(heads, bytes) or len(heads) < fixed:
        raise _malformed(block_id)
    pos = fixed
    out = []
    for date, size, length in _HEAD.iter_unpack(heads[:fixed]):
        end = pos + length
        out.append((None if math.isnan(date) else date, size, heads[pos:end]))
        pos = end
    if pos != len(heads):
        raise _malformed(block_id)
    return out


def _rows(uids_blob: bytes, flags_blob: bytes, heads: bytes, flags_of: Mapping[str, frozenset[str]],
          block_id: object, low: int, high: int) -> list[Row]:
    """A block's rows, ascending. The hot path of a reopen: one loop, tuples made directly."""
    uids = _unpack_uids(uids_blob, block_id, low, high)
    flags = _split_flags(flags_blob, len(uids), block_id)
    fixed = len(uids) * _HEAD.size
    if not isinstance(heads, bytes) or len(heads) < fixed:
        raise _malformed(block_id)
    new, pos, rows = tuple.__new__, fixed, []
    append = rows.append
    for uid, text, (date, size, length) in zip(uids, flags, _HEAD.iter_unpack(heads[:fixed])):
        end = pos + length
        append(new(Row, (uid, flags_of[text], None if date != date else date, size, heads[pos:end], False)))
        pos = end
    if pos != len(heads):
        raise _malformed(block_id)
    return rows


def pack_block(uids: list[int], entries: Mapping[int, Entry]) -> tuple[bytes, bytes, bytes]:
    parts = [entries[uid] for uid in uids]
    fixed = b"".join(_HEAD.pack(math.nan if date is None else float(date), min(max(size, 0), _MAX_SIZE), len(headers))
                     for _flags, date, size, headers in parts)
    return (struct.pack(f"<{len(uids)}I", *uids), "\n".join(part[0] for part in parts).encode("utf-8"),
            fixed + b"".join(part[3] for part in parts))


def _blocks(conn: sqlite3.Connection, box: int, where: str = "", args: tuple = (), order: str = "high") -> list[_Block]:
    """The blocks' UIDs and flags (not their headers), in UID order."""
    found = []
    for block_id, low, high, uids_blob, flags_blob in conn.execute(
            f"SELECT id, low, high, uids, flags FROM blocks WHERE mailbox_id = ? {where} ORDER BY {order}",
            (box, *args)):
        block_uids = _unpack_uids(uids_blob, block_id, low, high)
        found.append(_Block(block_id, low, high, block_uids, _split_flags(flags_blob, len(block_uids), block_id)))
    found.sort(key=lambda block: block.low)
    return found


def _overlapping(conn: sqlite3.Connection, box: int, low: int, high: int) -> list[_Block]:
    return _blocks(conn, box, "AND high >= ? AND low <= ?", (low, high))


def _entries(conn: sqlite3.Connection, block: _Block) -> dict[int, Entry]:
    (heads,) = conn.execute("SELECT heads FROM blocks WHERE id = ?", (block.id,)).fetchone()
    unpacked = _unpack_heads(heads, len(block.uids), block.id)
    return {uid: (text, *rest) for uid, text, rest in zip(block.uids, block.flags, unpacked)}


def _write(conn: sqlite3.Connection, box: int, block_id: int | None, entries: Mapping[int, Entry]) -> None:
    """Store `entries` in block `block_id` (None: new blocks), cut into pieces if big; an
    empty block is deleted."""
    ordered = sorted(entries)
    if not ordered:
        if block_id is not None:
            conn.execute("DELETE FROM blocks WHERE id = ?", (block_id,))
        return
    size = BLOCK_ROWS if (block_id is None or len(ordered) > _SPLIT_AT) else len(ordered)
    for start in range(0, len(ordered), size):
        piece = ordered[start:start + size]
        values = (piece[0], piece[-1], *pack_block(piece, entries))
        if block_id is not None:
            conn.execute("UPDATE blocks SET low = ?, high = ?, uids = ?, flags = ?, heads = ? WHERE id = ?",
                         (*values, block_id))
            block_id = None
        else:
            conn.execute("INSERT INTO blocks (mailbox_id, low, high, uids, flags, heads) VALUES (?, ?, ?, ?, ?, ?)",
                         (box, *values))


# ---------------------------------------------------------------- reads


def read_rows(conn: sqlite3.Connection, box: int, bound: int, newest_first: bool, limit: int,
              flags_of: Mapping[str, frozenset[str]]) -> list[Row]:
    """Up to `limit` rows with UIDs below `bound` (newest first), or above it (oldest first)."""
    if newest_first:
        cursor = conn.execute("SELECT id, low, high, uids, flags, heads FROM blocks WHERE mailbox_id = ? "
                              "AND low < ? ORDER BY high DESC", (box, bound))
    else:
        cursor = conn.execute("SELECT id, low, high, uids, flags, heads FROM blocks WHERE mailbox_id = ? "
                              "AND high > ? ORDER BY high", (box, bound))
    found: list[Row] = []
    try:
        for block_id, low, high, uids_blob, flags_blob, heads in cursor:
            rows = _rows(uids_blob, flags_blob, heads, flags_of, block_id, low, high)
            if newest_first:
                rows.reverse()
                found += rows if rows[0].uid < bound else [row for row in rows if row.uid < bound]
            else:
                found += rows if rows[0].uid > bound else [row for row in rows if row.uid > bound]
            if len(found) >= limit:
                break
    finally:
        cursor.close()
    return found[:limit]


def find_rows(conn: sqlite3.Connection, box: int, wanted: list[int],
              flags_of: Mapping[str, frozenset[str]]) -> dict[int, Row]:
    """The cached rows of `wanted` (ascending UIDs), by UID."""
    found: dict[int, Row] = {}
    want = set(wanted)
    for block in _overlapping(conn, box, wanted[0], wanted[-1]):
        if want.isdisjoint(block.uids):
            continue
        (heads,) = conn.execute("SELECT heads FROM blocks WHERE id = ?", (block.id,)).fetchone()
        new = tuple.__new__
        for uid, text, (date, size, headers) in zip(block.uids, block.flags,
                                                    _unpack_heads(heads, len(block.uids), block.id)):
            if uid in want:
                found[uid] = new(Row, (uid, flags_of[text], date, size, headers, False))
    return found


def uids(conn: sqlite3.Connection, box: int) -> list[int]:
    """Every cached UID of the mailbox, ascending (each block's flags read too: a damaged
    block is noticed here as anywhere else)."""
    return [uid for block in _blocks(conn, box) for uid in block.uids]


# ---------------------------------------------------------------- writes


def put(conn: sqlite3.Connection, box: int, entries: Mapping[int, Entry]) -> int:
    """Insert or replace rows; how many UIDs were not cached before. UIDs beyond 32 bits
    (no server sends them) are not cached."""
    new = sorted(uid for uid in entries if 0 < uid <= _MAX_UID)
    if not new:
        return 0
    blocks = (_blocks(conn, box, "AND high < ?", (new[0],), "high DESC LIMIT 1")
              + _overlapping(conn, box, new[0], new[-1])
              + _blocks(conn, box, "AND low > ?", (new[-1],), "low LIMIT 1"))
    lows = [block.low for block in blocks]
    inside: dict[int, list[int]] = {}  # block index -> UIDs within its range
    gaps: dict[int, list[int]] = {}  # index of the block below the gap (-1: none) -> UIDs in the gap
    for uid in new:
        index = bisect_right(lows, uid) - 1
        if index >= 0 and uid <= blocks[index].high:
            inside.setdefault(index, []).append(uid)
        else:
            gaps.setdefault(index, []).append(uid)
    changed: dict[int, list[int]] = {index: list(found) for index, found in inside.items()}
    added = sum(len(found) - len(set(found) & set(blocks[index].uids)) for index, found in inside.items())
    fresh: list[list[int]] = []
    for index, found in gaps.items():
        added += len(found)
        if index >= 0 and len(blocks[index].uids) < BLOCK_ROWS:  # new mail joins the newest block
            room = BLOCK_ROWS - len(blocks[index].uids)
            changed.setdefault(index, []).extend(found[:room])
            found = found[room:]
        above = index + 1
        if found and above < len(blocks) and len(blocks[above].uids) < BLOCK_ROWS:
            room = BLOCK_ROWS - len(blocks[above].uids)
            changed.setdefault(above, []).extend(found[-room:])
            found = found[:-room]
        if found:
            fresh.append(found)
    for index, found in changed.items():
        stored = _entries(conn, blocks[index])
        stored.update((uid, entries[uid]) for uid in found)
        _write(conn, box, blocks[index].id, stored)
    for found in fresh:
        _write(conn, box, None, {uid: entries[uid] for uid in found})
    return added


def set_flags(conn: sqlite3.Connection, box: int, changes: Mapping[int, str]) -> None:
    """New flags texts for cached UIDs; others are ignored."""
    if not changes:
        return
    for block in _overlapping(conn, box, min(changes), max(changes)):
        flags = [changes.get(uid, text) for uid, text in zip(block.uids, block.flags)]
        if flags != block.flags:
            conn.execute("UPDATE blocks SET flags = ? WHERE id = ?", ("\n".join(flags).encode("utf-8"), block.id))


def remove(conn: sqlite3.Connection, box: int, gone: Iterable[int]) -> int:
    """Drop these UIDs; how many were cached."""
    gone = set(gone)
    if not gone:
        return 0
    return _drop(conn, box, _overlapping(conn, box, min(gone), max(gone)), gone.__contains__)


def keep_only(conn: sqlite3.Connection, box: int, keep: Iterable[int]) -> tuple[int, int]:
    """Drop every UID not in `keep`: (how many went, how many are left)."""
    keep = keep if isinstance(keep, (set, frozenset)) else set(keep)
    blocks = _blocks(conn, box)
    went = _drop(conn, box, blocks, lambda uid: uid not in keep)
    return went, sum(len(block.uids) for block in blocks) - went


def drop_all(conn: sqlite3.Connection, box: int) -> None:
    conn.execute("DELETE FROM blocks WHERE mailbox_id = ?", (box,))


def _drop(conn: sqlite3.Connection, box: int, blocks: list[_Block], goes) -> int:
    went = 0
    for block in blocks:
        leaving = [uid for uid in block.uids if goes(uid)]
        if not leaving:
            continue
        went += len(leaving)
        if len(leaving) == len(block.uids):
            conn.execute("DELETE FROM blocks WHERE id = ?", (block.id,))
            continue
        stored = _entries(conn, block)
        for uid in leaving:
            del stored[uid]
        _write(conn, box, block.id, stored)
    return went
