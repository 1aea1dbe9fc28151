"""Who hears of a group mailbox's mail: each person's notification preferences, per kind.

The support team's first day: every agent's bell rang for every email of the mailbox. Now a
case's mail concerns its owner; the rest of the team hears of it only when they ask to.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction

from cases.models import Case, CaseDistribution
from crm.models import Notification
from crm.notification_reasons import notification_preferences_save
from crm.stream import note_create, record_follow
from mailboxes.intake.notify import notify_batch
from mailboxes.linking.message_ids import message_id_new, note_email_sent
from mailboxes.models import Email, GroupEmailAccount, PersonalEmailAccount
from mailboxes.notes.digest import notification_digests_send
from tests.mailboxes.conftest import make_message
from tests.mailboxes.linking.pipeline import contexts_before, import_one

pytestmark = pytest.mark.django_db


def bell(user) -> Counter:
    """(type, reason) of the user's unread notifications, counted."""
    return Counter(
        Notification.objects.filter(user=user, read_at__isnull=True).values_list("type", "reason")
    )


@pytest.fixture
def agents(make_user, team):
    return [make_user(name, level="team", teams=[team]) for name in ("ali", "berna", "cem")]


@pytest.fixture
def support(team, agents):
    account = GroupEmailAccount.objects.create(
        name="Support",
        email_address="support@postaci.example",
        for_all_team_users=True,
        create_case=True,
        target_team=team,
        case_distribution=CaseDistribution.ROUND_ROBIN,
    )
    account.teams.set([team])
    return account


def customer_mail(n: int, **fields) -> bytes:
    fields.setdefault("sender", f"Customer {n} <customer{n}@example.org>")
    fields.setdefault("to", "support@postaci.example")
    fields.setdefault("subject", f"Problem {n}")
    return make_message(**fields)


def test_25_new_cases_round_robin_each_agents_bell_holds_only_their_own_cases(support, agents):
    firsts = [import_one(support, customer_mail(n)) for n in range(25)]
    # five customers write again about their case
    for n in range(5):
        import_one(support, customer_mail(n, headers={"In-Reply-To": firsts[n].message_id}))

    for agent in agents:
        own = Case.objects.filter(assigned_user=agent)
        replied = own.filter(number__in=[e.parent.number for e in firsts[:5]]).count()
        assert bell(agent) == Counter(
            {("assigned", "case_assigned"): own.count(), ("note", "case_mail"): replied}
        )
    assert sum(sum(bell(a).values()) for a in agents) == 25 + 5


def test_agent_who_asks_for_all_mailbox_news_hears_of_other_peoples_cases(support, agents):
    ali, berna, _cem = agents
    notification_preferences_save(berna, {"case_mail_others": "bell"})

    first = import_one(support, customer_mail(1))  # round-robin: Ali's case
    import_one(support, customer_mail(1, headers={"In-Reply-To": first.message_id}))

    assert Case.objects.get().assigned_user == ali
    assert bell(berna) == Counter({("email_received", "case_mail_others"): 2})


def test_mail_nobody_owns_rings_the_team_by_default(support, agents):
    """With nobody to assign it to (no active member), the case waits in the team's queue:
    that is news for the whole team."""
    support.case_distribution = CaseDistribution.DIRECT  # and no assign-to user
    support.save()

    import_one(support, customer_mail(1))

    assert Case.objects.get().assigned_user is None
    for agent in agents:
        assert bell(agent) == Counter({("email_received", "group_mail"): 1})


def test_agent_who_turns_off_case_mail_is_not_told_of_replies_on_their_case(support, agents):
    ali = agents[0]
    notification_preferences_save(ali, {"case_mail": "off"})
    first = import_one(support, customer_mail(1))
    import_one(support, customer_mail(1, headers={"In-Reply-To": first.message_id}))

    assert bell(ali) == Counter({("assigned", "case_assigned"): 1})


def test_colleague_in_cc_of_mail_on_anothers_case_is_told_it_is_to_them(support, agents, make_user):
    _ali, berna, cem = agents
    first = import_one(support, customer_mail(1))  # Ali's case

    import_one(
        support,
        customer_mail(
            1,
            to="support@postaci.example",
            headers={"Cc": berna.email, "In-Reply-To": first.message_id},
        ),
    )

    assert bell(berna) == Counter({("email_received", "mail_to_me"): 1})
    assert bell(cem) == Counter()


def test_follower_of_the_customer_hears_of_its_cases_mail_once_as_a_follower(
    support, agents, make_user, make_record
):
    _ali, berna, _cem = agents
    acme = make_record("account", make_user("owner", level="all"), name="Acme")
    make_record("contact", acme.assigned_user, account=acme, addresses=["customer1@example.org"])
    record_follow(acme, berna)
    Notification.objects.all().delete()

    import_one(support, customer_mail(1))  # Ali's case, on Acme

    assert Case.objects.get().account == acme
    assert bell(berna) == Counter({("note", "followed_mail"): 1})


