"""The viewer's MIME part tree: one line per part, the top entry the message itself."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ..models import MimePart
from ..safe_text import safe_line
from ..timefmt import human_size


class PartTree(Tree[MimePart | None]):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="parts.down"),
        Binding("k", "cursor_up", "Up", show=False, id="parts.up"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("Message"), id=id)
        self.show_root = True
        self.guide_depth = 2
        self.auto_expand = False  # Enter opens an attached message; Space folds a branch

    def process_label(self, label: str | Text) -> Text:
        return label if isinstance(label, Text) else Text(label)

    def show_parts(self, root: MimePart) -> None:
        self.clear()
        # The tree's root stands for "the message as a whole" (its default body).
        self.root.set_label(Text("Message ") + part_label(root))
        self.root.data = None
        for part in root.children or (root,):
            self._add(self.root, part)
        self.root.expand_all()
        self.move_cursor(self.root)

    def _add(self, parent: TreeNode[MimePart | None], part: MimePart) -> None:
        node = parent.add(part_label(part), data=part, expand=True, allow_expand=bool(part.children))
        for child in part.children:
            self._add(node, child)


def part_label(part: MimePart) -> Text:
    label = Text(safe_line(part.content_type, 80))
    if part.filename:
        label.append(" " + safe_line(part.filename, 60), style="italic")
    if part.charset:
        label.append(f" {safe_line(part.charset, 30)}", style="dim")
    if part.size:
        label.append(f" {human_size(part.size)}", style="dim")
    if part.note:
        label.append(" !", style="bold red")
    return label


def has_alternative(root: MimePart) -> bool:
    """Whether some multipart/alternative holds both a text/plain and a text/html version."""
    stack = [root]
    while stack:
        part = stack.pop()
        if part.content_type == "multipart/alternative":
            kinds = {child.content_type for child in part.children}
            if {"text/plain", "text/html"} <= kinds:
                return True
        stack.extend(part.children)
    return False
