"""Digests are automatic mail: never sent to a user whose address bounced."""

from __future__ import annotations

import pytest

from crm.models import EmailAddress, Notification
from crm.stream import note_create, record_follow
from mailboxes.notes.digest import notification_digests_send

pytestmark = pytest.mark.django_db


def test_no_digest_goes_to_an_address_that_bounced(system_smtp_server, make_user, owner, acme):
    gone = make_user("gone", level="all", notification_digest="daily")
    fine = make_user("fine", level="all", notification_digest="daily")
    for user in (gone, fine):
        record_follow(acme, user)
    EmailAddress.objects.create(address=gone.email, is_invalid=True, invalid_source="hard_bounce")
    note_create(parent=acme, author=owner, body="news")

    assert notification_digests_send(frequency="daily") == 1
    [captured] = system_smtp_server.wait_for_messages(1)
    assert captured.rcpt_tos == [fine.email]
    # the bell still has it; the next run does not try again
    assert Notification.objects.filter(user=gone, read_at__isnull=True).count() == 1
    assert notification_digests_send(frequency="daily") == 0
