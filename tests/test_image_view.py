"""tui.widgets.image_view: an image part drawn in the pane, read back from the screen."""

from __future__ import annotations

import io
import subprocess
import sys
import threading

import pytest
from PIL import Image
from rich.color import ColorType
from scenarios import wait_for
from textual.app import App, ComposeResult

from tui.widgets import image_view
from tui.widgets.image_view import (
    HALF_BLOCKS,
    KITTY,
    SIXEL,
    HalfBlockImage,
    ImageView,
    graphics_without_asking,
    probe_terminal_graphics,
)

RED, BLUE, GREEN, YELLOW = (255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 0)
UPPER_HALF_BLOCK = "\N{UPPER HALF BLOCK}"
NOT_AN_IMAGE = "This is not a PNG, JPEG, GIF, WebP or BMP image."


def png(size=(40, 20), left=RED, right=BLUE, mode="RGB") -> bytes:
    image = Image.new(mode, size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class ViewApp(App):
    def __init__(self, **options) -> None:
        super().__init__()
        self.options = options

    def compose(self) -> ComposeResult:
        yield ImageView(id="image", **self.options)


def rgb(color) -> tuple[int, int, int] | None:
    if color is None or color.type != ColorType.TRUECOLOR:
        return None
    return tuple(color.triplet)


def screen_cells(app: App) -> list[list[tuple[str, tuple | None, tuple | None]]]:
    """Every cell of the screen as the compositor renders it: (character, fg, bg)."""
    rows = []
    for strip in app.screen._compositor.render_strips():
        row = []
        for segment in strip:
            if segment.control:
                continue
            style = segment.style
            for character in segment.text:
                row.append((character, rgb(style.color) if style else None, rgb(style.bgcolor) if style else None))
        rows.append(row)
    return rows


def screen_text(app: App) -> str:
    return "\n".join("".join(cell[0] for cell in row) for row in screen_cells(app))


def half_blocks(app: App) -> dict[tuple[int, int], tuple[tuple | None, tuple | None]]:
    """(x, y) -> (upper colour, lower colour) of every half-block cell on the screen."""
    return {
        (x, y): (fg, bg)
        for y, row in enumerate(screen_cells(app))
        for x, (character, fg, bg) in enumerate(row)
        if character == UPPER_HALF_BLOCK
    }


def extent(cells) -> tuple[int, int]:
    """Width and height of the area the cells cover."""
    xs = [x for x, _ in cells]
    ys = [y for _, y in cells]
    return max(xs) - min(xs) + 1, max(ys) - min(ys) + 1


async def drawn(app: App) -> dict:
    await wait_for(lambda: bool(half_blocks(app)), timeout=10)
    return half_blocks(app)


# -- drawing -------------------------------------------------------------------------


async def test_a_png_is_drawn_in_half_blocks_of_its_own_colours():
    app = ViewApp()
    async with app.run_test(size=(60, 20)):
        app.query_one(ImageView).show_image(png((40, 20), RED, BLUE), "photo.png")
        cells = await drawn(app)
        # 40x20 pixels: 40 columns, two pixels to a cell row, so 10 rows; not enlarged.
        assert extent(cells) == (40, 10) and len(cells) == 400
        left = min(x for x, _ in cells)
        assert all(colours == (RED, RED) for (x, _), colours in cells.items() if x < left + 20)
        assert all(colours == (BLUE, BLUE) for (x, _), colours in cells.items() if x >= left + 20)
        assert "photo.png  40x20, PNG" in screen_text(app).splitlines()[0]


async def test_the_upper_pixel_is_the_foreground_and_the_lower_the_background():
    image = Image.new("RGB", (6, 2), GREEN)
    image.paste(YELLOW, (0, 1, 6, 2))
    out = io.BytesIO()
    image.save(out, "PNG")
    app = ViewApp()
    async with app.run_test(size=(30, 10)):
        app.query_one(ImageView).show_image(out.getvalue(), "stripes.png")
        cells = await drawn(app)
        assert extent(cells) == (6, 1)
        assert set(cells.values()) == {(GREEN, YELLOW)}


async def test_a_wide_image_fits_the_pane_keeping_its_aspect():
    app = ViewApp()
    async with app.run_test(size=(40, 12)):
        app.query_one(ImageView).show_image(png((400, 100)), "wide.png")
        cells = await drawn(app)
        # 40 columns for 400 pixels: a tenth, so 10 pixels high, in 5 rows.
        assert extent(cells) == (40, 5)
        assert {colours for (x, _), colours in cells.items() if x < 18} == {(RED, RED)}


async def test_a_tall_image_fits_the_pane_height():
    app = ViewApp()
    async with app.run_test(size=(40, 12)):
        view = app.query_one(ImageView)
        view.show_image(png((100, 400)), "tall.png")
        cells = await drawn(app)
        picture = app.query_one(HalfBlockImage)
        rows = picture.size.height  # the pane below the caption: 2 pixels a row
        assert rows < 12
        width, height = extent(cells)
        assert height == rows
        assert abs(width - 100 * (2 * rows) / 400) <= 1  # the aspect, to rounding


async def test_transparent_pixels_show_the_pane_background():
    app = ViewApp()
    async with app.run_test(size=(40, 12)):
        app.query_one(ImageView).show_image(png((20, 10), RED, (0, 0, 0, 0), mode="RGBA"), "alpha.png")
        cells = await drawn(app)
        colour = app.query_one(HalfBlockImage).background_colors[1]
        background = (colour.r, colour.g, colour.b)
        left = min(x for x, _ in cells)
        assert {c for (x, _), c in cells.items() if x >= left + 10} == {(background, background)}
        assert {c for (x, _), c in cells.items() if x < left + 10} == {(RED, RED)}


async def test_a_second_image_replaces_the_first():
    app = ViewApp()
    async with app.run_test(size=(60, 20)):
        view = app.query_one(ImageView)
        view.show_image(png((20, 10), RED, RED), "red.png")
        await drawn(app)
        view.show_image(png((20, 10), BLUE, BLUE), "blue.png")
        await wait_for(lambda: set(half_blocks(app).values()) == {(BLUE, BLUE)}, timeout=10)
        assert len(view.query(HalfBlockImage)) == 1
        assert "blue.png" in screen_text(app) and "red.png" not in screen_text(app)


# -- states --------------------------------------------------------------------------


class HeldDecode:
    """decode_image that waits, for the data given, until released."""

    def __init__(self, held: bytes) -> None:
        self.held = held
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, data: bytes, **limits):
        if data == self.held:
            self.started.set()
            assert self.release.wait(10)
        return REAL_DECODE(data, **limits)


