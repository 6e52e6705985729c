"""tui.image_decode: hostile image bytes become a small RGB(A) picture or a reason."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import time
import zlib

import pytest
from fuzzing import fuzz
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageFile

from tui.image_decode import MAX_SIDE, DecodedImage, decode_image

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)


def encoded(image: Image.Image, format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format, **options)
    return out.getvalue()


def two_colours(size=(40, 20), left=RED, right=BLUE) -> Image.Image:
    image = Image.new("RGB", size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims `width`x`height` RGB pixels: a decompression bomb
    when big, as its first rows of zeros compress to almost nothing."""
    rows = zlib.compress(b"\0" * (1 + 3 * min(width, 30000)) * 50, 9)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b"")


def decoded(data: bytes, **limits) -> DecodedImage:
    result = decode_image(data, **limits)
    assert isinstance(result, DecodedImage), result
    return result


# -- the allowlisted formats ---------------------------------------------------------


@pytest.mark.parametrize("format", ["PNG", "GIF", "BMP", "WEBP"])
def test_lossless_formats_keep_their_colours(format):
    options = {"lossless": True} if format == "WEBP" else {}
    result = decoded(encoded(two_colours(), format, **options))
    assert result.format == format
    assert (result.width, result.height) == (40, 20) == result.picture.size
    assert result.picture.mode == "RGB"
    assert result.picture.getpixel((0, 10)) == RED
    assert result.picture.getpixel((39, 10)) == BLUE
    assert not result.animated


def test_jpeg_is_decoded_with_its_colours_near_enough():
    result = decoded(encoded(two_colours((64, 32)), "JPEG", quality=95))
    assert result.format == "JPEG" and result.picture.size == (64, 32)
    left, right = result.picture.getpixel((4, 16)), result.picture.getpixel((60, 16))
    assert left[0] > 200 and left[2] < 50
    assert right[2] > 200 and right[0] < 50


def test_transparency_is_kept_as_rgba():
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 5, 10))
    result = decoded(encoded(image, "PNG"))
    assert result.picture.mode == "RGBA"
    assert result.picture.getpixel((0, 0)) == (255, 0, 0, 255)
    assert result.picture.getpixel((9, 0))[3] == 0


