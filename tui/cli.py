"""`tui-mail`: argument parsing, logging, and clear one-sentence errors."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from platformdirs import user_state_path

from . import __version__

EXIT_USAGE = 2
EXIT_CONFIG = 78  # EX_CONFIG from sysexits.h


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tui-mail",
        description="A keyboard-driven terminal mail reader for IMAP.",
        epilog="Config: $TUI_MAIL_CONFIG, else $XDG_CONFIG_HOME/tui-mail/config.toml. Press ? in the app for keys.",
    )
    parser.add_argument("--version", action="version", version=f"tui-mail {__version__}")
    parser.add_argument("--demo", action="store_true", help="run on an embedded demo IMAP server (no network needed)")
    parser.add_argument("--config", type=Path, metavar="PATH", help="the config file to read")
    parser.add_argument("--account", metavar="NAME", help="the account to open (default: the first one)")
    parser.add_argument("--read-only", action="store_true", help="open mailboxes with EXAMINE: change nothing")
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
    args = build_parser().parse_args(argv)
    try:
        setup_logging()
    except OSError as error:
        print(f"tui-mail: cannot write the log file ({error}); continuing without it.", file=sys.stderr)
    if args.demo:
        from .demo import run_demo

        return run_demo(read_only=args.read_only)
    return run_account(args)


def run_account(args: argparse.Namespace) -> int:
    from .config import ConfigError, load_config
    from .secrets import SecretError, find_password

    try:
        config = load_config(args.config)
        account = config.account(args.account)
        # Before the TUI owns the terminal: a password command may ask for a passphrase.
        password = find_password(account)
    except (ConfigError, SecretError) as error:
        print(f"tui-mail: {error}", file=sys.stderr)
        return EXIT_CONFIG
    from .app import MailApp

    MailApp(account, password, read_only=args.read_only).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
