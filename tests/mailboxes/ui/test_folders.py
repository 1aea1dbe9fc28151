"""Which emails each folder lists, the unread counts, and what a user may not open."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.access import access_level
from crm.addresses import record_set_addresses
from mailboxes.inbox.pagination import serial_query
from mailboxes.inbox.selectors import UserMailbox, folder_emails, folder_unread_counts
from mailboxes.models import Email, EmailFolder, EmailUser, GroupEmailFolder

pytestmark = pytest.mark.django_db


def listed(user, key: str) -> list[str]:
    mailbox = UserMailbox.of(user)
    return list(folder_emails(mailbox, mailbox.resolve(key)).values_list("subject", flat=True))


def subjects(response) -> list[str]:
    return [e.subject for e in response.context["page_obj"].object_list]


def test_inbox_holds_received_mail_only(make_user, make_email):
    ayse = make_user("ayse")
    projects = EmailFolder.objects.create(user=ayse, name="Projects")
    make_email(users=[ayse], subject="plain")
    make_email(users=[ayse], subject="filed").email_users.update(folder=projects)
    make_email(users=[ayse], subject="archived").email_users.update(in_archive=True)
    make_email(users=[ayse], subject="trashed").email_users.update(in_trash=True)
    make_email(users=[ayse], subject="mine", sender="ayse@example.com")
    make_email(users=[ayse], subject="draft", status=Email.Status.DRAFT, created_by=ayse)
    make_email(users=[], subject="not hers")

    assert listed(ayse, "inbox") == ["plain"]
    assert listed(ayse, f"f{projects.pk}") == ["filed"]
    assert listed(ayse, "archive") == ["archived"]
    assert listed(ayse, "trash") == ["trashed"]
    assert listed(ayse, "sent") == ["mine"]
    assert listed(ayse, "drafts") == ["draft"]


def test_sent_knows_every_address_of_the_user_and_what_they_sent(make_user, make_email):
    ayse = make_user("ayse")
    record_set_addresses(ayse, ["ayse.yilmaz@corp.example"])
    make_email(users=[ayse], subject="from linked address", sender="ayse.yilmaz@corp.example")
    make_email(users=[ayse], subject="sent through the app", sent_by=ayse, status="sent")
    make_email(users=[ayse], subject="a reply to her")
    assert sorted(listed(ayse, "sent")) == ["from linked address", "sent through the app"]
    assert listed(ayse, "inbox") == ["a reply to her"]


def test_drafts_are_their_authors_only(make_user, make_email):
    ayse, bora = make_user("ayse", level="all"), make_user("bora")
    make_email(users=[], subject="bora's draft", status=Email.Status.DRAFT, created_by=bora)
    assert listed(ayse, "drafts") == []
    assert listed(bora, "drafts") == ["bora's draft"]
    assert "bora's draft" not in listed(ayse, "all")


def test_important_lists_starred_mail_wherever_it_is_filed(make_user, make_email):
    ayse = make_user("ayse")
    make_email(users=[ayse], subject="starred").email_users.update(is_important=True)
    make_email(users=[ayse], subject="starred archived").email_users.update(
        is_important=True, in_archive=True
    )
    make_email(users=[ayse], subject="starred trashed").email_users.update(
        is_important=True, in_trash=True
    )
    assert sorted(listed(ayse, "important")) == ["starred", "starred archived"]


def test_group_folder_mail_is_in_the_folder_for_its_team_and_in_the_inbox_of_others(
    make_user, make_email, team
):
    support = GroupEmailFolder.objects.create(name="Support")
    support.teams.add(team)
    member, outsider = make_user("member", teams=[team]), make_user("outsider")
    make_email(users=[member, outsider], subject="ticket", group_folder=support)

    assert listed(member, f"g{support.pk}") == ["ticket"]
    assert listed(member, "inbox") == []
    # the folder is not hers to see: the email (addressed to her) stays in her Inbox
    assert listed(outsider, "inbox") == ["ticket"]
    with pytest.raises(Exception, match="No such folder"):
        UserMailbox.of(outsider).resolve(f"g{support.pk}")


def test_all_emails_follow_the_role_level(make_user, make_email, team):
    teammate = make_user("teammate", level="team", teams=[team])
    owner_only = make_user("loner", level="own", teams=[team])
    make_email(users=[], subject="team mail", teams=[team])
    make_email(users=[], subject="other team mail")
    assert listed(teammate, "all") == ["team mail"]
    assert listed(owner_only, "all") == []
    assert listed(make_user("boss", admin=True), "all") == ["other team mail", "team mail"]


def test_unread_counts_per_folder(make_user, make_email, team):
    ayse = make_user("ayse", teams=[team])
    projects = EmailFolder.objects.create(user=ayse, name="Projects")
    support = GroupEmailFolder.objects.create(name="Support")
    support.teams.add(team)
    make_email(users=[ayse])
    make_email(users=[ayse]).email_users.update(is_important=True)
    make_email(users=[ayse], read=True)
    make_email(users=[ayse]).email_users.update(folder=projects)
    make_email(users=[ayse]).email_users.update(in_trash=True)
    make_email(users=[ayse], group_folder=support)
    make_email(users=[ayse], group_folder=support)
    make_email(users=[ayse], sender="ayse@example.com")  # her own: Sent, never unread Inbox

    counts = folder_unread_counts(UserMailbox.of(ayse))
    assert counts == {
        "inbox": 2,
        "important": 1,
        f"f{projects.pk}": 1,
        f"g{support.pk}": 2,
    }


def test_folder_pane_shows_the_counts(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    make_email(users=[ayse])
    make_email(users=[ayse])
    response = logged_in(ayse).get(reverse("mailboxes:inbox"))
    assert b'data-testid="unread-inbox"' in response.content
    assert response.context["inbox_unread"] == 2
    assert b"<title>(2) Inbox" in response.content


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_inbox_page_needs_the_same_queries_for_many_folders_and_emails(
    make_user, make_email, logged_in, team, make_record
):
    ayse = make_user("ayse", teams=[team])
    client = logged_in(ayse)
    account = make_record("account", ayse, name="Acme")
    make_email(users=[ayse], parent=account)
    EmailFolder.objects.create(user=ayse, name="one")
    GroupEmailFolder.objects.create(name="g-one").teams.add(team)
    url = reverse("mailboxes:inbox")
    client.get(url)  # warm caches (content types)
    few = _queries(client, url)

    for n in range(10):
        EmailFolder.objects.create(user=ayse, name=f"folder {n}")
        GroupEmailFolder.objects.create(name=f"group {n}").teams.add(team)
    for n in range(40):
        email = make_email(users=[ayse], parent=account, cc=("x@example.com",))
        if n % 3 == 0:
            folder = EmailFolder.objects.filter(user=ayse).order_by("?").first()
            email.email_users.update(folder=folder)
    assert _queries(client, url) == few
    assert _queries(client, reverse("mailboxes:folder", args=["sent"])) <= few + 1


def test_unread_counts_are_one_query(make_user, make_email, team):
    ayse = make_user("ayse", teams=[team])
    for n in range(5):
        EmailFolder.objects.create(user=ayse, name=f"f{n}")
        GroupEmailFolder.objects.create(name=f"g{n}").teams.add(team)
        make_email(users=[ayse])
    mailbox = UserMailbox.of(ayse)
    access_level(ayse, "email")  # the role lookup, cached for the request
    _ = mailbox.own_address_ids  # the user's addresses, read once for the request
    # as the list reads them, with its page (no parallel workers)
    with serial_query(), CaptureQueriesContext(connection) as queries:
        folder_unread_counts(mailbox)
    assert len(queries) == 1


def test_folders_of_others_answer_404(make_user, logged_in, team):
    ayse, bora = make_user("ayse"), make_user("bora")
    theirs = EmailFolder.objects.create(user=bora, name="Bora's")
    hidden_group = GroupEmailFolder.objects.create(name="Hidden")
    hidden_group.teams.add(team)
    client = logged_in(ayse)
    assert client.get(reverse("mailboxes:folder", args=[f"f{theirs.pk}"])).status_code == 404
    assert client.get(reverse("mailboxes:folder", args=[f"g{hidden_group.pk}"])).status_code == 404
    assert client.get(reverse("mailboxes:folder", args=["nonsense"])).status_code == 404
    assert client.get(reverse("mailboxes:folder-edit", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("mailboxes:folder-delete", args=[theirs.pk])).status_code == 404
    assert EmailFolder.objects.filter(pk=theirs.pk).exists()


def test_emails_pages_need_a_login(client):
    response = client.get(reverse("mailboxes:inbox"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_user_without_email_access_sees_nothing(make_user, make_email, logged_in):
    cut_off = make_user("cutoff", level="no")
    make_email(users=[cut_off], subject="addressed to her")
    response = logged_in(cut_off).get(reverse("mailboxes:inbox"))
    assert subjects(response) == []
    assert EmailUser.objects.filter(user=cut_off).exists()


def test_admin_outside_a_group_accounts_teams_reads_its_mail_under_group_mailboxes(
    make_user, make_email, logged_in, team, other_team
):
    from mailboxes.models import GroupEmailAccount

    support = GroupEmailAccount.objects.create(name="Support", email_address="support@example.test")
    support.teams.set([team])
    sales = GroupEmailAccount.objects.create(name="Sales box", email_address="sales@example.test")
    sales.teams.set([other_team])
    agent = make_user("agent", teams=[team], level="team")
    admin = make_user("root", admin=True)
    make_email(users=[agent], teams=[team], accounts=[support], subject="Printer broken")
    make_email(users=[], teams=[other_team], accounts=[sales], subject="Price list")

    client = logged_in(admin)
    inbox = client.get(reverse("mailboxes:inbox"))
    assert subjects(inbox) == []  # not in the teams: no Inbox rows
    pane = inbox.content.decode()
    assert "Group mailboxes" in pane
    assert f'data-folder="m{support.pk}"' in pane and f'data-folder="m{sales.pk}"' in pane
    assert subjects(client.get(reverse("mailboxes:folder", args=[f"m{support.pk}"]))) == [
        "Printer broken"
    ]

    # a team-level agent reads the mailboxes of their own teams only
    assert [f.key for f in UserMailbox.of(agent).folders() if f.kind == "mailbox"] == [
        f"m{support.pk}"
    ]
    assert listed(agent, f"m{support.pk}") == ["Printer broken"]
    response = logged_in(agent).get(reverse("mailboxes:folder", args=[f"m{sales.pk}"]))
    assert response.status_code == 404
    # below the team level: no group mailboxes at all
    assert not UserMailbox.of(make_user("own", level="own")).mailboxes