def test_a_palette_gif_with_a_transparent_colour_becomes_rgba():
    image = Image.new("P", (8, 8), 1)
    image.putpixel((0, 0), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    picture = decoded(encoded(image, "GIF", transparency=0)).picture
    assert picture.mode == "RGBA"
    assert picture.getpixel((0, 0))[3] == 0 and picture.getpixel((1, 1)) == (255, 0, 0, 255)


def test_sixteen_bit_grey_is_scaled_not_clipped_to_white():
    grey = Image.new("I;16", (4, 4), 0x8000)  # half of 65535
    pixel = decoded(encoded(grey, "PNG")).picture.getpixel((0, 0))
    assert 120 <= pixel[0] <= 135 and pixel[0] == pixel[1] == pixel[2]


def test_an_animation_shows_its_first_frame_only():
    frames = [Image.new("RGB", (30, 30), colour) for colour in (RED, BLUE, GREEN)]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    result = decoded(data)
    assert result.animated
    assert result.picture.getpixel((15, 15)) == RED
    assert "first frame" in result.caption()


def test_a_gif_of_a_thousand_frames_decodes_only_the_first_quickly():
    frames = []
    for index in range(1000):
        frame = Image.new("P", (200, 200), 0)
        frame.putpixel((index % 200, index // 200), 1 + index % 200)
        frames.append(frame)
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=10)
    assert Image.open(io.BytesIO(data)).n_frames == 1000  # the test's own premise
    started = time.perf_counter()
    result = decoded(data)
    assert time.perf_counter() - started < 1.0
    assert result.animated and result.picture.size == (200, 200)


def test_the_caption_names_size_and_format():
    assert decoded(encoded(two_colours(), "PNG")).caption() == "40x20, PNG"


def test_an_exif_rotated_photo_is_shown_upright():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    photo = two_colours((40, 20), left=RED, right=BLUE)
    result = decoded(encoded(photo, "JPEG", exif=exif.tobytes(), quality=95))
    assert result.picture.size == (20, 40)
    top, bottom = result.picture.getpixel((10, 2)), result.picture.getpixel((10, 37))
    assert top[0] > 200 and bottom[2] > 200  # the left (red) half turned to the top


# -- sizes ---------------------------------------------------------------------------


def test_a_big_image_is_downscaled_to_the_terminal_limit_keeping_its_aspect():
    result = decoded(encoded(two_colours((3000, 1000)), "PNG"))
    assert (result.width, result.height) == (3000, 1000)  # the caption tells the original
    assert result.picture.size == (MAX_SIDE, round(MAX_SIDE / 3))
    assert result.picture.getpixel((0, 0)) == RED and result.picture.getpixel((MAX_SIDE - 1, 0)) == BLUE


def test_a_4000x3000_jpeg_is_decoded_by_libjpeg_at_half_size(monkeypatch):
    # libjpeg's scaled decoding (draft) is what keeps a camera photo fast.
    from PIL import JpegImagePlugin

    loaded_sizes = []
    load = JpegImagePlugin.JpegImageFile.load

    def spy(self):
        loaded_sizes.append(self.size)
        return load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spy)
    result = decoded(encoded(two_colours((4000, 3000)), "JPEG"))
    assert (result.width, result.height) == (4000, 3000)
    assert result.picture.size == (2000, 1500)
    assert loaded_sizes[0] == (2000, 1500)


def test_a_decompression_bomb_is_refused_from_its_header_without_decoding():
    data = png_claiming(30000, 30000)
    assert len(data) < 100_000
    started = time.perf_counter()
    reason = decode_image(data)
    assert isinstance(reason, str) and "too many pixels" in reason
    assert time.perf_counter() - started < 1.0


def test_an_image_over_our_own_pixel_limit_is_refused_below_pillows():
    # 64 Mpx: under Pillow's own guard (89 Mpx), over ours (40 Mpx).
    reason = decode_image(png_claiming(8000, 8000))
    assert reason == "The image is 8000x8000 pixels, too big to decode safely."
    assert isinstance(decode_image(encoded(two_colours(), "PNG"), max_pixels=40 * 20 - 1), str)
    assert isinstance(decode_image(encoded(two_colours(), "PNG"), max_pixels=40 * 20), DecodedImage)


def test_too_many_bytes_are_refused_before_pillow_sees_them():
    data = encoded(two_colours(), "PNG")
    reason = decode_image(data, max_bytes=len(data) - 1)
    assert isinstance(reason, str) and "more than" in reason
    assert isinstance(decode_image(data, max_bytes=len(data)), DecodedImage)


def test_pillows_globals_are_left_alone():
    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    decode_image(png_claiming(30000, 30000))
    decode_image(encoded(two_colours(), "PNG")[:300])
    assert (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES) == before


# -- hostile bytes -------------------------------------------------------------------


@pytest.mark.parametrize("format", ["PNG", "JPEG", "GIF"])
def test_a_truncated_image_gives_a_reason(format):
    data = encoded(Image.effect_noise((64, 64), 50).convert("RGB"), format)
    reason = decode_image(data[: len(data) // 2])
    assert isinstance(reason, str) and reason.startswith("The image")


def test_a_truncated_png_says_it_is_cut_off():
    data = encoded(Image.effect_noise((64, 64), 50).convert("RGB"), "PNG")
    assert decode_image(data[: len(data) // 2]) == "The image data is cut off."


@pytest.mark.parametrize("data", [b"", b"\0", b"garbage" * 100, bytes(range(256)) * 40, b"\x89PNG\r\n\x1a\n"])
def test_garbage_gives_a_reason(data):
    assert isinstance(decode_image(data), str)


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nnewpath 0 0 moveto 100 100 lineto stroke\nshowpage\n%%EOF\n"


def test_eps_is_never_handed_to_its_plugin(monkeypatch):
    # Pillow's EPS plugin runs Ghostscript: it must not even be asked to open the data.
    from PIL import EpsImagePlugin

    asked = []
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", lambda self: asked.append(self))
    assert decode_image(EPS) == "This is not a PNG, JPEG, GIF, WebP or BMP image."
    assert asked == []


@pytest.mark.parametrize("format", ["TIFF", "ICO", "PPM", "TGA", "PCX"])
def test_formats_off_the_allowlist_give_a_reason(format):
    data = encoded(two_colours(), format)
    assert Image.open(io.BytesIO(data)).format == format  # Pillow itself would open it
    assert decode_image(data) == "This is not a PNG, JPEG, GIF, WebP or BMP image."


SEEDS = [
    encoded(two_colours((16, 8)), "PNG"),
    encoded(Image.new("RGBA", (9, 7), (1, 2, 3, 4)), "PNG"),
    encoded(Image.new("P", (12, 5), 3), "GIF"),
    encoded(two_colours((16, 8)), "JPEG"),
    encoded(two_colours((16, 8)), "BMP"),
]


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "cut", "insert", "big"]))
        if action == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(max_size=16))
        elif action == "big" and at + 4 <= len(data):
            data[at : at + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\0\0\0\0"]))
    return bytes(data)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # a mutated size over 89 Mpx
@fuzz(300)
@given(mutated())
def test_mutated_images_never_raise_and_stay_small(data):
    result = decode_image(data)
    if isinstance(result, str):
        assert result.endswith(".") and "\n" not in result
    else:
        assert result.picture.mode in ("RGB", "RGBA")
        assert max(result.picture.size) <= MAX_SIDE and min(result.picture.size) >= 1
        assert result.format in ("PNG", "JPEG", "GIF", "WEBP", "BMP", "MPO")


def test_importing_the_module_imports_neither_textual_nor_pillow():
    code = "import sys, tui.image_decode; print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'rich', 'PIL'}))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
