"""The key table shown in the `?` screen (the README carries the same table)."""

KEYS: tuple[tuple[str, str, str], ...] = (
    # (where, keys, what)
    ("everywhere", "Tab / Shift+Tab", "next / previous pane"),
    ("everywhere", "?", "this help"),
    ("everywhere", "Ctrl+P", "command palette: every action by name"),
    ("everywhere", "P", "protocol log: recent IMAP commands, latency, capabilities"),
    ("everywhere", "q", "quit"),
    ("mailboxes", "Up/Down, j/k", "move"),
    ("mailboxes", "Enter", "open the mailbox"),
    ("messages", "Up/Down, j/k", "move"),
    ("messages", "PgUp / PgDn", "page up / down"),
    ("messages", "Home/End, g/G", "first / last message"),
    ("messages", "Enter", "open the message"),
    ("messages", "N / F / A", "toggle read, flagged, answered (on the tagged messages, else this one)"),
    ("messages", "d / u", "mark deleted / undelete (deleted rows are struck through)"),
    ("messages", "t / T", "tag this message and move on / tag all, or untag all"),
    ("messages", "i", "mailbox info: FLAGS, UIDVALIDITY, UIDNEXT..., capabilities"),
    ("viewer", "Up/Down, j/k", "scroll the text"),
    ("viewer", "parts pane", "pick a MIME part to show it; the top entry is the whole message"),
    ("viewer", "Esc", "close the viewer"),
)
