"""Where the secret comes from: password_command, then the keyring, then the prompt (None).

OAuth accounts get their access token from oauth2_token_command instead. A machine
without a keyring (SSH, headless) must fall through to the prompt, never raise.
"""

from __future__ import annotations

import logging

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.errors import KeyringLocked

from tui.config import Account
from tui.secrets import KEYRING_SERVICE, SecretError, find_password, find_secret, find_token


def account(**overrides) -> Account:
    fields = {"name": "work", "host": "imap.example.org", "username": "me", "port": 993}
    return Account(**{**fields, **overrides})


@pytest.fixture
def use_keyring():
    """Install a keyring backend for one test, then put the previous one back."""
    # Resolve the process's backend first, so keyring's detection has run before any
    # test backend class exists (keyring registers every KeyringBackend subclass).
    previous = keyring.get_keyring()

    def install(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    yield install
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring(use_keyring):
    class MemoryKeyring(KeyringBackend):
        priority = 1

        def __init__(self):
            super().__init__()
            self.passwords: dict[tuple[str, str], str] = {}

        def get_password(self, service, username):
            return self.passwords.get((service, username))

        def set_password(self, service, username, password):
            self.passwords[service, username] = password

        def delete_password(self, service, username):
            del self.passwords[service, username]

    return use_keyring(MemoryKeyring())


def test_password_command_wins_over_the_keyring(memory_keyring):
    memory_keyring.set_password(KEYRING_SERVICE, "work", "from-keyring")
    assert find_password(account(password_command="printf 'from-command\\nsecond line\\n'")) == "from-command"


def test_keyring_when_there_is_no_command(memory_keyring):
    memory_keyring.set_password(KEYRING_SERVICE, "work", "from-keyring")
    memory_keyring.set_password(KEYRING_SERVICE, "other", "not this one")
    memory_keyring.set_password("another-service", "work", "nor this one")
    assert find_password(account()) == "from-keyring"
    assert find_secret(account()) == "from-keyring"


def test_none_when_neither(memory_keyring):
    assert find_password(account()) is None
    assert find_secret(account()) is None


@pytest.mark.parametrize("backend", [fail.Keyring, null.Keyring], ids=["fail", "null"])
def test_no_keyring_falls_through_to_the_prompt_and_logs_one_line(use_keyring, caplog, backend):
    use_keyring(backend())
    with caplog.at_level(logging.INFO, logger="tui.secrets"):
        assert find_password(account()) is None
    lines = [record for record in caplog.records if record.name == "tui.secrets"]
    assert len(lines) == 1
    assert "'work'" in lines[0].getMessage()


def test_a_keyring_that_raises_is_not_fatal(use_keyring):
    class LockedKeyring(KeyringBackend):
        priority = 1

        def get_password(self, service, username):
            raise KeyringLocked("collection is locked")

        def set_password(self, service, username, password):
            raise KeyringLocked("collection is locked")

    use_keyring(LockedKeyring())
    assert find_password(account()) is None


def test_failing_password_command_shows_its_stderr(memory_keyring):
    memory_keyring.set_password(KEYRING_SERVICE, "work", "from-keyring")
    with pytest.raises(SecretError, match="password_command of account 'work' failed: vault is locked"):
        find_password(account(password_command="echo vault is locked >&2; exit 3"))


def test_oauth_token_from_its_command(memory_keyring):
    memory_keyring.set_password(KEYRING_SERVICE, "work", "a password that must not be used")
    oauth = account(
        auth="xoauth2", oauth2_token_command="echo ya29.token-value; echo refresh-noise", password_command="echo pw"
    )
    assert find_token(oauth) == "ya29.token-value"
    assert find_secret(oauth) == "ya29.token-value"
    assert find_secret(account(auth="oauthbearer", oauth2_token_command="echo bearer-token")) == "bearer-token"
    # find_password keeps meaning "the password", whatever auth says.
    assert find_password(oauth) == "pw"


def test_token_command_failure_names_oauth2_token_command():
    oauth = account(auth="oauthbearer", oauth2_token_command="echo refresh token expired >&2; exit 1")
    with pytest.raises(SecretError, match="oauth2_token_command of account 'work' failed: refresh token expired"):
        find_secret(oauth)


def test_token_command_that_prints_nothing():
    with pytest.raises(SecretError, match="oauth2_token_command of account 'work' printed no token"):
        find_token(account(auth="xoauth2", oauth2_token_command="true"))


def test_oauth_account_without_a_token_command_is_an_error():
    # The config refuses this; an Account built in code still gets a clear message.
    with pytest.raises(SecretError, match="no oauth2_token_command"):
        find_secret(account(auth="xoauth2"))
