"""A user tries a filter with the dry run, saves it, and the next matching email is sorted."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crm.models import Team
from filters.models import EmailFilter
from mailboxes.intake.fetch import fetch_account
from mailboxes.models import EmailUser
from tests.mailboxes.conftest import make_message

pytestmark = pytest.mark.browser


def test_user_tries_a_filter_saves_it_and_the_next_email_lands_in_its_folder(
    page, app_url, login_as, make_user, dovecot, make_group_account, screenshot
):
    team = Team.objects.create(name="Support")
    ayse = make_user("ayse", teams=[team], first_name="Ayşe")
    mailbox = dovecot.add_user("support")
    dovecot.append(
        mailbox, "INBOX", make_message(sender="billing@vendor.test", subject="Invoice 1001")
    )
    dovecot.append(mailbox, "INBOX", make_message(subject="Lunch on Friday?"))
    account = make_group_account(mailbox, teams=[team])
    assert fetch_account(account.pk).imported == 2

    login_as(ayse)
    page.get_by_role("link", name="My filters").click()
    page.get_by_role("link", name="New filter").first.click()
    page.get_by_label("Name").fill("Vendor invoices")
    page.get_by_label("From", exact=True).fill("*@vendor.test")
    page.get_by_label("Move to a folder").check()
    page.get_by_label("Or a new folder").fill("Vendor")

    page.evaluate("window.postaciMarker = 'still here'")  # htmx swaps the results in place
    page.get_by_role("button", name="Test against my last 200 emails").click()
    results = page.locator("#dry-run")
    expect(results).to_contain_text("Of the latest 2 emails, 1 would match.")
    matched = results.locator("tr.matched")
    expect(matched).to_have_count(1)
    expect(matched).to_contain_text("Invoice 1001")
    expect(matched).to_contain_text("Move to folder “Vendor”")
    assert page.evaluate("window.postaciMarker") == "still here"
    assert not EmailFilter.objects.exists()
    screenshot("filter-dry-run")

    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My filters")
    row = page.locator("tr.filter-row", has_text="Vendor invoices")
    expect(row).to_contain_text("*@vendor.test")
    expect(row).to_contain_text("Move to folder “Vendor”")

    dovecot.deliver(
        mailbox, make_message(sender="Billing <billing@vendor.test>", subject="Invoice 1002")
    )
    assert fetch_account(account.pk).imported == 1
    copy = EmailUser.objects.select_related("folder").get(user=ayse, email__subject="Invoice 1002")
    assert copy.folder is not None and copy.folder.name == "Vendor"
    older = EmailUser.objects.get(user=ayse, email__subject="Invoice 1001")
    assert older.folder is None  # filters sort what arrives; they do not re-sort the past

    page.reload()
    expect(row.locator("td.num")).to_have_text("1")
    screenshot("my-filters")
