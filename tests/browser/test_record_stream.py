"""A user follows an Account and posts to its stream, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crm.models import Note
from crm.stream import is_following

pytestmark = pytest.mark.browser


@pytest.fixture
def shared_account(make_user, make_record, team_setup):
    """An Account in Ayşe's team, created by a colleague: she sees it but does not follow."""
    colleague, team = team_setup
    return make_record("account", colleague, name="Acme Corp", teams=[team])


@pytest.fixture
def team_setup(make_user, transactional_db):
    from crm.models import Team

    team = Team.objects.create(name="Sales")
    colleague = make_user("colleague", level="team", teams=[team])
    return colleague, team


def test_user_follows_account_and_posts_a_note(
    page, app_url, login_as, make_user, team_setup, shared_account, screenshot
):
    _colleague, team = team_setup
    ayse = make_user("ayse", level="team", teams=[team], first_name="Ayşe", last_name="Yılmaz")

    login_as(ayse)
    page.get_by_role("link", name="Accounts", exact=True).click()
    page.get_by_role("link", name="Acme Corp").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Corp")

    # htmx swaps the panels in place: a marker set now survives unless the page reloads
    page.evaluate("window.postaciMarker = 'still here'")
    follow = page.get_by_test_id("follow-button")
    expect(follow).to_have_text("Follow")
    follow.click()
    expect(page.get_by_test_id("follow-button")).to_have_text("Unfollow")
    expect(page.get_by_test_id("followers")).to_contain_text("Ayşe Yılmaz")

    page.get_by_placeholder("Write a post…").fill("Called Acme: they want a demo on Friday.")
    page.get_by_role("button", name="Post").click()
    notes = page.get_by_test_id("stream-notes")
    expect(notes.locator("li").first).to_contain_text("Called Acme: they want a demo on Friday.")
    expect(notes.locator("li").first).to_contain_text("Ayşe Yılmaz")
    expect(page.get_by_placeholder("Write a post…")).to_have_value("")
    assert page.evaluate("window.postaciMarker") == "still here"

    # the page survives a reload: both changes are stored, not only swapped in
    page.reload()
    expect(page.get_by_test_id("follow-button")).to_have_text("Unfollow")
    expect(page.get_by_test_id("stream-notes")).to_contain_text("they want a demo on Friday")
    assert is_following(shared_account, ayse)
    assert Note.objects.filter(type=Note.Type.POST, author=ayse).count() == 1
    screenshot("account-stream")


def test_turkish_user_sees_turkish_ui(
    page, app_url, login_as, make_user, team_setup, shared_account, screenshot
):
    _colleague, team = team_setup
    mehmet = make_user("mehmet", level="team", teams=[team], language="tr", first_name="Mehmet")

    login_as(mehmet)
    expect(page.get_by_role("link", name="Hesaplar", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Merhaba, Mehmet")
    page.get_by_role("link", name="Hesaplar", exact=True).click()
    expect(page.get_by_role("columnheader", name=re.compile("Ad"))).to_be_visible()
    page.get_by_role("link", name="Acme Corp").click()

    page.get_by_test_id("follow-button").click()
    expect(page.get_by_test_id("follow-button")).to_have_text("Takibi bırak")
    page.get_by_placeholder("Bir gönderi yazın…").fill("Yarın arayacağım.")
    page.get_by_role("button", name="Paylaş").click()
    expect(page.get_by_test_id("stream-notes")).to_contain_text("Yarın arayacağım.")
    expect(page.locator("html")).to_have_attribute("lang", "tr")
    screenshot("account-stream-tr")


def test_follow_and_post_work_without_javascript(
    browser, app_url, make_user, team_setup, shared_account
):
    _colleague, team = team_setup
    user = make_user("nojs", level="team", teams=[team])
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(app_url("/login/"))
        page.fill("input[name=username]", "nojs")
        page.fill("input[name=password]", "correct horse battery")
        page.click("form button[type=submit]")
        page.goto(app_url(shared_account.get_absolute_url()))

        page.get_by_test_id("follow-button").click()
        expect(page.get_by_test_id("follow-button")).to_have_text("Unfollow")
        page.get_by_placeholder("Write a post…").fill("Posted without JavaScript.")
        page.get_by_role("button", name="Post").click()
        expect(page.get_by_test_id("stream-notes")).to_contain_text("Posted without JavaScript.")
        assert page.url == app_url(shared_account.get_absolute_url())
        assert is_following(shared_account, user)
    finally:
        context.close()
