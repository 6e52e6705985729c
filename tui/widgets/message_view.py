"""The message viewer: headers, the body, and the MIME part tree beside it.

Parsing runs in a thread worker: a hostile or huge message must not freeze the
screen, and a parser failure degrades this one message only.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Static, TextArea, Tree
from textual.widgets.tree import TreeNode

from .. import mime
from ..models import MessageRef, MimePart
from ..safe_text import safe_block, safe_line
from ..timefmt import human_size

HEADER_FIELDS = (("From", "from_"), ("To", "to"), ("Cc", "cc"), ("Date", "date"), ("Subject", "subject"))


class BodyView(TextArea):
    """Read-only text; TextArea never parses its content as markup."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="viewer.down"),
        Binding("k", "cursor_up", "Up", show=False, id="viewer.up"),
        Binding("g", "cursor_document_start", "Top", show=False, id="viewer.top"),
        Binding("G", "cursor_document_end", "Bottom", show=False, id="viewer.bottom"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", read_only=True, soft_wrap=True, show_line_numbers=False, id=id)
        self.show_cursor = False

    def show_text(self, text: str) -> None:
        self.load_text(safe_block(text))
        self.scroll_home(animate=False, immediate=True)
        self.move_cursor((0, 0))


class PartTree(Tree[MimePart | None]):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="parts.down"),
        Binding("k", "cursor_up", "Up", show=False, id="parts.up"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("Message"), id=id)
        self.show_root = True
        self.guide_depth = 2

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


class MessageView(Vertical):
    """Shows one message; the app hands it raw bytes fetched with BODY.PEEK."""

    class Closed(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ref: MessageRef | None = None
        self.raw: bytes = b""
        self.parsed: mime.ParsedMessage | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="headers")
        with Horizontal(id="viewer-body"):
            yield BodyView(id="body")
            yield PartTree(id="parts")

    def show_loading(self, ref: MessageRef) -> None:
        self.ref = ref
        self.parsed = None
        self.query_one("#headers", Static).update(Text("Loading message…", style="dim"))
        self.query_one(BodyView).show_text("")
        self.query_one(PartTree).clear()

    def show_message(self, ref: MessageRef, raw: bytes, truncated: bool) -> None:
        self.ref = ref
        self.raw = raw
        self._parse(ref, raw, truncated)

    def show_error(self, message: str) -> None:
        self.query_one("#headers", Static).update(Text(safe_line(message), style="bold red"))

    @work(thread=True, exclusive=True, group="parse")
    def _parse(self, ref: MessageRef, raw: bytes, truncated: bool) -> None:
        parsed = mime.parse_message(raw)
        self.app.call_from_thread(self._show_parsed, ref, parsed, truncated)

    def _show_parsed(self, ref: MessageRef, parsed: mime.ParsedMessage, truncated: bool) -> None:
        if ref != self.ref:
            return  # the user has moved on to another message
        self.parsed = parsed
        headers = Text()
        for label, attribute in HEADER_FIELDS:
            value = getattr(parsed, attribute)
            if value or label in ("From", "Subject"):
                headers.append(f"{label}: ", style="bold")
                headers.append(safe_line(value, 2000) + "\n")
        notes = list(parsed.notes)
        if truncated:
            notes.append("message cut off: only the first 20 MB were fetched")
        for note in notes:
            headers.append(f"! {safe_line(note)}\n", style="yellow")
        headers.rstrip()
        self.query_one("#headers", Static).update(headers)
        self.query_one(BodyView).show_text(parsed.body)
        self.query_one(PartTree).show_parts(parsed.root)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        event.stop()
        self._show_part(event.node.data)

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        event.stop()
        self._show_part(event.node.data)

    def _show_part(self, part: MimePart | None) -> None:
        if self.parsed is None or self.ref is None:
            return
        if part is None:
            self.query_one(BodyView).show_text(self.parsed.body)
        else:
            self._render_part(self.ref, self.raw, part.path)

    @work(thread=True, exclusive=True, group="part")
    def _render_part(self, ref: MessageRef, raw: bytes, path: str) -> None:
        text = mime.part_text(raw, path)
        self.app.call_from_thread(self._show_part_text, ref, text)

    def _show_part_text(self, ref: MessageRef, text: str) -> None:
        if ref == self.ref:
            self.query_one(BodyView).show_text(text)
