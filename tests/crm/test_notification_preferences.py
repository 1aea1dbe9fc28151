"""Notification preferences: the user's page, a team's defaults, and the kinds crm decides
(mentions, posts on followed records, records assigned)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.models import Case
from crm.models import Notification
from crm.notification_reasons import level_of, notification_preferences_save
from crm.records import record_create, record_update
from crm.stream import note_create, record_follow

pytestmark = pytest.mark.django_db


def kinds(user) -> list[str]:
    return list(Notification.objects.filter(user=user).values_list("reason", flat=True))


def levels_post(**levels) -> dict:
    return {f"notify-{code}": level for code, level in levels.items()}


# --- the user's page ---------------------------------------------------------------------


def test_preferences_page_lists_every_kind_under_its_app_with_the_defaults(make_user, logged_in):
    body = logged_in(make_user("me")).get(reverse("crm:preferences")).content.decode()

    for label in (
        "A case is assigned to me",
        "Email on a case assigned to me",
        "New email on a colleague&#x27;s case, in a group mailbox I&#x27;m on",
        "New email in a group mailbox I&#x27;m on that nobody owns yet",
        "Email on a record I follow",
        "Someone mentions me in a post",
    ):
        assert label in body
    assert (
        'name="notify-case_mail_others" value="off" id="id_notify-case_mail_others_0" checked'
        in body
    )
    assert (
        'name="notify-case_assigned" value="email" id="id_notify-case_assigned_2" checked' in body
    )
    # mail the user has in their inbox anyway is never offered by email
    assert 'name="notify-group_mail" value="email"' not in body
    assert "you can change yours again afterwards" in body


def test_preferences_page_saves_levels_with_the_other_preferences(make_user, logged_in):
    me = make_user("me")
    response = logged_in(me).post(
        reverse("crm:preferences"),
        {
            "first_name": "Me",
            "email": "me@example.com",
            "notification_digest": "daily",
            **levels_post(case_mail_others="bell", mention="bell", group_mail="off"),
        },
    )

    assert response.status_code == 302
    me.refresh_from_db()
    assert me.notification_digest == "daily"
    assert me.notification_preferences == {
        "case_mail_others": "bell",
        "mention": "bell",
        "group_mail": "off",
    }


def test_a_level_a_kind_does_not_offer_is_refused(make_user, logged_in):
    me = make_user("me")
    response = logged_in(me).post(
        reverse("crm:preferences"),
        {
            "email": "me@example.com",
            "notification_digest": "never",
            **levels_post(group_mail="email"),
        },
    )

    assert response.status_code == 200
    assert "notification-levels" in response.content.decode()
    me.refresh_from_db()
    assert me.notification_preferences == {}


# --- a team's defaults ---------------------------------------------------------------------


def test_only_administrators_see_team_notification_defaults(make_user, logged_in, team):
    url = reverse("administration:team-notifications", args=[team.pk])
    assert logged_in(make_user("agent", teams=[team])).get(url).status_code == 403
    assert logged_in(make_user("boss", admin=True)).get(url).status_code == 200


def test_administrator_gives_team_defaults_and_members_may_change_theirs_afterwards(
    make_user, logged_in, team, other_team
):
    ali = make_user("ali", teams=[team])
    notification_preferences_save(ali, {"record_activity": "off"})
    outsider = make_user("outsider", teams=[other_team])
    admin = logged_in(make_user("boss", admin=True))
    url = reverse("administration:team-notifications", args=[team.pk])

    admin.post(url, {"save": "", **levels_post(case_mail_others="bell", followed_mail="bell")})
    ali.refresh_from_db()
    assert ali.notification_preferences == {"record_activity": "off"}  # saved, not given yet

    response = admin.post(url, {"apply": ""})  # the saved levels, given to every member
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.notification_defaults == {"case_mail_others": "bell", "followed_mail": "bell"}
    ali.refresh_from_db()
    outsider.refresh_from_db()
    assert ali.notification_preferences == team.notification_defaults  # theirs replaced
    assert outsider.notification_preferences == {}

    response = logged_in(ali).post(
        reverse("crm:preferences"),
        {"email": ali.email, "notification_digest": "never", **levels_post(case_mail_others="off")},
    )
    assert response.status_code == 302
    ali.refresh_from_db()
    assert level_of(ali.notification_preferences, "case_mail_others") == "off"


def test_team_page_says_members_keep_the_last_word(make_user, logged_in, team):
    make_user("ali", teams=[team])
    body = (
        logged_in(make_user("boss", admin=True))
        .get(reverse("administration:team-notifications", args=[team.pk]))
        .content.decode()
    )
    assert "members may change their own afterwards" in body
    assert "Save and give to the 1 member" in body


# --- mentions ----------------------------------------------------------------------------


def test_mention_tells_a_user_who_may_see_the_record_and_nobody_who_may_not(make_user, make_record):
    author = make_user("author", level="all", first_name="Ann")
    reader = make_user("Deniz.K", level="all")
    outsider = make_user("outsider", level="own")  # may not see the author's account
    acme = make_record("account", author, name="Acme")

    note_create(parent=acme, author=author, body="@deniz.k and @outsider: call them, please.")

    assert kinds(reader) == ["mention"]
    assert kinds(outsider) == []


def test_addresses_and_the_author_are_no_mentions(make_user, make_record):
    author = make_user("author", level="all")
    ali = make_user("ali", level="all")
    acme = make_record("account", author, name="Acme")

    note_create(parent=acme, author=author, body="Write to ali@example.com, cc @author")

    assert kinds(ali) == [] and kinds(author) == []


def test_mentioned_follower_is_told_once_as_a_mention(make_user, make_record):
    author = make_user("author", level="all")
    ali = make_user("ali", level="all")
    acme = make_record("account", author, name="Acme")
    record_follow(acme, ali)

    note_create(parent=acme, author=author, body="@ali see this")

    assert kinds(ali) == ["mention"]


def test_mention_turned_off_leaves_the_follower_news(make_user, make_record):
    author = make_user("author", level="all")
    follower, other = make_user("follower", level="all"), make_user("other", level="all")
    notification_preferences_save(follower, {"mention": "off"})
    notification_preferences_save(other, {"mention": "off"})
    acme = make_record("account", author, name="Acme")
    record_follow(acme, follower)

    note_create(parent=acme, author=author, body="@follower @other see this")

    assert kinds(follower) == ["record_activity"]
    assert kinds(other) == []


def test_mention_through_the_stream_form(make_user, make_record, logged_in):
    author = make_user("author", level="all")
    ali = make_user("ali", level="all")
    acme = make_record("account", author, name="Acme")

    logged_in(author).post(
        reverse("crm:record-note", args=["crm.account", acme.pk]), {"body": "@ali please call"}
    )

    assert kinds(ali) == ["mention"]


# --- records and cases assigned, posts on followed records ------------------------------------


def test_followers_who_turned_record_activity_off_hear_nothing_of_posts(make_user, make_record):
    author = make_user("author", level="all")
    quiet, loud = make_user("quiet", level="all"), make_user("loud", level="all")
    notification_preferences_save(quiet, {"record_activity": "off"})
    acme = make_record("account", author, name="Acme")
    for user in (quiet, loud):
        record_follow(acme, user)

    note_create(parent=acme, author=author, body="News")

    assert kinds(quiet) == [] and kinds(loud) == ["record_activity"]


def test_assigning_a_case_by_hand_is_a_case_assignment_and_can_be_turned_off(make_user):
    boss = make_user("boss", level="all")
    ali, cem = make_user("ali", level="own"), make_user("cem", level="own")
    notification_preferences_save(cem, {"case_assigned": "off"})
    case = record_create(Case(name="Printer"), user=boss)

    case.assigned_user = ali
    record_update(case, user=boss, changed=["assigned_user"])
    case.assigned_user = cem
    record_update(case, user=boss, changed=["assigned_user"])

    assert kinds(ali) == ["case_assigned"]
    assert kinds(cem) == []


def test_assigning_an_account_is_a_record_assignment(make_user, make_record):
    boss, ali = make_user("boss", level="all"), make_user("ali", level="own")
    make_record("account", boss, assigned_user=ali)
    assert kinds(ali) == ["record_assigned"]
