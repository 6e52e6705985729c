"""tui.dsn: bounces in plain words.  Reports written after RFC 3464's appendix examples
and the formats Postfix, Exchange/Microsoft 365 and Gmail send, real ones from the
corpus (tests/corpus/flanker, Apache-2.0), and hostile ones."""

from __future__ import annotations

import base64
import email
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import fuzz

from tui import dsn
from tui.mime_params import POLICY

CORPUS = Path(__file__).parent / "corpus" / "flanker"


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=POLICY)


def report(status: str, *, subject: str = "Undelivered Mail Returned to Sender", dsn_type: str = "delivery-status",
           extra: str = "") -> bytes:
    """A multipart/report bounce around a delivery-status body."""
    return (
        f"From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\nSubject: {subject}\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nI'm sorry to have to inform you...\n\n"
        f"--b\nContent-Type: message/{dsn_type}\n{extra}\n{status}\n"
        "--b\nContent-Type: text/rfc822-headers\n\nSubject: hello\n\n--b--\n"
    ).encode()


# Postfix, as it rejects an unknown local user.
POSTFIX = """Reporting-MTA: dns; mx.example.org
X-Postfix-Queue-ID: 4Q1
X-Postfix-Sender: rfc822; alice@example.com
Arrival-Date: Tue,  4 Mar 2025 10:00:00 +0100 (CET)

Final-Recipient: rfc822; bob@example.org
Original-Recipient: rfc822;bob@example.org
Action: failed
Status: 5.1.1
Remote-MTA: dns; mail.example.org
Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: Recipient address rejected:
    User unknown in local recipient table
"""

# RFC 3464 appendix A.2: one report, three recipients, two outcomes.
RFC3464_MULTI = """Reporting-MTA: dns; cs.utk.edu

Original-Recipient: rfc822;arathib@vnet.ibm.com
Final-Recipient: rfc822;arathib@vnet.ibm.com
Action: failed
Status: 5.0.0 (permanent failure)
Diagnostic-Code: smtp; 550 'arathib@vnet.IBM.COM' is not a registered gateway user
Remote-MTA: dns; vnet.ibm.com

Original-Recipient: rfc822;johnh@hpnjld.njd.hp.com
Final-Recipient: rfc822;johnh@hpnjld.njd.hp.com
Action: delayed
Status: 4.0.0 (hpnjld.njd.jp.com: host name lookup failure)

Original-Recipient: rfc822;wsnell@sdcc13.ucsd.edu
Final-Recipient: rfc822;wsnell@sdcc13.ucsd.edu
Action: failed
Status: 5.0.0
Diagnostic-Code: smtp; 550 user unknown
Remote-MTA: dns; sdcc13.ucsd.edu
"""

# Microsoft 365: CRLF, no space after the type, its own use of 5.1.10.
EXCHANGE = (
    "Reporting-MTA: dns;DB5PR06MB1800.eurprd06.prod.outlook.com\r\n"
    "Received-From-MTA: dns;mail.example.com\r\nArrival-Date: Fri, 13 Oct 2017 11:10:16 +0000\r\n\r\n"
    "Original-Recipient: rfc822;nobody@example.no\r\nFinal-Recipient: rfc822;nobody@example.no\r\n"
    "Action: failed\r\nStatus: 5.1.10\r\n"
    "Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient nobody@example.no\r\n"
    " not found by SMTP address lookup\r\n"
)

# Gmail: a Remote-MTA with a trailing dot and address, a folded multi-line diagnostic.
GMAIL_DELAY = """Reporting-MTA: dns; googlemail.com
Arrival-Date: Tue, 04 Mar 2025 01:02:03 -0800 (PST)
X-Original-Message-ID: <abc@mail.gmail.com>

Final-Recipient: rfc822; carol@example.net
Action: delayed
Status: 4.4.1
Remote-MTA: dns; mx.example.net. (192.0.2.7, the server for the domain example.net.)
Diagnostic-Code: smtp; The recipient server did not accept our requests to connect.
 [mx.example.net. 192.0.2.7: timed out]
Last-Attempt-Date: Tue, 04 Mar 2025 02:00:00 -0800 (PST)
Will-Retry-Until: Fri, 07 Mar 2025 01:02:03 -0800 (PST)
"""


def test_postfix_rejection_in_plain_words() -> None:
    summary = dsn.summarize(parse(report(POSTFIX)))
    assert summary.splitlines() == [
        "Delivery failed: bob@example.org",
        "  Why: 550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown in local recipient table",
        "  Meaning: the address does not exist (5.1.1)",
        "  Remote server: mail.example.org",
        "  Reported by: mx.example.org",
    ]


def test_summarize_status_reads_the_raw_part_alike() -> None:
    # The big-message path fetches only the report part: same words from its bytes.
    assert dsn.summarize_status(POSTFIX.encode()) == dsn.summarize(parse(report(POSTFIX)))
    assert dsn.summarize_status(EXCHANGE.encode()).startswith("Delivery failed: nobody@example.no\n")


