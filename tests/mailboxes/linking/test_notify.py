"""Step 11 and sending: email notes in the stream, and who is notified (nobody twice)."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction

from cases.models import Case, CaseDistribution
from crm.models import Note, Notification, TeamMembership
from crm.stream import record_follow, stream_for
from mailboxes.intake.notify import notify_batch
from mailboxes.linking.message_ids import message_id_new, note_email_sent  # the API sending uses
from mailboxes.models import Email, GroupEmailAccount
from tests.filters.conftest import save_filter
from tests.mailboxes.conftest import make_message
from tests.mailboxes.linking.pipeline import contexts_before, import_messages, import_one

pytestmark = pytest.mark.django_db


def told(user) -> list[tuple[str, str]]:
    """(type, what it is about) of every notification of ``user``."""
    return [
        (n.type, n.related_type.model)
        for n in Notification.objects.filter(user=user).select_related("related_type")
    ]


@pytest.fixture
def ayse(make_record, owner, acme):
    return make_record(
        "contact", owner, last_name="Yılmaz", account=acme, addresses=["ayse@acme.example"]
    )


@pytest.fixture
def quiet_owner(owner):
    """The records' creator follows them; most tests are about other people."""
    Notification.objects.all().delete()
    from crm.models import Follow

    Follow.objects.filter(user=owner).delete()
    return owner


def customer_mail(**fields) -> bytes:
    fields.setdefault("sender", "Ayşe Yılmaz <ayse@acme.example>")
    fields.setdefault("to", "sales@postaci.example")
    return make_message(**fields)


def test_follower_with_access_is_told_once_one_without_access_never(
    mailbox, make_user, acme, ayse, quiet_owner
):
    reader = make_user("reader", level="all")  # not on the mailbox
    outsider = make_user("outsider", level="own")  # may not read mail that is not theirs
    for user in (reader, outsider):
        record_follow(acme, user)

    email = import_one(mailbox, customer_mail(subject="Order 42"))

    assert told(reader) == [(Notification.Type.NOTE, "account")]
    assert told(outsider) == []
    note = Notification.objects.get(user=reader).note
    assert (note.type, note.related_id, note.data["subject"]) == (
        Note.Type.EMAIL_RECEIVED,
        email.pk,
        "Order 42",
    )
    assert note.data["from"] == "Ayşe Yılmaz <ayse@acme.example>"


def test_note_on_a_child_record_shows_in_the_account_stream_and_tells_both_followers_once(
    mailbox, make_user, make_record, owner, acme, ayse, quiet_owner
):
    deal = make_record("opportunity", owner, name="Deal", account=acme)
    of_deal, of_acme, of_both = (make_user(n, level="all") for n in ("d", "a", "b"))
    record_follow(deal, of_deal)
    record_follow(acme, of_acme)
    record_follow(deal, of_both)
    record_follow(acme, of_both)
    Notification.objects.all().delete()

    email = import_one(mailbox, customer_mail(headers={"In-Reply-To": message_id_new(parent=deal)}))

    note = Note.objects.get(type=Note.Type.EMAIL_RECEIVED)
    assert (note.parent, note.super_parent, note.related) == (deal, acme, email)
    assert list(stream_for(acme, owner).filter(type=Note.Type.EMAIL_RECEIVED)) == [note]
    assert list(stream_for(deal, owner).filter(type=Note.Type.EMAIL_RECEIVED)) == [note]
    assert told(of_deal) == [("note", "opportunity")]
    assert told(of_acme) == [("note", "account")]
    assert told(of_both) == [("note", "opportunity")]


def test_team_level_follower_is_told_only_about_mail_of_their_team(
    make_user, acme, ayse, team, other_team, quiet_owner
):
    quiet = GroupEmailAccount.objects.create(name="Quiet", email_address="quiet@postaci.example")
    quiet.teams.set([team])  # the email belongs to Sales, nobody is given a copy
    same = make_user("same", level="team", teams=[team])
    other = make_user("other", level="team", teams=[other_team])
    for user in (same, other):
        record_follow(acme, user)

    import_one(quiet, customer_mail())

    assert told(same) == [("note", "account")]
    assert told(other) == []


