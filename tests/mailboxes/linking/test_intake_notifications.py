"""Against the real Dovecot: a follower hears of a customer's email once, and only once."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from crm.models import Note, Notification, Team, TeamMembership
from crm.stream import record_follow, stream_for
from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email
from tests.mailboxes.conftest import make_message

pytestmark = pytest.mark.django_db(transaction=True)


def test_follower_hears_once_of_a_customers_mail_to_a_mailbox_they_are_not_on(
    dovecot, make_group_account, make_user, make_record
):
    owner = make_user("owner", level="all")
    acme = make_record("account", owner, name="Acme", addresses=["info@acme.example"])
    make_record("contact", owner, last_name="Yılmaz", account=acme, addresses=["ayse@acme.example"])
    reader = make_user("reader", level="all")  # may read any email; on no mailbox
    outsider = make_user("outsider", level="own")  # may read only emails given to them
    for user in (reader, outsider):
        record_follow(acme, user)
    support_team = Team.objects.create(name="Support")
    agent = make_user("agent", level="own")
    TeamMembership.objects.create(team=support_team, user=agent)
    support_box, sales_box = dovecot.add_user("support"), dovecot.add_user("sales")
    support = make_group_account(support_box, teams=[support_team], for_all_team_users=True)
    sales = make_group_account(sales_box)

    # History: the first fetch of a new account is a backfill — stream notes, no notifications.
    dovecot.append(support_box, "INBOX", make_message(sender="ayse@acme.example", subject="Old"))
    assert fetch_account(support.pk).imported == 1
    assert fetch_account(sales.pk).imported == 0  # sets its cursor: the next fetch notifies
    assert Note.objects.filter(type=Note.Type.EMAIL_RECEIVED).count() == 1
    assert not Notification.objects.exists()

    # New mail from Acme's customer to both mailboxes.
    raw = make_message(
        sender="Ayşe Yılmaz <ayse@acme.example>",
        to="support@example.test, sales@example.test",
        subject="Broken delivery",
    )
    dovecot.deliver(support_box, raw)
    assert fetch_account(support.pk).imported == 1

    email = Email.objects.get(subject="Broken delivery")
    assert list(Notification.objects.filter(user=reader).values_list("type", "related_id")) == [
        (Notification.Type.NOTE, acme.pk)
    ]
    assert not Notification.objects.filter(user=outsider).exists()
    assert list(Notification.objects.filter(user=agent).values_list("type", flat=True)) == [
        Notification.Type.EMAIL_RECEIVED
    ]
    account_stream = stream_for(acme, reader).filter(type=Note.Type.EMAIL_RECEIVED)
    assert [note.related for note in account_stream] == [email, Email.objects.get(subject="Old")]

    # The same message fetched through the second mailbox: one email, nobody told again.
    dovecot.deliver(sales_box, raw)
    second = fetch_account(sales.pk)
    assert (second.imported, second.duplicates) == (0, 1)
    assert Notification.objects.filter(user=reader).count() == 1
    assert Notification.objects.filter(user=agent).count() == 1
    assert Note.objects.filter(type=Note.Type.EMAIL_RECEIVED, related_id=email.pk).count() == 1

    # fetchmail --no-notify imports without telling anyone.
    told = Notification.objects.count()
    dovecot.deliver(support_box, make_message(sender="ayse@acme.example", subject="Quiet"))
    call_command("fetchmail", "--account", str(support.pk), "--no-notify", "--json")
    assert Note.objects.filter(related_id=Email.objects.get(subject="Quiet").pk).exists()
    assert Notification.objects.count() == told