def test_several_recipients_each_get_a_block_and_the_reporter_comes_once() -> None:
    lines = dsn.summarize_status(RFC3464_MULTI.encode()).splitlines()
    headings = [line for line in lines if not line.startswith(" ")]
    assert headings == [
        "Delivery failed: arathib@vnet.ibm.com",
        "Delivery delayed (still trying): johnh@hpnjld.njd.hp.com",
        "Delivery failed: wsnell@sdcc13.ucsd.edu",
        "Reported by: cs.utk.edu",
    ]
    assert "  Why: 550 user unknown" in lines
    assert "  Remote server: vnet.ibm.com" in lines
    assert lines.count("  Meaning: a permanent failure (5.0.0)") == 2
    assert not any(line.startswith("  Reported by") for line in lines)


def test_exchange_and_gmail_formats() -> None:
    exchange = dsn.summarize_status(EXCHANGE.encode()).splitlines()
    assert exchange[1] == ("  Why: 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient nobody@example.no "
                           "not found by SMTP address lookup")
    assert exchange[2].startswith("  Meaning: the address does not exist") and exchange[2].endswith("(5.1.10)")
    assert exchange[-1] == "  Reported by: DB5PR06MB1800.eurprd06.prod.outlook.com"
    gmail = dsn.summarize(parse(report(GMAIL_DELAY, subject="Delivery Status Notification (Delay)"))).splitlines()
    assert gmail[0] == "Delivery delayed (still trying): carol@example.net"
    assert gmail[1] == ("  Why: The recipient server did not accept our requests to connect. "
                        "[mx.example.net. 192.0.2.7: timed out]")
    assert gmail[2] == "  Meaning: the receiving server did not answer; temporary (4.4.1)"
    assert "  Will retry until: Fri, 07 Mar 2025 01:02:03 -0800 (PST)" in gmail


@pytest.mark.parametrize(("name", "first", "meaning"), [
    ("zed.eml", "Delivery failed: asdfasdfasdfasdfasdfasdfewrqertrtyrthsfgdfgadfqeadvxzvz@gmail.com",
     "the address does not exist (5.1.1)"),
    ("mailbox-full.eml", "Delivery failed: user@aol.com", "the mailbox is full (5.2.2)"),
    ("no-mx.eml", "Delivery delayed (still trying): user@example.com",
     "no route to the receiving server (no MX or address for the domain?); temporary (4.4.4)"),
    ("delayed.eml", "Delivery failed: foo@example.com", "a temporary problem; the server may try again (4.0.0)"),
    # Not even a multipart/report: the whole message is the report part.
    ("delayed-broken.eml", "Delivery failed: demo@example.com", "the mailbox is full; temporary (4.2.2)"),
])
def test_real_bounces_from_the_corpus(name, first, meaning) -> None:
    lines = dsn.summarize(parse((CORPUS / name).read_bytes())).splitlines()
    assert lines[0] == first
    assert f"  Meaning: {meaning}" in lines


def test_action_missing_falls_back_to_the_status_class() -> None:
    body = "Reporting-MTA: dns; a\n\nFinal-Recipient: rfc822; <x@y.example>\nStatus: 4.2.2\n"
    assert dsn.summarize_status(body.encode()).splitlines()[0] == "Delivery delayed (still trying): x@y.example"
    body = "Final-Recipient: rfc822; x@y.example\nAction: delivered\nStatus: 2.0.0\n"
    assert dsn.summarize_status(body.encode()).splitlines() == ["Delivered: x@y.example", "  Meaning: success (2.0.0)"]


def test_code_taken_from_the_diagnostic_when_status_is_missing() -> None:
    body = "Final-Recipient: rfc822; x@y.example\nAction: failed\nDiagnostic-Code: smtp; 552-5.2.2 over quota\n"
    assert "  Meaning: the mailbox is full (5.2.2)" in dsn.summarize_status(body.encode()).splitlines()


def test_forwarded_recipient_names_the_address_it_was_sent_to() -> None:
    body = "Original-Recipient: rfc822;info@example.org\nFinal-Recipient: rfc822;bob@example.org\nAction: failed\n"
    assert dsn.summarize_status(body.encode()).startswith(
        "Delivery failed: bob@example.org (sent to info@example.org)")


@pytest.mark.parametrize(("code", "words"), [
    (("5", "7", "1"), "delivery not authorized: the server refused the message (spam or policy) (5.7.1)"),
    (("4", "4", "7"), "the delivery time expired: the server gave up trying; temporary (4.4.7)"),
    (("5", "2", "2"), "the mailbox is full (5.2.2)"),
    (("5", "1", "2"), "the domain does not exist or takes no mail (5.1.2)"),
    (("5", "7", "0"), "refused for security or policy reasons (5.7.0)"),  # subject only
    (("5", "9", "9"), "a permanent failure (5.9.9)"),  # class only
    (("2", "6", "4"), "the message was converted, losing some content (2.6.4)"),
])
def test_status_codes_in_plain_words(code, words) -> None:
    assert dsn.status_meaning(*code) == words


