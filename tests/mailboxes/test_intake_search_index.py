"""The intake writes each new email's search document in the same batch (step 6b)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mailboxes.inbox.search_index import index_missing
from mailboxes.inbox.search_query import query_apply, query_parse
from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Email, EmailSearch
from tests.mailboxes.conftest import make_message

pytestmark = pytest.mark.django_db(transaction=True)


def search(text: str) -> list[str]:
    emails = query_apply(Email.objects.all(), query_parse(text), None)
    return sorted(emails.values_list("subject", flat=True))


def test_fetched_mail_is_found_by_body_sender_and_attachment_name(
    dovecot, imap_user, make_group_account
):
    dovecot.append(
        imap_user,
        "INBOX",
        make_message(
            subject="Fatura sorunu",
            sender="Ayşe Yılmaz <ayse@musteri.example>",
            body="Kasım faturamızda İADE tutarı görünmüyor.",
            attachments=[("Fatura Şubat.pdf", "application/pdf", b"%PDF-1.4")],
        ),
    )
    dovecot.append(imap_user, "INBOX", make_message(subject="Another"))
    fetch_account(make_group_account(imap_user).pk)
    assert EmailSearch.objects.count() == 2
    assert search("iade") == ["Fatura sorunu"]
    assert search("yilmaz") == ["Fatura sorunu"]
    assert search("musteri.example") == ["Fatura sorunu"]
    assert search("subat") == ["Fatura sorunu"]


def test_a_batch_is_indexed_in_one_statement(dovecot, imap_user, make_group_account, settings):
    settings.POSTACI_FETCH_BATCH_SIZE = 100
    dovecot.append_many(imap_user, "INBOX", [make_message() for _ in range(100)])
    account = make_group_account(imap_user)
    with CaptureQueriesContext(connection) as queries:
        fetch_account(account.pk)
    statements = [q["sql"] for q in queries if "mailboxes_emailsearch" in q["sql"]]
    assert len(statements) == 1 and EmailSearch.objects.count() == 100


def test_emails_without_a_document_are_indexed_by_the_sweep(dovecot, imap_user, make_group_account):
    dovecot.append(imap_user, "INBOX", make_message(subject="Before the index", body="eski"))
    fetch_account(make_group_account(imap_user).pk)
    EmailSearch.objects.all().delete()  # as after the upgrade that added the index
    assert search("eski") == []
    assert index_missing() == 1
    assert search("eski") == ["Before the index"]
