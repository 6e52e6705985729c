"""HTML -> readable plain text, for showing text/html mail parts.

Only the stdlib `html.parser`; fetches nothing.  `html_to_text` never raises: hostile
markup (quadratic rescans, marked sections html.parser asserts on, 20,000 nested lists)
is defused first, and a parser failure falls back to crude tag stripping.

The text returned is *not* display-safe: the UI passes it through `tui.safe_text` at
render time, like every other untrusted string.

Pure module: no Textual or Rich imports.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

__all__ = ["html_to_text"]

# Elements whose content is never text for a reader.
_SKIP = frozenset({"script", "style", "title", "template"})
_BLOCK = frozenset(
    "address article aside center dd details dialog dir div dl dt fieldset figcaption figure"
    " footer form header hgroup legend main menu nav section summary tr".split()
)
# Blocks that want a blank line around them.
_PARAGRAPH = frozenset("p h1 h2 h3 h4 h5 h6 ul ol table pre blockquote".split())
_SPACES = re.compile(r"[ \t\n\r\f]+")
# A "<" that does not open a complete "<...>" (no "<" inside) is text.  html.parser
# rescans the rest of the input for every such "<" (quadratic: 24 KB of "<a " took 7 s
# on Python 3.11); escaping them first keeps it linear.
_STRAY_LT = re.compile(r"<(?![a-zA-Z/!?][^<>]*>)")
# Marked sections html.parser does not know raise AssertionError ("<![foo[").
_BAD_MARKED = re.compile(r"<!\[(?!(?i:cdata\[|if\b|else\b|endif\b|temp\b|ignore\b|include\b|rcdata\b))")
_TAG = re.compile(r"<[^<>]*>")  # bounded by the next "<": linear


def _defuse(html: str) -> str:
    """Remove comments (with str.find: linear even when unclosed) and stray "<"."""
    out = []
    pos = 0
    while True:
        start = html.find("<!--", pos)
        if start < 0:
            out.append(html[pos:])
            break
        out.append(html[pos:start])
        end = html.find("-->", start + 4)
        if end < 0:
            break  # an unclosed comment hides the rest, as in a browser
        pos = end + 3
    return _STRAY_LT.sub("&lt;", _BAD_MARKED.sub("&lt;![", "".join(out)))


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.pending = 0  # line breaks owed before the next text
        self.at_line_start = True
        self.skip = 0
        self.in_head = False
        self.pre = 0
        self.quote = 0
        self.lists: list[int | None] = []  # None for <ul>, the next number for <ol>
        self.links: list[tuple[str, int]] = []  # (href, index into out) of open <a>
        self.urls: dict[str, int] = {}
        self.row_cells = 0

    # output
    def _break(self, count: int) -> None:
        self.pending = max(self.pending, count)

    # Indents are capped: 20,000 nested <ul> or <blockquote> must not make the output
    # quadratic in size.
    def _newline_text(self) -> str:
        return "\n" + "> " * min(self.quote, 8)

    def _flush(self) -> None:
        if self.pending and self.out:
            self.out.append("\n" * (self.pending - 1) + self._newline_text())
            self.at_line_start = True
        elif not self.out and self.quote:  # a quote on the very first line
            self.out.append(self._newline_text()[1:])
        self.pending = 0

    def _emit(self, text: str) -> None:
        if not text:
            return
        self._flush()
        self.out.append(text)
        self.at_line_start = text.endswith("\n")

    # parser callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self.in_head = True
        elif tag == "body":
            self.in_head = False  # a missing </head> must not hide the whole mail
        if tag in _SKIP:
            self.skip += 1
        if self.skip or self.in_head:
            return
        if tag == "br":
            self._flush()
            self.out.append(self._newline_text())
            self.at_line_start = True
        elif tag in _PARAGRAPH or tag in _BLOCK:
            self._break(self._gap(tag))
            if tag == "pre":
                self.pre += 1
            elif tag == "blockquote":
                self.quote += 1
            elif tag in ("ul", "ol"):
                self.lists.append(1 if tag == "ol" else None)
            elif tag == "tr":
                self.row_cells = 0
        elif tag == "li":
            self._break(1)
            number = self.lists[-1] if self.lists else None
            indent = "  " * min(max(0, len(self.lists) - 1), 8)
            if number is None:
                self._emit(indent + "\u2022 ")
            else:
                self.lists[-1] = number + 1
                self._emit(f"{indent}{number}. ")
        elif tag in ("td", "th"):
            if self.row_cells:
                self._emit("  ")
            self.row_cells += 1
        elif tag == "hr":
            self._break(1)
            self._emit("-" * 20)
            self._break(1)
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self._emit(f"[{_SPACES.sub(' ', alt)}]")
        elif tag == "a":
            self.links.append(((dict(attrs).get("href") or "").strip(), len(self.out)))

    def _gap(self, tag: str) -> int:
        """Line breaks around a block: a blank line for paragraphs, one inside lists."""
        if tag not in _PARAGRAPH or (tag in ("ul", "ol") and self.lists):
            return 1
        return 2

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip or self.in_head:
            return
        if tag in _PARAGRAPH or tag in _BLOCK:
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            elif tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            elif tag in ("ul", "ol") and self.lists:
                self.lists.pop()
            self._break(self._gap(tag))
        elif tag == "li":
            self._break(1)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            # Only a short link text can be the URL itself; not joining long ones keeps
            # thousands of nested <a> linear.
            pieces = self.out[start:] if len(self.out) - start < 64 else []
            self._footnote(href, "".join(pieces))

    def _footnote(self, href: str, text: str) -> None:
        lowered = href.lower()
        if not href or href.startswith("#") or lowered.startswith(("javascript:", "data:")):
            return
        shown = _SPACES.sub(" ", text).strip()
        if shown in (href, href.removeprefix("mailto:")):
            return  # the link text already is the address
        number = self.urls.setdefault(href, len(self.urls) + 1)
        self._emit(f" [{number}]")

    def handle_data(self, data: str) -> None:
        if self.skip or self.in_head:
            return
        if self.pre:
            self._emit(data.replace("\n", self._newline_text()))
            return
        data = _SPACES.sub(" ", data)
        if self.at_line_start or self.pending or (self.out and self.out[-1].endswith(" ")):
            data = data.lstrip(" ")
        self._emit(data)

    def text(self) -> str:
        body = "".join(self.out).replace("\xa0", " ")
        lines = [line.rstrip() for line in body.split("\n")]
        body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
        if self.urls:
            notes = "\n".join(f"[{n}] {url}" for url, n in self.urls.items())
            body = f"{body}\n\n{notes}" if body else notes
        return body


def html_to_text(html: str) -> str:
    """Readable text from HTML, with only the stdlib `html.parser`.  Never raises.

    Drops script/style/head, turns blocks and <br> into line breaks, list items into
    "• ", link targets into numbered footnotes.  Fetches nothing.
    """
    if not isinstance(html, str):
        data = bytes(html) if isinstance(html, (bytes, bytearray, memoryview)) else b""
        html = data.decode("utf-8", "replace")
    try:
        parser = _HtmlText()
        parser.feed(_defuse(html))
        parser.close()
        return parser.text()
    except Exception:
        # html.parser still has asserts on malformed markup: strip tags crudely.
        return _SPACES.sub(" ", unescape(_TAG.sub(" ", html))).strip()
