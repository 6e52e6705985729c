"""The viewer's text pane in a small app: quote colours, the dimmed signature, folding
(T), finding (/ n N Esc), read from what the pane renders."""

from __future__ import annotations

import pytest
from rich.color import Color
from textual.app import App, ComposeResult
from textual.binding import Binding

from tui.body_lines import fold_marker
from tui.dialogs import PromptScreen
from tui.widgets.body_view import BodyView

SIZE = (70, 16)


class Host(App[None]):
    """Esc here stands for the app's own Esc (it closes the viewer)."""

    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self) -> None:
        super().__init__()
        self.backs = 0
        self.notes: list[str] = []

    def compose(self) -> ComposeResult:
        yield BodyView(id="body")

    def on_mount(self) -> None:
        self.query_one(BodyView).focus()

    def action_back(self) -> None:
        self.backs += 1

    def notify(self, message, **options) -> None:
        self.notes.append(str(message))
        super().notify(message, **options)


def screen_lines(body: BodyView) -> list[str]:
    return ["".join(segment.text for segment in body.render_line(y)).rstrip() for y in range(body.size.height)]


def style_of(body: BodyView, words: str):
    """The rendered style of the first on-screen segment holding `words`."""
    for y in range(body.size.height):
        for segment in body.render_line(y):
            if words in segment.text:
                return segment.style
    raise AssertionError(f"{words!r} is not on screen: {screen_lines(body)}")


def luminance(color: Color) -> float:
    red, green, blue = color.get_truecolor()
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


async def find(pilot, query: str) -> None:
    await pilot.press("slash")
    await pilot.pause()
    assert isinstance(pilot.app.screen, PromptScreen)
    await pilot.press(*query, "enter")
    await pilot.pause()


def numbered(count: int, marks: dict[int, str]) -> str:
    return "\n".join(marks.get(n, f"line {n}") for n in range(count))


def row_of(body: BodyView, words: str) -> int:
    return next(y for y, line in enumerate(screen_lines(body)) if words in line)


# -- colours -----------------------------------------------------------------------


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
async def test_quote_depths_and_the_signature_have_their_own_colours(theme):
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        app.theme = theme
        body = app.query_one(BodyView)
        body.show_text("plain words\n> depth one\n> > depth two\n>>> depth three\n\nmore plain\n-- \nthe signature\n")
        await pilot.pause()
        plain = style_of(body, "plain words")
        colours = [style_of(body, words).color for words in ("depth one", "depth two", "depth three")]
        assert len({plain.color, *colours}) == 4
        signature = style_of(body, "the signature")
        assert style_of(body, "more plain").color == plain.color
        # Dimmed: nearer the background than the plain text, whichever way the theme goes.
        background = luminance(plain.bgcolor)
        assert abs(luminance(signature.color) - background) < abs(luminance(plain.color) - background)


async def test_depth_five_cycles_back_to_depth_ones_colour():
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        body = app.query_one(BodyView)
        body.show_text("> one\n>>>>> five\n>> two")
        await pilot.pause()
        assert style_of(body, "five").color == style_of(body, "one").color != style_of(body, "two").color


async def test_a_wrapped_quoted_line_keeps_its_colour_on_every_row():
    app = Host()
    async with app.run_test(size=(40, 10)) as pilot:
        body = app.query_one(BodyView)
        body.show_text("plain\n> " + "wrapped words " * 8)
        await pilot.pause()
        rows = screen_lines(body)
        assert rows[1].startswith("> wrapped") and rows[2].startswith("wrapped")  # soft wrap
        quoted = style_of(body, "> wrapped").color
        continued = next(s for s in body.render_line(2) if s.text.strip()).style.color
        assert continued == quoted != style_of(body, "plain").color


# -- folding -----------------------------------------------------------------------

QUOTED = "\n".join(["Hello,", "", *[f"> quoted {n}" for n in range(20)], "", "My answer."])


async def test_t_shows_a_folded_quote_and_folds_it_again():
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        body = app.query_one(BodyView)
        body.show_text(QUOTED)
        await pilot.pause()
        shown = screen_lines(body)
        assert "> quoted 1" in shown and "> quoted 2" not in shown
        assert fold_marker(18) in shown and "My answer." in shown
        await pilot.press("T")
        await pilot.pause()
        shown = screen_lines(body)
        assert "> quoted 2" in shown and "> quoted 10" in shown
        assert not any("more quoted lines" in line for line in shown)
        assert body.text == QUOTED  # all of it, as it came
        await pilot.press("T")
        await pilot.pause()
        assert fold_marker(18) in screen_lines(body)
        assert style_of(body, "more quoted lines").italic


async def test_t_keeps_the_reader_at_the_same_place():
    paragraphs = []
    for n in range(12):
        paragraphs += [f"para {n}", *[f"> q{n} line {k}" for k in range(15)]]
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        body = app.query_one(BodyView)
        body.show_text("\n".join(paragraphs))
        await pilot.pause()
        y = body.wrapped_document.location_to_offset((body.document.lines.index("para 6"), 0)).y
        body.scroll_to(y=y, animate=False, immediate=True)
        await pilot.pause()
        assert screen_lines(body)[0] == "para 6"
        await pilot.press("T")
        await pilot.pause()
        assert screen_lines(body)[0] == "para 6"
        assert "> q6 line 5" in screen_lines(body)
        await pilot.press("T")
        await pilot.pause()
        assert screen_lines(body)[0] == "para 6"


