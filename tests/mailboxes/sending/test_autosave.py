"""Draft autosave's JSON endpoint: CSRF, permissions, versions (a stale save is refused with
409 and changes nothing), files left out, and the form's buttons checking the same version."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from mailboxes.models import Email, OutgoingMessage
from tests.mailboxes.sending.conftest import role

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(make_user):
    return make_user("agent", roles=[role("all")])


@pytest.fixture
def support(make_smtp_group, smtp_server):
    return make_smtp_group(smtp_server)


def _fields(account, **extra) -> dict:
    return {
        "from_account": account.pk,
        "to": "customer@example.com",
        "subject": "Draft",
        "body": "First words",
        "token": "tok-1",
        "draft_version": "0",
        "draft_writer": "tab-a",
        **extra,
    }


def test_first_save_creates_the_draft_and_later_saves_update_it(agent, support, logged_in):
    client = logged_in(agent)
    response = client.post(reverse("mailboxes:compose-autosave"), _fields(support))
    assert response.status_code == 200
    body = response.json()
    email = Email.objects.get()
    assert body["saved"] and body["id"] == email.pk and body["version"] == 1
    assert email.status == Email.Status.DRAFT and email.body_text == "First words"

    # the same page again, without the draft's URL yet: the compose token finds it
    response = client.post(
        reverse("mailboxes:compose-autosave"),
        _fields(support, body="More words", draft_version="1"),
    )
    assert response.json()["version"] == 2
    response = client.post(
        body["autosave_url"], _fields(support, body="Even more", draft_version="2")
    )
    assert response.json()["version"] == 3
    email.refresh_from_db()
    assert Email.objects.count() == 1 and email.body_text == "Even more"


def test_a_stale_save_from_another_tab_is_refused_and_changes_nothing(agent, support, logged_in):
    client = logged_in(agent)
    url = client.post(reverse("mailboxes:compose-autosave"), _fields(support)).json()[
        "autosave_url"
    ]
    client.post(url, _fields(support, body="Tab A's text", draft_version="1"))  # now 2
    response = client.post(
        url, _fields(support, body="Tab B's text", draft_version="1", draft_writer="tab-b")
    )
    assert response.status_code == 409
    assert response.json()["conflict"] and response.json()["version"] == 2
    assert Email.objects.get().body_text == "Tab A's text"

    # "Keep my version": tab B saves again from the version it was told
    response = client.post(
        url, _fields(support, body="Tab B's text", draft_version="2", draft_writer="tab-b")
    )
    assert response.status_code == 200
    assert Email.objects.get().body_text == "Tab B's text"


def test_the_same_page_is_no_conflict_with_its_own_save_in_flight(agent, support, logged_in):
    client = logged_in(agent)
    url = client.post(reverse("mailboxes:compose-autosave"), _fields(support)).json()[
        "autosave_url"
    ]
    client.post(url, _fields(support, body="saved, answer not seen yet", draft_version="1"))
    response = client.post(url, _fields(support, body="newer", draft_version="1"))
    assert response.status_code == 200
    assert Email.objects.get().body_text == "newer"


def test_send_from_a_stale_tab_is_refused_with_the_reason(agent, support, logged_in):
    client = logged_in(agent)
    saved = client.post(reverse("mailboxes:compose-autosave"), _fields(support)).json()
    client.post(saved["autosave_url"], _fields(support, body="Newest", draft_version="1"))
    client.post(reverse("crm:language"), {"language": "tr"})
    response = client.post(
        saved["url"],
        _fields(support, body="Stale", draft_version="1", draft_writer="tab-b", action="send"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "başka bir sekmede veya pencerede değiştirildi" in page
    email = Email.objects.get()
    assert email.status == Email.Status.DRAFT and email.body_text == "Newest"
    assert 'name="draft_version" value="2"' in page  # sending again keeps this version

    client.post(
        saved["url"],
        _fields(support, body="Stale", draft_version="2", draft_writer="tab-b", action="draft"),
    )
    assert Email.objects.get().body_text == "Stale"


def test_autosave_needs_the_csrf_token(agent, support):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    response = client.post(reverse("mailboxes:compose-autosave"), _fields(support))
    assert response.status_code == 403
    assert not Email.objects.exists()


def test_another_users_draft_is_not_found(agent, support, make_user, logged_in):
    saved = logged_in(agent).post(reverse("mailboxes:compose-autosave"), _fields(support)).json()
    other = make_user("other", roles=[role("all")])
    response = logged_in(other).post(saved["autosave_url"], _fields(support, body="Mine now"))
    assert response.status_code == 404
    assert Email.objects.get().body_text == "First words"


def test_a_sent_draft_is_no_longer_autosaved(agent, support, logged_in):
    client = logged_in(agent)
    saved = client.post(reverse("mailboxes:compose-autosave"), _fields(support)).json()
    Email.objects.filter(pk=saved["id"]).update(status=Email.Status.SCHEDULED)
    response = client.post(saved["autosave_url"], _fields(support, draft_version="1"))
    assert response.status_code == 409 and response.json()["gone"]


def test_invalid_fields_answer_400_with_the_errors(agent, support, logged_in):
    response = logged_in(agent).post(
        reverse("mailboxes:compose-autosave"), _fields(support, to="not an address")
    )
    assert response.status_code == 400
    assert "to" in json.loads(response.content)["errors"]
    assert not OutgoingMessage.objects.exists()
