"""HTML -> readable plain text, for showing text/html mail parts.

The layout is inscriptis's (aligned tables, lists, <pre>), on a tree we build ourselves
from lxml's HTML parser (libxml2).  Nothing is fetched: the HTML parser has no DTD loading
or entity resolution at all (HTMLParser rejects `load_dtd` and `resolve_entities`; its
libxml2 options are RECOVER, NONET and COMPACT only; a DOCTYPE is just an event), nothing
calls XInclude, and inscriptis only reads the tree.  tests/test_html_text.py checks this
with a TCP listener, an audit hook and an lxml resolver.

The tree is built through a parser target, so that we decide what reaches it: libxml2's
own tree building is quadratic in the attributes of one element (16,000 took 0.45 s,
300,000 took 9 minutes), so only the few attributes we use are kept; hidden and script-
like elements never enter it; elements nested deeper than MAX_DEPTH are flattened into
their ancestor's text; and past a MAX_ limit, the rest is plain text.

`html_to_text` never raises: a failure falls back to pattern matching.  The text returned
is *not* display-safe: the UI passes it through `tui.safe_text` at render time, like every
other untrusted string.

Pure module: no Textual or Rich imports.
"""

from __future__ import annotations

import re
from html import unescape

import lxml.html
from inscriptis.css_profiles import STRICT_CSS_PROFILE
from inscriptis.html_engine import Inscriptis
from inscriptis.html_properties import Display, WhiteSpace
from inscriptis.model.canvas import Canvas
from inscriptis.model.config import ParserConfig
from inscriptis.model.css import CssParse
from inscriptis.model.html_element import HtmlElement
from inscriptis.model.table import Table
from inscriptis.model.tag import CustomHtmlTagHandlerMapping
from inscriptis.model.tag.table_tag import table_end_handler
from lxml import etree

__all__ = ["html_to_text"]

MAX_HTML = 4 * 1024 * 1024  # characters parsed; the rest is cut with a note
# inscriptis spends about 20 us on an element and 0.1 us on a character: past any of these
# limits, the rest of the HTML is shown as plain text.
MAX_ELEMENTS = 10_000
MAX_TEXT = 1_000_000  # characters laid out
MAX_CALLS = 200_000  # parser callbacks: libxml2 makes one per entity or stray "<"
MAX_LINES = 50_000  # line breaks laid out: each may get list and quote prefixes
MAX_REST = 1024 * 1024  # characters of HTML past the laid-out part, shown as plain text
MAX_DEPTH = 150  # deeper elements are flattened (inscriptis recurses once per level)
MAX_TABLE_DEPTH = 8  # deeper tables are laid out as plain blocks
MAX_QUOTE_DEPTH = 8  # "> " prefixes
MAX_LIST_DEPTH = 8  # indented list levels
MAX_LINKS = 500  # numbered footnotes
MAX_URL = 2000  # characters of a footnote's URL
TABLE_PADDING = 2_000_000  # spaces added to align tables, per message; then tables are plain
CHUNK = 64 * 1024  # bytes fed to the parser between checks of the limits

# Elements whose content is never text for a reader.  Not <embed>: it has no content, and
# libxml2, which does not know it is void, nests everything after it inside it.
_DROP = frozenset("script style head title template iframe object".split())
# Elements that end a line when they are shown as plain text.
_BREAKS = frozenset(
    "address article aside blockquote br caption center dd details dialog div dl dt fieldset"
    " figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr legend li main menu nav ol p"
    " pre section summary table tr ul".split()
)
_TABLE_PARTS = frozenset("table caption thead tbody tfoot tr td th".split())
_KEPT_ATTRIBUTES = frozenset({"align", "valign", "value", "start", "style"})
_TAG_NAME = re.compile(r"[a-z][a-z0-9-]*")  # "o:p" and the like are not valid lxml names
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|mso-hide\s*:\s*all")
_WHITE_SPACE = re.compile(r"white-space\s*:\s*([a-z-]+)")
_SCHEMES = ("http://", "https://", "mailto:")
_URL_SPACE = re.compile(r"[\t\n\r]")  # browsers drop these anywhere in a URL
_EDGE_SPACE = "".join(chr(c) for c in range(33))  # ...and controls and spaces around it
_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")
# While inscriptis runs, text has noncharacters (never valid in mail, so those in the
# input are replaced first) standing for "&" (inscriptis unescapes text it is given, and
# once more per table or quote around it: "&amp;lt;" would show as "<"), for no-break
# spaces (it collapses them like spaces), and for control characters (lxml refuses them in
# a tree; they must come through: the UI removes escape sequences whole, with their
# parameters).
_AMP, _NBSP = "\ufdd0", "\ufdd1"
_NONCHARACTERS = re.compile("[\ufdd0-\ufdef]")
_HIDE = {chr(c): chr(0xFDD2 + i) for i, c in enumerate(c for c in range(1, 32) if c not in (9, 10, 13))}
_SHOW = {placeholder: control for control, placeholder in _HIDE.items()}
# ...and the characters lxml refuses that entities can make, and the noncharacters.
_HIDE |= dict.fromkeys(["\x00", "\ufffe", "\uffff", *map(chr, range(0xFDD0, 0xFDF0))], "\ufffd")
_TO_HIDE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufdd0-\ufdef\ufffe\uffff]")
_TO_SHOW = re.compile("[\ufdd2-\ufded]")
_BULLET = "\u2022 "


