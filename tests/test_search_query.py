"""The search language (tui/search_query.py) and its IMAP keys (tui/imap/search.py).

Every expected key string here is written by hand from the RFC 3501 SEARCH grammar
(section 9: search-key, date, number, sequence-set, astring), not copied from output.
`shown()` prints a literal as `{N}` followed by its text.
"""

from __future__ import annotations

import time
from datetime import date

import pytest

from tui.imap.commands import Literal
from tui.imap.search import compile_search
from tui.search_query import And, Atom, Not, Or, QueryError, Term, Text, parse_query, quote_value

TODAY = date(2026, 11, 25)


def keys(query: str, today: date = TODAY) -> str:
    return compile_search(parse_query(query, today=today)).shown()


def error(query: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_query(query, today=TODAY)
    return caught.value


def bad_term(query: str) -> str:
    e = error(query)
    return query[e.start:e.end]


# -- every row of the language --------------------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        ("alice", 'TEXT "alice"'),
        ('"q3 report"', 'TEXT "q3 report"'),
        ("text:invoice", 'TEXT "invoice"'),
        ("from:alice@example.com", 'FROM "alice@example.com"'),
        ("to:bob", 'TO "bob"'),
        ("cc:carol", 'CC "carol"'),
        ("bcc:dave", 'BCC "dave"'),
        ('subject:"q3 report"', 'SUBJECT "q3 report"'),
        ("body:lunch", 'BODY "lunch"'),
        ("FROM:alice", 'FROM "alice"'),  # field names are case-insensitive
        ("header:X-Priority:1", 'HEADER "X-Priority" "1"'),
        ("keyword:$Important", "KEYWORD $Important"),
        ("keyword:a/b", "KEYWORD a/b"),  # an atom: "/" is not an atom-special
        ("-keyword:$Junk", "UNKEYWORD $Junk"),
        ("not keyword:$Junk", "UNKEYWORD $Junk"),
        ("before:2024-01-31", "BEFORE 31-Jan-2024"),
        ("on:2024-01-31", "ON 31-Jan-2024"),
        ("since:2024-01-31", "SINCE 31-Jan-2024"),
        ("sent-before:2024-01-31", "SENTBEFORE 31-Jan-2024"),
        ("sent-on:2024-01-31", "SENTON 31-Jan-2024"),
        ("sent-since:2024-01-31", "SENTSINCE 31-Jan-2024"),
        ("larger:50k", "LARGER 51200"),
        ("smaller:2M", "SMALLER 2097152"),
        ("uid:100", "UID 100"),
        ("uid:100:200", "UID 100:200"),
        ("uid:1,5,9:*", "UID 1,5,9:*"),
        ("has:attachment", 'OR HEADER "Content-Type" "multipart/mixed" HEADER "Content-Type" "multipart/report"'),
        ("!LARGER 5 UNSEEN", "(LARGER 5 UNSEEN)"),
        ("from:a !OR SEEN FLAGGED", 'FROM "a" (OR SEEN FLAGGED)'),
        ("from:a and to:b", 'FROM "a" TO "b"'),
        ("from:a to:b", 'FROM "a" TO "b"'),
    ],
)
def test_each_term_becomes_its_imap_key(query, expected):
    assert keys(query) == expected


@pytest.mark.parametrize(
    "state, key",
    [
        ("read", "SEEN"), ("unread", "UNSEEN"), ("flagged", "FLAGGED"), ("unflagged", "UNFLAGGED"),
        ("answered", "ANSWERED"), ("unanswered", "UNANSWERED"), ("deleted", "DELETED"),
        ("undeleted", "UNDELETED"), ("draft", "DRAFT"), ("undraft", "UNDRAFT"), ("new", "NEW"),
        ("old", "OLD"), ("recent", "RECENT"), ("UNREAD", "UNSEEN"), ("Flagged", "FLAGGED"),
    ],
)
def test_is_states(state, key):
    assert keys(f"is:{state}") == key
    assert keys(f"-is:{state}") == f"NOT {key}"


