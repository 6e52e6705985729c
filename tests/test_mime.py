"""tui.mime: part trees, text extraction and HTML -> text, on friendly and hostile mail."""

from __future__ import annotations

import base64
import binascii
import functools
import quopri
import time
import unicodedata
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fuzzing import fuzz

from tui.mime import (
    BINARY_NOTE,
    NO_TEXT,
    ParsedMessage,
    html_to_text,
    parse_message,
    part_payload,
    part_text,
)
from tui.models import MimePart
from tui.safe_text import safe_block, safe_line

CORPUS = Path(__file__).parent / "corpus"


def msg(headers: str, body: str = "", *, crlf: bool = False) -> bytes:
    """A message from a header block and a body; "\\n" line ends unless crlf."""
    text = headers.strip("\n") + "\n\n" + body
    if crlf:
        text = text.replace("\n", "\r\n")
    return text.encode("utf-8")


def b64word(text: str, charset: str = "utf-8") -> str:
    return f"=?{charset}?b?{base64.b64encode(text.encode(charset)).decode()}?="


def walk(node: MimePart):
    yield node
    for child in node.children:
        yield from walk(child)


def paths(parsed: ParsedMessage) -> dict[str, MimePart]:
    return {node.path: node for node in walk(parsed.root)}


def multipart(boundary: str, *parts: str, subtype: str = "mixed", extra: str = "") -> str:
    """A multipart entity: Content-Type line, blank line, the delimited parts."""
    body = "".join(f"--{boundary}\n{part.strip(chr(10))}\n" for part in parts)
    return f'Content-Type: multipart/{subtype}; boundary="{boundary}"{extra}\n\n{body}--{boundary}--\n'


# --- simple messages and headers ---------------------------------------------------


def test_simple_text_mail() -> None:
    raw = msg(
        """
From: Alice <alice@example.org>
To: Bob <bob@example.org>
Cc: Carol <carol@example.org>
Subject: Lunch?
Date: Tue, 01 Apr 2025 12:00:00 +0000
Content-Type: text/plain; charset=utf-8
""",
        "Shall we meet at noon?\n",
        crlf=True,
    )
    parsed = parse_message(raw)
    assert parsed.subject == "Lunch?"
    assert parsed.from_ == "Alice <alice@example.org>"
    assert parsed.to == "Bob <bob@example.org>"
    assert parsed.cc == "Carol <carol@example.org>"
    assert parsed.date == "Tue, 01 Apr 2025 12:00:00 +0000"
    assert parsed.body == "Shall we meet at noon?\n"  # CRLF normalised
    assert parsed.notes == ()
    root = parsed.root
    assert (root.path, root.depth, root.size) == ("", 0, 0)
    assert [c.path for c in root.children] == ["1"]
    body = root.children[0]
    assert (body.content_type, body.charset, body.depth) == ("text/plain", "utf-8", 1)
    assert body.size == len("Shall we meet at noon?\r\n")
    assert part_text(raw, "1") == "Shall we meet at noon?\n"
    assert part_text(raw, "") == part_text(raw, "1")


def test_message_without_any_headers_defaults_to_text() -> None:
    parsed = parse_message(b"\nhello\n")
    assert parsed.body == "hello\n"
    assert parsed.root.children[0].content_type == "text/plain"


def test_rfc2047_subject_and_from() -> None:
    subject = "Grüße aus Köln — 日本語 😀"
    raw = msg(
        f"""
From: =?iso-8859-1?q?J=F6rg_M=FCller?= <jm@example.org>
To: {b64word("Zoë Ñúñez")} <zn@example.org>, plain@example.org
Subject: {b64word(subject)}
""",
        "x\n",
    )
    parsed = parse_message(raw)
    assert parsed.subject == subject
    assert parsed.from_ == "Jörg Müller <jm@example.org>"
    assert parsed.to == "Zoë Ñúñez <zn@example.org>, plain@example.org"


def test_raw_utf8_headers_are_decoded() -> None:
    raw = "Subject: Café crème\nFrom: Jürgen <j@example.org>\n\nx\n".encode()
    parsed = parse_message(raw)
    assert parsed.subject == "Café crème"
    assert parsed.from_ == "Jürgen <j@example.org>"


def test_invalid_address_is_shown_as_written() -> None:
    # The address parser would turn "bad@@x" into "<>"; the reader shows what was sent.
    parsed = parse_message(msg("To: ok@example.org, bad@@x\nSubject: s", "x"))
    assert parsed.to == "ok@example.org, bad@@x"


def test_unknown_charset_in_encoded_word_does_not_raise() -> None:
    parsed = parse_message(msg("Subject: =?x-bogus?q?caf=E9?= ok", "x"))
    assert parsed.subject.endswith(" ok")
    assert parsed.subject.startswith("caf")


def test_folded_subject_is_unfolded() -> None:
    parsed = parse_message(msg("Subject: a long\n  folded subject", "x"))
    assert parsed.subject == "a long  folded subject"


# --- multipart structure ------------------------------------------------------------

ALTERNATIVE = multipart(
    "alt",
    "Content-Type: text/plain; charset=utf-8\n\nThe plain version.",
    "Content-Type: text/html; charset=utf-8\n\n<html><body><p>The <b>HTML</b> version.</p></body></html>",
    subtype="alternative",
)


def test_multipart_alternative_prefers_text() -> None:
    raw = msg("Subject: alt\n" + ALTERNATIVE)
    parsed = parse_message(raw)
    assert parsed.body == "The plain version."
    nodes = paths(parsed)
    assert nodes[""].content_type == "multipart/alternative"
    assert [c.path for c in nodes[""].children] == ["1", "2"]
    assert nodes["1"].content_type == "text/plain"
    assert nodes["2"].content_type == "text/html"
    assert nodes[""].size == 0
    html = part_text(raw, "2")
    assert "<" not in html
    assert "The HTML version." in html


def test_empty_plain_alternative_falls_back_to_html() -> None:
    raw = msg(
        "Subject: s\n"
        + multipart(
            "b",
            "Content-Type: text/plain\n\n  \n",
            "Content-Type: text/html\n\n<p>Only here</p>",
            subtype="alternative",
        )
    )
    assert parse_message(raw).body == "Only here"


def test_html_only_mail() -> None:
    html = (
        "<html><head><title>Title text</title><style>p { color: red }</style>"
        "<script>alert('x')</script></head><body>"
        "<h1>Hello&nbsp;&amp; welcome</h1>"
        '<p>Read <a href="https://example.com/terms?a=1&amp;b=2">the terms</a> and '
        '<a href="https://example.com/privacy">our policy</a>.</p>'
        "<ul><li>first</li><li>second</li></ul>"
        "</body></html>"
    )
    raw = msg("Subject: html\nContent-Type: text/html; charset=utf-8", html)
    parsed = parse_message(raw)
    body = parsed.body
    assert "<" not in body and ">" not in body
    assert "alert" not in body and "color" not in body and "Title text" not in body
    assert "Hello & welcome" in body
    assert "the terms [1]" in body
    assert "our policy [2]" in body
    assert "• first" in body and "• second" in body
    assert body.endswith("[1] https://example.com/terms?a=1&b=2\n[2] https://example.com/privacy")


