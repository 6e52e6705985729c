"""tui.transfer_decode: a part's transfer encoding undone chunk by chunk, in bounded memory."""

from __future__ import annotations

import base64
import binascii
import email.base64mime
import email.errors
import email.message
import email.quoprimime
import hashlib
import random
import tracemalloc

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fuzzing import fuzz

from tui.transfer_decode import StreamDecoder, decode_prefix

# Example counts keep this file to a few seconds.  For a long run set
# TUI_MAIL_FUZZ_EXAMPLES (as in tests/test_search_property.py), e.g.
# `TUI_MAIL_FUZZ_EXAMPLES=3000 pytest tests/test_transfer_decode.py`.




def decode_in_chunks(encoding: str, data: bytes, cuts: list[int]) -> bytes:
    """Feed `data` cut at `cuts` (any integers, folded into range), then finish."""
    bounds = sorted({cut % (len(data) + 1) for cut in cuts})
    decoder = StreamDecoder(encoding)
    out = []
    start = 0
    for end in [*bounds, len(data)]:
        out.append(decoder.feed(data[start:end]))
        start = end
    out.append(decoder.finish())
    return b"".join(out)


def decode_bytewise(encoding: str, data: bytes) -> bytes:
    decoder = StreamDecoder(encoding)
    return b"".join(decoder.feed(data[i : i + 1]) for i in range(len(data))) + decoder.finish()


def email_decode(encoding: str, body: bytes) -> tuple[bytes, list]:
    message = email.message.Message()
    message["Content-Transfer-Encoding"] = encoding
    message.set_payload(body)
    decoded = message.get_payload(decode=True)
    return decoded, message.defects


payloads = st.binary(max_size=1500)
cuts = st.lists(st.integers(min_value=0, max_value=10**6), max_size=12)
eols = st.sampled_from([b"\n", b"\r\n"])
# Pieces that meet at chunk edges in every way that matters: escapes, soft breaks, runs
# of "=", base64 quanta and padding, bytes outside both alphabets.
GARBAGE_PIECES = [
    b"=", b"==", b"===", b"=\r\n", b"=\r", b"=\n", b"\r\n", b"\r", b"\n", b"=4", b"=4F", b"=4f", b"=g", b"=G1",
    b"QUJD", b"QQ", b"Q", b"+/", b"==\r", b" ", b"\t", b"!", b"\xff", b"\x00", b"=\x80", b"-", b"_", b"\x1b[6n",
]
garbage = st.lists(st.one_of(st.sampled_from(GARBAGE_PIECES), st.binary(max_size=6)), max_size=60).map(b"".join)
encodings = st.sampled_from(["base64", "quoted-printable", "7bit", "8bit", "binary", "", "x-uuencode", " Base64 "])


# --- round trips: what an encoder wrote comes back exactly ------------------------------


@fuzz(200)
@given(payload=payloads, eol=eols, cut_at=cuts)
def test_base64_as_email_writes_it_comes_back_exactly(payload, eol, cut_at):
    encoded = email.base64mime.body_encode(payload, maxlinelen=76, eol=eol.decode())
    assert all(len(line) <= 76 for line in encoded.splitlines())
    assert decode_in_chunks("base64", encoded.encode("ascii"), cut_at) == payload


@fuzz(100)
@given(payload=payloads, cut_at=cuts)
def test_base64_encodebytes_comes_back_exactly(payload, cut_at):
    assert decode_in_chunks("BASE64", base64.encodebytes(payload), cut_at) == payload


@fuzz(200)
@given(payload=payloads, quotetabs=st.booleans(), cut_at=cuts)
def test_quoted_printable_of_binary_comes_back_exactly(payload, quotetabs, cut_at):
    encoded = binascii.b2a_qp(payload, quotetabs=quotetabs, istext=False)
    assert decode_in_chunks("quoted-printable", encoded, cut_at) == payload


# Text for quoprimime.body_encode, which splits lines with str.splitlines(): keep out the
# characters that count as line breaks there, so "\n" is the only one.
text_bytes = st.binary(max_size=1500).map(
    lambda data: data.translate(None, b"\r\x0b\x0c\x1c\x1d\x1e\x85")
)


@fuzz(200)
@given(text=text_bytes, eol=eols, cut_at=cuts)
def test_quoted_printable_as_email_writes_it_comes_back_exactly(text, eol, cut_at):
    encoded = email.quoprimime.body_encode(text.decode("latin-1"), maxlinelen=76, eol=eol.decode())
    assert all(len(line) <= 76 for line in encoded.splitlines())
    # The encoder writes each line break as `eol`; everything else comes back as it was.
    assert decode_in_chunks("quoted-printable", encoded.encode("latin-1"), cut_at) == text.replace(b"\n", eol)


