"""The filter screens: My filters, Administration > Email Filters, the form and its dry run,
and who may do what, all through the views."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from crm.models import Role, User
from filters.models import EmailFilter
from mailboxes.models import EmailFolder

from .conftest import parsed, save_filter, store_email

Action = EmailFilter.Action
Scope = EmailFilter.Scope

pytestmark = pytest.mark.django_db

MY_LIST = reverse("filters:my-list")
ADMIN_LIST = reverse("filters:admin-list")
CREATE = reverse("filters:create")


def create_url(scope: str, **query) -> str:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    return f"{CREATE}?scope={scope}{extra}"


def form_data(**fields) -> dict:
    """What the inbox filter form posts, with a subject criterion unless told otherwise."""
    data = {
        "name": "Invoices",
        "is_active": "on",
        "subject_pattern": "*invoice*",
        "action": Action.MOVE_TO_FOLDER,
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def text(response) -> str:
    return response.content.decode()


def radio_values(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="radio" name="{name}" value="([^"]+)"', html)


@pytest.fixture
def filters(alice, bob, alice_account, bob_account, group_account):
    return {
        "global": save_filter(
            name="Global spam", scope=Scope.GLOBAL, action=Action.SKIP, subject_pattern="g"
        ),
        "group": save_filter(
            name="Group skip",
            scope=Scope.GROUP_ACCOUNT,
            group_account=group_account,
            action=Action.SKIP,
            subject_pattern="g",
        ),
        "alice_inbox": save_filter(name="Alice inbox", user=alice, subject_pattern="a"),
        "alice_account": save_filter(
            name="Alice account",
            scope=Scope.PERSONAL_ACCOUNT,
            personal_account=alice_account,
            action=Action.SKIP,
            subject_pattern="a",
        ),
        "bob_inbox": save_filter(name="Bob inbox", user=bob, subject_pattern="b"),
        "bob_account": save_filter(
            name="Bob account",
            scope=Scope.PERSONAL_ACCOUNT,
            personal_account=bob_account,
            action=Action.SKIP,
            subject_pattern="b",
        ),
    }


# --- My filters ------------------------------------------------------------------------------


def test_my_filters_lists_own_inbox_and_account_filters_only(client, alice, filters):
    client.force_login(alice)
    page = text(client.get(MY_LIST))
    assert "Alice inbox" in page and "Alice account" in page
    for name in ("Bob inbox", "Bob account", "Global spam", "Group skip"):
        assert name not in page


def test_my_filters_shows_criteria_action_match_count_and_last_matched(client, alice, alice_folder):
    save_filter(
        name="Invoices",
        user=alice,
        from_pattern="*@billing.test",
        body_contains_any=["total due"],
        action=Action.MOVE_TO_FOLDER,
        folder=alice_folder,
        mark_as_read=True,
    )
    EmailFilter.objects.update(
        match_count=42, last_matched_at=datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
    )
    save_filter(name="Never used", user=alice, subject_pattern="x")
    client.force_login(alice)
    page = text(client.get(MY_LIST))
    row, other = re.findall(r'<tr class="filter-row.*?</tr>', page, re.S)
    assert "*@billing.test" in row and "“total due”" in row
    assert "Move to folder “Invoices”, Mark as read" in row
    assert '<td class="num">42</td>' in row
    assert 'datetime="2026-03-04T05:06:00+00:00"' in row
    assert '<td class="num">0</td>' in other and "Never" in other


def test_navigation_links_to_my_filters(client, alice):
    client.force_login(alice)
    assert f'href="{MY_LIST}"' in text(client.get(reverse("home")))


def test_anonymous_is_sent_to_login(client, db):
    for url in (MY_LIST, CREATE, ADMIN_LIST):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


# --- Creating and editing ----------------------------------------------------------------------


def test_user_creates_inbox_filter_moving_to_their_folder(client, alice, alice_folder):
    client.force_login(alice)
    response = client.post(
        create_url(Scope.USER_INBOX),
        form_data(folder=alice_folder.pk, mark_as_read="on", body_contains_all="total\n\n due "),
    )
    assert response.status_code == 302 and response["Location"] == MY_LIST
    created = EmailFilter.objects.get()
    assert (created.scope, created.user, created.folder) == (Scope.USER_INBOX, alice, alice_folder)
    assert created.mark_as_read and created.body_contains_all == ["total", "due"]


def test_user_creates_folder_inline_for_a_move(client, alice):
    client.force_login(alice)
    response = client.post(create_url(Scope.USER_INBOX), form_data(new_folder="  Bills  2026 "))
    assert response.status_code == 302
    folder = EmailFolder.objects.get()
    assert (folder.user, folder.name) == (alice, "Bills 2026")
    assert EmailFilter.objects.get().folder == folder


def test_refused_filter_leaves_no_new_folder_behind(client, alice):
    client.force_login(alice)
    response = client.post(
        create_url(Scope.USER_INBOX), form_data(subject_pattern="", new_folder="Bills")
    )
    assert response.status_code == 200
    assert "Set at least one criterion" in text(response)
    assert not EmailFilter.objects.exists() and not EmailFolder.objects.exists()


def test_move_without_a_folder_is_refused_on_the_folder_field(client, alice):
    client.force_login(alice)
    response = client.post(create_url(Scope.USER_INBOX), form_data())
    assert response.status_code == 200
    assert response.context["form"].errors["folder"] == [
        "Choose the folder to move matching emails to."
    ]
    assert not EmailFilter.objects.exists()


def test_form_offers_only_the_actions_of_the_scope(client, alice, admin, alice_account):
    client.force_login(alice)
    inbox = text(client.get(create_url(Scope.USER_INBOX)))
    assert radio_values(inbox, "action") == ["skip", "move_to_folder", "none"]
    assert 'name="mark_as_read"' in inbox and 'name="group_folder"' not in inbox
    personal = text(client.get(create_url(Scope.PERSONAL_ACCOUNT)))
    assert radio_values(personal, "action") == ["skip"]
    assert 'name="folder"' not in personal and 'name="mark_as_read"' not in personal
    client.force_login(admin)
    assert radio_values(text(client.get(create_url(Scope.GLOBAL))), "action") == ["skip"]
    group = text(client.get(create_url(Scope.GROUP_ACCOUNT)))
    assert radio_values(group, "action") == ["skip", "move_to_group_folder"]
    assert 'name="group_folder"' in group


def test_action_of_another_scope_is_refused(client, alice, alice_account, alice_folder):
    client.force_login(alice)
    response = client.post(
        create_url(Scope.PERSONAL_ACCOUNT),
        form_data(personal_account=alice_account.pk, action=Action.MOVE_TO_FOLDER),
    )
    assert response.status_code == 200
    assert "action" in response.context["form"].errors
    assert not EmailFilter.objects.exists()


def test_form_explains_wildcards_and_phrases(client, alice):
    client.force_login(alice)
    page = text(client.get(CREATE))
    assert "*@example.com matches everyone at example.com" in page
    assert "One phrase per line" in page


def test_user_creates_personal_account_filter(client, alice, alice_account):
    client.force_login(alice)
    response = client.post(
        create_url(Scope.PERSONAL_ACCOUNT),
        form_data(personal_account=alice_account.pk, action=Action.SKIP),
    )
    assert response.status_code == 302
    created = EmailFilter.objects.get()
    assert (created.scope, created.personal_account, created.user) == (
        Scope.PERSONAL_ACCOUNT,
        alice_account,
        alice,
    )


def test_user_edits_their_filter_but_not_its_account(
    client, alice, filters, alice_account, bob_account
):
    own = filters["alice_account"]
    client.force_login(alice)
    page = text(client.get(reverse("filters:edit", args=[own.pk])))
    assert 'name="personal_account"' not in page  # where a filter applies is fixed
    response = client.post(
        reverse("filters:edit", args=[own.pk]),
        form_data(name="Renamed", action=Action.SKIP, personal_account=bob_account.pk),
    )
    assert response.status_code == 302
    own.refresh_from_db()
    assert (own.name, own.personal_account) == ("Renamed", alice_account)


def test_new_filters_go_last_in_their_list(client, alice, filters):
    client.force_login(alice)
    client.post(create_url(Scope.USER_INBOX), form_data(name="Second", action=Action.NONE))
    names = list(
        EmailFilter.objects.filter(user=alice, scope=Scope.USER_INBOX).values_list(
            "name", flat=True
        )
    )
    assert names == ["Alice inbox", "Second"]


# --- Reorder, toggle, delete ------------------------------------------------------------------


def test_up_and_down_buttons_reorder_within_the_list(client, alice):
    first, _second, third = (
        save_filter(name=name, user=alice, subject_pattern=name, order=0)
        for name in ("first", "second", "third")
    )
    client.force_login(alice)
    move = reverse("filters:move", args=[third.pk])
    response = client.post(move, {"step": "-1", "next": f"{MY_LIST}#list-inbox"})
    assert response["Location"] == f"{MY_LIST}#list-inbox"
    order = lambda: list(  # noqa: E731
        EmailFilter.objects.filter(user=alice).values_list("name", flat=True)
    )
    assert order() == ["first", "third", "second"]
    client.post(reverse("filters:move", args=[first.pk]), {"step": "1"})
    assert order() == ["third", "first", "second"]
    client.post(reverse("filters:move", args=[third.pk]), {"step": "-1"})  # already first
    assert order() == ["third", "first", "second"]
    page = text(client.get(MY_LIST))
    assert page.count("disabled") == 2  # "up" of the first row, "down" of the last


def test_move_redirects_only_to_this_site(client, alice, filters):
    client.force_login(alice)
    response = client.post(
        reverse("filters:move", args=[filters["alice_inbox"].pk]),
        {"step": "1", "next": "https://evil.test/"},
    )
    assert response["Location"] == MY_LIST


def test_active_toggle_turns_a_filter_off_and_on(client, alice, filters):
    own = filters["alice_inbox"]
    toggle = reverse("filters:toggle", args=[own.pk])
    client.force_login(alice)
    client.post(toggle, {"active": "0"})
    own.refresh_from_db()
    assert not own.is_active
    assert "toggle-off" in text(client.get(MY_LIST))
    client.post(toggle, {"active": "1"})
    own.refresh_from_db()
    assert own.is_active


def test_filter_whose_folder_was_deleted_says_so_and_can_be_turned_off(client, alice, alice_folder):
    broken = save_filter(
        user=alice, subject_pattern="x", action=Action.MOVE_TO_FOLDER, folder=alice_folder
    )
    alice_folder.delete()
    client.force_login(alice)
    assert "Its folder was deleted" in text(client.get(MY_LIST))
    client.post(reverse("filters:toggle", args=[broken.pk]), {"active": "0"})
    broken.refresh_from_db()
    assert not broken.is_active


def test_delete_asks_first_then_deletes(client, alice, filters):
    own = filters["alice_inbox"]
    url = reverse("filters:delete", args=[own.pk])
    client.force_login(alice)
    assert "Delete the filter “Alice inbox”?" in text(client.get(url))
    assert EmailFilter.objects.filter(pk=own.pk).exists()
    assert client.post(url)["Location"] == MY_LIST
    assert not EmailFilter.objects.filter(pk=own.pk).exists()


# --- Permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bob_inbox", "bob_account", "global", "group"])
def test_user_cannot_see_edit_dry_run_or_change_filters_not_theirs(client, alice, filters, name):
    target = filters[name]
    before = EmailFilter.objects.values().get(pk=target.pk)
    client.force_login(alice)
    edit = reverse("filters:edit", args=[target.pk])
    assert client.get(edit).status_code == 404
    assert client.post(edit, form_data(name="Hijacked", action=Action.SKIP)).status_code == 404
    dry_run = form_data(action=Action.SKIP, dry_run="1")
    assert client.post(edit, dry_run).status_code == 404
    assert client.post(edit, dry_run, HTTP_HX_REQUEST="true").status_code == 404
    for view in ("move", "toggle", "delete"):
        assert client.post(reverse(f"filters:{view}", args=[target.pk])).status_code == 404
    assert client.get(reverse("filters:delete", args=[target.pk])).status_code == 404
    assert EmailFilter.objects.values().get(pk=target.pk) == before


@pytest.mark.parametrize("scope", [Scope.GLOBAL, Scope.GROUP_ACCOUNT])
def test_user_cannot_create_global_or_group_filters(client, alice, group_account, scope):
    client.force_login(alice)
    url = create_url(scope)
    assert client.get(url).status_code == 403
    data = form_data(action=Action.SKIP, group_account=group_account.pk)
    assert client.post(url, data).status_code == 403
    assert client.post(url, {**data, "dry_run": "1"}).status_code == 403
    assert not EmailFilter.objects.exists()


def test_user_cannot_create_a_filter_on_someone_elses_account(client, alice, bob_account):
    client.force_login(alice)
    response = client.post(
        create_url(Scope.PERSONAL_ACCOUNT),
        form_data(personal_account=bob_account.pk, action=Action.SKIP),
    )
    assert response.status_code == 200
    assert "personal_account" in response.context["form"].errors
    assert not EmailFilter.objects.exists()


def test_inbox_filter_always_belongs_to_the_user_who_creates_it(client, alice, bob, bob_folder):
    client.force_login(alice)
    response = client.post(
        create_url(Scope.USER_INBOX),
        form_data(user=bob.pk, folder=bob_folder.pk, action=Action.MOVE_TO_FOLDER),
    )
    assert response.status_code == 200  # bob's folder is not among alice's choices
    assert "folder" in response.context["form"].errors
    client.post(create_url(Scope.USER_INBOX), form_data(user=bob.pk, action=Action.NONE))
    assert EmailFilter.objects.get().user == alice


def test_user_without_personal_accounts_right_may_not_manage_account_filters(
    client, alice, filters
):
    alice.roles.add(Role.objects.create(name="No mailboxes", personal_email_accounts=False))
    own = filters["alice_account"]
    client.force_login(alice)
    assert client.get(reverse("filters:edit", args=[own.pk])).status_code == 403
    assert client.post(reverse("filters:toggle", args=[own.pk])).status_code == 403
    assert client.post(reverse("filters:move", args=[own.pk])).status_code == 403
    assert client.post(reverse("filters:delete", args=[own.pk])).status_code == 403
    assert client.get(create_url(Scope.PERSONAL_ACCOUNT)).status_code == 403
    assert EmailFilter.objects.filter(pk=own.pk, is_active=True).exists()
    assert client.get(reverse("filters:edit", args=[filters["alice_inbox"].pk])).status_code == 200


def test_administration_page_is_for_administrators_only(client, alice, admin, filters):
    client.force_login(alice)
    assert client.get(ADMIN_LIST).status_code == 403
    client.force_login(admin)
    page = text(client.get(ADMIN_LIST))
    for f in filters.values():
        assert f.name in page
    assert "Inbox of bob" in page


def _users_with_inbox_filters(numbers: range) -> None:
    for n in numbers:
        user = User.objects.create_user(f"user{n:02d}", email=f"user{n:02d}@example.test")
        save_filter(
            name=f"Filter of user{n:02d}", scope=Scope.USER_INBOX, user=user, subject_pattern="x"
        )


def test_administration_pages_through_users_own_filters(
    client, admin, django_assert_max_num_queries
):
    """With many users, the page shows 20 users' lists at a time and finds one by name."""
    _users_with_inbox_filters(range(25))
    client.force_login(admin)
    first = text(client.get(ADMIN_LIST))
    assert "Inbox of user00" in first and "Inbox of user19" in first
    assert "Inbox of user20" not in first
    assert "1–20 of 25" in first
    second = text(client.get(ADMIN_LIST, {"page": 2}))
    assert "Inbox of user20" in second and "Inbox of user24" in second
    assert "Inbox of user19" not in second
    found = text(client.get(ADMIN_LIST, {"q": "USER07"}))
    assert "Inbox of user07" in found and "Inbox of user08" not in found
    assert "Global" in found  # the shared lists stay whatever the search
    nothing = text(client.get(ADMIN_LIST, {"q": "nobody"}))
    assert "No user with filters matches this search." in nothing

    _users_with_inbox_filters(range(25, 65))
    with django_assert_max_num_queries(8):  # a full page of 20 users' lists
        assert "Inbox of user40" in text(client.get(ADMIN_LIST, {"page": 3}))


