"""Who may use and who may manage which templates: the querysets every view reads through."""

from __future__ import annotations

import pytest

from mailtemplates.access import can_manage_template, visibilities_for
from mailtemplates.models import EmailTemplate

from .conftest import make_template

pytestmark = pytest.mark.django_db

Visibility = EmailTemplate.Visibility


@pytest.fixture
def templates(admin, alice, bob, carol, support, sales):
    return {
        "alice_private": make_template(alice),
        "alice_support": make_template(alice, Visibility.TEAMS, [support]),
        "bob_private": make_template(bob),
        "carol_sales": make_template(carol, Visibility.TEAMS, [sales]),
        "admin_everyone": make_template(admin, Visibility.EVERYONE),
        "admin_private": make_template(admin),
    }


def names(queryset) -> set[str]:
    return {t.name for t in queryset}


def test_a_user_uses_their_own_their_teams_and_everyones(templates, alice, bob, carol):
    usable = EmailTemplate.objects.usable_by
    assert names(usable(alice)) == {"alice private", "alice teams", "admin everyone"}
    assert names(usable(bob)) == {"bob private", "alice teams", "admin everyone"}
    assert names(usable(carol)) == {"carol teams", "admin everyone"}


def test_administrators_never_see_other_peoples_private_templates(templates, admin):
    listed = names(EmailTemplate.objects.listed_for(admin))
    assert "alice private" not in listed and "bob private" not in listed
    assert {"alice teams", "carol teams", "admin everyone", "admin private"} <= listed


def test_a_user_manages_their_own_but_not_what_is_shared_with_them(templates, alice, bob):
    assert names(EmailTemplate.objects.manageable_by(alice)) == {"alice private", "alice teams"}
    assert names(EmailTemplate.objects.manageable_by(bob)) == {"bob private"}
    assert not can_manage_template(bob, templates["alice_support"])
    assert not can_manage_template(alice, templates["admin_everyone"])


def test_administrators_manage_every_shared_template(templates, admin):
    assert can_manage_template(admin, templates["carol_sales"])
    assert can_manage_template(admin, templates["admin_everyone"])
    assert not can_manage_template(admin, templates["bob_private"])


def test_only_administrators_share_with_everyone_or_teams_they_are_not_in(
    alice, admin, support, sales
):
    assert visibilities_for(alice) == [Visibility.PRIVATE, Visibility.TEAMS]
    assert Visibility.EVERYONE in visibilities_for(admin)
    own = EmailTemplate(owner=alice, visibility=Visibility.TEAMS)
    assert can_manage_template(alice, own, {support.pk})
    assert not can_manage_template(alice, own, {sales.pk})
    assert not can_manage_template(alice, EmailTemplate(owner=alice, visibility="everyone"))


def test_inactive_users_use_nothing(templates, alice):
    alice.is_active = False
    alice.save()
    assert not EmailTemplate.objects.usable_by(alice).exists()
    assert not EmailTemplate.objects.manageable_by(alice).exists()
