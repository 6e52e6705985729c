"""A keyring backend for the CLI tests only: passwords in a JSON file, in the clear.

A subprocess picks it with
    PYTHONPATH=tests PYTHON_KEYRING_BACKEND=keyring_backend_for_tests.JsonFileKeyring
and TUI_MAIL_TEST_KEYRING=/tmp/.../keyring.json naming the file. Never use it for real:
storing passwords in a plaintext file is exactly what tui-mail refuses to do.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordDeleteError

ENV_VAR = "TUI_MAIL_TEST_KEYRING"


class JsonFileKeyring(KeyringBackend):
    # Only reachable through PYTHON_KEYRING_BACKEND: without the env var it is not viable,
    # so keyring's own detection never picks it.
    @classmethod
    def _file(cls) -> Path:
        try:
            return Path(os.environ[ENV_VAR])
        except KeyError:
            raise RuntimeError(f"{ENV_VAR} is not set") from None

    @properties.classproperty
    def priority(cls) -> float:
        cls._file()
        return 1

    def _load(self) -> dict[str, dict[str, str]]:
        path = self._file()
        return json.loads(path.read_text()) if path.exists() else {}

    def _save(self, data: dict[str, dict[str, str]]) -> None:
        self._file().write_text(json.dumps(data, indent=1, sort_keys=True))

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data.setdefault(service, {})[username] = password
        self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        try:
            del data[service][username]
        except KeyError:
            raise PasswordDeleteError(f"no password for {username!r} in {service!r}") from None
        self._save(data)
