"""The queries typed into the search bar, newest last, for Up/Down recall.

Kept in a file under the XDG state dir (one query per line; a query never holds a
line break), readable by the user only: a query can say a lot ("from:my-lawyer").
A file that cannot be read or written leaves the history in memory only.
Pure: no Textual.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .private_file import write_private

log = logging.getLogger(__name__)

MAX_ENTRIES = 200
MAX_LINE = 4000  # the longest query the parser accepts


class SearchHistory:
    def __init__(self, path: Path | None = None, limit: int = MAX_ENTRIES) -> None:
        self.path = path
        self.limit = limit
        self.entries: list[str] = self._load()
        self._index: int | None = None  # where Up/Down is; None: at the text being typed
        self._draft = ""  # what was typed before the first Up

    def add(self, query: str) -> None:
        """A query was run: it becomes the newest entry (once), and recall starts over."""
        self.reset()
        query = query.strip()
        if not query or "\n" in query or "\r" in query or len(query) > MAX_LINE:
            return
        if query in self.entries:
            self.entries.remove(query)
        self.entries.append(query)
        del self.entries[: -self.limit]
        self._save()

    def older(self, current: str) -> str | None:
        """Up: the entry before the one shown; None at the oldest. `current` is kept as the draft."""
        if not self.entries:
            return None
        if self._index is None:
            self._draft = current
            self._index = len(self.entries)
        if self._index == 0:
            return None
        self._index -= 1
        return self.entries[self._index]

    def newer(self) -> str | None:
        """Down: the entry after the one shown; past the newest, the draft again. None: nothing to do."""
        if self._index is None:
            return None
        self._index += 1
        if self._index >= len(self.entries):
            self._index = None
            return self._draft
        return self.entries[self._index]

    def reset(self) -> None:
        self._index = None
        self._draft = ""

    def _load(self) -> list[str]:
        if self.path is None:
            return []
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as error:
            log.warning("cannot read the search history %s: %s", self.path, error)
            return []
        lines = [line for line in text.split("\n") if line.strip() and len(line) <= MAX_LINE]
        return lines[-self.limit :]

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            write_private(self.path, "\n".join(self.entries) + "\n")
        except OSError as error:
            log.warning("cannot write the search history %s: %s", self.path, error)
