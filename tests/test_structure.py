"""tui.imap.structure: BODYSTRUCTURE -> part tree.  Hand-written answers (RFC 3501 and
hostile ones) through imapclient's own parser, then a real Dovecot whose trees and part
contents are checked against tui.mime and the email package on the same messages."""

from __future__ import annotations

import base64
import binascii
import email
from email import policy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imapclient import IMAPClient
from imapclient.response_parser import parse_fetch_response

from tui import mime
from tui.imap.structure import MALFORMED, choose_body, content_section, is_valid_section, parse_structure
from tui.models import MimePart

CORPUS = Path(__file__).parent / "corpus"
CORPUS_FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".msg", ".eml"))

TEXT = b'("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 12 1 NIL NIL NIL NIL)'
HTML = b'("text" "html" ("charset" "utf-8") NIL NIL "quoted-printable" 40 2 NIL NIL NIL NIL)'
PDF = b'("application" "pdf" ("name" "a.pdf") NIL NIL "base64" 400 NIL ("attachment" NIL) NIL NIL)'
ENVELOPE = b'(NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL)'


def structure(text: bytes | tuple) -> object:
    """A BODYSTRUCTURE as imapclient hands it over from `UID FETCH ... (BODYSTRUCTURE)`;
    `text` may be ((start, literal), rest) for an answer carrying a literal."""
    prefix = b"1 (UID 7 BODYSTRUCTURE "
    if isinstance(text, bytes):
        lines: list = [prefix + text + b")"]
    else:
        (start, literal), rest = text
        lines = [(prefix + start, literal), rest + b")"]
    return parse_fetch_response(lines)[7][b"BODYSTRUCTURE"]


def tree(text: bytes | tuple, **caps) -> tuple[MimePart, list[str]]:
    return parse_structure(structure(text), **caps)


def nodes(root: MimePart) -> dict[str, MimePart]:
    found, todo = {}, [root]
    while todo:
        node = todo.pop()
        found[node.path] = node
        todo.extend(node.children)
    return found


def mixed(*parts: bytes, subtype: bytes = b"mixed") -> bytes:
    return b"(" + b"".join(parts) + b' "' + subtype + b'" ("boundary" "b") NIL NIL NIL)'


def rfc822(inner: bytes) -> bytes:
    return b'("message" "rfc822" NIL NIL NIL "7bit" 900 ' + ENVELOPE + b" " + inner + b" 20 NIL NIL NIL NIL)"


# --- well-formed answers -----------------------------------------------------------


def test_rfc3501_single_part_is_a_root_with_its_body_at_1() -> None:
    root, notes = tree(b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)')
    assert notes == []
    assert (root.path, root.content_type, root.depth) == ("", "text/plain", 0)
    [body] = root.children
    assert (body.path, body.depth, body.charset, body.encoding, body.octets, body.size) == \
        ("1", 1, "us-ascii", "7bit", 3028, 3028)
    assert not body.children and body.note == ""
    assert choose_body(root) is body
    assert content_section(root, body) == "1"
    assert content_section(root, root) == "1"


