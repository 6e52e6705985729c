"""`tui-mail`: argument parsing, logging, and clear one-sentence errors.

    tui-mail [--config PATH] [--account NAME] [--read-only] [--debug-imap FILE]
    tui-mail --demo
    tui-mail [--config PATH] login NAME      (also: login NAME --config PATH)
    tui-mail [--config PATH] logout NAME
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path

from platformdirs import user_cache_path, user_state_path

from . import __version__
from .gc_tuning import collect_less
from .config import OAUTH_METHODS
from .secrets import SecretError, find_password, find_token

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE from sysexits.h: no keyring on this machine
EXIT_CONFIG = 78  # EX_CONFIG from sysexits.h
EXIT_INTERRUPTED = 130

log = logging.getLogger(__name__)


def add_config_option(parser: argparse.ArgumentParser, default: object) -> None:
    # --config goes before or after a subcommand: `tui-mail --config X login NAME` and
    # `tui-mail login NAME --config X` both work. The subcommands' default is SUPPRESS so
    # they do not reset a --config given before the subcommand.
    parser.add_argument("--config", type=Path, metavar="PATH", default=default, help="the config file to read")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tui-mail",
        usage=(
            "\n  %(prog)s [--config PATH] [--account NAME] [--read-only] [--debug-imap FILE]"
            "\n  %(prog)s --demo [--read-only]"
            "\n  %(prog)s [--config PATH] {login,logout} NAME"
            "\n  %(prog)s --help | --version"
        ),
        description="A keyboard-driven terminal mail reader for IMAP. Without a command, open an account.",
        epilog=(
            "Config: --config PATH, else $TUI_MAIL_CONFIG, else $XDG_CONFIG_HOME/tui-mail/config.toml. "
            "Passwords: password_command, else the keyring (see `login`), else a prompt in the app. "
            "Press ? in the app for keys."
        ),
    )
    add_config_option(parser, default=None)
    parser.add_argument("--version", action="version", version=f"tui-mail {__version__}")
    parser.add_argument("--demo", action="store_true", help="run on an embedded demo IMAP server (no network needed)")
    parser.add_argument("--account", metavar="NAME", help="the account to open (default: the first one)")
    parser.add_argument("--read-only", action="store_true", help="open mailboxes with EXAMINE: change nothing")
    parser.add_argument(
        "--debug-imap",
        type=Path,
        metavar="FILE",
        help="write the IMAP protocol trace to FILE (passwords and tokens are redacted)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    login = commands.add_parser(
        "login",
        help="store an account's password in the system keyring",
        description="Ask for the password of account NAME (no echo) and store it in the system keyring.",
    )
    login.add_argument("name", metavar="NAME", help="the account, as in [accounts.NAME]")
    add_config_option(login, default=argparse.SUPPRESS)
    logout = commands.add_parser(
        "logout",
        help="remove an account's password from the system keyring",
        description="Remove the password of account NAME from the system keyring.",
    )
    logout.add_argument("name", metavar="NAME", help="the account, as in [accounts.NAME]")
    add_config_option(logout, default=argparse.SUPPRESS)
    return parser


def setup_logging() -> Path:
    log_dir = user_state_path("tui-mail")
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / "tui-mail.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return log_file


def main(argv: list[str] | None = None) -> int:
    collect_less()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command:
        for option, given in (
            ("--demo", args.demo),
            ("--account", args.account),
            ("--read-only", args.read_only),
            ("--debug-imap", args.debug_imap),
        ):
            if given:
                parser.error(f"{option} does not go with `{args.command}`")
    if args.debug_imap is not None and not args.debug_imap.expanduser().parent.is_dir():
        parser.error(f"--debug-imap: the folder of {args.debug_imap} does not exist")
    try:
        setup_logging()
    except OSError as error:
        print(f"tui-mail: cannot write the log file ({error}); continuing without it.", file=sys.stderr)
        # Else logging's last resort prints every warning to stderr, under the TUI.
        logging.getLogger().addHandler(logging.NullHandler())
    if args.command == "login":
        return login(args)
    if args.command == "logout":
        return logout(args)
    if args.demo:
        from .demo import run_demo

        return run_demo(read_only=args.read_only, debug_imap=_debug_path(args))
    return run_account(args)


def header_cache_path() -> Path | None:
    """$XDG_CACHE_HOME/tui-mail/headers.sqlite3; TUI_MAIL_NO_CACHE=1 turns the cache off."""
    if os.environ.get("TUI_MAIL_NO_CACHE"):
        return None
    return user_cache_path("tui-mail") / "headers.sqlite3"


def _debug_path(args: argparse.Namespace) -> Path | None:
    return args.debug_imap.expanduser() if args.debug_imap is not None else None


def run_account(args: argparse.Namespace) -> int:
    from .config import ConfigError, load_config

    try:
        config = load_config(args.config)
        show_warnings(config)
        first = config.account(args.account)
        # Before the TUI owns the terminal: a password command may ask for a passphrase.
        logins = [(account, _secret_for(account)) for account in (first, *[a for a in config.accounts if a != first])]
    except (ConfigError, SecretError) as error:
        print(f"tui-mail: {error}", file=sys.stderr)
        return EXIT_CONFIG
    (account, secret), *others = logins
    worker_options = {"cache_path": header_cache_path()}
    started = _start_early(account, secret, args, worker_options)
    from .app import MailApp  # Textual: half a second of imports, while the worker connects
    from .gc_tuning import tune_gc
    from .widgets.image_view import probe_terminal_graphics

    app = MailApp(account, secret, others=others, read_only=args.read_only, debug_imap=_debug_path(args),
                  search_history=user_state_path("tui-mail") / "search-history",
                  list_prefs=user_state_path("tui-mail") / "list-order.json",
                  viewer_prefs=user_state_path("tui-mail") / "viewer.json",
                  worker_options=worker_options, started=started)
    tune_gc()
    probe_terminal_graphics()  # before Textual reads the terminal: see tui.widgets.image_view
    app.run()
    for failure in app.startup_failures:
        print(f"tui-mail: {failure}", file=sys.stderr)
    return 1 if app.startup_failures else 0


def show_warnings(config) -> None:
    """On stderr, before Textual takes the terminal (it would hide them), and in the log."""
    for warning in config.warnings:
        print(f"tui-mail: {warning}", file=sys.stderr)
        log.warning("%s", warning)


def _start_early(account, secret, args: argparse.Namespace, worker_options: dict):
    """The first account connects, lists and opens INBOX while the UI starts; None when a
    password must be asked in the app first."""
    if secret is None:
        return None
    from .account_session import AccountSession
    from .imap.trace import ProtocolTrace
    from .imap.worker import ImapWorker

    options = {"trace": ProtocolTrace(_debug_path(args)), **worker_options}
    session = AccountSession(account, secret, args.read_only or account.read_only, options=options)
    session.start_early(ImapWorker)
    return session


def _secret_for(account):
    """The password (None: ask in the app), or for OAuth a source of fresh tokens.

    The token command runs once now, so a broken one is reported before the TUI
    starts; reconnects later run it again, since access tokens expire.
    """
    if account.auth not in OAUTH_METHODS:
        return find_password(account)
    tokens = [find_token(account)]
    return lambda: tokens.pop() if tokens else find_token(account)


# ---------------------------------------------------------------------------------------
# login / logout: the keyring half of the password order.
# ---------------------------------------------------------------------------------------


def _load_account(args: argparse.Namespace):
    """(account, config path) for NAME, or print the config's error and return None."""
    from .config import ConfigError, load_config

    try:
        config = load_config(args.config)
        show_warnings(config)
        return config.account(args.name), config.path
    except ConfigError as error:
        print(f"tui-mail: {error}", file=sys.stderr)
        return None