def test_email_filters_is_in_the_administration_menu(client, admin):
    client.force_login(admin)
    page = text(client.get(reverse("administration:index")))
    assert f'href="{ADMIN_LIST}"' in page and "Email Filters" in page


def test_admin_creates_group_filter_moving_to_group_folder(
    client, admin, group_account, billing_folder
):
    client.force_login(admin)
    response = client.post(
        create_url(Scope.GROUP_ACCOUNT, account=group_account.pk),
        form_data(
            group_account=group_account.pk,
            action=Action.MOVE_TO_GROUP_FOLDER,
            group_folder=billing_folder.pk,
        ),
    )
    assert response["Location"] == ADMIN_LIST
    created = EmailFilter.objects.get()
    assert (created.group_account, created.group_folder) == (group_account, billing_folder)


def test_admin_edits_a_users_inbox_filter_with_that_users_folders(
    client, admin, bob, filters, alice_folder, bob_folder
):
    target = filters["bob_inbox"]
    client.force_login(admin)
    url = reverse("filters:edit", args=[target.pk])
    page = text(client.get(url))
    assert "Bob&#x27;s folder" in page and "Invoices" not in page
    assert f'href="{ADMIN_LIST}"' in page  # breadcrumbs lead back to Administration
    response = client.post(url, form_data(name="Sorted", folder=bob_folder.pk))
    assert response["Location"] == ADMIN_LIST
    target.refresh_from_db()
    assert (target.name, target.user, target.folder) == ("Sorted", bob, bob_folder)


