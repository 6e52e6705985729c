"""tui.safe_text: untrusted strings become inert, printable display text."""

from __future__ import annotations

import random
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fuzzing import fuzz

from tui.safe_text import ELLIPSIS, safe_block, safe_line

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"

# What must never reach the terminal, from the Unicode database rather than from the
# module under test: controls (Cc), format characters (Cf: bidi, zero-width, tags...),
# lone surrogates (Cs) and the line/paragraph separators (Zl, Zp).  A block keeps "\n"
# only: tabs are documented to be expanded to spaces.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def forbidden(text: str, keep: str = "") -> list[str]:
    """The characters of `text` a display string must not contain, as U+XXXX."""
    return [f"U+{ord(c):04X}" for c in text if c not in keep and unicodedata.category(c) in FORBIDDEN_CATEGORIES]


def forbidden_in_line(text: str) -> list[str]:
    return forbidden(text)


def forbidden_in_block(text: str) -> list[str]:
    return forbidden(text, keep="\n")

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
    assert not forbidden_in_block(out)


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


# --- property tests ----------------------------------------------------------------
# Example counts keep this section to a few seconds.  For a long run set
# TUI_MAIL_FUZZ_EXAMPLES (as in tests/test_search_property.py), e.g.
# `TUI_MAIL_FUZZ_EXAMPLES=3000 pytest tests/test_safe_text.py`: every property then runs
# that many examples.




# The alphabet of escape sequences and of text that hides or reorders itself, so that the
# interesting characters meet far more often than in uniform Unicode.
DANGEROUS = (
    [chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]]
    + list(BIDI + INVISIBLE)
    + ["\u2028", "\u2029", "\u206a", "\u206f", "\ufff9", "\U000e0001", "\U000e0041", "\U000e007f", "\u0600"]
    + list("[]();?\\P_^X#$0123456789nmcq ")
    + ["\u0301", "\u0336", "\u20dd", "\u034f"]  # combining marks, also with no base
    + ["\ud800", "\udbff", "\udc00", "\udfff"]
    + ["a", "é", "日", "😀", "\xa0"]
)
# Whole introducers, terminators and well-known payloads.
SEQUENCE_PIECES = [
    "\x1b[", "\x1b]", "\x1bP", "\x1b_", "\x1b^", "\x1bX", "\x1b(", "\x1b#", "\x9b", "\x9d", "\x90",
    "\x98", "\x9e", "\x9f", "\x1b\\", "\x9c", "\x07", "\x1b]52;c;", "\x1b]8;;https://evil.example/\x1b\\",
    "\x1b[6n", "\x1b[31;1m", "\x1b[?1049h", "\r\n", "\r", "\n", "\t",
]
ANY_CHAR = st.characters(exclude_categories=())  # surrogates too: str can hold them
hostile_text = st.one_of(
    st.text(ANY_CHAR, max_size=200),
    st.lists(
        st.one_of(st.sampled_from(DANGEROUS), st.sampled_from(SEQUENCE_PIECES), ANY_CHAR), max_size=80
    ).map("".join),
)
# Text a sender may legitimately write: no Cc/Cf/Cs/Zl/Zp, with markup-like brackets.
CLEAN_CHAR = st.characters(exclude_categories=tuple(FORBIDDEN_CATEGORIES))
MARKUP_PIECES = st.sampled_from(["[", "]", "[b]", "[/]", "[@click=app.quit]", "[link=x]y[/link]", "\\[", "\\", " ", "\xa0"])
clean_line = st.lists(st.one_of(CLEAN_CHAR, MARKUP_PIECES), max_size=60).map("".join)

# ECMA-48 introducers: ESC and the C1 DCS, SOS, CSI, OSC, PM, APC.  A sequence takes the
# characters after them along; without them only single characters may go.
INTRODUCER_CHARS = frozenset("\x1b\x90\x98\x9b\x9d\x9e\x9f")


def visible(text: str) -> list[str]:
    """What of `text` may be shown, in order: no whitespace, no forbidden characters,
    lone surrogates as U+FFFD (both documented)."""
    out = []
    for c in text:
        category = unicodedata.category(c)
        if category == "Cs":
            out.append("\ufffd")
        elif category not in FORBIDDEN_CATEGORIES and not c.isspace():
            out.append(c)
    return out


