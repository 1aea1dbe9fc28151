"""The case's people get a reply before the user filters run: the assignee's own inbox
filters sort their copy as they sort any other mail."""

from __future__ import annotations

import pytest

from cases.models import Case, CaseDistribution
from filters.models import EmailFilter
from mailboxes.models import EmailFolder, EmailUser, GroupEmailAccount
from tests.mailboxes.conftest import make_message
from tests.mailboxes.linking.pipeline import import_one

pytestmark = pytest.mark.django_db


def test_reply_joining_a_case_is_sorted_by_the_assignees_inbox_filter(make_user, team):
    agent = make_user("agent", level="team", teams=[team])
    support = GroupEmailAccount.objects.create(
        name="Support",
        email_address="support@postaci.example",
        create_case=True,
        target_team=team,
        case_distribution=CaseDistribution.ROUND_ROBIN,
    )
    first = import_one(support, make_message(subject="Printer", to="support@postaci.example"))
    case = Case.objects.get()
    assert case.assigned_user == agent
    folder = EmailFolder.objects.create(user=agent, name="Customers")
    EmailFilter.objects.create(
        name="customers",
        scope=EmailFilter.Scope.USER_INBOX,
        user=agent,
        subject_pattern="*Printer*",
        action=EmailFilter.Action.MOVE_TO_FOLDER,
        folder=folder,
    )

    reply = import_one(
        support,
        make_message(
            subject="Re: Printer",
            to="support@postaci.example",
            headers={"In-Reply-To": first.message_id},
        ),
    )

    assert (reply.parent_id, reply.parent_type.model) == (case.pk, "case")
    assert EmailUser.objects.get(email=reply, user=agent).folder == folder
