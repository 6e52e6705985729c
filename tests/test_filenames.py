"""tui.filenames: hostile attachment names become one safe, visible file name."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fuzzing import fuzz

from tui.filenames import free_path, safe_filename





# (what, hostile name, expected)
CASES = [
    ("plain", "report.pdf", "report.pdf"),
    ("unicode kept", "Grüße 日本語.txt", "Grüße 日本語.txt"),
    ("RLO spoof shows the real extension", "invoice\u202efdp.exe", "invoicefdp.exe"),
    ("isolates and marks", "\u2067abc\u2069\u200f.doc", "abc.doc"),
    ("zero width", "pay\u200bpal.html", "paypal.html"),
    ("tag characters", "a\U000e0041\U000e0042.txt", "a.txt"),
    ("relative traversal", "../../etc/passwd", "passwd"),
    ("absolute path", "/abs/path/x.pdf", "x.pdf"),
    ("windows path", "C:\\Users\\x\\evil.bat", "evil.bat"),
    ("mixed separators", "a/b\\..\\c.txt", "c.txt"),
    ("hidden file", ".bashrc", "bashrc"),
    ("dots only before a name", "...profile", "profile"),
    ("trailing dots and spaces", "name.txt. . ", "name.txt"),
    ("leading spaces", "   name.txt", "name.txt"),
    ("whitespace runs", "a \t\n  b\r\nc.txt", "a b c.txt"),
    ("controls and escapes", "a\x00b\x07c\x1b[6nd\x7f.txt", "abc[6nd.txt"),
    ("unicode line breaks are whitespace", "a\x85b\u2028c.txt", "a b c.txt"),
    ("windows invalid characters", 'a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
    ("reserved stem", "CON", "_CON"),
    ("reserved stem, extension", "nul.txt", "_nul.txt"),
    ("reserved stem, two extensions", "Com1.tar.gz", "_Com1.tar.gz"),
    ("reserved stem, space before dot", "aux .txt", "_aux .txt"),
    ("reserved stem, lpt9", "LPT9.log", "_LPT9.log"),
    ("not reserved", "CONSOLE.txt", "CONSOLE.txt"),
    ("not reserved either", "com10.txt", "com10.txt"),
]


@pytest.mark.parametrize(("name", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        (None, "application/pdf", "attachment.pdf"),
        ("", "text/plain", "attachment.txt"),
        ("..", "message/rfc822", "attachment.eml"),
        ("../", "application/octet-stream", "attachment.bin"),
        ("\u202e\u200b. .", "x-no/such-type", "attachment.bin"),
        ("\x1b", "Text/Plain; charset=utf-8", "attachment.txt"),
        ("/", "\x1b[6n", "attachment.bin"),
        ("dir/", None, "attachment.bin"),
    ],
)
def test_nothing_left_falls_back_to_a_stem_and_a_guessed_extension(name, content_type, expected):
    assert safe_filename(name, content_type) == expected


def test_fallback_stem_is_sanitised_too():
    assert safe_filename("", "application/pdf", fallback_stem="../CON") == "_CON.pdf"
    assert safe_filename("", "application/pdf", fallback_stem="\u202e") == "attachment.pdf"
    assert safe_filename("", "application/pdf", fallback_stem="part 2") == "part 2.pdf"


def test_long_name_is_cut_to_255_bytes_keeping_the_extension():
    name = "é" * 300 + ".pdf"  # two bytes each
    result = safe_filename(name)
    assert result.endswith(".pdf")
    assert len(result.encode("utf-8")) <= 255
    assert result == "é" * ((255 - 4) // 2) + ".pdf"


def test_long_name_is_cut_between_characters():
    result = safe_filename("😀" * 100)  # four bytes each: 255 is not a multiple
    assert result == "😀" * 63


def test_long_extension_is_not_kept_as_one():
    name = "a" * 300 + "." + "x" * 40
    result = safe_filename(name)
    assert result == "a" * 255


def test_cut_never_leaves_a_trailing_dot_or_space():
    # The part after the last dot is too long to be an extension, so the cut falls
    # right after " .", which must not end the name.
    name = "a" * 253 + " ." + "b" * 40
    assert safe_filename(name) == "a" * 253


def test_huge_name_is_handled_and_keeps_its_extension():
    result = safe_filename("\u200b" * 1_000_000 + "x" * 1_000_000 + "report.pdf")
    assert result == "x" * 251 + ".pdf"


def test_non_string_names_do_not_raise():
    assert safe_filename(b"bytes.pdf", "application/pdf") == "attachment.pdf"  # type: ignore[arg-type]
    assert safe_filename(42, None) == "attachment.bin"  # type: ignore[arg-type]


# --- property ----------------------------------------------------------------------------

FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
PIECES = [
    "/", "\\", ".", "..", " ", "\t", "\n", "\x00", "\x1b", "\x7f", "\x85", "\u202e", "\u2066", "\u200b", "\ufeff",
    "\U000e0041", "\u2028", "\ud800", "CON", "nul", "com1", ".txt", ".tar.gz", ":", "*", "?", "<", '"', "é", "😀",
    "日本", "\u0301", "a" * 100, "\u00a0", "\u3000",
]
hostile_names = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=10)), max_size=40).map("".join)


@fuzz(400)
@given(name=hostile_names, content_type=st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["image/png"])))
@example(name="." * 300, content_type=None)
@example(name="a" * 254 + "\u00e9", content_type=None)
def test_any_name_becomes_one_safe_component(name, content_type):
    result = safe_filename(name, content_type)
    assert result
    assert len(result.encode("utf-8")) <= 255
    assert not (set(result) & {"/", "\\", "\x00"})
    assert [c for c in result if unicodedata.category(c) in FORBIDDEN_CATEGORIES] == []
    assert result not in (".", "..")
    assert not result.startswith(".")
    assert not result.startswith(" ") and not result.endswith((" ", "."))
    base = Path("/some/folder")
    assert (base / result).parent == base
    assert (base / result).name == result


@fuzz(100)
@given(name=hostile_names)
def test_a_safe_name_stays_the_same(name):
    once = safe_filename(name)
    assert safe_filename(once) == once


def test_a_safe_name_can_be_created(tmp_path):
    for name in [piece * 3 for piece in PIECES] + ["é" * 300 + ".pdf", "😀" * 100]:
        path = tmp_path / safe_filename(name)
        path.write_bytes(b"x")
        assert path.parent == tmp_path
        path.unlink()


# --- free_path ---------------------------------------------------------------------------


def test_free_path_is_the_name_when_free(tmp_path):
    assert free_path(tmp_path, "a.pdf") == tmp_path / "a.pdf"


def test_free_path_numbers_taken_names(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"")
    assert free_path(tmp_path, "a.pdf") == tmp_path / "a (1).pdf"
    (tmp_path / "a (1).pdf").write_bytes(b"")
    (tmp_path / "a (2).pdf").mkdir()
    assert free_path(tmp_path, "a.pdf") == tmp_path / "a (3).pdf"


def test_free_path_counts_a_dangling_symlink_as_taken(tmp_path):
    (tmp_path / "a.pdf").symlink_to(tmp_path / "nowhere")
    assert free_path(tmp_path, "a.pdf") == tmp_path / "a (1).pdf"


def test_free_path_keeps_only_the_last_suffix_as_extension(tmp_path):
    (tmp_path / "a.tar.gz").write_bytes(b"")
    (tmp_path / "README").write_bytes(b"")
    assert free_path(tmp_path, "a.tar.gz") == tmp_path / "a.tar (1).gz"
    assert free_path(tmp_path, "README") == tmp_path / "README (1)"


def test_free_path_of_a_longest_name_stays_within_255_bytes(tmp_path):
    name = safe_filename("é" * 300 + ".pdf")
    (tmp_path / name).write_bytes(b"")
    result = free_path(tmp_path, name)
    assert result.name.endswith(" (1).pdf")
    assert len(result.name.encode()) <= 255
    result.write_bytes(b"")  # the filesystem agrees


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "..\\x", "a\x00b"])
def test_free_path_refuses_what_is_not_one_name(tmp_path, name):
    with pytest.raises(ValueError):
        free_path(tmp_path, name)