def test_attachment_with_filename() -> None:
    payload = bytes(range(256)) * 4
    encoded = base64.encodebytes(payload).decode()
    raw = msg(
        "Subject: report\n"
        + multipart(
            "m",
            "Content-Type: text/plain\n\nSee attached.",
            "Content-Type: application/pdf; name=\"report.pdf\"\n"
            'Content-Disposition: attachment; filename="report.pdf"\n'
            f"Content-Transfer-Encoding: base64\n\n{encoded}",
        )
    )
    parsed = parse_message(raw)
    assert parsed.body == "See attached."
    pdf = paths(parsed)["2"]
    assert (pdf.content_type, pdf.filename, pdf.size) == ("application/pdf", "report.pdf", len(payload))
    text = part_text(raw, "2")
    assert "application/pdf" in text
    assert "report.pdf" in text
    assert f"{len(payload)} bytes" in text
    assert BINARY_NOTE in text


def test_attachment_filename_rfc2231() -> None:
    name = "Überweisung März 2025 – 日本.pdf"
    raw = msg(
        "Subject: s\n"
        + multipart(
            "m",
            "Content-Type: text/plain\n\nhi",
            "Content-Type: application/pdf\n"
            f"Content-Disposition: attachment; filename*=UTF-8''{quote(name)}\n\nxx",
            # continuations (RFC 2231 section 3) with an encoded first segment
            "Content-Type: application/octet-stream\n"
            "Content-Disposition: attachment;\n"
            f" filename*0*=UTF-8''{quote(name[:5])};\n filename*1*={quote(name[5:])}\n\nxx",
            # Outlook style: an RFC 2047 word inside quotes
            f'Content-Type: image/png; name="{b64word(name)}"\n\nxx',
        )
    )
    nodes = paths(parse_message(raw))
    assert nodes["2"].filename == name
    assert nodes["3"].filename == name
    assert nodes["4"].filename == name


def test_unquoted_encoded_word_filename() -> None:
    # Invalid (RFC 2047 words are not allowed there) but sent by real clients.
    name = "Список.doc"
    word = b64word(name, "koi8-r")
    raw = msg(f"Content-Type: text/plain; name={word}\nContent-Disposition: attachment; filename={word}", "Salutations\n")
    parsed = parse_message(raw)
    assert parsed.root.children[0].filename == name
    # A mail that is nothing but a text attachment shows that text.
    assert parsed.body == "Salutations\n"


def test_attachment_without_filename() -> None:
    raw = msg("Subject: s\n" + multipart("m", "Content-Type: text/plain\n\nhi", "Content-Type: image/gif\n\nGIF89a"))
    node = paths(parse_message(raw))["2"]
    assert node.filename is None
    assert "filename" not in part_text(raw, "2")


def test_mail_without_text_says_so() -> None:
    raw = msg("Subject: s\n" + multipart("m", "Content-Type: image/gif\n\nGIF89a", "Content-Type: application/zip\n\nPK"))
    assert parse_message(raw).body == NO_TEXT


def test_text_attachment_is_not_the_body() -> None:
    raw = msg(
        "Subject: s\n"
        + multipart(
            "m",
            'Content-Type: text/plain\nContent-Disposition: attachment; filename="log.txt"\n\nlog lines',
            "Content-Type: text/plain\n\nthe real body",
        )
    )
    assert parse_message(raw).body == "the real body"
    assert part_text(raw, "1") == "log lines"


INNER = "From: Inner Sender <inner@example.org>\nSubject: {subject}\n" + multipart(
    "inner",
    "Content-Type: text/plain\n\ninner body text",
    "Content-Type: image/png\nContent-Disposition: attachment; filename=pic.png\n\nPNG",
)


def test_nested_message_rfc822_paths() -> None:
    inner_subject = "Forwarded " + "ü"
    raw = msg(
        "Subject: outer\n"
        + multipart(
            "outer",
            "Content-Type: text/plain\n\nouter body",
            "Content-Type: message/rfc822\n\n" + INNER.format(subject=b64word(inner_subject)),
        )
    )
    parsed = parse_message(raw)
    assert parsed.subject == "outer"
    assert parsed.body == "outer body"
    nodes = paths(parsed)
    assert sorted(nodes) == ["", "1", "2", "2.1", "2.2"]
    assert nodes["2"].content_type == "message/rfc822"
    assert [c.path for c in nodes["2"].children] == ["2.1", "2.2"]
    assert (nodes["2.1"].content_type, nodes["2.1"].depth) == ("text/plain", 2)
    assert nodes["2.2"].filename == "pic.png"
    shown = part_text(raw, "2")
    assert f"Subject: {inner_subject}" in shown
    assert "From: Inner Sender <inner@example.org>" in shown
    assert shown.endswith("inner body text")
    assert part_text(raw, "2.1") == "inner body text"


def test_single_part_inner_message_is_numbered_like_imap() -> None:
    raw = msg(
        "Subject: outer\n"
        + multipart(
            "o",
            "Content-Type: text/plain\n\nouter",
            "Content-Type: message/rfc822\n\nSubject: inner\nContent-Type: text/plain\n\nonly text",
        )
    )
    nodes = paths(parse_message(raw))
    assert [c.path for c in nodes["2"].children] == ["2.1"]
    assert part_text(raw, "2.1") == "only text"


def test_deeper_paths() -> None:
    raw = msg(
        "Subject: s\n"
        + multipart(
            "a",
            multipart("b", multipart("c", "Content-Type: text/plain\n\ndeep", "Content-Type: text/plain\n\ndeeper"), "Content-Type: text/plain\n\nside"),
            "Content-Type: text/plain\n\nlast",
        )
    )
    nodes = paths(parse_message(raw))
    assert sorted(nodes) == ["", "1", "1.1", "1.1.1", "1.1.2", "1.2", "2"]
    assert part_text(raw, "1.1.2") == "deeper"
    assert all(node.depth == len(node.path.split(".")) for node in nodes.values() if node.path)
    summary = part_text(raw, "1")
    assert "1.1  multipart/mixed" in summary and "1.2  text/plain" in summary


def test_multipart_report_with_delivery_status() -> None:
    status = (
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: rfc822; nobody@example.com\nAction: failed\nStatus: 5.1.1\n"
    )
    raw = msg(
        "Subject: Undelivered Mail Returned to Sender\n"
        + multipart(
            "r",
            "Content-Type: text/plain\n\nYour message could not be delivered.",
            "Content-Type: message/delivery-status\n\n" + status,
            "Content-Type: text/rfc822-headers\n\nSubject: original\nTo: nobody@example.com\n",
            subtype="report",
            extra="; report-type=delivery-status",
        )
    )
    parsed = parse_message(raw)
    assert parsed.body == "Your message could not be delivered."
    nodes = paths(parsed)
    assert nodes[""].content_type == "multipart/report"
    assert nodes["2"].content_type == "message/delivery-status"
    assert nodes["2"].children == ()
    assert nodes["2"].size > 0
    shown = part_text(raw, "2")
    for line in ("Reporting-MTA: dns; mx.example.org", "Final-Recipient: rfc822; nobody@example.com", "Status: 5.1.1"):
        assert line in shown
    assert "Subject: original" in part_text(raw, "3")


