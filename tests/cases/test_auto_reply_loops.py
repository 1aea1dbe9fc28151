"""Mail loops through real servers: Postaci mailboxes and other autoresponders mailing each
other through the SMTP relay and the test Dovecot, round after round, until nothing moves.

Each round fetches every Postaci mailbox, runs the queued sends (what the worker does) and lets
any foreign autoresponder answer what reached it. The exchange must end, with at most one
auto-reply per mailbox (the rate limit is the last line of defence when the other side hides
every sign that it is a machine).
"""

from __future__ import annotations

from collections import Counter
from email.utils import make_msgid

import pytest

from cases.models import AutoReplyLog, Case, CaseDistribution
from mailboxes.models import Email
from tests.cases.mailflow import fetch, parsed, send_pending, smtp_send
from tests.mailboxes.conftest import make_message
from tests.mailboxes.sending.conftest import smtp_fields

ROUNDS = 10


def group_account(make_group_account, user, relay, team, name):
    relay.add_mailbox(user)
    return make_group_account(
        user,
        name=name,
        teams=[team],
        create_case=True,
        target_team=team,
        case_distribution=CaseDistribution.ROUND_ROBIN,
        auto_reply=True,
        **smtp_fields(relay),
    )


def run_until_quiet(relay, accounts, responders=(), rounds=ROUNDS) -> list[int]:
    """Rounds of fetch → send → foreign answers; the relay's message count after each."""
    history = []
    for _round in range(rounds):
        for account in accounts:
            fetch(account)
        send_pending()
        for responder in responders:
            responder.answer_new_mail()
        history.append(len(relay.messages))
    return history


def auto_replies_by_account() -> Counter:
    return Counter(
        Email.objects.filter(is_auto_reply=True, status=Email.Status.SENT).values_list(
            "send_account__name", flat=True
        )
    )


def test_two_postaci_mailboxes_with_auto_reply_stop_after_one_auto_reply_each(
    dovecot, mail_relay, make_group_account, team, agents
):
    a_user, b_user = dovecot.add_user("a"), dovecot.add_user("b")
    a = group_account(make_group_account, a_user, mail_relay, team, "A")
    b = group_account(make_group_account, b_user, mail_relay, team, "B")
    # Each mailbox also receives for an alias Postaci does not know as its own, and a person
    # at each desk writes to the other from it: the worst start, no own-address check helps.
    mail_relay.add_mailbox(a_user, "desk-a@partner.example")
    mail_relay.add_mailbox(b_user, "desk-b@partner.example")
    smtp_send(
        mail_relay,
        make_message(sender="desk-b@partner.example", to=a.email_address, subject="From B"),
        mail_from="desk-b@partner.example",
        to=[a.email_address],
    )
    smtp_send(
        mail_relay,
        make_message(sender="desk-a@partner.example", to=b.email_address, subject="From A"),
        mail_from="desk-a@partner.example",
        to=[b.email_address],
    )

    history = run_until_quiet(mail_relay, [a, b])

    assert history[-1] == history[-4], f"still moving: {history}"
    assert history[-1] == 4  # two first mails, one auto-reply each, nothing more
    assert auto_replies_by_account() == {"A": 1, "B": 1}
    # each auto-reply reached the other mailbox and was recognised as Postaci's own mail
    assert Case.objects.count() == 2
    for reply in Email.objects.filter(is_auto_reply=True):
        other = a_user if reply.send_account_id == b.pk else b_user
        [_first, delivered] = dovecot.fetch(other, "INBOX").values()
        assert parsed(delivered)["Message-ID"] == reply.message_id


class Responder:
    """Another system's autoresponder on a Dovecot mailbox: it answers *every* message that
    reaches it, through the relay. ``style``:

    - ``marked``: a well-marked auto-reply (Auto-Submitted, Precedence, X-Loop, threading).
    - ``naive``: no markers at all, but a normal reply ("Re:", In-Reply-To, References).
    - ``hostile``: no markers, no threading, a new subject every time.
    """

    def __init__(self, dovecot, relay, user, style: str):
        self.dovecot, self.relay, self.user, self.style = dovecot, relay, user, style
        self.answered: set[int] = set()
        self.sent = 0

    @property
    def address(self) -> str:
        return self.user.email

    def answer_new_mail(self) -> None:
        for uid, raw in sorted(self.dovecot.fetch(self.user, "INBOX").items()):
            if uid in self.answered:
                continue
            self.answered.add(uid)
            incoming = parsed(raw)
            to = incoming["From"].addresses[0].addr_spec
            smtp_send(self.relay, self._reply(incoming, to), mail_from=self.address, to=[to])
            self.sent += 1

    def _reply(self, incoming, to: str) -> bytes:
        headers = {}
        subject = f"Re: {incoming['Subject']}"
        if self.style in ("marked", "naive"):
            headers["In-Reply-To"] = incoming["Message-ID"]
            headers["References"] = incoming["Message-ID"]
        if self.style == "marked":
            headers["Auto-Submitted"] = "auto-replied"
            headers["Precedence"] = "auto_reply"
            headers["X-Loop"] = self.address
        if self.style == "hostile":
            subject = f"Your message was received (ticket {self.sent + 100})"
        return make_message(
            sender=self.address,
            to=to,
            subject=subject,
            body="Thank you for your email. This mailbox answers every message.",
            message_id=make_msgid(domain="partner.example"),
            headers=headers,
        )


@pytest.mark.parametrize(
    "style, postaci_replies",
    [("marked", 1), ("naive", 1), ("hostile", 5)],  # hostile: the sender rate limit (5 / 2 h)
)
def test_foreign_autoresponder_loop_ends(
    style, postaci_replies, dovecot, mail_relay, make_group_account, team, agents
):
    support = group_account(make_group_account, dovecot.add_user("s"), mail_relay, team, "S")
    responder = Responder(dovecot, mail_relay, mail_relay.add_mailbox(dovecot.add_user("r")), style)
    # the other system's person writes first (a real question), then the machines talk
    smtp_send(
        mail_relay,
        make_message(sender=responder.address, to=support.email_address, subject="Question"),
        mail_from=responder.address,
        to=[support.email_address],
    )

    history = run_until_quiet(mail_relay, [support], [responder], rounds=ROUNDS)

    assert history[-1] == history[-3], f"still moving: {history}"
    assert auto_replies_by_account() == {"S": postaci_replies}
    assert responder.sent == postaci_replies  # it answered each of ours once, then silence
    # every message of the exchange got a decision, and every refusal says why
    incoming = Email.objects.filter(status=Email.Status.IMPORTED)
    assert incoming.count() == 1 + responder.sent
    assert not incoming.filter(auto_reply_logs__isnull=True).exists()
    refused = AutoReplyLog.objects.filter(outcome=AutoReplyLog.Outcome.REFUSED)
    assert refused.count() == responder.sent + 1 - postaci_replies
    assert all(log.reason for log in refused)
    if style == "marked":
        assert all("Auto-Submitted" in str(log.reason) for log in refused)
    elif style == "naive":
        assert all("joins case" in str(log.reason) for log in refused)
    else:
        assert all("the limit is" in str(log.reason) for log in refused)
