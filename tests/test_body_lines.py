"""The viewer's text, line by line: quote depths, the signature, folded quoted blocks
and their map back to the original lines, and the search inside the text."""

from __future__ import annotations

import re
import time
from unittest import mock

from fuzzing import fuzz
from hypothesis import given
from hypothesis import strategies as st

from tui import body_lines
from tui.body_lines import (
    FOLD_KEEP,
    FOLD_OVER,
    MAX_QUERY,
    SIGNATURE_MAX,
    Block,
    analyse,
    fold_marker,
    next_match,
    previous_match,
    search_pattern,
    show,
)


def quote(lines: int, prefix: str = "> ", word: str = "quoted") -> list[str]:
    return [f"{prefix}{word} {n}" for n in range(lines)]


# -- depths ------------------------------------------------------------------------


def test_depth_counts_every_quote_mark_with_or_without_spaces():
    text = "\n".join([
        "plain", "> one", ">one", "> > two", ">> two", "> >> three", "   > one, three spaces in",
        "    > four spaces: not a quote (Markdown code)", "a > b", "", ">",
    ])
    body = analyse(text)
    assert [body.depth(n) for n in range(11)] == [0, 1, 1, 2, 2, 3, 1, 0, 0, 0, 1]


def test_depth_is_capped_and_out_of_range_lines_are_plain():
    body = analyse(">" * 100_000 + " deep\nplain")
    assert body.depth(0) == 255
    assert body.depth(1) == 0
    assert body.depth(2) == 0 and body.depth(-1) == 0


# -- the signature -----------------------------------------------------------------


def test_dash_dash_space_and_bare_dash_dash_start_the_signature():
    assert analyse("Hi\n-- \nAnn\n").signature == 1
    assert analyse("Hi\n--\nAnn").signature == 1


def test_lookalike_separators_are_not_signatures():
    for separator in ("---", "-- Ann", " -- ", "--  ", "> -- "):
        assert analyse(f"Hi\n{separator}\nAnn").signature is None, separator


def test_only_the_last_separator_counts():
    body = analyse("Hi\n-- \nquoted sig\n\nmore\n-- \nreal sig")
    assert body.signature == 5
    assert not body.in_signature(4) and body.in_signature(5) and body.in_signature(6)


def test_a_separator_with_too_much_under_it_is_no_signature():
    """A top-posted reply: its signature, then the whole quoted original under it."""
    near = ["Reply", "-- ", *[f"sig {n}" for n in range(SIGNATURE_MAX)], "", "", ""]
    assert analyse("\n".join(near)).signature == 1  # trailing blank lines do not count
    far = ["Reply", "-- ", *[f"line {n}" for n in range(SIGNATURE_MAX + 1)]]
    assert analyse("\n".join(far)).signature is None


# -- quoted blocks -----------------------------------------------------------------


def test_a_block_longer_than_the_limit_folds_and_one_at_the_limit_does_not():
    long = ["intro", *quote(FOLD_OVER + 1), "reply"]
    assert analyse("\n".join(long)).blocks == (Block(1, FOLD_OVER + 2),)
    short = ["intro", *quote(FOLD_OVER), "reply"]
    assert analyse("\n".join(short)).blocks == ()


def test_blank_lines_inside_a_quote_join_it_and_a_plain_line_splits_it():
    lines = ["intro", *quote(5), "", "  ", *quote(5, "> > "), "", "reply", *quote(5), "plain", *quote(5)]
    body = analyse("\n".join(lines))
    # Lines 1-12: five quoted, two blank, five deeper; the blank line after is not in it.
    assert body.blocks == (Block(1, 13),)


def test_quoted_lines_at_the_very_start_and_end_form_blocks():
    body = analyse("\n".join([*quote(10), "middle", *quote(9)]))
    assert body.blocks == (Block(0, 10), Block(11, 20))


# -- folding and its map -----------------------------------------------------------


def sample():
    lines = ["Hi Ann,", "", *quote(12), "", "Sure.", *quote(20, ">> "), "Bye", "-- ", "Bob"]
    return lines, analyse("\n".join(lines))


