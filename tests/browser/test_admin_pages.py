"""Issue 12 in a real browser, in English and Turkish: the account page following its first
fetch, the group account form's limits and role picker, group mailboxes in the folder pane,
a filter's skipped mail, and actions that look like buttons."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crm.models import Team, TeamMembership
from filters.models import EmailFilter
from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email, GroupEmailAccount
from tests.browser.test_emails import fill_account_form
from tests.mailboxes.conftest import make_message
from tests.mailboxes.ui.conftest import email_create

pytestmark = pytest.mark.browser
LANGUAGES = ["en", "tr"]

# Buttons and button links that show no border and no background: they read as plain text.
PLAIN_TEXT_ACTIONS = """() => [...document.querySelectorAll('main button, main a.btn')]
  .filter(el => el.offsetParent !== null)
  .filter(el => {
    const style = getComputedStyle(el);
    const clear = c => c === 'transparent' || c.endsWith(', 0)');
    const noBorder = parseFloat(style.borderTopWidth) === 0 || clear(style.borderTopColor);
    return noBorder && clear(style.backgroundColor);
  })
  .map(el => el.textContent.trim())"""


def assert_actions_look_like_buttons(page) -> None:
    page.wait_for_load_state("load")  # the stylesheets are in (before, links have no style)
    assert page.evaluate(PLAIN_TEXT_ACTIONS) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_new_account_page_follows_its_first_fetch(
    page, app_url, login_as, make_user, dovecot, imap_user, screenshot, language
):
    dovecot.append(imap_user, "INBOX", make_message(subject="Waiting since Monday"))
    admin = make_user("root", admin=True, language=language)
    login_as(admin)
    page.goto(app_url("/emails/group-accounts/new/"))
    fill_account_form(page, dovecot, imap_user, "Support")
    page.get_by_test_id("save-account").click()

    # saved: no worker runs in this test yet, so the page waits for the fetch it asked for
    health = page.locator("#header-health [data-testid=account-health]")
    expect(health).to_have_class("health health-fetching")
    expect(page.get_by_test_id("account-status-polling")).to_have_count(1)
    assert_actions_look_like_buttons(page)
    screenshot(f"account-fetching-{language}")
    page.evaluate("window.stillTheSamePage = true")

    account = GroupEmailAccount.objects.get()
    assert fetch_account(account.pk).imported == 1  # what the worker does

    expect(health).to_have_class("health health-ok", timeout=10_000)
    expect(page.get_by_test_id("account-status-polling")).to_have_count(0)
    expect(page.locator("#account-status td.num").nth(1)).to_have_text("1")  # last UID
    assert page.evaluate("window.stillTheSamePage") is True
    screenshot(f"account-fetched-{language}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_group_account_form_has_limits_and_picks_roles_of_the_target_team(
    page, app_url, login_as, make_user, screenshot, language, settings
):
    settings.POSTACI_AUTO_REPLY_LIMIT = 4
    first, night = Team.objects.create(name="First line"), Team.objects.create(name="Night")
    for n, (team, position) in enumerate(
        [(first, "Tier 1"), (first, "Tier 2"), (night, "On call")]
    ):
        TeamMembership.objects.create(team=team, user=make_user(f"agent{n}"), position=position)
    account = GroupEmailAccount.objects.create(
        name="Support",
        email_address="support@example.test",
        target_team=first,
        create_case=True,
        use_imap=False,
        use_smtp=True,
        smtp_host="127.0.0.1",
    )
    login_as(make_user("root", admin=True, language=language))
    page.goto(app_url(f"/emails/group-accounts/{account.pk}/edit/"))

    role = page.locator("#id_target_team_role")
    expect(role.locator("option")).to_have_count(3)  # any member, Tier 1, Tier 2
    page.locator("#id_target_team").select_option(str(night.pk))
    expect(role.locator("option[value='On call']")).to_have_count(1)
    expect(role.locator("option")).to_have_count(2)
    role.select_option("On call")
    expect(page.locator("#id_auto_reply_sender_limit")).to_have_value("4")
    page.locator("#id_auto_reply_case_limit").fill("2")
    page.locator("#panel-case").scroll_into_view_if_needed()
    screenshot(f"account-form-roles-limits-{language}", full_page=True)
    page.get_by_test_id("save-account").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Support")
    expect(page.locator(".send-test button")).to_be_visible()
    assert_actions_look_like_buttons(page)  # "Send test email" among them
    account.refresh_from_db()
    assert (account.target_team_id, account.target_team_role) == (night.pk, "On call")
    assert account.auto_reply_case_limit == 2


@pytest.mark.parametrize("language", LANGUAGES)
def test_admin_outside_the_teams_reads_a_group_mailbox_from_the_folder_pane(
    page, app_url, login_as, make_user, screenshot, language
):
    team = Team.objects.create(name="Support")
    agent = make_user("agent", teams=[team])
    account = GroupEmailAccount.objects.create(name="Support desk", email_address="s@example.test")
    account.teams.set([team])
    email_create(users=[agent], teams=[team], accounts=[account], subject="Printer is on fire")
    login_as(make_user("root", admin=True, language=language))
    page.goto(app_url("/emails/"))

    expect(page.get_by_test_id("email-row")).to_have_count(0)  # not in the team: empty Inbox
    mailboxes = page.get_by_test_id("group-mailboxes")
    mailboxes.get_by_role("link", name="Support desk").click()
    expect(page.get_by_test_id("email-row")).to_have_count(1)
    expect(page.get_by_test_id("email-row")).to_contain_text("Printer is on fire")
    screenshot(f"folders-group-mailboxes-{language}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_admin_sees_what_a_filter_skipped_and_imports_it_anyway(
    page, app_url, login_as, make_user, dovecot, make_group_account, screenshot, language
):
    team = Team.objects.create(name="Sales")
    make_user("agent", teams=[team])
    mailbox = dovecot.add_user("sales")
    dovecot.append(
        mailbox,
        "INBOX",
        make_message(subject="[BULK] Big order inside", sender="Buyer <buyer@shop.test>"),
    )
    dovecot.append(mailbox, "INBOX", make_message(subject="[BULK] Weekly deals"))
    bulk = EmailFilter(
        name="Bulk mail",
        scope=EmailFilter.Scope.GLOBAL,
        action=EmailFilter.Action.SKIP,
        subject_pattern="[bulk]*",
    )
    bulk.full_clean()
    bulk.save()
    account = make_group_account(mailbox, teams=[team])
    assert fetch_account(account.pk).skipped == 2
    login_as(make_user("root", admin=True, language=language))

    page.goto(app_url("/filters/administration/"))
    assert_actions_look_like_buttons(page)
    page.get_by_test_id("skipped-link").click()
    rows = page.get_by_test_id("skipped-messages").locator("tr.skipped-row")
    expect(rows).to_have_count(2)
    order = rows.filter(has_text="Big order inside")
    expect(order).to_contain_text("Buyer <buyer@shop.test>")
    assert_actions_look_like_buttons(page)
    screenshot(f"filter-skipped-{language}")

    order.get_by_test_id("import-anyway").click()
    expect(order.get_by_test_id("import-anyway")).to_have_count(0)
    assert Email.objects.get().subject == "[BULK] Big order inside"
    screenshot(f"filter-skipped-imported-{language}")
