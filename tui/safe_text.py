"""Turn untrusted strings (mail headers, bodies, server texts) into inert display text.

Everything a mail sender or an IMAP server wrote is hostile until it has been through
here: an escape sequence in a subject reaches the user's terminal as a command (OSC 52
writes the clipboard, CSI 6n makes the terminal type a reply, OSC 8 hides a link
target), and bidi controls make "invoice\\u202efdp.exe" look like "invoiceexe.pdf".

What this module does *not* do is escape Textual/Rich markup: the UI never parses these
strings as markup (it wraps them in `rich.text.Text`), so `[b]` stays literal text.
Escaping here as well would show doubled backslashes to the user.

Pure module: no Textual or Rich imports (a hygiene test enforces it).
"""

from __future__ import annotations

import re

__all__ = ["safe_line", "safe_block", "ELLIPSIS"]

ELLIPSIS = "\u2026"
REPLACEMENT = "\ufffd"

# --- escape sequences -------------------------------------------------------------
# We remove a sequence *with* its parameters and body, not just the ESC byte: dropping
# only ESC would leave "]52;c;aGVsbG8=" or "[6n" on screen, which is noise at best.
#
# A string body (OSC/DCS/SOS/PM/APC) ends at its terminator (BEL, ESC \, or C1 ST) or
# at the first other control character.  Stopping at any control keeps the match
# linear and bounded to one line: an unterminated OSC in a body hides the rest of that
# line (the terminal would have swallowed it too), never the rest of the message.
_CTRL = "\x00-\x1f\x7f-\x9f"
_STRING_BODY = f"[^{_CTRL}]*(?:\x07|\x1b\\\\|\x9c)?"
_ESC_SEQ = re.compile(
    # 7-bit string sequences: OSC ESC ], DCS ESC P, SOS ESC X, PM ESC ^, APC ESC _
    f"\x1b[\\]PX^_]{_STRING_BODY}"
    # 8-bit (C1) string sequences: OSC U+009D, DCS U+0090, SOS U+0098, PM U+009E, APC U+009F
    f"|[\x9d\x90\x98\x9e\x9f]{_STRING_BODY}"
    # CSI, 7-bit and 8-bit: parameter/intermediate bytes then one final byte (optional,
    # so a sequence cut off at the end of the string is still removed whole)
    "|(?:\x1b\\[|\x9b)[\x20-\x3f]*[\x40-\x7e]?"
    # any other escape: intermediates then a final byte (ESC c, ESC 7, ESC ( B, ESC # 8)
    "|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)

# --- single characters ------------------------------------------------------------
# Bidi controls and invisible characters are *removed*, all of them, the same way.
# We considered replacing the overrides (U+202D/U+202E) with a visible U+FFFD instead,
# and chose removal because:
#   * removal already defeats the spoof: the text is then shown in logical order, so
#     "invoice\u202efdp.exe" reads "invoicefdp.exe" and the real extension is visible;
#   * legitimate Arabic/Hebrew names and subjects do carry these controls (marks,
#     embeddings, isolates); a marker would litter real mail with junk glyphs;
#   * U+FFFD already means "bytes that could not be decoded" in this app; giving it a
#     second meaning would make both signals useless.
# Zero-width characters go for the same reason: they hide differences between two
# look-alike strings (addresses, link texts).  The price is that emoji ZWJ sequences
# render as their separate emoji, and Persian ZWNJ spacing is lost; both stay legible.
#
# The other format characters (Unicode category Cf) go too.  Tag characters
# (U+E0000 block) spell invisible ASCII: a whole hidden sentence can ride along in a
# subject.  The rest (Arabic prepended marks, deprecated shaping controls, interlinear
# annotation, hieroglyph/shorthand/musical format controls) have no width in a terminal,
# so they desync the columns or hide differences like the zero-width characters above.
# Price: subdivision flags (England, Scotland) show as a plain black flag.  The tag and
# hieroglyph ranges also cover code points unassigned in Python 3.11's Unicode 14, so the
# format controls later versions add there (U+13439-1343F in 15.0) are covered too.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_INVISIBLE = (
    "\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff"
    "\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\u206a-\u206f\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f"
)
_SURROGATE = "\ud800-\udfff"
_LINE_BREAK = "\u2028\u2029"  # Unicode line/paragraph separators: real line breaks

