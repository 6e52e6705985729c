"""The mailbox tree: hierarchy from LIST, special folders first, counts from STATUS."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ..models import SPECIAL_USES, Mailbox, MailboxStatus
from ..safe_text import safe_line



def sort_key(mailbox: Mailbox) -> tuple:
    """INBOX, then Sent, Drafts, Archive, Junk, Trash, then the rest by name."""
    if mailbox.name.upper() == "INBOX":
        return (0, 0, "")
    if mailbox.special_use in SPECIAL_USES:
        return (1, SPECIAL_USES.index(mailbox.special_use), mailbox.name.casefold())
    return (2, 0, mailbox.name.casefold())


@dataclass(frozen=True)
class TreeEntry:
    """What a tree node stands for: an account (mailbox None) or one of its mailboxes."""

    account: str
    mailbox: Mailbox | None


class MailboxTree(Tree[TreeEntry | None]):
    """One top-level node per account, its mailboxes below."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="tree.down"),
        Binding("k", "cursor_up", "Up", show=False, id="tree.up"),
        Binding("home,g", "scroll_home", "First", show=False, id="tree.first"),
        Binding("end,G", "scroll_end", "Last", show=False, id="tree.last"),
        Binding("a", "app.create_mailbox", "New mailbox", show=False, id="tree.create"),
        Binding("R", "app.rename_mailbox", "Rename", show=False, id="tree.rename"),
        Binding("D", "app.delete_mailbox", "Delete mailbox", show=False, id="tree.delete"),
        Binding("space", "app.toggle_subscription", "Subscribe", show=False, id="tree.subscribe"),
        Binding("L", "app.toggle_subscribed_only", "Subscribed only", show=False, id="tree.subscribed_only"),
        Binding("l", "app.filter_mailboxes", "Filter", show=False, id="tree.filter"),
        Binding("i", "app.mailbox_info", "Mailbox info", show=False, id="tree.info"),
        Binding("c", "app.jump_to_mailbox", "Go to mailbox", show=False, id="tree.jump"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("accounts"), id=id)
        self.show_root = False
        self.guide_depth = 2
        self._accounts: dict[str, TreeNode[TreeEntry | None]] = {}
        self._mailbox_nodes: dict[tuple[str, bytes], TreeNode[TreeEntry | None]] = {}
        self._status: dict[tuple[str, bytes], MailboxStatus] = {}
        self.subscribed_only = False  # L: hide what is not subscribed (INBOX always shows)

    def process_label(self, label: str | Text) -> Text:
        # Never parse a label as markup: mailbox names come from the server.
        text = label if isinstance(label, Text) else Text(label)
        return text.split()[0] if text.plain else text

    def add_account(self, account: str) -> None:
        node = self.root.add(Text(safe_line(account), style="bold"), data=TreeEntry(account, None), expand=True)
        self._accounts[account] = node
        self.root.expand()

    def show_account_problem(self, account: str, problem: str) -> None:
        label = Text(safe_line(account), style="bold")
        if problem:
            label.append(" ! " + safe_line(problem, 60), style="red")
        self._accounts[account].set_label(label)

    def show_mailboxes(self, account: str, mailboxes: tuple[Mailbox, ...]) -> None:
        account_node = self._accounts[account]
        account_node.remove_children()
        for key in [key for key in self._mailbox_nodes if key[0] == account]:
            del self._mailbox_nodes[key]
        by_path: dict[tuple[str, ...], TreeNode[TreeEntry | None]] = {}
        if self.subscribed_only:
            mailboxes = tuple(m for m in mailboxes if m.subscribed or m.name.upper() == "INBOX")
        top_level = sorted((m for m in mailboxes if len(m.parts) == 1), key=sort_key)
        nested = sorted((m for m in mailboxes if len(m.parts) > 1), key=lambda m: [p.casefold() for p in m.parts])
        for mailbox in [*top_level, *nested]:
            parent = account_node
            # A LIST answer may name "A/B" without "A": show "A" as a plain heading.
            for depth in range(1, len(mailbox.parts)):
                path = mailbox.parts[:depth]
                if path not in by_path:
                    heading = Text(safe_line(path[-1]), style="dim italic")
                    by_path[path] = parent.add(heading, data=TreeEntry(account, None), expand=True)
                parent = by_path[path]
            node = by_path.get(mailbox.parts)
            entry = TreeEntry(account, mailbox)
            if node is None:
                node = parent.add(self._label(account, mailbox), data=entry, expand=True, allow_expand=False)
                by_path[mailbox.parts] = node
            else:  # it was a placeholder heading; now we know the mailbox itself
                node.data = entry
                node.set_label(self._label(account, mailbox))
            self._mailbox_nodes[(account, mailbox.raw_name)] = node
        for node in by_path.values():
            node.allow_expand = bool(node.children)
        account_node.expand()

    def show_status(self, account: str, status: MailboxStatus) -> None:
        self._status[(account, status.raw_name)] = status
        node = self._mailbox_nodes.get((account, status.raw_name))
        if node is not None and node.data is not None and node.data.mailbox is not None:
            node.set_label(self._label(account, node.data.mailbox))

    def status_of(self, account: str, raw_name: bytes) -> MailboxStatus | None:
        return self._status.get((account, raw_name))

    @property
    def current_entry(self) -> TreeEntry | None:
        node = self.cursor_node
        return node.data if node is not None and isinstance(node.data, TreeEntry) else None

    def select_mailbox_node(self, account: str, raw_name: bytes) -> None:
        node = self._mailbox_nodes.get((account, raw_name))
        if node is not None:
            # The tree lays out its lines on the next refresh; move once they exist.
            self.call_after_refresh(self.move_cursor, node)

    def _label(self, account: str, mailbox: Mailbox) -> Text:
        leaf = mailbox.parts[-1]
        label = Text()
        if not mailbox.selectable:
            label.append(safe_line(leaf), style="dim italic")
            return label
        label.append(safe_line(leaf), style="" if mailbox.subscribed or leaf.upper() == "INBOX" else "dim")
        if mailbox.role_note:
            label.append(f" ({mailbox.role_note})", style="dim")
        status = self._status.get((account, mailbox.raw_name))
        if status is not None:
            if status.unseen:
                label.append(f" {status.unseen}", style="bold")
                label.append(f"/{status.messages}", style="dim")
            else:
                label.append(f" {status.messages}", style="dim")
        return label