def test_rfc3501_multipart_example() -> None:
    root, notes = tree(
        b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)'
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>"'
        b' "Compiler diff" "BASE64" 4554 73) "MIXED")'
    )
    found = nodes(root)
    assert sorted(found) == ["", "1", "2"] and notes == []
    assert found[""].content_type == "multipart/mixed" and found[""].size == 0
    assert found["2"].filename == "cc.diff"
    assert (found["2"].encoding, found["2"].octets, found["2"].size) == ("base64", 4554, (4554 - 2 * (4554 // 78)) * 3 // 4)
    assert choose_body(root) is found["1"]
    assert content_section(root, found["2"]) == "2"
    assert content_section(root, root) == ""  # a multipart root is the whole message


def test_attached_messages_number_their_parts_under_theirs() -> None:
    root, _ = tree(mixed(TEXT, rfc822(mixed(TEXT, HTML, subtype=b"alternative")), rfc822(TEXT)))
    found = nodes(root)
    assert sorted(found) == ["", "1", "2", "2.1", "2.2", "3", "3.1"]
    assert [found[p].depth for p in ("2", "2.1", "3.1")] == [1, 2, 2]
    assert found["2"].content_type == "message/rfc822" and found["2"].octets == 900 and found["2"].size == 0
    assert found["2.2"].content_type == "text/html" and found["2.2"].encoding == "quoted-printable"
    assert found["3.1"].content_type == "text/plain"
    assert choose_body(root) is found["1"]
    # Text only inside an attached message is not the message's own body.
    assert choose_body(tree(mixed(PDF, rfc822(TEXT)))[0]) is None


def test_a_multipart_nested_inside_another_keeps_its_number() -> None:
    related = mixed(HTML, b'("image" "png" ("name" "logo.png") "<logo>" NIL "base64" 80 NIL ("inline" NIL) NIL NIL)',
                    subtype=b"related")
    root, _ = tree(mixed(TEXT, related, subtype=b"alternative"))
    found = nodes(root)
    assert sorted(found) == ["", "1", "2", "2.1", "2.2"]
    assert found["2"].content_type == "multipart/related" and found["2.2"].filename == "logo.png"
    assert not found["2.2"].attachment


@pytest.mark.parametrize(("parts", "expected"), [
    ((TEXT, HTML), "1"),
    ((b'("text" "plain" NIL NIL NIL "7bit" 0 0 NIL NIL NIL NIL)', HTML), "2"),  # empty placeholder
    ((HTML, PDF), "1"),
    ((PDF, b'("text" "plain" NIL NIL NIL "7bit" 9 1 NIL ("ATTACHMENT" ("filename" "n.txt")) NIL NIL)'), "2"),
    ((PDF, rfc822(TEXT)), None),
])
def test_choose_body_prefers_plain_then_html_then_a_text_attachment(parts, expected) -> None:
    body = choose_body(tree(mixed(*parts))[0])
    assert (body.path if body else None) == expected


RESUME = "r\u00e9sum\u00e9.pdf"


@pytest.mark.parametrize(("disposition", "ctype_params", "expected"), [
    (b'("attachment" ("filename" "a.pdf"))', b'("name" "b.pdf")', "a.pdf"),
    (b"NIL", b'("name" "b.pdf")', "b.pdf"),
    (b'("attachment" ("FILENAME*" "utf-8\'\'r%C3%A9sum%C3%A9.pdf"))', b"NIL", RESUME),
    (b'("attachment" ("filename*0*" "utf-8\'\'r%C3%A9" "filename*1*" "sum%C3%A9" "filename*2" ".pdf"))', b"NIL", RESUME),
    (b'("attachment" ("filename" "=?utf-8?B?' + base64.b64encode(RESUME.encode()) + b'?="))', b"NIL", RESUME),
    (b"NIL", b'("name*" "iso-8859-1\'fr\'caf%E9.txt")', "caf\u00e9.txt"),
    (b'("attachment" ("filename" ""))', b"NIL", None),
])
def test_filenames_decode_like_mime(disposition, ctype_params, expected) -> None:
    leaf = b'("application" "pdf" ' + ctype_params + b' NIL NIL "base64" 4 NIL ' + disposition + b" NIL NIL)"
    root, _ = tree(mixed(TEXT, leaf))
    assert nodes(root)["2"].filename == expected


def test_a_filename_in_a_literal() -> None:
    root, _ = tree(((b'(("application" "pdf" ("name" {5}', b"a.pdf"), b') NIL NIL "base64" 4 NIL NIL NIL NIL) "mixed")'))
    assert nodes(root)["1"].filename == "a.pdf"


def test_str_atoms_read_like_bytes() -> None:
    as_bytes = ([(b"text", b"plain", (b"charset", b"UTF-8"), None, None, b"base64", 8, 1)], b"mixed")
    as_str = ([("text", "plain", ("charset", "UTF-8"), None, None, "base64", 8, 1)], "mixed")
    assert parse_structure(as_str) == parse_structure(as_bytes)
    assert nodes(parse_structure(as_str)[0])["1"].charset == "utf-8"


# --- caps, cross-checked with tui.mime on the same shapes -------------------------


def _shape(root: MimePart) -> dict[str, tuple]:
    return {path: (n.content_type, n.depth, n.note) for path, n in nodes(root).items()}


def test_depth_cap_matches_mime() -> None:
    levels = 60
    text = b'("text" "plain" NIL NIL NIL "7bit" 2 1)'
    raw = b"Content-Type: text/plain\n\nhi"
    for level in range(levels):
        text = b"(" + text + b' "mixed")'
        raw = (f'Content-Type: multipart/mixed; boundary="b{level}"\n\n--b{level}\n'.encode() + raw
               + f"\n--b{level}--\n".encode())
    root, notes = tree(text)
    expected = mime.parse_message(raw)
    assert _shape(root) == _shape(expected.root)
    assert max(n.depth for n in nodes(root).values()) == 40
    assert notes == [n for n in expected.notes if "nested" in n]


def test_part_cap_matches_mime() -> None:
    root, notes = tree(mixed(*[TEXT] * 30), max_parts=10)
    raw = b'Content-Type: multipart/mixed; boundary="b"\n\n' + b"--b\n\nx\n" * 30 + b"--b--\n"
    expected = mime.parse_message(raw, max_parts=10)
    assert len(root.children) == 10
    assert _shape(root) == _shape(expected.root)
    assert notes == list(expected.notes)


# --- hostile answers ---------------------------------------------------------------


@pytest.mark.parametrize(("bad", "ctype", "octets"), [
    (b'("text" "plain" NIL NIL NIL "7bit" "abc" 1)', "text/plain", 0),  # size not a number
    (b'("text" "plain" NIL NIL NIL "7bit" -5 1)', "text/plain", 0),
    (b'("text" "plain" NIL NIL NIL "7bit" 1000000000000000000000000000000 1)', "text/plain", 0),
    (b'("text" "plain" NIL NIL NIL "7bit" 4294967296 1)', "text/plain", 0),  # past an IMAP number
    (b"(NIL NIL NIL NIL NIL NIL NIL)", "application/octet-stream", 0),
    (b'(1 2 NIL NIL NIL "7bit" 3)', "application/octet-stream", 3),
    (b'("text" "plain" ("charset") NIL NIL "7bit" 3 1)', "text/plain", 3),
    (b'("text" "plain" "charset" NIL NIL "7bit" 3 1)', "text/plain", 3),
    (b'("text" "plain" (("x") "y") NIL NIL "7bit" 3 1)', "text/plain", 3),
    (b'("application" "pdf" NIL NIL NIL "base64" 4 NIL "attachment" NIL NIL)', "application/pdf", 4),
    (b'("application" "pdf" NIL NIL NIL NIL 4)', "application/pdf", 4),  # no encoding
    (b'("message" "rfc822" NIL NIL NIL "7bit" 44 NIL NIL 3)', "message/rfc822", 44),  # no inner body
    (b'("text")', "application/octet-stream", 0),
    (b'("te xt" "pl/ain" NIL NIL NIL "7bit" 3 1)', "application/octet-stream", 3),
])
def test_a_malformed_part_degrades_alone(bad, ctype, octets) -> None:
    root, notes = tree(mixed(TEXT, bad, TEXT))
    found = nodes(root)
    assert sorted(found) == ["", "1", "2", "3"]
    assert found["1"].note == "" and found["3"].note == "" and found["3"].octets == 12
    assert (found["2"].content_type, found["2"].octets) == (ctype, octets)
    assert MALFORMED in found["2"].note and not found["2"].children
    assert notes == ["the server's description of some parts is malformed"]


def test_a_multipart_without_subtype_keeps_its_parts() -> None:
    # imapclient then repeats the last part where the subtype belongs.
    root, _ = tree(b"(" + TEXT + HTML + b")")
    assert [c.content_type for c in root.children] == ["text/plain", "text/html"]
    assert MALFORMED in root.note


@pytest.mark.parametrize("body", [None, 5, b"text", (), [], (None,) * 7])
def test_no_structure_at_all_is_one_malformed_part(body) -> None:
    root, notes = parse_structure(body)
    assert root.path == "" and [c.path for c in root.children] == ["1"]
    assert MALFORMED in root.children[0].note and root.children[0].content_type == "application/octet-stream"
    assert notes == ["the server's description of some parts is malformed"]


def test_an_empty_multipart_is_its_own_part_1_as_in_mime() -> None:
    root, _ = parse_structure(([], b"mixed"))
    [leaf] = root.children
    assert (leaf.path, leaf.content_type) == ("1", "multipart/mixed") and "boundary missing" in leaf.note
    assert choose_body(root) is leaf


@pytest.mark.parametrize("body", [([None, 3], None), ((), ()), ([(b"text",), 7], b"mixed")])
def test_a_multipart_of_junk_keeps_one_malformed_leaf_per_item(body) -> None:
    root, notes = parse_structure(body)
    assert [c.path for c in root.children] == ["1", "2"]
    assert all(MALFORMED in c.note for c in root.children) and notes


def test_a_content_type_dovecot_could_not_read_is_text_plain_as_in_mime() -> None:
    # What Dovecot sends for "Content-Type: ; name=x" (flanker broken-ctype.eml) and for
    # "Content-Type: text" (mime4j multi-digest.msg): the basic form, and the text form.
    unreadable = b'("" "" NIL NIL NIL "base64" 400 NIL ("attachment" ("filename" "face.jpg")) NIL NIL)'
    no_subtype = b'("text" "" ("charset" "us-ascii") NIL NIL "7bit" 75 2 NIL ("attachment" NIL) NIL NIL)'
    root, notes = tree(mixed(unreadable, no_subtype))
    first, second = root.children
    assert (first.content_type, first.filename, first.attachment, first.note) == ("text/plain", "face.jpg", True, "")
    assert (second.content_type, second.attachment, second.note) == ("text/plain", True, "")
    assert notes == []
    raw = b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: ; name=x\n\nx\n--b\nContent-Type: text\n\ny\n--b--\n'
    assert [c.content_type for c in mime.part_tree(raw).children] == ["text/plain", "text/plain"]


@pytest.mark.parametrize("name", ["caf\u00e9.txt".encode(), b"caf\xe9.txt", "\u0447\u0442".encode()[:-1] + b".txt"])
def test_8bit_filenames_read_as_mime_reads_them(name) -> None:
    start = b'(("application" "pdf" NIL NIL NIL "base64" 4 NIL ("attachment" ("filename" {%d}' % len(name)
    root, _ = tree(((start, name), b')) NIL NIL) "mixed")'))
    raw = (b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: application/pdf\n'
           b'Content-Disposition: attachment; filename="' + name + b'"\n\nx\n--b--\n')
    assert root.children[0].filename == mime.part_tree(raw).children[0].filename


def test_absurd_nesting_built_in_python_stops_at_the_cap() -> None:
    body: object = (b"text", b"plain", None, None, None, b"7bit", 1, 1)
    for _ in range(10_000):
        body = ([body], b"mixed")
    root, notes = parse_structure(body)
    assert max(n.depth for n in nodes(root).values()) == 40
    assert any("nested deeper than 40" in n for n in notes)


def test_a_flat_flood_of_parts_stops_at_the_cap() -> None:
    leaf = (b"text", b"plain", None, None, None, b"7bit", 1, 1)
    root, notes = parse_structure(([leaf] * 100_000, b"mixed"))
    assert len(root.children) == 2000 and any("more than 2000" in n for n in notes)


def test_imapclient_itself_gives_up_on_deep_parentheses() -> None:
    # Not ours to fix: the FETCH parser recurses per parenthesis, so such an answer never
    # reaches parse_structure; the caller catches the RecursionError.
    deep = b"(" * 5000 + TEXT + b' "mixed")' * 5000
    with pytest.raises(RecursionError):
        structure(deep)
    shallow = TEXT
    for _ in range(150):  # as deep as imapclient copes with: our caps apply
        shallow = b"(" + shallow + b' "mixed")'
    root, notes = tree(shallow)
    assert max(n.depth for n in nodes(root).values()) == 40 and notes


atoms = st.one_of(st.none(), st.integers(-(2**70), 2**70), st.binary(max_size=12), st.text(max_size=12),
                  st.sampled_from([b"text", b"plain", b"multipart", b"message", b"rfc822", b"base64",
                                   b"attachment", b"filename*", b"utf-8''%FF%00", b"name", b"=?x?q?a?="]))
shapes = st.recursive(atoms, lambda inner: st.one_of(st.tuples(inner, inner), st.lists(inner, max_size=12).map(tuple),
                                                     st.lists(inner, max_size=4)), max_leaves=60)


@settings(max_examples=400, deadline=None)
@given(shapes)
def test_any_shape_gives_a_well_numbered_tree(body) -> None:
    root, notes = parse_structure(body)
    assert root.path == "" and root.depth == 0 and root.children
    for path, node in nodes(root).items():
        if path:
            assert is_valid_section(path) and node.depth == path.count(".") + 1
        assert all(child.path.rpartition(".")[0] == path for child in node.children)
        assert 0 <= node.octets < 2**32 and node.size >= 0
        assert is_valid_section(content_section(root, node))
    assert all(isinstance(n, str) for n in notes)
    choose_body(root)


@pytest.mark.parametrize(("section", "valid"), [
    ("", True), ("1", True), ("1.2.3", True), ("123456789", True), ("2.10", True),
    ("0", False), ("01", False), ("1.", False), (".1", False), ("1..2", False), ("1234567890", False),
    ("1 2", False), ("1]", False), ("TEXT", False), ("\uff11", False), ("\u0663", False), ("1\n", False),
    ("1." * 600 + "1", False), (None, False), (1, False),
])
def test_is_valid_section(section, valid) -> None:
    assert is_valid_section(section) is valid


# --- against a real Dovecot --------------------------------------------------------


def _crlf(text: str) -> bytes:
    return text.strip("\n").replace("\n", "\r\n").encode() + b"\r\n"


PDF_BYTES = b"%PDF-1.4\n" + bytes(range(256)) * 8
PDF_B64 = base64.encodebytes(PDF_BYTES).decode()
PNG_B64 = base64.encodebytes(b"\x89PNG\r\n\x1a\n" + bytes(100)).decode()
HEAD = "From: a@example.org\nTo: b@example.org\nSubject: s\nMIME-Version: 1.0\n"
INNER_MULTI = (HEAD + 'Content-Type: multipart/alternative; boundary="in"\n\n--in\nContent-Type: text/plain\n\n'
               "inner plain\n--in\nContent-Type: text/html\n\n<p>inner</p>\n--in--")
INNER_SINGLE = HEAD + "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9"

WELL_FORMED = {
    "single": HEAD + "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nh\u00e9llo\nbye",
    "alternative": HEAD + 'Content-Type: multipart/alternative; boundary="a"\n\n--a\nContent-Type: text/plain; '
    'charset=us-ascii\n\nplain\n--a\nContent-Type: text/html; charset=utf-8\n\n<b>html</b>\n--a--',
    "pdf": HEAD + 'Content-Type: multipart/mixed; boundary="m"\n\n--m\nContent-Type: text/plain\n\nsee attached\n'
    '--m\nContent-Type: application/pdf; name="x.pdf"\nContent-Transfer-Encoding: base64\n'
    "Content-Disposition: attachment;\n filename*0*=utf-8''r%C3%A9sum;\n filename*1*=%C3%A9.pdf\n\n"
    + PDF_B64 + "--m--",
    "related": HEAD + 'Content-Type: multipart/alternative; boundary="a"\n\n--a\nContent-Type: text/plain\n\nplain\n'
    '--a\nContent-Type: multipart/related; boundary="r"\n\n--r\nContent-Type: text/html\n\n<img src="cid:i">\n'
    '--r\nContent-Type: image/png; name="=?utf-8?B?' + base64.b64encode("\u00e9.png".encode()).decode() + '?="\n'
    "Content-Transfer-Encoding: base64\nContent-ID: <i>\nContent-Disposition: inline\n\n" + PNG_B64
    + "--r--\n--a--",
    "rfc822-multi": HEAD + 'Content-Type: multipart/mixed; boundary="m"\n\n--m\nContent-Type: text/plain\n\nfwd\n'
    "--m\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\n" + INNER_MULTI + "\n--m--",
    "rfc822-single": HEAD + 'Content-Type: multipart/mixed; boundary="m"\n\n--m\nContent-Type: text/plain\n\nfwd\n'
    "--m\nContent-Type: message/rfc822\n\n" + INNER_SINGLE + "\n--m--",
    "qp": HEAD + 'Content-Type: multipart/mixed; boundary="m"\n\n--m\nContent-Type: text/plain; charset=iso-8859-1\n'
    "Content-Transfer-Encoding: quoted-printable\n\ncaf=E9 and a long line that is soft=\n broken\n--m\n"
    "Content-Type: text/plain; charset=utf-8\nContent-Disposition: attachment; filename=\"notes.txt\"\n\nnotes\n--m--",
}


@pytest.fixture(scope="module")
def dovecot_client(dovecot):
    # Not harness.raw_client: that module imports the whole worker, which these pure
    # checks do not need.
    client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=60)
    client.login(dovecot.user, dovecot.password)
    yield client
    client.logout()


def _load(client, mailbox: str, messages: list[bytes]) -> list[tuple[int, bytes]]:
    """Appends what the server takes; (uid, raw) of each stored message."""
    client.create_folder(mailbox)
    stored = []
    for raw in messages:
        try:
            client.append(mailbox, raw)
        except Exception:  # e.g. a NUL byte Dovecot will not store
            continue
        stored.append(raw)
    client.select_folder(mailbox, readonly=True)
    uids = sorted(client.search(["ALL"]))
    assert len(uids) == len(stored)
    return list(zip(uids, stored))


def _email_parts(msg) -> dict[str, email.message.Message]:
    """Each entity of `msg` by IMAP section number, found by walking the email tree."""
    found = {"": msg}

    def message(entity, path):
        kids = entity.get_payload() if entity.is_multipart() else [entity]
        for number, kid in enumerate(kids, 1):
            kid_path = f"{path}.{number}" if path else str(number)
            found[kid_path] = kid
            if kid is not entity:
                part(kid, kid_path)

    def part(entity, path):
        if entity.get_content_type() == "message/rfc822":
            message(entity.get_payload()[0], path)
        elif entity.is_multipart():
            for number, kid in enumerate(entity.get_payload(), 1):
                found[f"{path}.{number}"] = kid
                part(kid, f"{path}.{number}")

    message(msg, "")
    return found


def _charset(node: MimePart) -> str | None:
    # Dovecot fills in RFC 2045's default for a text part that names no charset; tui.mime
    # reports what the header says.  Both decode alike (tui.mime_decode).
    return None if node.charset == "us-ascii" else node.charset


def _differences(ours: MimePart, theirs: MimePart) -> list[str]:
    """Where two trees disagree, each named by its path."""
    a, b = nodes(ours), nodes(theirs)
    out = [f"{p or '(root)'}: only in {'BODYSTRUCTURE' if p in a else 'mime'}" for p in sorted(a.keys() ^ b.keys())]
    for path in sorted(a.keys() & b.keys()):
        for name, read in (("content_type", lambda n: n.content_type), ("filename", lambda n: n.filename),
                           ("charset", _charset), ("depth", lambda n: n.depth)):
            if read(a[path]) != read(b[path]):
                out.append(f"{path or '(root)'}: {name} {read(a[path])!r} != mime's {read(b[path])!r}")
    return out


def _transfer_decoded(data: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        return binascii.a2b_base64(data)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    return data


def _structure_of(client, uid: int) -> object:
    return client.fetch([uid], ["BODYSTRUCTURE"])[uid][b"BODYSTRUCTURE"]


def test_dovecot_trees_and_parts_match_mime(dovecot_client) -> None:
    messages = {name: _crlf(text) for name, text in WELL_FORMED.items()}
    stored = _load(dovecot_client, "StructureWellFormed", list(messages.values()))
    assert len(stored) == len(messages)
    for name, (uid, raw) in zip(messages, stored):
        root, notes = parse_structure(_structure_of(dovecot_client, uid))
        assert notes == [], name
        differences = _differences(root, mime.part_tree(raw))
        assert not differences, f"{name}: " + "; ".join(differences)
        assert mime.parse_message(raw).body == mime.part_text(raw, choose_body(root).path), name
        entities = _email_parts(email.message_from_bytes(raw, policy=policy.default))
        for leaf in (n for n in nodes(root).values() if not n.children):
            section = content_section(root, leaf)
            fetched = dovecot_client.fetch([uid], [f"BODY.PEEK[{section}]"])[uid][f"BODY[{section}]".encode()]
            assert len(fetched) == leaf.octets, f"{name} {section}"
            decoded = _transfer_decoded(fetched, leaf.encoding)
            assert decoded == entities[leaf.path].get_payload(decode=True), f"{name} {section}"
            assert leaf.size >= len(decoded), f"{name} {section}"  # an estimate from above
    by_name = {name: parse_structure(_structure_of(dovecot_client, uid))[0] for name, (uid, _) in zip(messages, stored)}
    assert nodes(by_name["pdf"])["2"].filename == "r\u00e9sum\u00e9.pdf" and nodes(by_name["pdf"])["2"].attachment
    assert nodes(by_name["related"])["2.2"].filename == "\u00e9.png"
    assert choose_body(by_name["qp"]).path == "1" and nodes(by_name["qp"])["2"].attachment


def test_dovecot_corpus_never_breaks_the_parser(dovecot_client, capsys) -> None:
    stored = _load(dovecot_client, "StructureCorpus", [p.read_bytes() for p in CORPUS_FILES])
    assert len(stored) >= len(CORPUS_FILES) * 9 // 10
    unreadable, disagreeing, kinds = [], [], {}
    for uid, raw in stored:
        try:
            body = _structure_of(dovecot_client, uid)
        except Exception as error:  # imapclient's parser: the caller's to catch
            unreadable.append(f"{uid}: {type(error).__name__}")
            continue
        root, notes = parse_structure(body)
        assert root.path == "" and root.children and all(isinstance(n, str) for n in notes)
        assert all(is_valid_section(content_section(root, n)) for n in nodes(root).values())
        differences = _differences(root, mime.part_tree(raw))
        if differences:
            disagreeing.append(uid)
        for difference in differences:
            kind = difference.split(": ", 1)[1]
            kind = kind if kind.startswith("only") else kind.split(" ", 1)[0]
            kinds[kind] = kinds.get(kind, 0) + 1
    with capsys.disabled():  # a report, not a verdict: the two parsers read broken MIME differently
        print(f"\ncorpus: {len(stored)} stored, unreadable by imapclient: {unreadable or 'none'}, "
              f"{len(disagreeing)} trees differ from mime's; differences by kind: {kinds}")


# --- the HTML alternative on request (prefer_html) ---------------------------------------

EMPTY_HTML = b'("text" "html" ("charset" "utf-8") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)'
PNG = b'("image" "png" ("name" "logo.png") "<logo>" NIL "base64" 80 NIL ("inline" NIL) NIL NIL)'
HTML_ATTACHMENT = b'("text" "html" NIL NIL NIL "7bit" 50 2 NIL ("attachment" ("filename" "page.html")) NIL NIL)'


@pytest.mark.parametrize(("structure_text", "plain", "html"), [
    (mixed(TEXT, HTML, subtype=b"alternative"), "1", "2"),
    # the HTML inside a related part of the alternative, the whole beside an attachment
    (mixed(mixed(TEXT, mixed(HTML, PNG, subtype=b"related"), subtype=b"alternative"), PDF), "1.1", "1.2.1"),
    (mixed(TEXT, HTML), "1", "1"),  # mixed: the HTML is another part, not another rendering
    (mixed(TEXT, EMPTY_HTML, subtype=b"alternative"), "1", "1"),  # nothing in the HTML: keep the text
    (mixed(mixed(TEXT, HTML_ATTACHMENT, subtype=b"alternative")), "1.1", "1.1"),  # an attached page
    (mixed(TEXT, rfc822(mixed(TEXT, HTML, subtype=b"alternative"))), "1", "1"),  # inside an attached message
    (mixed(HTML, PDF), "1", "1"),  # only HTML: the same either way
])
def test_choose_body_prefer_html_takes_the_html_alternative(structure_text, plain, html) -> None:
    root = tree(structure_text)[0]
    assert choose_body(root).path == plain
    assert choose_body(root, prefer_html=True).path == html


def test_dovecot_prefer_html_bodies_match_mime(dovecot_client) -> None:
    # The two paths, whole message and BODYSTRUCTURE, pick the same HTML part.  Not for
    # an HTML that is only an image: mime sees it is blank and keeps the text, the
    # BODYSTRUCTURE can only tell empty.
    messages = {name: _crlf(text) for name, text in WELL_FORMED.items()}
    messages["related"] = _crlf(WELL_FORMED["related"].replace('<img src="cid:i">', '<p>rich</p><img src="cid:i">'))
    stored = _load(dovecot_client, "StructurePreferHtml", list(messages.values()))
    chosen = {}
    for name, (uid, raw) in zip(messages, stored):
        root, _notes = parse_structure(_structure_of(dovecot_client, uid))
        body = choose_body(root, prefer_html=True)
        assert mime.parse_message(raw, prefer_html=True).body == mime.part_text(raw, body.path), name
        chosen[name] = body.path
    assert chosen["alternative"] == "2" and chosen["related"] == "2.1"
    assert chosen["single"] == "1" and chosen["pdf"] == "1" and chosen["rfc822-multi"] == "1"
