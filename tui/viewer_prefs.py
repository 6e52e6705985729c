"""The viewer's choices remembered per account: for now, whether multipart/alternative
shows its HTML or its plain text version (`v`). Pure: no Textual."""

from __future__ import annotations

from pathlib import Path

from .json_state import load_state, save_state

MAX_ACCOUNTS = 200  # a bigger file is somebody else's, or a bug: start over


class ViewerPrefs:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._accounts: dict[str, dict] = load_state(path, "viewer choices", MAX_ACCOUNTS)

    def prefer_html(self, account: str) -> bool:
        saved = self._accounts.get(account)
        return isinstance(saved, dict) and saved.get("prefer_html") is True

    def remember_prefer_html(self, account: str, prefer_html: bool) -> None:
        saved = self._accounts.get(account)
        self._accounts[account] = {**(saved if isinstance(saved, dict) else {}), "prefer_html": prefer_html}
        save_state(self.path, "viewer choices", self._accounts)
