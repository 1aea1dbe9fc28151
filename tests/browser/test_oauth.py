"""OAuth 2.0 sign-in in a real browser against the local provider: an administrator adds a
Microsoft-kind provider, connects a group mailbox by consenting on the provider's page, mail
is fetched and a case reply leaves over SMTP with XOAUTH2; a user connects a personal one.
Screenshots in English and Turkish land in artifacts/screenshots/oauth-*.png."""

from __future__ import annotations

import pytest

from cases.models import Case, CaseDistribution
from crm.models import Team, TeamMembership
from mailboxes.models import (
    AuthMethod,
    Email,
    GroupEmailAccount,
    OAuthProvider,
    OAuthState,
    PersonalEmailAccount,
    Security,
)
from tests.mailboxes.conftest import make_message
from tests.mailboxes.sending.conftest import role
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

CUSTOMER = "ayse@customer.example"


def _wait(condition, timeout: float = 15.0):
    value = wait_until(condition, timeout, interval=0.1)
    if not value:
        raise AssertionError("timed out")
    return value


@pytest.fixture
def registered(oauth_server, live_server):
    """Postaci registered at the provider with the live server's redirect URI."""
    return oauth_server.add_client(
        redirect_uris=[f"{live_server.url}/emails/oauth/callback/"], name="Postaci"
    )


def _mailbox(dovecot, oauth_server, prefix: str):
    imap_user = dovecot.add_user(prefix, domain="example.test")
    oauth_server.add_user(imap_user.email)
    return imap_user


def _servers(dovecot, oauth_smtp) -> dict:
    return {
        "imap_host": dovecot.host,
        "imap_port": dovecot.imap_port,
        "imap_security": Security.NONE,
        "use_smtp": True,
        "smtp_host": oauth_smtp.host,
        "smtp_port": oauth_smtp.port,
        "smtp_security": Security.NONE,
    }


def _consent(page, address: str, screenshot=None, name: str = "") -> None:
    page.wait_for_selector("button[value=allow]")
    page.fill("input[name=login]", address)
    if screenshot:
        screenshot(name)
    page.click("button[value=allow]")