# --- building the tree ----------------------------------------------------------------


class _Link:
    __slots__ = ("url", "text", "size")

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.text: list[str] = []
        self.size = 0

    def add(self, text: str) -> None:
        # Only a text about as long as the URL can be the URL: no need to keep more.
        if self.url is not None and self.size <= len(self.url) + 64:
            self.text.append(text)
            self.size += len(text)


class _Builder:
    """lxml parser target: builds the tree inscriptis lays out, with only what it needs."""

    def __init__(self) -> None:
        self.tree = etree.TreeBuilder()
        self.tree.start("div", {})  # a root even for an empty document
        self.open: list[str | None] = []  # per open element: the name it was built as
        self.hidden = 0  # open elements inside a dropped or hidden one
        self.tables = 0
        self.built = 0
        self.calls = 0
        self.lines = 0
        self.chars = 0
        self.full = False  # a MAX_ limit reached: text goes to `rest`
        self.rest: list[str] = []
        self.links: list[_Link] = []
        self.urls: dict[str, int] = {}

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.calls += 1
        self.full = self.full or self.calls >= MAX_CALLS
        if self.hidden or tag in _DROP or _is_hidden(attrib):
            self.hidden += 1
            return
        if tag == "a":
            self.links.append(_Link(_footnote_url(attrib.get("href"))))
        elif tag == "img":
            alt = _SPACES.sub(" ", attrib.get("alt") or "").strip()
            if alt:
                self.data(f"[image: {alt}]")
        if self.full or len(self.open) >= MAX_DEPTH or tag == "img":
            self.open.append(None)
            self._separate(tag)
            return
        name = tag if _TAG_NAME.fullmatch(tag) else "span"
        if name == "table":
            self.tables += 1
        if name in _TABLE_PARTS and self.tables > MAX_TABLE_DEPTH:
            name = "div"
        self.tree.start(name, {key: _TO_HIDE.sub("", value) for key, value in attrib.items() if key in _KEPT_ATTRIBUTES})
        self.open.append(name)
        if name == "hr":
            self.tree.data("-" * 20)
        self.built += 1
        self.full = self.built >= MAX_ELEMENTS

    def end(self, tag: str) -> None:
        if self.hidden:
            self.hidden -= 1
            return
        name = self.open.pop() if self.open else None
        if name is not None:
            self.tree.end(name)
            if tag == "table":
                self.tables -= 1
        else:
            self._separate(tag)
        if tag == "a" and self.links:
            self._footnote(self.links.pop())

    def data(self, text: str) -> None:
        self.calls += 1
        self.full = self.full or self.calls >= MAX_CALLS
        if self.hidden:
            return
        if self.links:
            self.links[-1].add(text)
        self._text(text)

    def close(self) -> None:  # lxml requires it of a target
        return None

    def finish(self) -> etree._Element:
        while self.open:
            name = self.open.pop()
            if name is not None:
                self.tree.end(name)
        self.tree.end("div")
        return self.tree.close()

    def _separate(self, tag: str) -> None:
        """Around an element not built: a line break in `rest`, a space in a flattened element."""
        if tag in _BREAKS:
            self._text("\n")
        elif tag in ("td", "th"):
            self._text(" ")

    def _text(self, text: str) -> None:
        if not self.full:
            self.lines += text.count("\n")
            self.chars += len(text)
            self.full = self.lines >= MAX_LINES or self.chars >= MAX_TEXT
        if self.full:
            self.rest.append(text)
        else:
            self.tree.data(_hide(text))

    def _footnote(self, link: _Link) -> None:
        if link.url is None:
            return
        shown = _SPACES.sub(" ", "".join(link.text)).strip()
        if not shown or shown in (link.url, link.url.removeprefix("mailto:")):
            return  # nothing to point at, or the text already is the address
        number = self.urls.get(link.url)
        if number is None:
            if len(self.urls) >= MAX_LINKS:
                return
            number = self.urls[link.url] = len(self.urls) + 1
        self._text(f" [{number}]")


