"""Parts opened inside the viewer on Enter: an attached message (message/rfc822) shown as
a message, Esc coming back; an image drawn in place of the text.

A mixin of MessageView. A small message's parts come from memory; a big one's are
fetched (PartWanted, whole: an attached message up to 1 MB, an image up to 20 MB).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import work

from .. import mime
from ..imap.contract import MessageOutline
from ..imap.parts import WHOLE_MESSAGE_BYTES
from ..imap.structure import content_section
from ..models import MessageRef, MimePart
from ..timefmt import human_size
from ..transfer_decode import decode_whole
from .big_message import ShownText
from .body_view import BodyView
from .image_view import ImageView
from .part_tree import PartTree

ATTACHED_TYPES = ("message/rfc822", "message/global")
MAX_IMAGE_OCTETS = 27 * 1024 * 1024  # 20 MB decoded (image_decode's cap), base64-encoded


@dataclass
class Frame:
    """What the view showed before an attached message was opened inside it (Esc: back)."""

    raw: bytes
    truncated: bool
    parsed: mime.ParsedMessage | None
    outline: MessageOutline | None
    texts: dict[str, ShownText]
    cursor_line: int


class InnerParts:
    def open_attached(self, part: MimePart) -> None:
        """Enter on a message/rfc822 part: show it as a message; Esc comes back."""
        if self.ref is None or self.parsed is None:
            return
        if self.outline is None:
            self._load_attached(self.ref, self.raw, part.path)
            return
        size = part.octets or part.size
        if size > WHOLE_MESSAGE_BYTES:
            self.query_one(BodyView).show_text(
                f"This attached message is {human_size(size)}: too big to open here. S saves it as a file.")
            return
        self._attached_wanted = part
        self.query_one(BodyView).show_text("Loading the attached message…")
        self.post_message(self.PartWanted(self.ref, content_section(self.outline.root, part), 0, WHOLE_MESSAGE_BYTES))

    def _big_attached_arrived(self, part: MimePart, data: bytes) -> None:
        # Under 1 MB: decoded here. A message/rfc822 sent base64 is rare but legal.
        self._enter_attached(decode_whole(data, part.encoding))

    @work(thread=True, exclusive=True, group="parse")
    def _load_attached(self, ref: MessageRef, raw: bytes, path: str) -> None:
        data = mime.part_payload(raw, path)
        self.app.call_from_thread(self._attached_loaded, ref, raw, data)

    def _attached_loaded(self, ref: MessageRef, raw: bytes, data: bytes | None) -> None:
        if ref != self.ref or raw is not self.raw:
            return
        if data is None:
            self.query_one(BodyView).show_text("This attached message has no content to show.")
            return
        self._enter_attached(data)

    def _enter_attached(self, data: bytes) -> None:
        assert self.ref is not None
        tree = self.query_one(PartTree)
        self._outer.append(Frame(self.raw, self.truncated, self.parsed, self.outline, self._texts, tree.cursor_line))
        self._show(self.ref, data, False, None)

    def leave_attached(self) -> bool:
        """Esc in an attached message: back to the one it is attached to. False at the top."""
        if not self._outer or self.ref is None:
            return False
        frame = self._outer.pop()
        self.raw, self.truncated, self.outline, self._texts = frame.raw, frame.truncated, frame.outline, frame.texts
        self._shown = None
        self._attached_wanted = None
        self._summary, self._summary_wanted = "", None
        self.showing_source = False
        for state in self._texts.values():
            state.asked = False  # an answer that came while away was dropped: L asks again
        if frame.parsed is not None:
            self._show_parsed(self.ref, self.raw, frame.parsed, frame.truncated, frame.outline)
            self.query_one(PartTree).cursor_line = frame.cursor_line
        return True


    def open_image(self, part: MimePart) -> None:
        """Enter on an image part: draw it (only then: its bytes are the message's own)."""
        if self.ref is None or self.parsed is None:
            return
        label = part.filename or part.content_type
        self._image_token += 1  # an image decoded for an earlier Enter is not drawn
        if self.outline is None:
            self._show_image_pane()
            self._load_small_image(self.ref, self.raw, part.path, label, self._image_token)
            return
        if part.octets > MAX_IMAGE_OCTETS:
            self.query_one(BodyView).show_text(
                f"This image is {human_size(part.size)}: too big to draw here. S saves it, o opens it.")
            return
        self._image_wanted = part
        self.query_one(BodyView).show_text("Loading the image…")
        length = part.octets or MAX_IMAGE_OCTETS  # a size the server did not give: up to the cap
        self.post_message(self.PartWanted(self.ref, content_section(self.outline.root, part), 0, length))

    @work(thread=True, exclusive=True, group="part")
    def _load_small_image(self, ref: MessageRef, raw: bytes, path: str, label: str, token: int) -> None:
        data = mime.part_payload(raw, path)
        self.app.call_from_thread(self._image_loaded, ref, raw, data, label, token)

    def _image_loaded(self, ref: MessageRef, raw: bytes, data: bytes | None, label: str, token: int) -> None:
        if ref != self.ref or raw is not self.raw or token != self._image_token or not self.query_one(ImageView).display:
            return  # the user has moved on
        self.query_one(ImageView).show_image(data or b"", label)

    def _decode_big_image(self, ref: MessageRef, part: MimePart, data: bytes) -> None:
        self._show_image_pane()
        self._undo_transfer_encoding(ref, self.raw, part, data, self._image_token)

    @work(thread=True, exclusive=True, group="part")
    def _undo_transfer_encoding(self, ref: MessageRef, raw: bytes, part: MimePart, data: bytes, token: int) -> None:
        content = decode_whole(data, part.encoding)
        self.app.call_from_thread(self._image_loaded, ref, raw, content, part.filename or part.content_type, token)

    def _show_image_pane(self) -> None:
        self.query_one(BodyView).display = False
        self.query_one(ImageView).display = True

    def _hide_image(self) -> None:
        self._image_wanted = None
        self._image_token += 1
        image = self.query_one(ImageView)
        if image.display:
            image.clear()
            image.display = False
            self.query_one(BodyView).display = True

