"""The Emails area in a real browser: accounts, reading and filing mail, live updates,
keyboard, and HTML email that must not run (issue 4)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crm.models import Team
from mailboxes.intake.fetch import fetch_account
from mailboxes.models import EmailFolder, EmailUser, GroupEmailAccount, PersonalEmailAccount
from tests.crm.conftest import team  # noqa: F401  (fixture)
from tests.mailboxes.conftest import make_message, make_personal_account  # noqa: F401
from tests.mailboxes.ui.conftest import email_create, media_root  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
REPORT = b"%PDF-1.4\nquarterly numbers\n%%EOF\n"


@pytest.fixture
def fast_polling(settings):
    settings.POSTACI_INBOX_POLL_SECONDS = 1


def fill_account_form(page, dovecot, imap_user, name: str) -> None:
    page.locator("#id_name").fill(name)
    page.locator("#id_email_address").fill(imap_user.email)
    page.locator("#id_imap_host").fill(dovecot.host)
    page.locator("#id_imap_security").select_option("none")
    page.locator("#id_imap_port").fill(str(dovecot.imap_port))
    page.locator("#id_imap_username").fill(imap_user.username)
    page.locator("#id_imap_password").fill(imap_user.password)


def test_user_adds_a_personal_account_and_reads_and_files_its_mail(
    page,
    app_url,
    login_as,
    make_user,
    dovecot,
    imap_user,
    celery_worker,
    fast_polling,
    screenshot,
):
    ayse = make_user("ayse", first_name="Ayşe", last_name="Yılmaz")
    EmailFolder.objects.create(user=ayse, name="Clients")
    dovecot.create_folder(imap_user, "Projects")
    dovecot.append(
        imap_user,
        "Projects",
        make_message(
            subject="Quarterly report",
            sender="Ali Veli <ali@acme.example>",
            to=imap_user.email,
            body="Hi Ayşe, the report is attached.",
            attachments=[("Çeyrek raporu.pdf", "application/pdf", REPORT)],
        ),
    )

    login_as(ayse)
    page.get_by_role("link", name="Emails", exact=True).click()
    inbox_rows = page.get_by_test_id("email-row")
    expect(page.get_by_text("No emails here.")).to_be_visible()
    page.get_by_test_id("emails-menu").click()
    page.get_by_role("menuitem", name="Personal Email Accounts").click()
    page.get_by_test_id("new-account").click()

    fill_account_form(page, dovecot, imap_user, "My mailbox")
    page.get_by_test_id("test-connection").click()
    result = page.get_by_test_id("connection-result")
    expect(result).to_contain_text("Connected.")
    picker = page.get_by_test_id("folder-picker")
    picker.get_by_label("Projects").check()
    picker.get_by_label("INBOX").uncheck()
    page.get_by_test_id("save-account").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("My mailbox")
    account = PersonalEmailAccount.objects.get()
    assert account.owner == ayse and account.monitored_folders == ["Projects"]

    # the Inbox is open when the fetch runs: the message appears without a reload
    page.get_by_role("link", name="Inbox").first.click()
    page.evaluate("window.stillTheSamePage = true")
    page.goto(app_url(account.get_absolute_url()))
    page.get_by_test_id("fetch-now").click()
    expect(page.get_by_text("new mail appears in a moment")).to_be_visible()
    page.get_by_role("link", name="Inbox").first.click()
    page.evaluate("window.stillTheSamePage = true")
    expect(inbox_rows).to_have_count(1, timeout=20_000)
    expect(inbox_rows.first).to_contain_text("Quarterly report")
    expect(page.get_by_test_id("unread-inbox")).to_have_text("1")
    assert page.evaluate("window.stillTheSamePage") is True

    inbox_rows.first.get_by_role("link").click()
    view = page.get_by_test_id("email-view")
    expect(view).to_contain_text("Ali Veli")
    expect(view).to_contain_text("Hi Ayşe, the report is attached.")
    expect(page.get_by_test_id("email-accounts")).to_contain_text("My mailbox")
    with page.expect_download() as download:
        page.get_by_test_id("attachments").get_by_role("link").click()
    assert download.value.suggested_filename == "Çeyrek raporu.pdf"
    with open(download.value.path(), "rb") as handle:
        assert handle.read() == REPORT

    page.get_by_test_id("important-toggle").click()
    expect(page.get_by_test_id("important-toggle")).to_have_attribute("aria-pressed", "true")
    page.get_by_test_id("detail-move").select_option(label="Clients")
    page.get_by_test_id("email-actions").get_by_role("button", name="Move").click()
    expect(page.get_by_text("1 email moved to Clients.")).to_be_visible()
    expect(inbox_rows).to_have_count(0)

    page.get_by_test_id("mail-folders").get_by_role("link", name="Clients").click()
    expect(inbox_rows).to_have_count(1)
    page.get_by_test_id("mail-folders").get_by_role("link", name="Important").click()
    expect(inbox_rows).to_have_count(1)
    inbox_rows.first.get_by_role("link").click()
    page.get_by_test_id("email-actions").get_by_role("button", name="Trash").click()
    page.get_by_test_id("mail-folders").get_by_role("link", name="Trash").click()
    expect(inbox_rows).to_have_count(1)
    expect(inbox_rows.first).to_contain_text("Quarterly report")
    row = EmailUser.objects.get(user=ayse)
    assert row.in_trash and row.is_important and row.folder.name == "Clients"


def test_group_account_mail_reaches_its_team_only(
    page, app_url, login_as, make_user, dovecot, imap_user
):
    support = Team.objects.create(name="Support")
    admin = make_user("root", admin=True)
    member = make_user("member", teams=[support])
    outsider = make_user("outsider")
    dovecot.append(imap_user, "INBOX", make_message(subject="Printer is broken"))

    login_as(admin)
    page.get_by_role("group").filter(has_text="Administration").first.click() if False else None
    page.goto(app_url("/administration/"))
    page.get_by_role("link", name="Group Email Accounts").first.click()
    page.get_by_test_id("new-account").click()
    fill_account_form(page, dovecot, imap_user, "Support desk")
    page.get_by_label("Support").check()
    page.get_by_test_id("save-account").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Support desk")
    account = GroupEmailAccount.objects.get()
    assert list(account.teams.all()) == [support]
    assert fetch_account(account.pk).imported == 1

    page.context.clear_cookies()
    login_as(member)
    page.goto(app_url("/emails/"))
    expect(page.get_by_test_id("email-row")).to_have_count(1)
    expect(page.get_by_test_id("email-row").first).to_contain_text("Printer is broken")

    page.context.clear_cookies()
    login_as(outsider)
    page.goto(app_url("/emails/"))
    expect(page.get_by_text("No emails here.")).to_be_visible()
    page.goto(app_url("/emails/folder/all/"))
    expect(page.get_by_test_id("email-row")).to_have_count(0)


# Every payload, if it ever ran, would mark the document, message the page, log and alert.
RUN = (
    "window.__xss=1;document.documentElement.setAttribute('data-xss','1');"
    "top.postMessage('xss','*');console.log('xss ran');alert('xss')"
)


def test_new_mail_appears_in_an_open_inbox_and_the_counts_follow(
    page,
    app_url,
    login_as,
    make_user,
    dovecot,
    imap_user,
    fast_polling,
    make_personal_account,  # noqa: F811  (the fixture imported above)
):
    ayse = make_user("ayse")
    account = make_personal_account(ayse, imap_user)
    email_create(users=[ayse], subject="Yesterday's mail")
    login_as(ayse)
    page.goto(app_url("/emails/"))
    rows = page.get_by_test_id("email-row")
    expect(rows).to_have_count(1)
    expect(page.get_by_test_id("unread-inbox")).to_have_text("1")
    page.evaluate("window.stillTheSamePage = true")

    dovecot.deliver(imap_user, make_message(subject="Just arrived", to=imap_user.email))
    assert fetch_account(account.pk).imported == 1
    expect(rows).to_have_count(2, timeout=10_000)
    expect(rows.first).to_contain_text("Just arrived")
    expect(page.get_by_test_id("unread-inbox")).to_have_text("2")
    expect(page).to_have_title(re.compile(r"^\(2\) Inbox"))
    assert page.evaluate("window.stillTheSamePage") is True

    # read elsewhere (another tab): the count here follows
    EmailUser.objects.filter(user=ayse).update(is_read=True)
    expect(page.get_by_test_id("unread-inbox")).to_have_count(0, timeout=10_000)


XSS_HTML = f"""
<p id="greeting">Hello from the attacker</p>
<script>{RUN}</script>
<img src="x" onerror="{RUN}">
<body onload="{RUN}">
<a href="javascript:{RUN}">Click me</a>
<svg onload="{RUN}"><script>{RUN}</script></svg>
<div style="width: expression({RUN}); background: url(javascript:{RUN})">css</div>
<iframe src="javascript:{RUN}"></iframe>
<iframe srcdoc="<script>{RUN}</script>"></iframe>
<object data="javascript:{RUN}"></object>
<embed src="javascript:{RUN}">
<meta http-equiv="refresh" content="0;url=javascript:{RUN}">
<base href="javascript:{RUN}//">
<form action="javascript:{RUN}"><button>Send</button></form>
<math><a xlink:href="javascript:{RUN}">math</a></math>
<details open ontoggle="{RUN}"><summary>Details</summary></details>
<img src="https://attacker.example/track.gif">
"""
LISTEN = (
    "window.addEventListener('message', e => { window.__xssMessages = "
    "(window.__xssMessages || []).concat([String(e.data)]) })"
)


def test_html_email_with_xss_payloads_runs_no_script(page, app_url, login_as, make_user):
    ayse = make_user("ayse")
    email = email_create(
        users=[ayse],
        subject="<script>alert('subject')</script>Invoice",
        body_html=XSS_HTML,
        body_text="Hello from the attacker",
    )
    dialogs, console = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(LISTEN)

    login_as(ayse)
    page.goto(app_url(f"/emails/{email.pk}/"))
    frame = page.frame_locator("[data-testid=email-body]")
    expect(frame.get_by_text("Hello from the attacker")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "<script>alert('subject')</script>Invoice"
    )
    frame.get_by_text("Click me").click()
    frame.get_by_text("Details").click()
    page.get_by_test_id("show-images").click()
    frame = page.frame_locator("[data-testid=email-body]")
    expect(frame.get_by_text("Hello from the attacker")).to_be_visible()
    frame.get_by_text("Click me").click()
    page.wait_for_timeout(500)
    expect(frame.locator("html[data-xss]")).to_have_count(0)
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("window.__xssMessages") is None
    expect(frame.locator("#greeting")).to_have_count(0)  # ids are stripped too

    # opened on its own, the body document is sandboxed by its header as well
    page.goto(app_url(f"/emails/{email.pk}/body/"))
    expect(page.get_by_text("Hello from the attacker")).to_be_visible()
    page.get_by_text("Click me").click()
    page.wait_for_timeout(300)
    expect(page.locator("html[data-xss]")).to_have_count(0)
    assert dialogs == []
    assert not [text for text in console if "xss" in text.lower() or "alert" in text.lower()]


def test_keyboard_moves_opens_and_archives(page, app_url, login_as, make_user):
    ayse = make_user("ayse")
    older = email_create(users=[ayse], subject="Older mail")
    newer = email_create(users=[ayse], subject="Newer mail")
    login_as(ayse)
    page.goto(app_url("/emails/"))
    rows = page.get_by_test_id("email-row")
    expect(rows).to_have_count(2)
    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(re.compile("is-current"))
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile("is-current"))
    page.keyboard.press("s")  # star "Older mail" without leaving the page
    expect(rows.nth(1).locator("button.star")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("k")
    page.keyboard.press("e")  # archive "Newer mail"
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Older mail")
    assert EmailUser.objects.get(user=ayse, email=newer).in_archive
    expect(page.get_by_test_id("unread-inbox")).to_have_text("1")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/emails/{older.pk}/"))
    page.wait_for_load_state()
    page.keyboard.press("#")
    expect(page).to_have_url(re.compile(r"/emails/folder/inbox/$|/emails/$"))
    row = EmailUser.objects.get(user=ayse, email=older)
    assert row.in_trash and row.is_important


@pytest.mark.parametrize("language", ["en", "tr"])
def test_screenshots_of_the_emails_area(
    page,
    app_url,
    login_as,
    make_user,
    dovecot,
    imap_user,
    screenshot,
    language,
    team,  # noqa: F811  (the fixture imported above)
):
    ayse = make_user("ayse", first_name="Ayşe", last_name="Yılmaz", language=language, teams=[team])
    EmailFolder.objects.create(user=ayse, name="Müşteriler")
    PersonalEmailAccount.objects.create(
        owner=ayse,
        name="Ayşe's mailbox",
        email_address=imap_user.email,
        imap_host=dovecot.host,
        imap_port=dovecot.imap_port,
        imap_security="none",
        imap_username=imap_user.username,
        imap_password=imap_user.password,
    )
    subjects = [
        "Sipariş #1042 kargoya verildi",
        "Quarterly report",
        "Toplantı notları",
        "Re: Fiyat teklifi",
        "Invoice 2025-118",
        "Yeni müşteri kaydı",
    ]
    for n, subject in enumerate(subjects):
        email = email_create(
            users=[ayse],
            subject=subject,
            read=n % 2 == 1,
            sender_name=["Ali Veli", "Zeynep Kaya", "Acme Billing"][n % 3],
            body_text="Merhaba, ekte bilgileri bulabilirsiniz. Teşekkürler.",
            body_html="<p>Merhaba <b>Ayşe</b>,</p><p>Ekte bilgileri bulabilirsiniz.</p>"
            "<blockquote>Önceki mesaj</blockquote><p>Teşekkürler,<br>Ali</p>"
            '<img src="https://tracker.example/p.gif">',
        )
        if n == 0:
            EmailUser.objects.filter(email=email).update(is_important=True)
    login_as(ayse)
    page.set_viewport_size({"width": 1360, "height": 860})
    page.goto(app_url("/emails/"))
    expect(page.get_by_test_id("email-row")).to_have_count(6)
    screenshot(f"emails-inbox-{language}")
    page.get_by_test_id("email-row").first.get_by_role("link").click()
    expect(
        page.frame_locator("[data-testid=email-body]").get_by_text("Ekte bilgileri")
    ).to_be_visible()
    screenshot(f"emails-email-{language}", full_page=False)
    page.goto(app_url("/emails/accounts/new/"))
    fill_account_form(page, dovecot, imap_user, "Ayşe's mailbox")
    page.get_by_test_id("test-connection").click()
    expect(page.get_by_test_id("connection-result")).to_be_visible()
    screenshot(f"emails-account-form-{language}")
    if language == "tr":
        expect(page.get_by_test_id("connection-result")).to_contain_text("Bağlan")
