"""Fuzzy matching for the mailbox picker: what matches, what ranks first, and speed."""

from __future__ import annotations

import time

from tui.fuzzy import MAX_CANDIDATE, fuzzy_filter, fuzzy_match, fuzzy_score

MAILBOXES = [
    "Archive",
    "Drafts",
    "Junk",
    "Inbox/Old",
    "Projects/Alpha/Inbound",
    "Sent",
    "Spam/inbox-archive",
    "INBOX",
    "Personal/Taxes",
    "Receipts/Paid",
    "Projects/Alpha",
    "Projects/Beta/Specs",
    "Projects/Alpha/Specs",
    "Trash",
]


def ranked(query: str, names=MAILBOXES) -> list[str]:
    return fuzzy_filter(query, names, key=lambda name: name)


def test_inb_puts_inbox_first():
    result = ranked("inb")
    assert result[0] == "INBOX"  # exact prefix, shortest
    assert result[1] == "Inbox/Old"
    assert set(result) == {"INBOX", "Inbox/Old", "Projects/Alpha/Inbound", "Spam/inbox-archive"}


def test_word_starts_beat_scattered_letters():
    result = ranked("pas")
    assert result[0] == "Projects/Alpha/Specs"  # P-A-S, three word starts
    assert result.index("Projects/Alpha/Specs") < result.index("Projects/Beta/Specs")
    assert result.index("Projects/Alpha/Specs") < result.index("Personal/Taxes")
    assert "Projects/Alpha" not in result  # no "s" after the "a"
    assert fuzzy_match("pas", "Projects/Alpha/Specs").positions == (0, 9, 15)


def test_contiguous_run_beats_gaps():
    assert fuzzy_score("spec", "Specs") > fuzzy_score("spec", "Sales/Pictures/Echo/Cats")
    assert fuzzy_score("arch", "Archive") > fuzzy_score("arch", "Agenda/Research")


def test_shorter_candidate_wins_a_tie():
    assert ranked("sent", ["Sent/Old", "Sent"]) == ["Sent", "Sent/Old"]


def test_the_delimiter_starts_a_word():
    plain = fuzzy_score("b", "axb")
    assert fuzzy_score("b", "axb", delimiter="x") > plain
    assert fuzzy_score("b", "a.b") > plain


def test_camel_case_humps_count_as_word_starts():
    assert fuzzy_score("mp", "MyProjects") > fuzzy_score("mp", "Sample")


def test_not_a_subsequence_is_none():
    assert fuzzy_score("xyz", "INBOX") is None
    assert fuzzy_score("bi", "INBOX") is None  # order matters
    assert fuzzy_score("inboxx", "INBOX") is None
    assert fuzzy_score("a", "") is None
    assert ranked("qqq") == []


def test_empty_query_keeps_everything_in_order():
    assert fuzzy_score("", "anything") == 0
    assert fuzzy_score("   ", "anything") == 0
    assert ranked("") == MAILBOXES


def test_spaces_in_query_are_ignored():
    assert fuzzy_score("pro alp", "Projects/Alpha") is not None
    assert fuzzy_score("pro alp", "Projects/Alpha") == fuzzy_score("proalp", "Projects/Alpha")


def test_ties_are_stable():
    names = ["b/x", "a/x", "c/x"]
    assert ranked("x", names) == names


def test_casefold_and_accents():
    names = ["Sent", "Été 2026", "Other"]
    assert ranked("été", names) == ["Été 2026"]
    assert ranked("ÉTÉ", names) == ["Été 2026"]
    assert ranked("ete", names) == ["Été 2026"]  # accents are optional when typing
    assert fuzzy_score("recus", "Reçus") is not None
    assert fuzzy_score("strasse", "Straße") is not None  # casefold, not lower
    # Decomposed (NFD) names match too, and positions point at the base characters.
    decomposed = "E\u0301te\u0301 2026"
    match = fuzzy_match("été", decomposed)
    assert match is not None and match.positions == (0, 2, 3)


def test_odd_input_does_not_raise():
    assert fuzzy_score("a", "\x00\x1b]52;a\x07") is not None
    assert fuzzy_score("\ud800", "x\ud800") is not None
    assert fuzzy_filter("x", [None, "x"], key=lambda item: item) == ["x"]


def test_hostile_long_names_are_fast():
    hostile = "ab" * 5000  # 10,000 characters
    start = time.perf_counter()
    assert fuzzy_score("ab" * 20, hostile) is not None
    assert fuzzy_score("abababababc", hostile) is None
    assert fuzzy_score("a" * 50, "a" * 10_000) is not None
    # Only the first MAX_CANDIDATE characters can match.
    assert fuzzy_score("z", "a" * 10_000 + "z") is None
    assert fuzzy_score("z", "a" * (MAX_CANDIDATE - 1) + "z") is not None
    assert time.perf_counter() - start < 0.5


def test_two_thousand_mailboxes_per_keystroke():
    names = [f"Lists/project-{i}/{word}" for i in range(500) for word in ("Inbox", "Specs", "Archive", "Notes")]
    names += ["é" * 300 + "/" + "ab" * 100] * 20  # a few long, non-ASCII ones
    start = time.perf_counter()
    for query in ("p", "pr", "pro", "pros", "prosp", "1/s", "zzz"):
        fuzzy_filter(query, names, key=lambda name: name)
    per_keystroke = (time.perf_counter() - start) / 7
    assert per_keystroke < 0.25  # generous for slow CI; typically ~10 ms


def test_module_is_pure():
    # Like tests/test_import_hygiene.py: a fresh interpreter, no Textual or Rich.
    import subprocess
    import sys

    code = "import sys, tui.fuzzy; print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
