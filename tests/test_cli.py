"""The command line as a user meets it: help, version, and config mistakes in one sentence."""

from __future__ import annotations

import os
import subprocess
import sys

from tui import __version__


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, env=full_env, timeout=60, stdin=subprocess.DEVNULL
    )


def test_help_lists_the_options():
    result = run_cli("--help")
    assert result.returncode == 0
    for option in ("--demo", "--config", "--account", "--read-only", "--version"):
        assert option in result.stdout


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"tui-mail {__version__}"


def test_missing_config_is_one_sentence_with_a_hint(tmp_path):
    result = run_cli("--config", str(tmp_path / "none.toml"), env={"XDG_STATE_HOME": str(tmp_path)})
    assert result.returncode == 78
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("tui-mail: No config file at")
    assert "--demo" in result.stderr


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
