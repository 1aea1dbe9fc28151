"""Emails over the API: the folders' selectors, per-user state, the sanitizer and the same
send path as the compose form (Idempotency-Key sends once)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Case
from crm.addresses import addresses_get_or_create
from crm.records import record_create
from mailboxes.models import Email, EmailFolder, EmailRecipient, EmailUser
from mailboxes.sending.delivery import email_deliver
from tests.mailboxes.sending.conftest import role
from tests.mailboxes.ui.conftest import attachment_create, email_create

EMAILS = "/api/v1/emails/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_inbox_list_with_a_stable_cursor(make_user, api_client):
    me = make_user(level="own")
    emails = [email_create(users=[me], subject=f"Mail {i}") for i in range(5)]
    client = api_client(me)
    first = client.get(EMAILS, {"page_size": 3}).json()
    assert [e["id"] for e in first["results"]] == [e.pk for e in emails[::-1][:3]]
    email_create(users=[me], subject="Arrived meanwhile")  # must not shift the next page
    second = client.get(first["next"]).json()
    assert [e["id"] for e in second["results"]] == [emails[1].pk, emails[0].pk]
    assert second["next"] is None
    unread = client.get(EMAILS, {"unread": "true"}).json()["results"]
    assert len(unread) == 6


def test_read_sanitizes_html_and_lists_attachments(make_user, api_client):
    me = make_user(level="own")
    email = email_create(users=[me], body_html='<p onclick="x()">Hi<script>alert(1)</script></p>')
    attachment = attachment_create(email, "fatura.pdf", b"%PDF-1.4 data", "application/pdf")
    client = api_client(me)
    body = client.get(f"{EMAILS}{email.pk}/").json()
    assert "Hi" in body["body_html"]
    assert "script" not in body["body_html"] and "onclick" not in body["body_html"]
    assert body["to"] == [{"address": "support@example.test", "name": ""}]
    assert body["attachments"][0]["filename"] == "fatura.pdf"
    # Reply-To and Bcc as the email's page shows them
    for kind, address in (("reply_to", "billing@acme.example"), ("bcc", "boss@example.test")):
        [row] = addresses_get_or_create([address]).values()
        EmailRecipient.objects.create(email=email, address=row, kind=kind, position=9)
    body = client.get(f"{EMAILS}{email.pk}/").json()
    assert body["reply_to"] == [{"address": "billing@acme.example", "name": ""}]
    assert body["bcc"] == [{"address": "boss@example.test", "name": ""}]
    download = client.get(f"/api/v1/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 data"


def test_mark_read_important_move_and_trash(make_user, api_client):
    me = make_user(level="own")
    email = email_create(users=[me])
    folder = EmailFolder.objects.create(user=me, name="Invoices")
    client = api_client(me)
    url = f"{EMAILS}{email.pk}/"
    body = client.patch(url, {"is_read": True, "is_important": True}, format="json").json()
    assert body["is_read"] and body["is_important"]
    assert client.patch(url, {"folder": folder.pk}, format="json").status_code == 200
    assert EmailUser.objects.get(email=email, user=me).folder == folder
    assert client.get(EMAILS, {"folder": f"f{folder.pk}"}).json()["results"][0]["id"] == email.pk
    assert client.delete(url).status_code == 204
    row = EmailUser.objects.get(email=email, user=me)
    assert row.in_trash
    assert client.get(EMAILS, {"folder": "trash"}).json()["results"][0]["id"] == email.pk


def test_anothers_personal_email_does_not_exist(make_user, api_client):
    me = make_user(level="own")
    other = make_user(level="own")
    theirs = email_create(users=[other], subject="Salary")
    attachment = attachment_create(theirs, "salary.pdf", b"secret", "application/pdf")
    client = api_client(me)
    url = f"{EMAILS}{theirs.pk}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"is_read": True}, format="json").status_code == 404
    assert client.delete(url).status_code == 404
    assert client.get(f"/api/v1/attachments/{attachment.pk}/").status_code == 404
    reply = client.post(f"{url}reply/", {"to": ["x@example.com"]}, format="json")
    assert reply.status_code == 404
    for folder in ("inbox", "all", "trash"):
        assert client.get(EMAILS, {"folder": folder}).json()["results"] == []
    assert not EmailUser.objects.filter(email=theirs, user=me).exists()


def test_send_with_idempotency_key_sends_once(make_user, api_client, make_smtp_group, smtp_server):
    agent = make_user(roles=[role("all")])
    support = make_smtp_group(smtp_server)
    client = api_client(agent)
    payload = {
        "from_account": support.pk,
        "to": ["customer@example.com"],
        "subject": "Your order",
        "body_text": "It shipped.",
    }
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-42"}
    first = client.post(f"{EMAILS}send/", payload, format="json", **headers)
    again = client.post(f"{EMAILS}send/", payload, format="json", **headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert Email.objects.filter(subject="Your order").count() == 1
    email_deliver(first.json()["id"])
    [captured] = smtp_server.wait_for_messages(1)
    assert b"It shipped." in captured.original_content
    assert captured.rcpt_tos == ["customer@example.com"]
    other = client.post(f"{EMAILS}send/", payload, format="json", HTTP_IDEMPOTENCY_KEY="order-43")
    assert other.json()["id"] != first.json()["id"]


def test_reply_to_a_case_email_files_it_under_the_case(
    make_user, api_client, make_smtp_group, smtp_server
):
    agent = make_user(roles=[role("all")])
    support = make_smtp_group(smtp_server)
    case = record_create(Case(name="Broken", assigned_user=agent), user=agent)
    incoming = email_create(users=[agent], subject="Broken", parent=case)
    client = api_client(agent)
    response = client.post(
        f"{EMAILS}{incoming.pk}/reply/",
        {"from_account": support.pk, "to": ["customer@example.com"], "body_text": "Fixed."},
        format="json",
    )
    assert response.status_code == 202, response.json()
    reply = Email.objects.get(pk=response.json()["id"])
    assert reply.parent == case
    assert reply.replied_id == incoming.pk


def test_send_refuses_an_account_the_user_may_not_send_from(
    make_user, api_client, make_smtp_group, smtp_server
):
    agent = make_user(level="all")  # no group email account level
    support = make_smtp_group(smtp_server)
    client = api_client(agent)
    response = client.post(
        f"{EMAILS}send/",
        {"from_account": support.pk, "to": ["customer@example.com"], "body_text": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert not Email.objects.filter(created_by=agent).exists()


def test_email_list_query_count_is_flat(make_user, api_client):
    me = make_user(level="own")
    client = api_client(me)
    email_create(users=[me])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(EMAILS).status_code == 200
        return len(queries)

    count()  # the first call also records the key's last use
    few = count()
    for _ in range(15):
        email_create(users=[me])
    assert count() == few


def test_reply_to_a_case_as_from_the_case_page(
    make_user, make_record, api_client, make_smtp_group, smtp_server
):
    agent = make_user(roles=[role("all")])
    support = make_smtp_group(smtp_server)
    contact = make_record("contact", agent, addresses=["ayse@acme.example"], last_name="Yılmaz")
    case = record_create(
        Case(name="Broken", assigned_user=agent, contact=contact, group_account=support),
        user=agent,
    )
    incoming = email_create(
        users=[agent], subject="Broken printer", sender="ayse@acme.example", parent=case
    )
    client = api_client(agent)
    response = client.post(
        f"/api/v1/cases/{case.pk}/reply/",
        {"body_text": "A technician is on the way."},
        format="json",
        HTTP_IDEMPOTENCY_KEY="case-reply-1",
    )
    assert response.status_code == 202, response.json()
    reply = Email.objects.get(pk=response.json()["id"])
    assert reply.parent == case and reply.replied_id == incoming.pk
    assert reply.subject == f"Re: {case.display_number} Broken printer"
    to = [r.address.address for r in reply.recipients.all() if r.kind == "to"]
    assert to == ["ayse@acme.example"]
    email_deliver(reply.pk)
    [captured] = smtp_server.wait_for_messages(1)
    assert "ayse@acme.example" in captured.rcpt_tos
    assert captured.message["In-Reply-To"] == incoming.message_id


def test_reply_all_and_forward(make_user, api_client, make_smtp_group, smtp_server):
    agent = make_user(roles=[role("all")])
    support = make_smtp_group(smtp_server)
    incoming = email_create(
        users=[agent], sender="a@example.com", to=(support.email_address,), cc=("b@example.com",)
    )
    attachment_create(incoming, "plan.pdf", b"%PDF plan", "application/pdf")
    client = api_client(agent)
    everyone = client.post(
        f"{EMAILS}{incoming.pk}/reply-all/", {"body_text": "Noted."}, format="json"
    )
    assert everyone.status_code == 202, everyone.json()
    addresses = {
        r.address.address for r in Email.objects.get(pk=everyone.json()["id"]).recipients.all()
    }
    assert addresses == {"a@example.com", "b@example.com"}
    forwarded = client.post(
        f"{EMAILS}{incoming.pk}/forward/", {"to": ["c@example.com"]}, format="json"
    )
    assert forwarded.status_code == 202, forwarded.json()
    email = Email.objects.get(pk=forwarded.json()["id"])
    assert email.subject.startswith("Fwd:")
    assert [a.filename for a in email.attachments.all()] == ["plan.pdf"]


def test_list_the_emails_of_a_case(make_user, api_client):
    me = make_user(level="all")
    case = record_create(Case(name="Broken", assigned_user=me), user=me)
    on_case = email_create(users=[me], parent=case)
    email_create(users=[me])
    client = api_client(me)
    for params in ({"case": case.pk}, {"parent_type": "cases.case", "parent_id": case.pk}):
        listed = client.get(EMAILS, {"folder": "all", **params}).json()["results"]
        assert [e["id"] for e in listed] == [on_case.pk]
    assert client.get(EMAILS, {"case": "x"}).status_code == 400


def test_a_draft_is_saved_rewritten_with_its_version_and_sent(
    make_user, api_client, make_smtp_group, smtp_server
):
    """Drafts over the API: save, rewrite from the version read (a stale version is a 409
    with the current one, nothing written), send as stored; nobody else's draft exists."""
    agent = make_user(roles=[role("all")])
    support = make_smtp_group(smtp_server)
    client = api_client(agent)
    first = {"subject": "Teklif", "body_text": "İlk satır."}
    saved = client.post(f"{EMAILS}drafts/", first, format="json", HTTP_IDEMPOTENCY_KEY="d-1")
    assert saved.status_code == 201, saved.json()
    draft_id, version = saved.json()["id"], saved.json()["version"]
    # the same request again (its answer was lost): the same draft, not written again
    again = client.post(f"{EMAILS}drafts/", first, format="json", HTTP_IDEMPOTENCY_KEY="d-1")
    assert again.json() == {"id": draft_id, "version": version}
    draft = Email.objects.get(pk=draft_id)
    assert draft.status == Email.Status.DRAFT and draft.created_by == agent
    assert client.get(f"{EMAILS}?folder=drafts").json()["results"][0]["id"] == draft_id

    payload = {
        "from_account": support.pk,
        "to": ["cagri@customer.example.com"],
        "subject": "Teklif — güncel",
        "body_text": "Fiyatlar ektedir.",
    }
    written = client.put(
        f"{EMAILS}{draft_id}/draft/", payload | {"version": version}, format="json"
    )
    assert written.status_code == 200, written.json()
    assert written.json()["version"] == version + 1
    stale = client.put(
        f"{EMAILS}{draft_id}/draft/", payload | {"subject": "Eski", "version": version},
        format="json",
    )  # fmt: skip
    assert stale.status_code == 409
    assert stale["Content-Type"] == "application/problem+json"
    assert stale.json()["version"] == version + 1
    assert Email.objects.get(pk=draft_id).subject == "Teklif — güncel"

    stranger = api_client(make_user(roles=[role("all")]))
    assert stranger.post(f"{EMAILS}{draft_id}/send-draft/").status_code == 404
    assert (
        stranger.put(
            f"{EMAILS}{draft_id}/draft/", payload | {"version": version + 1}, format="json"
        ).status_code
        == 404
    )

    sent = client.post(f"{EMAILS}{draft_id}/send-draft/")
    assert sent.status_code == 202 and sent.json()["id"] == draft_id
    email_deliver(draft_id)
    [captured] = smtp_server.wait_for_messages(1)
    assert captured.rcpt_tos == ["cagri@customer.example.com"]
    assert "Fiyatlar ektedir." in captured.original_content.decode()
    again = client.post(f"{EMAILS}{draft_id}/send-draft/")
    assert again.status_code == 409  # no longer a draft: never sent twice
    assert again.json()["type"].endswith("#not_a_draft")


def test_a_draft_without_recipients_cannot_be_sent(
    make_user, api_client, make_smtp_group, smtp_server
):
    agent = make_user(roles=[role("all")])
    support = make_smtp_group(smtp_server)
    client = api_client(agent)
    draft_id = client.post(
        f"{EMAILS}drafts/", {"from_account": support.pk, "subject": "Boş"}, format="json"
    ).json()["id"]
    refused = client.post(f"{EMAILS}{draft_id}/send-draft/")
    assert refused.status_code == 400
    assert "to" in refused.json()["errors"]
    assert Email.objects.get(pk=draft_id).status == Email.Status.DRAFT