# --- Dry run -----------------------------------------------------------------------------------


@pytest.fixture
def alice_mail(alice, bob):
    return [
        store_email(parsed(subject="Invoice 7"), users=[alice], minutes_ago=30),
        store_email(parsed(subject="Lunch?"), users=[alice], minutes_ago=20),
        store_email(parsed(subject="Invoice for Bob"), users=[bob], minutes_ago=10),
    ]


def dry_run_rows(html: str) -> list[tuple[str, bool]]:
    rows = re.findall(r'<tr class="dry-run-row( matched)?">(.*?)</tr>', html, re.S)
    return [(re.search(r'<td class="subject">([^<]*)</td>', row)[1], bool(m)) for m, row in rows]


def test_dry_run_shows_what_would_match_and_saves_nothing(client, alice, alice_mail):
    client.force_login(alice)
    response = client.post(
        create_url(Scope.USER_INBOX), form_data(name="", new_folder="Bills", dry_run="1")
    )
    assert response.status_code == 200
    page = text(response)
    assert dry_run_rows(page) == [("Lunch?", False), ("Invoice 7", True)]
    assert "Of the latest 2 emails, 1 would match." in page
    assert "Move to folder “Bills”" in page
    assert 'value="Bills"' in page  # the form keeps what was typed
    assert not EmailFilter.objects.exists() and not EmailFolder.objects.exists()