def test_global_report_in_utf8_and_base64() -> None:
    body = ("Reporting-MTA: dns; mx.example.jp\n\nFinal-Recipient: utf-8; \u7528\u6237@\u4f8b\u3048.jp\n"
            "Action: failed\nStatus: 5.1.1\n")
    plain = report(body, dsn_type="global-delivery-status")
    assert dsn.summarize(parse(plain)).startswith("Delivery failed: \u7528\u6237@\u4f8b\u3048.jp\n")
    encoded = base64.encodebytes(body.encode()).decode()
    wrapped = report(encoded, dsn_type="global-delivery-status", extra="Content-Transfer-Encoding: base64\n")
    assert dsn.summarize(parse(wrapped)) == dsn.summarize(parse(plain))
    escaped = body.replace("\u7528\u6237", "\\x{7528}\\x{6237}").encode()  # RFC 6533 utf-8-addr-xtext
    assert dsn.summarize_status(escaped).startswith("Delivery failed: \u7528\u6237@")


def test_report_inside_a_mixed_message_is_found_but_not_one_inside_an_attached_message() -> None:
    inner = report(POSTFIX).decode()
    mixed = ('From: a@example.org\nSubject: fwd\nContent-Type: multipart/mixed; boundary="outer"\n\n'
             '--outer\nContent-Type: text/plain\n\nsee below\n--outer\n' + inner.split("\n", 2)[2] + "\n--outer--\n")
    assert dsn.summarize(parse(mixed.encode())).startswith("Delivery failed: bob@example.org")
    attached = ('From: a@example.org\nSubject: look at this\nContent-Type: multipart/mixed; boundary="outer"\n\n'
                '--outer\nContent-Type: text/plain\n\nwhat does this mean?\n--outer\n'
                "Content-Type: message/rfc822\n\n" + inner + "\n--outer--\n")
    assert dsn.summarize(parse(attached.encode())) == ""


@pytest.mark.parametrize("subject", [
    "Mail delivery failed: returning message to sender",  # Exim
    "failure notice",  # qmail
    "Undeliverable: lunch",  # Exchange
    "Returned mail: see transcript for details",  # sendmail
])
def test_bounce_without_a_report_is_recognised_by_its_subject(subject) -> None:
    raw = f"From: MAILER-DAEMON@example.org\nSubject: {subject}\n\nThis message was created automatically by mail delivery software.\n"
    assert dsn.summarize(parse(raw.encode())) == dsn.NO_REPORT_BOUNCE


def test_ordinary_mail_has_no_summary() -> None:
    assert dsn.summarize(parse(b"From: a@example.org\nSubject: delivery of the sofa\n\nTuesday?\n")) == ""
    assert dsn.summarize_status(b"just some text\nwith no fields\n") == ""
    assert dsn.summarize_status(b"") == ""


def test_caps_on_recipients_and_values() -> None:
    blocks = "".join(f"Final-Recipient: rfc822; u{i}@example.org\nAction: failed\n\n" for i in range(25))
    lines = dsn.summarize_status(f"Reporting-MTA: dns; mx\n\n{blocks}".encode()).splitlines()
    assert [line for line in lines if line.startswith("Delivery failed:")][-1] == "Delivery failed: u19@example.org"
    assert lines[-2:] == ["and 5 more", "Reported by: mx"]
    long = "Final-Recipient: rfc822; x@y\nDiagnostic-Code: smtp; 550 " + "word\r\n\t" * 5000 + "\n"
    why = next(line for line in dsn.summarize_status(long.encode()).splitlines() if line.startswith("  Why: "))
    assert len(why) <= len("  Why: ") + dsn.MAX_VALUE and why.endswith("…") and "\t" not in why


@pytest.mark.parametrize("hostile", [
    b"Reporting-MTA: dns; mx\n\n" + b"X-Foo: a\n" * 100_000,  # 100,000 lines
    b"Final-Recipient: rfc822; a\nDiagnostic-Code: smtp; " + b"x\n " * 150_000,  # one field folded 150,000 times
    b"Reporting-MTA: dns; mx\n\n" + b"Final-Recipient: rfc822; a@b\nAction: failed\nStatus: 5.1.1\n\n" * 5000,
    b"\n" * 300_000,
    b"Status: " + b"5." * 200_000,
    (b"a" * 70 + b": b\n") * 5000,
], ids=["100k-lines", "150k-folds", "5000-recipients", "blank-lines", "long-status", "long-names"])
def test_hostile_reports_are_quick_and_capped(hostile) -> None:
    started = time.perf_counter()
    summary = dsn.summarize_status(hostile)
    assert time.perf_counter() - started < 1.0
    assert len(summary) < 30 * dsn.MAX_RECIPIENTS * 6 + 200
    assert all(len(line) < dsn.MAX_VALUE + 40 for line in summary.splitlines())


def test_deeply_nested_message_does_not_raise() -> None:
    nested = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(200))
    msg = parse(("Subject: x\n" + nested + "Content-Type: message/delivery-status\n\nAction: failed\n").encode())
    assert dsn.summarize(msg) == ""  # past the depth searched


@fuzz(200)
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_fuzzed_reports_never_raise(data) -> None:
    assert isinstance(dsn.summarize_status(data), str)
    assert isinstance(dsn.summarize(parse(report(data.decode("utf-8", "replace")))), str)
