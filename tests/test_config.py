"""The accounts file: the documented form loads, every mistake names the key and the file."""

from pathlib import Path

import pytest

from tui.config import ConfigError, load_config

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


def test_missing_file_and_bad_toml_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="No config file at"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[accounts.a\n"))


def test_env_var_sets_default_path(tmp_path, monkeypatch):
    path = write(tmp_path, README_EXAMPLE)
    monkeypatch.setenv("TUI_MAIL_CONFIG", str(path))
    assert load_config().path == path
