"""Personal and group email accounts in the web UI, against the test Dovecot."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Role, TeamMembership
from mailboxes.models import (
    Email,
    EmailFolder,
    FolderCursor,
    GroupEmailAccount,
    MailAccount,
    PersonalEmailAccount,
    RawMessage,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def account_data(dovecot, imap_user, **overrides) -> dict:
    data = {
        "name": "My mailbox",
        "email_address": imap_user.email,
        "status": "active",
        "use_imap": "on",
        "imap_host": dovecot.host,
        "imap_port": dovecot.imap_port,
        "imap_security": "none",
        "imap_username": imap_user.username,
        "imap_password": imap_user.password,
        "monitored_folders": ["INBOX"],
        "smtp_port": 587,
        "smtp_security": "starttls",
        # group accounts only (a personal account's form ignores them)
        "auto_reply_sender_limit": 5,
        "auto_reply_case_limit": 1,
        "auto_reply_period_minutes": 120,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_user_adds_a_personal_account_after_testing_the_connection(
    make_user, logged_in, dovecot, imap_user
):
    ayse = make_user("ayse")
    dovecot.create_folder(imap_user, "Projects/2025")
    client = logged_in(ayse)
    url = reverse("mailboxes:personal-account-create")
    assert client.get(url).status_code == 200

    # "Test connection" without JavaScript: the form comes back with the server's folders
    tested = client.post(url, {**account_data(dovecot, imap_user), "_action": "test"})
    assert tested.status_code == 200
    connection = tested.context["connection"]
    assert connection.ok and "Projects/2025" in connection.folders
    page = tested.content.decode()
    assert 'value="Projects/2025"' in page and "Connected." in page
    assert "This field is required" not in page
    assert not PersonalEmailAccount.objects.exists()

    response = client.post(
        url,
        account_data(
            dovecot,
            imap_user,
            monitored_folders=["INBOX", "Projects/2025"],
            known_folders=tested.context["form"]["known_folders"].value(),
        ),
    )
    account = PersonalEmailAccount.objects.get()
    assert response.status_code == 302 and response["Location"] == account.get_absolute_url()
    assert account.owner == ayse
    assert account.monitored_folders == ["INBOX", "Projects/2025"]
    assert account.imap_password == imap_user.password
    assert (
        imap_user.password
        not in client.get(
            reverse("mailboxes:personal-account-edit", args=[account.pk])
        ).content.decode()
    )


def test_connection_test_by_htmx_returns_the_folder_picker(
    make_user, logged_in, dovecot, imap_user
):
    client = logged_in(make_user("ayse"))
    response = client.post(
        reverse("mailboxes:personal-account-test-new"), account_data(dovecot, imap_user), **HTMX
    )
    page = response.content.decode()
    assert 'id="folder-picker"' in page and 'data-testid="connection-result"' in page
    for folder in ("INBOX", "Sent", "Trash", "Archive"):
        assert f'value="{folder}"' in page
    assert 'value="INBOX" ' in page and "checked" in page


@pytest.mark.parametrize(
    ("overrides", "code", "title"),
    [
        ({"imap_password": "wrong"}, "auth", "Wrong user name or password"),
        ({"imap_host": "no-such-host.invalid"}, "dns", "Host not found"),
        ({"imap_host": "10.255.255.1"}, "host_not_allowed", "Host not allowed"),
        ({"imap_security": "ssl"}, "tls", "Secure connection failed"),
    ],
)
def test_connection_errors_in_plain_words(
    make_user, logged_in, dovecot, imap_user, overrides, code, title
):
    client = logged_in(make_user("ayse"))
    response = client.post(
        reverse("mailboxes:personal-account-test-new"),
        account_data(dovecot, imap_user, **overrides),
        **HTMX,
    )
    result = response.context["connection"]
    assert (result.ok, result.code, result.title) == (False, code, title)
    assert title in response.content.decode()


def test_refused_port_is_reported(make_user, logged_in, dovecot, imap_user):
    from tests.servers.ports import free_port

    client = logged_in(make_user("ayse"))
    response = client.post(
        reverse("mailboxes:personal-account-test-new"),
        account_data(dovecot, imap_user, imap_port=free_port()),
        **HTMX,
    )
    assert response.context["connection"].code == "refused"


def test_private_host_cannot_be_saved(make_user, logged_in, dovecot, imap_user):
    client = logged_in(make_user("ayse"))
    response = client.post(
        reverse("mailboxes:personal-account-create"),
        account_data(dovecot, imap_user, imap_host="192.168.1.20"),
    )
    assert response.status_code == 200
    assert "points to a private or loopback address" in response.content.decode()
    assert not PersonalEmailAccount.objects.exists()


def test_test_connection_on_edit_uses_the_stored_password(
    make_user, logged_in, dovecot, imap_user, make_personal_account
):
    ayse = make_user("ayse")
    account = make_personal_account(ayse, imap_user)
    client = logged_in(ayse)
    data = account_data(dovecot, imap_user, imap_password="")
    response = client.post(
        reverse("mailboxes:personal-account-test", args=[account.pk]), data, **HTMX
    )
    assert response.context["connection"].ok
    # and saving with the password left empty keeps it
    client.post(
        reverse("mailboxes:personal-account-edit", args=[account.pk]), {**data, "name": "Renamed"}
    )
    account.refresh_from_db()
    assert account.name == "Renamed" and account.imap_password == imap_user.password


def test_detail_page_test_button_reports_in_a_message(
    make_user, logged_in, make_personal_account, imap_user
):
    ayse = make_user("ayse")
    account = make_personal_account(ayse, imap_user)
    response = logged_in(ayse).post(
        reverse("mailboxes:personal-account-test", args=[account.pk]), follow=True
    )
    assert "Connected. The server has 6 folders." in response.content.decode()


def test_folder_map_and_put_in_folder_are_saved(
    make_user, logged_in, dovecot, imap_user, make_personal_account
):
    ayse = make_user("ayse")
    work = EmailFolder.objects.create(user=ayse, name="Work")
    news = EmailFolder.objects.create(user=ayse, name="News")
    theirs = EmailFolder.objects.create(user=make_user("bora"), name="Bora's")
    account = make_personal_account(ayse, imap_user, monitored_folders=["INBOX", "Archive"])
    client = logged_in(ayse)
    url = reverse("mailboxes:personal-account-edit", args=[account.pk])
    page = client.get(url).content.decode()
    assert 'name="folder_map_folder" value="Archive"' in page
    data = account_data(
        dovecot,
        imap_user,
        imap_password="",
        monitored_folders=["INBOX", "Archive"],
        put_in_folder=work.pk,
        folder_map_folder=["INBOX", "Archive"],
        folder_map_target=["", str(news.pk)],
    )
    client.post(url, data)
    account.refresh_from_db()
    assert account.put_in_folder == work and account.folder_map == {"Archive": news.pk}

    bad = client.post(url, {**data, "folder_map_target": ["", str(theirs.pk)]})
    assert bad.status_code == 200 and "Choose one of the owner" in bad.content.decode()
    bad = client.post(url, {**data, "put_in_folder": theirs.pk})
    assert bad.status_code == 200
    account.refresh_from_db()
    assert account.folder_map == {"Archive": news.pk} and account.put_in_folder == work


def test_another_users_personal_account_answers_404(
    make_user, logged_in, make_personal_account, imap_user
):
    ayse, bora = make_user("ayse"), make_user("bora")
    account = make_personal_account(bora, imap_user)
    client = logged_in(ayse)
    for name in ("detail", "edit", "delete"):
        url = reverse(f"mailboxes:personal-account-{name}", args=[account.pk])
        assert client.get(url).status_code == 404, name
    for name in ("fetch", "reset", "test", "delete", "edit"):
        url = reverse(f"mailboxes:personal-account-{name}", args=[account.pk])
        assert client.post(url, {"since": "2024-01-01", "name": "x"}).status_code == 404, name
    assert (
        account.name not in client.get(reverse("mailboxes:personal-account-list")).content.decode()
    )
    account.refresh_from_db()
    assert PersonalEmailAccount.objects.filter(pk=account.pk).exists()


def test_group_account_pages_are_for_administrators(
    make_user, logged_in, make_group_account, imap_user
):
    account = make_group_account(imap_user)
    client = logged_in(make_user("ayse"))
    urls = [
        reverse("mailboxes:group-account-list"),
        reverse("mailboxes:group-account-create"),
        reverse("mailboxes:group-account-detail", args=[account.pk]),
        reverse("mailboxes:group-account-edit", args=[account.pk]),
        reverse("mailboxes:group-account-delete", args=[account.pk]),
        reverse("mailboxes:admin-personal-account-list"),
        reverse("mailboxes:group-folder-list"),
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
    for name in ("fetch", "reset", "test"):
        url = reverse(f"mailboxes:group-account-{name}", args=[account.pk])
        assert client.post(url).status_code == 403, name
    assert client.post(reverse("mailboxes:group-account-test-new")).status_code == 403


def test_admin_creates_a_group_account_for_a_team(make_user, logged_in, dovecot, imap_user, team):
    admin = make_user("root", admin=True)
    client = logged_in(admin)
    page = client.get(reverse("mailboxes:group-account-create")).content.decode()
    for panel in ("Main", "Teams", "IMAP", "Folders", "SMTP", "Email-to-case", "Auto-reply"):
        assert f">{panel}</h2>" in page
    response = client.post(
        reverse("mailboxes:group-account-create"),
        account_data(
            dovecot,
            imap_user,
            name="Support",
            teams=[team.pk],
            for_all_team_users="on",
            case_distribution="round_robin",
            auto_reply="on",
            auto_reply_subject="We got your message",
            exclude_from_reply="on",
        ),
    )
    account = GroupEmailAccount.objects.get()
    assert response["Location"] == account.get_absolute_url()
    assert list(account.teams.all()) == [team]
    assert account.auto_reply and account.case_distribution == "round_robin"
    assert client.get(account.get_absolute_url()).status_code == 200


def test_group_account_signature_is_stored_sanitized_with_the_auto_reply_choice(
    make_user, logged_in, dovecot, imap_user
):
    client = logged_in(make_user("root", admin=True))
    page = client.get(reverse("mailboxes:group-account-create")).content.decode()
    assert ">Signature</h2>" in page and 'data-testid="account-signature"' in page
    client.post(
        reverse("mailboxes:group-account-create"),
        account_data(
            dovecot,
            imap_user,
            name="Support",
            case_distribution="direct",
            signature_html='<p onclick="x()">Destek<script>1</script><img src=x onerror=y></p>',
            auto_reply_signature="on",
        ),
    )
    account = GroupEmailAccount.objects.get()
    assert account.signature_html == '<p>Destek<img src="x"></p>'
    assert account.auto_reply_signature is True


def test_user_without_personal_accounts_in_their_role_cannot_add_one(make_user, logged_in):
    role = Role.objects.create(name="No mailboxes", personal_email_accounts=False)
    client = logged_in(make_user("ayse", roles=[role]))
    assert client.get(reverse("mailboxes:personal-account-create")).status_code == 403
    list_page = client.get(reverse("mailboxes:personal-account-list"))
    assert list_page.status_code == 200 and not list_page.context["may_create"]


def test_admin_sees_and_manages_everybodys_personal_accounts(
    make_user, logged_in, make_personal_account, dovecot
):
    admin, ayse, bora = make_user("root", admin=True), make_user("ayse"), make_user("bora")
    hers = make_personal_account(ayse, dovecot.add_user("a"), name="Ayşe box")
    his = make_personal_account(bora, dovecot.add_user("b"), name="Bora box")
    client = logged_in(admin)
    page = client.get(reverse("mailboxes:admin-personal-account-list")).content.decode()
    assert "Ayşe box" in page and "Bora box" in page
    only_bora = client.get(reverse("mailboxes:admin-personal-account-list"), {"owner": bora.pk})
    assert list(only_bora.context["accounts"]) == [his]
    assert client.get(hers.get_absolute_url()).status_code == 200
    page = client.get(reverse("administration:index")).content.decode()
    assert "Group Email Accounts" in page and "Personal Email Accounts" in page


def test_health_is_shown_in_the_list_and_on_the_page(
    make_user, logged_in, make_personal_account, imap_user
):
    ayse = make_user("ayse")
    account = make_personal_account(ayse, imap_user)
    MailAccount.objects.filter(pk=account.pk).update(
        last_error="The server refused the user name or password.",
        consecutive_failures=3,
        last_error_at="2025-01-01T10:00:00Z",
    )
    RawMessage.objects.create(
        account=account,
        folder="INBOX",
        uidvalidity=1,
        uid=7,
        sha256="x",
        raw=b"x",
        status=RawMessage.Status.QUARANTINED,
        error="ValueError: bad",
    )
    client = logged_in(ayse)
    listing = client.get(reverse("mailboxes:personal-account-list")).content.decode()
    assert "Failing (3 times in a row)" in listing and "refused the user name" in listing
    assert f"?account={account.pk}" in listing
    detail = client.get(account.get_absolute_url())
    assert detail.context["account"].quarantined == 1
    assert "refused the user name" in detail.content.decode()


def test_reset_cursor_from_a_date(make_user, logged_in, make_personal_account, imap_user):
    ayse = make_user("ayse")
    account = make_personal_account(ayse, imap_user)
    FolderCursor.objects.create(account=account, folder="INBOX", uidvalidity=5, last_uid=40)
    response = logged_in(ayse).post(
        reverse("mailboxes:personal-account-reset", args=[account.pk]),
        {"since": "2024-03-01"},
        follow=True,
    )
    assert "The next fetch starts again from" in response.content.decode()
    account.refresh_from_db()
    assert str(account.fetch_since) == "2024-03-01"
    assert not FolderCursor.objects.filter(account=account).exists()


def test_delete_keeps_the_mail(make_user, logged_in, make_personal_account, imap_user, make_email):
    ayse = make_user("ayse")
    account = make_personal_account(ayse, imap_user)
    email = make_email(users=[ayse], accounts=[account])
    client = logged_in(ayse)
    assert (
        "stays where it is"
        in client.get(
            reverse("mailboxes:personal-account-delete", args=[account.pk])
        ).content.decode()
    )
    client.post(reverse("mailboxes:personal-account-delete", args=[account.pk]))
    assert not PersonalEmailAccount.objects.exists()
    assert client.get(reverse("mailboxes:email-detail", args=[email.pk])).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_fetch_now_runs_a_fetch_in_the_worker(
    make_user, logged_in, make_personal_account, dovecot, imap_user, celery_worker
):
    from tests.mailboxes.conftest import make_message

    ayse = make_user("ayse")
    account = make_personal_account(ayse, imap_user)
    dovecot.append(imap_user, "INBOX", make_message(subject="Fetched by the worker"))
    response = logged_in(ayse).post(
        reverse("mailboxes:personal-account-fetch", args=[account.pk]), follow=True
    )
    assert "now; new mail appears in a moment" in response.content.decode()

    def fetched() -> bool:
        account.refresh_from_db()
        return account.last_fetch_at is not None

    wait_until(fetched, timeout=15)
    inbox = logged_in(ayse).get(reverse("mailboxes:inbox")).content.decode()
    assert "Fetched by the worker" in inbox


def test_group_account_form_edits_the_auto_reply_limits_starting_from_the_environment(
    make_user, logged_in, dovecot, imap_user, settings
):
    settings.POSTACI_AUTO_REPLY_LIMIT = 7
    settings.POSTACI_AUTO_REPLY_CASE_LIMIT = 2
    settings.POSTACI_AUTO_REPLY_PERIOD = 3 * 3600
    client = logged_in(make_user("root", admin=True))
    form = client.get(reverse("mailboxes:group-account-create")).context["form"]
    assert form["auto_reply_sender_limit"].value() == 7
    assert form["auto_reply_case_limit"].value() == 2
    assert form["auto_reply_period_minutes"].value() == 180

    client.post(
        reverse("mailboxes:group-account-create"),
        account_data(
            dovecot,
            imap_user,
            name="Support",
            case_distribution="direct",
            auto_reply_sender_limit=3,
            auto_reply_case_limit=1,
            auto_reply_period_minutes=30,
        ),
    )
    account = GroupEmailAccount.objects.get()
    assert (
        account.auto_reply_sender_limit,
        account.auto_reply_case_limit,
        account.auto_reply_period_minutes,
    ) == (3, 1, 30)


def _team_with_roles(team, make_user, *positions):
    for n, position in enumerate(positions):
        user = make_user(f"{team.name}-{n}")
        TeamMembership.objects.create(team=team, user=user, position=position)


def test_target_role_is_picked_from_the_roles_of_the_target_team(
    make_user, logged_in, dovecot, imap_user, team, other_team
):
    _team_with_roles(team, make_user, "Tier 1", "Tier 2", "tier 1")
    _team_with_roles(other_team, make_user, "Night shift")
    client = logged_in(make_user("root", admin=True))
    account = GroupEmailAccount.objects.create(
        name="Support", email_address="support@example.test", target_team=team
    )
    url = reverse("mailboxes:group-account-edit", args=[account.pk])

    choices = [
        value
        for value, _label in client.get(url)
        .context["form"]["target_team_role"]
        .field.widget.choices
    ]
    assert choices == ["", "Tier 1", "Tier 2"]  # one spelling per role, the team's own only

    # another team chosen: htmx swaps in that team's roles
    picker = client.get(reverse("mailboxes:group-account-roles"), {"target_team": other_team.pk})
    assert 'value="Night shift"' in picker.content.decode()
    assert "Tier 1" not in picker.content.decode()
    agent = logged_in(make_user("agent"))
    roles_url = reverse("mailboxes:group-account-roles")
    assert agent.get(roles_url, {"target_team": team.pk}).status_code == 403
    client = logged_in(make_user("root2", admin=True))

    data = account_data(
        dovecot, imap_user, name="Support", target_team=team.pk, case_distribution="direct"
    )
    response = client.post(url, {**data, "target_team_role": "Night shift"})
    assert response.status_code == 200
    assert "Nobody in team “Sales” has the role “Night shift”." in response.content.decode()

    client.post(url, {**data, "target_team_role": "tier 2"})
    account.refresh_from_db()
    assert account.target_team_role == "Tier 2"


def test_role_typed_by_hand_before_is_shown_as_held_by_nobody(make_user, logged_in, team):
    account = GroupEmailAccount.objects.create(
        name="Support",
        email_address="support@example.test",
        target_team=team,
        target_team_role="Teir 1",
    )
    client = logged_in(make_user("root", admin=True))
    page = client.get(reverse("mailboxes:group-account-edit", args=[account.pk])).content.decode()
    assert "Teir 1 (nobody in the team has it)" in page


@pytest.mark.django_db(transaction=True)
def test_saved_account_is_fetched_at_once_and_its_page_follows_the_fetch(
    make_user, logged_in, dovecot, imap_user, celery_worker
):
    from tests.mailboxes.conftest import make_message

    dovecot.append(imap_user, "INBOX", make_message(subject="Waiting since yesterday"))
    ayse = make_user("ayse")
    client = logged_in(ayse)
    client.post(reverse("mailboxes:personal-account-create"), account_data(dovecot, imap_user))
    account = PersonalEmailAccount.objects.get()
    status_url = reverse("mailboxes:personal-account-status", args=[account.pk])

    # No poll is scheduled in the tests: only the save can have started this fetch.
    assert wait_until(lambda: Email.objects.filter(subject="Waiting since yesterday").exists())

    def fetch_ended() -> str:
        page = client.get(status_url).content.decode()
        return page if "Working" in page else ""

    page = wait_until(fetch_ended, timeout=15)
    assert "account-status-polling" not in page  # the page stops asking
    assert 'id="header-health" hx-swap-oob="true"' in page


def test_account_page_polls_while_a_fetch_is_pending(
    make_user, logged_in, make_personal_account, imap_user
):
    ayse = make_user("ayse")
    account = make_personal_account(ayse, imap_user)
    client = logged_in(ayse)
    assert "account-status-polling" not in client.get(account.get_absolute_url()).content.decode()

    MailAccount.objects.filter(pk=account.pk).update(fetch_requested_at=timezone.now())
    page = client.get(account.get_absolute_url()).content.decode()
    assert "account-status-polling" in page and "Fetching…" in page
    assert reverse("mailboxes:personal-account-status", args=[account.pk]) in page

    MailAccount.objects.filter(pk=account.pk).update(
        last_error="Wrong password", last_error_at=timezone.now(), consecutive_failures=1
    )
    page = client.get(account.get_absolute_url()).content.decode()
    assert "account-status-polling" not in page and "Failing (1 time)" in page


def test_saving_an_account_forgets_the_back_off_of_past_failures(
    make_user, logged_in, make_personal_account, dovecot, imap_user
):
    ayse = make_user("ayse")
    account = make_personal_account(ayse, imap_user)
    MailAccount.objects.filter(pk=account.pk).update(
        consecutive_failures=4, next_retry_at=timezone.now() + timezone.timedelta(minutes=8)
    )
    logged_in(ayse).post(
        reverse("mailboxes:personal-account-edit", args=[account.pk]),
        account_data(dovecot, imap_user),
    )
    account.refresh_from_db()
    assert account.next_retry_at is None and account.fetch_requested_at is not None