def test_the_tree_keeps_user_text_apart_from_checked_atoms():
    assert parse_query('from:"a b"', today=TODAY) == Term("FROM", (Text("a b"),))
    assert parse_query("since:2024-01-31", today=TODAY) == Term("SINCE", (Atom("31-Jan-2024"),))
    assert parse_query("-keyword:x", today=TODAY) == Term("UNKEYWORD", (Atom("x"),))
    assert parse_query("-from:x", today=TODAY) == Not(Term("FROM", (Text("x"),)))


# -- precedence -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        # `or` binds tighter than juxtaposition (Gmail): a AND (b OR c)
        ("a b or c", 'TEXT "a" OR TEXT "b" TEXT "c"'),
        ("a or b c", 'OR TEXT "a" TEXT "b" TEXT "c"'),
        ("a or b or c", 'OR OR TEXT "a" TEXT "b" TEXT "c"'),
        ("-a or b", 'OR NOT TEXT "a" TEXT "b"'),
        ("not a or b", 'OR NOT TEXT "a" TEXT "b"'),
        ("a or -b", 'OR TEXT "a" NOT TEXT "b"'),
        ("not (a b)", 'NOT (TEXT "a" TEXT "b")'),
        ("-(a b)", 'NOT (TEXT "a" TEXT "b")'),
        ("(a b) or c", 'OR (TEXT "a" TEXT "b") TEXT "c"'),
        ("(a or b) c", 'OR TEXT "a" TEXT "b" TEXT "c"'),
        ("a (b or c) d", 'TEXT "a" OR TEXT "b" TEXT "c" TEXT "d"'),
        ("--a", 'NOT NOT TEXT "a"'),
        ("not -a", 'NOT NOT TEXT "a"'),
        ("a OR b", 'OR TEXT "a" TEXT "b"'),  # operators in any case
        ('"or" "and" "not"', 'TEXT "or" TEXT "and" TEXT "not"'),  # quoted: words, not operators
        ("not ((a b) c)", 'NOT (TEXT "a" TEXT "b" TEXT "c")'),  # AND inside AND needs no parentheses
    ],
)
def test_precedence(query, expected):
    assert keys(query) == expected


def test_a_long_or_chain_stays_shallow():
    """Hundreds of `or`s: the tree (and so the compiler's recursion) stays a few levels deep."""
    terms = [f"w{i}" for i in range(450)]
    tree = parse_query(" or ".join(terms), today=TODAY)

    def depth(node) -> int:
        if isinstance(node, Or):
            return 1 + max(depth(node.left), depth(node.right))
        if isinstance(node, Not):
            return 1 + depth(node.node)
        if isinstance(node, And):
            return 1 + max(depth(n) for n in node.nodes)
        return 0

    assert depth(tree) <= 12
    shown = compile_search(tree).shown().split()
    assert shown.count("OR") == 449
    assert [word for word in shown if word.startswith('"')] == [f'"{t}"' for t in terms]


# -- how user text travels ------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, token",
    [
        ("from:alice", b'"alice"'),
        ('from:"two words"', b'"two words"'),
        ('from:"{5}"', b'"{5}"'),  # braces are plain text inside a quoted string
        ('from:"OR ALL"', b'"OR ALL"'),
        ('from:") FLAGGED ("', b'") FLAGGED ("'),
        ('from:"~!#"', b'"~!#"'),
    ],
)
def test_printable_ascii_goes_as_a_quoted_string(query, token):
    command = compile_search(parse_query(query, today=TODAY))
    assert command.keys == (b"FROM", token)
    assert command.utf8 is False
    assert command.arguments() == (b"FROM", token)


@pytest.mark.parametrize(
    "query, data, utf8",
    [
        (r'from:"a\"b"', b'a"b', False),
        (r'from:"a\\b"', b"a\\b", False),
        ("from:\"a\tb\"", b"a\tb", False),
        ("from:\"a\x01b\"", b"a\x01b", False),
        ("from:\"a\x7fb\"", b"a\x7fb", False),
        ("from:José", "José".encode(), True),
        ("from:\"日本 語\"", "日本 語".encode(), True),
    ],
)
def test_quotes_backslashes_controls_and_non_ascii_go_as_a_literal(query, data, utf8):
    command = compile_search(parse_query(query, today=TODAY))
    assert command.keys == (b"FROM", Literal(data))
    assert command.utf8 is utf8
    charset = (b"CHARSET", b"UTF-8") if utf8 else ()
    assert command.arguments() == (*charset, b"FROM", Literal(data))
    assert command.arguments(esearch=True) == (b"RETURN", b"(ALL)", *charset, b"FROM", Literal(data))


