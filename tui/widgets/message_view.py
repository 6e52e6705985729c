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

from .. import mime
from ..header_block import header_block
from ..image_decode import IMAGE_TYPES
from ..imap.contract import MessageOutline
from ..imap.parts import TEXT_CHUNK
from ..imap.structure import choose_body
from ..models import MessageRef, MimePart
from ..part_display import is_shown_as_text, part_description
from ..safe_text import safe_line
from .big_message import SOURCE, BigMessageParts, ShownText
from .body_view import BodyView
from .image_view import ImageView
from .inner_parts import ATTACHED_TYPES, Frame, InnerParts
from .part_tree import PartTree, has_alternative

__all__ = ["BodyView", "MessageView", "PartTree"]

RULE = "─" * 40  # under what the viewer puts above a message's text
HEADER_FIELDS = (("From", "from_"), ("To", "to"), ("Cc", "cc"), ("Date", "date"), ("Subject", "subject"))


class MessageView(BigMessageParts, InnerParts, Vertical):
    """Shows one message. The app hands it the whole message (fetched with BODY.PEEK),
    or for a big one its outline and header; then the view asks for the text it shows,
    range by range (PartWanted)."""

    BINDINGS = [
        Binding("S", "save", "Save part", id="viewer.save"),
        Binding("o", "open_part", "Open", id="viewer.open"),
        Binding("L", "more", "Load more", id="viewer.more"),
        Binding("h", "all_headers", "Headers", id="viewer.headers"),
        Binding("H", "source", "Source", id="viewer.source"),
        Binding("v", "flip_alternative", "HTML/plain", id="viewer.alternative"),
        Binding("left_square_bracket", "thread_step(-1)", "Previous in thread", show=False, id="viewer.thread_previous"),
        Binding("right_square_bracket", "thread_step(1)", "Next in thread", show=False, id="viewer.thread_next"),
    ]

    class Closed(Message):
        pass

    class PartWanted(Message):
        """The next range of a big message's text part is needed (or its attached message)."""

        def __init__(self, ref: MessageRef, section: str, offset: int, length: int = TEXT_CHUNK) -> None:
            super().__init__()
            self.ref, self.section, self.offset, self.length = ref, section, offset, length

    class SaveWanted(Message):
        """The user asked to save a part; None is the whole message."""

        def __init__(self, ref: MessageRef, part: MimePart | None) -> None:
            super().__init__()
            self.ref, self.part = ref, part

    class OpenWanted(Message):
        """o: open this part with the program mailcap or xdg-open chooses."""

        def __init__(self, ref: MessageRef, part: MimePart) -> None:
            super().__init__()
            self.ref, self.part = ref, part

    class ThreadStepWanted(Message):
        """[ or ]: the message before (-1) or after (+1) this one in its thread."""

        def __init__(self, ref: MessageRef, step: int) -> None:
            super().__init__()
            self.ref, self.step = ref, step

    class AlternativeFlipped(Message):
        """v: the user now prefers the HTML (or the plain) version of multipart/alternative."""

        def __init__(self, prefer_html: bool) -> None:
            super().__init__()
            self.prefer_html = prefer_html

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.all_headers = False  # h: every header field above the body; stays on from message to message
        self.prefer_html = False  # the account's choice for multipart/alternative (the app sets it)
        self._outer: list[Frame] = []  # attached messages opened inside this one
        self._attached_wanted: MimePart | None = None  # a big message's attached message on its way
        self._image_wanted: MimePart | None = None  # a big message's image part on its way
        self._image_token = 0  # which Enter on an image the image pane may show
        self._summary_wanted: MimePart | None = None  # a big message's report or calendar part on its way
        self._summary = ""  # what that part says, in words
        self.ref: MessageRef | None = None
        self.raw: bytes = b""
        self.truncated = False
        self.parsed: mime.ParsedMessage | None = None
        self.outline: MessageOutline | None = None
        self._texts: dict[str, ShownText] = {}  # a big message's text parts, by section
        self._shown: ShownText | None = None
        self.showing_source = False

    def compose(self) -> ComposeResult:
        yield Static(id="headers")
        with Horizontal(id="viewer-body"):
            yield BodyView(id="body")
            yield ImageView(id="image")
            yield PartTree(id="parts")

    def on_mount(self) -> None:
        self.query_one(ImageView).display = False

    def show_loading(self, ref: MessageRef) -> None:
        self._hide_image()
        self.ref = ref
        self.parsed = self.outline = self._shown = None
        self._texts = {}
        self._outer = []
        self._attached_wanted = None
        self._summary, self._summary_wanted = "", None
        self.showing_source = False
        self.query_one("#headers", Static).update(Text("Loading message…", style="dim"))
        self.query_one(BodyView).show_text("")
        self.query_one(PartTree).clear()

    def show_message(self, ref: MessageRef, raw: bytes, truncated: bool, outline: MessageOutline | None = None) -> None:
        self._outer = []
        self._attached_wanted = None
        self._show(ref, raw, truncated, outline)

    def _show(self, ref: MessageRef, raw: bytes, truncated: bool, outline: MessageOutline | None) -> None:
        self._hide_image()
        self._summary, self._summary_wanted = "", None
        self.ref = ref
        self.raw = raw
        self.truncated = truncated
        self.outline = outline
        self._texts = {}
        self._shown = None
        self.showing_source = False
        # Nothing of the message shown before may be acted on (S, o) while this one parses.
        self.parsed = None
        self.query_one(PartTree).clear()
        self.query_one(BodyView).show_text("Loading…")
        # The worker sends the first range of the body it picks, the plain one: with the
        # HTML preferred, that range is not the one shown, and the HTML is asked for.
        body = choose_body(outline.root) if outline is not None else None
        if body is not None and is_shown_as_text(body) and body is choose_body(outline.root, prefer_html=self.prefer_html):
            self._text_state(body).asked = True  # its first range comes with the outline
        self._parse(ref, raw, truncated, outline, self.prefer_html)

    @property
    def nested(self) -> bool:
        """An attached message is shown, opened inside the message the ref names."""
        return bool(self._outer)

    def show_error(self, message: str) -> None:
        self.query_one("#headers", Static).update(Text(safe_line(message), style="bold red"))

    @work(thread=True, exclusive=True, group="parse")
    def _parse(self, ref: MessageRef, raw: bytes, truncated: bool, outline: MessageOutline | None,
               prefer_html: bool) -> None:
        parsed = mime.parse_message(raw, prefer_html=prefer_html)
        self.app.call_from_thread(self._show_parsed, ref, raw, parsed, truncated, outline, prefer_html)

    def _show_parsed(
        self, ref: MessageRef, raw: bytes, parsed: mime.ParsedMessage, truncated: bool, outline: MessageOutline | None,
        prefer_html: bool | None = None,
    ) -> None:
        if ref != self.ref or raw is not self.raw:
            return  # the user has moved on to another message (or into an attached one)
        if prefer_html is not None and prefer_html != self.prefer_html:
            return  # v pressed again meanwhile: a newer parse is coming
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
        if self._outer:
            headers.append(f"\n(an attached message, {len(self._outer)} deep: Esc goes back)", style="dim")
        self.query_one("#headers", Static).update(headers)
        if outline is None:
            self.query_one(PartTree).show_parts(parsed.root)
            self._put_body(parsed.body)
            self.refresh_bindings()
            return
        self.query_one(PartTree).show_parts(outline.root)
        self._show_outline_part(None)
        self._ask_summary()
        self.refresh_bindings()  # S, and L once a range is in

    # -- keys and the part tree --------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "more":
            return self._shown is not None and not self._shown.complete
        if action in ("save", "source", "all_headers", "thread_step"):
            return self.parsed is not None
        if action == "open_part":
            return self._picked_leaf() is not None
        if action == "flip_alternative":
            root = self.outline.root if self.outline is not None else self.parsed.root if self.parsed else None
            return root is not None and has_alternative(root)
        return True

    def _put_body(self, text: str, *, keep_place: bool = False) -> None:
        """The message's own text (the top entry of the tree, not a part picked in it):
        after every header field when h is on, and a bounce's or an invitation's summary."""
        top = []
        if self.all_headers:
            top.append(header_block(self.raw) + "\n" + RULE)
        summary = self._summary or getattr(self.parsed, "summary", "")
        if summary:
            top.append(summary + "\n" + RULE)
        self.query_one(BodyView).show_text("\n\n".join([*top, text]), keep_place=keep_place)

    def action_all_headers(self) -> None:
        """h: every header field, as mutt's h; it stays on for the next messages, like Thunderbird's."""
        self.all_headers = not self.all_headers
        tree = self.query_one(PartTree)
        if tree.cursor_node is not None and tree.cursor_node is not tree.root:
            tree.move_cursor(tree.root)  # the headers belong to the message: show it
        else:
            self._show_part(None)

    def action_flip_alternative(self) -> None:
        """v: the other version of multipart/alternative (HTML or plain), for this account from now on."""
        if self.ref is None or self.parsed is None:
            return
        self.prefer_html = not self.prefer_html
        self.post_message(self.AlternativeFlipped(self.prefer_html))
        self.notify("Showing the HTML version when there is one." if self.prefer_html
                    else "Showing the plain text version when there is one.", timeout=3)
        tree = self.query_one(PartTree)
        if self.outline is None:
            self._parse(self.ref, self.raw, self.truncated, None, self.prefer_html)
        elif tree.cursor_node is not None and tree.cursor_node is not tree.root:
            tree.move_cursor(tree.root)
        else:
            self._show_part(None)

    def _picked_leaf(self) -> MimePart | None:
        """The part picked in the tree, if it is one that can be opened (not a container)."""
        if self.parsed is None:
            return None
        node = self.query_one(PartTree).cursor_node
        part = node.data if node is not None else None
        return part if part is not None and not part.children else None

    def action_open_part(self) -> None:
        part = self._picked_leaf()
        if part is not None and self.ref is not None:
            self.post_message(self.OpenWanted(self.ref, part))

    def action_thread_step(self, step: int) -> None:
        if self.ref is not None:
            self.post_message(self.ThreadStepWanted(self.ref, step))

    def action_source(self) -> None:
        """H: the message's source, as the server holds it; H again goes back."""
        if self.ref is None or self.parsed is None:
            return
        if self.showing_source:
            self.showing_source = False
            node = self.query_one(PartTree).cursor_node
            self._show_part(node.data if node is not None else None)
            return
        self._hide_image()
        self._attached_wanted = None
        self.showing_source = True
        if self.outline is None:
            self._shown = None
            self.query_one(BodyView).show_text(self.raw.decode("utf-8", "replace"))
            self.refresh_bindings()
            return
        # A big message's source comes by ranges like its text: BODY.PEEK[]<0.262144>.
        if SOURCE not in self._texts:
            whole = MimePart("", "text/plain", None, "utf-8", self.outline.size, 0, octets=self.outline.size)
            self._texts[SOURCE] = ShownText(whole, SOURCE)
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
        part = event.node.data
        if part is not None and part.content_type in ATTACHED_TYPES:
            self.open_attached(part)
            return
        if part is not None and part.content_type in IMAGE_TYPES and not part.children:
            self.open_image(part)
            return
        self._show_part(part)

    def _show_part(self, part: MimePart | None) -> None:
        if self.parsed is None or self.ref is None:
            return
        self._hide_image()
        self._attached_wanted = None  # the user has moved on: it is not opened when it comes
        self.showing_source = False
        if part is not None and part.content_type in IMAGE_TYPES and not part.children:
            self.query_one(BodyView).show_text(part_description(part) + "\nEnter shows the image here.")
        elif self.outline is not None:
            self._show_outline_part(part)
        elif part is None:
            self._put_body(self.parsed.body)
        else:
            self._render_part(self.ref, self.raw, part.path)

    @work(thread=True, exclusive=True, group="part")
    def _render_part(self, ref: MessageRef, raw: bytes, path: str) -> None:
        text = mime.part_text(raw, path)
        self.app.call_from_thread(self._show_part_text, ref, raw, path, text)

    def _show_part_text(self, ref: MessageRef, raw: bytes, path: str, text: str) -> None:
        # A thread cannot be stopped: a slow render must not land on another part.
        node = self.query_one(PartTree).cursor_node
        picked = node.data if node is not None else None
        if ref == self.ref and raw is self.raw and picked is not None and picked.path == path and not self.showing_source:
            self.query_one(BodyView).show_text(text)