# --- charsets -----------------------------------------------------------------------


def test_unknown_charset() -> None:
    raw = msg("Subject: s\nContent-Type: text/plain; charset=\"x-unknown\"", "") + b"caf\xe9 \xff ok\n"
    parsed = parse_message(raw)
    assert parsed.body.startswith("caf")
    assert parsed.body.endswith(" ok\n")
    assert any("x-unknown" in note for note in parsed.notes)
    node = parsed.root.children[0]
    assert node.charset == "x-unknown"
    assert "x-unknown" in node.note
    shown = part_text(raw, "1")
    assert shown.startswith("(")  # the note comes first
    assert shown.endswith(" ok\n")


@pytest.mark.parametrize("charset", ["base64", "zlib", "idna", "rot13", "x" * 300, "utf-8\x00"])
def test_codecs_that_are_not_text_charsets(charset: str) -> None:
    raw = f'Content-Type: text/plain; charset="{charset}"\n\nhello\n'.encode()
    assert parse_message(raw).body == "hello\n"
    assert part_text(raw, "1").endswith("hello\n")


def test_bad_utf8_bytes_become_replacement_characters() -> None:
    raw = b"Content-Type: text/plain; charset=utf-8\n\nok \xc3\x28 \xff end\n"
    body = parse_message(raw).body
    assert body.startswith("ok ") and body.endswith(" end\n")
    assert "\ufffd" in body


def test_latin1_label_is_read_as_windows_1252() -> None:
    # \x93 \x94 are curly quotes in windows-1252 and C1 controls in strict Latin-1.
    raw = b"Content-Type: text/plain; charset=iso-8859-1\n\n\x93caf\xe9\x94\n"
    assert parse_message(raw).body == "\u201ccaf\u00e9\u201d\n"


def test_quoted_printable_and_declared_charset() -> None:
    raw = b"Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: quoted-printable\n\n=F0=D2=C9=D7=C5=D4\n"
    assert parse_message(raw).body == "Привет\n"


# --- hostile structure ----------------------------------------------------------------


def test_multipart_without_boundary() -> None:
    raw = msg("Subject: s\nContent-Type: multipart/mixed", "just some text\n")
    parsed = parse_message(raw)
    assert parsed.root.children
    assert "just some text" in parsed.body
    assert parsed.root.children[0].note
    assert "just some text" in part_text(raw, "1")


def test_multipart_with_no_parts() -> None:
    raw = msg("Subject: s\nContent-Type: multipart/mixed; boundary=x", "preamble only\n--x--\n")
    parsed = parse_message(raw)
    assert len(parsed.root.children) == 1
    part_text(raw, "1")


def nested_multipart(levels: int) -> bytes:
    head = "".join(f'--b{i}\nContent-Type: multipart/mixed; boundary="b{i + 1}"\n\n' for i in range(levels))
    tail = "".join(f"--b{i}--\n" for i in reversed(range(levels)))
    return msg('Subject: deep\nContent-Type: multipart/mixed; boundary="b0"', head + f"--b{levels}\n\ndeep text\n--b{levels}--\n" + tail)


def test_5000_level_nesting_is_cut_off_with_a_note() -> None:
    raw = nested_multipart(5000)
    parsed = parse_message(raw)  # must not raise RecursionError
    assert parsed.subject == "deep"
    assert parsed.notes
    assert parsed.root.children
    assert "deep text" in parsed.body  # the raw text stays readable
    for node in walk(parsed.root):
        part_text(raw, node.path)


def test_nesting_beyond_max_depth_is_cut_off() -> None:
    raw = nested_multipart(60)  # the email parser copes with this; our walk stops at 40
    parsed = parse_message(raw, max_depth=40)
    nodes = list(walk(parsed.root))
    assert max(node.depth for node in nodes) == 40
    cut = [node for node in nodes if "nested deeper" in node.note]
    assert len(cut) == 1 and cut[0].depth == 40
    assert parsed.notes
    assert "nested deeper" in part_text(raw, cut[0].path)


def test_more_than_max_parts() -> None:
    raw = msg("Subject: many\n" + multipart("m", *[f"Content-Type: text/plain\n\npart {i}" for i in range(50)]))
    parsed = parse_message(raw, max_parts=10)
    assert len(parsed.root.children) == 10
    assert parsed.root.note
    assert parsed.notes
    assert parse_message(raw).root.children[-1].path == "50"


def test_unknown_path() -> None:
    raw = msg("Subject: s", "x")
    assert "no part" in part_text(raw, "7.3")
    assert "no part" in part_text(raw, "not a path")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\n",
        b"\x00\xff" * 500,
        b"Content-Type: text/plain; charset=\n\n\xff",
        b"Content-Type: message/rfc822\n\n",
        b"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeAoKeQo=\n",
        b"Content-Type: multipart/mixed; boundary=\n\n--\n\nx\n----\n",
        b"Content-Type: ;;;\nContent-Disposition: ;;; filename*=''\n\nx",
        b"Content-Transfer-Encoding: base64\n\n!!!not base64!!!",
        b"Content-Transfer-Encoding: x-uuencode\n\nbegin 644 f\n#garbage\nend\n",
        b"Subject: =?utf-8?q?=FF?= =?utf-8?b?####?=\nFrom: <<<@@@>>>\nTo: \"unterminated\n\nx",
        b"Content-Type: message/delivery-status\n\n\n\n",
        b"From: " + b"a" * 200_000 + b"\n\nlong header\n",
    ],
)
def test_garbage_never_raises(raw: bytes) -> None:
    parsed = parse_message(raw)
    assert parsed.root.children
    for node in walk(parsed.root):
        assert isinstance(part_text(raw, node.path), str)


def test_non_bytes_input_never_raises() -> None:
    assert parse_message("Subject: str input\n\nbody").subject == "str input"  # type: ignore[arg-type]
    assert isinstance(part_text(None, None), str)  # type: ignore[arg-type]


# --- HTML -> text -------------------------------------------------------------------

