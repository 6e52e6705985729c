"""The search bar's history: recall order, de-duplication, the cap, and the file it lives in."""

from __future__ import annotations

from tui.search_history import SearchHistory


def test_up_goes_back_and_down_returns_to_what_was_typed():
    history = SearchHistory(None)
    for query in ("from:a", "from:b", "from:c"):
        history.add(query)
    assert history.older("draft") == "from:c"
    assert history.older("ignored") == "from:b"
    assert history.older("ignored") == "from:a"
    assert history.older("ignored") is None  # the oldest: stay there
    assert history.newer() == "from:b"
    assert history.newer() == "from:c"
    assert history.newer() == "draft"
    assert history.newer() is None


def test_a_query_run_again_moves_to_the_end_once_and_blank_ones_are_not_kept():
    history = SearchHistory(None)
    for query in ("a", "b", "a", "  ", "bad\nline"):
        history.add(query)
    assert history.entries == ["b", "a"]


def test_only_the_newest_entries_are_kept(tmp_path):
    path = tmp_path / "h"
    history = SearchHistory(path, limit=3)
    for index in range(5):
        history.add(f"q{index}")
    assert history.entries == ["q2", "q3", "q4"]
    assert SearchHistory(path, limit=3).entries == ["q2", "q3", "q4"]
    assert path.stat().st_mode & 0o777 == 0o600


def test_an_unwritable_place_keeps_the_history_in_memory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    history = SearchHistory(blocker / "search-history")
    history.add("from:a")  # logs, does not raise
    assert history.entries == ["from:a"]
    assert history.older("") == "from:a"
