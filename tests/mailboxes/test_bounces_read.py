"""The bounce reader on the sisimai corpus: who failed and hard or soft, per family, with a
floor; and nothing at all from what is no bounce (out-of-office, feedback reports, SES
delivery notices, ordinary mail)."""

from __future__ import annotations

from collections import Counter

import pytest

from mailboxes.bounces.read import Failure, classify_status, read_bounce
from mailboxes.bounces.reading import failures_of
from tests.shared import CORPUS

SISIMAI = CORPUS / "sisimai"
BSD = sorted((SISIMAI / "bsd").glob("*.eml"))

# Files read (a failed recipient with a class) per family, as bench/bounces.py prints them;
# raise these when the reader gets better, never lower them.
FLOORS = {"lhost": 465, "rhost": 87, "rfc3464": 35}
TOTALS = {"lhost": 483, "rhost": 87, "rfc3464": 36}


def _family(name: str) -> str:
    return name.split("-", 1)[0]


def test_corpus_is_there():
    assert len(BSD) == 629


def test_failed_recipient_and_class_found_for_most_bounces_of_each_family():
    read, total = Counter(), Counter()
    for path in BSD:
        family = _family(path.name)
        if family not in FLOORS:
            continue
        total[family] += 1
        _kind, failures = failures_of(path.read_bytes())
        read[family] += bool(failures)
    assert dict(total) == TOTALS
    for family, floor in FLOORS.items():
        assert read[family] >= floor, (family, read[family], floor)


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in BSD
        if p.name.startswith(("rfc3834-", "arf-", "lhost-amazonses-12", "lhost-amazonses-13"))
    ]
    + sorted((SISIMAI / "not").glob("is-not-bounce-*.eml")),
    ids=lambda p: p.name,
)
def test_no_failure_from_auto_replies_feedback_reports_delivery_notices_or_ordinary_mail(path):
    kind, failures = failures_of(path.read_bytes())
    assert failures == [], (kind, failures)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # RFC 3464 fields: Final-Recipient, Status
        ("lhost-postfix-04.eml", [("kijitora@example.co.jp", True, "5.1.1")]),
        # several recipients, each with its own status
        (
            "lhost-sendmail-02.eml",
            [("userunknown@example.org", True, "5.1.1"), ("filtered@example.com", True, "5.2.1")],
        ),
        # a full mailbox is soft even with a 5.x.x code
        ("lhost-dragonfly-12.eml", [("mailboxfull@libsisimai.net", False, "5.2.2")]),
        # 4.x.x: soft
        ("lhost-gmail-06.eml", [("kijitora@example.jp", False, "4.2.2")]),
        # Amazon SES JSON inside an SNS notification
        ("lhost-amazonses-10.eml", [("bounce@simulator.amazonses.com", True, "5.1.1")]),
        # qmail-like text only: "550 ... (#5.1.1)" next to the address
        ("lhost-activehunter-01.eml", [("kijitora@example.org", True, "5.1.1")]),
    ],
)
def test_known_bounces_read_as_sisimai_reads_them(name, expected):
    _kind, failures = failures_of((SISIMAI / "bsd" / name).read_bytes())
    assert [(f.address, f.hard, f.status) for f in failures] == expected


def test_policy_and_size_refusals_are_soft_address_problems_hard():
    assert classify_status("5.1.1") is True
    assert classify_status("5.4.4") is True
    assert classify_status("5.2.2") is False  # mailbox full
    assert classify_status("5.7.1") is False  # refused by policy: the message, not the address
    assert classify_status("5.3.4") is False  # too big
    assert classify_status("4.4.7") is False
    assert classify_status("2.0.0") is None
    assert classify_status("junk") is None


def test_a_bounce_that_cannot_be_read_gives_nothing_and_never_raises():
    assert read_bounce(b"") == []
    assert read_bounce(b"\xff\xfe\x00garbage\r\n\r\n\x00") == []
    assert (
        read_bounce(
            b"Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\n"
            b"Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; <>\r\n--x--"
        )
        == []
    )


def test_the_bounces_own_addressees_are_never_the_failed_recipient():
    raw = (
        b"From: MAILER-DAEMON@mx.example\r\nTo: sender@ours.example\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n\r\n"
        b"<sender@ours.example>: 550 5.1.1 user unknown\r\n"
    )
    assert read_bounce(raw) == []
    assert read_bounce(raw.replace(b"<sender@", b"<gone@")) == [
        Failure("gone@ours.example", True, "5.1.1", "550 5.1.1 user unknown")
    ]
