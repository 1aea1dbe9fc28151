"""A fetch holds one batch in memory at a time, so a batch is bounded by bytes as well as by
messages (``POSTACI_FETCH_BATCH_BYTES``); the peak itself is measured by bench/memory.py."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mailboxes.intake.fetch import fetch_account, fetch_batches
from mailboxes.models import Email, FolderCursor
from tests.mailboxes.conftest import make_message


def test_batches_hold_at_most_the_byte_budget_and_a_larger_message_alone(settings):
    settings.POSTACI_FETCH_BATCH_SIZE = 3
    settings.POSTACI_FETCH_BATCH_BYTES = 100
    settings.POSTACI_MAX_MESSAGE_SIZE = 1000
    sizes = {1: 40, 2: 40, 3: 40, 4: 500, 5: 10, 6: 5000, 7: 10, 8: 10, 9: 10, 10: 10}
    assert fetch_batches(list(sizes), sizes) == [
        [1, 2],  # a third would be 120 bytes
        [3],
        [4],  # larger than the budget: alone
        [5, 6, 7],  # 6 is over the size limit: its headers only, it weighs nothing
        [8, 9, 10],  # three messages at most
    ]


@pytest.mark.django_db(transaction=True)
def test_a_fetch_over_the_byte_budget_imports_everything_in_several_batches(
    dovecot, imap_user, make_group_account, settings
):
    messages = [make_message(subject=f"Order {n}", body="x" * 2000) for n in range(5)]
    for message in messages:
        dovecot.append(imap_user, "INBOX", message)
    settings.POSTACI_FETCH_BATCH_BYTES = 2 * len(messages[0]) + 10  # two a batch
    account = make_group_account(imap_user)
    with CaptureQueriesContext(connection) as queries:
        summary = fetch_account(account.pk)
    assert (summary.fetched, summary.imported, summary.errors) == (5, 5, [])
    assert Email.objects.count() == 5
    cursor_updates = [q for q in queries if q["sql"].startswith('UPDATE "mailboxes_foldercursor"')]
    assert len(cursor_updates) >= 3  # each batch commits with the cursor: 2 + 2 + 1
    assert FolderCursor.objects.get(account=account).last_uid == max(
        dovecot.folder_uids(imap_user, "INBOX")
    )