HTML_CASES = [
    ("script and style dropped", "<style>p{}</style><script>var x=1</script><p>shown</p>", "shown"),
    ("head dropped", "<head><title>t</title><meta charset=utf-8></head><body>shown</body>", "shown"),
    ("head never closed", "<head><title>t</title><body><p>shown</p>", "shown"),
    ("br", "one<br>two<br/>three", "one\ntwo\nthree"),
    ("paragraphs", "<p>one</p><p>two</p>", "one\n\ntwo"),
    ("divs", "<div>one</div><div>two</div>", "one\ntwo"),
    ("list", "<ul><li>a</li><li>b</li></ul>", "• a\n• b"),
    ("ordered list", "<ol><li>a<li>b</ol>", "1. a\n2. b"),
    ("entities", "&lt;b&gt; &amp; &eacute; &#233; &#x1F600; &nbsp;x", "<b> & é é 😀  x"),
    ("whitespace collapsed", "a \n\t  b\n\n\nc", "a b c"),
    ("pre keeps whitespace", "<pre>a\n  b</pre>", "a\n  b"),
    ("blockquote", "<blockquote>quoted</blockquote>", "> quoted"),
    ("image alt", '<img src="cid:x" alt="Logo">', "[image: Logo]"),
    ("link equal to its text", '<a href="https://e.org">https://e.org</a>', "https://e.org"),
    ("mailto link", '<a href="mailto:a@e.org">a@e.org</a>', "a@e.org"),
    ("anchor and javascript links", '<a href="#top">top</a> <a href="javascript:x()">js</a>', "top js"),
    ("same url twice", '<a href="https://e.org/u">a</a> <a href="https://e.org/u">b</a>',
     "a [1] b [1]\n\nLinks:\n[1] https://e.org/u"),
    ("relative link: nothing to follow", '<a href="u">a</a>', "a"),
    ("outlook conditional comment", "<!--[if mso]><p>outlook</p><![endif]-->shown", "shown"),
    ("unknown marked section", "<![foo[x]]>after", "after"),  # a bogus comment, as browsers read it
    ("stray less-than", "a < b and c <d", "a < b and c"),  # "<d" opens a tag, never closed
    ("unclosed comment hides the rest", "shown<!-- hidden", "shown"),
]


@pytest.mark.parametrize(("what", "html", "expected"), HTML_CASES, ids=[c[0] for c in HTML_CASES])
def test_html_to_text(what: str, html: str, expected: str) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    "html",
    ["<a " * 20_000, "<!--x" * 20_000, "<" * 100_000, "<ul><li>" * 20_000, "<blockquote>x" * 5_000, '<a href="u">x' * 5_000],
    ids=["unclosed tags", "unclosed comments", "less-thans", "nested lists", "nested quotes", "nested links"],
)
def test_html_hostile_input_stays_fast(html: str) -> None:
    # Python 3.11's html.parser is quadratic on some of these (24 KB of "<a " took 7 s);
    # this bound is loose on purpose, it only catches that regression.
    start = time.perf_counter()
    out = html_to_text(html)
    assert time.perf_counter() - start < 5
    assert len(out) < 10 * len(html)


def test_html_fetches_nothing() -> None:
    # Remote images and links are never fetched: they are text, nothing else.
    out = html_to_text('<img src="https://tracker.example/p.gif"><a href="https://e.org/x">go</a>')
    assert out == "go [1]\n\nLinks:\n[1] https://e.org/x"


# --- real-world corpus --------------------------------------------------------------

CORPUS_FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".msg", ".eml"))


def test_corpus_is_present() -> None:
    assert len(CORPUS_FILES) >= 100
    assert (CORPUS / "README.md").is_file()


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus_message(path: Path) -> None:
    raw = path.read_bytes()
    parsed = parse_message(raw)
    assert isinstance(parsed.body, str)
    assert parsed.root.children, "a root with at least one part"
    for node in walk(parsed.root):
        assert node.content_type == node.content_type.lower() and "/" in node.content_type
        assert isinstance(part_text(raw, node.path), str)


# --- property tests: hostile messages -----------------------------------------------
# Random messages built from hostile pieces: encoded words in unknown charsets, raw
# 8-bit and escape bytes, multiparts nested up to 60 deep with missing or mismatched
# boundaries, broken base64 and quoted-printable, HTML with scripts and entities.  What
# the viewer shows (tui/widgets/message_view.py: headers and notes via safe_line, body
# and part text via safe_block, part labels via safe_line) must be inert, every example
# must render in under 2 s, and the part tree must respect its caps.
#
# Example counts keep this section to about 20 s.  For a long run set
# TUI_MAIL_FUZZ_EXAMPLES (as in tests/test_search_property.py), e.g.
# `TUI_MAIL_FUZZ_EXAMPLES=3000 pytest tests/test_mime.py`: every property then runs
# that many examples.

RENDER_SECONDS = 2.0




# Defined here from the Unicode database, not taken from tui.safe_text: controls,
# format characters (bidi, zero-width, tags), lone surrogates, line/paragraph separators.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def forbidden(text: str, keep: str = "") -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if c not in keep and unicodedata.category(c) in FORBIDDEN_CATEGORIES]


ESCAPES = [
    b"\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07", b"\x1b[6n", b"\x1b[31;1m", b"\x1b]8;;https://evil.example/\x1b\\",
    b"\x1bPq#0~~\x1b\\", b"\x1b_Gf=100;AAAA\x1b\\", b"\x1b", b"\x07", b"\x00", b"\r", b"\n", b"\t", b"\x0c", b"\x08",
    b"\x9b6n", b"\xc2\x9b6n", b"\xc2\x9d0;t\xc2\x9c", "\u202e".encode(), "\u2066".encode(), "\u200b".encode(),
    "\U000e0041".encode(), "\u2028".encode(), b"\xed\xa0\x80", b"\xff\xfe", b"\xc0\x80", b"\x80\x9f",
]
CHARSETS = [
    b"utf-8", b"UTF-8", b"us-ascii", b"iso-8859-1", b"windows-1252", b"koi8-r", b"utf-16", b"utf-16-le",
    b"utf-32", b"utf-7", b"iso-2022-jp", b"gb2312", b"shift_jis", b"big5", b"euc-kr", b"unknown-8bit",
    b"x-no-such-charset", b"base64", b"rot13", b"zlib", b"hex", b"idna", b"punycode", b"uu", b"", b"\x1b[31m",
    b"utf-8\x00", b"utf-8'en'", b"a" * 200, b'"utf-8"', b"\xff",
]
HEADER_NAMES = [
    b"Subject", b"From", b"To", b"Cc", b"Date", b"Content-Type", b"Content-Transfer-Encoding",
    b"Content-Disposition", b"MIME-Version", b"X-\x1b[6n", b"\xff\xfe", b"", b" Subject", b"subject",
]
PUNCT = [b"\r\n ", b"\r\n\t", b"\n ", b" ", b'"', b"<", b">", b"@", b",", b";", b"=", b"=?", b"?=", b"(", b")", b"\\", b"'"]
HTML_PIECES = [
    "<script>", "</script>", "<style>", "</style>", "<p>", "</p>", "<br>", "<br/>", "<div>", "</div>",
    "<ul>", "<ol>", "<li>", "</ul>", "</ol>", "<pre>", "</pre>", "<blockquote>", "</blockquote>",
    "<table><tr><td>", "</td><td>", "</tr></table>", "<head>", "</head>", "<body>", "<title>", "</title>",
    '<a href="https://x.example/\x1b[6n">', '<a href="javascript:alert(1)">', "</a>", '<img alt="\u202eexe.pdf">',
    "<!--", "-->", "<![CDATA[", "]]>", "<![if mso]>", "<![endif]>", "<![foo[", "<!DOCTYPE html>", "<?xml?>",
    "<", ">", "&", "&amp;", "&lt;", "&#27;", "&#x1b;", "&#x9b;", "&#155;", "&#x202e;", "&#x2066;", "&#0;",
    "&#xd800;", "&#x110000;", "&#99999999999;", "&nbsp;", "&zwj;", "&shy;", "&rlm;", "&bogus;", "&#x",
    "<textarea>", "<xmp>", "<plaintext>", "<svg><script>", "<math>", "<template>", "</template>", "<hr>",
    "\x1b]52;c;aGk=\x07", "\x1b[31m", "\u202e", "\x00", "\r\n", "\t", "text", " ",
]
LEAF_TYPES = [
    b"text/plain", b"text/plain", b"text/html", b"text/html", b"text/enriched", b"application/octet-stream",
    b"image/png", b"message/delivery-status", b"message/disposition-notification", b"message/partial",
    b"message/rfc822", b"multipart/mixed", b"TEXT/PLAIN", b"text", b"", b"/", b"\x1b[31m/x", b"text/plain\xff",
]
CTES = [b"7bit", b"8bit", b"binary", b"base64", b"BASE64", b"quoted-printable", b"x-uuencode", b"garbage\x1b[6n", b""]

