"""EmailFilter.clean(): owners, actions and options per scope, criteria, folders."""

from __future__ import annotations

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from filters.models import EmailFilter

from .conftest import make_filter

Action = EmailFilter.Action
Scope = EmailFilter.Scope


def errors_of(obj: EmailFilter) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        obj.full_clean()
    return caught.value.message_dict


@pytest.fixture
def owners(group_account, alice_account, alice):
    return {
        Scope.GLOBAL: {},
        Scope.GROUP_ACCOUNT: {"group_account": group_account},
        Scope.PERSONAL_ACCOUNT: {"personal_account": alice_account},
        Scope.USER_INBOX: {"user": alice},
    }


ALLOWED = {
    Scope.GLOBAL: {Action.SKIP},
    Scope.GROUP_ACCOUNT: {Action.SKIP, Action.MOVE_TO_GROUP_FOLDER},
    Scope.PERSONAL_ACCOUNT: {Action.SKIP},
    Scope.USER_INBOX: {Action.SKIP, Action.MOVE_TO_FOLDER, Action.NONE},
}


@pytest.mark.parametrize("scope", list(Scope))
@pytest.mark.parametrize("action", list(Action))
def test_each_scope_allows_only_its_actions(owners, billing_folder, alice_folder, scope, action):
    obj = make_filter(scope=scope, action=action, subject_pattern="*x*", **owners[scope])
    if action == Action.MOVE_TO_GROUP_FOLDER:
        obj.group_folder = billing_folder
    if action == Action.MOVE_TO_FOLDER:
        obj.folder = alice_folder
    if action in ALLOWED[scope]:
        obj.full_clean()
    else:
        assert "action" in errors_of(obj)


def test_filter_without_any_criterion_is_invalid(alice):
    obj = make_filter(user=alice, from_pattern="  ", body_contains_any=["", " "])
    assert NON_FIELD_ERRORS in errors_of(obj)


@pytest.mark.parametrize(
    "criterion",
    [
        {"from_pattern": "*@x.test"},
        {"to_pattern": "me@x.test"},
        {"subject_pattern": "hi"},
        {"body_contains_any": ["a"]},
        {"body_contains_all": ["a"]},
    ],
)
def test_any_single_criterion_is_enough(alice, criterion):
    make_filter(user=alice, **criterion).full_clean()


def test_clean_trims_patterns_and_drops_blank_phrases(alice):
    obj = make_filter(user=alice, subject_pattern="  *x*  ", body_contains_all=[" a ", "", "  "])
    obj.full_clean()
    assert obj.subject_pattern == "*x*"
    assert obj.body_contains_all == ["a"]


def test_body_phrases_must_be_a_list_of_strings(alice):
    obj = make_filter(user=alice, subject_pattern="x", body_contains_any="refund")
    assert "body_contains_any" in errors_of(obj)
    obj = make_filter(user=alice, subject_pattern="x", body_contains_all=[1, 2])
    assert "body_contains_all" in errors_of(obj)


def test_move_to_folder_needs_a_folder(alice):
    obj = make_filter(user=alice, subject_pattern="x", action=Action.MOVE_TO_FOLDER)
    assert "folder" in errors_of(obj)


def test_move_to_folder_needs_the_users_own_folder(alice, bob_folder):
    obj = make_filter(
        user=alice, subject_pattern="x", action=Action.MOVE_TO_FOLDER, folder=bob_folder
    )
    assert errors_of(obj)["folder"] == ["Choose one of your own folders."]


def test_move_to_group_folder_needs_a_group_folder(group_account):
    obj = make_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=group_account,
        subject_pattern="x",
        action=Action.MOVE_TO_GROUP_FOLDER,
    )
    assert "group_folder" in errors_of(obj)


def test_folders_are_cleared_unless_their_action_is_chosen(alice, alice_folder, billing_folder):
    obj = make_filter(
        user=alice,
        subject_pattern="x",
        action=Action.SKIP,
        folder=alice_folder,
        group_folder=billing_folder,
    )
    obj.full_clean()
    assert obj.folder is None
    assert obj.group_folder is None


@pytest.mark.parametrize("option", ["mark_as_read", "no_notification"])
@pytest.mark.parametrize("scope", [Scope.GLOBAL, Scope.GROUP_ACCOUNT, Scope.PERSONAL_ACCOUNT])
def test_inbox_options_only_for_user_inbox_filters(owners, scope, option):
    obj = make_filter(
        scope=scope, action=Action.SKIP, subject_pattern="x", **owners[scope], **{option: True}
    )
    assert option in errors_of(obj)


def test_user_inbox_options_are_valid_with_every_action(alice, alice_folder):
    for action in (Action.SKIP, Action.NONE, Action.MOVE_TO_FOLDER):
        make_filter(
            user=alice,
            subject_pattern="x",
            action=action,
            folder=alice_folder,
            mark_as_read=True,
            no_notification=True,
        ).full_clean()


@pytest.mark.parametrize(
    ("scope", "missing"),
    [
        (Scope.GROUP_ACCOUNT, "group_account"),
        (Scope.PERSONAL_ACCOUNT, "personal_account"),
        (Scope.USER_INBOX, "user"),
    ],
)
def test_each_scope_needs_its_owner(scope, missing):
    obj = make_filter(scope=scope, action=Action.SKIP, subject_pattern="x")
    assert missing in errors_of(obj)


def test_global_filter_has_no_owner(alice, group_account):
    obj = make_filter(scope=Scope.GLOBAL, action=Action.SKIP, subject_pattern="x", user=alice)
    assert "user" in errors_of(obj)
    obj = make_filter(
        scope=Scope.GLOBAL, action=Action.SKIP, subject_pattern="x", group_account=group_account
    )
    assert "group_account" in errors_of(obj)


def test_inbox_filter_cannot_name_an_account(alice, alice_account):
    obj = make_filter(user=alice, subject_pattern="x", personal_account=alice_account)
    assert "personal_account" in errors_of(obj)


def test_personal_account_filter_belongs_to_the_account_owner(admin, alice, alice_account):
    obj = make_filter(
        scope=Scope.PERSONAL_ACCOUNT,
        personal_account=alice_account,
        user=admin,  # whoever saves it, the owner owns it
        action=Action.SKIP,
        subject_pattern="x",
    )
    obj.full_clean()
    assert obj.user == alice


def test_label_names_the_filter_and_its_id(alice):
    obj = make_filter(user=alice, subject_pattern="x", name="Newsletters")
    obj.save()
    assert obj.label == f"Newsletters (#{obj.pk})"
