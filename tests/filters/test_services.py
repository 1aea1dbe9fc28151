"""Saving, deleting and reordering filters on behalf of a user."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from filters.models import EmailFilter
from filters.services import (
    filter_delete,
    filter_move,
    filter_reorder,
    filter_save,
    filter_set_active,
    filter_siblings,
)

from .conftest import make_filter, save_filter

Action = EmailFilter.Action
Scope = EmailFilter.Scope


@pytest.mark.django_db
def test_user_saves_an_inbox_filter_which_goes_last(alice):
    first = filter_save(user=alice, filter_obj=make_filter(user=alice, subject_pattern="a"))
    second = filter_save(user=alice, filter_obj=make_filter(user=alice, subject_pattern="b"))
    assert (first.order, second.order) == (0, 1)
    assert list(EmailFilter.objects.visible_to(alice)) == [first, second]


@pytest.mark.django_db
@pytest.mark.parametrize("criteria", [{"subject_pattern": "x"}, {}])
def test_user_cannot_save_a_global_filter(alice, criteria):
    obj = make_filter(scope=Scope.GLOBAL, action=Action.SKIP, **criteria)
    with pytest.raises(PermissionDenied):  # refused before any validation message
        filter_save(user=alice, filter_obj=obj)
    assert not EmailFilter.objects.exists()


@pytest.mark.django_db
def test_admin_saves_a_global_filter(admin):
    obj = make_filter(scope=Scope.GLOBAL, action=Action.SKIP, subject_pattern="x")
    assert filter_save(user=admin, filter_obj=obj).pk


@pytest.mark.django_db
def test_invalid_filter_is_not_saved(alice):
    with pytest.raises(ValidationError):
        filter_save(user=alice, filter_obj=make_filter(user=alice))
    assert not EmailFilter.objects.exists()


@pytest.mark.django_db
def test_user_cannot_take_over_a_global_filter(alice):
    stored = save_filter(scope=Scope.GLOBAL, action=Action.SKIP, subject_pattern="x")
    hijack = EmailFilter.objects.get(pk=stored.pk)
    hijack.scope, hijack.user = Scope.USER_INBOX, alice
    with pytest.raises(PermissionDenied):
        filter_save(user=alice, filter_obj=hijack)
    assert EmailFilter.objects.get(pk=stored.pk).scope == Scope.GLOBAL


@pytest.mark.django_db
def test_scope_and_owner_are_fixed_once_saved(admin, alice, bob):
    stored = save_filter(user=alice, subject_pattern="x")
    stored.user = bob
    with pytest.raises(ValidationError):
        filter_save(user=admin, filter_obj=stored)


@pytest.mark.django_db
def test_user_edits_their_own_filter(alice):
    stored = save_filter(user=alice, subject_pattern="x")
    stored.subject_pattern = "*y*"
    filter_save(user=alice, filter_obj=stored)
    assert EmailFilter.objects.get(pk=stored.pk).subject_pattern == "*y*"


@pytest.mark.django_db
def test_delete_checks_access(alice, bob):
    stored = save_filter(user=alice, subject_pattern="x")
    with pytest.raises(PermissionDenied):
        filter_delete(user=bob, filter_obj=stored)
    filter_delete(user=alice, filter_obj=stored)
    assert not EmailFilter.objects.exists()


@pytest.mark.django_db
def test_reorder_sets_the_given_order(alice, bob):
    a, b, c = (save_filter(user=alice, subject_pattern=x, order=i) for i, x in enumerate("abc"))
    filter_reorder(user=alice, ordered_ids=[c.pk, a.pk, b.pk])
    assert list(EmailFilter.objects.visible_to(alice)) == [c, a, b]
    bobs = save_filter(user=bob, subject_pattern="x")
    with pytest.raises(Http404):
        filter_reorder(user=alice, ordered_ids=[a.pk, bobs.pk])


@pytest.mark.django_db
def test_siblings_are_the_filters_of_the_same_list(
    alice, bob, alice_account, group_account, other_group_account
):
    inbox = [save_filter(user=alice, subject_pattern=x) for x in "ab"]
    save_filter(user=bob, subject_pattern="x")
    account = save_filter(
        scope=Scope.PERSONAL_ACCOUNT,
        personal_account=alice_account,
        action=Action.SKIP,
        subject_pattern="x",
    )
    group = save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=group_account,
        action=Action.SKIP,
        subject_pattern="x",
    )
    save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=other_group_account,
        action=Action.SKIP,
        subject_pattern="x",
    )
    assert list(filter_siblings(inbox[1])) == inbox
    assert list(filter_siblings(account)) == [account]
    assert list(filter_siblings(group)) == [group]


@pytest.mark.django_db
def test_move_swaps_with_the_neighbour_and_renumbers_the_list(alice):
    _a, b, c = (save_filter(user=alice, subject_pattern=x, order=5) for x in "abc")
    filter_move(user=alice, filter_obj=c, step=-1)
    assert list(EmailFilter.objects.values_list("subject_pattern", "order")) == [
        ("a", 0),
        ("c", 1),
        ("b", 2),
    ]
    filter_move(user=alice, filter_obj=b, step=1)  # already last: stays
    assert list(EmailFilter.objects.values_list("subject_pattern", flat=True)) == ["a", "c", "b"]


@pytest.mark.django_db
def test_move_and_set_active_check_access(alice, bob):
    bobs = save_filter(user=bob, subject_pattern="x")
    with pytest.raises(PermissionDenied):
        filter_move(user=alice, filter_obj=bobs, step=1)
    with pytest.raises(PermissionDenied):
        filter_set_active(user=alice, filter_obj=bobs, active=False)
    assert EmailFilter.objects.get(pk=bobs.pk).is_active


@pytest.mark.django_db
def test_set_active_needs_no_valid_filter(alice, alice_folder):
    broken = save_filter(
        user=alice, subject_pattern="x", action=Action.MOVE_TO_FOLDER, folder=alice_folder
    )
    alice_folder.delete()
    filter_set_active(user=alice, filter_obj=broken, active=False)
    assert not EmailFilter.objects.get(pk=broken.pk).is_active
