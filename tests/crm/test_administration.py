"""Administration pages: administrators only; users, teams, roles and scheduled jobs."""

from __future__ import annotations

import pytest
from celery import current_app
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from crm.models import Role, Team, TeamMembership, User
from tests.crm.conftest import role_with


@pytest.fixture
def job(db) -> PeriodicTask:
    interval = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(
        name="Poll group accounts",
        task="mailboxes.tasks.poll_group_accounts",
        interval=interval,
        kwargs='{"limit": 5}',
    )


ADMIN_PAGES = [
    ("administration:index", []),
    ("administration:user-list", []),
    ("administration:user-create", []),
    ("administration:user-edit", ["user"]),
    ("administration:team-list", []),
    ("administration:team-create", []),
    ("administration:team-edit", ["team"]),
    ("administration:team-delete", ["team"]),
    ("administration:role-list", []),
    ("administration:role-create", []),
    ("administration:role-edit", ["role"]),
    ("administration:role-delete", ["role"]),
    ("administration:job-list", []),
    ("administration:job-edit", ["job"]),
]


def _args(names, *, user, team, role, job) -> list[int]:
    objects = {"user": user, "team": team, "role": role, "job": job}
    return [objects[name].pk for name in names]


@pytest.mark.parametrize(("name", "arg_names"), ADMIN_PAGES)
def test_non_admin_gets_403(name, arg_names, make_user, logged_in, team, job):
    # even a user whose role gives "all" everywhere is not an administrator
    me = make_user("me", level="all")
    role = Role.objects.get()
    url = reverse(name, args=_args(arg_names, user=me, team=team, role=role, job=job))
    client = logged_in(me)

    assert client.get(url).status_code == 403
    assert client.post(url, {}).status_code == 403


@pytest.mark.parametrize(("name", "arg_names"), ADMIN_PAGES)
def test_admin_opens_every_page(name, arg_names, make_user, logged_in, team, job):
    me = make_user("root", admin=True)
    role = role_with("Sales", "team")
    url = reverse(name, args=_args(arg_names, user=me, team=team, role=role, job=job))
    assert logged_in(me).get(url).status_code == 200