def is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(c in it for c in small)


@fuzz(1000)
@given(text=hostile_text, max_len=st.one_of(st.just(1000), st.integers(-2, 120)))
@example(text="\U000e0041", max_len=1000)  # tag character: invisible, was kept
@example(text="a\u206ab\ufff9c", max_len=1000)  # deprecated format, interlinear annotation
@example(text="\x1b]0;\u202e\n \t\x9b6n\udc80", max_len=5)
def test_line_is_inert_stripped_bounded_and_idempotent(text: str, max_len: int) -> None:
    out = safe_line(text, max_len)
    assert not forbidden_in_line(out)
    assert out == out.strip()
    assert len(out) <= max(max_len, 0)
    assert safe_line(out, max_len) == out
    whole = safe_line(text, 10**9)
    if len(whole) <= max_len:
        assert out == whole
    elif max_len > 0:
        assert out.endswith(ELLIPSIS) and whole.startswith(out[:-1])


@fuzz(1000)
@given(text=hostile_text)
@example(text="\U000e0001\U000e0065\U000e006e")  # language tag
@example(text="x\t\x1b[31m\ty\r\n\u2029\x0c")
def test_block_is_inert_and_idempotent(text: str) -> None:
    out = safe_block(text)
    assert not forbidden_in_block(out)
    assert safe_block(out) == out


@fuzz(1000)
@given(text=hostile_text)
def test_only_forbidden_characters_and_sequences_are_removed(text: str) -> None:
    # Nothing is invented, and apart from whole escape sequences nothing that may be shown
    # is lost: a bad subject degrades, it does not vanish.
    expected = visible(text)
    for out in (safe_line(text, 10**9), safe_block(text)):
        shown = [c for c in out if not c.isspace()]
        if INTRODUCER_CHARS.isdisjoint(text):
            assert shown == expected
        else:
            assert is_subsequence(shown, expected)


@fuzz(500)
@given(text=hostile_text, max_chars=st.integers(0, 120))
def test_block_cut_before_cleaning_with_a_note(text: str, max_chars: int) -> None:
    out = safe_block(text, max_chars)
    assert not forbidden_in_block(out)
    if len(text) <= max_chars:
        assert out == safe_block(text)
        return
    head = safe_block(text[:max_chars])
    if head and not head.endswith("\n"):
        head += "\n"
    assert out == head + f"[{ELLIPSIS} truncated: {len(text) - max_chars} more characters]"


@fuzz(500)
@given(text=clean_line, lines=st.lists(clean_line, max_size=5))
@example(text="[@click=app.quit]x[/] \u05e9\u05dc\u05d5\u05dd", lines=["[b]", "  indented", ""])
def test_clean_text_comes_back_unchanged(text: str, lines: list[str]) -> None:
    # Markup is not escaped (the UI never parses it), so only the documented stripping
    # of a line's ends may change clean text.
    assert safe_line(text) == text.strip()
    assert safe_block(text) == text
    assert safe_block("\n".join(lines)) == "\n".join(lines)


@fuzz(300)
@given(value=st.one_of(st.binary(max_size=100), st.none(), st.integers(), st.floats(), st.lists(st.text(max_size=5), max_size=3)))
def test_any_value_becomes_inert_text(value: object) -> None:
    line = safe_line(value)  # type: ignore[arg-type]
    block = safe_block(value)  # type: ignore[arg-type]
    assert isinstance(line, str) and isinstance(block, str)
    assert not forbidden_in_line(line)
    assert not forbidden_in_block(block)


def test_every_forbidden_code_point_is_removed() -> None:
    # Exhaustive over the categories the properties sample from: a new Unicode version
    # adding a format character shows up here first.
    chars = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) in FORBIDDEN_CATEGORIES]
    assert len(chars) > 2000  # sanity: surrogates alone are 2048
    leaks = {f"U+{ord(c):04X}" for c in chars if forbidden_in_line(safe_line(f"a{c}b")) or forbidden_in_block(safe_block(f"a{c}b"))}
    assert not leaks, sorted(leaks)[:20]
