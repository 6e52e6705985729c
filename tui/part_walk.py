"""What the two part trees share: the one parsed from a whole message (tui.mime) and the
one read from a server's BODYSTRUCTURE (tui.imap.structure). Their caps, numbering and
choice of body must agree, or a part saved would not be the part shown. No Textual here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import TypeVar

T = TypeVar("T")


class CappedWalk:
    """Depth and part-count caps for a walk down a part tree, and the notes they leave:
    the same for a whole message and for a server's BODYSTRUCTURE."""

    def __init__(self, max_depth: int, max_parts: int) -> None:
        self.max_depth = max_depth
        self.max_parts = max_parts
        self.count = 0
        self.notes: list[str] = []

    def numbered(self, kids: list[T], path: str, depth: int, notes: list[str]) -> Iterator[tuple[T, str]]:
        """Each child within the caps and its path ("1.2"), lazily: the caller walks a
        child's own children before the next is counted, as IMAP numbers them."""
        if kids and depth >= self.max_depth:
            notes.append(f"nested deeper than {self.max_depth} levels: {len(kids)} part(s) not shown")
            self.notes.append(f"parts nested deeper than {self.max_depth} levels are not shown")
            return
        for number, kid in enumerate(kids, 1):
            if self.count >= self.max_parts:
                notes.append(f"more than {self.max_parts} parts: the rest are not shown")
                self.notes.append(f"message has more than {self.max_parts} parts; the rest are not shown")
                return
            self.count += 1
            yield kid, f"{path}.{number}" if path else str(number)


def body_candidates(leaves: list[T], ctype: Callable[[T], str], attached: Callable[[T], bool]) -> tuple[T | None, ...]:
    """The first text/plain, text/html, multipart without parts, and text/plain
    attachment among a message's own leaves: what a body is chosen from, here and for a
    big message's BODYSTRUCTURE (tui.imap.structure)."""
    plain = html = broken = attached_text = None
    for part in leaves:
        kind = ctype(part)
        if attached(part):
            if kind == "text/plain" and attached_text is None:
                attached_text = part
            continue
        if kind == "text/plain" and plain is None:
            plain = part
        elif kind == "text/html" and html is None:
            html = part
        elif kind.startswith("multipart/") and broken is None:
            broken = part
    return plain, html, broken, attached_text


def alternative_html(
    plain: T, leaves: list[T], ctype: Callable[[T], str], attached: Callable[[T], bool],
    path: Callable[[T], str], alternatives: Collection[str],
) -> T | None:
    """The text/html leaf offered as an alternative to `plain`: the first HTML leaf
    inside the nearest multipart/alternative around `plain` that has one (`alternatives`
    are the paths of the multipart/alternative nodes); None when there is none.

    Only there is the HTML the same message as the plain text; an HTML part elsewhere
    (a second part of a mixed message) is not another rendering of it."""
    html = [leaf for leaf in leaves if ctype(leaf) == "text/html" and not attached(leaf)]
    ancestor = path(plain)
    while ancestor and html:  # "1.2.3" -> "1.2", "1", "" (the root)
        ancestor = ancestor.rpartition(".")[0]
        if ancestor in alternatives:
            prefix = f"{ancestor}." if ancestor else ""
            found = next((leaf for leaf in html if path(leaf).startswith(prefix)), None)
            if found is not None:
                return found
    return None
