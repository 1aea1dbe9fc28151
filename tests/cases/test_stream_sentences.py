"""The stream, the notifications and the stored reasons read as sentences, in the reader's
language (issue 12, items 4 and 5).

One support story through real servers (customer mail in by SMTP, fetched from Dovecot, the
auto-reply out through the relay) plus the CRM's own events writes every kind of note and
notification there is. Each is then rendered in English and in Turkish: a placeholder left
empty (a sentence reading a key its writer never stored) is logged by crm.messages and fails
the test, and a kind nobody wrote fails it too, so a new kind comes with its sentence tested.
"""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse
from django.utils import translation

from cases.models import AutoReplyLog, Case
from crm.kinds import note_kind_of, note_kinds, notification_kinds, notification_line
from crm.models import Lead, Note, Notification, User
from crm.records import record_create, record_update
from crm.stream import note_create, record_follow
from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email, MailAccount
from meetings.ical import invitation_parse
from meetings.services import invitation_apply, meeting_create
from tests.cases.mailflow import fetch, send_pending
from tests.cases.test_auto_reply_flow import CUSTOMER, customer_writes, support  # noqa: F401
from tests.meetings.invitations import outlook_ics

# Sentences whose only words are placeholders: the same in every language.
SAME_IN_EVERY_LANGUAGE = {"post"}


@pytest.fixture
def story(support, mail_relay, agents, dovecot, make_group_account, settings):  # noqa: F811
    """Every kind of note and notification, written by the code that writes them."""
    settings.POSTACI_FAILURE_NOTIFY_THRESHOLD = 1
    admin = User.objects.create_superuser("root", "root@example.test", "pw", first_name="Rana")
    follower = User.objects.create_user("deniz", "deniz@example.test", first_name="Deniz")

    # email-to-case: opened by the mailbox, assigned by its rule, auto-reply sent
    customer_writes(mail_relay, support, subject="Yazıcı çalışmıyor")
    fetch(support)
    send_pending()
    case = Case.objects.get()
    record_follow(case, admin)
    follow_user = follower
    # the customer writes again on the closed case, copying a colleague (who is told of an
    # email to them): reopened, no second auto-reply
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED)
    customer_writes(
        mail_relay,
        support,
        subject=f"Re: {case.display_number} Yazıcı çalışmıyor",
        headers={"Cc": follower.email},
    )
    fetch(support)

    # the CRM's own events: created and assigned by a user, status changed, a post
    lead = record_create(Lead(last_name="Demir", assigned_user=follow_user), user=admin)
    lead.status = Lead.Status.IN_PROCESS
    record_update(lead, user=follow_user, changed=["status"])
    lead.assigned_user = admin
    record_update(lead, user=follow_user, changed=["assigned_user"])
    note_create(parent=lead, author=follow_user, body="Called back.")

    # a meeting from an invitation on the case's email, then cancelled by its organizer
    case_email = Email.objects.filter(status=Email.Status.IMPORTED).order_by("pk").first()
    assert case_email.parent == case
    meeting_create(user=admin, email=case_email, invitation=invitation_parse(outlook_ics()))
    cancel = invitation_parse(outlook_ics(method="CANCEL", sequence=1))
    assert invitation_apply(cancel, sender="ayse@acme.example") == 1

    # a mailbox that cannot log in: its owners hear of it
    broken_user = dovecot.add_user("broken")
    broken = make_group_account(broken_user, name="Satış", imap_password="wrong")
    fetch_account(broken.pk)
    return {"case": case, "admin": admin, "follower": follower, "broken": broken}


def _lines(language: str) -> dict[str, list[str]]:
    """Every note's stream line and every notification's line, in ``language``."""
    lines: dict[str, list[str]] = {}
    with translation.override(language):
        for note in Note.objects.select_related("author"):
            kind = note_kind_of(note)
            lines.setdefault(f"note:{note.type}", []).append(kind.stream_line(note, html=False))
            lines[f"note:{note.type}"].append(kind.notification_line(note, html=False))
            detail = kind.detail_of(note)
            if detail:
                lines[f"note:{note.type}"].append(str(detail))
        for notification in Notification.objects.select_related("note"):
            key = f"notification:{notification.type}"
            lines.setdefault(key, []).append(notification_line(notification, html=False))
    return lines


