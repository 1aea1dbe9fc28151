"""The sisimai corpus fetched from Dovecot into a create-case, auto-reply mailbox: machine mail
opens no case and gets no auto-reply, every refusal recorded with the loop guard's reason;
person-written mail opens cases."""

from __future__ import annotations

import pytest

from cases.models import AutoReplyLog, Case, CaseDistribution
from mailboxes.models import Email
from tests.cases.mailflow import fetch, send_pending
from tests.mailboxes.sending.conftest import smtp_fields
from tests.shared import CORPUS

SISIMAI_BSD = sorted((CORPUS / "sisimai" / "bsd").glob("*.eml"))
NOT_BOUNCES = ["is-not-bounce-01.eml", "is-not-bounce-02.eml"]
BOUNCE_IN_NOT = "rb-issue-368-bug.eml"  # sits in not/ but is a bounce (corpus/README.md)
# Reasons that only say the email is out of the auto-reply's scope, not what the guard saw.
SCOPE_ONLY = {
    "cases.auto_reply.no_case",
    "cases.auto_reply.known_thread",
    "cases.auto_reply.too_old_days",
    "cases.auto_reply.too_old_hours",
    "cases.auto_reply.first_fetch",
    "cases.auto_reply.no_smtp",
}


@pytest.fixture
def support(make_group_account, imap_user, smtp_server, team, agents, settings):
    settings.POSTACI_AUTO_REPLY_MAX_AGE = 100 * 365 * 24 * 3600  # the corpus is years old
    return make_group_account(
        imap_user,
        teams=[team],
        create_case=True,
        target_team=team,
        case_distribution=CaseDistribution.ROUND_ROBIN,
        auto_reply=True,
        **smtp_fields(smtp_server),
    )


@pytest.mark.parametrize("create_case", [True, False], ids=["create-case", "auto-reply-only"])
def test_sisimai_machine_mail_opens_no_case_and_gets_no_auto_reply(
    create_case, support, dovecot, imap_user, smtp_server
):
    support.create_case = create_case
    support.save()
    assert len(SISIMAI_BSD) == 629
    dovecot.append_many(imap_user, "INBOX", [path.read_bytes() for path in SISIMAI_BSD])

    summary = fetch(support)
    send_pending()

    assert summary["quarantined"] == 0
    assert summary["imported"] + summary["duplicates"] == 629
    assert Case.objects.count() == 0
    assert not Email.objects.filter(is_auto_reply=True).exists()
    assert smtp_server.messages == []
    logs = AutoReplyLog.objects.all()
    # one decision per stored email, each a refusal naming what the loop guard saw
    assert logs.count() == summary["imported"] == Email.objects.count()
    assert set(logs.values_list("outcome", flat=True)) == {AutoReplyLog.Outcome.REFUSED}
    vague = [(log.email.subject, str(log.reason)) for log in logs if log.reason.code in SCOPE_ONLY]
    assert vague == []


def test_sisimai_person_mail_opens_cases(support, dovecot, imap_user, smtp_server):
    files = [*NOT_BOUNCES, BOUNCE_IN_NOT]
    dovecot.append_many(
        imap_user, "INBOX", [(CORPUS / "sisimai" / "not" / name).read_bytes() for name in files]
    )
    assert fetch(support)["imported"] == 3
    send_pending()

    opened = {
        email.subject: email
        for email in Email.objects.filter(status=Email.Status.IMPORTED)
        if email.parent is not None
    }
    assert Case.objects.count() == 2 == len(opened)
    bounce = Email.objects.get(auto_kind=Email.AutoKind.BOUNCE)
    assert bounce.parent is None
    bounce_log = bounce.auto_reply_logs.get()
    assert bounce_log.outcome == AutoReplyLog.Outcome.REFUSED
    assert bounce_log.reason.code not in SCOPE_ONLY
    # the two cases each got a decision; nothing was sent to the bounce's sender
    assert AutoReplyLog.objects.filter(case__isnull=False).count() == 2
    assert all(bounce.from_email not in m.rcpt_tos for m in smtp_server.messages)