def test_dry_run_shows_only_emails_the_user_may_see(client, alice, bob, alice_mail):
    client.force_login(alice)
    page = text(
        client.post(CREATE, form_data(subject_pattern="*", action=Action.NONE, dry_run="1"))
    )
    assert [subject for subject, _ in dry_run_rows(page)] == ["Lunch?", "Invoice 7"]
    assert "Invoice for Bob" not in page


def test_dry_run_of_a_saved_filter_tries_the_edited_criteria(client, alice, alice_mail, filters):
    own = filters["alice_inbox"]
    client.force_login(alice)
    page = text(
        client.post(
            reverse("filters:edit", args=[own.pk]),
            form_data(subject_pattern="lunch*", action=Action.SKIP, dry_run="1"),
        )
    )
    assert dry_run_rows(page) == [("Lunch?", True), ("Invoice 7", False)]
    assert "Move to Trash, No notification" in page
    own.refresh_from_db()
    assert own.subject_pattern == "a"


def test_dry_run_with_htmx_answers_only_the_results(client, alice, alice_mail):
    client.force_login(alice)
    response = client.post(
        CREATE, form_data(action=Action.NONE, dry_run="1"), HTTP_HX_REQUEST="true"
    )
    page = text(response)
    assert "<html" not in page and 'id="filter-form"' not in page
    assert dry_run_rows(page) == [("Lunch?", False), ("Invoice 7", True)]


