"""A message text, line by line: quoted (and how deep), the signature, the long quoted
blocks the viewer folds; the text as shown with some blocks folded, mapped back to
the original lines; and the search inside it.

Pure: no Textual import. Takes any str (the viewer passes safe_block's output, where
"\\n" is the only line break). The original text is never changed: folding only
decides which of its lines are shown.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import compress, repeat
from operator import ne, sub

__all__ = [
    "FOLD_KEEP",
    "FOLD_OVER",
    "MAX_QUERY",
    "SIGNATURE_MAX",
    "Block",
    "BodyLines",
    "Shown",
    "analyse",
    "clean_query",
    "fold_marker",
    "next_match",
    "previous_match",
    "search_pattern",
    "show",
]

FOLD_OVER = 8  # a quoted block longer than this many lines is folded
FOLD_KEEP = 2  # lines of a folded block still shown above its marker
# A "-- " line further than this from the end is not a signature separator: a top-posted
# reply's separator has the whole quoted original under it, which must not go dim.
# (mutt has no cap; 40 lines is generous for a signature, even with a legal disclaimer.)
SIGNATURE_MAX = 40
SEPARATORS = ("-- ", "--")  # "--" alone: clients that strip trailing spaces
MAX_DEPTH = 255  # no colour needs more; the depth cycles through four
MAX_QUERY = 200

# Up to 3 spaces before the first ">", as Markdown allows; then any run of ">" and spaces.
_QUOTE = re.compile(r" {0,3}>[> ]*")
_QUOTE_STARTS = (">", " >", "  >", "   >")
_PREFIX_REACH = 1024  # a 1 MB line of ">" costs a depth no more than this
_BACKWARD_WINDOW = 65536  # how far back previous_match looks per step


@dataclass(frozen=True)
class Block:
    """Consecutive quoted lines (blank lines between them included): lines [start, end)."""

    start: int
    end: int

    @property
    def hidden(self) -> int:
        """How many of its lines folding hides."""
        return self.end - self.start - FOLD_KEEP


@dataclass(frozen=True, eq=False)
class BodyLines:
    text: str
    lines: list[str]  # text.split("\n"): "\n".join(lines) == text
    signature: int | None  # the separator line; it and every line after it are the signature
    blocks: tuple[Block, ...]  # the quoted blocks long enough to fold, in order

    def depth(self, line: int) -> int:
        """How deep a line is quoted, 0 when it is not. Asked only for the lines on screen:
        working it out for every line up front cost more than all the rest of analyse."""
        if not 0 <= line < len(self.lines):
            return 0
        text = self.lines[line]
        if not text.startswith(_QUOTE_STARTS):
            return 0
        prefix = _QUOTE.match(text, 0, _PREFIX_REACH)
        return min(prefix.group().count(">"), MAX_DEPTH) if prefix is not None else 0

    def in_signature(self, line: int) -> bool:
        return self.signature is not None and line >= self.signature

    def offset_of(self, line: int, column: int = 0) -> int:
        """The offset in `text` of a (line, column)."""
        line = max(0, min(line, len(self.lines) - 1))
        return sum(map(len, self.lines[:line])) + line + column

    def location_of(self, offset: int) -> tuple[int, int]:
        """The (line, column) of an offset in `text`."""
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset)
        return line, offset - (self.text.rfind("\n", 0, offset) + 1)


def analyse(text: str) -> BodyLines:
    """Linear in the text, and no Python bytecode runs per line: the per-line steps are
    map() and compress() over C methods (a plain loop took 0.4 s on 5 MB), and the loop
    below runs once per run of consecutive quoted lines."""
    lines = text.split("\n")
    quoted = list(compress(range(len(lines)), map(str.startswith, lines, repeat(_QUOTE_STARTS))))
    # Where one run of consecutive quoted lines ends and the next begins.
    breaks = compress(range(1, len(quoted)), map(ne, map(sub, quoted[1:], quoted[:-1]), repeat(1)))
    blocks: list[Block] = []
    start = quoted[0] if quoted else 0  # the first line of the block being built
    for index in breaks:
        last, next_start = quoted[index - 1], quoted[index]
        if _blank_between(lines, last + 1, next_start):
            continue  # blank lines inside a quote: still the same block
        if last + 1 - start > FOLD_OVER:
            blocks.append(Block(start, last + 1))
        start = next_start
    if quoted and quoted[-1] + 1 - start > FOLD_OVER:
        blocks.append(Block(start, quoted[-1] + 1))
    return BodyLines(text, lines, _signature(text, lines), tuple(blocks))


def _signature(text: str, lines: list[str]) -> int | None:
    last = text.rstrip().count("\n")  # the last line with more than white space on it
    # Looking back from the end, the first separator seen is the last one in the text.
    for index in range(last, max(-1, last - SIGNATURE_MAX - 1), -1):
        if lines[index] in SEPARATORS:
            return index
    return None


def _blank_between(lines: list[str], start: int, end: int) -> bool:
    # Each line is looked at once overall: the gaps between quoted runs do not overlap.
    return not any(map(str.strip, lines[start:end]))


def fold_marker(hidden: int) -> str:
    noun = "line" if hidden == 1 else "lines"
    return f"[\u2026 {hidden} more quoted {noun} \u2014 T shows them]"


@dataclass(frozen=True, eq=False)
class Shown:
    """The text on screen: `body` with the blocks `folded` (indices into body.blocks)
    each shown as its first FOLD_KEEP lines and one marker line."""

    body: BodyLines
    text: str
    folded: tuple[int, ...]
    # Per folded block, in order: its first hidden line, one past its last, the shown
    # index of its marker line, and how many lines fewer are shown before it.
    _hidden_starts: tuple[int, ...]
    _hidden_ends: tuple[int, ...]
    _markers: tuple[int, ...]
    _removed: tuple[int, ...]  # one longer: the last is the total

    @property
    def line_count(self) -> int:
        return len(self.body.lines) - self._removed[-1]

    def original_line(self, shown: int) -> int:
        """The original line a shown line is; for a marker, the first line it hides."""
        index = bisect_right(self._markers, shown) - 1
        if index >= 0 and self._markers[index] == shown:
            return self._hidden_starts[index]
        return shown + self._removed[index + 1]

    def shown_line(self, original: int) -> int:
        """Where an original line is on screen; a hidden one: its block's marker line."""
        index = bisect_right(self._hidden_starts, original) - 1
        if index >= 0 and original < self._hidden_ends[index]:
            return self._markers[index]
        return original - self._removed[index + 1]

    def marker_block(self, shown: int) -> int | None:
        """The block (an index into body.blocks) whose marker this shown line is, if one."""
        index = bisect_right(self._markers, shown) - 1
        if index >= 0 and self._markers[index] == shown:
            return self.folded[index]
        return None

    def marker_line(self, block: int) -> int | None:
        """The shown line of a folded block's marker (`block` indexes body.blocks)."""
        if block not in self.folded:
            return None
        return self._markers[self.folded.index(block)]

    def hiding_block(self, original: int) -> int | None:
        """The folded block (an index into body.blocks) that hides this original line."""
        index = bisect_right(self._hidden_starts, original) - 1
        if index >= 0 and original < self._hidden_ends[index]:
            return self.folded[index]
        return None


