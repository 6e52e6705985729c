"""Decode an image part of a message into pixels a terminal can show, or say why not.

The bytes are hostile. Pillow can open dozens of formats, some with a long history of
bugs, and its EPS plugin runs Ghostscript: so only an allowlist of plugins is ever
asked to open the data (`Image.open(formats=...)`), never Pillow's guesswork. The size
is checked from the header (`Image.open` is lazy) before any pixel is decoded, with our
own limits rather than Pillow's global MAX_IMAGE_PIXELS, which another part of the
process might change. Nothing global is set either (no LOAD_TRUNCATED_IMAGES): a cut
off image is reported, not half drawn.

Slow (tens of milliseconds for a photo): callers run it in a thread. Pure module: no
Textual import; Pillow is imported on first use, so importing this costs nothing.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .timefmt import human_size

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["FORMATS", "IMAGE_TYPES", "MAX_BYTES", "MAX_PIXELS", "MAX_SIDE", "DecodedImage", "decode_image"]

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40 Mpx RGBA frame is 160 MB while it is decoded
MAX_SIDE = 2000  # more than any terminal shows: rendering a smaller picture is cheap
FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")
# The parts the viewer offers to draw (on Enter only): the content types of FORMATS.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/x-ms-bmp"})
# What the allowlisted plugins may hand back: the JPEG plugin opens a multi-picture
# JPEG (phone cameras) as MPO.
_OPENED_AS = frozenset(FORMATS) | {"MPO"}
_NOT_ALLOWED = "This is not a PNG, JPEG, GIF, WebP or BMP image."


@dataclass(frozen=True)
class DecodedImage:
    picture: Image  # RGB or RGBA, at most MAX_SIDE pixels each way; the first frame only
    format: str  # as Pillow names it: "PNG", "JPEG", "GIF", "WEBP", "BMP", "MPO"
    width: int  # the original's size, before any downscaling
    height: int
    animated: bool

    def caption(self) -> str:
        """ "4000x3000, JPEG" """
        text = f"{self.width}x{self.height}, {self.format}"
        return text + ", first frame of an animation" if self.animated else text


def decode_image(data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> DecodedImage | str:
    """The image in `data`, or a one-sentence reason it cannot be shown. Never raises
    (short of the interpreter itself failing)."""
    if not data:
        return "The image part is empty."
    if len(data) > max_bytes:
        return f"The image is {human_size(len(data))}, more than the {human_size(max_bytes)} shown inline."
    try:
        return _decode(data, max_pixels)
    except MemoryError:
        return "There is not enough memory to decode this image."
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, struct.error, EOFError...
        log.debug("image decoding failed", exc_info=True)
        return _reason(error)


def _decode(data: bytes, max_pixels: int) -> DecodedImage | str:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        return _NOT_ALLOWED
    except Image.DecompressionBombError:
        return "The image claims too many pixels to decode safely."
    with image:
        if image.format not in _OPENED_AS:
            return _NOT_ALLOWED
        width, height = image.size
        if width <= 0 or height <= 0:
            return "The image has no pixels."
        if width * height > max_pixels:
            return f"The image is {width}x{height} pixels, too big to decode safely."
        # JPEG only: libjpeg decodes at 1/2, 1/4 or 1/8 scale directly, far faster; the
        # scale keeps both sides at least this size, so a 4000x3000 photo comes at half.
        image.draft("RGB", (MAX_SIDE // 2, MAX_SIDE // 2))
        image.load()  # the first frame: a GIF's other frames are never decoded
        picture = _to_rgb(image)
        picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BICUBIC, reducing_gap=2.0)
        picture = _upright(image, picture)
        return DecodedImage(picture, str(image.format), width, height, _is_animated(image))


def _to_rgb(image: Image) -> Image:
    mode = image.mode
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        return image.convert("RGBA")
    if mode.startswith("I") or mode == "F":
        # 16-bit and float greys: convert("RGB") would clip everything above 255 to white.
        return image.convert("I").point(lambda value: value / 256).convert("L").convert("RGB")
    return image.convert("RGB")  # also a copy: the picture outlives the opened file


def _upright(image: Image, picture: Image) -> Image:
    """Phones store photos sideways with an EXIF orientation; show them as taken."""
    from PIL import Image as PILImage

    turns = {
        2: PILImage.Transpose.FLIP_LEFT_RIGHT,
        3: PILImage.Transpose.ROTATE_180,
        4: PILImage.Transpose.FLIP_TOP_BOTTOM,
        5: PILImage.Transpose.TRANSPOSE,
        6: PILImage.Transpose.ROTATE_270,
        7: PILImage.Transpose.TRANSVERSE,
        8: PILImage.Transpose.ROTATE_90,
    }
    try:
        orientation = image.getexif().get(0x0112)
    except Exception:  # a damaged EXIF block does not spoil the picture
        return picture
    turn = turns.get(orientation) if isinstance(orientation, int) else None
    return picture.transpose(turn) if turn is not None else picture


def _is_animated(image: Image) -> bool:
    try:
        return bool(getattr(image, "is_animated", False))
    except Exception:  # a damaged second frame: the first is shown all the same
        return False


def _reason(error: Exception) -> str:
    if isinstance(error, (OSError, EOFError)) and "truncat" in str(error).lower():
        return "The image data is cut off."
    if isinstance(error, EOFError):
        return "The image data is cut off."
    return "The image data is damaged."