def test_kinds_turned_off_fall_back_to_the_next_reason_that_is_on(
    support, agents, make_user, make_record
):
    """Berna follows the customer but wants no record news; she asked for every email of the
    mailbox: she still hears of it, once, as mailbox news."""
    _ali, berna, _cem = agents
    acme = make_record("account", make_user("owner", level="all"), name="Acme")
    make_record("contact", acme.assigned_user, account=acme, addresses=["customer1@example.org"])
    record_follow(acme, berna)
    notification_preferences_save(berna, {"followed_mail": "off", "case_mail_others": "bell"})
    Notification.objects.all().delete()

    import_one(support, customer_mail(1))

    assert bell(berna) == Counter({("email_received", "case_mail_others"): 1})


def test_reply_a_colleague_sends_on_my_case_tells_me_as_case_mail(support, agents):
    ali, berna, _cem = agents
    first = import_one(support, customer_mail(1))  # Ali's case
    case = first.parent
    Notification.objects.all().delete()
    reply = Email.objects.create(
        message_id=message_id_new(parent=case),
        subject="Re: Problem 1",
        status=Email.Status.SENT,
        sent_by=berna,
        parent_type=ContentType.objects.get_for_model(case),
        parent_id=case.pk,
    )
    reply.teams.set(support.teams.all())  # as sending through the group account does

    note_email_sent(reply)

    assert bell(ali) == Counter({("note", "case_mail"): 1})
    assert bell(berna) == Counter()


def test_personal_mailbox_owner_is_told_of_new_mail_as_mail_to_me(make_user):
    me = make_user("me", level="own")
    mine = PersonalEmailAccount.objects.create(
        name="Mine", email_address="me@home.example", owner=me
    )

    import_one(mine, make_message(to="me@home.example"))

    assert bell(me) == Counter({("email_received", "mail_to_me"): 1})


def test_group_mailbox_news_can_be_turned_off(mailbox, make_user, team):
    """A mailbox without cases: its mail nobody owns rings the team unless they turn it off."""
    on, off = (
        make_user("on", level="own", teams=[team]),
        make_user("off", level="own", teams=[team]),
    )
    notification_preferences_save(off, {"group_mail": "off"})

    import_one(mailbox, make_message(to="sales@postaci.example"))

    assert bell(on) == Counter({("email_received", "group_mail"): 1})
    assert bell(off) == Counter()


@pytest.mark.parametrize("size", [5, 50])
def test_notify_step_on_a_batch_of_cases_runs_a_bounded_number_of_queries(
    size, support, agents, django_assert_max_num_queries
):
    raws = [customer_mail(n) for n in range(size)]
    notification_preferences_save(agents[1], {"case_mail_others": "bell"})
    with transaction.atomic():
        batch = contexts_before(support, raws, "notify")
        # notes, followers, case owners, 3 for roles and teams, copies, email teams,
        # preferences, notifications, and a content type the first time (SQLite splits bulk
        # inserts: a few more there)
        with django_assert_max_num_queries(11 if connection.vendor == "postgresql" else 16):
            notify_batch(batch)
    assert Notification.objects.filter(reason="case_mail_others").count() == size - len(
        [ctx for ctx in batch if ctx.case.assigned_user_id == agents[1].pk]
    )


def test_digest_carries_only_the_kinds_a_user_wants_by_email(
    system_smtp_server, mailbox, make_user, make_record
):
    owner = make_user("owner", level="all")
    acme = make_record("account", owner, name="Acme", addresses=["info@acme.example"])
    both = make_user("both", level="all", notification_digest="daily")
    bell_only = make_user("bellonly", level="all", notification_digest="daily")
    notification_preferences_save(bell_only, {"followed_mail": "bell"})
    for user in (both, bell_only):
        record_follow(acme, user)
    import_one(mailbox, make_message(sender="info@acme.example", subject="Quote please"))
    note_create(parent=acme, author=owner, body="Call them tomorrow")

    assert notification_digests_send(frequency="daily") == 2

    by_rcpt = {m.rcpt_tos[0]: m for m in system_smtp_server.wait_for_messages(2)}
    theirs = by_rcpt[both.email].message.get_payload(decode=True).decode()
    mine = by_rcpt[bell_only.email].message.get_payload(decode=True).decode()
    assert "Quote please" in theirs and "Call them tomorrow" in theirs
    assert "Quote please" not in mine and "Call them tomorrow" in mine
    assert bell(bell_only) == Counter(
        {("note", "followed_mail"): 1, ("note", "record_activity"): 1}
    )