def show(body: BodyLines, folded: Iterable[int] = ()) -> Shown:
    """`body` with the blocks `folded` folded; unknown indices are ignored."""
    chosen = sorted({index for index in folded if 0 <= index < len(body.blocks)})
    if not chosen:
        return Shown(body, body.text, (), (), (), (), (0,))
    lines = body.lines
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    markers: list[int] = []
    removed = [0]
    done = 0  # original lines already placed
    for index in chosen:
        block = body.blocks[index]
        hidden_start = block.start + FOLD_KEEP
        pieces.extend(lines[done:hidden_start])
        markers.append(hidden_start - removed[-1])
        pieces.append(fold_marker(block.hidden))
        starts.append(hidden_start)
        ends.append(block.end)
        removed.append(removed[-1] + block.hidden - 1)
        done = block.end
    pieces.extend(lines[done:])
    return Shown(body, "\n".join(pieces), tuple(chosen), tuple(starts), tuple(ends), tuple(markers), tuple(removed))


# -- search ------------------------------------------------------------------------


def clean_query(query: str) -> str:
    """One line of at most MAX_QUERY characters."""
    return str(query or "").replace("\n", " ")[:MAX_QUERY]


def search_pattern(query: str) -> re.Pattern[str] | None:
    """The query as literal text, smart case (as vim and less do): an uppercase letter
    makes it case-sensitive. None for an empty query. Cut to MAX_QUERY characters."""
    query = clean_query(query)
    if not query:
        return None
    flags = 0 if any(character.isupper() for character in query) else re.IGNORECASE
    return re.compile(re.escape(query), flags)


def next_match(text: str, pattern: re.Pattern[str], start: int) -> tuple[int, int, bool] | None:
    """The first match starting at or after `start`, else the first of all (wrapped).
    Returns (start, end, wrapped), or None when there is no match at all."""
    found = pattern.search(text, max(0, start))
    if found is not None:
        return found.start(), found.end(), False
    found = pattern.search(text)
    if found is not None and found.start() < start:
        return found.start(), found.end(), True
    return None


def previous_match(text: str, pattern: re.Pattern[str], before: int) -> tuple[int, int, bool] | None:
    """The last match starting before `before`, else the last of all (wrapped)."""
    found = _last_match_before(text, pattern, min(before, len(text) + 1))
    if found is not None:
        return found[0], found[1], False
    found = _last_match_before(text, pattern, len(text) + 1)
    if found is not None and found[0] >= before:
        return found[0], found[1], True
    return None


def _last_match_before(text: str, pattern: re.Pattern[str], before: int) -> tuple[int, int] | None:
    # re cannot search backwards: look through windows going back from `before`, each
    # once, so a whole-text wrap costs what one forward search does.
    reach = len(pattern.pattern) * 2 + 1  # a match starting in the window may end past it
    high = before
    while high > 0:
        low = max(0, high - _BACKWARD_WINDOW)
        last = None
        position = low
        while (found := pattern.search(text, position, min(len(text), high + reach))) is not None:
            if found.start() >= high:
                break
            last = found
            position = found.start() + 1
        if last is not None:
            return last.start(), last.end()
        high = low
    return None
