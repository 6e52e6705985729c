"""The per-mailbox list order, kept in a JSON file under the state dir."""

from __future__ import annotations

import stat

from tui.list_prefs import ListOrder, ListPrefs


def test_round_trip_per_account_and_mailbox(tmp_path):
    path = tmp_path / "state" / "list-order.json"
    prefs = ListPrefs(path)
    prefs.remember("work", b"INBOX", ListOrder("sender", False, True))
    prefs.remember("home", b"INBOX", ListOrder("size", True, False))
    again = ListPrefs(path)
    assert again.order("work", b"INBOX") == ListOrder("sender", False, True)
    assert again.order("home", b"INBOX") == ListOrder("size", True, False)
    assert again.order("work", b"Archive") == ListOrder()  # never chosen: arrival, newest first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_damaged_or_hostile_file_gives_the_default(tmp_path):
    path = tmp_path / "list-order.json"
    path.write_text("{not json")
    assert ListPrefs(path).order("a", b"INBOX") == ListOrder()
    path.write_text('{"a\\u0000INBOX": {"key": "rm -rf", "reverse": "yes", "threads": 1}}')
    order = ListPrefs(path).order("a", b"INBOX")
    assert order.key == "arrival" and order.reverse is True and order.threads is True


def test_without_a_path_choices_last_the_session(tmp_path):
    prefs = ListPrefs(None)
    prefs.remember("a", b"INBOX", ListOrder("date", True, False))
    assert prefs.order("a", b"INBOX") == ListOrder("date", True, False)
    assert list(tmp_path.iterdir()) == []


def test_describe_says_the_direction_in_words():
    assert ListOrder("date", True, False).describe() == "date, newest first"
    assert ListOrder("size", False, False).describe() == "size, smallest first"
    assert ListOrder("subject", False, True).describe() == "subject, A to Z, threads"
