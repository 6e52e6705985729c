"""How each mailbox's list is ordered (sort key, direction, threads), remembered per mailbox.

Kept as JSON under the XDG state dir, readable by the user only (mailbox names say
something about a person). A file that cannot be read or written leaves the choices in
memory for this session. Pure: no Textual.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from .private_file import write_private

log = logging.getLogger(__name__)

SORT_KEYS = ("date", "arrival", "sender", "subject", "size")
MAX_MAILBOXES = 2000  # a bigger file is somebody else's, or a bug: start over


@dataclass(frozen=True)
class ListOrder:
    key: str = "arrival"  # one of SORT_KEYS
    reverse: bool = True  # newest (biggest, Z) first: what mutt, aerc and Thunderbird show
    threads: bool = False

    def describe(self) -> str:
        """"date, newest first, threads": for the status line and the sort menu."""
        direction = {
            "date": ("newest first", "oldest first"),
            "arrival": ("newest first", "oldest first"),
            "size": ("largest first", "smallest first"),
        }.get(self.key, ("Z to A", "A to Z"))[0 if self.reverse else 1]
        return f"{self.key}, {direction}" + (", threads" if self.threads else "")


class ListPrefs:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._orders: dict[str, dict] = self._load()

    @staticmethod
    def _key(account: str, raw_name: bytes) -> str:
        return account + "\x00" + raw_name.decode("ascii", "replace")

    def order(self, account: str, raw_name: bytes) -> ListOrder:
        saved = self._orders.get(self._key(account, raw_name))
        if not isinstance(saved, dict):
            return ListOrder()
        key = saved.get("key")
        return ListOrder(
            key=key if key in SORT_KEYS else "arrival",
            reverse=bool(saved.get("reverse", True)),
            threads=bool(saved.get("threads", False)),
        )

    def remember(self, account: str, raw_name: bytes, order: ListOrder) -> None:
        self._orders[self._key(account, raw_name)] = asdict(order)
        self._save()

    def _load(self) -> dict[str, dict]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            log.warning("cannot read the list orders %s: %s", self.path, error)
            return {}
        if not isinstance(data, dict) or len(data) > MAX_MAILBOXES:
            return {}
        return data

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            write_private(self.path, json.dumps(self._orders))
        except OSError as error:
            log.warning("cannot write the list orders %s: %s", self.path, error)
