"""Fuzzy matching for pickers: type "pas" to reach "Projects/Alpha/Specs".

A query matches a candidate when its characters, in order, are a subsequence of the
candidate's.  Both sides are compared casefolded and without accents ("recus" finds
"Reçus", "été" finds "Été 2026" and "ETE"); spaces in the query are ignored.

Among the matches, the score prefers, in roughly this order of weight:

* characters at word starts: the start of the string, after any character that is not
  a letter or digit (``/ . _ -`` space, the mailbox delimiter...), and camelCase humps;
* contiguous runs, and few, short gaps between the matched characters;
* a candidate that starts with the query;
* shorter candidates (a tie-breaker).

The best alignment is found by dynamic programming over the positions where each query
character occurs, so the cost grows with the number of occurrences, not with
len(query) * len(candidate); candidates are cut to `MAX_CANDIDATE` characters and
queries to `MAX_QUERY` before matching.  No regular expressions, no backtracking.

Pure module: no Textual or Rich imports.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import NamedTuple, TypeVar

__all__ = ["FuzzyMatch", "fuzzy_match", "fuzzy_score", "fuzzy_filter", "fold", "MAX_CANDIDATE", "MAX_QUERY"]

T = TypeVar("T")

MAX_CANDIDATE = 500  # characters of a candidate considered; the rest cannot match
MAX_QUERY = 100  # characters of a query considered

# Weights.  A matched character earns its position's bonus; joining the previous match
# directly earns CONSECUTIVE, a gap costs GAP_OPEN plus GAP_EXTEND per skipped character.
BONUS_WORD_START = 8.0
BONUS_CAMEL = 7.0
CONSECUTIVE = 4.0
GAP_OPEN = 3.0
GAP_EXTEND = 0.2
LEADING_PER_CHAR = 0.1  # characters skipped before the first match ...
LEADING_MAX = 2.0  # ... cost at most this much
PREFIX_BONUS = 10.0
LENGTH_PENALTY = 0.02  # per character of the candidate
# Above this many (query character, position) pairs the alignment is not optimised but
# taken greedily (the shortest window ending at the earliest possible end): only
# repetitive, hostile names get there, and they must not cost a keystroke 10 ms each.
DP_BUDGET = 600

_NEG = float("-inf")


class FuzzyMatch(NamedTuple):
    score: float
    positions: tuple[int, ...]  # indices into the candidate string of the matched characters


def fold(text: str) -> str:
    """Casefolded, without accents or other combining marks: what the matcher compares."""
    return "".join(_fold_char(ch) for ch in text)


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    decomposed = unicodedata.normalize("NFD", ch.casefold())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return folded.casefold()


@lru_cache(maxsize=4096)
def _fold_query(query: str) -> str:
    return "".join(fold(query).split())[:MAX_QUERY]


class _Prepared(NamedTuple):
    chars: str  # the folded candidate
    origin: tuple[int, ...]  # index in the original candidate of each folded character
    bonus: tuple[float, ...]  # word-start bonus of each folded character
    occurrences: dict[str, list[int]]  # folded character -> its positions in `chars`
    length: int  # length of the (cut) original candidate


@lru_cache(maxsize=8192)
def _prepare(candidate: str, delimiter: str | None) -> _Prepared:
    candidate = candidate[:MAX_CANDIDATE]
    if candidate.isascii():  # the usual case: one folded character per character
        folded_ascii = candidate.lower()
        bonus_ascii: list[float] = []
        previous = ""
        for ch in candidate:
            if not previous or not previous.isalnum() or previous == delimiter:
                bonus_ascii.append(BONUS_WORD_START)
            elif previous.islower() and ch.isupper():
                bonus_ascii.append(BONUS_CAMEL)
            else:
                bonus_ascii.append(0.0)
            previous = ch
        occurrences_ascii: dict[str, list[int]] = {}
        for position, folded in enumerate(folded_ascii):
            occurrences_ascii.setdefault(folded, []).append(position)
        return _Prepared(
            folded_ascii, tuple(range(len(candidate))), tuple(bonus_ascii), occurrences_ascii, len(candidate)
        )
    chars: list[str] = []
    origin: list[int] = []
    bonus: list[float] = []
    previous = ""
    for index, ch in enumerate(candidate):
        if index == 0 or not previous.isalnum() or previous == delimiter:
            char_bonus = BONUS_WORD_START
        elif previous.islower() and ch.isupper():
            char_bonus = BONUS_CAMEL
        else:
            char_bonus = 0.0
        if not unicodedata.combining(ch):
            previous = ch
        for folded in _fold_char(ch):
            chars.append(folded)
            origin.append(index)
            bonus.append(char_bonus)
            char_bonus = 0.0  # "ß" -> "ss": only the first "s" starts the word
    occurrences: dict[str, list[int]] = {}
    for position, folded in enumerate(chars):
        occurrences.setdefault(folded, []).append(position)
    return _Prepared("".join(chars), tuple(origin), tuple(bonus), occurrences, len(candidate))


def fuzzy_match(query: str, candidate: str, *, delimiter: str | None = None) -> FuzzyMatch | None:
    """Score and matched positions of `query` in `candidate`, or None when it does not match.

    `positions` index the original `candidate` (for highlighting); an empty query
    matches everything with score 0 and no positions.  Never raises on odd input.
    """
    q = _fold_query(query if isinstance(query, str) else str(query))
    if not q:
        return FuzzyMatch(0.0, ())
    if not isinstance(candidate, str):
        candidate = "" if candidate is None else str(candidate)
    prep = _prepare(candidate, delimiter or None)
    chars = prep.chars
    n = len(chars)
    m = len(q)
    if m > n:
        return None

    # Earliest feasible position of every query character (greedy forward) and latest
    # (greedy backward): any alignment lies between them, and no match means None.
    lows: list[int] = []
    at = 0
    for ch in q:
        at = chars.find(ch, at)
        if at < 0:
            return None
        lows.append(at)
        at += 1
    highs = [0] * m
    at = n
    for i in range(m - 1, -1, -1):
        at = chars.rfind(q[i], 0, at)
        highs[i] = at  # found: the forward pass proved it

    bonus = prep.bonus
    occurrences = prep.occurrences
    spans = []
    work = 0
    for i in range(m):
        occ = occurrences[q[i]]
        span = (bisect_left(occ, lows[i]), bisect_right(occ, highs[i]))
        work += span[1] - span[0]
        spans.append(span)
    if work > DP_BUDGET:
        matched = _greedy(q, chars, lows[-1])
        score = _score_alignment(matched, bonus)
    else:
        matched, score = _optimal(q, occurrences, spans, bonus)

    if chars.startswith(q):
        score += PREFIX_BONUS
    score -= LENGTH_PENALTY * prep.length
    origin = prep.origin
    positions_out = tuple(dict.fromkeys(origin[p] for p in matched))
    return FuzzyMatch(score, positions_out)


def _greedy(q: str, chars: str, end: int) -> list[int]:
    """The latest alignment that ends at `end` (where the earliest one ends): a short window."""
    matched = [end]
    at = end
    for i in range(len(q) - 2, -1, -1):
        at = chars.rfind(q[i], 0, at)
        matched.append(at)
    matched.reverse()
    return matched


def _score_alignment(matched: list[int], bonus: tuple[float, ...]) -> float:
    first = matched[0]
    score = bonus[first] - min(LEADING_MAX, LEADING_PER_CHAR * first)
    for previous, j in zip(matched, matched[1:]):
        if j == previous + 1:
            score += CONSECUTIVE
        else:
            score -= GAP_OPEN + GAP_EXTEND * (j - previous - 1)
        score += bonus[j]
    return score


def _optimal(
    q: str,
    occurrences: dict[str, list[int]],
    spans: list[tuple[int, int]],
    bonus: tuple[float, ...],
) -> tuple[list[int], float]:
    """The best-scoring alignment, by dynamic programming over the occurrences."""
    m = len(q)
    # Row by row: the best score of an alignment of q[:i+1] ending at each position.
    rows_pos: list[list[int]] = []
    rows_score: list[list[float]] = []
    rows_back: list[list[int]] = []  # index into the previous row of the chosen predecessor
    for i in range(m):
        positions = occurrences[q[i]][spans[i][0] : spans[i][1]]
        scores: list[float] = []
        back: list[int] = []
        if i == 0:
            for j in positions:
                scores.append(bonus[j] - min(LEADING_MAX, LEADING_PER_CHAR * j))
                back.append(-1)
        else:
            prev_pos = rows_pos[-1]
            prev_score = rows_score[-1]
            k = 0
            best_gap = _NEG  # max over p <= j-2 of score(p) + GAP_EXTEND * p
            best_gap_k = -1
            count = len(prev_pos)
            for j in positions:
                while k < count and prev_pos[k] <= j - 2:
                    value = prev_score[k] + GAP_EXTEND * prev_pos[k]
                    if value > best_gap:
                        best_gap, best_gap_k = value, k
                    k += 1
                best, best_k = _NEG, -1
                if best_gap_k >= 0:
                    best = best_gap - GAP_OPEN - GAP_EXTEND * (j - 1)
                    best_k = best_gap_k
                if k < count and prev_pos[k] == j - 1 and prev_score[k] + CONSECUTIVE >= best:
                    best, best_k = prev_score[k] + CONSECUTIVE, k
                scores.append(bonus[j] + best if best_k >= 0 else _NEG)
                back.append(best_k)
        rows_pos.append(positions)
        rows_score.append(scores)
        rows_back.append(back)

    last = rows_score[-1]
    end = max(range(len(last)), key=last.__getitem__)
    matched: list[int] = []
    k = end
    for i in range(m - 1, -1, -1):
        matched.append(rows_pos[i][k])
        k = rows_back[i][k]
    matched.reverse()
    return matched, last[end]


def fuzzy_score(query: str, candidate: str, *, delimiter: str | None = None) -> float | None:
    """Higher is better; None when `query` is not a subsequence of `candidate`.

    Casefolded and accent-insensitive, spaces in the query ignored; an empty query
    scores every candidate 0.  `delimiter` (the mailbox hierarchy delimiter) counts as
    a word separator, as every non-alphanumeric character already does.
    """
    match = fuzzy_match(query, candidate, delimiter=delimiter)
    return None if match is None else match.score


def fuzzy_filter(
    query: str,
    items: Sequence[T],
    key: Callable[[T], str],
    *,
    delimiter: str | None = None,
) -> list[T]:
    """The items whose key matches `query`, best first; ties keep their given order."""
    scored: list[tuple[float, T]] = []
    for item in items:
        score = fuzzy_score(query, key(item), delimiter=delimiter)
        if score is not None:
            scored.append((score, item))
    scored.sort(key=lambda pair: -pair[0])  # sort is stable: ties stay in order
    return [item for _score, item in scored]