# Strategies are built once, here: hypothesis caches what it learns about a strategy on
# the object, and building fresh ones inside every draw was most of the run time.
charsets = st.sampled_from(CHARSETS)
hostile_bytes = st.lists(
    st.one_of(
        st.binary(max_size=12),
        st.sampled_from(ESCAPES),
        st.text(st.characters(exclude_categories=()), max_size=8).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.sampled_from([b"Hello", b"Gr\xc3\xbc\xc3\x9fe", b"\xe6\x97\xa5\xe6\x9c\xac", b" "]),
    ),
    max_size=10,
).map(b"".join)
html_text = st.lists(st.one_of(st.sampled_from(HTML_PIECES), st.text(max_size=8)), max_size=40).map("".join)


@st.composite
def encoded_word(draw) -> bytes:
    """=?charset?enc?payload?=, valid or not."""
    charset = draw(charsets)
    enc = draw(st.sampled_from([b"Q", b"q", b"B", b"b", b"X", b""]))
    data = draw(hostile_bytes)
    if enc in (b"B", b"b"):
        payload = base64.b64encode(data)
        if draw(st.booleans()):  # garbage, cut padding
            payload = payload.rstrip(b"=") + draw(st.sampled_from([b"", b"!", b"=", b"*", b"\x1b"]))
    else:
        payload = b"".join(b"_" if b == 0x20 else bytes([b]) if 0x30 <= b <= 0x7A and b != 0x3F else b"=%02X" % b for b in data)
        payload += draw(st.sampled_from([b"", b"=", b"=Z", b"=G1", b"?"]))
    return b"=?" + charset + b"?" + enc + b"?" + payload + b"?="


encoded_words = encoded_word()
header_value = st.lists(st.one_of(encoded_words, hostile_bytes, st.sampled_from(PUNCT)), max_size=6).map(b"".join)
extra_headers = st.lists(st.tuples(st.sampled_from(HEADER_NAMES), header_value), max_size=2).map(
    lambda pairs: [name + b": " + value for name, value in pairs]
)


@st.composite
def filename_param(draw) -> bytes:
    """filename= or name=, quoted, bare, or RFC 2231 (one piece or split)."""
    name = draw(st.one_of(hostile_bytes, encoded_words))
    style = draw(st.sampled_from(["quoted", "bare", "2231", "2231-split"]))
    key = draw(st.sampled_from([b"filename", b"name"]))
    if style == "quoted":
        return key + b'="' + name + b'"'
    if style == "bare":
        return key + b"=" + name
    pct = b"".join(b"%%%02X" % b for b in name)
    charset = draw(charsets)
    if style == "2231":
        return key + b"*=" + charset + b"''" + pct
    half = len(pct) // 2
    return key + b"*0*=" + charset + b"''" + pct[:half] + b"; " + key + b"*1*=" + pct[half:]


filename_params = filename_param()
type_params = st.lists(
    st.one_of(filename_params, st.sampled_from([b"charset=" + c for c in CHARSETS] + [b";;", b"=", b"x*=''"])),
    max_size=2,
)
disposition = st.tuples(st.sampled_from([b"attachment", b"inline", b"\x1b[6n", b""]), filename_params).map(
    lambda d: b"Content-Disposition: " + d[0] + b"; " + d[1]
)
boundaries = st.one_of(st.sampled_from([b"b", b"=_x", b"--", b" ", b"a\x1b[6n", b"\xff", b"b" * 80]), st.binary(min_size=1, max_size=10))
multipart_subtypes = st.sampled_from([b"mixed", b"alternative", b"related", b"digest", b"report", b"signed", b"x-\x1b"])
boundary_styles = st.sampled_from(["ok", "ok", "ok", "mismatched", "unclosed", "no-param", "unquoted"])


@st.composite
def leaf(draw) -> tuple[list[bytes], bytes]:
    """(headers, body) of a leaf part, the body transfer-encoded (or broken) as declared."""
    ctype = draw(st.sampled_from(LEAF_TYPES))
    data = draw(html_text).encode("utf-8", "surrogatepass") if ctype == b"text/html" else draw(hostile_bytes)
    cte = draw(st.sampled_from(CTES))
    if cte.lower() == b"base64":
        body = base64.encodebytes(data)
        if draw(st.booleans()):
            cut = draw(st.integers(0, len(body)))
            body = body[:cut] + draw(st.sampled_from([b"!!!", b"=", b"====", b"\x1b[6n", b"\xff", b""])) + body[cut:]
    elif cte == b"quoted-printable":
        body = quopri.encodestring(data) + draw(st.sampled_from([b"", b"=", b"=ZZ", b"=\n", b"=1", b"=\x1b"]))
    elif cte == b"x-uuencode":
        body = b"begin 644 \x1b]0;t\x07\n" + draw(hostile_bytes) + b"\nend\n"
    else:
        body = data
    headers = [b"Content-Type: " + ctype + b"; " + b"; ".join(draw(type_params))]
    if draw(st.booleans()):
        headers.append(b"Content-Transfer-Encoding: " + cte)
    return headers, body


leaves = leaf()


