"""Undo a MIME part's Content-Transfer-Encoding as it streams in, in bounded memory.

An attachment is saved by fetching its encoded bytes from the server in ranges
(`BODY.PEEK[2]<0.1048576>`, then the next megabyte...).  A range ends anywhere: inside a
base64 quantum, inside a quoted-printable "=XX" escape, between the "=" and the CR LF of
a soft line break.  `StreamDecoder` keeps only that unfinished piece (at most a few
bytes) from one chunk to the next, so a 2 GB part costs what one chunk costs.

For base64 and quoted-printable the output is the same as the `email` package's
`get_payload(decode=True)` (which is what the viewer shows), for any chunking, and for
damaged input too where `email` has an answer at all: both are built on `binascii.a2b_base64` / `binascii.a2b_qp`, and this
module only decides where a chunk may safely be cut.  The one place we differ: base64
whose symbol count is one more than a multiple of four makes `email` give up and return
the *encoded* text; a stream cannot take back what it already wrote, so we drop the stray
final symbol instead and say so in `note`.  Other encodings (x-uuencode, which `email`
does decode, and anything unknown) are passed through as they are, with a note.

Pure module: no Textual or Rich imports.
"""

from __future__ import annotations

import binascii
import re

from tui.safe_text import safe_line

__all__ = ["StreamDecoder", "decode_prefix"]

_PASS_THROUGH = frozenset({"", "7bit", "8bit", "binary"})


class StreamDecoder:
    """Decode one part: `feed` each chunk in order, then `finish` once.

    `note` is "" unless something deserves telling the user: an unknown encoding (the
    bytes are then passed through as they are) or base64 damage that lost data.
    Never raises on bad input.
    """

    def __init__(self, encoding: str) -> None:
        name = encoding.strip().lower() if isinstance(encoding, str) else ""
        self.note = ""
        if name == "base64":
            self._decoder: _Base64 | _QuotedPrintable | _PassThrough = _Base64(self)
        elif name == "quoted-printable":
            self._decoder = _QuotedPrintable()
        else:
            self._decoder = _PassThrough()
            if name not in _PASS_THROUGH:
                shown = safe_line(encoding, max_len=40)
                self.note = f"Unknown transfer encoding \u201c{shown}\u201d: the part is kept as it is, not decoded."

    def feed(self, chunk: bytes) -> bytes:
        """The decoded bytes that `chunk` completes (possibly b"")."""
        return self._decoder.feed(bytes(chunk))

    def finish(self) -> bytes:
        """The decoded bytes still held back at the end of the part."""
        return self._decoder.finish()


def decode_whole(data: bytes, encoding: str) -> bytes:
    """Decode a whole encoded part, its last partial quantum included."""
    decoder = StreamDecoder(encoding)
    return decoder.feed(data) + decoder.finish()


def decode_prefix(data: bytes, encoding: str) -> bytes:
    """Decode a prefix of an encoded part (as fetched by range), without its cut-off tail.

    Whatever the cut splits (a base64 quantum, a quoted-printable escape) is left out
    rather than decoded into a garbage byte, so the result is always a prefix of the
    whole part's decoded content.
    """
    return StreamDecoder(encoding).feed(data)


class _PassThrough:
    def feed(self, chunk: bytes) -> bytes:
        return chunk

    def finish(self) -> bytes:
        return b""


# --- base64 ----------------------------------------------------------------------------
# binascii.a2b_base64 (what email uses when the text is not strictly valid) skips every
# byte outside the alphabet and "=".  An "=" only matters once two symbols of a quantum
# are in: "==" after two symbols or "=" after three is the end padding, and everything
# after it is ignored; one "=" after two symbols that is followed by a symbol is ignored,
# as is any "=" at the start of a quantum.  We keep the same rules, so a chunk is first
# reduced to alphabet and "=", and only the pending symbols of an unfinished quantum are
# carried over (plus whether one "=" already followed two of them).
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_ALPHABET = bytes(sorted(set(range(256)) - set(_ALPHABET)))
_NOT_ALPHABET_OR_PAD = bytes(sorted(set(range(256)) - set(_ALPHABET + b"=")))
_SYMBOL = b"[A-Za-z0-9+/]"
# The longest run of alphabet and "=" that does *not* contain the end padding, from the
# start of a quantum: whole quanta, then an unfinished one.  Possessive, so a megabyte
# of hostile "AA=AA=..." costs no backtracking state.  Where the match stops short of the
# end of the text, the next byte is the "=" that completes the padding.
_BEFORE_PADDING = re.compile(
    b"(?:=*%s=*%s=?%s%s)*+" % ((_SYMBOL,) * 4) + b"=*(?:%s=*(?:%s=?%s?)?)?" % ((_SYMBOL,) * 3)
)


