"""Email-to-case and auto-reply settings move from the group account to cases'
GroupAccountCases row: every account keeps every value, both ways."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cases.models import GroupAccountCases
from mailboxes.models import GroupEmailAccount

BEFORE = [("mailboxes", "0008_oauth_sign_in"), ("cases", "0002_stored_messages")]
SETTINGS = {
    "create_case": True,
    "case_distribution": "round_robin",
    "target_team_role": "Tier 2",
    "reopen_case_on_reply": False,
    "auto_reply": True,
    "auto_reply_subject": "Talebiniz alındı: {case_subject}",
    "auto_reply_body": "Merhaba {customer_name},\nteşekkürler.",
    "auto_reply_from_name": "Destek Ekibi",
    "auto_reply_from_address": "no-reply@example.test",
    "auto_reply_reply_to": "destek@example.test",
    "auto_reply_sender_limit": 7,
    "auto_reply_case_limit": 2,
    "auto_reply_period_minutes": 45,
}


def _migrate(targets=None) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


def _old_accounts():
    """Two group accounts as they were: one with every setting changed, one with defaults."""
    apps = MigrationExecutor(connection).loader.project_state(BEFORE).apps
    User = apps.get_model("crm", "User")
    Team = apps.get_model("crm", "Team")
    Account = apps.get_model("mailboxes", "GroupEmailAccount")
    ali = User.objects.create(username="ali")
    team = Team.objects.create(name="Support")
    busy = Account.objects.create(
        kind="group",
        name="Destek",
        email_address="destek@example.test",
        target_team=team,
        round_robin_last_user=ali,
        **SETTINGS,
    )
    plain = Account.objects.create(kind="group", name="Sales", email_address="sales@example.test")
    return busy.pk, plain.pk, team.pk, ali.pk


def _settings(row, names) -> dict:
    return {name: getattr(row, name) for name in names}


@pytest.mark.django_db(transaction=True)
def test_migrating_group_account_settings_to_cases_keeps_every_value_both_ways():
    _migrate(BEFORE)
    try:
        busy, plain, team, ali = _old_accounts()
        _migrate()

        row = GroupAccountCases.objects.get(account_id=busy)
        assert _settings(row, SETTINGS) == SETTINGS
        assert (row.target_team_id, row.round_robin_last_user_id) == (team, ali)
        default = GroupAccountCases.objects.get(account_id=plain)
        assert (default.create_case, default.auto_reply, default.target_team_id) == (
            False,
            False,
            None,
        )
        assert (
            GroupEmailAccount.objects.get(pk=busy).auto_reply_subject
            == (SETTINGS["auto_reply_subject"])
        )

        _migrate(BEFORE)  # and back: the columns get the values again
        apps = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        old = apps.get_model("mailboxes", "GroupEmailAccount").objects.get(pk=busy)
        assert _settings(old, SETTINGS) == SETTINGS
        assert (old.target_team_id, old.round_robin_last_user_id) == (team, ali)
    finally:
        _migrate()
