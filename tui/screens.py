"""Modal screens: the key help and the password prompt."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from .keys import KEYS, SEARCH_TERMS
from .models import SelectedMailbox
from .safe_text import safe_line


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
    ]

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True, padding=(0, 2, 0, 0))
        table.add_column("where", style="dim")
        table.add_column("keys", style="bold")
        table.add_column("what")
        for where, keys, what in KEYS:
            table.add_row(Text(where), Text(keys), Text(what))
        terms = Table(box=None, show_header=True, header_style="bold", expand=True, padding=(0, 2, 0, 0))
        terms.add_column("search term", style="bold")
        terms.add_column("finds")
        terms.add_column("IMAP", style="dim")
        for term, what, imap in SEARCH_TERMS:
            terms.add_row(Text(term), Text(what), Text(imap))
        with VerticalScroll(id="help-box"):
            yield Static(Text("tui-mail keys", style="bold"), id="help-title")
            yield Static(table)
            yield Static(Text("\nSearch (/): terms side by side must all match; quote values with spaces, "
                              'e.g. subject:"q3 report"', style="bold"))
            yield Static(terms)
            yield Static(Text("Esc, q or ? closes this screen.", style="dim"))


class MailboxInfoScreen(ModalScreen[None]):
    """`i`: what SELECT told us about the open mailbox, and what the server can do."""

    BINDINGS = [Binding("escape,q,i", "dismiss", "Close", id="info.close")]

    def __init__(self, name: str, selected: SelectedMailbox, capabilities: frozenset[str]) -> None:
        super().__init__()
        self._name = name
        self._selected = selected
        self._capabilities = capabilities

    def compose(self) -> ComposeResult:
        sel = self._selected
        rows = [
            ("FLAGS", " ".join(sorted(sel.flags))),
            ("PERMANENTFLAGS", " ".join(sorted(sel.permanent_flags))),
            ("EXISTS", str(sel.exists)),
            ("RECENT", str(sel.recent)),
            ("UNSEEN", str(sel.unseen)),
            ("UIDNEXT", "" if sel.uidnext is None else str(sel.uidnext)),
            ("UIDVALIDITY", str(sel.uidvalidity)),
            ("HIGHESTMODSEQ", "" if sel.highestmodseq is None else str(sel.highestmodseq)),
            ("opened", "read-only (EXAMINE)" if sel.read_only else "read-write (SELECT)"),
            ("capabilities", " ".join(sorted(self._capabilities))),
        ]
        table = Table(box=None, show_header=False, expand=True, padding=(0, 2, 0, 0))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for key, value in rows:
            if value:  # HIGHESTMODSEQ and UIDNEXT only when the server sent them
                table.add_row(Text(key), Text(safe_line(value, 4000)))
        with VerticalScroll(id="info-box"):
            yield Static(Text(safe_line(self._name), style="bold"), id="info-title")
            yield Static(table)
            yield Static(Text("Esc, q or i closes this screen.", style="dim"))


class PasswordScreen(ModalScreen[str | None]):
    """Asks for a password; the answer lives in memory for this session only."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="password.cancel")]

    def __init__(self, account: str, username: str, host: str) -> None:
        super().__init__()
        self._prompt = f"Password for {username} on {host} (account {account}):"

    def compose(self) -> ComposeResult:
        with Vertical(id="password-box"):
            yield Label(Text(safe_line(self._prompt)))
            yield Input(password=True, id="password")
            yield Label(Text("Enter to connect, Esc to quit. Nothing is written to disk.", style="dim"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