def test_run_now_is_admin_only_and_post_only(make_user, logged_in, job):
    url = reverse("administration:job-run", args=[job.pk])
    assert logged_in(make_user("me", level="all")).post(url).status_code == 403
    assert logged_in(make_user("root", admin=True)).get(url).status_code == 405


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("administration:user-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_administration_menu_shown_to_admins_only(make_user, logged_in):
    admin_page = logged_in(make_user("root", admin=True)).get(reverse("home")).content.decode()
    assert reverse("administration:user-list") in admin_page
    user_page = logged_in(make_user("me", level="all")).get(reverse("home")).content.decode()
    assert reverse("administration:index") not in user_page


def test_admin_creates_user_with_password_roles_and_team_position(
    make_user, logged_in, client, team
):
    role = role_with("Agents", "team")
    admin_client = logged_in(make_user("root", admin=True))

    response = admin_client.post(
        reverse("administration:user-create"),
        {
            "username": "ayse",
            "first_name": "Ayşe",
            "last_name": "Yılmaz",
            "email": "ayse@example.com",
            "is_active": "on",
            "roles": [role.pk],
            "language": "tr",
            "notification_digest": "daily",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
            "teams-TOTAL_FORMS": "2",
            "teams-INITIAL_FORMS": "0",
            "teams-0-team": team.pk,
            "teams-0-position": "Tier 1",
            "teams-1-team": "",
            "teams-1-position": "",
        },
    )

    assert response.status_code == 302, response.context["form"].errors
    user = User.objects.get(username="ayse")
    assert user.check_password("a long enough passphrase")
    assert list(user.roles.all()) == [role]
    assert user.language == "tr" and user.notification_digest == "daily"
    assert not user.is_superuser
    assert TeamMembership.objects.get(user=user).position == "Tier 1"
    client.logout()
    assert client.login(username="ayse", password="a long enough passphrase")


def test_user_create_shows_password_errors_inline(make_user, logged_in):
    response = logged_in(make_user("root", admin=True)).post(
        reverse("administration:user-create"),
        {
            "username": "weak",
            "email": "weak@example.com",
            "notification_digest": "never",
            "password1": "123",
            "password2": "124",
            "teams-TOTAL_FORMS": "0",
            "teams-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "The two passwords do not match." in response.content.decode()
    assert not User.objects.filter(username="weak").exists()


def test_admin_edits_user_without_changing_password(make_user, logged_in):
    user = make_user("bob", level="own")
    response = logged_in(make_user("root", admin=True)).post(
        reverse("administration:user-edit", args=[user.pk]),
        {
            "username": "bob",
            "email": "bob@new.example",
            "is_active": "on",
            "is_superuser": "on",
            "notification_digest": "never",
            "teams-TOTAL_FORMS": "0",
            "teams-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "bob@new.example"
    assert user.is_superuser and user.is_staff
    assert user.check_password("correct horse battery")


def test_admin_cannot_remove_own_admin_flag(make_user, logged_in):
    me = make_user("root", admin=True)
    response = logged_in(me).post(
        reverse("administration:user-edit", args=[me.pk]),
        {
            "username": "root",
            "email": "root@example.com",
            "is_active": "on",
            "notification_digest": "never",
            "teams-TOTAL_FORMS": "0",
            "teams-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    me.refresh_from_db()
    assert me.is_superuser


def test_admin_edits_team_members_and_roles(make_user, logged_in, team):
    alice = make_user("alice", teams=[team])
    bob = make_user("bob")
    role = role_with("Support", "team")
    membership = TeamMembership.objects.get(user=alice)

    response = logged_in(make_user("root", admin=True)).post(
        reverse("administration:team-edit", args=[team.pk]),
        {
            "name": "Sales EMEA",
            "roles": [role.pk],
            "members-TOTAL_FORMS": "2",
            "members-INITIAL_FORMS": "1",
            "members-0-id": membership.pk,
            "members-0-team": team.pk,
            "members-0-user": alice.pk,
            "members-0-position": "Lead",
            "members-0-DELETE": "on",
            "members-1-team": team.pk,
            "members-1-user": bob.pk,
            "members-1-position": "Tier 2",
        },
    )

    assert response.status_code == 302
    team.refresh_from_db()
    assert team.name == "Sales EMEA"
    assert list(team.roles.all()) == [role]
    assert [(m.user.username, m.position) for m in team.memberships.all()] == [("bob", "Tier 2")]


def test_admin_creates_role_with_every_level(make_user, logged_in):
    response = logged_in(make_user("root", admin=True)).post(
        reverse("administration:role-create"),
        {
            "name": "Support agent",
            "group_email_account": "team",
            "personal_email_accounts": "",
            "email_access": "team",
            "case_access": "all",
            "account_access": "own",
            "contact_access": "own",
            "lead_access": "no",
            "opportunity_access": "no",
        },
    )
    assert response.status_code == 302
    role = Role.objects.get(name="Support agent")
    assert (role.group_email_account, role.personal_email_accounts) == ("team", False)
    assert (role.case_access, role.lead_access, role.email_access) == ("all", "no", "team")


def test_admin_deletes_team(make_user, logged_in, team):
    logged_in(make_user("root", admin=True)).post(
        reverse("administration:team-delete", args=[team.pk])
    )
    assert not Team.objects.filter(pk=team.pk).exists()


def test_job_list_shows_task_schedule_and_state(make_user, logged_in, job):
    body = (
        logged_in(make_user("root", admin=True))
        .get(reverse("administration:job-list"))
        .content.decode()
    )
    assert "Poll group accounts" in body
    assert "mailboxes.tasks.poll_group_accounts" in body
    assert "every 60 seconds" in body
    assert "Enabled" in body


def test_admin_changes_job_interval_and_disables_it(make_user, logged_in, job):
    response = logged_in(make_user("root", admin=True)).post(
        reverse("administration:job-edit", args=[job.pk]),
        {"kind": "interval", "every": "5", "period": "minutes"},
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert not job.enabled
    assert (job.interval.every, job.interval.period) == (5, "minutes")


def test_admin_switches_job_to_crontab(make_user, logged_in, job):
    response = logged_in(make_user("root", admin=True)).post(
        reverse("administration:job-edit", args=[job.pk]),
        {"enabled": "on", "kind": "crontab", "minute": "*/15", "hour": "8-18"},
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.interval is None and job.enabled
    assert (job.crontab.minute, job.crontab.hour, job.crontab.day_of_week) == ("*/15", "8-18", "*")
    assert CrontabSchedule.objects.count() == 1


def test_invalid_crontab_is_refused_inline(make_user, logged_in, job):
    response = logged_in(make_user("root", admin=True)).post(
        reverse("administration:job-edit", args=[job.pk]),
        {"enabled": "on", "kind": "crontab", "minute": "99"},
    )
    assert response.status_code == 200
    assert "minute" in response.context["form"].errors
    job.refresh_from_db()
    assert job.crontab is None


def test_run_now_sends_the_task_with_its_arguments(make_user, logged_in, job, monkeypatch):
    sent = []

    class Result:
        id = "task-id-1"

    def send_task(name, args=None, kwargs=None, **options):
        sent.append((name, args, kwargs, options))
        return Result()

    monkeypatch.setattr(current_app, "send_task", send_task)
    response = logged_in(make_user("root", admin=True)).post(
        reverse("administration:job-run", args=[job.pk]), follow=True
    )

    assert sent == [("mailboxes.tasks.poll_group_accounts", [], {"limit": 5}, {})]
    assert "Poll group accounts was sent to the workers" in response.content.decode()


def test_django_admin_lists_crm_and_beat_models(make_user, logged_in):
    body = logged_in(make_user("root", admin=True)).get("/django-admin/").content.decode()
    for path in (
        "/django-admin/crm/account/",
        "/django-admin/crm/note/",
        "/django-admin/crm/role/",
        "/django-admin/django_celery_beat/periodictask/",
    ):
        assert path in body


def test_run_now_reports_an_unreachable_broker(make_user, logged_in, job, monkeypatch):
    from kombu.exceptions import OperationalError

    def send_task(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(current_app, "send_task", send_task)
    response = logged_in(make_user("root", admin=True)).post(
        reverse("administration:job-run", args=[job.pk]), follow=True
    )
    assert response.status_code == 200
    assert "The task queue is not reachable" in response.content.decode()


def test_role_in_team_suggests_existing_roles_and_is_stored_one_way(
    make_user, logged_in, team, other_team
):
    TeamMembership.objects.create(team=other_team, user=make_user("old"), position="Tier 1")
    member = make_user("new")
    client = logged_in(make_user("root", admin=True))
    page = client.get(reverse("administration:team-edit", args=[team.pk])).content.decode()
    assert 'list="team-positions"' in page
    assert '<datalist id="team-positions"><option value="Tier 1">' in page

    client.post(
        reverse("administration:team-edit", args=[team.pk]),
        {
            "name": team.name,
            "members-TOTAL_FORMS": "1",
            "members-INITIAL_FORMS": "0",
            "members-0-user": member.pk,
            "members-0-position": "  Tier   1 ",
        },
    )
    assert TeamMembership.objects.get(team=team).position == "Tier 1"
