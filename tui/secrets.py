"""Where an account's secret comes from: a command, the keyring, or the user.

Passwords: `password_command`, else the system keyring (service "tui-mail", key =
the account name), else `None`, which means "ask the user" (the UI prompts and keeps
the answer in memory for the session only). OAuth accounts (auth = "xoauth2" or
"oauthbearer") get a fresh access token from `oauth2_token_command` instead.
Never a plaintext file.
"""

from __future__ import annotations

import logging
import subprocess

from .config import OAUTH_METHODS, Account

KEYRING_SERVICE = "tui-mail"
COMMAND_TIMEOUT = 60.0

log = logging.getLogger(__name__)


class SecretError(Exception):
    """The password source failed in a way the user must fix."""


class NoKeyringError(SecretError):
    """This machine has no usable keyring backend (headless box, SSH session)."""


def first_line_of_command(
    command: str, account_name: str, key: str, what: str, timeout: float = COMMAND_TIMEOUT
) -> str:
    """Run `command` in a shell and return the first line of its stdout.

    `key` names the config key in messages ("password_command"), `what` the secret
    ("password"). A non-zero exit shows the command's last line of stderr.
    """
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
            f"The {key} of account {account_name!r} did not finish within {timeout:.0f} s."
        ) from None
    except OSError as error:
        raise SecretError(f"The {key} of account {account_name!r} could not run: {error}.") from None
    if result.returncode != 0:
        stderr = result.stderr.strip().splitlines()
        reason = stderr[-1] if stderr else f"exit status {result.returncode}"
        raise SecretError(f"The {key} of account {account_name!r} failed: {reason}")
    lines = result.stdout.splitlines()
    if not lines or not lines[0]:
        raise SecretError(f"The {key} of account {account_name!r} printed no {what}.")
    return lines[0]


def password_from_command(command: str, account_name: str, timeout: float = COMMAND_TIMEOUT) -> str:
    return first_line_of_command(command, account_name, "password_command", "password", timeout)


def usable_keyring():
    """The keyring backend, or raise NoKeyringError when there is none worth using.

    With nothing installed (the usual case over SSH or on a headless box) keyring
    picks its fail backend, which raises on every call; a keyringrc.cfg may pick
    the null backend, which silently stores nothing. Both count as "no keyring".
    """
    try:
        import keyring
        from keyring.backends import fail, null

        backend = keyring.get_keyring()
    except Exception as error:  # a broken PYTHON_KEYRING_BACKEND or keyringrc.cfg
        raise NoKeyringError(f"the keyring could not start: {error}") from None
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        raise NoKeyringError(f"no keyring backend ({type(backend).__module__}.{type(backend).__name__})")
    return backend


def password_from_keyring(account_name: str) -> str | None:
    """The stored password, or None (also when there is no keyring: never raises)."""
    try:
        return usable_keyring().get_password(KEYRING_SERVICE, account_name)
    except Exception as error:  # NoKeyringError, KeyringLocked, D-Bus trouble, ...
        log.info("Keyring not used for account %r (%s); asking for the password.", account_name, error)
        return None


def find_password(account: Account) -> str | None:
    """password_command, else the keyring, else None (the app prompts)."""
    if account.password_command:
        return password_from_command(account.password_command, account.name)
    return password_from_keyring(account.name)


def find_token(account: Account) -> str:
    """A fresh OAuth2 access token: the first line of oauth2_token_command's stdout."""
    if not account.oauth2_token_command:
        raise SecretError(
            f"Account {account.name!r} uses auth = {account.auth!r} but has no oauth2_token_command."
        )
    return first_line_of_command(account.oauth2_token_command, account.name, "oauth2_token_command", "token")


def find_secret(account: Account) -> str | None:
    """What the account logs in with: the token for OAuth accounts, else the password."""
    if account.auth in OAUTH_METHODS:
        return find_token(account)
    return find_password(account)
