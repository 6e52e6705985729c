"""The accounts file: the documented form loads, every mistake names the key and the file."""

import os
import tomllib
from pathlib import Path

import pytest

from tui.config import AUTH_METHODS, SAMPLE_CONFIG, ConfigError, load_config, parse_config

README_EXAMPLE = """
[accounts.work]
host = "imap.example.org"
port = 993
tls = "implicit"
username = "me@example.org"
password_command = "pass show mail/work"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_readme_example_loads(tmp_path):
    config = load_config(write(tmp_path, README_EXAMPLE))
    account = config.account(None)
    assert (account.name, account.host, account.port, account.tls) == ("work", "imap.example.org", 993, "implicit")
    assert account.password_command == "pass show mail/work"


@pytest.mark.parametrize("tls, port", [("implicit", 993), ("starttls", 143)])
def test_default_port_follows_tls(tmp_path, tls, port):
    config = load_config(write(tmp_path, f'[accounts.a]\nhost = "h.example"\nusername = "u"\ntls = "{tls}"\n'))
    assert config.accounts[0].port == port


def test_first_account_is_default_and_named_one_is_found(tmp_path):
    text = '[accounts.one]\nhost = "a.example"\nusername = "u"\n[accounts.two]\nhost = "b.example"\nusername = "v"\n'
    config = load_config(write(tmp_path, text))
    assert config.account(None).name == "one"
    assert config.account("two").host == "b.example"
    with pytest.raises(ConfigError, match="No account named 'three'.*one, two"):
        config.account("three")


@pytest.mark.parametrize(
    "body, expected",
    [
        ('host = "h.example"\nusername = "u"\npasword_command = "x"\n', "Unknown key 'accounts.a.pasword_command'"),
        ('host = "h.example"\nusername = "u"\nport = "993"\n', "'accounts.a.port' .* must be an integer"),
        ('host = "h.example"\nusername = "u"\nport = true\n', "'accounts.a.port' .* must be an integer"),
        ('host = "h.example"\nusername = 5\n', "'accounts.a.username' .* must be a string"),
        ('username = "u"\n', "missing the key 'host'"),
        ('host = "h.example"\nusername = "u"\ntls = "ssl"\n', "'accounts.a.tls' .* must be one of"),
        ('host = "mail.example.org"\nusername = "u"\ntls = "none"\n', "not a loopback address"),
        ('host = "h.example"\nusername = "u"\nca_file = "/nonexistent/ca.pem"\n', "does not exist"),
        ('host = "h.example"\nusername = "u"\nauth = "gssapi"\n', "'accounts.a.auth' .* must be one of login, plain"),
        ('host = "h.example"\nusername = "u"\nauth = 1\n', "'accounts.a.auth' .* must be a string, not int"),
        ('host = "h.example"\nusername = "u"\nauth = "xoauth2"\n', "'accounts.a.auth' .* needs oauth2_token_command"),
        ('host = "h.example"\nusername = "u"\nauth = "oauthbearer"\n', "needs oauth2_token_command"),
        (
            'host = "h.example"\nusername = "u"\noauth2_token_command = "t"\n',
            "'accounts.a.oauth2_token_command' .* only used with auth",
        ),
        ('host = "h.example"\nusername = "u"\noauth2_token_command = ["t"]\n', "must be a string, not list"),
        ('host = "h.example"\nusername = "u"\nallow_plaintext = "yes"\n', "'accounts.a.allow_plaintext' .* true or false"),
        ('host = "h.example"\nusername = "u"\nconnect_timeout = 0\n', "'accounts.a.connect_timeout' .* positive"),
        ('host = "h.example"\nusername = "u"\nread_timeout = -1.5\n', "'accounts.a.read_timeout' .* positive"),
        ('host = "h.example"\nusername = "u"\nread_timeout = inf\n', "'accounts.a.read_timeout' .* positive"),
        ('host = "h.example"\nusername = "u"\nread_timeout = nan\n', "'accounts.a.read_timeout' .* positive"),
        ('host = "h.example"\nusername = "u"\nconnect_timeout = "10"\n', "'accounts.a.connect_timeout' .* a number, not str"),
        ('host = "h.example"\nusername = "u"\nconnect_timeout = true\n', "'accounts.a.connect_timeout' .* a number, not bool"),
    ],
)
def test_mistakes_name_key_and_file(tmp_path, body, expected):
    path = write(tmp_path, "[accounts.a]\n" + body)
    with pytest.raises(ConfigError, match=expected) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_plaintext_allowed_to_loopback(tmp_path):
    config = load_config(write(tmp_path, '[accounts.a]\nhost = "127.0.0.1"\nusername = "u"\ntls = "none"\n'))
    assert config.accounts[0].port == 143


def test_new_keys_default_to_password_login_over_tls(tmp_path):
    account = load_config(write(tmp_path, '[accounts.a]\nhost = "h.example"\nusername = "u"\n')).accounts[0]
    assert (account.auth, account.oauth2_token_command, account.allow_plaintext) == ("login", None, False)
    assert (account.connect_timeout, account.read_timeout) == (15.0, 120.0)


@pytest.mark.parametrize("auth", AUTH_METHODS)
def test_every_auth_method_loads(tmp_path, auth):
    token = 'oauth2_token_command = "oauth2l fetch"\n' if auth in ("xoauth2", "oauthbearer") else ""
    text = f'[accounts.a]\nhost = "h.example"\nusername = "u"\nauth = "{auth}"\n{token}'
    account = load_config(write(tmp_path, text)).accounts[0]
    assert account.auth == auth
    assert account.oauth2_token_command == ("oauth2l fetch" if token else None)


def test_allow_plaintext_lets_tls_none_reach_a_remote_host(tmp_path):
    text = '[accounts.a]\nhost = "mail.example.org"\nusername = "u"\ntls = "none"\nallow_plaintext = true\n'
    account = load_config(write(tmp_path, text)).accounts[0]
    assert (account.tls, account.port, account.allow_plaintext) == ("none", 143, True)
    with pytest.raises(ConfigError, match="not a loopback address.*allow_plaintext"):
        load_config(write(tmp_path, text.replace("true", "false")))


def test_timeouts_take_integers_and_floats(tmp_path):
    text = '[accounts.a]\nhost = "h.example"\nusername = "u"\nconnect_timeout = 5\nread_timeout = 0.5\n'
    account = load_config(write(tmp_path, text)).accounts[0]
    assert (account.connect_timeout, account.read_timeout) == (5.0, 0.5)
    assert isinstance(account.connect_timeout, float)


def test_missing_file_and_bad_toml_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="No config file at") as info:
        load_config(tmp_path / "nope.toml")
    message = str(info.value)
    assert str(tmp_path / "nope.toml") in message
    assert "$TUI_MAIL_CONFIG" in message and "--config" in message and "--demo" in message
    assert SAMPLE_CONFIG in message
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[accounts.a\n"))


def test_env_var_sets_default_path(tmp_path, monkeypatch):
    path = write(tmp_path, README_EXAMPLE)
    monkeypatch.setenv("TUI_MAIL_CONFIG", str(path))
    assert load_config().path == path


def test_the_sample_in_the_missing_config_message_loads():
    config = parse_config(tomllib.loads(SAMPLE_CONFIG), None)
    assert config.account(None).name == "work"
    assert config.account(None).password_command == "pass show mail/work"


# -- file permissions: whoever can edit the config picks the command tui-mail runs --------------

WITH_COMMAND = {
    "password_command": '[accounts.a]\nhost = "h.example"\nusername = "u"\npassword_command = "pass show mail"\n',
    "oauth2_token_command": (
        '[accounts.a]\nhost = "h.example"\nusername = "u"\n'
        '[accounts.b]\nhost = "h.example"\nusername = "u"\nauth = "xoauth2"\noauth2_token_command = "oauth2l fetch"\n'
    ),
}


def write_with_mode(tmp_path: Path, text: str, mode: int) -> Path:
    path = write(tmp_path, text)
    path.chmod(mode)  # chmod, not the umask: the test must not depend on who runs it
    return path


@pytest.mark.parametrize("key", WITH_COMMAND)
@pytest.mark.parametrize("mode", [0o664, 0o666, 0o620, 0o602])
def test_config_others_can_write_is_refused_when_it_runs_a_command(tmp_path, key, mode):
    path = write_with_mode(tmp_path, WITH_COMMAND[key], mode)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"Refusing to use {path}: other users can write to it and it holds the {key} ")
    assert "run their command" in message
    assert message.endswith(f"Run chmod 600 {path}")


@pytest.mark.parametrize("key", WITH_COMMAND)
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_config_others_can_read_is_a_warning_when_it_runs_a_command(tmp_path, key, mode):
    path = write_with_mode(tmp_path, WITH_COMMAND[key], mode)
    config = load_config(path)
    assert [a.name for a in config.accounts] == (["a"] if key == "password_command" else ["a", "b"])
    assert len(config.warnings) == 1
    owner = "a" if key == "password_command" else "b"
    assert config.warnings[0].startswith(
        f"warning: {path} is readable by other users and holds the {key} of [accounts.{owner}]; "
    )
    assert config.warnings[0].endswith(f"; run chmod 600 {path}")


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_private_config_with_a_command_has_no_warning(tmp_path, mode):
    assert load_config(write_with_mode(tmp_path, WITH_COMMAND["password_command"], mode)).warnings == ()


@pytest.mark.parametrize("mode", [0o644, 0o666])
def test_config_without_a_command_has_no_warning_whatever_its_mode(tmp_path, mode):
    path = write_with_mode(tmp_path, '[accounts.a]\nhost = "h.example"\nusername = "u"\n', mode)
    assert load_config(path).warnings == ()


def test_permission_hint_quotes_a_path_with_spaces(tmp_path):
    folder = tmp_path / "my mail"
    folder.mkdir()
    path = write_with_mode(folder, WITH_COMMAND["password_command"], 0o644)
    assert load_config(path).warnings[0].endswith(f"; run chmod 600 '{path}'")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_config_of_another_user_with_a_command_is_refused(tmp_path):
    path = write_with_mode(tmp_path, WITH_COMMAND["password_command"], 0o600)
    os.chown(path, 65534, 65534)  # nobody
    with pytest.raises(ConfigError, match=r"^Refusing to use .*: it belongs to another user and holds the password_command"):
        load_config(path)
