"""How each mailbox's list is ordered (sort key, direction, threads), remembered per mailbox.

Kept as JSON under the XDG state dir (tui.json_state), readable by the user only:
mailbox names say something about a person. Pure: no Textual.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from .json_state import load_state, save_state

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
        return load_state(self.path, "list orders", MAX_MAILBOXES)

    def _save(self) -> None:
        save_state(self.path, "list orders", self._orders)
