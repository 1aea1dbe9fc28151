""" "Store sent emails" against the real Dovecot: the exact bytes land in Sent flagged \\Seen,
and fetching the Sent folder afterwards imports nothing twice."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email, OutgoingMessage, RawMessage
from mailboxes.sending.compose import AttachmentPart, Mailbox
from mailboxes.sending.delivery import email_deliver
from mailboxes.sending.drafts import ComposeData
from mailboxes.sending.send import email_send
from mailboxes.sending.store_sent import email_store_sent_copy
from tests.mailboxes.sending.conftest import smtp_fields
from tests.waiting import wait_until


@pytest.fixture
def owner(make_user):
    return make_user("owner", first_name="Gülşen", last_name="Öztürk")


@pytest.fixture
def storing_account(owner, imap_user, make_personal_account, smtp_server):
    return make_personal_account(
        owner,
        imap_user,
        store_sent_emails=True,
        sent_folder="Sent",
        **smtp_fields(smtp_server),
    )


def _send(owner, account) -> Email:
    email = email_send(
        user=owner,
        data=ComposeData(
            from_account_id=account.pk,
            to=[Mailbox("customer@example.com", "Müşteri")],
            subject="Teklif: ığüşöç",
            body_html="<p>Ekte teklifimiz var.</p>",
            uploads=[AttachmentPart("Teklif Şubat.pdf", "application/pdf", b"%PDF-1.4")],
        ),
    )
    assert email_deliver(email.pk).status == "sent"
    return Email.objects.get(pk=email.pk)


@pytest.mark.django_db
def test_sent_copy_is_the_exact_bytes_seen_and_a_fetch_of_sent_imports_nothing_new(
    owner, storing_account, imap_user, dovecot, smtp_server
):
    email = _send(owner, storing_account)
    assert email_store_sent_copy(email.pk).status == "stored"

    [captured] = smtp_server.wait_for_messages(1)
    [(uid, stored)] = dovecot.fetch(imap_user, "Sent").items()
    assert stored == bytes(email.outgoing.raw)
    assert stored.rstrip(b"\r\n") == captured.original_content.rstrip(b"\r\n")
    assert dovecot.flags(imap_user, "Sent") == {uid: {"\\Seen"}}
    assert OutgoingMessage.objects.get(pk=email.pk).sent_copy_at is not None

    storing_account.monitored_folders = ["INBOX", "Sent"]
    storing_account.save()
    summary = fetch_account(storing_account.pk)
    assert (summary.fetched, summary.imported, summary.duplicates, summary.errors) == (
        1,
        0,
        1,
        [],
    )
    assert Email.objects.count() == 1
    raw = RawMessage.objects.get(folder="Sent")
    assert (raw.status, raw.email_id) == (RawMessage.Status.DUPLICATE, email.pk)
    email.refresh_from_db()
    assert email.status == Email.Status.SENT


@pytest.mark.django_db
def test_storing_again_does_not_append_a_second_copy(owner, storing_account, imap_user, dovecot):
    email = _send(owner, storing_account)
    assert email_store_sent_copy(email.pk).status == "stored"
    assert email_store_sent_copy(email.pk).status == "skipped"
    OutgoingMessage.objects.filter(pk=email.pk).update(sent_copy_at=None)  # answer lost
    assert email_store_sent_copy(email.pk).status == "present"
    assert len(dovecot.fetch(imap_user, "Sent")) == 1


@pytest.mark.django_db
def test_accounts_without_store_sent_keep_no_copy(
    owner, imap_user, make_personal_account, smtp_server, dovecot
):
    account = make_personal_account(owner, imap_user, **smtp_fields(smtp_server))
    email = _send(owner, account)
    assert email_store_sent_copy(email.pk).status == "skipped"
    assert dovecot.fetch(imap_user, "Sent") == {}


@pytest.mark.django_db
def test_imap_failure_is_recorded_and_retried(owner, storing_account, imap_user, dovecot, settings):
    email = _send(owner, storing_account)
    storing_account.imap_password = "wrong"
    storing_account.save()
    outcome = email_store_sent_copy(email.pk)
    assert outcome.status == "failed"  # a refused password is not worth retrying
    assert "password" in str(OutgoingMessage.objects.get(pk=email.pk).sent_copy_error)
    storing_account.imap_password = imap_user.password
    storing_account.imap_port = 1  # nothing listens there: retried later
    storing_account.save()
    assert email_store_sent_copy(email.pk).status == "retry"


def test_worker_sends_then_stores_the_copy(
    celery_worker, owner, storing_account, dovecot, imap_user
):
    _send_through_worker = email_send(
        user=owner,
        data=ComposeData(from_account_id=storing_account.pk, to=[Mailbox("customer@example.com")]),
    )
    wait_until(lambda: dovecot.fetch(imap_user, "Sent"), timeout=10)
    [stored] = dovecot.fetch(imap_user, "Sent").values()
    email = Email.objects.get(pk=_send_through_worker.pk)
    assert email.status == Email.Status.SENT
    assert stored == bytes(email.outgoing.raw)


def test_a_failed_sent_copy_shows_on_the_email_and_the_sender_saves_it_again(
    celery_worker, owner, storing_account, imap_user, dovecot, smtp_server, make_user, logged_in
):
    """The owner sees why the copy is missing, fixes the password, and one click stores it
    (the email itself is not sent again)."""
    storing_account.imap_password = "wrong"
    storing_account.save()
    email = _send(owner, storing_account)
    # The worker's own attempt fails on the password and is not retried; wait for it, so it
    # cannot store the copy behind the test's back once the password is fixed.
    assert wait_until(
        lambda: OutgoingMessage.objects.filter(pk=email.pk).exclude(sent_copy_error={}).exists()
    )
    assert email_store_sent_copy(email.pk).status == "failed"
    storing_account.imap_password = imap_user.password
    storing_account.save()

    page = logged_in(owner).get(reverse("mailboxes:email-detail", args=[email.pk]))
    html = page.content.decode()
    assert 'data-testid="sent-copy-status"' in html and "password" in html
    assert 'data-testid="sent-copy-retry"' in html

    retry_url = reverse("mailboxes:email-retry-sent-copy", args=[email.pk])
    admin_less = make_user("colleague")
    assert logged_in(admin_less).post(retry_url).status_code == 404  # cannot even see it

    logged_in(owner).post(retry_url)
    wait_until(lambda: dovecot.fetch(imap_user, "Sent"), timeout=10)
    [stored] = dovecot.fetch(imap_user, "Sent").values()
    assert stored == bytes(email.outgoing.raw)
    html = logged_in(owner).get(reverse("mailboxes:email-detail", args=[email.pk])).content
    assert b'data-testid="sent-copy-status"' not in html
    assert Email.objects.get(pk=email.pk).status == Email.Status.SENT
    assert len(smtp_server.messages) == 1  # the email went out once