def _hide(text: str) -> str:
    if _TO_HIDE.search(text):
        text = _TO_HIDE.sub(lambda match: _HIDE[match[0]], text)
    return text.replace("&", _AMP).replace("\xa0", _NBSP)


def _show(text: str) -> str:
    text = text.replace(_AMP, "&").replace(_NBSP, " ")
    return _TO_SHOW.sub(lambda match: _SHOW[match[0]], text) if _TO_SHOW.search(text) else text


def _is_hidden(attrib: dict[str, str]) -> bool:
    if "hidden" in attrib:
        return True
    style = attrib.get("style")
    return bool(style) and _HIDDEN_STYLE.search(style.lower()) is not None


def _footnote_url(href: str | None) -> str | None:
    """The URL a footnote shows, or None for a link that gets none (javascript:, data:,
    file:, relative and fragment links)."""
    url = _URL_SPACE.sub("", href or "").strip(_EDGE_SPACE)
    return url[:MAX_URL] if url.lower().startswith(_SCHEMES) else None


def _parse(html: str) -> tuple[etree._Element, _Builder, str]:
    """The tree to lay out, the builder (footnotes, `rest`), and the unparsed remainder."""
    builder = _Builder()
    # lxml.html's parser with a target builds nothing itself.  Encoding given: a <meta
    # charset> must not re-decode text we already decoded.
    parser = lxml.html.HTMLParser(
        target=builder, no_network=True, remove_comments=True, remove_pis=True, encoding="utf-8"
    )
    data = html.encode("utf-8", "replace")
    pos = 0
    while pos < len(data) and not builder.full:
        parser.feed(data[pos : pos + CHUNK])
        pos += CHUNK
    try:
        parser.close()
    except etree.XMLSyntaxError:
        pass  # "no element found": an empty document
    return builder.finish(), builder, data[pos:].decode("utf-8", "replace")


# --- laying it out --------------------------------------------------------------------


def _block(**options) -> HtmlElement:
    return HtmlElement(display=Display.block, **options)


_CSS = {
    **STRICT_CSS_PROFILE,
    **{tag: _block() for tag in "center section form fieldset details summary dialog menu legend caption dl dt hr".split()},
    "dd": _block(padding_inline=2),
    "blockquote": _block(margin_before=1, margin_after=1),
    "pre": _block(whitespace=WhiteSpace.pre, margin_before=1, margin_after=1),
}


def _white_space(style: str, element: HtmlElement) -> None:
    # The only CSS used: margins and paddings from a mail would only blow up the width.
    match = _WHITE_SPACE.search(style.lower())
    if match:
        CssParse.attr_white_space(match[1], element)


_ATTRIBUTE_HANDLERS = {
    "style": _white_space,
    "align": CssParse.attr_horizontal_align,
    "valign": CssParse.attr_vertical_align,
}


def _number(text: str | None, default: int) -> int:
    text = (text or "").strip()
    # isdigit() alone lets "²" through, which int() rejects.
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else default


