"""The viewer's image pane: an image part of the message, drawn in the terminal.

Only the bytes of the message's own part come here; nothing is ever fetched.

How it is drawn: kitty graphics or sixel where the terminal can, through textual-image,
else Unicode half blocks ("▀": the upper pixel is the foreground colour, the lower the
background, so one cell shows two pixels), drawn here.

Why the half blocks are not textual-image's as well: importing textual-image *queries
the terminal* (textual_image.renderable writes "ESC [ c" and a kitty graphics query,
textual_image.widget asks for the cell size, each waiting up to 0.1 s on stdin). Once
Textual runs, its input thread reads stdin too: the answers would be lost, or parsed as
keystrokes ("ESC [ ? 6 2 ; 4 c" becomes alt+[, ?, 6, ... c), and the queries would
interleave with Textual's output. So textual-image is imported only by
`probe_terminal_graphics()`, which the app calls before Textual takes the terminal, and
only where a graphics protocol is worth asking for; everywhere else (tests, headless,
tmux, SSH, no probe) nothing touches the terminal.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from ..image_decode import DecodedImage, decode_image
from ..safe_text import safe_line

if TYPE_CHECKING:
    from PIL.Image import Image

log = logging.getLogger(__name__)

GRAPHICS_ENV = "TUI_MAIL_IMAGES"  # auto | kitty | sixel | halfblocks
HALF_BLOCKS, KITTY, SIXEL = "halfblocks", "kitty", "sixel"
AUTO = "auto"
HALF_BLOCK = "\u2580"  # ▀ UPPER HALF BLOCK

_probed: str | None = None  # what probe_terminal_graphics() found; None: never asked


# Terminals that draw kitty graphics or sixel, as their environment tells. Only these are
# asked (the question costs 0.1 s where it goes unanswered); TUI_MAIL_IMAGES=auto asks any.
_GRAPHICS_TERMS = ("kitty", "ghostty", "foot", "mlterm", "wezterm", "contour")
_GRAPHICS_PROGRAMS = ("WezTerm", "iTerm.app", "ghostty", "mintty")
_GRAPHICS_VARIABLES = ("KITTY_WINDOW_ID", "KONSOLE_VERSION", "WEZTERM_EXECUTABLE", "GHOSTTY_RESOURCES_DIR")


def graphics_without_asking(environ: Mapping[str, str], is_tty: bool) -> str | None:
    """The way to draw images when the environment settles it; None when only asking
    the terminal can tell."""
    wanted = environ.get(GRAPHICS_ENV, "").strip().lower()
    if wanted in (HALF_BLOCKS, KITTY, SIXEL):
        return wanted
    if not is_tty:
        return HALF_BLOCKS
    if wanted == AUTO:
        return None
    term = environ.get("TERM", "")
    if environ.get("TMUX") or environ.get("STY") or term.startswith(("screen", "tmux")):
        # Kitty graphics need tmux's passthrough (off by default) and an escape wrapping
        # textual-image does not do; tmux's own sixel support (3.4+, when built in) drops
        # or smears images as Textual redraws parts of the pane. Half blocks always work.
        return HALF_BLOCKS
    if environ.get("SSH_CONNECTION") or environ.get("SSH_CLIENT") or environ.get("SSH_TTY"):
        # The probe waits 0.1 s per question: over a slow link the answer comes later,
        # and Textual would then read it as keystrokes.
        return HALF_BLOCKS
    may_draw = (
        any(name in term for name in _GRAPHICS_TERMS)
        or environ.get("TERM_PROGRAM") in _GRAPHICS_PROGRAMS
        or environ.get("LC_TERMINAL") == "iTerm2"
        or any(environ.get(variable) for variable in _GRAPHICS_VARIABLES)
    )
    return None if may_draw else HALF_BLOCKS


def probe_terminal_graphics(environ: Mapping[str, str] | None = None) -> str:
    """Find how this terminal can draw images; call it before Textual takes the terminal
    (App.run), since the question is asked on stdin/stdout. Costs nothing when the
    environment settles it; else 25-60 ms in a terminal that has graphics, up to 0.35 s
    in one that answers nothing (textual-image's import, which asks).

    TUI_MAIL_IMAGES=halfblocks|kitty|sixel decides; =auto asks any terminal, even under
    tmux or over SSH.
    """
    global _probed
    environ = os.environ if environ is None else environ
    mode = graphics_without_asking(environ, _is_tty())
    if mode != HALF_BLOCKS:
        try:
            found = _ask_terminal()  # also when kitty or sixel is asked for: it loads textual-image
        except Exception:  # no terminal after all, a closed stdout...: half blocks
            log.warning("asking the terminal about graphics failed", exc_info=True)
            mode = found = HALF_BLOCKS
        mode = mode or found
    _probed = mode
    log.info("images are drawn with %s", _probed)
    return _probed


def _is_tty() -> bool:
    streams = (sys.__stdin__, sys.__stdout__)
    try:
        return all(stream is not None and stream.isatty() for stream in streams)
    except (ValueError, OSError):  # a closed stream
        return False


def _ask_terminal() -> str:
    # These two imports ask the terminal (see the module docstring), once per process.
    import textual_image.renderable as renderables
    from textual_image._terminal import get_cell_size

    get_cell_size()  # cached for textual-image's widgets, which cannot ask later
    if renderables.Image is renderables.TGPImage:
        return KITTY
    if renderables.Image is renderables.SixelImage:
        return SIXEL
    return HALF_BLOCKS


def graphics_in_use(headless: bool) -> str:
    """What ImageView draws with: half blocks unless the probe found better (and under
    run_test, always half blocks: deterministic, and nothing written to the terminal)."""
    if headless or _probed is None:
        return HALF_BLOCKS
    return _probed


# -- the half-block picture --------------------------------------------------------


def fit(width: int, height: int, columns: int, rows: int) -> tuple[int, int]:
    """The picture's size in half-block pixels (a column each, two to a row): as big as
    fits, aspect kept, never enlarged (a half-block pixel is already a whole cell wide)."""
    if width <= 0 or height <= 0 or columns <= 0 or rows <= 0:
        return 0, 0
    scale = min(columns / width, 2 * rows / height, 1.0)
    return max(1, min(columns, round(width * scale))), max(1, min(2 * rows, round(height * scale)))


def half_block_lines(picture: Image, columns: int, rows: int, background: tuple[int, int, int]) -> list[Strip]:
    """The picture as up to `rows` lines of `columns` cells; transparent parts show
    `background`. Lines are as wide as the picture, not padded. Slow for a big pane
    of a photo (a style per cell): run it in a thread."""
    from PIL import Image as PILImage

    width, height = fit(picture.width, picture.height, columns, rows)
    if not width:
        return []
    scaled = picture.resize((width, height), PILImage.Resampling.BOX, reducing_gap=2.0)
    if scaled.mode == "RGBA":
        flat = PILImage.new("RGBA", scaled.size, (*background, 255))
        flat.alpha_composite(scaled)
        scaled = flat
    raw = scaled.convert("RGB").tobytes()
    pixels = list(zip(raw[0::3], raw[1::3], raw[2::3]))
    if height % 2:
        pixels += [background] * width  # the last line's lower half
    colours: dict[tuple[int, int, int], Color] = {}
    styles: dict[tuple[tuple[int, int, int], tuple[int, int, int]], Style] = {}

    def style_of(upper: tuple[int, int, int], lower: tuple[int, int, int]) -> Style:
        style = styles.get((upper, lower))
        if style is None:
            for rgb in (upper, lower):
                if rgb not in colours:
                    colours[rgb] = Color.from_rgb(*rgb)
            style = styles[upper, lower] = Style.from_color(colours[upper], colours[lower])
        return style

    lines = []
    for top in range(0, height, 2):
        upper = pixels[top * width : (top + 1) * width]
        lower = pixels[(top + 1) * width : (top + 2) * width]
        segments = []
        run_start = 0
        for x in range(1, width + 1):
            # One segment per run of equal cells: a flat area is one segment, not hundreds.
            if x < width and upper[x] == upper[run_start] and lower[x] == lower[run_start]:
                continue
            segments.append(Segment(HALF_BLOCK * (x - run_start), style_of(upper[run_start], lower[run_start])))
            run_start = x
        lines.append(Strip(segments, width))
    return lines


class HalfBlockImage(Widget):
    """A decoded picture in half blocks, fitted to the widget's size. The cells are
    made in a thread (a big pane of a photo takes a few hundred ms): until they are,
    the widget shows the previous ones, or nothing."""

    DEFAULT_CSS = """
    HalfBlockImage { width: 1fr; height: 1fr; }
    """

    def __init__(self, picture: Image, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.picture = picture
        self.lines: list[Strip] = []
        self.lines_for: tuple[Size, tuple[int, int, int]] | None = None  # the size and background drawn
        self._making: tuple[Size, tuple[int, int, int]] | None = None

    def render_line(self, y: int) -> Strip:
        size = self.size
        colour = self.background_colors[1]
        wanted = (size, (colour.r, colour.g, colour.b))
        if wanted not in (self.lines_for, self._making):
            self._making = wanted
            self._make_lines(wanted)
        if y < len(self.lines):
            return self.lines[y].crop_extend(0, size.width, self.rich_style)
        return Strip.blank(size.width, self.rich_style)

    @work(thread=True, exclusive=True, group="half-blocks", exit_on_error=False)
    def _make_lines(self, wanted: tuple[Size, tuple[int, int, int]]) -> None:
        size, background = wanted
        lines = half_block_lines(self.picture, size.width, size.height, background)
        self.app.call_from_thread(self._made, wanted, lines)

    def _made(self, wanted: tuple[Size, tuple[int, int, int]], lines: list[Strip]) -> None:
        if wanted == self._making:  # else the pane changed again meanwhile
            self.lines, self.lines_for = lines, wanted
            self.refresh()


# -- the pane ----------------------------------------------------------------------


class ImageView(Vertical):
    """A caption ("label  WxH, format") above the image, fitted to the pane.

    `show_image` decodes in a thread; while it runs the pane says so, and a decode that
    finishes after the user moved on is dropped."""

    DEFAULT_CSS = """
    ImageView { height: 1fr; }
    ImageView > #image-caption { height: auto; max-height: 2; }
    ImageView > #image-status { height: auto; }
    ImageView > .image-picture { width: 1fr; height: 1fr; }
    """

    def __init__(self, *, graphics: str | None = None, id: str | None = None) -> None:
        """`graphics`: draw with this (HALF_BLOCKS, KITTY, SIXEL) rather than what the
        probe found; kitty and sixel still need the probe to have run, or run_test."""
        super().__init__(id=id)
        self.graphics = graphics
        self.decoded: DecodedImage | None = None
        self.failure: str | None = None  # why the last image cannot be shown
        self._token = 0  # which show_image() the pane is showing; older decodes are dropped

    def compose(self) -> ComposeResult:
        yield Static(id="image-caption")
        yield Static(id="image-status")

    def show_image(self, data: bytes, label: str) -> None:
        """`data`: the decoded bytes of an image part; `label`: its name (hostile text)."""
        self._token += 1
        self.decoded = self.failure = None
        self._remove_picture()
        self._caption(label)
        self._status(Text("Decoding image\u2026", style="dim"))
        self._decode(self._token, data, label)

    def clear(self) -> None:
        """Show nothing; a decode still running is dropped when it ends."""
        self._token += 1
        self.decoded = self.failure = None
        self._remove_picture()
        self._caption("")
        self._status(Text(""))

    @work(thread=True, exclusive=True, group="image-decode", exit_on_error=False)
    def _decode(self, token: int, data: bytes, label: str) -> None:
        result = decode_image(data)
        self.app.call_from_thread(self._show_decoded, token, label, result)

    def _show_decoded(self, token: int, label: str, result: DecodedImage | str) -> None:
        if token != self._token:
            return  # the user has moved on: another image, or none
        if isinstance(result, str):
            self.failure = result
            self._status(Text(f"This image cannot be shown: {result}", style="yellow"))
            return
        self.decoded = result
        self._caption(label, result.caption())
        self._status(None)
        self.mount(self._picture_widget(result.picture))

    def _picture_widget(self, picture: Image) -> Widget:
        mode = self.graphics or graphics_in_use(self.app.is_headless)
        # Not even when asked for: importing textual-image now, unprobed, would query a
        # terminal Textual is reading (see the module docstring).
        safe = self.app.is_headless or "textual_image.renderable" in sys.modules
        if mode in (KITTY, SIXEL) and safe:
            try:
                return _protocol_image(picture, mode)
            except Exception:  # textual-image missing or failing: half blocks still work
                log.warning("textual-image failed; drawing with half blocks", exc_info=True)
        widget = HalfBlockImage(picture)
        widget.add_class("image-picture")
        return widget

    def _remove_picture(self) -> None:
        for widget in self.query(".image-picture"):
            if hasattr(widget, "image"):
                try:
                    widget.image = None  # textual-image frees the kitty image's memory
                except Exception:
                    log.debug("freeing a terminal image failed", exc_info=True)
            widget.remove()

    def _caption(self, label: str, details: str = "") -> None:
        caption = Text(safe_line(label, 200), style="bold")
        if details:
            caption.append("  " + details, style="dim")
        self.query_one("#image-caption", Static).update(caption)

    def _status(self, text: Text | None) -> None:
        status = self.query_one("#image-status", Static)
        status.display = text is not None
        status.update(text or "")


def _protocol_image(picture: Image, mode: str) -> Widget:
    from textual_image._terminal import get_cell_size
    from textual_image.widget import SixelImage, TGPImage

    widget = (TGPImage if mode == KITTY else SixelImage)(picture)
    widget.add_class("image-picture")
    # Fit the pane, aspect kept (textual-image's "auto"), but never beyond the picture's
    # own size in cells: a small picture stays small and sharp.
    cell = get_cell_size()
    widget.styles.width = "auto"
    widget.styles.height = "auto"
    widget.styles.max_width = max(1, -(-picture.width // cell.width))
    widget.styles.max_height = max(1, -(-picture.height // cell.height))
    return widget