def test_new_recipients_are_told_unless_they_follow_sent_it_or_silenced_it(
    mailbox, make_user, team, acme, ayse, quiet_owner
):
    plain, follower, sender, muted, reader = (
        make_user(name, level="own", teams=[team])
        for name in ("plain", "follower", "sender", "muted", "reader")
    )
    record_follow(acme, follower)
    save_filter(user=muted, subject_pattern="*", no_notification=True)
    save_filter(user=reader, subject_pattern="*", mark_as_read=True)

    email = import_one(
        mailbox,
        customer_mail(
            subject="Hi", sender="sender@example.com", to="ayse@acme.example, sales@postaci.example"
        ),
    )

    assert told(plain) == [("email_received", "email")]
    assert told(follower) == [("note", "account")]  # one, through following
    assert told(sender) == told(muted) == told(reader) == []
    notification = Notification.objects.get(user=plain)
    assert notification.note.related == email  # the stream entry to open
    assert notification.data["subject"] == "Hi"


def test_recipients_are_told_about_mail_without_a_parent(mailbox, make_user, team):
    agent = make_user("agent", level="own", teams=[team])
    email = import_one(mailbox, customer_mail(sender="stranger@nowhere.example"))
    assert email.parent_id is None
    assert told(agent) == [("email_received", "email")]
    assert not Note.objects.filter(related_id=email.pk, type=Note.Type.EMAIL_RECEIVED).exists()


def test_same_email_through_a_second_mailbox_tells_nobody_twice(
    mailbox, make_user, team, other_team, acme, ayse, quiet_owner
):
    agent = make_user("agent", level="own", teams=[team])
    follower = make_user("follower", level="all", teams=[other_team])
    record_follow(acme, follower)
    newcomer = make_user("newcomer", level="own", teams=[other_team])
    second = GroupEmailAccount.objects.create(
        name="Support", email_address="support@postaci.example", for_all_team_users=True
    )
    second.teams.set([team, other_team])
    raw = customer_mail(to="sales@postaci.example, support@postaci.example")

    import_one(mailbox, raw)
    import_one(second, raw)

    assert told(agent) == [("email_received", "email")]
    assert told(follower) == [("note", "account")]
    assert told(newcomer) == [("email_received", "email")]  # newly given it by the second
    assert Note.objects.filter(type=Note.Type.EMAIL_RECEIVED).count() == 1


def test_backfill_writes_notes_and_tells_nobody(mailbox, make_user, team, acme, ayse, quiet_owner):
    agent = make_user("agent", level="all", teams=[team])
    record_follow(acme, agent)

    email = import_one(mailbox, customer_mail(), notify=False)

    assert Note.objects.filter(related_id=email.pk, type=Note.Type.EMAIL_RECEIVED).count() == 1
    assert not Notification.objects.exists()


def test_mail_our_user_sent_is_an_email_sent_note_by_them(
    mailbox, make_user, team, acme, quiet_owner
):
    rep = make_user("rep", level="all", teams=[team])
    record_follow(acme, rep)
    import_one(mailbox, make_message(sender="rep@example.com", to="info@acme.example"))
    note = Note.objects.get(type__in=Note.EMAIL_TYPES)
    assert (note.type, note.author, note.parent) == (Note.Type.EMAIL_SENT, rep, acme)
    assert told(rep) == []


def test_new_case_tells_the_assignee_once_and_its_note_shows_only_the_new_text(
    make_user, team, acme, ayse, quiet_owner
):
    agent = make_user("agent", level="team", teams=[team])
    watcher = make_user("watcher", level="all")
    record_follow(acme, watcher)
    support = GroupEmailAccount.objects.create(
        name="Support",
        email_address="support@postaci.example",
        create_case=True,
        target_team=team,
        case_distribution=CaseDistribution.DIRECT,
        assign_to_user=agent,
    )
    support.teams.set([team])
    body = (
        "The printer prints blank pages.\n\nOn Mon, 1 Jan 2024, Ali <ali@x.example> wrote:\n> old\n"
    )

    email = import_one(support, customer_mail(to="support@postaci.example", body=body))

    case = Case.objects.get()
    assert (email.parent, case.account) == (case, acme)
    assert told(agent) == [("assigned", "case")]
    assert told(watcher) == [("note", "account")]
    note = Note.objects.get(type=Note.Type.EMAIL_RECEIVED)
    assert (note.parent, note.super_parent) == (case, acme)
    assert note.body == "The printer prints blank pages."
    assert note.data["is_initial"] is True