def test_a_folded_block_shows_its_first_lines_then_a_marker():
    _, body = sample()
    assert body.blocks == (Block(2, 14), Block(16, 36))
    shown = show(body, [0, 1])
    expected = [
        "Hi Ann,", "", "> quoted 0", "> quoted 1", fold_marker(10), "", "Sure.",
        ">> quoted 0", ">> quoted 1", fold_marker(18), "Bye", "-- ", "Bob",
    ]
    assert shown.text.split("\n") == expected
    assert shown.line_count == len(expected)
    assert fold_marker(10) == "[\u2026 10 more quoted lines \u2014 T shows them]"


def test_the_map_goes_both_ways_and_names_markers_and_hidden_lines():
    _, body = sample()
    shown = show(body, [0, 1])
    # shown line -> original line, worked out from the layout above
    assert [shown.original_line(n) for n in range(13)] == [0, 1, 2, 3, 4, 14, 15, 16, 17, 18, 36, 37, 38]
    assert shown.marker_block(4) == 0 and shown.marker_block(9) == 1 and shown.marker_block(3) is None
    assert shown.marker_line(0) == 4 and shown.marker_line(1) == 9
    # a hidden line is shown as its block's marker
    assert shown.shown_line(10) == 4 and shown.hiding_block(10) == 0
    assert shown.shown_line(35) == 9 and shown.hiding_block(35) == 1
    assert shown.shown_line(3) == 3 and shown.hiding_block(3) is None
    assert shown.shown_line(38) == 12


def test_one_block_folded_alone_and_unknown_indices_ignored():
    _, body = sample()
    shown = show(body, [1, 7, -1])
    assert shown.folded == (1,)
    assert "> quoted 11" in shown.text.split("\n")
    assert shown.shown_line(36) == 36 - (18 - 1)
    assert shown.marker_line(0) is None


def test_nothing_folded_is_the_original_text():
    lines, body = sample()
    shown = show(body)
    assert shown.text == "\n".join(lines)
    assert all(shown.original_line(n) == n == shown.shown_line(n) for n in range(len(lines)))


# -- search ------------------------------------------------------------------------


def test_smart_case():
    text = "Foo foo FOO"
    lower = search_pattern("foo")
    assert [m.start() for m in lower.finditer(text)] == [0, 4, 8]
    upper = search_pattern("Foo")
    assert [m.start() for m in upper.finditer(text)] == [0]


def test_the_query_is_literal_one_line_and_capped():
    assert search_pattern("") is None
    assert search_pattern("a.c").search("abc") is None
    assert search_pattern("a.c").search("xa.c") is not None
    assert search_pattern("a\nb").search("a b") is not None
    assert search_pattern("x" * 1000).pattern == "x" * MAX_QUERY


def test_next_and_previous_wrap_around():
    text = "one two one two one"
    pattern = search_pattern("one")
    assert next_match(text, pattern, 0) == (0, 3, False)
    assert next_match(text, pattern, 1) == (8, 11, False)
    assert next_match(text, pattern, 17) == (0, 3, True)
    assert previous_match(text, pattern, 16) == (8, 11, False)
    assert previous_match(text, pattern, 0) == (16, 19, True)
    assert next_match(text, search_pattern("three"), 5) is None
    assert previous_match(text, search_pattern("three"), 5) is None


def test_overlapping_matches_are_each_a_stop_both_ways():
    pattern = search_pattern("aa")
    assert next_match("aaaa", pattern, 1) == (1, 3, False)
    assert previous_match("aaaa", pattern, 2) == (1, 3, False)


def test_previous_finds_a_match_far_back_and_one_across_a_window_edge():
    text = "needle" + "x" * 200_000 + "needle"
    pattern = search_pattern("needle")
    assert previous_match(text, pattern, len(text) - 6) == (0, 6, False)
    with mock.patch.object(body_lines, "_BACKWARD_WINDOW", 4):
        # the window [4, 8) starts mid-match: the match at 2 is still found
        assert previous_match("xxneedlexx", pattern, 8) == (2, 8, False)


def test_offsets_and_locations_agree():
    body = analyse("ab\n\ncdef\ng")
    assert body.offset_of(2, 1) == 5 and body.location_of(5) == (2, 1)
    assert body.location_of(0) == (0, 0) and body.location_of(len(body.text)) == (3, 1)


# -- properties --------------------------------------------------------------------

texts = st.lists(
    st.one_of(
        st.sampled_from(["", " ", "--", "-- ", ">", "> x", ">> y", " > z", "    > code", "plain"]),
        st.text(alphabet="> -aA\t", max_size=8),
        st.integers(1, 14).map(lambda n: "\n".join(["> q"] * n)),  # runs long enough to fold
    ),
    max_size=40,
).map("\n".join)