class _Base64:
    def __init__(self, owner: StreamDecoder) -> None:
        self._owner = owner
        self._quantum = b""  # 0-3 symbols of an unfinished quantum
        self._one_pad = False  # a single "=" followed the two symbols in _quantum
        self._ended = False  # the end padding was seen: the rest is ignored

    def feed(self, chunk: bytes) -> bytes:
        if self._ended:
            self._note_ignored(chunk)
            return b""
        data = self._quantum + (b"=" if self._one_pad else b"") + chunk.translate(None, _NOT_ALPHABET_OR_PAD)
        first_pad = data.find(b"=")
        if first_pad < 0:  # the usual case: no "=" before the very end of the part
            return self._decode_whole_quanta(data)
        # Everything before the first "=" is plain symbols: start the scan at the start of
        # the quantum that holds it.
        start = first_pad - first_pad % 4
        stop = _BEFORE_PADDING.match(data, start).end()
        if stop < len(data):
            self._ended = True
            self._note_ignored(data[stop:])
            symbols = data[:stop].translate(None, b"=")
            self._quantum, self._one_pad = b"", False
            return _decode_with_partial(symbols, self._owner)
        symbols = data.translate(None, b"=")
        decoded = self._decode_whole_quanta(symbols)
        # A trailing "=" can only be a lone one after two symbols here: "==" after two, or
        # "=" after three, would have ended the data above.
        self._one_pad = len(self._quantum) == 2 and data.endswith(b"=")
        return decoded

    def finish(self) -> bytes:
        if self._ended:
            return b""
        self._ended = True
        quantum, self._quantum = self._quantum, b""
        return _decode_with_partial(quantum, self._owner)

    def _decode_whole_quanta(self, symbols: bytes) -> bytes:
        whole = len(symbols) - len(symbols) % 4
        self._quantum = symbols[whole:]
        self._one_pad = False
        return binascii.a2b_base64(symbols[:whole])

    def _note_ignored(self, data: bytes) -> None:
        if not self._owner.note and data.translate(None, _NOT_ALPHABET):
            self._owner.note = "The base64 data went on after its end padding; the rest was ignored."


def _decode_with_partial(symbols: bytes, owner: StreamDecoder) -> bytes:
    """Decode symbols that end the data: a final quantum of 2 or 3 symbols gives 1 or 2 bytes."""
    whole = len(symbols) - len(symbols) % 4
    decoded = binascii.a2b_base64(symbols[:whole])
    rest = symbols[whole:]
    if len(rest) == 1:
        # Six bits cannot make a byte.
        if not owner.note:
            owner.note = "The base64 data ended with a stray character; it was dropped."
        return decoded
    if rest:
        decoded += binascii.a2b_base64(rest + b"=" * (4 - len(rest)))
    return decoded


# --- quoted-printable ------------------------------------------------------------------
# binascii.a2b_qp (what email uses) reads left to right: "=XX" with two hex digits is a
# byte, "==" is "=", "=" LF is a soft line break, "=" CR starts one that swallows
# everything up to the next LF, an "=" at the very end is dropped, and any other "=" is
# kept as it is.  Every other byte is itself.  So an LF always ends what came before it,
# and a run of "=" that follows any other byte pairs up from its start: only an odd run
# at the end of a chunk ("=") or an odd run then one hex digit ("=4") is unfinished.
# That is all we carry: never more than two bytes, whatever the chunk holds.

# An "=" CR that starts a soft break: the run of "=" before the CR has odd length (an even
# run is all "==" pairs).  Matching whole runs only (the lookbehind) keeps it linear.
_SOFT_BREAK_CR = re.compile(rb"(?<!=)(?:==)*+=\r")
_HEX = frozenset(b"0123456789ABCDEFabcdef")


class _QuotedPrintable:
    def __init__(self) -> None:
        self._carry = b""  # an unfinished "=" or "=X"
        self._skipping = False  # inside an "=" CR soft break, waiting for its LF

    def feed(self, chunk: bytes) -> bytes:
        data = self._carry + chunk
        self._carry = b""
        if self._skipping:
            newline = data.find(b"\n")
            if newline < 0:
                return b""
            data = data[newline + 1 :]
            self._skipping = False
        last_line = data.rfind(b"\n") + 1
        if _SOFT_BREAK_CR.search(data, last_line) is not None:
            self._skipping = True
            return binascii.a2b_qp(data)  # which drops the rest of the line itself
        cut = len(data) - _unfinished_length(data)
        self._carry = data[cut:]
        return binascii.a2b_qp(data[:cut])

    def finish(self) -> bytes:
        carry, self._carry = self._carry, b""
        return b"" if self._skipping else binascii.a2b_qp(carry)


def _unfinished_length(data: bytes) -> int:
    """How many bytes at the end of `data` may still become an escape with what follows."""
    if _odd_equals_run_before(data, len(data)):
        return 1
    if len(data) >= 2 and data[-1] in _HEX and _odd_equals_run_before(data, len(data) - 1):
        return 2
    return 0


def _odd_equals_run_before(data: bytes, end: int) -> bool:
    """Whether the run of "=" that ends at `end` has odd length (its last "=" starts an escape)."""
    before = data[:end]
    return (len(before) - len(before.rstrip(b"="))) % 2 == 1
