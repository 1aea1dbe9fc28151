"""A group mailbox's case and auto-reply settings are cases' own row, one per account."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.account_settings import case_settings_of
from cases.distribution import case_assign_by_rule
from cases.models import Case, GroupAccountCases
from mailboxes.models import GroupEmailAccount

pytestmark = pytest.mark.django_db


def test_new_group_account_gets_its_settings_row_with_what_it_was_given(team):
    account = GroupEmailAccount.objects.create(
        name="Support", email_address="support@postaci.example", auto_reply=True, target_team=team
    )
    row = GroupAccountCases.objects.get(account=account)
    assert (row.auto_reply, row.target_team, row.create_case) == (True, team, False)


def test_account_without_a_row_reads_the_defaults_and_saving_it_keeps_a_change(settings):
    settings.POSTACI_AUTO_REPLY_LIMIT = 6
    account = GroupEmailAccount.objects.create(name="Sales", email_address="sales@postaci.example")
    GroupAccountCases.objects.filter(account=account).delete()
    account = GroupEmailAccount.objects.get(pk=account.pk)

    own = case_settings_of(account)
    assert (own.create_case, own.auto_reply, own.auto_reply_sender_limit) == (False, False, 6)
    account.auto_reply_subject = "Received"
    account.save()
    assert GroupAccountCases.objects.get(account=account).auto_reply_subject == "Received"


def test_round_robin_on_an_account_without_a_row_creates_it_and_keeps_the_position(
    make_account, agents, team
):
    account = make_account()
    GroupAccountCases.objects.filter(account=account).delete()
    account = GroupEmailAccount.objects.get(pk=account.pk)
    account.case_distribution = "round_robin"
    account.target_team = team
    case = Case(name="Printer", group_account=account)
    assert case_assign_by_rule(case=case, account=account) == agents[0]
    row = GroupAccountCases.objects.get(account=account)
    assert (row.case_distribution, row.round_robin_last_user) == ("round_robin", agents[0])


def test_deleting_the_account_deletes_its_settings(make_account):
    account = make_account()
    account.delete()
    assert not GroupAccountCases.objects.exists()


def test_account_page_shows_the_case_and_auto_reply_rows_cases_registers(
    make_account, logged_in, django_user_model
):
    account = make_account(auto_reply=True)
    admin = django_user_model.objects.create_user(username="root", is_staff=True, is_superuser=True)
    page = logged_in(admin).get(reverse("mailboxes:group-account-detail", args=[account.pk]))
    body = page.content.decode()
    assert "Create cases" in body and "Auto-reply" in body
