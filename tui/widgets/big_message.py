"""A big message in the viewer, part by part: its outline came first (BODYSTRUCTURE and
header); the text shown is fetched by ranges (PartWanted), L asks for the next one.

A mixin of MessageView, which owns the state it reads (ref, outline, the texts by
section, what is shown) and posts the requests.
"""

from __future__ import annotations

from textual import work

from ..imap.parts import TEXT_CHUNK
from ..imap.structure import choose_body, content_section
from ..models import MessageRef, MimePart
from ..part_display import is_shown_as_text, more_note, part_description, part_summary, range_text, summary_part
from .body_view import BodyView
from .part_tree import PartTree

SOURCE = ""  # the section of the whole message: its source, when H shows it


class ShownText:
    """A text part of a big message: the encoded bytes fetched so far, from offset 0."""

    def __init__(self, part: MimePart, section: str) -> None:
        self.part = part
        self.section = section
        self.data = bytearray()
        self.complete = False
        self.asked = False  # a range is on its way



class BigMessageParts:
    def _ask_summary(self) -> None:
        """A big bounce or invitation: its report or calendar part is small; it alone is
        fetched, for the summary above the text."""
        assert self.outline is not None
        part = summary_part(self.outline.root, choose_body(self.outline.root, prefer_html=self.prefer_html))
        if part is None or self.ref is None or self._summary:
            return
        self._summary_wanted = part
        self.post_message(self.PartWanted(self.ref, content_section(self.outline.root, part), 0, part.octets))

    @work(thread=True, group="summary")
    def _summarize(self, ref: MessageRef, raw: bytes, part: MimePart, data: bytes) -> None:
        summary = part_summary(part, data)
        self.app.call_from_thread(self._summary_found, ref, raw, summary)

    def _summary_found(self, ref: MessageRef, raw: bytes, summary: str) -> None:
        if ref != self.ref or raw is not self.raw or not summary:
            return
        self._summary = summary
        if self._showing_body() and not self.showing_source and self.outline is not None:
            self._show_outline_part(None)

    def _text_state(self, part: MimePart) -> ShownText:
        assert self.outline is not None
        section = content_section(self.outline.root, part)
        if section not in self._texts:
            self._texts[section] = ShownText(part, section)
        return self._texts[section]

    def _show_outline_part(self, part: MimePart | None) -> None:
        assert self.outline is not None and self.ref is not None
        if part is None:
            part = choose_body(self.outline.root, prefer_html=self.prefer_html)
            if part is None:
                self._shown = None
                self._put_body("(this message has no text part; pick a part to save it)")
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

    def _ask_more(self, state: ShownText) -> None:
        if state.asked or state.complete or self.ref is None:
            return
        state.asked = True
        self.post_message(self.PartWanted(self.ref, state.section, len(state.data)))

    def show_range(self, ref: MessageRef, section: str, offset: int, data: bytes) -> None:
        """A range the view asked for (or the first of the body, sent with the outline)."""
        if ref != self.ref:
            return
        attached = self._attached_wanted
        if attached is not None and self.outline is not None and offset == 0 and section == content_section(
                self.outline.root, attached):
            self._attached_wanted = None
            self._big_attached_arrived(attached, data)
            return
        image = self._image_wanted
        if image is not None and self.outline is not None and section == content_section(self.outline.root, image):
            self._image_wanted = None
            self._decode_big_image(ref, image, data)
            return
        wanted = self._summary_wanted
        if wanted is not None and self.outline is not None and section == content_section(self.outline.root, wanted):
            self._summary_wanted = None
            self._summarize(ref, self.raw, wanted, data)
            return
        if self.outline is None:
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
        if self._attached_wanted is not None and self.outline is not None and section == content_section(
                self.outline.root, self._attached_wanted):
            self._attached_wanted = None
            self.query_one(BodyView).show_text(f"The attached message could not be fetched: {message}")
            return
        if self._summary_wanted is not None and self.outline is not None and section == content_section(
                self.outline.root, self._summary_wanted):
            self._summary_wanted = None  # the summary is a convenience: the text is all there
            return
        if self._image_wanted is not None and self.outline is not None and section == content_section(
                self.outline.root, self._image_wanted):
            self._image_wanted = None
            self._hide_image()
            self.query_one(BodyView).show_text(f"This image could not be fetched: {message}")
            return
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

    def _render_range(self, ref: MessageRef, state: ShownText, keep_place: bool) -> None:
        # What to render is taken here, on the UI thread: more may arrive meanwhile.
        self._render_range_in_thread(ref, state, bytes(state.data), state.complete, keep_place)

    @work(thread=True, exclusive=True, group="part")
    def _render_range_in_thread(
        self, ref: MessageRef, state: ShownText, data: bytes, complete: bool, keep_place: bool
    ) -> None:
        text, note = range_text(state.part, data, complete)
        if note:
            text = f"[{note}]\n\n{text}"
        if not complete:
            text += "\n\n" + more_note(len(data), state.part)
        self.app.call_from_thread(self._show_range_text, ref, state, len(data), text, keep_place)

    def _show_range_text(self, ref: MessageRef, state: ShownText, length: int, text: str, keep_place: bool) -> None:
        # A thread cannot be stopped: an older, slower render may finish after a newer one.
        if ref == self.ref and self._shown is state and length == len(state.data):
            if state.section != SOURCE and self._showing_body():
                self._put_body(text, keep_place=keep_place)
            else:
                self.query_one(BodyView).show_text(text, keep_place=keep_place)
            self.refresh_bindings()