class _Table(Table):
    """An inscriptis table, aligned while the message's padding budget lasts."""

    __slots__ = ("layout",)

    def __init__(self, layout: _Layout, cell_separator: str) -> None:
        super().__init__(left_margin_len=0, cell_separator=cell_separator)
        self.layout = layout

    def get_text(self) -> str:
        if not self.rows:
            return ""
        # inscriptis's own version loops columns x rows (10,000 of each: 10^8 steps) and
        # pads without bound (a tall cell in a wide row); this one is linear in the cells.
        rows = [row.columns for row in self.rows]
        heights = [max((cell.normalize_blocks() for cell in cells), default=0) for cells in rows]
        widths: list[int] = []
        for cells in rows:
            for index, cell in enumerate(cells):
                if index == len(widths):
                    widths.append(cell.width)
                else:
                    widths[index] = max(widths[index], cell.width)
        separator = len(self.cell_separator)
        offsets = [0]
        for width in widths:
            offsets.append(offsets[-1] + width + separator)
        size = sum(height * (offsets[len(cells)] + 1) for height, cells in zip(heights, rows))
        content = sum(len(line) + 1 for cells in rows for cell in cells for line in cell.blocks)
        if size - content > self.layout.padding:
            return self._plain(rows)
        self.layout.padding -= max(0, size - content)
        for height, cells in zip(heights, rows):
            for index, cell in enumerate(cells):
                cell.height = height
                cell.width = widths[index]
        return "\n".join(row.get_text() for row in self.rows)

    def _plain(self, rows: list[list]) -> str:
        lines = (
            self.cell_separator.join(" ".join(line.strip() for line in cell.blocks if line.strip()) for cell in cells)
            for cells in rows
        )
        return "\n".join(lines)


class _Layout:
    """inscriptis tag handlers for one message: "> " quotes, bullets, bounded tables."""

    def __init__(self) -> None:
        self.padding = TABLE_PADDING
        self.quotes: list[Canvas | None] = []  # per open <blockquote>: the canvas it hides

    def config(self) -> ParserConfig:
        config = ParserConfig(
            css=_CSS,
            custom_html_tag_handler_mapping=CustomHtmlTagHandlerMapping(
                start_tag_mapping={
                    "blockquote": self.quote_start,
                    "ul": self.ul_start,
                    "ol": self.ol_start,
                    "li": self.li_start,
                    "table": self.table_start,
                },
                end_tag_mapping={"blockquote": self.quote_end, "table": self.table_end},
            ),
        )
        config.attribute_handler.attribute_mapping = _ATTRIBUTE_HANDLERS
        return config

    # A quote is laid out on a canvas of its own, then written to the enclosing one with
    # "> " before each line: nested quotes get "> > ".
    def quote_start(self, state, attrs) -> None:
        element = state.tags[-1]
        if len(self.quotes) >= MAX_QUOTE_DEPTH:
            self.quotes.append(None)
            return
        self.quotes.append(element.canvas)
        element.canvas = Canvas()

    def quote_end(self, state) -> None:
        outer = self.quotes.pop()
        if outer is None:
            return
        element = state.tags[-1]
        inner = _tidy(element.canvas.get_text())  # blank lines collapsed before they get ">"
        element.canvas = outer  # inscriptis closes the block there after this handler
        outer.open_block(element)
        if inner:
            outer.write(element, "\n".join("> " + line for line in inner.split("\n")), WhiteSpace.pre)

    def ul_start(self, state, attrs) -> None:
        state.li_counter.append(_BULLET)
        self._indent(state, 2)

    def ol_start(self, state, attrs) -> None:
        state.li_counter.append(_number(attrs.get("start"), 1))
        self._indent(state, 3)

    @staticmethod
    def _indent(state, width: int) -> None:
        state.tags[-1].padding_inline = width if len(state.li_counter) <= MAX_LIST_DEPTH else 0

    @staticmethod
    def li_start(state, attrs) -> None:
        counter = state.li_counter[-1] if state.li_counter else _BULLET
        if isinstance(counter, int):
            counter = _number(attrs.get("value"), counter)
            state.li_counter[-1] = counter + 1
            state.tags[-1].list_bullet = f"{counter}. "
        else:
            state.tags[-1].list_bullet = counter

    def table_start(self, state, attrs) -> None:
        state.tags[-1].canvas.flush_inline()  # inscriptis would glue the table to text before it
        state.tags[-1].set_canvas(Canvas())
        state.current_table.append(_Table(self, state.config.table_cell_separator))

    @staticmethod
    def table_end(state) -> None:
        # A list item's bullet was placed when the item opened; inscriptis would place it
        # again in front of the table.
        state.tags[-2].list_bullet = ""
        table_end_handler(state)