@st.composite
def entity(draw, depth: int, chain: int = 0) -> bytes:
    """One MIME entity: header lines, blank line, body.  First `chain` levels of
    single-child nesting, then a random tree at most `depth` levels deep."""
    if chain:
        # A chain level only carries the nesting: hostile headers at every one of 60
        # levels made examples slow to generate and add nothing the tree levels lack.
        kind = draw(st.sampled_from(["multipart", "rfc822"]))
        headers: list[bytes] = []
        params: list[bytes] = []
    else:
        kind = draw(st.sampled_from(["leaf", "leaf", "multipart", "rfc822"] if depth > 0 else ["leaf"]))
        headers = draw(extra_headers)
        params = draw(type_params)
        if draw(st.booleans()):
            headers.append(draw(disposition))
    if kind == "multipart":
        if chain:  # one boundary per level, or the levels would end each other's parts
            boundary, subtype, style = b"c%d" % chain, b"mixed", "ok"
            children = [draw(entities(depth, chain - 1))]
            if draw(st.integers(0, 9)) == 0:
                children.append(draw(entities(0)))
        else:
            boundary, subtype, style = draw(boundaries), draw(multipart_subtypes), draw(boundary_styles)
            children = [draw(entities(depth - 1)) for _ in range(draw(st.integers(0, 3)))]
        used = boundary + b"x" if style == "mismatched" else boundary
        param = b"" if style == "no-param" else b"; boundary=" + (boundary if style == "unquoted" else b'"' + boundary + b'"')
        headers.append(b"Content-Type: multipart/" + subtype + param + b"; " + b"; ".join(params))
        body = b"" if chain else draw(st.sampled_from([b"", b"preamble \x1b]0;t\x07\r\n"]))
        body += b"".join(b"--" + used + b"\r\n" + child + b"\r\n" for child in children)
        if style != "unclosed":
            body += b"--" + used + b"--\r\n" + (b"" if chain else draw(st.sampled_from([b"", b"epilogue\x1b[6n"])))
    elif kind == "rfc822":
        body = draw(messages(depth, chain - 1) if chain else messages(depth - 1))
        ctype = draw(st.sampled_from([b"message/rfc822", b"message/global"]))
        headers.append(b"Content-Type: " + ctype + b"; " + b"; ".join(params))
        if not chain and draw(st.integers(0, 4)) == 0:
            headers.append(b"Content-Transfer-Encoding: base64")
            body = base64.encodebytes(body)
    else:
        more, body = draw(leaves)
        headers += more
    if not chain:
        draw(st.randoms()).shuffle(headers)
    return b"\r\n".join(headers) + b"\r\n\r\n" + body


@st.composite
def message(draw, depth: int, chain: int = 0) -> bytes:
    if chain:
        top = [b"Subject: level %d" % chain]
    else:
        top = [name + b": " + draw(header_value) for name in (b"Subject", b"From", b"To", b"Cc", b"Date") if draw(st.booleans())]
        top += draw(extra_headers)
    raw = b"\r\n".join([*top, b""]) + draw(entities(depth, chain))
    line_ends = "crlf" if chain else draw(st.sampled_from(["crlf", "lf", "cr"]))
    if line_ends == "lf":
        raw = raw.replace(b"\r\n", b"\n")
    elif line_ends == "cr":
        raw = raw.replace(b"\r\n", b"\r")
    return raw


# One strategy object per argument tuple, for the same reason as above.
entities = functools.cache(entity)
messages = functools.cache(message)

# (raw, structured): structured messages are ours, at most ~65 levels deep, and must
# keep their part tree; arbitrary bytes may fall back to raw text.
hostile_message = st.one_of(
    messages(3).map(lambda raw: (raw, True)),
    st.integers(1, 60).flatmap(lambda levels: messages(1, levels)).map(lambda raw: (raw, True)),
    st.binary(max_size=2000).map(lambda raw: (raw, False)),
)


def shown(raw: bytes, max_depth: int = 40, max_parts: int = 2000) -> tuple[ParsedMessage, list[str], list[str]]:
    """Parse and render as the message view does: (parsed, one-line texts, blocks)."""
    parsed = parse_message(raw, max_depth=max_depth, max_parts=max_parts)
    lines = [safe_line(v, 2000) for v in (parsed.subject, parsed.from_, parsed.to, parsed.cc, parsed.date)]
    lines += [safe_line(note) for note in parsed.notes]
    blocks = [safe_block(parsed.body)]
    for node in walk(parsed.root):
        lines += [safe_line(node.content_type, 80), safe_line(node.filename or "", 60), safe_line(node.charset or "", 30)]
        text = part_text(raw, node.path, max_depth=max_depth, max_parts=max_parts)
        assert isinstance(text, str)
        assert not text.startswith("(no part "), f"tree path {node.path!r} cannot be shown"
        blocks.append(safe_block(text))
    return parsed, lines, blocks


def assert_tree_caps(root: MimePart, max_depth: int, max_parts: int) -> None:
    nodes = list(walk(root))
    assert len(nodes) - 1 <= max(max_parts, 1)  # the raw-text fallback always has its one part
    assert max(node.depth for node in nodes) <= min(max_depth, 100)  # 100: tui.mime._HARD_MAX_DEPTH
    for node in nodes:
        for number, child in enumerate(node.children, 1):
            assert child.depth == node.depth + 1
            assert child.path == (f"{node.path}.{number}" if node.path else str(number))


