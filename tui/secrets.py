"""Where an account's password comes from: a command, the keyring, or the user.

Never a plaintext file. `None` means "ask the user" (the UI prompts and keeps
the answer in memory for the session only).
"""

from __future__ import annotations

import subprocess

from .config import Account

KEYRING_SERVICE = "tui-mail"


class SecretError(Exception):
    """The password source failed in a way the user must fix."""


def password_from_command(command: str, account_name: str, timeout: float = 60.0) -> str:
    try:
        result = subprocess.run(
            command,
            shell=True,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise SecretError(
            f"The password_command of account {account_name!r} did not finish within {timeout:.0f} s."
        ) from None
    except OSError as error:
        raise SecretError(f"The password_command of account {account_name!r} could not run: {error}.") from None
    if result.returncode != 0:
        stderr = result.stderr.strip().splitlines()
        reason = stderr[-1] if stderr else f"exit status {result.returncode}"
        raise SecretError(f"The password_command of account {account_name!r} failed: {reason}")
    lines = result.stdout.splitlines()
    if not lines or not lines[0]:
        raise SecretError(f"The password_command of account {account_name!r} printed no password.")
    return lines[0]


def password_from_keyring(account_name: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError

        return keyring.get_password(KEYRING_SERVICE, account_name)
    except (KeyringError, RuntimeError, ImportError):
        # No backend on a headless box or over SSH: the caller will prompt.
        return None


def find_password(account: Account) -> str | None:
    if account.password_command:
        return password_from_command(account.password_command, account.name)
    return password_from_keyring(account.name)