def unfold(shown) -> str:
    """The original text back from what is shown: each marker line replaced with the
    lines the map says it hides."""
    body, out = shown.body, []
    for number, line in enumerate(shown.text.split("\n")):
        block = shown.marker_block(number)
        if block is None:
            out.append(line)
            continue
        first = shown.original_line(number)
        out.extend(body.lines[first:body.blocks[block].end])
    return "\n".join(out)


@fuzz(300)
@given(texts, st.sets(st.integers(0, 10)))
def test_unfolding_gives_back_the_original_text(text, folded):
    body = analyse(text)
    assert "\n".join(body.lines) == text
    assert show(body).text == text
    shown = show(body, folded)
    assert unfold(shown) == text
    lines = shown.text.split("\n")
    assert len(lines) == shown.line_count
    for number, line in enumerate(lines):
        original = shown.original_line(number)
        assert shown.shown_line(original) == number
        if shown.marker_block(number) is None:
            assert line == body.lines[original]
    for original in range(len(body.lines)):
        hidden_by = shown.hiding_block(original)
        if hidden_by is None:
            assert lines[shown.shown_line(original)] == body.lines[original]
        else:
            block = body.blocks[hidden_by]
            assert block.start + FOLD_KEEP <= original < block.end


@fuzz(300)
@given(texts)
def test_blocks_are_long_runs_of_quoted_lines(text):
    body = analyse(text)
    for block in body.blocks:
        assert block.end - block.start > FOLD_OVER
        assert body.depth(block.start) and body.depth(block.end - 1)
        assert all(body.depth(n) or not body.lines[n].strip() for n in range(block.start, block.end))
    for first, second in zip(body.blocks, body.blocks[1:]):
        assert any(body.lines[n].strip() and not body.depth(n) for n in range(first.end, second.start))


@fuzz(300)
@given(st.text(alphabet="abAB\n", max_size=60), st.text(alphabet="abAB", min_size=1, max_size=3),
       st.integers(0, 61))
def test_next_and_previous_match_agree_with_trying_every_position(text, query, position):
    pattern = search_pattern(query)
    starts = [n for n in range(len(text)) if pattern.match(text, n)]
    found = next_match(text, pattern, position)
    after = [n for n in starts if n >= position]
    if not starts:
        assert found is None
    else:
        assert found[0] == (after[0] if after else starts[0]) and found[2] == (not after)
    with mock.patch.object(body_lines, "_BACKWARD_WINDOW", 3):  # many window edges
        found = previous_match(text, pattern, position)
    before = [n for n in starts if n < position]
    if not starts:
        assert found is None
    else:
        assert found[0] == (before[-1] if before else starts[-1]) and found[2] == (not before)


# -- size --------------------------------------------------------------------------


def test_five_megabytes_of_mail_are_analysed_and_folded_quickly():
    paragraph = [
        "Thanks for the numbers, they look right to me.",
        *quote(12, "> ", "the earlier message said this and that, at length"),
        *quote(3, "> > ", "and before that someone wrote, at some length too"),
        "",
    ]
    lines = paragraph * (100_000 // len(paragraph) + 1)
    text = "\n".join(lines)
    assert len(text) > 5_000_000 and text.count("\n") >= 100_000
    started = time.perf_counter()
    body = analyse(text)
    shown = show(body, range(len(body.blocks)))
    spent = time.perf_counter() - started
    assert len(body.blocks) > 5000
    assert shown.line_count < len(body.lines) / 3
    # ~0.15 s on a loaded 2-core machine; a per-line Python loop was 0.9 s, anything
    # quadratic would take minutes.
    assert spent < 3.0, spent
    pattern = search_pattern("zzz-not-there")
    started = time.perf_counter()
    assert previous_match(text, pattern, len(text)) is None
    assert next_match(text, pattern, 0) is None
    assert time.perf_counter() - started < 3.0


def test_a_line_that_ends_in_a_huge_run_of_markers_is_still_linear():
    text = ">" * 2_000_000
    started = time.perf_counter()
    body = analyse(text)
    assert body.depth(0) == 255
    assert time.perf_counter() - started < 1.0
    assert re.fullmatch(r"\[\u2026 \d+ more quoted lines? \u2014 T shows them\]", fold_marker(1))
