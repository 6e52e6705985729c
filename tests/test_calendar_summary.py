"""tui.calendar_summary: invitations in plain words, on friendly and hostile calendars.
The user's zone is always passed in, so no result depends on this machine's zone."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import fuzz

from tui.calendar_summary import MAX_EVENTS, MAX_VALUE, summarize

PARIS = ZoneInfo("Europe/Paris")
TOKYO = ZoneInfo("Asia/Tokyo")


def ics(*events: str, method: str = "REQUEST") -> str:
    """A calendar with CRLF line ends around VEVENT bodies written with "\\n"."""
    head = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n" + (f"METHOD:{method}\n" if method else "")
    body = "".join(f"BEGIN:VEVENT\nUID:{i}@test\n{event.strip(chr(10))}\nEND:VEVENT\n" for i, event in enumerate(events))
    return (head + body + "END:VCALENDAR\n").replace("\n", "\r\n")


def lines(text: str, zone=PARIS) -> list[str]:
    return summarize(text, local_zone=zone).splitlines()


def test_invitation_in_another_zone_shows_both_clocks() -> None:
    event = """
SUMMARY:Quarterly review
DTSTART;TZID=America/New_York:20250304T100000
DTEND;TZID=America/New_York:20250304T113000
LOCATION:Room 4
ORGANIZER;CN=Alice Smith:mailto:alice@example.org
"""
    assert lines(ics(event)) == [
        "Invitation",
        "  What: Quarterly review",
        # New York is UTC-5 in early March, Paris UTC+1: six hours apart.
        "  When: Tue 4 Mar 2025 10:00–11:30 America/New_York (16:00–17:30 your time, Europe/Paris)",
        "  Where: Room 4",
        "  Organizer: Alice Smith <alice@example.org>",
    ]


def test_local_clock_names_its_day_when_the_day_differs() -> None:
    event = "SUMMARY:Late call\nDTSTART;TZID=America/New_York:20250304T200000\nDTEND;TZID=America/New_York:20250304T210000"
    assert lines(ics(event))[2] == (
        "  When: Tue 4 Mar 2025 20:00–21:00 America/New_York (Wed 5 Mar 2025 02:00–03:00 your time, Europe/Paris)")


def test_same_clock_as_the_user_is_said_once() -> None:
    event = "SUMMARY:x\nDTSTART;TZID=/Europe/Berlin:20250304T090000\nDTEND;TZID=Europe/Berlin:20250304T100000"
    assert lines(ics(event))[2] == "  When: Tue 4 Mar 2025 09:00–10:00 (Europe/Berlin)"


def test_utc_times_are_shown_on_the_users_clock() -> None:
    event = "SUMMARY:x\nDTSTART:20250304T230000Z\nDURATION:PT1H30M"
    assert lines(ics(event), PARIS)[2] == "  When: Wed 5 Mar 2025 00:00–01:30 (Europe/Paris)"
    assert lines(ics(event), TOKYO)[2] == "  When: Wed 5 Mar 2025 08:00–09:30 (Asia/Tokyo)"


def test_summer_time_is_applied_on_the_events_date() -> None:
    event = "SUMMARY:x\nDTSTART:20250704T100000Z"  # Paris is UTC+2 in July
    assert lines(ics(event))[2] == "  When: Fri 4 Jul 2025 12:00 (Europe/Paris)"


def test_unknown_zone_names_are_shown_not_converted() -> None:
    event = ('SUMMARY:Outlook\nDTSTART;TZID="W. Europe Standard Time":20250304T150000\n'
             'DTEND;TZID="W. Europe Standard Time":20250304T160000')
    assert lines(ics(event))[2] == "  When: Tue 4 Mar 2025 15:00–16:00 (W. Europe Standard Time)"
    floating = "SUMMARY:x\nDTSTART:20250304T150000\nDTEND:20250304T160000"
    assert lines(ics(floating))[2] == "  When: Tue 4 Mar 2025 15:00–16:00"


def test_all_day_events() -> None:
    one = "SUMMARY:Holiday\nDTSTART;VALUE=DATE:20250101\nDTEND;VALUE=DATE:20250102"
    assert lines(ics(one))[2] == "  When: Wed 1 Jan 2025, all day"
    # DTEND is exclusive: the 3rd is the first day not included.
    three = "SUMMARY:Trip\nDTSTART;VALUE=DATE:20250101\nDTEND;VALUE=DATE:20250104"
    assert lines(ics(three))[2] == "  When: Wed 1 Jan 2025 – Fri 3 Jan 2025, all day"
    by_duration = "SUMMARY:Trip\nDTSTART;VALUE=DATE:20250101\nDURATION:P2D"
    assert lines(ics(by_duration))[2] == "  When: Wed 1 Jan 2025 – Thu 2 Jan 2025, all day"


def test_an_event_over_midnight_names_both_days() -> None:
    event = "SUMMARY:x\nDTSTART;TZID=Europe/Paris:20250304T220000\nDTEND;TZID=Europe/Paris:20250305T020000"
    assert lines(ics(event))[2] == "  When: Tue 4 Mar 2025 22:00 – Wed 5 Mar 2025 02:00 (Europe/Paris)"


@pytest.mark.parametrize(("rule", "words"), [
    ("FREQ=WEEKLY", "repeats weekly"),
    ("FREQ=DAILY;INTERVAL=2;COUNT=10", "repeats every 2 days, 10 times"),
    ("FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20250401T000000Z", "repeats weekly on Mon, Wed, until Tue 1 Apr 2025"),
    ("FREQ=MONTHLY;BYDAY=1MO", "repeats"),  # the first Monday: not said in words
    ("FREQ=YEARLY;BYMONTH=3", "repeats"),
    ("FREQ=SECONDLY", "repeats"),
    ("garbage", "repeats"),
])
def test_recurrence_in_words(rule, words) -> None:
    event = f"SUMMARY:x\nDTSTART;TZID=Europe/Paris:20250303T090000\nRRULE:{rule}"
    assert lines(ics(event))[2] == f"  When: Mon 3 Mar 2025 09:00 (Europe/Paris); {words}"


def test_method_and_status_name_the_kind_of_message() -> None:
    assert lines(ics("SUMMARY:x", method="CANCEL"))[0] == "Cancelled"
    assert lines(ics("SUMMARY:x\nSTATUS:CANCELLED", method="PUBLISH"))[0] == "Cancelled"
    assert lines(ics("SUMMARY:x", method=""))[0] == "Calendar event"
    reply = "SUMMARY:x\nATTENDEE;CN=Bob;PARTSTAT=DECLINED:mailto:bob@example.org"
    assert lines(ics(reply, method="REPLY")) == ["Reply", "  What: x", "  Answer: Bob <bob@example.org> declined"]


def test_text_escapes_folding_and_quoted_parameters() -> None:
    event = ("SUMMARY:Lunch\\, then \\;talk\\\\notes\\nsecond line\n"
             "LOCATION:Caf\u00e9 \n \t\"Le Coin\"\n"  # a folded line, continued once with a space, once a tab
             'ORGANIZER;CN="Smith: Alice; ^\'Al^\'";SENT-BY="mailto:x@y":mailto:alice@example.org')
    found = lines(ics(event))
    assert found[1] == "  What: Lunch, then ;talk\\notes second line"
    assert found[2] == '  Where: Caf\u00e9 "Le Coin"'
    assert found[3] == '  Organizer: Smith: Alice; "Al" <alice@example.org>'


def test_alarms_inside_an_event_do_not_override_it() -> None:
    event = "SUMMARY:Outer\nBEGIN:VALARM\nSUMMARY:Inner alarm\nACTION:DISPLAY\nEND:VALARM\nLOCATION:Here"
    assert lines(ics(event))[1:3] == ["  What: Outer", "  Where: Here"]


def test_at_most_five_events_then_a_count() -> None:
    text = ics(*(f"SUMMARY:Event {i}\nDTSTART;VALUE=DATE:2025010{i % 9 + 1}" for i in range(8)))
    found = summarize(text, local_zone=PARIS)
    assert [line for line in found.splitlines() if line.startswith("  What:")] == \
        [f"  What: Event {i}" for i in range(MAX_EVENTS)]
    assert found.endswith("\n\nand 3 more events")


def test_a_calendar_cut_short_still_says_what_it_read() -> None:
    text = ics("SUMMARY:Planning\nDTSTART;VALUE=DATE:20250101")
    assert lines(text[: text.index("END:VEVENT")])[1] == "  What: Planning"


def test_values_are_one_capped_line() -> None:
    found = lines(ics("SUMMARY:" + "word\\n" * 1000))
    assert len(found) == 2 and found[1].endswith("…") and len(found[1]) <= len("  What: ") + MAX_VALUE


@pytest.mark.parametrize("text", [
    "", "hello", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", ics("UID:only-an-id"), "\x00\xff" * 1000,
    ics("DTSTART:99999999T999999"),
])
def test_nothing_usable_says_nothing(text) -> None:
    if "999999" in text:  # an unreadable date is still shown, as written
        assert lines(text)[1] == "  When: 99999999T999999 (not a date this reader understands)"
    else:
        assert summarize(text, local_zone=PARIS) == ""


def test_dates_at_the_edges_of_datetime_do_not_break_the_rest() -> None:
    text = ics("SUMMARY:far\nDTSTART:99991231T235959Z\nDURATION:P999999W", "SUMMARY:early\nDTSTART:00010101T000000Z",
               "SUMMARY:fine\nDTSTART;VALUE=DATE:20250101")
    found = lines(text, TOKYO)  # Tokyo is ahead of UTC: 9999-12-31 23:59 UTC is past year 9999 there
    assert "  What: far" in found and "  What: early" in found and "  What: fine" in found
    assert "  When: Wed 1 Jan 2025, all day" in found


def test_a_hostile_custom_zone_is_never_evaluated() -> None:
    # A VTIMEZONE repeating every second since 1601: libraries that resolve it hang.
    text = ("BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Trap\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n"
            "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0000\r\nRRULE:FREQ=SECONDLY\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
            "BEGIN:VEVENT\r\nSUMMARY:a\r\nDTSTART;TZID=Trap:20250101T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    started = time.perf_counter()
    assert lines(text)[2] == "  When: Wed 1 Jan 2025 10:00 (Trap)"
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("tzid", ["../../../../etc/passwd", "/etc/passwd", "a" * 500, "Europe/../../x", "Nowhere/Land"])
def test_zone_names_that_are_not_zones_are_only_labels(tzid) -> None:
    found = lines(ics(f"SUMMARY:x\nDTSTART;TZID={tzid}:20250101T100000"))
    assert found[2].startswith("  When: Wed 1 Jan 2025 10:00 (") and "your time" not in found[2]


HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
HOSTILE = {
    "100k-lines": HEAD + "BEGIN:VEVENT\r\nSUMMARY:a\r\n" + "X:b\r\n" * 100_000,
    "deep-nesting": HEAD + "BEGIN:VEVENT\r\n" * 30_000 + "SUMMARY:deep\r\n" + "END:VEVENT\r\n" * 30_000,
    "many-events": HEAD + "BEGIN:VEVENT\r\nSUMMARY:x\r\nDTSTART:20250101T100000Z\r\nEND:VEVENT\r\n" * 6000,
    "folded-100k": HEAD + "BEGIN:VEVENT\r\nSUMMARY:" + "a\r\n " * 100_000,
    "one-line": HEAD + "BEGIN:VEVENT\r\nSUMMARY:" + "a" * 300_000,
    "many-params": HEAD + "BEGIN:VEVENT\r\nSUMMARY" + ";X=a,b" * 60_000 + ":x\r\n",
    "open-quote": HEAD + 'BEGIN:VEVENT\r\nSUMMARY;X="' + "a;" * 100_000,
    "escapes": HEAD + "BEGIN:VEVENT\r\nSUMMARY:" + "\\\\" * 120_000,
    "carets": HEAD + "BEGIN:VEVENT\r\nORGANIZER;CN=" + "^^" * 120_000 + ":mailto:a@b\r\n",
    "cr-only": "BEGIN:VEVENT\rSUMMARY:x\r" * 30_000,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_calendars_are_quick(name) -> None:
    started = time.perf_counter()
    found = summarize(HOSTILE[name], local_zone=PARIS)
    assert time.perf_counter() - started < 1.0
    assert len(found) < MAX_EVENTS * 6 * (MAX_VALUE + 80)


def test_nesting_past_the_cap_is_skipped_and_what_follows_is_read() -> None:
    deep = "BEGIN:VEVENT\r\n" * 8000 + "SUMMARY:deep\r\n" + "END:VEVENT\r\n" * 8000
    after = "BEGIN:VEVENT\r\nSUMMARY:after\r\nEND:VEVENT\r\n"
    found = summarize(HEAD + deep + after, local_zone=PARIS)
    assert "deep" not in found
    assert found == "Calendar event\n  What: after"  # the empty nested ones are not counted


def test_bytes_and_the_machines_own_zone_are_accepted() -> None:
    text = ics("SUMMARY:x\nDTSTART:20250304T100000Z")
    own = summarize(text.encode())
    expected_clock = datetime(2025, 3, 4, 10, tzinfo=ZoneInfo("UTC")).astimezone().strftime("%H:%M")
    assert own.splitlines()[2].startswith("  When: ") and expected_clock in own


@fuzz(200)
@given(st.lists(st.sampled_from([
    "BEGIN:VEVENT", "END:VEVENT", "BEGIN:VALARM", "END:VALARM", "SUMMARY:x", "DTSTART:20250101T100000Z",
    "DTSTART;VALUE=DATE:20250101", "DTEND;TZID=Europe/Paris:20250101T120000", "DURATION:P1W", "RRULE:FREQ=WEEKLY",
    "METHOD:REPLY", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@b", " folded", "DTSTART:00000000T000000",
]) | st.text(max_size=40), max_size=40))
def test_fuzzed_calendars_never_raise(pieces) -> None:
    found = summarize("\r\n".join(pieces), local_zone=TOKYO)
    assert isinstance(found, str) and all(len(line) < 2 * MAX_VALUE + 200 for line in found.splitlines())