# --- text -----------------------------------------------------------------------------

# What is past the limits, and everything after a failure, is shown by pattern matching.
_HIDDEN_OPEN = re.compile(r"<(?=[!a-zA-Z])(?:!--|((?i:script|style|head|title|template))\b)")
_HIDDEN_CLOSE = {
    name: re.compile(rf"</{name}\s*>" if name else "-->", re.IGNORECASE)
    for name in ("", "script", "style", "head", "title", "template")
}


def _names(names: frozenset[str]) -> str:
    # Grouped by first letter: a flat alternation of 40 names made "<" * 4M take 3 s.
    return "|".join(
        f"{first}(?:{'|'.join(sorted(name[1:] for name in names if name[0] == first))})"
        for first in sorted({name[0] for name in names})
    )


# The lookahead skips a bare "<" at once.  Possessive: a "<" without its ">" costs one
# scan to the next "<", never a backtrack.
_BREAK_TAG = re.compile(rf"<(?=/?[a-z])/?(?:{_names(_BREAKS)})\b[^<>]*+>", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*+>")
# Only what changes: a lone " " is left alone (matching each one doubled the time).
_INLINE_SPACE = re.compile(r" [^\S\n]+|[^\S \n][^\S\n]*")
_LINE_EDGE = re.compile(r" \n ?|\n ")


def _crude(html: str) -> str:
    shown = []
    pos = 0
    while match := _HIDDEN_OPEN.search(html, pos):
        shown.append(html[pos : match.start()])
        close = _HIDDEN_CLOSE[(match[1] or "").lower()].search(html, match.end())
        if close is None:
            pos = len(html)  # unclosed: hides the rest, as in a browser
            break
        pos = close.end()
    shown.append(html[pos:])
    text = _TAG.sub(" ", _BREAK_TAG.sub("\n", "".join(shown)))
    return _plain(unescape(text))


def _plain(text: str) -> str:
    """Spaces collapsed, lines stripped, at most one blank line in a row."""
    text = _LINE_EDGE.sub("\n", _INLINE_SPACE.sub(" ", text))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _tidy(text: str) -> str:
    """Laid-out text: trailing spaces stripped, at most one blank line in a row."""
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip("\n")


def _convert(html: str) -> str:
    notes = []
    if len(html) > MAX_HTML:
        notes.append(f"[HTML cut at {MAX_HTML // (1024 * 1024)} MB]")
    html = html[:MAX_HTML]
    root, builder, unparsed = _parse(html)
    laid_out = Inscriptis(root, _Layout().config()).get_text()
    parts = [_tidy(_show(laid_out))]
    rest = _plain("".join(builder.rest))
    if unparsed:
        # Whole tags only: CHUNK may have cut one at the start, MAX_REST one at the end.
        close, open_ = unparsed.find(">"), unparsed.find("<")
        start = close + 1 if close >= 0 and (open_ < 0 or close < open_) else 0
        end = len(unparsed)
        if end - start > MAX_REST:
            cut = unparsed.rfind("<", start, start + MAX_REST)
            end = cut if cut > start else start + MAX_REST
            notes.insert(0, "[HTML cut: the rest is not shown]")
        rest = f"{rest}\n{_crude(unparsed[start:end])}".strip()
    if rest:
        parts += ["[HTML too long to lay out: the rest is plain text]", rest]
    parts += notes
    if builder.urls:
        parts.append("Links:\n" + "\n".join(f"[{number}] {url}" for url, number in builder.urls.items()))
    return "\n\n".join(part for part in parts if part)


def html_to_text(html: str) -> str:
    """Readable text from HTML.  Never raises; fetches nothing.

    Paragraphs and headings apart by a blank line, "• " and "1. " lists, tables in aligned
    columns, quotes as "> " lines, <pre> kept, links as " [n]" footnotes listed at the end
    under "Links:" (http, https and mailto only), images as "[image: alt]".
    """
    if not isinstance(html, str):
        data = bytes(html) if isinstance(html, (bytes, bytearray, memoryview)) else b""
        html = data.decode("utf-8", "replace")
    if _NONCHARACTERS.search(html):
        html = _NONCHARACTERS.sub("\ufffd", html)
    try:
        return _convert(html)
    except Exception:
        return _crude(html[:MAX_HTML])
