"""The email list: search, filters, bulk actions and live updates."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mailboxes.models import EmailFolder, EmailUser, GroupEmailFolder
from tests.mailboxes.ui.conftest import attachment_create

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def subjects(response) -> list[str]:
    return [e.subject for e in response.context["page_obj"].object_list]


def state(user, email) -> EmailUser:
    return EmailUser.objects.get(user=user, email=email)


def bulk(client, ids, action, **extra):
    return client.post(
        reverse("mailboxes:bulk-action"),
        {"ids": [e.pk for e in ids], "action": action, "next": "/emails/", **extra},
    )


def test_search_matches_subject_sender_and_text_in_any_case(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    make_email(users=[ayse], subject="Şikayet: kargo gecikti")
    make_email(users=[ayse], subject="Invoice", sender="billing@vendor.example")
    make_email(users=[ayse], subject="Hello", body_text="The SHIPMENT left Istanbul today.")
    make_email(users=[ayse], subject="Unrelated")
    client = logged_in(ayse)
    url = reverse("mailboxes:inbox")
    assert subjects(client.get(url, {"q": "şikayet"})) == ["Şikayet: kargo gecikti"]
    assert subjects(client.get(url, {"q": "VENDOR"})) == ["Invoice"]
    assert subjects(client.get(url, {"q": "shipment istanbul"})) == ["Hello"]
    assert subjects(client.get(url, {"q": "shipment paris"})) == []


def test_search_treats_dotted_and_dotless_i_alike(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    make_email(users=[ayse], subject="KIRMIZI KALEM SİPARİŞİ")
    make_email(users=[ayse], subject="Mavi defter")
    client = logged_in(ayse)
    url = reverse("mailboxes:inbox")
    assert subjects(client.get(url, {"q": "kırmızı sipariş"})) == ["KIRMIZI KALEM SİPARİŞİ"]
    assert subjects(client.get(url, {"q": "Kirmizi"})) == ["KIRMIZI KALEM SİPARİŞİ"]


def test_filters_narrow_the_folder(
    make_user, make_email, logged_in, make_record, make_group_account, imap_user
):
    ayse = make_user("ayse", admin=True)
    account = make_group_account(imap_user)
    acme = make_record("account", ayse, name="Acme")
    old = make_email(
        users=[ayse], subject="old", date_sent=timezone.now() - datetime.timedelta(days=30)
    )
    unread = make_email(
        users=[ayse], subject="unread", to=("boss@corp.example",), accounts=[account]
    )
    read = make_email(users=[ayse], subject="read", read=True, parent=acme, linked_by="sender")
    attachment_create(read, "a.pdf", b"%PDF", "application/pdf")
    client = logged_in(ayse)
    url = reverse("mailboxes:inbox")
    assert subjects(client.get(url, {"unread": "on"})) == ["unread", "old"]
    assert subjects(client.get(url, {"attachments": "on"})) == ["read"]
    assert subjects(client.get(url, {"recipient": "boss@"})) == ["unread"]
    assert subjects(client.get(url, {"sender": "customer"})) == ["read", "unread", "old"]
    assert subjects(client.get(url, {"account": account.pk})) == ["unread"]
    assert subjects(client.get(url, {"linked": "crm.account"})) == ["read"]
    assert subjects(client.get(url, {"linked": "none"})) == ["unread", "old"]
    since = (timezone.now() - datetime.timedelta(days=2)).date().isoformat()
    until = (timezone.now() - datetime.timedelta(days=10)).date().isoformat()
    assert subjects(client.get(url, {"since": since})) == ["read", "unread"]
    assert subjects(client.get(url, {"until": until})) == ["old"]
    assert old and unread


def test_account_filter_offers_only_accounts_the_user_knows(
    make_user, logged_in, make_personal_account, dovecot
):
    ayse, bora = make_user("ayse"), make_user("bora")
    mine = make_personal_account(ayse, dovecot.add_user("mine"))
    theirs = make_personal_account(bora, dovecot.add_user("theirs"))
    response = logged_in(ayse).get(reverse("mailboxes:inbox"))
    choices = list(response.context["filter"].form.fields["account"].queryset)
    assert [a.pk for a in choices] == [mine.pk]
    assert theirs.pk not in [a.pk for a in choices]


def test_pages_of_fifty(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    for n in range(55):
        make_email(users=[ayse], subject=f"m{n:02}")
    client = logged_in(ayse)
    first = client.get(reverse("mailboxes:inbox"))
    assert len(subjects(first)) == 50 and subjects(first)[0] == "m54"
    assert first.context["page_obj"].newer is None
    second = client.get(reverse("mailboxes:inbox"), {"older": first.context["page_obj"].older})
    assert subjects(second) == ["m04", "m03", "m02", "m01", "m00"]
    assert not second.context["live"]
    assert second.context["page_obj"].older is None
    back = client.get(reverse("mailboxes:inbox"), {"newer": second.context["page_obj"].newer})
    assert subjects(back) == subjects(first) and back.context["live"]
    oldest = client.get(reverse("mailboxes:inbox"), {"oldest": "1"})
    assert subjects(oldest)[-1] == "m00" and len(subjects(oldest)) == 50
    assert subjects(oldest)[0] == "m49" and oldest.context["page_obj"].older is None
    # a cursor that does not parse is the newest page
    assert subjects(client.get(reverse("mailboxes:inbox"), {"older": "x.y"})) == subjects(first)


def test_pages_stay_put_while_mail_arrives(make_user, make_email, logged_in):
    """A keyset page is "the 50 after this email": new mail does not shift it, and paging
    back reaches the new mail on the newest page."""
    ayse = make_user("ayse")
    base = timezone.now() - datetime.timedelta(days=1)
    for n in range(120):
        make_email(users=[ayse], subject=f"m{n:03}", date_sent=base + datetime.timedelta(minutes=n))
    client = logged_in(ayse)
    first = client.get(reverse("mailboxes:inbox"))
    second = client.get(reverse("mailboxes:inbox"), {"older": first.context["page_obj"].older})
    before = subjects(second)
    assert before[0] == "m069" and before[-1] == "m020"
    for n in range(7):  # seven arrive while the second page is open
        make_email(users=[ayse], subject=f"new{n}", date_sent=timezone.now())
    again = client.get(reverse("mailboxes:inbox"), {"older": first.context["page_obj"].older})
    assert subjects(again) == before
    third = client.get(reverse("mailboxes:inbox"), {"older": again.context["page_obj"].older})
    assert subjects(third) == [f"m{n:03}" for n in range(19, -1, -1)]
    # "newer" is the 50 just before the page: the old first page, the new mail before it
    newer = client.get(reverse("mailboxes:inbox"), {"newer": again.context["page_obj"].newer})
    assert subjects(newer) == subjects(first)
    assert not newer.context["page_obj"].is_newest
    top = client.get(reverse("mailboxes:inbox"), {"newer": newer.context["page_obj"].newer})
    assert subjects(top)[:2] == ["new6", "new5"] and len(subjects(top)) == 50
    assert top.context["page_obj"].is_newest and top.context["live"]
    # rows with the same date keep a stable order by id across pages
    same = timezone.now() - datetime.timedelta(days=3)
    bora = make_user("bora")
    for n in range(60):
        make_email(users=[bora], subject=f"s{n:02}", date_sent=same)
    client = logged_in(bora)
    page1 = client.get(reverse("mailboxes:inbox"))
    page2 = client.get(reverse("mailboxes:inbox"), {"older": page1.context["page_obj"].older})
    seen = subjects(page1) + subjects(page2)
    assert seen == [f"s{n:02}" for n in range(59, -1, -1)]


def test_bulk_actions_change_only_the_users_own_state(make_user, make_email, logged_in):
    ayse, bora = make_user("ayse"), make_user("bora")
    one, two = make_email(users=[ayse, bora]), make_email(users=[ayse, bora])
    client = logged_in(ayse)

    bulk(client, [one, two], "read")
    assert state(ayse, one).is_read and state(ayse, two).is_read
    assert not state(bora, one).is_read
    bulk(client, [one], "unread")
    assert not state(ayse, one).is_read
    bulk(client, [one], "important")
    assert state(ayse, one).is_important and not state(bora, one).is_important
    bulk(client, [one], "archive")
    assert state(ayse, one).in_archive
    response = bulk(client, [one, two], "trash")
    assert state(ayse, one).in_trash and state(ayse, two).in_trash
    assert response.status_code == 302 and response["Location"] == "/emails/"
    bulk(client, [one], "restore")
    assert not state(ayse, one).in_trash and state(ayse, one).in_archive
    assert not state(bora, two).in_trash


def test_move_to_folders(make_user, make_email, logged_in, team):
    ayse = make_user("ayse", teams=[team])
    projects = EmailFolder.objects.create(user=ayse, name="Projects")
    support = GroupEmailFolder.objects.create(name="Support")
    support.teams.add(team)
    email = make_email(users=[ayse])
    client = logged_in(ayse)

    bulk(client, [email], "move", target=f"f{projects.pk}")
    assert state(ayse, email).folder == projects
    bulk(client, [email], "move", target="inbox")
    assert state(ayse, email).folder is None
    bulk(client, [email], "move", target=f"g{support.pk}")
    email.refresh_from_db()
    assert email.group_folder == support
    bulk(client, [email], "move", target="inbox")
    email.refresh_from_db()
    assert email.group_folder is None


def test_moving_into_someone_elses_folder_does_nothing(make_user, make_email, logged_in):
    ayse, bora = make_user("ayse"), make_user("bora")
    theirs = EmailFolder.objects.create(user=bora, name="Bora's")
    hidden = GroupEmailFolder.objects.create(name="Hidden")
    email = make_email(users=[ayse])
    client = logged_in(ayse)
    bulk(client, [email], "move", target=f"f{theirs.pk}")
    bulk(client, [email], "move", target=f"g{hidden.pk}")
    email.refresh_from_db()
    assert state(ayse, email).folder is None and email.group_folder is None


def test_bulk_action_ignores_emails_the_user_cannot_see(make_user, make_email, logged_in):
    ayse, bora = make_user("ayse"), make_user("bora")
    hers, his = make_email(users=[ayse]), make_email(users=[bora])
    bulk(logged_in(ayse), [hers, his], "trash")
    assert state(ayse, hers).in_trash
    assert not EmailUser.objects.filter(user=ayse, email=his).exists()
    assert not state(bora, his).in_trash


def test_star_button_toggles_one_email(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    email, other = make_email(users=[ayse]), make_email(users=[ayse])
    client = logged_in(ayse)
    url = reverse("mailboxes:bulk-action")
    client.post(url, {"star": f"{email.pk}|important", "ids": [other.pk], "action": "trash"})
    assert state(ayse, email).is_important and not state(ayse, other).in_trash
    client.post(url, {"star": f"{email.pk}|unimportant"})
    assert not state(ayse, email).is_important


def test_actions_on_team_mail_file_it_for_the_user(make_user, make_email, logged_in, team):
    teammate = make_user("teammate", level="team", teams=[team])
    email = make_email(users=[], teams=[team])
    client = logged_in(teammate)
    # opening it does not put it into her Inbox
    client.get(reverse("mailboxes:email-detail", args=[email.pk]))
    assert not EmailUser.objects.filter(user=teammate).exists()
    bulk(client, [email], "important")
    assert state(teammate, email).is_important and state(teammate, email).is_read


def test_bulk_actions_need_the_csrf_token(make_user, make_email):
    ayse = make_user("ayse")
    email = make_email(users=[ayse])
    client = Client(enforce_csrf_checks=True)
    client.force_login(ayse)
    response = client.post(reverse("mailboxes:bulk-action"), {"ids": [email.pk], "action": "trash"})
    assert response.status_code == 403
    assert not state(ayse, email).in_trash
    assert client.get(reverse("mailboxes:bulk-action")).status_code == 405


def test_keyboard_actions_get_an_empty_answer(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    email = make_email(users=[ayse])
    response = logged_in(ayse).post(
        reverse("mailboxes:bulk-action"), {"ids": [email.pk], "action": "archive"}, **HTMX
    )
    assert response.status_code == 204 and state(ayse, email).in_archive


def test_live_update_sends_new_rows_and_fresh_counts(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    make_email(users=[ayse], subject="already shown")
    client = logged_in(ayse)
    page = client.get(reverse("mailboxes:inbox"))
    marks = {"after_email": page.context["email_mark"], "after_row": page.context["row_mark"]}
    assert b'id="email-poller"' in page.content and b'hx-trigger="every 10s' in page.content
    assert f'name="after_email" value="{marks["after_email"]}"'.encode() in page.content

    url = reverse("mailboxes:folder-updates", args=["inbox"])
    quiet = client.get(url, marks, **HTMX)
    assert quiet.context["new_rows"] == []

    make_email(users=[ayse], subject="just arrived")
    make_email(users=[], subject="not for her")
    update = client.get(url, marks, **HTMX)
    assert [e.subject for e in update.context["new_rows"]] == ["just arrived"]
    body = update.content.decode()
    assert 'hx-swap-oob="afterbegin:#email-rows"' in body and "just arrived" in body
    assert 'id="mail-folders"' in body and 'hx-swap-oob="true"' in body
    assert "<title>(2) Inbox" in body
    assert f'name="after_email" value="{update.context["email_mark"]}"' in body
    # the next poll starts after what this one sent
    again = client.get(
        url,
        {"after_email": update.context["email_mark"], "after_row": update.context["row_mark"]},
        **HTMX,
    )
    assert again.context["new_rows"] == []


def test_live_update_sees_an_old_email_reaching_the_user(make_user, make_email, logged_in):
    ayse, bora = make_user("ayse"), make_user("bora")
    shared = make_email(users=[bora], subject="forwarded to her later")
    client = logged_in(ayse)
    page = client.get(reverse("mailboxes:inbox"))
    EmailUser.objects.create(user=ayse, email=shared)
    update = client.get(
        reverse("mailboxes:folder-updates", args=["inbox"]),
        {"after_email": page.context["email_mark"], "after_row": page.context["row_mark"]},
        **HTMX,
    )
    assert [e.subject for e in update.context["new_rows"]] == ["forwarded to her later"]


def test_live_update_keeps_the_search(make_user, make_email, logged_in):
    ayse = make_user("ayse")
    client = logged_in(ayse)
    page = client.get(reverse("mailboxes:inbox"), {"q": "invoice"})
    assert b"updates/?q=invoice" in page.content
    make_email(users=[ayse], subject="Invoice 7")
    make_email(users=[ayse], subject="Lunch")
    update = client.get(
        reverse("mailboxes:folder-updates", args=["inbox"]),
        {
            "after_email": page.context["email_mark"],
            "after_row": page.context["row_mark"],
            "q": "invoice",
        },
        **HTMX,
    )
    assert [e.subject for e in update.context["new_rows"]] == ["Invoice 7"]


def test_live_update_without_htmx_goes_to_the_list(make_user, logged_in):
    response = logged_in(make_user("ayse")).get(reverse("mailboxes:folder-updates", args=["inbox"]))
    assert response.status_code == 302


def test_a_users_row_carries_the_emails_date_whoever_writes_it(make_user, make_email):
    """``EmailUser.date`` (the key of the user's folder index) is kept by the database: a
    row inserted by any path takes its email's date, a row saved from a stale object keeps
    it, and the rows follow when the email's date changes (a draft being sent)."""
    ayse, bora = make_user("ayse"), make_user("bora")
    when = timezone.now() - datetime.timedelta(days=2)
    mail = make_email(users=[ayse], date_sent=when)
    assert EmailUser.objects.get(user=ayse, email=mail).date == when
    row = EmailUser.objects.create(email=mail, user=bora)  # the object itself knows nothing
    row.is_read = True
    row.save()
    assert EmailUser.objects.get(pk=row.pk).date == when
    later = when + datetime.timedelta(hours=5)
    mail.date_sent = later
    mail.save(update_fields=["date_sent"])
    assert set(EmailUser.objects.filter(email=mail).values_list("date", flat=True)) == {later}


def test_own_folders_read_the_users_index_by_date(make_user, make_email):
    """Inbox and the other folders of the user's own rows are read along (user, date):
    the list's order is the index's, whoever else has mail."""
    from django.db import connection

    from mailboxes.inbox.pagination import newest_first
    from mailboxes.inbox.selectors import INBOX, UserMailbox, folder_emails, folder_sort_field

    ayse = make_user("ayse")
    make_email(users=[ayse])
    mailbox = UserMailbox.of(ayse)
    inbox = mailbox.resolve(INBOX)
    assert folder_sort_field(inbox) == "user_date"
    assert folder_sort_field(mailbox.resolve("all")) == "date_sent"
    rows = newest_first(folder_emails(mailbox, inbox), folder_sort_field(inbox))[:51]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off")
        plan = rows.explain()
        assert "mailboxes_eu_user_date" in plan, plan


def test_rows_escape_the_mail_and_speak_the_readers_language_and_time(
    make_user, make_email, logged_in
):
    ayse = make_user("ayse")
    ayse.language, ayse.time_zone = "tr", "America/New_York"
    ayse.save()
    sent = datetime.datetime(2020, 3, 1, 3, 30, tzinfo=datetime.UTC)  # 29 Feb 22:30 in New York
    make_email(
        users=[ayse],
        subject='<img src=x onerror="alert(1)">',
        sender_name="<b>Eve</b>",
        body_text="<script>alert(2)</script> & more",
        date_sent=sent,
    )
    page = logged_in(ayse).get(reverse("mailboxes:inbox")).content.decode()
    row = page[page.index('data-testid="email-row"') : page.index("</tr>", page.index("email-row"))]
    assert "<img" not in row and "<b>" not in row and "<script" not in row
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in row
    assert (
        "&lt;b&gt;Eve&lt;/b&gt;" in row
        and "&lt;script&gt;alert(2)&lt;/script&gt; &amp; more" in row
    )
    assert "“&lt;img src=x onerror=&quot;alert(1)&quot;&gt;” e-postasını seç" in row  # Turkish
    assert 'title="Önemli olarak işaretle"' in row and "Okunmadı:" in row
    assert 'datetime="2020-02-29T22:30:00-05:00"' in row  # the reader's zone
