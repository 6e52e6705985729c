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


def _config_running(tmp_path: Path, marker: Path, mode: int) -> Path:
    """A config whose password_command leaves `marker` behind, then fails (no server needed)."""
    config = tmp_path / "c.toml"
    config.write_text(
        '[accounts.a]\nhost = "127.0.0.1"\ntls = "none"\nusername = "u"\n'
        f'password_command = "touch {marker}; echo vault is locked >&2; exit 3"\n'
    )
    config.chmod(mode)
    return config


def test_config_readable_by_others_warns_first_then_goes_on(tmp_path):
    marker = tmp_path / "command-ran"
    config = _config_running(tmp_path, marker, 0o644)
    result = run_cli("--config", str(config), env={"XDG_STATE_HOME": str(tmp_path)})
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"tui-mail: warning: {config} is readable by other users and holds the password_command of [accounts.a]; "
        f"run chmod 600 {config}"
    )
    assert marker.exists()  # it went on and ran the command
    assert "password_command of account 'a' failed: vault is locked" in lines[1]
    log = (tmp_path / "tui-mail" / "tui-mail.log").read_text()
    assert f"WARNING tui.cli: warning: {config} is readable by other users" in log


@pytest.mark.parametrize("mode", [0o664, 0o666])
def test_config_writable_by_others_is_refused_before_its_command_runs(tmp_path, mode):
    marker = tmp_path / "command-ran"
    config = _config_running(tmp_path, marker, mode)
    result = run_cli("--config", str(config), env={"XDG_STATE_HOME": str(tmp_path)})
    assert result.returncode == 78
    assert result.stderr.startswith(f"tui-mail: Refusing to use {config}: other users can write to it ")
    assert result.stderr.endswith(f"Run chmod 600 {config}\n")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert not marker.exists()


def test_private_config_has_no_warning(tmp_path):
    marker = tmp_path / "command-ran"
    config = _config_running(tmp_path, marker, 0o600)
    result = run_cli("--config", str(config), env={"XDG_STATE_HOME": str(tmp_path)})
    assert result.returncode == 78 and marker.exists()
    assert result.stderr == "tui-mail: The password_command of account 'a' failed: vault is locked\n"


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
    path.chmod(0o600)  # it holds an oauth2_token_command: readable by others would add a warning
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


# --------------------------------------------------------------------------------------
# The log file never holds a secret, even with every logger at DEBUG.
# --------------------------------------------------------------------------------------

# Distinctive, so a hit in the log can only be the password (Dovecot's default, "secret",
# would match the logger name "tui.secrets").
LOG_TEST_PASSWORD = "Lg-Pa55-q7Zx-right"
WRONG_PASSWORD = "Lg-Pa55-q7Zx-wrong"
SECOND_LINE = "Lg-otp-second-line"  # the command prints it too; only its first line is the password


@pytest.fixture(scope="module")
def dovecot_with_a_distinct_password():
    from servers import DovecotServer, require_dovecot

    require_dovecot()
    with DovecotServer(password=LOG_TEST_PASSWORD) as server:
        yield server


@pytest.fixture
def log_file_at_debug(tmp_path, monkeypatch):
    """The app's own log file (setup_logging), with the root logger at DEBUG, then put back."""
    import logging

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    path = cli.setup_logging()
    root.setLevel(logging.DEBUG)  # more than the app's INFO: imapclient then logs every line sent
    yield path
    for handler in set(root.handlers) - set(handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


def _start_like_the_cli(account, tmp_path):
    """What run_account does before Textual: the secret from the command, the early session.

    The first result the worker posts: Connected or ConnectionFailed.
    """
    import argparse
    import time

    from tui.imap.contract import Connected, ConnectionFailed

    args = argparse.Namespace(read_only=True, debug_imap=tmp_path / "trace.log")
    session = cli._start_early(account, cli._secret_for(account), args, {"cache_path": None})
    results = []
    session.early.hand_over(results.append)
    deadline = time.monotonic() + 20
    try:
        while not any(isinstance(r, (Connected, ConnectionFailed)) for r in results):
            assert time.monotonic() < deadline, results
            time.sleep(0.05)
    finally:
        session.stop()
    return next(r for r in results if isinstance(r, (Connected, ConnectionFailed)))


@pytest.mark.parametrize("method", ["login", "plain", "cram-md5"])
def test_no_password_in_the_log_file(dovecot_with_a_distinct_password, log_file_at_debug, tmp_path, method):
    import base64
    import dataclasses

    from tui.config import Account
    from tui.imap.contract import Connected, ConnectionFailed

    server = dovecot_with_a_distinct_password
    account = Account(
        name="logged", host=server.host, port=server.port, tls="none", username=server.user, auth=method,
        password_command=f"printf '%s\\n%s\\n' {LOG_TEST_PASSWORD} {SECOND_LINE}",
    )
    assert isinstance(_start_like_the_cli(account, tmp_path), Connected)
    wrong = dataclasses.replace(account, password_command=f"printf '%s\\n%s\\n' {WRONG_PASSWORD} {SECOND_LINE}")
    failed = _start_like_the_cli(wrong, tmp_path)
    assert isinstance(failed, ConnectionFailed) and "refused the login" in failed.message

    for name, path in (("log file", log_file_at_debug), ("--debug-imap trace", tmp_path / "trace.log")):
        text = path.read_bytes()
        assert b"AUTHENTICATIONFAILED" in text, f"the {name} missed the failed login: the test would prove nothing"
        for secret in (LOG_TEST_PASSWORD, WRONG_PASSWORD, SECOND_LINE):
            assert secret.encode() not in text, f"{secret} in the {name}"
            for sasl in (f"\0{server.user}\0{secret}", f"{server.user}\0{secret}"):  # AUTHENTICATE PLAIN
                assert base64.b64encode(sasl.encode()) not in text, f"{secret} (base64) in the {name}"
    log = log_file_at_debug.read_text()
    assert "**REDACTED**" in log  # imapclient's protocol log was on, and hid the command
