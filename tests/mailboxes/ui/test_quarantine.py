"""The quarantine: who sees which failed messages, raw download, Retry and Retry all."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mailboxes.models import Email, RawMessage
from tests.mailboxes.conftest import make_message

pytestmark = pytest.mark.django_db(transaction=True)


def quarantined(account, subject: str, uid: int) -> RawMessage:
    """A message that failed its first import (say a database outage mid-batch); its bytes
    are fine, so a retry imports it."""
    return RawMessage.objects.create(
        account=account,
        folder="INBOX",
        uidvalidity=1,
        uid=uid,
        sha256=f"{uid}",
        raw=make_message(subject=subject, to=account.email_address),
        status=RawMessage.Status.QUARANTINED,
        error="OperationalError: server closed the connection unexpectedly",
    )


@pytest.fixture
def setup(make_user, make_personal_account, make_group_account, dovecot):
    ayse, bora, admin = make_user("ayse"), make_user("bora"), make_user("root", admin=True)
    hers = make_personal_account(ayse, dovecot.add_user("a"), name="Ayşe box")
    his = make_personal_account(bora, dovecot.add_user("b"), name="Bora box")
    group = make_group_account(dovecot.add_user("g"), name="Support box")
    return {
        "ayse": ayse,
        "bora": bora,
        "admin": admin,
        "hers": quarantined(hers, "hers", 1),
        "his": quarantined(his, "his", 2),
        "group": quarantined(group, "group mail", 3),
        "accounts": (hers, his, group),
    }


def test_owner_sees_only_her_accounts_quarantine(setup, logged_in):
    client = logged_in(setup["ayse"])
    page = client.get(reverse("mailboxes:quarantine"))
    assert [r.pk for r in page.context["page_obj"].object_list] == [setup["hers"].pk]
    assert "OperationalError" in page.content.decode()
    his = setup["his"]
    for name in ("quarantine-detail", "raw-message"):
        assert client.get(reverse(f"mailboxes:{name}", args=[his.pk])).status_code == 404
    assert client.post(reverse("mailboxes:quarantine-retry", args=[his.pk])).status_code == 404
    assert client.get(reverse("mailboxes:raw-message", args=[setup["group"].pk])).status_code == 404
    his.refresh_from_db()
    assert his.status == RawMessage.Status.QUARANTINED


def test_admin_sees_everything_and_filters_by_account(setup, logged_in):
    client = logged_in(setup["admin"])
    page = client.get(reverse("mailboxes:quarantine"))
    assert page.context["page_obj"].paginator.count == 3
    group = setup["accounts"][2]
    only = client.get(reverse("mailboxes:quarantine"), {"account": group.pk})
    assert [r.pk for r in only.context["page_obj"].object_list] == [setup["group"].pk]
    detail = client.get(reverse("mailboxes:quarantine-detail", args=[setup["group"].pk]))
    assert "Subject: group mail" in detail.content.decode()


def test_raw_source_downloads_the_exact_bytes(setup, logged_in):
    raw = setup["hers"]
    response = logged_in(setup["ayse"]).get(reverse("mailboxes:raw-message", args=[raw.pk]))
    assert response.content == bytes(raw.raw)
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"] == f'attachment; filename="message-{raw.pk}.eml"'


def test_retry_imports_the_message(setup, logged_in):
    client = logged_in(setup["ayse"])
    response = client.post(
        reverse("mailboxes:quarantine-retry", args=[setup["hers"].pk]), follow=True
    )
    assert "The message was imported." in response.content.decode()
    email = Email.objects.get(subject="hers")
    assert email.email_users.filter(user=setup["ayse"]).exists()
    inbox = client.get(reverse("mailboxes:inbox")).content.decode()
    assert "hers" in inbox


def test_retry_all_retries_what_the_user_sees(setup, logged_in):
    response = logged_in(setup["ayse"]).post(reverse("mailboxes:quarantine-retry-all"), follow=True)
    assert (
        "1 message retried: 1 imported or resolved, 0 still failing." in response.content.decode()
    )
    assert set(Email.objects.values_list("subject", flat=True)) == {"hers"}

    admin = logged_in(setup["admin"])
    group = setup["accounts"][2]
    admin.post(reverse("mailboxes:quarantine-retry-all"), {"account": group.pk})
    assert set(Email.objects.values_list("subject", flat=True)) == {"hers", "group mail"}
    admin.post(reverse("mailboxes:quarantine-retry-all"))
    assert not RawMessage.objects.filter(status=RawMessage.Status.QUARANTINED).exists()


def test_a_message_failing_again_stays_with_its_new_error(setup, logged_in, monkeypatch):
    from mailboxes.intake import pipeline, recipients

    def broken(batch):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(recipients, "recipients_batch", broken)
    pipeline._step_functions.cache_clear()
    try:
        raw = setup["hers"]
        response = logged_in(setup["ayse"]).post(
            reverse("mailboxes:quarantine-retry", args=[raw.pk]), follow=True
        )
    finally:
        monkeypatch.undo()
        pipeline._step_functions.cache_clear()
    assert "The message failed again" in response.content.decode()
    raw.refresh_from_db()
    assert (raw.status, raw.attempts) == (RawMessage.Status.QUARANTINED, 2)
    assert "disk on fire" in str(raw.error)