@fuzz(100)
@given(lines=st.lists(st.binary(max_size=120).map(lambda b: b.translate(None, b"\r\n")), max_size=20), cut_at=cuts)
def test_quoted_printable_text_with_crlf_comes_back_exactly(lines, cut_at):
    text = b"\r\n".join(lines)
    encoded = binascii.b2a_qp(text, istext=True)
    assert decode_in_chunks("quoted-printable", encoded, cut_at) == text


@pytest.mark.parametrize("length", range(12))
def test_valid_base64_fed_one_byte_at_a_time(length):
    payload = bytes(range(65, 65 + length))
    assert decode_bytewise("base64", base64.encodebytes(payload)) == payload
    # Padding is the end: what follows it is not data.
    assert decode_bytewise("base64", base64.b64encode(payload) + b"QUJD") == payload or length % 3 == 0


# --- hostile input: never raises, chunking never changes the answer ---------------------


@fuzz(400)
@given(encoding=encodings, data=garbage, cut_at=cuts)
@example(encoding="quoted-printable", data=b"ab=\rcd\nef", cut_at=[3, 4])
@example(encoding="quoted-printable", data=b"x==\r\ny", cut_at=[2, 3, 4])
@example(encoding="quoted-printable", data=b"=4=41", cut_at=[2, 3])
@example(encoding="base64", data=b"QQ=QUJDQQ==QUJD", cut_at=[3, 10])
def test_any_chunking_gives_the_same_output(encoding, data, cut_at):
    assert decode_in_chunks(encoding, data, cut_at) == decode_in_chunks(encoding, data, [])


@fuzz(100)
@given(encoding=encodings, data=garbage)
@example(encoding="base64", data=b"QQ==QUJD")
@example(encoding="base64", data=b"QQ=\r\n=QUJD")
def test_one_byte_at_a_time_gives_the_same_output(encoding, data):
    assert decode_bytewise(encoding, data) == decode_in_chunks(encoding, data, [])


@fuzz(300)
@given(data=garbage, cut_at=cuts)
@example(data=b"=\rhidden", cut_at=[1])
@example(data=b"QUJDQQ=QUJD", cut_at=[7])
def test_same_as_the_email_package(data, cut_at):
    for encoding in ("base64", "quoted-printable"):
        ours = decode_in_chunks(encoding, data, cut_at)
        theirs, defects = email_decode(encoding, data)
        if any(isinstance(defect, email.errors.InvalidBase64LengthDefect) for defect in defects):
            # email gives up and returns the encoded text; a stream cannot, and says so.
            decoder = StreamDecoder(encoding)
            decoder.feed(data)
            decoder.finish()
            assert "stray character" in decoder.note
            continue
        assert ours == theirs, encoding


@fuzz(150)
@given(payload=st.binary(max_size=300), encoding=st.sampled_from(["base64", "quoted-printable"]))
def test_decode_prefix_is_a_prefix_of_the_whole(payload, encoding):
    if encoding == "base64":
        encoded = base64.encodebytes(payload)
    else:
        encoded = binascii.b2a_qp(payload, istext=False)
    for n in range(len(encoded) + 1):
        assert payload.startswith(decode_prefix(encoded[:n], encoding)), n
    assert decode_prefix(encoded, encoding) == payload or encoding == "base64"


@fuzz(150)
@given(data=garbage, encoding=encodings)
def test_decode_prefix_of_garbage_is_a_prefix_of_the_whole(data, encoding):
    whole = decode_in_chunks(encoding, data, [])
    for n in range(0, len(data) + 1, 3):
        assert whole.startswith(decode_prefix(data[:n], encoding)), n


# --- examples ---------------------------------------------------------------------------


def test_decode_prefix_leaves_out_a_cut_escape_or_quantum():
    # "café" in UTF-8 is caf=C3=A9; cut inside the second escape.
    assert decode_prefix(b"caf=C3=A", "quoted-printable") == b"caf\xc3"
    assert decode_prefix(b"caf=C3=", "quoted-printable") == b"caf\xc3"
    assert decode_prefix(b"caf=\r", "quoted-printable") == b"caf"
    # "hello" is aGVsbG8=; a prefix ending inside the second quantum gives the first one.
    assert decode_prefix(b"aGVsbG", "base64") == b"hel"
    assert decode_prefix(b"aGVsbG8=", "base64") == b"hello"


def test_quoted_printable_soft_break_split_between_cr_and_lf():
    decoder = StreamDecoder("quoted-printable")
    assert decoder.feed(b"long line=\r") == b"long line"
    assert decoder.feed(b"\ncontinued=") == b"continued"
    assert decoder.feed(b"\r\n") == b""
    assert decoder.feed(b"end=3D") == b"end="
    assert decoder.finish() == b""