def test_admin_adds_microsoft_provider_connects_group_mailbox_and_replies_over_xoauth2(
    page,
    app_url,
    login_as,
    make_user,
    screenshot,
    oauth_server,
    dovecot,
    oauth_smtp,
    registered,
    celery_worker,
):
    admin = make_user("admin", admin=True, first_name="Deniz", last_name="Admin")
    team = Team.objects.create(name="Destek")
    agent = make_user("agent", first_name="Zeynep", last_name="Kaya", roles=[role("team")])
    TeamMembership.objects.create(team=team, user=agent)
    mailbox = _mailbox(dovecot, oauth_server, "support")

    # 1. Administration › Email providers › New: a Microsoft provider at the local server
    login_as(admin)
    page.goto(app_url("/administration/"))
    page.locator("#content").get_by_role("link", name="Email providers").click()
    page.get_by_test_id("new-provider").click()
    assert page.get_by_test_id("redirect-uri").input_value() == registered.redirect_uris[0]
    base = f"{oauth_server.url}/contoso/oauth2/v2.0"
    page.select_option("select[name=kind]", "microsoft")
    page.fill("input[name=name]", "Contoso 365")
    page.fill("input[name=tenant]", "contoso")
    page.fill("input[name=client_id]", registered.client_id)
    page.fill("input[name=client_secret]", registered.client_secret)
    page.fill("input[name=authorize_url]", f"{base}/authorize")
    page.fill("input[name=token_url]", f"{base}/token")
    screenshot("oauth-provider-form-en")
    page.get_by_test_id("save-provider").click()
    page.wait_for_url(app_url("/emails/email-providers/"))
    provider = OAuthProvider.objects.get(name="Contoso 365")
    assert registered.client_secret not in page.content()
    assert "IMAP.AccessAsUser.All" in provider.scopes

    support = GroupEmailAccount.objects.create(
        name="Destek",
        email_address=mailbox.email,
        auth_method=AuthMethod.OAUTH,
        oauth_provider=provider,
        create_case=True,
        target_team=team,
        case_distribution=CaseDistribution.DIRECT,
        assign_to_user=agent,
        smtp_is_shared=True,
        from_name="Destek Ekibi",
        **_servers(dovecot, oauth_smtp),
    )
    support.teams.set([team])

    # 2. The group account: Connect, consent at the provider, back connected
    page.goto(app_url(support.get_absolute_url()))
    assert page.get_by_test_id("oauth-not-connected").is_visible()
    screenshot("oauth-group-connect-en")
    page.get_by_test_id("oauth-connect").click()
    _consent(page, mailbox.email, screenshot, "oauth-provider-consent")
    page.wait_for_url(app_url(support.get_absolute_url()))
    status = page.get_by_test_id("oauth-connected").inner_text()
    assert f"Connected as {mailbox.email}" in status
    screenshot("oauth-group-connected-en")
    support.refresh_from_db()
    assert support.oauth_state == OAuthState.CONNECTED
    assert support.oauth_access_token not in page.content()

    # 3. Mail is fetched (Fetch now → worker) and opens a case
    raw = make_message(
        sender=f"Ayşe Yılmaz <{CUSTOMER}>", to=mailbox.email, subject="Yazıcı çalışmıyor"
    )
    dovecot.deliver(mailbox, raw)
    page.get_by_test_id("fetch-now").click()
    case = _wait(lambda: Case.objects.filter(name__contains="Yazıcı").first(), timeout=30)

    # 4. The agent replies from the case page; it leaves over SMTP with XOAUTH2
    page.context.clear_cookies()
    login_as(agent)
    page.goto(app_url(case.get_absolute_url()))
    box = page.locator("#reply-box")
    box.get_by_test_id("compose-editor").click()
    page.keyboard.type("Yazıcıyı kapatıp açar mısınız?")
    box.get_by_test_id("reply-send").click()
    page.wait_for_url(app_url(case.get_absolute_url()))
    (sent,) = oauth_smtp.wait_for_messages(1, timeout=30)
    assert sent.auth_mechanism == "XOAUTH2" and sent.auth_login == mailbox.email
    assert sent.rcpt_tos == [CUSTOMER]
    assert f"[#{case.number}]" in sent.message["Subject"]
    _wait(lambda: Email.objects.filter(status=Email.Status.SENT, parent_id=case.pk).exists())

    # 5. The same pages in Turkish
    admin.language = "tr"
    admin.save(update_fields=["language"])
    page.context.clear_cookies()
    login_as(admin)
    page.goto(app_url(f"/emails/email-providers/{provider.pk}/"))
    assert "Yönlendirme adresi" in page.content()
    screenshot("oauth-provider-form-tr")
    page.goto(app_url(support.get_absolute_url()))
    assert f"{mailbox.email} olarak bağlı" in page.get_by_test_id("oauth-connected").inner_text()
    screenshot("oauth-group-connected-tr")


def test_user_connects_a_personal_mailbox_in_turkish_and_mail_is_fetched(
    page,
    app_url,
    login_as,
    make_user,
    screenshot,
    oauth_server,
    dovecot,
    oauth_smtp,
    registered,
):
    from mailboxes.intake.fetch import fetch_account

    user = make_user("mira", language="tr", first_name="Mira", last_name="Demir")
    mailbox = _mailbox(dovecot, oauth_server, "mira")
    provider = OAuthProvider.objects.create(
        kind=OAuthProvider.Kind.GENERIC,
        name="Test OAuth",
        client_id=registered.client_id,
        client_secret=registered.client_secret,
        authorize_url=oauth_server.endpoints.authorize,
        token_url=oauth_server.endpoints.token,
        revoke_url=oauth_server.endpoints.revoke,
        scopes="openid email offline_access",
    )
    account = PersonalEmailAccount.objects.create(
        owner=user,
        name="Mira",
        email_address=mailbox.email,
        auth_method=AuthMethod.OAUTH,
        oauth_provider=provider,
        **_servers(dovecot, oauth_smtp),
    )

    login_as(user)
    page.goto(app_url(account.get_absolute_url()))
    assert "Bağlı değil" in page.get_by_test_id("oauth-not-connected").inner_text()
    screenshot("oauth-personal-connect-tr")
    page.get_by_test_id("oauth-connect").click()
    _consent(page, mailbox.email)
    page.wait_for_url(app_url(account.get_absolute_url()))
    assert f"{mailbox.email} olarak bağlı" in page.get_by_test_id("oauth-connected").inner_text()
    screenshot("oauth-personal-connected-tr")

    dovecot.deliver(mailbox, make_message(subject="Kişisel posta"))
    assert fetch_account(account.pk).imported == 1
    assert Email.objects.filter(subject="Kişisel posta").exists()

    page.get_by_test_id("oauth-disconnect").click()
    page.wait_for_url(app_url(account.get_absolute_url()))
    assert page.get_by_test_id("oauth-not-connected").is_visible()
    assert oauth_server.revocations[-1].revoked
