"""Threads: JWZ over real header shapes, the server's THREAD shape, order, tree lines."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.headers import Row
from tui.list_order import thread_uids
from tui.threads import (
    MAX_DRAWN_DEPTH,
    ThreadLine,
    ThreadNode,
    build_threads,
    flatten,
    is_reply_subject,
    messages_of,
    order_threads,
    threads_from_server,
)


# -- helpers -----------------------------------------------------------------------------


def row(uid: int, mid: str | None = None, refs: tuple[str, ...] = (), irt: str | None = None,
        subject: str = "Topic") -> Row:
    """A row whose header block carries exactly the threading fields given."""
    lines = [f"Subject: {subject}"]
    if mid is not None:
        lines.append(f"Message-ID: <{mid}>")
    if refs:
        lines.append("References: " + "\r\n ".join(f"<{r}>" for r in refs))  # folded, as clients do
    if irt is not None:
        lines.append(f"In-Reply-To: <{irt}>")
    return Row(uid, frozenset(), None, 100, ("\r\n".join(lines) + "\r\n\r\n").encode())


def threads_of(*rows: Row) -> list[ThreadNode]:
    return thread_uids({r.uid: r for r in rows}, [r.uid for r in rows])


def canon(node: ThreadNode):
    """(uid or None, children sorted): the structure, whatever order children came in."""
    return (node.uid, tuple(sorted((canon(c) for c in node.children), key=repr)))


def shape(roots: list[ThreadNode]) -> list:
    return sorted((canon(r) for r in roots), key=repr)


def T(uid: int | None, *children) -> tuple:
    """An expected (sub)tree, written like the canonical form."""
    return (uid, tuple(sorted(children, key=repr)))


def all_uids(roots: list[ThreadNode]) -> list[int]:
    return [uid for root in roots for uid in messages_of(root)]


def lines_of(roots, collapsed=frozenset(), unread=()):
    return flatten(roots, set(collapsed), lambda uid: uid in unread)


# -- JWZ over real-world References chains ------------------------------------------------

# (name, rows, expected canonical forest)
CASES = [
    (
        "plain reply chain",
        [row(1, "a"), row(2, "b", refs=("a",), irt="a"), row(3, "c", refs=("a", "b"), irt="b")],
        [T(1, T(2, T(3)))],
    ),
    (
        "reply whose parent is missing: alone, no dummy left at the root",
        [row(1, "b", refs=("gone",), irt="gone")],
        [T(1)],
    ),
    (
        "missing message inside a chain: its reply hangs under the grandparent",
        [row(1, "a"), row(3, "c", refs=("a", "b"), irt="b")],
        [T(1, T(3))],
    ),
    (
        "two replies to a missing parent: siblings under one dummy",
        [row(2, "x", refs=("gone",)), row(3, "y", refs=("gone",))],
        [T(None, T(2), T(3))],
    ),
    (
        "In-Reply-To only, no References",
        [row(1, "a"), row(2, "b", irt="a"), row(3, "c", irt="b")],
        [T(1, T(2, T(3)))],
    ),
    (
        "References only, no In-Reply-To",
        [row(1, "a"), row(2, "b", refs=("a",)), row(3, "c", refs=("a", "b"))],
        [T(1, T(2, T(3)))],
    ),
    (
        "In-Reply-To names a sibling the References miss: In-Reply-To is the parent",
        [row(1, "a"), row(2, "b", refs=("a",)), row(3, "c", refs=("a",)),
         row(4, "d", refs=("a", "b"), irt="c")],
        [T(1, T(2), T(3, T(4)))],
    ),
    (
        "the same, the reply arriving before its parent (the parent's own References win)",
        [row(1, "a"), row(4, "d", refs=("a", "b"), irt="c"), row(2, "b", refs=("a",)),
         row(3, "c", refs=("a",))],
        [T(1, T(2), T(3, T(4)))],
    ),
    (
        "a reply arriving before everything it refers to",
        [row(3, "c", refs=("a", "b")), row(2, "b", refs=("a",)), row(1, "a")],
        [T(1, T(2, T(3)))],
    ),
    (
        "a message referring to itself",
        [row(1, "a", refs=("a",), irt="a")],
        [T(1)],
    ),
    (
        "a message listing itself inside its References",
        [row(1, "p"), row(2, "a", refs=("p", "a"))],
        [T(1, T(2))],
    ),
    (
        "no Message-ID at all: a thread of its own, replies to it impossible",
        [row(1), row(2), row(3, "c", refs=("x",))],
        [T(1), T(2), T(3)],
    ),
    (
        "References with junk between the ids",
        [row(1, "a"), Row(2, frozenset(), None, 1, b"Message-ID: <b>\r\nReferences: junk <a> (comment) , \r\n\r\n")],
        [T(1, T(2))],
    ),
]


@pytest.mark.parametrize("rows, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_real_world_chains(rows, expected):
    roots = threads_of(*rows)
    assert shape(roots) == sorted(expected, key=repr)
    assert sorted(all_uids(roots)) == sorted(r.uid for r in rows)


def test_loop_between_two_messages_keeps_both_once():
    # A says it answers B, B says it answers A: one thread, one of them above the other.
    for order in ([1, 2], [2, 1]):
        rows = {1: row(1, "a", refs=("b",)), 2: row(2, "b", refs=("a",))}
        roots = thread_uids(rows, order)
        assert len(roots) == 1
        top = roots[0]
        assert top.uid in (1, 2) and [c.uid for c in top.children] == [3 - top.uid]
        assert top.children[0].children == []


def test_longer_loop_and_self_reference_in_references():
    rows = [row(1, "a", refs=("c", "b")), row(2, "b", refs=("a", "c")), row(3, "c", refs=("b", "a", "c"))]
    roots = threads_of(*rows)
    assert sorted(all_uids(roots)) == [1, 2, 3]
    assert len(roots) == 1


def test_duplicate_message_id_second_message_is_not_lost():
    # A resent message under the same Message-ID: both rows stay; replies go to the first.
    rows = [row(1, "dup", subject="First"), row(2, "dup", subject="Second"), row(3, "r", refs=("dup",))]
    roots = threads_of(*rows)
    assert shape(roots) == sorted([T(1, T(3)), T(2)], key=repr)


def test_duplicate_message_id_with_its_own_references():
    rows = [row(1, "p"), row(2, "dup", refs=("p",)), row(3, "dup", refs=("q",)), row(4, "q")]
    roots = threads_of(*rows)
    assert shape(roots) == sorted([T(1, T(2)), T(4, T(3))], key=repr)


def test_same_uid_twice_counts_once():
    roots = build_threads([(1, "a", (), "x"), (1, "a", (), "x"), (2, "b", ("a",), "Re: x")])
    assert shape(roots) == [T(1, T(2))]


def test_hundreds_of_references():
    # A long-running thread: each message's References hold every ancestor (hundreds).
    ids = [f"m{i}" for i in range(400)]
    links = [(i + 1, ids[i], tuple(ids[:i]), "Re: long") for i in range(400)]
    random.Random(3).shuffle(links)
    roots = build_threads(links)
    assert len(roots) == 1
    node, depth = roots[0], 0
    while node.children:
        assert len(node.children) == 1
        node, depth = node.children[0], depth + 1
        assert node.uid == depth + 1
    assert depth == 399


def test_5000_deep_chain():
    n = 5000
    links = [(i, f"m{i}", (f"m{i - 1}",) if i > 1 else (), "Re: deep") for i in range(1, n + 1)]
    random.Random(5).shuffle(links)  # arriving in any order
    roots = order_threads(build_threads(links), key=lambda uid: uid, reverse=True)
    assert len(roots) == 1
    lines = flatten(roots, set(), lambda uid: False)
    assert [line.uid for line in lines] == list(range(1, n + 1))
    assert [line.depth for line in lines] == list(range(n))
    assert lines[-1].prefix.startswith("…") and lines[-1].prefix.endswith("└─>")
    assert max(len(line.prefix) for line in lines) <= 2 * MAX_DRAWN_DEPTH + 2
    collapsed = flatten(roots, {1}, lambda uid: uid % 2 == 0)
    assert collapsed == [ThreadLine(1, 0, "", 1, hidden=n - 1, hidden_unread=n // 2)]
    # comparing and printing deep trees must not recurse either
    again = order_threads(build_threads(links), key=lambda uid: uid, reverse=False)
    assert again == roots
    assert "…" in repr(roots[0])


def _realistic_links(count: int, seed: int = 7):
    """~30% replies, each to a recent message, with References chains like real clients."""
    rng = random.Random(seed)
    refs: dict[int, tuple[str, ...]] = {}
    links = []
    for uid in range(1, count + 1):
        if uid > 10 and rng.random() < 0.3:
            parent = max(1, uid - rng.randint(1, 300))
            chain = (*refs[parent], f"m{parent}")[-20:]
            subject = f"Re: topic {parent}"
        else:
            chain = ()
            subject = f"topic {uid}"
        if rng.random() < 0.01:  # some replies to messages long gone
            chain = (f"gone{rng.randint(1, 50)}",)
        refs[uid] = chain
        links.append((uid, f"m{uid}", chain, subject))
    return links


def test_100k_messages_in_reasonable_time():
    links = _realistic_links(100_000)
    began = time.perf_counter()
    roots = build_threads(links)
    ordered = order_threads(roots, key=lambda uid: uid, reverse=True)
    lines = flatten(ordered, set(), lambda uid: False)
    elapsed = time.perf_counter() - began
    assert sorted(line.uid for line in lines) == list(range(1, 100_001))
    assert elapsed < 20, f"100k messages took {elapsed:.1f} s"  # ~1.5 s on a laptop


# -- subject grouping (mutt's strict_threads=no) ------------------------------------------


def test_orphaned_reply_joins_the_thread_of_its_subject():
    # A client that sends no References at all: "Re: Plan" goes under "Plan".
    roots = threads_of(row(1, "a", subject="Plan"), row(2, "b", subject="Re: Plan"))
    assert shape(roots) == [T(1, T(2))]


def test_list_tags_and_other_prefixes_count_as_replies():
    roots = threads_of(row(1, "a", subject="[dev] Plan"), row(2, "b", subject="[dev] AW: Plan"),
                       row(3, "c", subject="Fwd: Plan"))
    assert shape(roots) == [T(1, T(2), T(3))]


def test_same_subject_without_a_reply_stays_apart():
    # Two "Weekly report" mails answer nothing: two threads (RFC 5256 would merge them).
    roots = threads_of(row(1, "a", subject="Weekly report"), row(2, "b", subject="Weekly report"))
    assert shape(roots) == [T(1), T(2)]


def test_orphaned_replies_without_a_starter_share_a_dummy():
    roots = threads_of(row(1, "a", subject="Re: Lunch"), row(2, "b", subject="RE: lunch"))
    assert shape(roots) == [T(None, T(1), T(2))]


def test_reply_joins_the_newest_earlier_starter():
    rows = [row(1, "a", subject="Report"), row(3, "c", subject="Re: Report"),
            row(5, "e", subject="Report"), row(7, "g", subject="Re: Report")]
    assert shape(threads_of(*rows)) == sorted([T(1, T(3)), T(5, T(7))], key=repr)


def test_reply_older_than_every_starter_joins_the_oldest():
    rows = [row(2, "a", subject="Re: Report"), row(4, "c", subject="Report"), row(6, "e", subject="Report")]
    assert shape(threads_of(*rows)) == sorted([T(4, T(2)), T(6)], key=repr)


def test_dummy_of_orphans_is_spliced_under_the_starter():
    rows = [row(1, "a", subject="Plan"), row(2, "x", refs=("gone",), subject="Re: Plan"),
            row(3, "y", refs=("gone",), subject="Re: Plan")]
    assert shape(threads_of(*rows)) == [T(1, T(2), T(3))]


def test_replies_with_an_empty_base_subject_are_not_grouped():
    roots = threads_of(row(1, "a", subject="Re:"), row(2, "b", subject="Re: "), row(3, "c", subject=""))
    assert shape(roots) == [T(1), T(2), T(3)]


def test_threaded_replies_are_not_regrouped_by_subject():
    # "Re: Plan" with References already sits in its thread: only roots are grouped.
    rows = [row(1, "a", subject="Plan"), row(2, "b", subject="Plan"),
            row(3, "c", refs=("b",), subject="Re: Plan")]
    assert shape(threads_of(*rows)) == sorted([T(1), T(2, T(3))], key=repr)


def test_base_subjects_given_means_strict_threading():
    roots = build_threads([(1, "a", (), "Plan"), (2, "b", (), "Plan")])
    assert shape(roots) == [T(1), T(2)]


@pytest.mark.parametrize("subject, reply", [
    ("Re: x", True), ("RE:x", True), ("Aw: x", True), ("Fwd: x", True), ("[list] Re: x", True),
    ("Re[2]: x", True), ("x", False), ("Regarding x", False), ("[list] x", False), ("Re x", False),
])
def test_is_reply_subject(subject, reply):
    assert is_reply_subject(subject) is reply


# -- the server's THREAD answer -----------------------------------------------------------


def test_threads_from_server_rfc5256_example():
    # RFC 5256: "* THREAD (2)(3 6 (4 23)(44 7 96))", as imapclient returns it
    roots = threads_from_server(((2,), (3, 6, (4, 23), (44, 7, 96))))
    assert roots == [ThreadNode(2, []),
                     ThreadNode(3, [ThreadNode(6, [ThreadNode(4, [ThreadNode(23, [])]),
                                                   ThreadNode(44, [ThreadNode(7, [ThreadNode(96, [])])])])])]


def test_threads_from_server_dummy_heads():
    # "((3)(5))": 3 and 5 answer a message that is not there
    assert threads_from_server((((3,), (5,)), (6,))) == [
        ThreadNode(None, [ThreadNode(3, []), ThreadNode(5, [])]), ThreadNode(6, [])]
    # a dummy below the root is spliced into its parent, as RFC 5256 step 4 does
    assert threads_from_server(((1, ((3,), (5, 8))),)) == [
        ThreadNode(1, [ThreadNode(3, []), ThreadNode(5, [ThreadNode(8, [])])])]


def test_threads_from_server_odd_shapes_keep_every_uid_once():
    roots = threads_from_server(((1, 2), (2, 3), (4, (5,), 6), (), ((),), (0, 7), 9, (b"x", 10)))
    assert sorted(all_uids(roots)) == [1, 2, 3, 4, 5, 6, 7, 9, 10]
    assert sorted(line.uid for line in lines_of(roots)) == [1, 2, 3, 4, 5, 6, 7, 9, 10]


def test_threads_from_server_deep_nesting_without_recursion():
    nested: tuple = (100_000,)
    for uid in range(99_999, 0, -1):  # (1 (2 (3 ...)(x)) (y)): nesting, not a flat chain
        nested = (uid, nested, (200_000 + uid,))
    roots = threads_from_server((nested,))
    assert len(roots) == 1 and len(all_uids(roots)) == 100_000 + 99_999


# -- order -------------------------------------------------------------------------------


def test_order_threads_newest_message_decides_and_replies_oldest_first():
    # key = a date per uid; the thread of 1 has the newest message (5, dated 50)
    dates = {1: 10, 2: 20, 3: 30, 4: 40, 5: 50, 6: 5}
    roots = build_threads([(1, "a", (), "x"), (2, "b", (), "y"), (3, "c", ("b",), "Re: y"),
                           (5, "e", ("a",), "Re: x"), (4, "d", ("a",), "Re: x"), (6, "f", ("a",), "Re: x")])
    newest_first = order_threads(roots, dates.__getitem__, reverse=True)
    assert [r.uid for r in newest_first] == [1, 2]
    assert [c.uid for c in newest_first[0].children] == [6, 4, 5]  # by date, not uid
    oldest_first = order_threads(roots, dates.__getitem__, reverse=False)
    assert [r.uid for r in oldest_first] == [2, 1]


def test_order_threads_dummy_takes_its_subtree_key():
    roots = build_threads([(1, "a", ("gone",), "Re: x"), (2, "b", ("gone",), "Re: x"), (3, "c", (), "y")])
    dates = {1: 30, 2: 10, 3: 20}
    ordered = order_threads(roots, dates.__getitem__, reverse=True)
    assert [r.uid for r in ordered] == [None, 3]  # the dummy's newest message is 30
    assert [c.uid for c in ordered[0].children] == [2, 1]
    assert [r.uid for r in order_threads(roots, dates.__getitem__, reverse=False)] == [3, None]


def test_order_threads_ties_by_first_uid_in_both_directions():
    roots = build_threads([(3, "c", (), "x"), (1, "a", (), "y"), (2, "b", (), "z")])
    assert [r.uid for r in order_threads(roots, lambda uid: 0, reverse=True)] == [1, 2, 3]
    assert [r.uid for r in order_threads(roots, lambda uid: 0, reverse=False)] == [1, 2, 3]


def test_order_threads_calls_the_key_once_per_message():
    calls = []
    roots = build_threads([(1, "a", (), "x"), (2, "b", ("a",), "x"), (3, "c", ("a", "b"), "x")])
    order_threads(roots, lambda uid: calls.append(uid) or uid, reverse=True)
    assert sorted(calls) == [1, 2, 3]


# -- tree lines --------------------------------------------------------------------------


def _sample():
    """1 -> {2 -> {3, 4 -> 5}, 6}; 7 alone; dummy -> {8 -> 9, 10}"""
    links = [(1, "a", (), "s"), (2, "b", ("a",), "s"), (3, "c", ("a", "b"), "s"), (4, "d", ("a", "b"), "s"),
             (5, "e", ("a", "b", "d"), "s"), (6, "f", ("a",), "s"), (7, "g", (), "t"),
             (8, "h", ("gone",), "Re: u"), (9, "i", ("gone", "h"), "Re: u"), (10, "j", ("gone",), "Re: u")]
    return order_threads(build_threads(links), key=lambda uid: uid, reverse=False)


def test_flatten_prefixes_mutt_like():
    lines = lines_of(_sample())
    drawn = [(line.uid, line.depth, line.prefix, line.root) for line in lines]
    # threads by newest message ascending (reverse=False): 1's ends at 6, then 7, then 10
    assert drawn == [
        (1, 0, "", 1),
        (2, 1, "├─>", 1),
        (3, 2, "│ ├─>", 1),
        (4, 2, "│ └─>", 1),
        (5, 3, "│   └─>", 1),
        (6, 1, "└─>", 1),
        (7, 0, "", 7),
        (8, 0, "", 8),  # the dummy's first child takes its place...
        (9, 1, "├─>", 8),
        (10, 1, "└─>", 8),  # ...and the dummy's other child hangs under it, after its own
    ]
    assert all(line.hidden == 0 and line.hidden_unread == 0 for line in lines)


def test_flatten_collapse_counts_hidden_and_unread():
    lines = lines_of(_sample(), collapsed={1, 8}, unread={1, 3, 5, 9, 10})
    assert lines == [
        ThreadLine(1, 0, "", 1, hidden=5, hidden_unread=2),  # 2..6 hidden, of them 3 and 5 unread
        ThreadLine(7, 0, "", 7),
        ThreadLine(8, 0, "", 8, hidden=2, hidden_unread=2),  # 9 and 10 (the dummy is no message)
    ]


def test_flatten_collapsing_a_single_message_or_a_reply_changes_nothing():
    expanded = lines_of(_sample())
    assert lines_of(_sample(), collapsed={7, 2, 999}) == expanded


def test_flatten_nested_dummies_from_a_server():
    # odd server shapes: a dummy whose first child is a dummy, an empty dummy
    roots = [ThreadNode(None, [ThreadNode(None, [ThreadNode(4, []), ThreadNode(5, [])]),
                               ThreadNode(None, []), ThreadNode(6, [])])]
    lines = lines_of(roots)
    assert [(line.uid, line.depth, line.prefix) for line in lines] == [
        (4, 0, ""), (5, 1, "├─>"), (6, 1, "└─>")]
    assert lines_of(roots, collapsed={4}, unread={6}) == [ThreadLine(4, 0, "", 4, hidden=2, hidden_unread=1)]


# -- property: whatever the links, every message shows exactly once ----------------------

_ids = st.sampled_from([f"id{i}" for i in range(12)] + [""])


@st.composite
def _links(draw):
    count = draw(st.integers(0, 25))
    uids = draw(st.lists(st.integers(1, 10_000), min_size=count, max_size=count, unique=True))
    links = []
    for uid in uids:
        parents = tuple(draw(st.lists(_ids, max_size=6)))  # loops, self-refs, unknown ids
        subject = draw(st.sampled_from(["a", "Re: a", "b", "Re: b", "", "Re:"]))
        links.append((uid, draw(_ids), parents, subject))
    return links


@settings(max_examples=400, deadline=None)
@given(_links(), st.booleans())
def test_every_uid_shows_exactly_once(links, reverse):
    roots = build_threads(links)
    expected = sorted(uid for uid, *_ in links)
    for forest in (roots, order_threads(roots, key=lambda uid: uid % 7, reverse=reverse)):
        lines = flatten(forest, set(), lambda uid: False)
        assert sorted(line.uid for line in lines) == expected
        for line in lines:
            assert (line.depth == 0) == (line.prefix == "")
            assert line.depth == 0 or line.prefix.endswith("─>")
        # collapsing every thread hides exactly the rest of each thread
        heads = {line.root for line in lines}
        folded = flatten(forest, heads, lambda uid: True)
        assert [line.uid for line in folded] == sorted(heads, key=[line.uid for line in lines].index)
        assert sum(1 + line.hidden for line in folded) == len(expected)
        assert all(line.hidden == line.hidden_unread for line in folded)


def test_many_same_subject_starters_and_replies_stay_fast():
    # a notification robot: 20,000 "Build failed" mails and 20,000 orphaned replies to them
    links = [(uid, f"m{uid}", (), "Build failed" if uid % 2 else "Re: Build failed") for uid in range(1, 40_001)]
    began = time.perf_counter()
    roots = build_threads(links)
    assert time.perf_counter() - began < 10
    assert len(roots) == 20_000  # each reply under the starter just before it
    assert all([c.uid for c in root.children] == [root.uid + 1] for root in roots if root.uid < 40_000)
