"""Who may see and manage which filters."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from crm.models import Role
from filters.access import (
    can_manage_filter,
    check_can_manage_filter,
    filter_scopes_for,
    get_filter_for,
)
from filters.models import EmailFilter

from .conftest import make_filter, save_filter

Action = EmailFilter.Action
Scope = EmailFilter.Scope


@pytest.fixture
def filters(alice, bob, alice_account, bob_account, group_account):
    return {
        "global": save_filter(scope=Scope.GLOBAL, action=Action.SKIP, subject_pattern="g"),
        "group": save_filter(
            scope=Scope.GROUP_ACCOUNT,
            group_account=group_account,
            action=Action.SKIP,
            subject_pattern="g",
        ),
        "alice_inbox": save_filter(user=alice, subject_pattern="a"),
        "alice_account": save_filter(
            scope=Scope.PERSONAL_ACCOUNT,
            personal_account=alice_account,
            action=Action.SKIP,
            subject_pattern="a",
        ),
        "bob_inbox": save_filter(user=bob, subject_pattern="b"),
        "bob_account": save_filter(
            scope=Scope.PERSONAL_ACCOUNT,
            personal_account=bob_account,
            action=Action.SKIP,
            subject_pattern="b",
        ),
    }


def visible(user) -> set[int]:
    return set(EmailFilter.objects.visible_to(user).values_list("pk", flat=True))


@pytest.mark.django_db
def test_users_see_only_their_inbox_and_personal_account_filters(filters, alice, bob):
    assert visible(alice) == {filters["alice_inbox"].pk, filters["alice_account"].pk}
    assert visible(bob) == {filters["bob_inbox"].pk, filters["bob_account"].pk}


@pytest.mark.django_db
def test_admins_see_every_filter(filters, admin):
    assert visible(admin) == {f.pk for f in filters.values()}


@pytest.mark.django_db
def test_anonymous_and_inactive_users_see_no_filter(filters, alice):
    assert visible(AnonymousUser()) == set()
    alice.is_active = False
    alice.save()
    assert visible(alice) == set()


@pytest.mark.django_db
def test_users_manage_only_their_own_filters(filters, alice):
    allowed = {name for name, f in filters.items() if can_manage_filter(alice, f)}
    assert allowed == {"alice_inbox", "alice_account"}


@pytest.mark.django_db
def test_admins_manage_every_filter(filters, admin):
    assert all(can_manage_filter(admin, f) for f in filters.values())


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["global", "group", "bob_inbox", "bob_account"])
def test_managing_a_filter_that_is_not_yours_is_denied(filters, alice, name):
    with pytest.raises(PermissionDenied):
        check_can_manage_filter(alice, filters[name])


@pytest.mark.django_db
def test_users_cannot_create_global_or_group_filters(alice, group_account):
    for obj in (
        make_filter(scope=Scope.GLOBAL, action=Action.SKIP, subject_pattern="x"),
        make_filter(
            scope=Scope.GROUP_ACCOUNT,
            group_account=group_account,
            action=Action.SKIP,
            subject_pattern="x",
        ),
    ):
        with pytest.raises(PermissionDenied, match="Only administrators"):
            check_can_manage_filter(alice, obj)


@pytest.mark.django_db
def test_users_cannot_create_filters_for_someone_else(alice, bob, bob_account):
    with pytest.raises(PermissionDenied):
        check_can_manage_filter(alice, make_filter(user=bob, subject_pattern="x"))
    with pytest.raises(PermissionDenied):
        check_can_manage_filter(
            alice,
            make_filter(
                scope=Scope.PERSONAL_ACCOUNT,
                personal_account=bob_account,
                action=Action.SKIP,
                subject_pattern="x",
            ),
        )
    check_can_manage_filter(alice, make_filter(user=alice, subject_pattern="x"))


@pytest.mark.django_db
def test_get_filter_for_answers_404_for_filters_the_user_cannot_see(filters, alice, admin):
    assert get_filter_for(alice, filters["alice_inbox"].pk) == filters["alice_inbox"]
    for name in ("global", "group", "bob_inbox", "bob_account"):
        with pytest.raises(Http404):
            get_filter_for(alice, filters[name].pk)
    assert get_filter_for(admin, filters["bob_inbox"].pk) == filters["bob_inbox"]


@pytest.mark.django_db
def test_scopes_offered_depend_on_role(alice, admin):
    assert filter_scopes_for(admin) == [
        Scope.USER_INBOX,
        Scope.PERSONAL_ACCOUNT,
        Scope.GROUP_ACCOUNT,
        Scope.GLOBAL,
    ]
    assert filter_scopes_for(alice) == [Scope.USER_INBOX, Scope.PERSONAL_ACCOUNT]
    alice.roles.add(Role.objects.create(name="No mailboxes", personal_email_accounts=False))
    del alice._postaci_access_cache
    assert filter_scopes_for(alice) == [Scope.USER_INBOX]
    assert filter_scopes_for(AnonymousUser()) == []


@pytest.mark.django_db
def test_user_without_personal_accounts_right_cannot_manage_account_filters(filters, alice):
    alice.roles.add(Role.objects.create(name="No mailboxes", personal_email_accounts=False))
    assert not can_manage_filter(alice, filters["alice_account"])
    assert can_manage_filter(alice, filters["alice_inbox"])
