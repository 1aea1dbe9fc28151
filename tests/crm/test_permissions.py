"""Role permissions are contributed by apps (crm.permissions): no column per app on Role."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from crm import permissions as registry
from crm.access import access_level, users_access
from crm.models import Role


@pytest.fixture
def widget_permission():
    """A record type of an app installed later: registered, never migrated into crm."""
    registry.record_access_register("widget", "widgets", order=70)
    yield
    registry._PERMISSIONS.pop("widget_access")


def test_a_new_apps_permission_works_without_a_crm_migration(widget_permission, make_user):
    reader = make_user("reader")
    reader.roles.add(Role.objects.create(name="widget readers", widget_access="all"))
    other = make_user("other", level="team")

    assert access_level(reader, "widget") == "all"
    assert access_level(other, "widget") == "own"  # a role that predates it: the default
    assert users_access([reader.pk, other.pk], "widget") == {
        reader.pk: ("all", frozenset()),
        other.pk: ("own", frozenset()),
    }


def test_the_role_form_lists_every_registered_permission(widget_permission, make_user, logged_in):
    admin = make_user("root", admin=True)
    client = logged_in(admin)
    body = client.get(reverse("administration:role-create")).content.decode()
    for name in ("group_email_account", "personal_email_accounts", "email_access", "widget_access"):
        assert f'name="{name}"' in body

    response = client.post(
        reverse("administration:role-create"),
        {
            "name": "Widget desk",
            "group_email_account": "no",
            "widget_access": "team",
            **{
                f"{s}_access": "own"
                for s in ("email", "case", "account", "contact", "lead", "opportunity")
            },
        },
    )
    assert response.status_code == 302
    assert Role.objects.get(name="Widget desk").widget_access == "team"


@pytest.mark.django_db(transaction=True)
def test_migrating_role_columns_keeps_every_value():
    executor = MigrationExecutor(connection)
    executor.migrate([("crm", "0001_initial")])
    old_role = executor.loader.project_state([("crm", "0001_initial")]).apps.get_model(
        "crm", "Role"
    )
    old_role.objects.create(
        name="Support desk",
        group_email_account="team",
        personal_email_accounts=False,
        email_access="team",
        case_access="all",
        lead_access="no",
    )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    role = Role.objects.get(name="Support desk")
    assert role.permissions == {
        "group_email_account": "team",
        "personal_email_accounts": False,
        "email_access": "team",
        "case_access": "all",
        "account_access": "own",
        "contact_access": "own",
        "lead_access": "no",
        "opportunity_access": "own",
    }
