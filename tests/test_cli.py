"""The command line as a user meets it: help, version, and config mistakes in one sentence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui import __version__
from tui import cli
from tui.config import SAMPLE_CONFIG

TESTS = Path(__file__).parent
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def run_cli(*args: str, env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    # The real keyring is never touched: no backend unless the test picks one.
    full_env = {**os.environ, **NO_KEYRING, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        # No controlling terminal, so getpass cannot open /dev/tty and reads stdin.
        start_new_session=True,
    )


def test_help_lists_the_options():
    result = run_cli("--help")
    assert result.returncode == 0
    for option in ("--demo", "--config", "--account", "--read-only", "--version", "--debug-imap", "login", "logout"):
        assert option in result.stdout


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"tui-mail {__version__}"


def test_missing_config_says_where_it_looked_and_shows_a_sample(tmp_path):
    missing = tmp_path / "none.toml"
    result = run_cli("--config", str(missing), env={"XDG_STATE_HOME": str(tmp_path)})
    assert result.returncode == 78
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"tui-mail: No config file at {missing} ")
    assert "$TUI_MAIL_CONFIG" in result.stderr and "--config" in result.stderr
    assert "--demo" in result.stderr
    assert SAMPLE_CONFIG in result.stderr


def test_missing_default_config_names_the_default_path(tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "TUI_MAIL_CONFIG": ""}
    result = run_cli(env=env)
    assert result.returncode == 78
    assert result.stderr.startswith(f"tui-mail: No config file at {tmp_path / 'cfg' / 'tui-mail' / 'config.toml'} ")


def test_config_from_env_var_and_unknown_key(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[accounts.a]\nhost = "h.example"\nusername = "u"\npassword = "plain"\n')
    result = run_cli(env={"TUI_MAIL_CONFIG": str(config), "XDG_STATE_HOME": str(tmp_path)})
    assert result.returncode == 78
    assert "Unknown key 'accounts.a.password'" in result.stderr
    assert str(config) in result.stderr
    assert "Traceback" not in result.stderr


def test_failing_password_command_shows_its_stderr(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        '[accounts.a]\nhost = "127.0.0.1"\ntls = "none"\nusername = "u"\n'
        'password_command = "echo vault is locked >&2; exit 3"\n'
    )
    result = run_cli("--config", str(config), env={"XDG_STATE_HOME": str(tmp_path)})
    assert result.returncode == 78
    assert "password_command of account 'a' failed: vault is locked" in result.stderr


def test_log_file_goes_to_the_state_dir(tmp_path):
    run_cli("--config", str(tmp_path / "none.toml"), env={"XDG_STATE_HOME": str(tmp_path)})
    assert (tmp_path / "tui-mail" / "tui-mail.log").exists()


# --------------------------------------------------------------------------------------
# login / logout, with a keyring backend that keeps passwords in a JSON file (tests only).
# --------------------------------------------------------------------------------------

ACCOUNTS = """
[accounts.work]
host = "imap.example.org"
username = "me@example.org"

[accounts.cloud]
host = "imap.example.com"
username = "me@example.com"
auth = "xoauth2"
oauth2_token_command = "echo token"
"""


@pytest.fixture
def keyring_env(tmp_path) -> dict:
    return {
        "XDG_STATE_HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
        "PYTHON_KEYRING_BACKEND": "keyring_backend_for_tests.JsonFileKeyring",
        "TUI_MAIL_TEST_KEYRING": str(tmp_path / "keyring.json"),
    }


@pytest.fixture
def accounts(tmp_path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(ACCOUNTS)
    return path


def stored(env: dict) -> dict:
    path = Path(env["TUI_MAIL_TEST_KEYRING"])
    return json.loads(path.read_text()).get("tui-mail", {}) if path.exists() else {}


def test_login_stores_and_logout_removes(keyring_env, accounts):
    result = run_cli("--config", str(accounts), "login", "work", env=keyring_env, input="s3cret pass\n")
    assert result.returncode == 0, result.stderr
    assert stored(keyring_env) == {"work": "s3cret pass"}
    assert "s3cret" not in result.stdout + result.stderr
    assert "Password for me@example.org" in result.stderr  # the prompt

    # --config after the subcommand works too.
    result = run_cli("logout", "work", "--config", str(accounts), env=keyring_env)
    assert result.returncode == 0, result.stderr
    assert stored(keyring_env) == {}

    result = run_cli("--config", str(accounts), "logout", "work", env=keyring_env)
    assert result.returncode == 1
    assert "No password of account 'work' is stored" in result.stderr
    assert "Traceback" not in result.stderr


def test_login_without_input_stores_nothing(keyring_env, accounts):
    for stdin in ("", "\n"):
        result = run_cli("--config", str(accounts), "login", "work", env=keyring_env, input=stdin)
        assert result.returncode == 1
        assert "nothing stored" in result.stderr
        assert "Traceback" not in result.stderr
    assert stored(keyring_env) == {}


@pytest.mark.parametrize("command", ["login", "logout"])
def test_unknown_account_is_the_config_error(keyring_env, accounts, command):
    result = run_cli("--config", str(accounts), command, "nope", env=keyring_env, input="pw\n")
    assert result.returncode == 78
    assert result.stderr.startswith("tui-mail: No account named 'nope'")
    assert "work, cloud" in result.stderr


def test_login_refuses_an_oauth_account(keyring_env, accounts):
    result = run_cli("--config", str(accounts), "login", "cloud", env=keyring_env, input="pw\n")
    assert result.returncode == 78
    assert "oauth2_token_command" in result.stderr
    assert stored(keyring_env) == {}


@pytest.mark.parametrize("backend", ["keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"])
@pytest.mark.parametrize("command", ["login", "logout"])
def test_no_keyring_is_one_sentence_and_exit_69(tmp_path, accounts, command, backend):
    env = {"XDG_STATE_HOME": str(tmp_path), "PYTHON_KEYRING_BACKEND": backend}
    result = run_cli("--config", str(accounts), command, "work", env=env, input="pw\n")
    assert result.returncode == 69
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # in particular: no password prompt first
    assert lines[0].startswith("tui-mail: There is no keyring on this machine")
    assert "password_command" in lines[0] and "[accounts.work]" in lines[0]


def test_subcommands_take_no_app_options(tmp_path, accounts):
    result = run_cli("--config", str(accounts), "--read-only", "login", "work", env={"XDG_STATE_HOME": str(tmp_path)})
    assert result.returncode == 2
    assert "--read-only does not go with `login`" in result.stderr


def test_debug_imap_needs_an_existing_folder(tmp_path, accounts):
    result = run_cli("--config", str(accounts), "--debug-imap", str(tmp_path / "no" / "trace.log"))
    assert result.returncode == 2
    assert "--debug-imap" in result.stderr and "does not exist" in result.stderr