def test_every_note_and_notification_kind_reads_as_a_sentence_in_english_and_turkish(story, caplog):
    with caplog.at_level(logging.ERROR, logger="crm.messages"):
        english, turkish = _lines("en"), _lines("tr")

    assert [r.getMessage() for r in caplog.records if r.name == "crm.messages"] == []
    written = set(english)
    assert {f"note:{kind}" for kind in note_kinds()} <= written
    assert {f"notification:{kind}" for kind in notification_kinds()} | {
        "notification:note"
    } <= written
    for key, lines in english.items():
        assert all(line.strip() for line in lines), key
        if key.removeprefix("note:") not in SAME_IN_EVERY_LANGUAGE:
            assert turkish[key] != lines, f"{key} is not in Turkish: {turkish[key]}"


def test_case_stream_names_who_acted_and_why_in_the_readers_language(
    story,
    support,  # noqa: F811
    agents,
    logged_in,
):
    case = story["case"]
    agent = agents[0]
    agent.language = "en"
    agent.save()
    page = logged_in(agent).get(case.get_absolute_url()).content.decode()
    stream = page[page.index('id="stream-panel"') :]
    assert "<strong>Support</strong> opened this case from an email" in stream
    assert f"<strong>Support</strong> assigned it to {agent}" in stream
    assert "Round-robin in team “Support”: next after the previous assignee." in stream
    assert f"A reply from {CUSTOMER} reopened this case: Closed → Assigned" in stream
    assert "Email received from Ayşe Yılmaz" in stream
    assert f"<strong>Support &lt;{support.email_address}&gt;</strong> sent an email" in stream
    assert "assigned it to ·" not in stream and "changed  to" not in stream

    agent.language = "tr"
    agent.save()
    page = logged_in(agent).get(case.get_absolute_url()).content.decode()
    stream = page[page.index('id="stream-panel"') :]
    assert "<strong>Support</strong> bu vakayı gelen bir e-postadan açtı" in stream
    assert f"<strong>Support</strong> bu kaydı {agent} kişisine atadı" in stream
    reason = "“Support” takımında sırayla dağıtım: bir önceki atanandan sonra sıra bu kişideydi."
    assert reason in stream
    assert f"Vaka, {CUSTOMER} yanıt verdiği için yeniden açıldı: Kapandı → Atandı" in stream
    # the decisions and the assignment reason, stored as codes, read in Turkish too
    assert "E-posta [#" in page and "vakasına eklendi" in page
    assert "Round-robin" not in page and "joins case" not in page


def test_stored_reasons_are_codes_not_english_sentences(story):
    case = story["case"]
    assert case.assignment_reason.as_json() == {
        "code": "cases.round_robin",
        "params": {"team": "Support"},
    }
    refused = AutoReplyLog.objects.get(outcome=AutoReplyLog.Outcome.REFUSED)
    assert refused.reason.as_json() == {
        "code": "cases.auto_reply.joins_case",
        "params": {"case": case.display_number},
    }
    broken = MailAccount.objects.get(pk=story["broken"].pk)
    assert broken.last_error.as_json() == {"code": "mail.imap_auth", "params": {}}
    failure = Notification.objects.get(type=Notification.Type.MESSAGE)
    assert failure.message.code == "mail.fetch_failing"
    with translation.override("tr"):
        assert str(failure.message) == (
            "“Satış” posta kutusundaki postalar getirilemedi: "
            "Sunucu kullanıcı adını ya da parolayı kabul etmedi."
        )


def test_turkish_account_page_shows_the_fetch_error_and_retry_in_turkish(story, logged_in):
    admin = story["admin"]
    admin.language = "tr"
    admin.save()
    url = reverse("mailboxes:group-account-detail", args=[story["broken"].pk])
    page = logged_in(admin).get(url).content.decode()
    assert "Sunucu kullanıcı adını ya da parolayı kabul etmedi." in page
    assert "sonra yeniden denenecek" in page  # not "şu andan itibaren 55 saniye"
    assert "şu andan itibaren" not in page and "refused the user name" not in page


def test_home_names_the_mailbox_or_the_actor_never_someone(story, logged_in):
    case, admin = story["case"], story["admin"]
    home = logged_in(case.assigned_user).get(reverse("home")).content.decode()
    assert f"Support assigned {case} to you" in home
    assert "Someone" not in home
    home = logged_in(admin).get(reverse("home")).content.decode()
    assert f"New email on {case}" in home and "from Ayşe Yılmaz" in home
    assert "Deniz posted on Demir" in home
    assert "The mailbox “Satış” could not be fetched" in home
    assert "Someone" not in home