# Anything that needs work.  Most subjects match none of it, and then safe_line is a
# single C-speed regex search plus strip().
_NEEDS_WORK = re.compile(f"[{_CTRL}{_BIDI}{_INVISIBLE}{_SURROGATE}{_LINE_BREAK}]")
_SURROGATES = re.compile(f"[{_SURROGATE}]")
_LINE_WS = re.compile(f"[\t\n\r\x0b\x0c{_LINE_BREAK}]+")
_DROP = re.compile(f"[{_CTRL}{_BIDI}{_INVISIBLE}]+")
_NEWLINES = re.compile(f"[{_LINE_BREAK}]")
# Everything but newline and tab, which nearly every body has: a clean body then costs
# one scan.
_BLOCK_NEEDS_WORK = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}{_INVISIBLE}{_SURROGATE}{_LINE_BREAK}]")
# In a block, keep newline and tab (tabs are expanded after the other controls are gone,
# so their columns come out right).
_BLOCK_DROP = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}{_INVISIBLE}]+")


def _as_str(text: object) -> str:
    """Callers should pass str; tolerate anything rather than crash a render."""
    if isinstance(text, str):
        return text
    if text is None:
        return ""
    if isinstance(text, (bytes, bytearray)):
        return bytes(text).decode("utf-8", "replace")
    try:
        return str(text)
    except Exception:
        return REPLACEMENT


def _strip_sequences(text: str) -> str:
    """Remove escape sequences whole and replace lone surrogates."""
    if "\x1b" in text or _C1_INTRODUCERS.search(text) is not None:
        text = _ESC_SEQ.sub("", text)
    return _SURROGATES.sub(REPLACEMENT, text)


_C1_INTRODUCERS = re.compile("[\x90\x98\x9b\x9d\x9e\x9f]")


def safe_line(text: str, max_len: int = 1000) -> str:
    """One-line display text: subjects, names, addresses, mailbox names, filenames.

    Escape sequences are removed whole, line breaks and tabs become one space, every
    other control, bidi and invisible character is removed, surrogates become U+FFFD,
    the ends are stripped, and the result is at most `max_len` characters (ending in
    "…" when cut).  Never raises.
    """
    try:
        text = _as_str(text)
        if _NEEDS_WORK.search(text) is not None:
            # Sequences first: a line break ends an unterminated OSC body, so it must
            # still be there when the sequences are matched.  Then breaks become a
            # space ("a\r\nb" is "a b", not "ab") before the other controls go.
            text = _strip_sequences(text)
            text = _LINE_WS.sub(" ", text)
            text = _DROP.sub("", text)
        text = text.strip()
        return _truncate(text, max_len)
    except Exception:  # pragma: no cover - belt and braces for a render path
        return REPLACEMENT


def _truncate(text: str, max_len: int) -> str:
    try:
        max_len = int(max_len)
    except Exception:
        max_len = 1000
    if max_len <= 0:
        return ""
    if len(text) <= max_len:
        return text
    return text[: max_len - 1].rstrip() + ELLIPSIS


def safe_block(text: str, max_chars: int = 2_000_000) -> str:
    """Multi-line display text for bodies and part contents.

    Like `safe_line`, but keeps line breaks ("\\r\\n" and lone "\\r" become "\\n"),
    expands tabs to 8-column stops, and removes backspaces and form feeds (an
    overstrike "evil\\b\\b\\b\\bgood" shows as "evilgood", not "good").  Input beyond
    `max_chars` characters is cut and a visible note line says how much.  Never raises.
    """
    try:
        text = _as_str(text)
        try:
            max_chars = max(0, int(max_chars))
        except Exception:
            max_chars = 2_000_000
        # Cut before cleaning, so a 1 GB body costs what 2 MB costs.
        hidden = len(text) - max_chars
        if hidden > 0:
            text = text[:max_chars]
        if "\r" in text:  # mail is CRLF; str.replace is 10x faster than a regex here
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if _BLOCK_NEEDS_WORK.search(text) is not None:
            text = _NEWLINES.sub("\n", text)
            text = _BLOCK_DROP.sub("", _strip_sequences(text))
        if "\t" in text:
            text = text.expandtabs(8)
        if hidden > 0:
            if text and not text.endswith("\n"):
                text += "\n"
            text += f"[{ELLIPSIS} truncated: {hidden} more characters]"
        return text
    except Exception:  # pragma: no cover - belt and braces for a render path
        return REPLACEMENT