def _no_keyring(account_name: str, config_path: Path | None, reason: object) -> int:
    log.info("No keyring for account %r: %s", account_name, reason)
    where = f" in {config_path}" if config_path else ""
    print(
        f"tui-mail: There is no keyring on this machine (common over SSH or on a headless box), "
        f"so set password_command in [accounts.{account_name}]{where} instead.",
        file=sys.stderr,
    )
    return EXIT_UNAVAILABLE


def read_password(prompt: str) -> str:
    """getpass: no echo on a terminal; with no terminal at all, the first line of stdin."""
    import getpass

    with warnings.catch_warnings():
        if not sys.stdin.isatty():
            # Piped in: nothing to echo onto, so getpass's "may be echoed" warning is noise.
            warnings.simplefilter("ignore", getpass.GetPassWarning)
        return getpass.getpass(prompt)


def login(args: argparse.Namespace) -> int:
    from .config import OAUTH_METHODS
    from .secrets import KEYRING_SERVICE, NoKeyringError, usable_keyring

    found = _load_account(args)
    if found is None:
        return EXIT_CONFIG
    account, config_path = found
    if account.auth in OAUTH_METHODS:
        print(
            f"tui-mail: Account {account.name!r} uses auth = {account.auth!r}: it logs in with the token "
            "its oauth2_token_command prints, so there is no password to store.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        backend = usable_keyring()  # before asking: do not make the user type for nothing
    except NoKeyringError as error:
        return _no_keyring(account.name, config_path, error)
    if account.password_command:
        print(
            f"tui-mail: Note: account {account.name!r} has a password_command, which comes before the keyring.",
            file=sys.stderr,
        )
    try:
        password = read_password(f"Password for {account.username} at {account.host} ({account.name}): ")
    except EOFError:
        print("\ntui-mail: No password given; nothing stored.", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("\ntui-mail: Cancelled; nothing stored.", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not password:
        print("tui-mail: The password is empty; nothing stored.", file=sys.stderr)
        return EXIT_FAILURE
    try:
        backend.set_password(KEYRING_SERVICE, account.name, password)
    except NoKeyringError as error:
        return _no_keyring(account.name, config_path, error)
    except Exception as error:  # KeyringLocked, PasswordSetError, D-Bus errors, ...
        print(f"tui-mail: The keyring did not store the password: {error}", file=sys.stderr)
        return EXIT_FAILURE
    log.info("Stored the password of account %r in %s.", account.name, backend.name)
    print(f"Stored the password of account {account.name!r} in the keyring ({backend.name}).")
    return 0


def logout(args: argparse.Namespace) -> int:
    from keyring.errors import PasswordDeleteError

    from .secrets import KEYRING_SERVICE, NoKeyringError, usable_keyring

    found = _load_account(args)
    if found is None:
        return EXIT_CONFIG
    account, config_path = found
    try:
        backend = usable_keyring()
    except NoKeyringError as error:
        return _no_keyring(account.name, config_path, error)
    not_stored = f"tui-mail: No password of account {account.name!r} is stored in the keyring; nothing removed."
    try:
        if backend.get_password(KEYRING_SERVICE, account.name) is None:
            print(not_stored, file=sys.stderr)
            return EXIT_FAILURE
        backend.delete_password(KEYRING_SERVICE, account.name)
    except NoKeyringError as error:
        return _no_keyring(account.name, config_path, error)
    except PasswordDeleteError:
        print(not_stored, file=sys.stderr)
        return EXIT_FAILURE
    except Exception as error:  # KeyringLocked, D-Bus errors, ...
        print(f"tui-mail: The keyring did not remove the password: {error}", file=sys.stderr)
        return EXIT_FAILURE
    log.info("Removed the password of account %r from %s.", account.name, backend.name)
    print(f"Removed the password of account {account.name!r} from the keyring.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
