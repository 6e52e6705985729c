"""list_layout.arrange: which rows the list shows, in which order (pure, no server)."""

from __future__ import annotations

from tui.headers import Row, date_key, envelope_of
from tui.list_layout import ServerOrder, arrange
from tui.list_prefs import ListOrder
from tui.threads import ThreadNode


def row(uid: int, day: int, subject: str = "s", internaldate: float | None = None, date: bool = True) -> Row:
    header = (f"Date: Mon, {day} Jul 2024 10:00:00 +0000\r\n" if date else "") + f"Subject: {subject}\r\n"
    return Row(uid, frozenset(), internaldate, 10 * uid, header.encode())


def test_a_hostile_internaldate_sorts_as_unknown_instead_of_crashing():
    year_zero = -62_167_219_200.0 - 86_400 * 400  # before 0001-01-01: no datetime holds it
    rows = {1: row(1, 3), 2: row(2, 0, internaldate=year_zero, date=False), 3: row(3, 9, internaldate=1e300, date=False)}
    assert date_key(rows[2]) == 0.0 and date_key(rows[3]) == 0.0
    assert envelope_of(rows[2]).date is None
    layout = arrange([3, 2, 1], None, rows, ListOrder("date", True, False), set())
    assert layout.uids == [1, 2, 3]  # the real date first, the two unknowns (0) after, by UID


def test_a_server_answer_naming_a_uid_twice_shows_it_once():
    rows = {}
    server = ServerOrder("date", True, False, uids=(3, 1, 3, 2, 1, 3))
    layout = arrange([3, 2, 1], None, rows, ListOrder("date", True, False), set(), server)
    assert layout.uids == [3, 1, 2]
    threads = ServerOrder("date", True, True, roots=(ThreadNode(1, [ThreadNode(2, []), ThreadNode(1, [])]),
                                                     ThreadNode(3, [])))
    layout = arrange([3, 2, 1], None, rows, ListOrder("date", True, True), set(), threads)
    assert sorted(layout.uids) == [1, 2, 3]


def test_new_mail_without_its_row_yet_keeps_the_order_and_goes_on_top():
    rows = {uid: row(uid, day) for uid, day in ((1, 9), (2, 1), (3, 5))}
    layout = arrange([4, 3, 2, 1], None, rows, ListOrder("date", True, False), set())
    assert layout.uids == [4, 1, 3, 2] and layout.pending and not layout.waiting
    rows[4] = row(4, 2)
    layout = arrange([4, 3, 2, 1], None, rows, ListOrder("date", True, False), set())
    assert layout.uids == [1, 3, 4, 2] and not layout.pending


def test_many_rows_missing_wait_in_arrival_order():
    rows = {1: row(1, 9)}
    uids = list(range(200, 0, -1))
    layout = arrange(uids, None, rows, ListOrder("subject", False, False), set())
    assert layout.waiting and layout.uids == uids[::-1]  # arrival, in the direction asked (A to Z: oldest first)
