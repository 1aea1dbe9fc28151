"""Who sees which record on the record screens: own, team, all and no access levels."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import Account, Contact
from tests.crm.conftest import RECORD_MODELS, role_with

KINDS = list(RECORD_MODELS)


def detail(record) -> str:
    return record.get_absolute_url()


def list_url(kind: str) -> str:
    return reverse(f"crm:{kind}-list")


def listed_ids(response) -> set[int]:
    return {record.pk for record in response.context["object_list"]}


@pytest.mark.parametrize("kind", KINDS)
def test_own_level_sees_own_records_only(kind, make_user, make_record, logged_in):
    me = make_user("me", level="own")
    stranger = make_user("stranger", level="own")
    mine = make_record(kind, me)
    assigned_to_me = make_record(kind, stranger, assigned_user=me)
    theirs = make_record(kind, stranger)
    client = logged_in(me)

    assert client.get(detail(mine)).status_code == 200
    assert client.get(detail(assigned_to_me)).status_code == 200
    assert client.get(detail(theirs)).status_code == 404
    assert listed_ids(client.get(list_url(kind))) == {mine.pk, assigned_to_me.pk}


@pytest.mark.parametrize("kind", KINDS)
def test_team_level_sees_records_of_own_teams(
    kind, make_user, make_record, logged_in, team, other_team
):
    me = make_user("me", level="team", teams=[team])
    colleague = make_user("colleague", level="own", teams=[team])
    outsider = make_user("outsider", level="own", teams=[other_team])
    team_record = make_record(kind, colleague, teams=[team])
    other_record = make_record(kind, outsider, teams=[other_team])
    client = logged_in(me)

    assert client.get(detail(team_record)).status_code == 200
    assert client.get(detail(other_record)).status_code == 404
    assert listed_ids(client.get(list_url(kind))) == {team_record.pk}


@pytest.mark.parametrize("kind", KINDS)
def test_all_level_sees_every_record(kind, make_user, make_record, logged_in, other_team):
    me = make_user("me", level="all")
    stranger = make_user("stranger", level="own")
    theirs = make_record(kind, stranger, teams=[other_team])
    client = logged_in(me)

    assert client.get(detail(theirs)).status_code == 200
    assert theirs.pk in listed_ids(client.get(list_url(kind)))


@pytest.mark.parametrize("kind", KINDS)
def test_no_level_sees_nothing_and_cannot_create(kind, make_user, make_record, logged_in):
    me = make_user("me", level="no")
    # even a record assigned to them stays hidden at level "no"
    assigned = make_record(kind, make_user("boss", level="all"), assigned_user=me)
    client = logged_in(me)

    assert client.get(detail(assigned)).status_code == 404
    assert listed_ids(client.get(list_url(kind))) == set()
    assert client.get(reverse(f"crm:{kind}-create")).status_code == 403


@pytest.mark.parametrize("kind", KINDS)
def test_role_given_through_team_applies(kind, make_user, make_record, logged_in, team):
    team.roles.add(role_with("Everything", "all"))
    me = make_user("me", teams=[team])  # no role of their own
    theirs = make_record(kind, make_user("stranger", level="own"))
    client = logged_in(me)

    assert client.get(detail(theirs)).status_code == 200


def test_most_permissive_role_wins(make_user, make_record, logged_in):
    me = make_user("me", level="no", roles=[role_with("Accounts for all", "all")])
    theirs = make_record("account", make_user("stranger", level="own"))

    assert logged_in(me).get(detail(theirs)).status_code == 200


@pytest.mark.parametrize("kind", KINDS)
def test_invisible_record_cannot_be_edited_deleted_or_followed(
    kind, make_user, make_record, logged_in
):
    me = make_user("me", level="own")
    theirs = make_record(kind, make_user("stranger", level="own"))
    client = logged_in(me)
    label = theirs._meta.label_lower

    assert client.get(reverse(f"crm:{kind}-edit", args=[theirs.pk])).status_code == 404
    assert client.post(reverse(f"crm:{kind}-edit", args=[theirs.pk])).status_code == 404
    assert client.post(reverse(f"crm:{kind}-delete", args=[theirs.pk])).status_code == 404
    for name in ("record-follow", "record-unfollow", "record-note"):
        response = client.post(reverse(f"crm:{name}", args=[label, theirs.pk]), {"body": "hi"})
        assert response.status_code == 404
    assert type(theirs).objects.filter(pk=theirs.pk).exists()
    assert not theirs.notes.filter(type="post").exists()


def test_anonymous_user_is_sent_to_login(client, make_record, make_user):
    record = make_record("account", make_user("owner", level="own"))
    response = client.get(detail(record))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_contact_form_offers_only_visible_accounts(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    mine = make_record("account", me, name="Mine Inc")
    hidden = make_record("account", make_user("stranger", level="own"), name="Hidden Ltd")
    client = logged_in(me)

    form = client.get(reverse("crm:contact-create")).context["form"]
    assert list(form.fields["account"].queryset) == [mine]

    response = client.post(
        reverse("crm:contact-create"), {"last_name": "Doe", "account": hidden.pk}
    )
    assert response.status_code == 200
    assert "account" in response.context["form"].errors
    assert not Contact.objects.filter(last_name="Doe").exists()


def test_editing_keeps_an_invisible_related_account(make_user, make_record, logged_in):
    """A contact linked (by someone else) to an account the editor cannot see keeps it."""
    me = make_user("me", level="own")
    hidden = make_record("account", make_user("stranger", level="own"))
    contact = make_record("contact", me, account=hidden, last_name="Doe")
    client = logged_in(me)

    response = client.post(
        reverse("crm:contact-edit", args=[contact.pk]),
        {"last_name": "Doe-Smith", "account": hidden.pk, "assigned_user": me.pk},
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.last_name == "Doe-Smith"
    assert contact.account == hidden
    # and the detail page does not link to the account it may not open
    page = client.get(detail(contact)).content.decode()
    assert hidden.get_absolute_url() not in page


def test_account_panels_list_only_visible_children(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    account = make_record("account", me)
    mine = make_record("contact", me, account=account, last_name="Visible")
    make_record("contact", make_user("stranger", level="own"), account=account, last_name="Nope")

    page = logged_in(me).get(detail(account)).content.decode()
    assert mine.get_absolute_url() in page
    assert "Nope" not in page
    assert Account.objects.count() == 1
