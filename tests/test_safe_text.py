"""tui.safe_text: untrusted strings become inert, printable display text."""

from __future__ import annotations

import random
import re
import subprocess
import sys

import pytest

from tui.safe_text import ELLIPSIS, safe_block, safe_line

# Characters that must never survive: C0 (line breaks only where allowed), DEL, C1,
# bidi controls, invisibles, lone surrogates.
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
FORBIDDEN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI}{INVISIBLE}\ud800-\udfff]")
FORBIDDEN_BLOCK = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{BIDI}{INVISIBLE}\ud800-\udfff]")

# (what, untrusted input, expected safe_line output)
LINE_CASES = [
    ("OSC 52 clipboard write, BEL", "\x1b]52;c;aGVsbG8gd29ybGQ=\x07Invoice", "Invoice"),
    ("OSC 52 clipboard write, ST", "Invoice\x1b]52;c;aGVsbG8=\x1b\\", "Invoice"),
    ("OSC 0 window title", "\x1b]0;pwned\x07Hello", "Hello"),
    ("OSC 2 window title", "Hel\x1b]2;pwned\x1b\\lo", "Hello"),
    ("OSC 8 hyperlink", "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\", "click me"),
    ("CSI 6n cursor report", "a\x1b[6nb", "ab"),
    ("CSI SGR colours", "\x1b[31;1mred\x1b[0m", "red"),
    ("CSI private mode", "x\x1b[?1049hy", "xy"),
    ("CSI cut off at end", "subject\x1b[12;", "subject"),
    ("DCS sixel", "\x1bPq#0;2;0;0;0#0~~@@\x1b\\after", "after"),
    ("DCS DECRQSS", "\x1bP$qm\x1b\\ok", "ok"),
    ("APC", "\x1b_Gf=100;AAAA\x1b\\img", "img"),
    ("PM and SOS", "\x1b^private\x1b\\a\x1bXstring\x1b\\b", "ab"),
    ("8-bit C1 CSI", "\x9b6nX", "X"),
    ("8-bit C1 CSI SGR", "a\x9b31mb", "ab"),
    ("8-bit C1 OSC", "\x9d52;c;aGk=\x9cY", "Y"),
    ("8-bit C1 OSC, BEL", "\x9d0;title\x07Y", "Y"),
    ("8-bit C1 DCS", "\x90q#0~~\x9cZ", "Z"),
    ("ESC alone at end", "abc\x1b", "abc"),
    ("ESC alone", "\x1b", ""),
    ("ESC c full reset", "a\x1bcb", "ab"),
    ("ESC ( B charset", "a\x1b(Bb", "ab"),
    ("ESC # 8 screen fill", "a\x1b#8b", "ab"),
    ("BEL", "ding\x07dong", "dingdong"),
    ("backspace overstrike", "evil\b\b\b\bgood", "evilgood"),
    ("NUL and DEL", "a\x00b\x7fc", "abc"),
    ("C1 NEL", "a\x85b", "ab"),
    ("tab, newline, CR become one space", "a\tb\nc\r\nd", "a b c d"),
    ("line separators", "a\u2028b\u2029c", "a b c"),
    ("leading/trailing whitespace", "  \t subject \n ", "subject"),
    ("inner whitespace kept", "a   b", "a   b"),
    ("bidi override in display name", '"\u202eevil\u202c" <a@example.org>', '"evil" <a@example.org>'),
    ("RLO filename spoof", "invoice\u202efdp.exe", "invoicefdp.exe"),
    ("isolates", "\u2067abc\u2069", "abc"),
    ("zero width in address", "pay\u200bpal@example.com", "paypal@example.com"),
    ("BOM and soft hyphen", "\ufeffsoft\u00adware", "software"),
    ("lone surrogate", "a\ud800b", "a\ufffdb"),
    ("plain unicode unchanged", "Grüße 日本語 😀 مرحبا", "Grüße 日本語 😀 مرحبا"),
]


@pytest.mark.parametrize(("what", "text", "expected"), LINE_CASES, ids=[c[0] for c in LINE_CASES])
def test_safe_line(what: str, text: str, expected: str) -> None:
    assert safe_line(text) == expected


@pytest.mark.parametrize("char", list(BIDI + INVISIBLE), ids=lambda c: f"U+{ord(c):04X}")
def test_every_bidi_and_invisible_character_is_removed(char: str) -> None:
    assert safe_line(f"a{char}b") == "ab"
    assert safe_block(f"a{char}b") == "ab"


# ESC and the C1 introducers (DCS, SOS, CSI, OSC, PM, APC) start a sequence that takes
# the following characters with it; they are covered by LINE_CASES.
INTRODUCERS = {0x1B, 0x90, 0x98, 0x9B, 0x9D, 0x9E, 0x9F}
CONTROLS = [c for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if c not in INTRODUCERS]


@pytest.mark.parametrize("code", CONTROLS, ids=lambda c: f"0x{c:02X}")
def test_every_other_control_character_is_removed_or_a_space(code: int) -> None:
    out = safe_line(f"a{chr(code)}b")
    assert out in ("ab", "a b")
    assert safe_block(f"a{chr(code)}b") in ("ab", "a\nb", "a" + " " * 7 + "b")


@pytest.mark.parametrize("code", sorted(INTRODUCERS), ids=lambda c: f"0x{c:02X}")
def test_sequence_introducers_are_removed(code: int) -> None:
    assert safe_line(f"a{chr(code)}") == "a"
    assert safe_line(f"a{chr(code)}\x07b") == "ab"  # BEL ends the (empty) sequence


MARKUP = [
    "[@click=app.quit]x[/]",
    "Re: [/bold]",
    "[b]bold[/b] [link=https://example.com]y[/link]",
    "[red on white]x[/]",
    "\\[escaped]",
]


@pytest.mark.parametrize("text", MARKUP)
def test_markup_passes_through_unchanged(text: str) -> None:
    # The UI renders these as rich Text, never as markup: escaping here would show
    # the user backslashes.
    assert safe_line(text) == text
    assert safe_block(text) == text


def test_truncation() -> None:
    out = safe_line("x" * 50, max_len=10)
    assert len(out) == 10
    assert out.endswith(ELLIPSIS)
    assert safe_line("x" * 10, max_len=10) == "x" * 10
    assert safe_line("abc", max_len=0) == ""
    assert safe_line("abc", max_len=1) == ELLIPSIS


def test_truncation_counts_after_cleaning() -> None:
    # 20 characters of escape sequence plus 5 of text fits in 10.
    assert safe_line("\x1b]0;0123456789abc\x07hello", max_len=10) == "hello"


def test_unterminated_osc_hides_only_its_own_line_in_a_block() -> None:
    out = safe_block("a\x1b]0;title without end\nsecond line")
    assert out == "a\nsecond line"


def test_escape_split_by_line_break_in_a_line() -> None:
    # The break ends the OSC body (as it does in a terminal) before it becomes a space.
    assert safe_line("a\x1b]0;title\nReal subject") == "a Real subject"


BLOCK_CASES = [
    ("CRLF", "a\r\nb\r\n", "a\nb\n"),
    ("lone CR", "a\rb", "a\nb"),
    ("newlines kept", "a\n\n\nb", "a\n\n\nb"),
    ("tab stops of 8", "a\tb", "a" + " " * 7 + "b"),
    ("tab at a stop", "12345678\tx", "12345678" + " " * 8 + "x"),
    ("tab per line", "abc\n\tx", "abc\n" + " " * 8 + "x"),
    ("tab column after escape removal", "\x1b[31mab\tx", "ab" + " " * 6 + "x"),
    ("form feed removed", "page 1\x0cpage 2", "page 1page 2"),
    ("vertical tab removed", "a\x0bb", "ab"),
    ("backspace overstrike", "a\bb", "ab"),
    ("man page bold", "N\bNA\bAM\bME\bE", "NNAAMMEE"),
    ("OSC 52 in a body", "Hi\n\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07bye", "Hi\nbye"),
    ("CSI 6n in a body", "x\x1b[6n\ny", "x\ny"),
    ("8-bit CSI in a body", "x\x9b6n\ny", "x\ny"),
    ("DCS across lines stops at the line", "\x1bPq\nrest", "\nrest"),
    ("bidi in a body", "a\u202eb\nc", "ab\nc"),
    ("line separator", "a\u2028b", "a\nb"),
    ("surrogate", "\udcff", "\ufffd"),
    ("leading and trailing space kept", "  x  ", "  x  "),
]


@pytest.mark.parametrize(("what", "text", "expected"), BLOCK_CASES, ids=[c[0] for c in BLOCK_CASES])
def test_safe_block(what: str, text: str, expected: str) -> None:
    assert safe_block(text) == expected


def test_block_truncation_note() -> None:
    text = "line\n" * 1000  # 5000 characters
    out = safe_block(text, max_chars=100)
    head, _, note = out.rpartition("\n")
    assert note == f"[{ELLIPSIS} truncated: 4900 more characters]"
    assert head == ("line\n" * 20).rstrip("\n")


def test_block_not_truncated_at_limit() -> None:
    assert safe_block("x" * 100, max_chars=100) == "x" * 100


def test_one_megabyte_body_finishes() -> None:
    rng = random.Random(7)
    pieces = ["plain text line with some words\n", "\x1b[31mred\x1b[0m\n", "tab\there\r\n", "\u202eabc\u202c\n", "\x9b6n"]
    body = "".join(rng.choice(pieces) for _ in range(60_000))[:1_000_000]
    out = safe_block(body)
    assert "\x1b" not in out
    assert not FORBIDDEN_BLOCK.search(out)


def _fuzz_strings(count: int) -> list[str]:
    rng = random.Random(1234)
    alphabet = (
        [chr(c) for c in range(0x20)]
        + [chr(c) for c in range(0x7F, 0xA0)]
        + list(BIDI + INVISIBLE)
        + ["[", "]", ";", "\\", "P", "_", "^", "X", "6", "n", "m", "a", "é", "日", "😀", "\ud800", "\udfff"]
    )
    return ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 80))) for _ in range(count)]


@pytest.mark.parametrize("text", _fuzz_strings(300))
def test_fuzz_output_is_inert(text: str) -> None:
    line = safe_line(text)
    block = safe_block(text)
    assert not FORBIDDEN_LINE.search(line)
    assert not FORBIDDEN_BLOCK.search(block)
    assert line == line.strip()


@pytest.mark.parametrize("value", [None, b"\x1b[6nbytes", bytearray(b"ab"), 42])
def test_non_str_input_does_not_raise(value: object) -> None:
    line = safe_line(value)  # type: ignore[arg-type]
    block = safe_block(value)  # type: ignore[arg-type]
    assert "\x1b" not in line + block


def test_no_textual_or_rich_import() -> None:
    code = (
        "import sys, tui.safe_text, tui.mime; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
