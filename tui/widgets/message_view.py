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
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from .. import mime
from ..imap.contract import MessageOutline
from ..imap.parts import TEXT_CHUNK
from ..imap.structure import choose_body, content_section
from ..models import MessageRef, MimePart
from ..part_display import is_shown_as_text, more_note, part_description, range_text
from ..safe_text import safe_line
from .body_view import BodyView
from ..timefmt import human_size

SOURCE = ""  # the section of the whole message: its source, when H shows it
HEADER_FIELDS = (("From", "from_"), ("To", "to"), ("Cc", "cc"), ("Date", "date"), ("Subject", "subject"))


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


class _ShownText:
    """A text part of a big message: the encoded bytes fetched so far, from offset 0."""

    def __init__(self, part: MimePart, section: str) -> None:
        self.part = part
        self.section = section
        self.data = bytearray()
        self.complete = False
        self.asked = False  # a range is on its way


class MessageView(Vertical):
    """Shows one message. The app hands it the whole message (fetched with BODY.PEEK),
    or for a big one its outline and header; then the view asks for the text it shows,
    range by range (PartWanted)."""

    BINDINGS = [
        Binding("S", "save", "Save part", id="viewer.save"),
        Binding("L", "more", "Load more", id="viewer.more"),
        Binding("H", "source", "Source", id="viewer.source"),
    ]

    class Closed(Message):
        pass

    class PartWanted(Message):
        """The next range of a big message's text part is needed."""

        def __init__(self, ref: MessageRef, section: str, offset: int) -> None:
            super().__init__()
            self.ref, self.section, self.offset = ref, section, offset

    class SaveWanted(Message):
        """The user asked to save a part; None is the whole message."""

        def __init__(self, ref: MessageRef, part: MimePart | None) -> None:
            super().__init__()
            self.ref, self.part = ref, part

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ref: MessageRef | None = None
        self.raw: bytes = b""
        self.truncated = False
        self.parsed: mime.ParsedMessage | None = None
        self.outline: MessageOutline | None = None
        self._texts: dict[str, _ShownText] = {}  # a big message's text parts, by section
        self._shown: _ShownText | None = None
        self.showing_source = False

    def compose(self) -> ComposeResult:
        yield Static(id="headers")
        with Horizontal(id="viewer-body"):
            yield BodyView(id="body")
            yield PartTree(id="parts")

    def show_loading(self, ref: MessageRef) -> None:
        self.ref = ref
        self.parsed = self.outline = self._shown = None
        self._texts = {}
        self.showing_source = False
        self.query_one("#headers", Static).update(Text("Loading message…", style="dim"))
        self.query_one(BodyView).show_text("")
        self.query_one(PartTree).clear()

    def show_message(self, ref: MessageRef, raw: bytes, truncated: bool, outline: MessageOutline | None = None) -> None:
        self.ref = ref
        self.raw = raw
        self.truncated = truncated
        self.outline = outline
        self._texts = {}
        self._shown = None
        self.showing_source = False
        body = choose_body(outline.root) if outline is not None else None
        if body is not None and is_shown_as_text(body):
            self._text_state(body).asked = True  # its first range comes with the outline
        self._parse(ref, raw, truncated, outline)

    def show_error(self, message: str) -> None:
        self.query_one("#headers", Static).update(Text(safe_line(message), style="bold red"))

    @work(thread=True, exclusive=True, group="parse")
    def _parse(self, ref: MessageRef, raw: bytes, truncated: bool, outline: MessageOutline | None) -> None:
        parsed = mime.parse_message(raw)
        self.app.call_from_thread(self._show_parsed, ref, parsed, truncated, outline)

    def _show_parsed(
        self, ref: MessageRef, parsed: mime.ParsedMessage, truncated: bool, outline: MessageOutline | None
    ) -> None:
        if ref != self.ref:
            return  # the user has moved on to another message
        self.parsed = parsed
        headers = Text()
        for label, attribute in HEADER_FIELDS:
            value = getattr(parsed, attribute)
            if value or label in ("From", "Subject"):
                headers.append(f"{label}: ", style="bold")
                headers.append(safe_line(value, 2000) + "\n")
        notes = list(outline.notes) if outline is not None else list(parsed.notes)
        if truncated:
            notes.append("message cut off: only the first 20 MB were fetched")
        for note in notes:
            headers.append(f"! {safe_line(note)}\n", style="yellow")
        headers.rstrip()
        self.query_one("#headers", Static).update(headers)
        if outline is None:
            self.query_one(BodyView).show_text(parsed.body)
            self.query_one(PartTree).show_parts(parsed.root)
            self.refresh_bindings()
            return
        self.query_one(PartTree).show_parts(outline.root)
        self._show_outline_part(None)
        self.refresh_bindings()  # S, and L once a range is in

    # -- a big message, part by part ---------------------------------------------

    def _text_state(self, part: MimePart) -> _ShownText:
        assert self.outline is not None
        section = content_section(self.outline.root, part)
        if section not in self._texts:
            self._texts[section] = _ShownText(part, section)
        return self._texts[section]

    def _show_outline_part(self, part: MimePart | None) -> None:
        assert self.outline is not None and self.ref is not None
        if part is None:
            part = choose_body(self.outline.root)
            if part is None:
                self._shown = None
                self.query_one(BodyView).show_text("(this message has no text part; pick a part to save it)")
                return
        if not is_shown_as_text(part):
            self._shown = None
            self.query_one(BodyView).show_text(part_description(part))
            return
        state = self._shown = self._text_state(part)
        if state.data or state.complete:
            self._render_range(self.ref, state, keep_place=False)
            return
        self.query_one(BodyView).show_text("Loading text…")
        self._ask_more(state)

    def _ask_more(self, state: _ShownText) -> None:
        if state.asked or state.complete or self.ref is None:
            return
        state.asked = True
        self.post_message(self.PartWanted(self.ref, state.section, len(state.data)))

    def show_range(self, ref: MessageRef, section: str, offset: int, data: bytes) -> None:
        """A range the view asked for (or the first of the body, sent with the outline)."""
        if ref != self.ref or self.outline is None:
            return
        state = self._texts.get(section)
        if state is None:
            return
        if offset != len(state.data):
            return  # a stale answer: the view has moved past it
        state.asked = False
        state.data += data
        state.complete = len(data) < TEXT_CHUNK
        if self._shown is state or (self._shown is None and self._showing_body()):
            self._shown = state
            self._render_range(ref, state, keep_place=offset > 0)

    def range_failed(self, ref: MessageRef, section: str, message: str) -> None:
        if ref != self.ref:
            return  # about a message no longer shown
        state = self._texts.get(section)
        if state is None:
            return
        state.asked = False  # L asks again
        if self._shown is state:
            self.query_one(BodyView).show_text(f"This part could not be fetched: {message}")
            self.refresh_bindings()

    def message_failed(self, message: str) -> None:
        """The message request failed: before its outline came, or while fetching its
        first range, which is then not awaited any more."""
        if self.outline is None or self.ref is None:
            self.show_error(message)
            return
        for state in self._texts.values():
            if state.asked and not state.data:
                self.range_failed(self.ref, state.section, message)

    def _showing_body(self) -> bool:
        tree = self.query_one(PartTree)
        return tree.cursor_node is None or tree.cursor_node.data is None

    def _render_range(self, ref: MessageRef, state: _ShownText, keep_place: bool) -> None:
        # What to render is taken here, on the UI thread: more may arrive meanwhile.
        self._render_range_in_thread(ref, state, bytes(state.data), state.complete, keep_place)

    @work(thread=True, exclusive=True, group="part")
    def _render_range_in_thread(
        self, ref: MessageRef, state: _ShownText, data: bytes, complete: bool, keep_place: bool
    ) -> None:
        text, note = range_text(state.part, data, complete)
        if note:
            text = f"[{note}]\n\n{text}"
        if not complete:
            text += "\n\n" + more_note(len(data), state.part)
        self.app.call_from_thread(self._show_range_text, ref, state, len(data), text, keep_place)

    def _show_range_text(self, ref: MessageRef, state: _ShownText, length: int, text: str, keep_place: bool) -> None:
        # A thread cannot be stopped: an older, slower render may finish after a newer one.
        if ref == self.ref and self._shown is state and length == len(state.data):
            self.query_one(BodyView).show_text(text, keep_place=keep_place)
            self.refresh_bindings()

    # -- keys and the part tree --------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "more":
            return self._shown is not None and not self._shown.complete
        if action in ("save", "source"):
            return self.parsed is not None
        return True

    def action_source(self) -> None:
        """H: the message's source, as the server holds it; H again goes back."""
        if self.ref is None or self.parsed is None:
            return
        if self.showing_source:
            self.showing_source = False
            node = self.query_one(PartTree).cursor_node
            self._show_part(node.data if node is not None else None)
            return
        self.showing_source = True
        if self.outline is None:
            self._shown = None
            self.query_one(BodyView).show_text(self.raw.decode("utf-8", "replace"))
            self.refresh_bindings()
            return
        # A big message's source comes by ranges like its text: BODY.PEEK[]<0.262144>.
        if SOURCE not in self._texts:
            whole = MimePart("", "text/plain", None, "utf-8", self.outline.size, 0, octets=self.outline.size)
            self._texts[SOURCE] = _ShownText(whole, SOURCE)
        state = self._shown = self._texts[SOURCE]
        if state.data or state.complete:
            self._render_range(self.ref, state, keep_place=False)
        else:
            self.query_one(BodyView).show_text("Loading the source…")
            self._ask_more(state)

    def action_more(self) -> None:
        if self._shown is not None:
            self._ask_more(self._shown)

    def action_save(self) -> None:
        if self.ref is None or self.parsed is None:
            return
        node = self.query_one(PartTree).cursor_node
        self.post_message(self.SaveWanted(self.ref, node.data if node is not None else None))

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        event.stop()
        self._show_part(event.node.data)
        self.refresh_bindings()

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        event.stop()
        self._show_part(event.node.data)

    def _show_part(self, part: MimePart | None) -> None:
        if self.parsed is None or self.ref is None:
            return
        self.showing_source = False
        if self.outline is not None:
            self._show_outline_part(part)
        elif part is None:
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