def test_dry_run_of_an_incomplete_filter_lists_what_to_fix(client, alice, alice_mail):
    client.force_login(alice)
    response = client.post(
        CREATE, form_data(subject_pattern="", dry_run="1"), HTTP_HX_REQUEST="true"
    )
    page = text(response)
    assert "The filter can't be tried yet" in page
    assert "Set at least one criterion" in page
    assert "dry-run-row" not in page


def test_dry_run_button_is_offered_on_the_form(client, alice):
    client.force_login(alice)
    page = text(client.get(CREATE))
    assert re.search(r'<button[^>]*name="dry_run"[^>]*>\s*Test against my last 200 emails', page)


def test_turkish_user_sees_the_filter_screens_in_turkish(client, alice, alice_mail):
    alice.language = "tr"
    alice.save()
    client.force_login(alice)
    listing = text(client.get(MY_LIST))
    assert "Filtrelerim" in listing and "Gelen kutum" in listing and "Yeni filtre" in listing
    form = text(client.get(CREATE))
    assert "Son 200 e-postamda dene" in form and "Bir klasöre taşı" in form
    results = text(
        client.post(CREATE, form_data(action=Action.NONE, dry_run="1"), HTTP_HX_REQUEST="true")
    )
    assert "Son 2 e-postadan 1 tanesi eşleşirdi." in results