async def test_the_footer_offers_find_and_quotes_only_when_there_is_a_quote_to_fold():
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        body = app.query_one(BodyView)
        body.show_text(QUOTED)
        await pilot.pause()
        active = app.screen.active_bindings
        assert active["slash"].binding.description == "Find" and active["slash"].binding.show
        assert active["T"].binding.description == "Quotes" and active["T"].binding.show
        assert "n" not in active and "N" not in active  # no search yet: nothing to repeat
        await find(pilot, "quoted")
        active = app.screen.active_bindings
        assert not active["n"].binding.show and not active["N"].binding.show
        assert active["escape"].binding.description == "Clear find"
        body.show_text("no quotes here\n> one short quote")
        await pilot.pause()
        assert "T" not in app.screen.active_bindings
        await pilot.press("T")  # does nothing, and nothing breaks
        assert screen_lines(body)[0] == "no quotes here"


# -- finding -----------------------------------------------------------------------


async def test_slash_selects_the_first_match_below_the_view_and_scrolls_to_it():
    text = numbered(300, {10: "an early needle", 150: "a needle at 150", 200: "a needle at 200"})
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        body = app.query_one(BodyView)
        body.show_text(text)
        await pilot.pause()
        body.scroll_to(y=100, animate=False, immediate=True)
        await pilot.pause()
        await find(pilot, "needle")
        assert body.selection.start == (150, 2) and body.selection.end == (150, 8)
        assert body.selected_text == "needle"
        assert "a needle at 150" in screen_lines(body)
        current = style_of(body, "a ")  # the match splits the line: "a ", "needle", " at 150"
        assert style_of(body, "needle").bgcolor != current.bgcolor
        assert app.notes == []


async def test_other_matches_are_marked_and_esc_drops_the_marks_then_reaches_the_app():
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        body = app.query_one(BodyView)
        body.show_text(numbered(10, {2: "first needle", 5: "second needle here"}))
        await pilot.pause()
        plain_background = style_of(body, "line 0").bgcolor
        await find(pilot, "needle")
        assert body.selection.start == (2, 6)
        current = style_of(body, "needle").bgcolor  # line 2's, the first on screen
        other_line = screen_lines(body).index("second needle here")
        other = next(s for s in body.render_line(other_line) if s.text == "needle").style.bgcolor
        assert len({plain_background, current, other}) == 3
        await pilot.press("escape")
        await pilot.pause()
        assert app.backs == 0  # Esc dropped the search only
        assert body.selection.is_empty
        assert all(segment.style.bgcolor == plain_background
                   for y in range(body.size.height) for segment in body.render_line(y) if segment.text.strip())
        await pilot.press("escape")
        assert app.backs == 1


async def test_n_and_shift_n_step_through_matches_and_wrap_around():
    text = numbered(300, {20: "needle A", 80: "needle B", 250: "needle C"})
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        body = app.query_one(BodyView)
        body.show_text(text)
        await pilot.pause()
        await find(pilot, "needle")
        assert body.selection.start == (20, 0)
        seen = []
        for key in ("n", "n", "n", "N", "N"):
            await pilot.press(key)
            await pilot.pause()
            seen.append(body.selection.start[0])
            assert body.document[body.selection.start[0]] in screen_lines(body)
        assert seen == [80, 250, 20, 250, 80]
        assert app.notes == ["Search wrapped", "Search wrapped"]


async def test_smart_case():
    text = numbered(200, {50: "Needle upper", 100: "needle lower"})
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        body = app.query_one(BodyView)
        body.show_text(text)
        await pilot.pause()
        await find(pilot, "needle")
        assert body.selection.start[0] == 50
        await pilot.press("n")
        assert body.selection.start[0] == 100
        await find(pilot, "Needle")
        assert body.selection.start[0] == 50  # the view is at line 50 still
        await pilot.press("n")  # the only match: wraps to itself
        assert body.selection.start[0] == 50 and app.notes[-1] == "Search wrapped"
        await find(pilot, "NEEDLE")
        assert app.notes[-1] == "Not found: NEEDLE"
        await pilot.press("escape")
        assert app.backs == 1  # nothing found: no search on, Esc goes on to the app


async def test_a_match_inside_a_folded_quote_unfolds_it():
    lines = ["Hello,", *[f"> old line {n}" for n in range(30)], "Bye."]
    lines[22] = "> the secret is here"
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        body = app.query_one(BodyView)
        body.show_text("\n".join(lines))
        await pilot.pause()
        assert "> the secret is here" not in body.text
        await find(pilot, "secret")
        assert "> the secret is here" in screen_lines(body)
        assert body.selected_text == "secret"
        assert body.text == "\n".join(lines)
        await pilot.press("T")  # some shown, so T folds them all
        await pilot.pause()
        assert "> the secret is here" not in body.text


async def test_the_source_view_and_a_reload_keep_the_search():
    """More of the same text (keep_place): the place, the folding and the search stay."""
    first = numbered(100, {60: "needle"})
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        body = app.query_one(BodyView)
        body.show_text(first)
        await pilot.pause()
        await find(pilot, "needle")
        top = body.scroll_offset.y
        body.show_text(first + "\n" + numbered(100, {}), keep_place=True)
        await pilot.pause()
        assert body.scroll_offset.y == top
        assert body.selection.start == (60, 0)
        body.show_text("another message\nneedle")
        await pilot.pause()
        assert body.selection.is_empty and body.scroll_offset.y == 0
        await pilot.press("n")  # the last query, on the new text
        assert body.selection.start == (1, 0)


async def test_the_text_is_still_made_inert():
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        body = app.query_one(BodyView)
        body.show_text("> quoted \x1b]52;c;aGk=\x07text\n[b]not markup[/b]")
        await pilot.pause()
        assert body.text == "> quoted text\n[b]not markup[/b]"
        # Every other line break is gone or a "\n": TextArea's lines are the map's lines.
        body.show_text("a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i\rj\r\nk\n> l")
        await pilot.pause()
        assert body.document.lines == body.shown.text.split("\n") == body.body.lines
        assert body.document.line_count == 6