def test_a_backslash_not_before_a_quote_or_backslash_is_kept():
    command = compile_search(parse_query(r'from:"a\nb"', today=TODAY))
    assert command.keys == (b"FROM", Literal(b"a\\nb"))


def test_a_list_ending_in_a_literal_still_closes_without_a_space():
    """RFC 3501: "(" search-key *(SP search-key) ")". A literal cannot carry the ")", so ALL does."""
    command = compile_search(parse_query("not (a from:é)", today=TODAY))
    assert command.keys == (b"NOT", b'(TEXT', b'"a"', b"FROM", Literal("é".encode()), b"ALL)")
    assert command.utf8 is True


@pytest.mark.parametrize(
    "value",
    ["alice", 'say "hi"', "back\\slash", "\\\"", "", "é", "or", "(x)", "from:x", "-x", "!x", "  spaced  "],
)
def test_quote_value_round_trips(value):
    tree = parse_query("subject:" + quote_value(value + "z"), today=TODAY)
    assert tree == Term("SUBJECT", (Text(value + "z"),))


def test_quote_value_with_header():
    assert parse_query("header:X-Tag:" + quote_value('a "b" c:d'), today=TODAY) == Term(
        "HEADER", (Text("X-Tag"), Text('a "b" c:d'))
    )


@pytest.mark.parametrize(
    "query, expected",
    [
        ("header:X-Spam:", 'HEADER "X-Spam" ""'),  # empty value: has the header at all
        ('header:Subject:"a b"', 'HEADER "Subject" "a b"'),
        ('header:"List-Id":x', 'HEADER "List-Id" "x"'),
        ("header:X-A:b:c", 'HEADER "X-A" "b:c"'),  # the name ends at the first colon
        ('header:X-"A:B"', None),  # a quoted colon is part of the name: not a header name
    ],
)
def test_header(query, expected):
    if expected is None:
        assert bad_term(query) == query
    else:
        assert keys(query) == expected


@pytest.mark.parametrize("query", ["https://x", "http://example.com/a?b=c", "10:30", "1:2:3"])
def test_colons_that_are_not_fields_stay_text(query):
    assert keys(query) == f'TEXT "{query}"'


# -- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, today, expected",
    [
        ("2024-01-31", TODAY, "31-Jan-2024"),
        ("2024-1-5", TODAY, "5-Jan-2024"),
        ("31-Jan-2024", TODAY, "31-Jan-2024"),
        ("5-fEB-2024", TODAY, "5-Feb-2024"),
        ("05-DEC-1999", TODAY, "5-Dec-1999"),
        ("29-Feb-2024", TODAY, "29-Feb-2024"),
        ("2024-02-29", TODAY, "29-Feb-2024"),
        ("today", TODAY, "25-Nov-2026"),
        ("Today", TODAY, "25-Nov-2026"),
        ("yesterday", TODAY, "24-Nov-2026"),
        ("yesterday", date(2026, 1, 1), "31-Dec-2025"),
        ("7d", TODAY, "18-Nov-2026"),
        ("2w", TODAY, "11-Nov-2026"),
        ("3m", TODAY, "25-Aug-2026"),
        ("3m", date(2026, 5, 31), "28-Feb-2026"),  # no 31 Feb: the last day of the month
        ("3m", date(2024, 5, 31), "29-Feb-2024"),  # a leap year
        ("1m", date(2026, 3, 31), "28-Feb-2026"),
        ("12m", TODAY, "25-Nov-2025"),
        ("1y", TODAY, "25-Nov-2025"),
        ("1y", date(2024, 2, 29), "28-Feb-2023"),
        ("4y", date(2024, 2, 29), "29-Feb-2020"),
        ("0d", TODAY, "25-Nov-2026"),
        ("7D", TODAY, "18-Nov-2026"),
    ],
)
def test_date_forms(value, today, expected):
    assert keys(f"since:{value}", today=today) == f"SINCE {expected}"


