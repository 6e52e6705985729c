"""`tui-mail --demo`: pymap on loopback, filled with the generated demo mailbox.

The same `demo_account()` feeds the tests and the screenshot script, so what a
new user sees is what the snapshots check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imapclient import IMAPClient

from .config import Account
from .demo_data import generate_demo, load_demo
from .demo_server import PymapServer


@contextmanager
def demo_account(inbox_size: int = 320) -> Iterator[tuple[Account, str]]:
    """A running, filled demo server, as an account and its password; stopped on exit."""
    with PymapServer() as server:
        client = IMAPClient(server.host, port=server.port, ssl=False, timeout=30)
        try:
            client.login(server.username, server.password)
            load_demo(client, generate_demo(inbox_size=inbox_size))
        finally:
            client.logout()
        account = Account(name="demo", host=server.host, port=server.port, tls="none", username=server.username)
        yield account, server.password


def run_demo(read_only: bool = False, debug_imap: Path | None = None) -> int:
    from .app import MailApp
    from .gc_tuning import tune_gc
    from .widgets.image_view import probe_terminal_graphics

    with demo_account() as (account, password):
        app = MailApp(account, password, read_only=read_only, debug_imap=debug_imap)
        tune_gc()
        probe_terminal_graphics()  # before Textual reads the terminal: see tui.widgets.image_view
        app.run()
    return 0
