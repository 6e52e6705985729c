"""The protocol log screen: the server's capabilities and the latest IMAP commands with their latency.

Everything here came from a server (capabilities, status words, response texts): it is
made inert with `safe_line` and shown as `rich.text.Text`, never parsed as markup.
"""

from __future__ import annotations

import time
from collections import deque

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ..imap.trace import CommandTiming, ProtocolTrace
from ..safe_text import safe_line

MAX_ROWS = 300
_STATUS_STYLE = {"OK": "green", "NO": "yellow", "BAD": "bold red"}


class ProtocolLogScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    ProtocolLogScreen { align: center middle; }
    #protocol-box {
        width: 95%; height: 90%; padding: 0 1;
        border: round $accent; background: $surface;
    }
    #protocol-title { text-style: bold; }
    #protocol-caps { height: auto; max-height: 5; margin-bottom: 1; }
    #protocol-table { height: 1fr; }
    #protocol-hint { color: $text-muted; }
    """

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="protocol_log.close")]

    def __init__(self, trace: ProtocolTrace, capabilities: frozenset[str]) -> None:
        super().__init__()
        self._trace = trace
        self._capabilities = capabilities
        self._last: CommandTiming | None = None  # newest timing already in the table
        self._keys: deque[str] = deque()
        self._next_key = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="protocol-box"):
            yield Static(Text("IMAP protocol log"), id="protocol-title")
            yield Static(self._capabilities_text(), id="protocol-caps")
            yield DataTable(id="protocol-table", cursor_type="row", zebra_stripes=True)
            yield Static(
                Text("Newest at the bottom, refreshed every second. Esc or q closes."), id="protocol-hint"
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("time", "tag", "command", "ms", "status", "response"):
            table.add_column(Text(label, justify="right" if label == "ms" else "left"), key=label)
        self.refresh_rows()
        self.set_interval(1.0, self.refresh_rows)

    def _capabilities_text(self) -> Text:
        text = Text("Capabilities: ", style="bold")
        names = sorted(safe_line(name, 100) for name in self._capabilities)
        text.append(" ".join(names) if names else "(not known yet)")
        return text

    def refresh_rows(self) -> None:
        """Append the commands finished since the last refresh (from `trace.snapshot()`)."""
        _, timings = self._trace.snapshot()
        new = timings
        if self._last is not None:
            # Timings are shared frozen objects: find the newest one we showed.
            for index in range(len(timings) - 1, -1, -1):
                if timings[index] is self._last:
                    new = timings[index + 1 :]
                    break
        if not new:
            return
        table = self.query_one(DataTable)
        follow = table.row_count == 0 or table.cursor_row >= table.row_count - 1
        for timing in new[-MAX_ROWS:]:
            key = str(self._next_key)
            self._next_key += 1
            self._keys.append(key)
            table.add_row(*_cells(timing), key=key)
        while len(self._keys) > MAX_ROWS:
            table.remove_row(self._keys.popleft())
        self._last = timings[-1]
        if follow:
            table.move_cursor(row=table.row_count - 1, animate=False)
            table.scroll_end(animate=False, immediate=True)


def _cells(timing: CommandTiming) -> tuple[Text, ...]:
    started = time.localtime(timing.started)
    millis = int(timing.started * 1000) % 1000
    status = safe_line(timing.status, 10)
    return (
        Text(time.strftime("%H:%M:%S", started) + f".{millis:03d}", style="dim"),
        Text(safe_line(timing.tag, 20)),
        Text(safe_line(timing.command, 40), style="bold"),
        Text(f"{timing.seconds * 1000:,.1f}", justify="right"),
        Text(status, style=_STATUS_STYLE.get(status, "bold red")),
        Text(safe_line(timing.response, 200)),
    )