REAL_DECODE = image_view.decode_image


async def test_the_pane_says_it_is_decoding_until_the_image_is_in(monkeypatch):
    data = png()
    decode = HeldDecode(data)
    monkeypatch.setattr(image_view, "decode_image", decode)
    app = ViewApp()
    async with app.run_test(size=(60, 20)) as pilot:
        app.query_one(ImageView).show_image(data, "photo.png")
        await pilot.pause()
        assert "Decoding image\u2026" in screen_text(app)
        assert not half_blocks(app)
        decode.release.set()
        await drawn(app)
        assert "Decoding" not in screen_text(app)


async def test_a_failure_shows_the_reason_and_the_label_as_inert_text():
    app = ViewApp()
    async with app.run_test(size=(100, 10)):
        view = app.query_one(ImageView)
        view.show_image(b"%!PS-Adobe-3.0 EPSF-3.0\n", "[bold red]x[/]\x1b]52;c;aGk=\x07.eps")
        await wait_for(lambda: view.failure is not None, timeout=10)
        await wait_for(lambda: NOT_AN_IMAGE in screen_text(app), timeout=10)
        text = screen_text(app)
        assert f"This image cannot be shown: {NOT_AN_IMAGE}" in text
        assert "[bold red]x[/]" in text  # markup shown, not applied
        assert "52;c" not in text  # the escape sequence removed whole
        assert not half_blocks(app) and not view.query(HalfBlockImage)


async def test_a_decode_that_ends_after_the_user_moved_on_is_dropped(monkeypatch):
    first, second = png((20, 10), RED, RED), png((20, 10), BLUE, BLUE)
    decode = HeldDecode(first)
    monkeypatch.setattr(image_view, "decode_image", decode)
    app = ViewApp()
    async with app.run_test(size=(60, 20)):
        view = app.query_one(ImageView)
        arrived = []
        show_decoded = view._show_decoded

        def counting(token, label, result):
            arrived.append(label)
            show_decoded(token, label, result)

        view._show_decoded = counting
        view.show_image(first, "first.png")
        await wait_for(decode.started.is_set, timeout=10)  # its thread is running: it cannot be stopped
        view.show_image(second, "second.png")
        await wait_for(lambda: arrived == ["second.png"], timeout=10)
        decode.release.set()  # the first decode ends now, after the second
        await wait_for(lambda: arrived == ["second.png", "first.png"], timeout=10)
        assert set((await drawn(app)).values()) == {(BLUE, BLUE)}
        assert "second.png" in screen_text(app) and "first.png" not in screen_text(app)
        assert len(view.query(HalfBlockImage)) == 1


async def test_clear_drops_a_decode_still_running(monkeypatch):
    data = png()
    decode = HeldDecode(data)
    monkeypatch.setattr(image_view, "decode_image", decode)
    app = ViewApp()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(ImageView)
        view.show_image(data, "photo.png")
        await wait_for(decode.started.is_set, timeout=10)
        view.clear()
        decode.release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert view.decoded is None and not view.query(HalfBlockImage)
        assert "photo.png" not in screen_text(app)


# -- how images are drawn ------------------------------------------------------------