def test_reply_joining_a_case_tells_its_assignee_through_following(
    make_user, team, acme, ayse, quiet_owner
):
    agent = make_user("agent", level="own")
    support = GroupEmailAccount.objects.create(
        name="Support",
        email_address="support@postaci.example",
        create_case=True,
        target_team=team,
        case_distribution=CaseDistribution.DIRECT,
        assign_to_user=agent,
    )
    first = import_one(support, customer_mail(to="support@postaci.example"))
    Notification.objects.all().delete()

    import_one(
        support,
        customer_mail(to="support@postaci.example", headers={"In-Reply-To": first.message_id}),
    )

    assert told(agent) == [("note", "case")]


def test_email_sent_note_tells_followers_but_not_the_sender_and_is_written_once(
    make_user, make_record, owner, acme, quiet_owner
):
    sender, follower = make_user("sender", level="all"), make_user("follower", level="all")
    for user in (sender, follower):
        record_follow(acme, user)
    email = Email.objects.create(
        message_id=message_id_new(parent=acme),
        subject="Our offer",
        status=Email.Status.SENT,
        sent_by=sender,
        parent_type=ContentType.objects.get_for_model(acme),
        parent_id=acme.pk,
        account=acme,
    )

    note = note_email_sent(email)
    assert note_email_sent(email) is None

    assert (note.type, note.author, note.parent) == (Note.Type.EMAIL_SENT, sender, acme)
    assert told(follower) == [("note", "account")]
    assert told(sender) == []


@pytest.mark.parametrize("size", [5, 50])
def test_notify_step_runs_a_bounded_number_of_queries(
    size, mailbox, make_user, make_record, team, owner, acme, ayse, django_assert_max_num_queries
):
    deal = make_record("opportunity", owner, name="Deal", account=acme)
    for i in range(4):
        user = make_user(f"agent{i}", level=("own", "team", "all")[i % 3], teams=[team])
        record_follow(acme if i % 2 else deal, user)
    followers = [make_user(f"f{i}", level="all") for i in range(3)]
    for user in followers:
        record_follow(acme, user)
    senders = ["ayse@acme.example", "info@acme.example", "x@unknown.example"]
    raws = [
        customer_mail(
            sender=senders[i % 3],
            headers={"In-Reply-To": message_id_new(parent=deal)} if i % 4 == 0 else {},
        )
        for i in range(size)
    ]
    with transaction.atomic():
        batch = contexts_before(mailbox, raws, "notify")
        # notes, followers, 3 for roles and teams, copies, email teams, the users' notification
        # preferences, notifications, and a content type the first time (SQLite splits bulk
        # inserts into chunks of at most 999 parameters: a few more there)
        with django_assert_max_num_queries(10 if connection.vendor == "postgresql" else 15):
            notify_batch(batch)
    linked = len([i for i in range(size) if i % 3 != 2 or i % 4 == 0])
    assert Note.objects.filter(type=Note.Type.EMAIL_RECEIVED).count() == linked
    assert Notification.objects.filter(user=followers[0]).count() == linked


def test_memberships_do_not_matter_for_admins(mailbox, make_user, acme, ayse, quiet_owner):
    admin = make_user("boss", admin=True)
    record_follow(acme, admin)
    import_one(mailbox, customer_mail())
    assert told(admin) == [("note", "account")]
    assert not TeamMembership.objects.filter(user=admin).exists()


def test_one_batch_of_many_messages_notes_each_once(mailbox, acme, ayse):
    raws = [customer_mail() for _ in range(3)]
    assert import_messages(mailbox, *raws, raws[0]) == ["imported"] * 3 + ["duplicates"]
    assert Note.objects.filter(type=Note.Type.EMAIL_RECEIVED).count() == 3