@pytest.mark.parametrize(
    "value", ["2024-13-01", "2024-02-30", "29-Feb-2023", "31-Apr-2024", "0000-01-01", "99999y", "9999y", "99999m", "32-Jan-2024"]
)
def test_dates_that_do_not_exist(value):
    e = error(f"before:{value}")
    assert e.start == 0 and e.end == len(f"before:{value}")
    assert "not a date that exists" in e.message or "not a date" in e.message


@pytest.mark.parametrize("value", ["someday", "2024/01/31", "31-Janu-2024", "31-Foo-2024", "7x", "-7d", "24-1-1"])
def test_not_dates(value):
    e = error(f"since:{value}")
    assert f"since:{value}"[e.start:e.end] == f"since:{value}"
    assert "2024-01-31" in e.message  # says what to type instead


# -- sizes and UIDs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, octets",
    [
        ("0", 0), ("123", 123), ("1k", 1024), ("50K", 51200), ("10kb", 10240), ("3KiB", 3072),
        ("2M", 2 * 1024 * 1024), ("2mb", 2 * 1024 * 1024), ("1G", 1024 ** 3), ("3g", 3 * 1024 ** 3),
        ("4095M", 4095 * 1024 ** 2), ("4294967295", 4294967295), ("10b", 10),
    ],
)
def test_sizes(value, octets):
    assert keys(f"larger:{value}") == f"LARGER {octets}"
    assert keys(f"smaller:{value}") == f"SMALLER {octets}"


@pytest.mark.parametrize("value", ["4G", "4294967296", "4096M", "999999999999"])
def test_sizes_too_large_for_a_32_bit_number(value):
    e = error(f"larger:{value}")
    assert f"larger:{value}"[e.start:e.end] == f"larger:{value}"
    assert "too large" in e.message and "4294967295" in e.message


@pytest.mark.parametrize("value", ["5T", "big", "1.5M", "-5", "5 M M"])
def test_not_sizes(value):
    query = f"larger:{quote_value(value)}" if " " in value else f"larger:{value}"
    e = error(query)
    assert query[e.start:e.end] == query
    assert "larger:50k" in e.message


@pytest.mark.parametrize(
    "value, expected", [("1", "1"), ("4294967295", "4294967295"), ("5:3", "5:3"), ("*", "*"), ("1:*", "1:*"),
                        ("007", "7"), ("010:020,3", "10:20,3")]
)
def test_uid_sets(value, expected):
    assert keys(f"uid:{value}") == f"UID {expected}"  # RFC 3501 nz-number: no leading zero


@pytest.mark.parametrize("value", ["0", "4294967296", "1:0", "abc", "1,,2", "1:2:3", "1-5", ","])
def test_bad_uid_sets(value):
    e = error(f"uid:{value}")
    assert f"uid:{value}"[e.start:e.end] == f"uid:{value}"
    assert "uid:100" in e.message or "1 to 4294967295" in e.message


# -- malformed queries: an error that points at the bad term -------------------------------


