"""The accounts file: TOML in the XDG config dir, validated with clear errors.

Every problem becomes a `ConfigError` whose message names the file and the key,
so the CLI can print one sentence instead of a traceback.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import shlex
import socket
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_config_path

TLS_MODES = ("implicit", "starttls", "none")
AUTH_METHODS = ("login", "plain", "cram-md5", "xoauth2", "oauthbearer")
OAUTH_METHODS = ("xoauth2", "oauthbearer")

# Shown when there is no config file: the README's example without the optional keys.
# tests/test_config.py checks that it loads as-is.
SAMPLE_CONFIG = """\
[accounts.work]
host = "imap.example.org"
port = 993
tls = "implicit"
username = "me@example.org"
password_command = "pass show mail/work"   # or leave it out and run `tui-mail login work`
"""


class ConfigError(Exception):
    """A user mistake in the config file or on the command line."""


@dataclass(frozen=True)
class Account:
    name: str
    host: str
    username: str
    port: int
    tls: str = "implicit"
    password_command: str | None = None
    ca_file: Path | None = None
    read_only: bool = False
    auth: str = "login"  # one of AUTH_METHODS
    oauth2_token_command: str | None = None  # stdout is a fresh access token
    allow_plaintext: bool = False  # tls = "none" to a host that is not loopback
    connect_timeout: float = 15.0
    read_timeout: float = 120.0


@dataclass(frozen=True)
class Config:
    path: Path | None
    accounts: tuple[Account, ...]
    # One-line problems that do not stop tui-mail; the CLI prints them before the TUI starts.
    warnings: tuple[str, ...] = ()

    def account(self, name: str | None) -> Account:
        if name is None:
            return self.accounts[0]
        for account in self.accounts:
            if account.name == name:
                return account
        known = ", ".join(a.name for a in self.accounts)
        raise ConfigError(f"No account named {name!r} in {self.path}; known accounts: {known}.")


# key -> (accepted types, required)
_ACCOUNT_KEYS: dict[str, tuple[tuple[type, ...], bool]] = {
    "host": ((str,), True),
    "username": ((str,), True),
    "port": ((int,), False),
    "tls": ((str,), False),
    "password_command": ((str,), False),
    "ca_file": ((str,), False),
    "read_only": ((bool,), False),
    "auth": ((str,), False),
    "oauth2_token_command": ((str,), False),
    "allow_plaintext": ((bool,), False),
    "connect_timeout": ((int, float), False),
    "read_timeout": ((int, float), False),
}

_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", float: "a number"}


def default_config_path() -> Path:
    env = os.environ.get("TUI_MAIL_CONFIG")
    if env:
        return Path(env).expanduser()
    return user_config_path("tui-mail") / "config.toml"


def load_config(path: Path | None = None) -> Config:
    path = path or default_config_path()
    try:
        # The mode checked is that of the file read, not of whatever is at `path` a moment later.
        with path.open("rb") as file:
            status = os.fstat(file.fileno())
            data = tomllib.loads(file.read().decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(missing_config_message(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"Cannot read {path}: {error}.") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}.") from None
    config = parse_config(data, path)
    warning = permission_problem(path, status, config)
    return dataclasses.replace(config, warnings=(warning,)) if warning else config


def permission_problem(path: Path, status: os.stat_result, config: Config) -> str | None:
    """A warning when other users can read a config that runs commands for secrets.

    Raises ConfigError when others can change it (or own it), like ssh does with its
    config: whoever can edit the file picks the command tui-mail runs as this user.
    """
    command = next(
        (
            (key, account.name)
            for account in config.accounts
            for key in ("password_command", "oauth2_token_command")
            if getattr(account, key)
        ),
        None,
    )
    if command is None:
        return None
    key, name = command
    fix = f"chmod 600 {shlex.quote(str(path))}"
    holds = f"holds the {key} of [accounts.{name}]"
    if status.st_uid not in (os.getuid(), 0):
        raise ConfigError(
            f"Refusing to use {path}: it belongs to another user and {holds} that tui-mail would run "
            f"as you. Copy it to a file of your own and run {fix} on that."
        )
    if status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(
            f"Refusing to use {path}: other users can write to it and it {holds}, so anyone who can "
            f"edit it can make tui-mail run their command. Run {fix}"
        )
    if status.st_mode & (stat.S_IRGRP | stat.S_IROTH):
        return f"warning: {path} is readable by other users and {holds}; run {fix}"
    return None


def missing_config_message(path: Path) -> str:
    default = user_config_path("tui-mail") / "config.toml"
    return (
        f"No config file at {path} (tui-mail reads --config PATH, else $TUI_MAIL_CONFIG, "
        f"else {default}). Create it with an account like this one (see the README), "
        f"or try `tui-mail --demo` first:\n\n{SAMPLE_CONFIG}"
    )


def parse_config(data: dict, path: Path | None) -> Config:
    unknown = set(data) - {"accounts"}
    if unknown:
        raise ConfigError(f"Unknown key {sorted(unknown)[0]!r} in {path}; expected [accounts.NAME].")
    accounts_table = data.get("accounts")
    if not isinstance(accounts_table, dict) or not accounts_table:
        raise ConfigError(f"{path} has no accounts: add an [accounts.NAME] table.")
    accounts = []
    for name, table in accounts_table.items():
        if not isinstance(table, dict):
            raise ConfigError(f"'accounts.{name}' in {path} must be a table.")
        accounts.append(_parse_account(name, table, path))
    return Config(path=path, accounts=tuple(accounts))


def _parse_account(name: str, table: dict, path: Path | None) -> Account:
    where = f"in {path}" if path else "in the config"
    for key, value in table.items():
        if key not in _ACCOUNT_KEYS:
            allowed = ", ".join(_ACCOUNT_KEYS)
            raise ConfigError(f"Unknown key 'accounts.{name}.{key}' {where}; allowed keys: {allowed}.")
        types, _required = _ACCOUNT_KEYS[key]
        # bool is an int in Python; a port of `true` is still a mistake.
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            expected = _TYPE_NAMES[float if float in types else types[0]]
            raise ConfigError(
                f"'accounts.{name}.{key}' {where} must be {expected}, "
                f"not {type(value).__name__}."
            )
    for key, (_types, required) in _ACCOUNT_KEYS.items():
        if required and key not in table:
            raise ConfigError(f"'accounts.{name}' {where} is missing the key '{key}'.")
    tls = table.get("tls", "implicit")
    if tls not in TLS_MODES:
        raise ConfigError(
            f"'accounts.{name}.tls' {where} must be one of {', '.join(TLS_MODES)}, not {tls!r}."
        )
    port = table.get("port", 993 if tls == "implicit" else 143)
    if not 0 < port < 65536:
        raise ConfigError(f"'accounts.{name}.port' {where} must be between 1 and 65535.")
    host = table["host"]
    if tls == "none" and not is_loopback(host) and not table.get("allow_plaintext", False):
        raise ConfigError(
            f"'accounts.{name}.tls' {where} is \"none\" but {host} is not a loopback address: "
            "passwords would cross the network in clear. Use tls = \"implicit\" or \"starttls\" "
            "(or set allow_plaintext = true if you really mean it)."
        )
    auth = table.get("auth", "login")
    if auth not in AUTH_METHODS:
        raise ConfigError(
            f"'accounts.{name}.auth' {where} must be one of {', '.join(AUTH_METHODS)}, not {auth!r}."
        )
    if auth in OAUTH_METHODS and "oauth2_token_command" not in table:
        raise ConfigError(
            f"'accounts.{name}.auth' {where} is {auth!r}, which needs oauth2_token_command "
            "(a command that prints a fresh access token)."
        )
    if auth not in OAUTH_METHODS and "oauth2_token_command" in table:
        raise ConfigError(
            f"'accounts.{name}.oauth2_token_command' {where} is only used with auth = \"xoauth2\" "
            f"or \"oauthbearer\", but auth is {auth!r}."
        )
    for key in ("connect_timeout", "read_timeout"):
        # TOML has inf and nan; neither is a timeout a socket accepts.
        if key in table and not (math.isfinite(table[key]) and table[key] > 0):
            raise ConfigError(f"'accounts.{name}.{key}' {where} must be a positive number of seconds.")
    ca_file = None
    if "ca_file" in table:
        ca_file = Path(table["ca_file"]).expanduser()
        if not ca_file.is_file():
            raise ConfigError(f"'accounts.{name}.ca_file' {where} points to {ca_file}, which does not exist.")
    return Account(
        name=name,
        host=host,
        username=table["username"],
        port=port,
        tls=tls,
        password_command=table.get("password_command"),
        ca_file=ca_file,
        read_only=table.get("read_only", False),
        auth=auth,
        oauth2_token_command=table.get("oauth2_token_command"),
        allow_plaintext=table.get("allow_plaintext", False),
        connect_timeout=float(table.get("connect_timeout", 15.0)),
        read_timeout=float(table.get("read_timeout", 120.0)),
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)
