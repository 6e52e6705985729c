"""tui.mime: part trees, text extraction and HTML -> text, on friendly and hostile mail."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tui.mime import BINARY_NOTE, NO_TEXT, ParsedMessage, html_to_text, parse_message, part_text
from tui.models import MimePart

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
    ("image alt", '<img src="cid:x" alt="Logo">', "[Logo]"),
    ("link equal to its text", '<a href="https://e.org">https://e.org</a>', "https://e.org"),
    ("mailto link", '<a href="mailto:a@e.org">a@e.org</a>', "a@e.org"),
    ("anchor and javascript links", '<a href="#top">top</a> <a href="javascript:x()">js</a>', "top js"),
    ("same url twice", '<a href="u">a</a> <a href="u">b</a>', "a [1] b [1]\n\n[1] u"),
    ("outlook conditional comment", "<!--[if mso]><p>outlook</p><![endif]-->shown", "shown"),
    ("unknown marked section", "<![foo[x]]>after", "<![foo[x]]>after"),
    ("stray less-than", "a < b and c <d", "a < b and c <d"),
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
    assert out == "go [1]\n\n[1] https://e.org/x"


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