def test_encoding_name_is_case_and_space_insensitive():
    assert decode_in_chunks("  Quoted-Printable\t", b"a=41", []) == b"aA"
    assert decode_in_chunks("BASE64", b"QUJD", []) == b"ABC"


@pytest.mark.parametrize("encoding", ["7bit", "8bit", "binary", "", "8BIT "])
def test_identity_encodings_pass_bytes_through_without_a_note(encoding):
    decoder = StreamDecoder(encoding)
    assert decoder.feed(b"=41 QUJD\r\n\xff") == b"=41 QUJD\r\n\xff"
    assert decoder.finish() == b""
    assert decoder.note == ""


@pytest.mark.parametrize("encoding", ["x-uuencode", "x-unknown\x1b[6n", "base-64"])
def test_unknown_encoding_passes_bytes_through_with_a_note(encoding):
    decoder = StreamDecoder(encoding)
    assert decoder.feed(b"begin 644 x\n") == b"begin 644 x\n"
    assert decoder.finish() == b""
    assert "not decoded" in decoder.note
    assert "\x1b" not in decoder.note


def test_valid_input_has_no_note():
    for encoding, data in [("base64", base64.encodebytes(b"x" * 1000)), ("quoted-printable", b"a=3Db=\r\nc")]:
        decoder = StreamDecoder(encoding)
        decoder.feed(data)
        decoder.finish()
        assert decoder.note == "", encoding


def test_base64_after_its_end_padding_is_ignored_with_a_note():
    decoder = StreamDecoder("base64")
    assert decoder.feed(b"QQ==\r\n") == b"A"
    assert decoder.note == ""  # line ends after the padding are normal
    assert decoder.feed(b"QUJD") == b""
    assert decoder.finish() == b""
    assert "ignored" in decoder.note


# --- bounded memory ---------------------------------------------------------------------

CHUNK = 1 << 20


def encoded_stream(block: bytes, total: int):
    """`total` bytes of `block` repeated, yielded in CHUNK-sized pieces (cut anywhere)."""
    pending = b""
    sent = 0
    while sent < total:
        if len(pending) < CHUNK:
            pending += block * (CHUNK // len(block) + 1)
        size = min(CHUNK, total - sent)
        piece, pending = pending[:size], pending[size:]
        sent += len(piece)
        yield piece


def peak_while_decoding(encoding: str, block: bytes, total: int) -> tuple[int, int, str]:
    """Decode `total` bytes of `block` repeated; the tracemalloc peak, output length and hash."""
    digest = hashlib.sha256()
    length = 0
    tracemalloc.start()
    try:
        decoder = StreamDecoder(encoding)
        for piece in encoded_stream(block, total):
            out = decoder.feed(piece)
            length += len(out)
            digest.update(out)
        out = decoder.finish()
        length += len(out)
        digest.update(out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, length, digest.hexdigest()


def test_twenty_megabytes_of_base64_decode_in_a_few_megabytes():
    # 57 bytes make one 76-character line; a block of whole lines repeats into a valid stream.
    raw = random.Random(7).randbytes(57 * 13_800)
    block = base64.encodebytes(raw)
    total = len(block) * 20
    assert total > 20 * 10**6
    peak, length, digest = peak_while_decoding("base64", block, total)
    assert length == len(raw) * 20
    assert digest == hashlib.sha256(raw * 20).hexdigest()
    # Chunk in, copy, decoded out: a handful of chunks, never the whole part.
    assert peak < 8 * CHUNK, peak


@pytest.mark.parametrize(
    "block",
    [b"=", b"=4", b"x=\r", b"==\r", b"text without a line break "],
    ids=["equals", "lone-escape", "soft-break-cr", "pairs-then-cr", "plain"],
)
def test_quoted_printable_without_line_breaks_stays_bounded(block):
    total = 10 * CHUNK
    peak, length, digest = peak_while_decoding("quoted-printable", block, total)
    assert peak < 8 * CHUNK, peak
    fed = (block * (total // len(block) + 1))[:total]
    expected = binascii.a2b_qp(fed)
    assert (length, digest) == (len(expected), hashlib.sha256(expected).hexdigest())


def test_quoted_printable_holds_back_at_most_an_unfinished_escape():
    decoder = StreamDecoder("quoted-printable")
    assert decoder.feed(b"x" * CHUNK) == b"x" * CHUNK
    assert decoder.feed(b"=" * (CHUNK + 1)) == b"=" * (CHUNK // 2)
    assert decoder.feed(b"4") == b""  # "=4" may still become a byte
    assert decoder.feed(b"1") == b"A"