@fuzz(250)
@given(message=hostile_message, max_depth=st.sampled_from([40, 40, 40, 1, 3, 1000]), max_parts=st.sampled_from([2000, 2000, 2000, 1, 4]))
@example(message=(nested_multipart(120), True), max_depth=1000, max_parts=2000)  # the hard depth cap
@example(message=(b"Subject: =?utf-8?b?G101MjtjO2FHaz0H4oCu8w==?=\n\n\x1b[6n\xc2\x9b6n", True), max_depth=40, max_parts=2000)
# Found by this test: an RFC 2231 parameter in a charset whose decoder raises something
# other than LookupError failed message_from_bytes, so the whole message became raw text.
@example(message=(b"Content-Type: text/plain; filename*=idna''%00\r\n\r\n", True), max_depth=40, max_parts=2000)
@example(
    message=(b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; name*=utf-8\x00''%41\n\nhi\n--b--\n", True),
    max_depth=40,
    max_parts=2000,
)
def test_hostile_message_renders_inert_quickly_within_caps(message: tuple[bytes, bool], max_depth: int, max_parts: int) -> None:
    raw, structured = message
    start = time.perf_counter()
    parsed, lines, blocks = shown(raw, max_depth, max_parts)
    elapsed = time.perf_counter() - start
    assert elapsed < RENDER_SECONDS, f"{elapsed:.2f} s for {len(raw)} bytes"
    for line in lines:
        assert not forbidden(line), (line, forbidden(line))
    for block in blocks:
        assert not forbidden(block, keep="\n"), forbidden(block, keep="\n")
    assert_tree_caps(parsed.root, max_depth, max_parts)
    if structured:  # a bad header degrades its part, not the whole message
        assert not [note for note in parsed.notes if "shown as raw text" in note], parsed.notes


@fuzz(300)
@given(html=html_text, repeat=st.sampled_from([1, 1, 1, 50, 2000]))
@example(html="<pre>\x1b]52;c;aGk=\x07&#x1b;[6n</pre><a href='\x9b6n'>x</a>&#x202e;", repeat=1)
def test_hostile_html_renders_inert_quickly(html: str, repeat: int) -> None:
    # A repeated fragment turns a super-linear corner of html.parser into seconds.
    html *= repeat
    start = time.perf_counter()
    text = html_to_text(html)
    elapsed = time.perf_counter() - start
    assert isinstance(text, str)
    assert elapsed < RENDER_SECONDS, f"{elapsed:.2f} s for {len(html)} characters"
    assert not forbidden(safe_block(text), keep="\n")


# --- part_payload: the bytes of a leaf, to save it ------------------------------------------------
# Messages are built here from the bytes each leaf must give back, encoded by the stdlib
# (base64, binascii) rather than by the code under test.

SAVE_OUTER, SAVE_INNER = "=_outer_7Qz", "=_inner_9Wx"


def encoded_part(data: bytes, encoding: str, name: str) -> bytes:
    """One MIME entity (headers, blank line, body) whose transfer-decoded body is `data`."""
    if encoding == "base64":
        body = base64.encodebytes(data)
    elif encoding == "quoted-printable":  # line breaks too as =0D=0A: quopri's text mode makes CR LF of them
        body = binascii.b2a_qp(data, istext=False)
    else:
        body = data
    return (f"Content-Type: application/octet-stream; name=\"{name}\"\r\n"
            f"Content-Disposition: attachment; filename=\"{name}\"\r\n"
            f"Content-Transfer-Encoding: {encoding}\r\n\r\n").encode() + body


def multipart_of(boundary: str, entities: list[bytes]) -> bytes:
    """A multipart body; the CRLF before each delimiter belongs to the delimiter (RFC 2046 5.1.1)."""
    return b"".join(b"--%s\r\n%s\r\n" % (boundary.encode(), e) for e in entities) + b"--%s--\r\n" % boundary.encode()


# Bytes that stand for any attachment; an 8bit body cannot hold its multipart's delimiter.
payload_bytes = st.binary(max_size=600).filter(lambda data: b"=_" not in data)
ENCODINGS = ["base64", "quoted-printable", "8bit"]


@fuzz(150)
@given(outer=st.lists(payload_bytes, min_size=3, max_size=3), inner=st.lists(payload_bytes, min_size=3, max_size=3))
@example(outer=[b"", b"\r", b"line\r\n"], inner=[b"\n", b"=3D \t\r\n", b"\x00\xff" * 300])
def test_part_payload_gives_back_every_leafs_bytes(outer: list[bytes], inner: list[bytes]) -> None:
    inner_message = (b"From: b@example.org\r\nSubject: inner\r\nMIME-Version: 1.0\r\n"
                     b'Content-Type: multipart/mixed; boundary="' + SAVE_INNER.encode() + b'"\r\n\r\n'
                     + multipart_of(SAVE_INNER, [encoded_part(d, e, f"in{n}") for n, (d, e) in enumerate(zip(inner, ENCODINGS))]))
    attached = b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n" + inner_message
    leaves = [encoded_part(d, e, f"out{n}") for n, (d, e) in enumerate(zip(outer, ENCODINGS))]
    raw = (b"From: a@example.org\r\nSubject: outer\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="' + SAVE_OUTER.encode() + b'"\r\n\r\n'
           + multipart_of(SAVE_OUTER, [b"Content-Type: text/plain\r\n\r\nsee attached", *leaves, attached]))
    expected = {"1": b"see attached", "2": outer[0], "3": outer[1], "4": outer[2],
                "5.1": inner[0], "5.2": inner[1], "5.3": inner[2]}
    tree = paths(parse_message(raw))
    assert {path for path, node in tree.items() if not node.children} == set(expected)  # the numbering of part_tree
    for path, data in expected.items():
        assert part_payload(raw, path) == data, path
    assert part_payload(raw, "") is None  # the multipart
    # The attached message, as a message of its own (Enter opens it in the viewer): its
    # leaves are numbered from 1 there. Re-serialised by the email package, so only the
    # transfer-encoded ones are sure to keep every byte (a save fetches the server's bytes).
    attached_alone = part_payload(raw, "5")
    assert parse_message(attached_alone).subject == "inner"
    for number, (data, encoding) in enumerate(zip(inner, ENCODINGS), 1):
        if encoding != "8bit":
            assert part_payload(attached_alone, str(number)) == data
    for missing in ("6", "5.4", "1.1", "0", "x", "2."):
        assert part_payload(raw, missing) is None


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_part_payload_of_a_single_part_message_is_its_body_at_both_paths(encoding: str) -> None:
    data = bytes(range(256)) * 3 if encoding != "8bit" else "Grüße\r\n\x1b[6n\r\n".encode()
    raw = b"From: a@example.org\r\nMIME-Version: 1.0\r\n" + encoded_part(data, encoding, "x.bin")
    assert part_payload(raw, "") == part_payload(raw, "1") == data


def test_part_payload_of_an_inner_single_part_message() -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
    inner = b"Subject: inner\r\n" + encoded_part(data, "base64", "p.png")
    raw = (b"MIME-Version: 1.0\r\n" b'Content-Type: multipart/mixed; boundary="' + SAVE_OUTER.encode() + b'"\r\n\r\n'
           + multipart_of(SAVE_OUTER, [b"Content-Type: text/plain\r\n\r\nhi", b"Content-Type: message/rfc822\r\n\r\n" + inner]))
    assert part_payload(raw, "2.1") == data  # numbered as IMAP does: the inner body is 2.1
    inner_alone = part_payload(raw, "2")  # the attached message itself, to open it as one
    assert parse_message(inner_alone).subject == "inner" and part_payload(inner_alone, "1") == data


def test_part_payload_of_a_delivery_status_is_its_header_blocks() -> None:
    raw = msg(multipart("b", "Content-Type: text/plain\n\nbounced",
                        "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n\n"
                        "Final-Recipient: rfc822; a@example.org\nAction: failed\n", subtype="report"))
    assert part_payload(raw, "2") == (b"Reporting-MTA: dns; mx.example\n\n"
                                      b"Final-Recipient: rfc822; a@example.org\nAction: failed\n\n")


def test_part_payload_beyond_the_caps_is_none() -> None:
    raw = nested_multipart(10)
    deepest = max(walk(parse_message(raw, max_depth=1000).root), key=lambda node: node.depth)
    assert part_payload(raw, deepest.path, max_depth=1000) is not None
    assert part_payload(raw, deepest.path, max_depth=3) is None
    many = msg(multipart("b", *[f"Content-Type: text/plain\n\npart {n}" for n in range(10)]))
    assert part_payload(many, "3", max_parts=4) == b"part 2"
    assert part_payload(many, "9", max_parts=4) is None


@fuzz(60)
@given(message=hostile_message)
@example(message=(nested_multipart(5000), True))
@example(message=((b"Content-Type: multipart/report; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\n"
                   b"Reporting-MTA: dns; \xff\x1b\nAction: failed\n\n--b--\n"), True))
def test_part_payload_never_raises_and_answers_for_every_leaf(message: tuple[bytes, bool]) -> None:
    raw, _structured = message
    parsed = parse_message(raw)
    for node in walk(parsed.root):
        got = part_payload(raw, node.path)
        if not node.path:
            single = not node.content_type.startswith("multipart/") and not any("raw text" in n for n in parsed.notes)
            assert got == (part_payload(raw, "1") if single else None)  # a single-part message's body
        elif node.children and node.content_type.startswith("message/"):
            assert isinstance(got, bytes), node  # an attached message: to open as a message
        elif node.children:
            assert got is None, node
        else:  # a leaf; or a container whose parts the caps cut off, which has none to give,
            # except an attached message: it is still a message, to open on its own
            cut_container = "not shown" in node.note and not node.content_type.startswith("message/rfc822")
            assert type(got) is (type(None) if cut_container else bytes), node
    assert part_payload(raw, "99.99") is None
    assert part_payload(raw, None) is None  # type: ignore[arg-type]



def test_an_overlong_parameter_header_is_read_up_to_a_cap_and_says_so():
    # 20,000 parameters: email's quadratic parameter parser took 11 s on them, uncapped.
    params = "; ".join(f"p{i}=v" for i in range(20_000))
    raw = (f"Subject: params\r\nContent-Type: text/plain; charset=utf-8; {params}\r\n\r\nhello\r\n").encode()
    parsed = parse_message(raw)
    assert parsed.body.strip() == "hello"
    assert parsed.root.content_type == "text/plain" and parsed.root.charset == "utf-8"
    assert any("over 8 KB" in note for note in parsed.notes)


# --- the HTML alternative on request (prefer_html) ---------------------------------------


def test_prefer_html_takes_the_html_alternative() -> None:
    raw = msg("Subject: alt\n" + ALTERNATIVE)
    assert parse_message(raw).body == "The plain version."
    chosen = parse_message(raw, prefer_html=True).body
    assert "HTML" in chosen and "version." in chosen and "plain" not in chosen
    assert chosen == part_text(raw, "2")  # the same text the part list shows for it


def test_prefer_html_finds_the_html_inside_a_related_part_of_the_alternative() -> None:
    related = multipart("rel", "Content-Type: text/html\n\n<p>Rich body</p>",
                        "Content-Type: image/png\nContent-Disposition: inline\n\nPNG", subtype="related")
    raw = msg("Subject: s\n" + multipart(
        "mix",
        multipart("alt", "Content-Type: text/plain\n\nPlain body", related, subtype="alternative"),
        'Content-Type: text/plain\nContent-Disposition: attachment; filename="log.txt"\n\nlog',
    ))
    assert paths(parse_message(raw))["1.2.1"].content_type == "text/html"
    assert parse_message(raw).body == "Plain body"
    assert "Rich body" in parse_message(raw, prefer_html=True).body


def test_prefer_html_only_within_a_multipart_alternative() -> None:
    # An HTML part beside the text in a mixed message is another part, not another rendering.
    raw = msg("Subject: s\n" + multipart("mix", "Content-Type: text/plain\n\nThe text",
                                          "Content-Type: text/html\n\n<p>A page</p>"))
    assert parse_message(raw, prefer_html=True).body == "The text"
    # Neither does an HTML alternative inside an attached message count.
    attached = msg("Subject: s\n" + multipart("mix", "Content-Type: text/plain\n\nThe text",
                                               "Content-Type: message/rfc822\n\n" + "Subject: inner\n" + ALTERNATIVE))
    assert parse_message(attached, prefer_html=True).body == "The text"


def test_prefer_html_keeps_the_text_when_the_html_is_blank() -> None:
    raw = msg("Subject: s\n" + multipart("alt", "Content-Type: text/plain\n\nReal text",
                                          "Content-Type: text/html\n\n<html><body> </body></html>",
                                          subtype="alternative"))
    assert parse_message(raw, prefer_html=True).body == "Real text"


# --- summaries above the body: bounces and invitations ---------------------------------------

DSN_BODY = ("Reporting-MTA: dns; mx.example.org\n\n"
            "Final-Recipient: rfc822; bob@example.org\nAction: failed\nStatus: 5.1.1\n"
            "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown\n")


def _bounce() -> bytes:
    return msg("Subject: Undelivered Mail Returned to Sender\n" + multipart(
        "r", "Content-Type: text/plain\n\nYour message could not be delivered.",
        "Content-Type: message/delivery-status\n\n" + DSN_BODY,
        "Content-Type: text/rfc822-headers\n\nSubject: original\n",
        subtype="report", extra="; report-type=delivery-status"))


def test_a_bounce_gets_its_report_in_plain_words() -> None:
    parsed = parse_message(_bounce())
    assert parsed.summary.splitlines() == [
        "Delivery failed: bob@example.org",
        "  Why: 550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown",
        "  Meaning: the address does not exist (5.1.1)",
        "  Reported by: mx.example.org",
    ]
    assert parsed.body == "Your message could not be delivered."  # the rest unchanged


def test_the_report_part_shows_its_summary_then_its_fields() -> None:
    summary, fields = part_text(_bounce(), "2").split("\n\n", 1)
    assert summary == parse_message(_bounce()).summary
    assert fields.startswith("Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; bob@example.org")


def test_a_bounce_from_the_corpus_and_ordinary_mail() -> None:
    bounce = parse_message((CORPUS / "flanker" / "zed.eml").read_bytes())
    assert bounce.summary.startswith("Delivery failed: asdfasdf")
    assert "  Meaning: the address does not exist (5.1.1)" in bounce.summary.splitlines()
    assert parse_message(msg("Subject: Lunch?", "noon?")).summary == ""


INVITE = ("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nSUMMARY:Design review\r\n"
          "DTSTART;VALUE=DATE:20250310\r\nLOCATION:Room 2\r\n"
          "ORGANIZER;CN=Alice:mailto:alice@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
INVITE_SUMMARY = ["Invitation", "  What: Design review", "  When: Mon 10 Mar 2025, all day", "  Where: Room 2",
                  "  Organizer: Alice <alice@example.org>"]


def test_an_invitation_gets_its_summary_and_the_body_stays() -> None:
    raw = msg("Subject: Invitation: Design review\n" + multipart(
        "mix",
        multipart("alt", "Content-Type: text/plain\n\nYou are invited.",
                  'Content-Type: text/calendar; method=REQUEST; charset="utf-8"\n\n' + INVITE, subtype="alternative"),
        'Content-Type: application/ics; name="invite.ics"\nContent-Disposition: attachment; filename="invite.ics"\n'
        "Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(INVITE.encode()).decode(),
    ))
    parsed = parse_message(raw)
    assert parsed.summary.splitlines() == INVITE_SUMMARY  # once, though the invite comes twice
    assert parsed.body == "You are invited."
    for path in ("1.2", "2"):  # the text/calendar part, and the .ics attachment
        summary, rest = part_text(raw, path).split("\n\n", 1)
        assert summary.splitlines() == INVITE_SUMMARY, path
        assert ("BEGIN:VCALENDAR" in rest) if path == "1.2" else (BINARY_NOTE in rest)


def test_a_message_that_is_only_an_invitation() -> None:
    parsed = parse_message(msg("Subject: s\nContent-Type: text/calendar; charset=utf-8", INVITE))
    assert parsed.summary.splitlines() == INVITE_SUMMARY
    assert part_text(msg("Subject: s\nContent-Type: text/calendar", INVITE), "1").startswith("Invitation\n")


def test_a_broken_calendar_or_report_leaves_no_summary_and_no_error() -> None:
    raw = msg("Subject: s\n" + multipart("mix", "Content-Type: text/plain\n\nhi",
                                          "Content-Type: text/calendar\n\nBEGIN:VEVENT\r\n\x00\xff garbage",
                                          "Content-Type: message/delivery-status\n\n\n\nnot: a report\n"))
    parsed = parse_message(raw)
    assert parsed.summary == "" and parsed.body == "hi"
    assert part_text(raw, "2").startswith("BEGIN:VEVENT")