@pytest.mark.parametrize(
    "query, bad, hint",
    [
        ("since:2024-13-01", "since:2024-13-01", "not a date that exists"),
        ('from:alice "q3 report', '"q3 report', 'add a "'),
        ('from:"alice', '"alice', 'add a "'),
        ("from:alice (is:unread", "(", "add a ')'"),
        ("(a (b)", "(", "add a ')'"),
        ("a) b", ")", "closes nothing"),
        ("a ()", "()", "empty parentheses"),
        ("or from:alice", "or", "term on each side"),
        ("from:alice or", "or", "term on each side"),
        ("a or or b", "or", "term on each side"),
        ("(a or) b", "or", "term on each side"),
        ("and a", "and", "term on each side"),
        ("a and", "and", "term on each side"),
        ("-", "-", "e.g. -from:bob"),
        ("a - b", "-", "e.g. -from:bob"),
        ("(a -)", "-", "e.g. -from:bob"),
        ("not", "not", "negate"),
        ("a not", "not", "negate"),
        ("-or a", "-", "negate"),
        ("form:alice", "form:", "did you mean from:?"),
        ("subjet:x", "subjet:", "did you mean subject:?"),
        ("zzz:x", "zzz:", "put it in quotes"),
        ("is:foo", "is:foo", "is:read"),
        ("is:unred", "is:unred", "did you mean is:unread?"),
        ("has:pictures", "has:pictures", "has:attachment"),
        ("keyword:\\Seen", "keyword:\\Seen", "is:read"),
        ("keyword:\\Flagged", "keyword:\\Flagged", "is:flagged"),
        ("keyword:\\Foo", "keyword:\\Foo", "is:"),
        ('keyword:"a b"', 'keyword:"a b"', "keyword"),
        ("keyword:a%b", "keyword:a%b", "keyword"),
        ("larger:5T", "larger:5T", "larger:50k"),
        ("uid:0", "uid:0", "1 to"),
        ("from:", "from:", "from:alice"),
        ('from:""', 'from:""', "needs a value"),
        ('""', '""', "between the quotes"),
        ("header:X-Priority", "header:X-Priority", "header:X-Priority:1"),
        ('header:"X A":v', 'header:"X A":v', "not a header name"),
        ("header::v", "header::v", "not a header name"),
        ("!", "!", "!LARGER"),
        ("from:a !", "!", "!LARGER"),
        ("! ALL é", "é", "plain ASCII"),
        ("!  ALL é x", "é", "plain ASCII"),
        ("!ALL\tSEEN", "\t", "plain ASCII"),
        ("!ALL {5}", "{", "literal"),
        ('!SUBJECT "{x}"', "{", "subject:"),
        ("from:a\x00b", "\x00", "NUL"),
        ("from:a\rb", "\r", "line break"),
        ("a\nb", "\n", "line break"),
        ("a \ud800", "\ud800", "surrogate"),
    ],
)
def test_malformed_queries_point_at_the_bad_term(query, bad, hint):
    e = error(query)
    assert query[e.start:e.end] == bad
    assert hint in e.message
    # The app shows "<message>. Nothing was searched.": one sentence, no full stop of its own.
    assert not e.message.endswith(".")
    assert len(e.message) <= 160
    assert "\n" not in e.message


def test_an_unclosed_quote_points_at_the_quote():
    query = 'from:alice subject:"q3 report'
    e = error(query)
    assert query[e.start] == '"' and e.start == query.index('"')


def test_empty_and_blank_queries():
    for query in ("", "   ", "\t"):
        e = error(query)
        assert "from:alice" in e.message


def test_too_long():
    query = "a " * 2001
    e = error(query)
    assert (e.start, e.end) == (4000, len(query))
    assert "too long" in e.message
    parse_query(("a " * 2000)[:4000], today=TODAY)  # exactly at the limit: fine


@pytest.mark.parametrize(
    "opening, closing, offending",
    [("(", ")", "("), ("-", "", "-"), ("not ", "", "not"), ("-(", ")", "-")],
)
def test_nested_too_deep(opening, closing, offending):
    ok = opening * 16 + "a" + closing * 16
    parse_query(ok, today=TODAY)
    query = opening * 40 + "a" + closing * 40
    e = error(query)
    assert query[e.start:e.end] == offending
    assert "nested too deeply" in e.message


def test_the_depth_limit_is_32():
    parse_query("(" * 32 + "a" + ")" * 32, today=TODAY)
    query = "(" * 33 + "a" + ")" * 33
    e = error(query)
    assert (e.start, e.end) == (32, 33)


def test_pathological_queries_parse_quickly():
    queries = [
        " or ".join(["a"] * 799),
        "-" * 3999 + "a",
        '"' * 3999,
        "(" * 4000,
        ")" * 4000,
        "a" * 4000,
        "x:" * 2000,
        '"\\' * 2000,
        "not " * 1000,
        "from:" + "\\\"" * 1995,
    ]
    started = time.perf_counter()
    for query in queries:
        try:
            compile_search(parse_query(query, today=TODAY))
        except QueryError:
            pass
    assert time.perf_counter() - started < 2.0