@pytest.mark.parametrize(
    "environ, is_tty, expected",
    [
        ({"TERM": "xterm-kitty"}, False, HALF_BLOCKS),  # not a terminal: nothing to ask
        ({"TERM": "xterm-kitty"}, True, None),  # ask
        ({"TERM": "foot"}, True, None),
        ({"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}, True, None),
        ({"TERM": "xterm-256color", "KONSOLE_VERSION": "230804"}, True, None),
        ({"TERM": "xterm-256color"}, True, HALF_BLOCKS),  # no sign of graphics: do not wait
        ({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"}, True, HALF_BLOCKS),
        ({"TERM": "tmux-256color", "TERM_PROGRAM": "WezTerm"}, True, HALF_BLOCKS),
        ({"TERM": "screen", "KITTY_WINDOW_ID": "1"}, True, HALF_BLOCKS),
        ({"TERM": "xterm-kitty", "SSH_CONNECTION": "10.0.0.1 5000 10.0.0.2 22"}, True, HALF_BLOCKS),
        ({"TERM": "dumb"}, True, HALF_BLOCKS),
        ({"TERM": "xterm-kitty", "TMUX": "x", "TUI_MAIL_IMAGES": "auto"}, True, None),
        ({"TERM": "xterm-256color", "TUI_MAIL_IMAGES": "auto"}, True, None),
        ({"TERM": "xterm-256color", "TUI_MAIL_IMAGES": "Sixel"}, True, SIXEL),
        ({"TERM": "xterm-kitty", "TUI_MAIL_IMAGES": "halfblocks"}, True, HALF_BLOCKS),
        ({"TERM": "dumb", "TUI_MAIL_IMAGES": "kitty"}, False, KITTY),
        ({"TERM": "xterm-kitty", "TUI_MAIL_IMAGES": "nonsense"}, True, None),
    ],
)
def test_the_environment_settles_how_to_draw_or_says_to_ask(environ, is_tty, expected):
    assert graphics_without_asking(environ, is_tty) == expected


def test_importing_the_widget_and_probing_without_a_terminal_touch_nothing():
    # A fresh interpreter whose stdout is a pipe: textual-image (which asks the
    # terminal when imported) and Pillow stay unloaded; the probe answers half blocks.
    code = (
        "import sys, tui.widgets.image_view as v\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'textual_image', 'PIL'})\n"
        "mode = v.probe_terminal_graphics({'TERM': 'xterm-kitty'})\n"
        "print(loaded, mode, 'textual_image' in sys.modules)\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.split() == ["[]", HALF_BLOCKS, "False"]


async def test_headless_draws_half_blocks_whatever_the_probe_found(monkeypatch):
    monkeypatch.setattr(image_view, "_probed", KITTY)
    app = ViewApp()
    async with app.run_test(size=(60, 20)):
        app.query_one(ImageView).show_image(png(), "photo.png")
        await drawn(app)
        assert len(app.query(HalfBlockImage)) == 1


def test_the_probe_remembers_what_it_found(monkeypatch):
    monkeypatch.setattr(image_view, "_probed", None)
    assert image_view.graphics_in_use(headless=False) == HALF_BLOCKS  # never asked: safe
    monkeypatch.setattr(image_view, "_is_tty", lambda: True)
    monkeypatch.setattr(image_view, "_ask_terminal", lambda: SIXEL)
    assert probe_terminal_graphics({"TERM": "foot"}) == SIXEL
    assert image_view.graphics_in_use(headless=False) == SIXEL
    assert image_view.graphics_in_use(headless=True) == HALF_BLOCKS


def test_a_failing_probe_falls_back_to_half_blocks(monkeypatch):
    monkeypatch.setattr(image_view, "_probed", None)
    monkeypatch.setattr(image_view, "_is_tty", lambda: True)

    def broken():
        raise ZeroDivisionError  # textual-image's cell size on a 0x0 pty does this

    monkeypatch.setattr(image_view, "_ask_terminal", broken)
    assert probe_terminal_graphics({"TERM": "xterm-kitty", "TUI_MAIL_IMAGES": "kitty"}) == HALF_BLOCKS


async def test_sixel_mode_hands_the_picture_to_textual_image():
    from textual_image.widget import SixelImage

    app = ViewApp(graphics=SIXEL)
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(ImageView)
        view.show_image(png(), "photo.png")
        await wait_for(lambda: bool(view.query(SixelImage)), timeout=10)
        await pilot.pause()
        text = "".join(segment.text for strip in app.screen._compositor.render_strips() for segment in strip)
        assert "\x1bP" in text  # a sixel (DCS) sequence among the screen's segments
        assert not half_blocks(app)


async def test_kitty_mode_sends_the_picture_with_the_graphics_protocol(capfd):
    from textual_image.widget import TGPImage

    app = ViewApp(graphics=KITTY)
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(ImageView)
        view.show_image(png(), "photo.png")
        await wait_for(lambda: bool(view.query(TGPImage)), timeout=10)
        await pilot.pause()
        app.screen._compositor.render_strips()
    # textual-image writes the picture straight to the terminal (fd 1), as kitty's
    # graphics protocol: APC "_G" with f=100, PNG data.
    assert "\x1b_G" in capfd.readouterr().out
