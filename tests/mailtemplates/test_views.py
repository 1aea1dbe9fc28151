"""The template screens and the compose picker's endpoints, through the views: list and
search, create/edit/delete with their permissions, preview, and rendering for a draft."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from crm.models import Contact
from mailtemplates.models import EmailTemplate

from .conftest import make_template

pytestmark = pytest.mark.django_db

Visibility = EmailTemplate.Visibility
LIST = reverse("mailtemplates:list")
CREATE = reverse("mailtemplates:create")
PICKER = reverse("mailtemplates:picker")


def text(response) -> str:
    return response.content.decode()


def form_data(**fields) -> dict:
    data = {
        "name": "Refund",
        "category": "Billing",
        "subject": "Your refund",
        "visibility": Visibility.PRIVATE,
        "body_format": "html",
        "body_html": "<p>Dear {{contact.first_name}},</p><script>x()</script>",
        "body": "",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def test_list_shows_usable_templates_and_searches_them(alice, bob, support, logged_in):
    make_template(alice, name="Refund done", category="Billing")
    make_template(alice, name="Password reset", category="Accounts")
    make_template(bob, name="Bob's secret")
    client = logged_in(alice)
    page = text(client.get(LIST))
    assert "Refund done" in page and "Password reset" in page and "Bob&#x27;s secret" not in page
    found = text(client.get(LIST, {"q": "refund"}))
    assert "Refund done" in found and "Password reset" not in found
    by_category = text(client.get(LIST, {"category": "Accounts"}))
    assert "Password reset" in by_category and "Refund done" not in by_category


def test_creating_a_template_stores_it_sanitized_and_owned(alice, logged_in):
    response = logged_in(alice).post(CREATE, form_data())
    assert response.status_code == 302
    template = EmailTemplate.objects.get()
    assert template.owner == alice
    assert template.body_html == "<p>Dear {{contact.first_name}},</p>"


def test_plain_text_body_without_javascript(alice, logged_in):
    logged_in(alice).post(CREATE, form_data(body_format="", body_html="", body="Hi\n\nBye <b>"))
    assert EmailTemplate.objects.get().body_html == "<p>Hi</p><p>Bye &lt;b&gt;</p>"


def test_a_user_cannot_share_with_everyone_or_another_team(alice, sales, logged_in):
    client = logged_in(alice)
    assert client.post(CREATE, form_data(visibility="everyone")).status_code == 200
    response = client.post(CREATE, form_data(visibility="teams", teams=[sales.pk]))
    assert response.status_code == 200
    assert not EmailTemplate.objects.exists()


def test_team_templates_need_a_team(alice, support, logged_in):
    client = logged_in(alice)
    assert "Choose the teams" in text(client.post(CREATE, form_data(visibility="teams")))
    client.post(CREATE, form_data(visibility="teams", teams=[support.pk]))
    assert list(EmailTemplate.objects.get().teams.all()) == [support]


def test_administrators_share_with_everyone(admin, logged_in):
    logged_in(admin).post(CREATE, form_data(visibility="everyone"))
    assert EmailTemplate.objects.get().visibility == Visibility.EVERYONE


def test_a_team_mate_may_use_but_not_change_a_shared_template(alice, bob, support, logged_in):
    template = make_template(alice, Visibility.TEAMS, [support])
    client = logged_in(bob)
    assert client.get(reverse("mailtemplates:preview", args=[template.pk])).status_code == 200
    assert client.get(reverse("mailtemplates:edit", args=[template.pk])).status_code == 403
    delete = reverse("mailtemplates:delete", args=[template.pk])
    assert client.post(delete).status_code == 403
    assert EmailTemplate.objects.filter(pk=template.pk).exists()


def test_someone_elses_private_template_does_not_exist_for_others(alice, bob, admin, logged_in):
    template = make_template(alice)
    for user in (bob, admin):
        client = logged_in(user)
        for name in ("edit", "delete", "preview", "render"):
            assert (
                client.get(reverse(f"mailtemplates:{name}", args=[template.pk])).status_code == 404
            )
        assert client.get(PICKER).json() == {"templates": []}


def test_administrators_preview_team_templates_they_may_not_insert(admin, carol, sales, logged_in):
    template = make_template(carol, Visibility.TEAMS, [sales], name="Quote")
    client = logged_in(admin)
    assert client.get(reverse("mailtemplates:preview", args=[template.pk])).status_code == 200
    assert client.get(reverse("mailtemplates:render", args=[template.pk])).status_code == 404
    assert client.get(PICKER).json() == {"templates": []}


def test_the_owner_edits_and_deletes(alice, logged_in):
    template = make_template(alice, name="Old")
    client = logged_in(alice)
    client.post(reverse("mailtemplates:edit", args=[template.pk]), form_data(name="New"))
    template.refresh_from_db()
    assert template.name == "New"
    client.post(reverse("mailtemplates:delete", args=[template.pk]))
    assert not EmailTemplate.objects.exists()


def test_administrators_edit_shared_templates_of_others(admin, carol, sales, logged_in):
    template = make_template(carol, Visibility.TEAMS, [sales], name="Quote")
    response = logged_in(admin).post(
        reverse("mailtemplates:edit", args=[template.pk]),
        form_data(name="Quote v2", visibility="teams", teams=[sales.pk]),
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.name, template.owner) == ("Quote v2", carol)


def test_picker_finds_usable_templates_by_name_category_or_subject(alice, admin, logged_in):
    make_template(alice, name="Refund done", category="Billing")
    make_template(admin, Visibility.EVERYONE, name="Welcome", subject="Hello there")
    client = logged_in(alice)
    assert [t["name"] for t in client.get(PICKER, {"q": "ref"}).json()["templates"]] == [
        "Refund done"
    ]
    assert [t["name"] for t in client.get(PICKER, {"q": "hello"}).json()["templates"]] == [
        "Welcome"
    ]
    assert len(client.get(PICKER).json()["templates"]) == 2


def test_render_fills_the_drafts_case_and_mailbox(alice, case, mailbox, logged_in):
    template = make_template(
        alice,
        subject="Case {{case.number}}",
        body_html="<p>Dear {{contact.first_name}}, {{mailbox.address}} {{contact.title}}</p>",
    )
    response = logged_in(alice).get(
        reverse("mailtemplates:render", args=[template.pk]),
        {"parent_type": "cases.case", "parent_id": case.pk, "from_account": mailbox.pk},
    )
    assert response.json() == {
        "subject": f"Case {case.number}",
        "html": "<p>Dear Ayşe, support@acme.test </p>",
        "empty": [],
        "unknown": ["contact.title"],
        "attachments": [],
        "attachment_field": "template_attachment",
    }


def test_render_refuses_a_record_the_user_cannot_see(alice, carol, case, logged_in):
    template = make_template(carol, body_html="<p>{{contact.first_name}}</p>")
    response = logged_in(carol).get(
        reverse("mailtemplates:render", args=[template.pk]),
        {"parent_type": "cases.case", "parent_id": case.pk},
    )
    assert response.status_code == 404


def test_render_ignores_a_mailbox_the_user_may_not_send_as(alice, carol, mailbox, logged_in):
    template = make_template(carol, body_html="<p>[{{mailbox.address}}]</p>")
    response = logged_in(carol).get(
        reverse("mailtemplates:render", args=[template.pk]), {"from_account": mailbox.pk}
    )
    assert response.json()["html"] == "<p>[]</p>"
    assert response.json()["empty"] == ["Sending mailbox address"]


def test_preview_names_the_empty_placeholders(alice, logged_in):
    contact = Contact.objects.create(first_name="", last_name="Er")
    template = make_template(
        alice, body_html="<p>Hi {{contact.first_name}} {{contact.last_name}}</p>"
    )
    page = text(
        logged_in(alice).get(
            reverse("mailtemplates:preview", args=[template.pk]),
            {"parent_type": "crm.contact", "parent_id": contact.pk},
        )
    )
    assert "<p>Hi  Er</p>" in page
    assert "{{contact.first_name}}</code> Contact&#x27;s first name" in page
    assert "{{contact.last_name}}</code>" not in page.split('data-testid="empty-placeholders"')[1]


def test_compose_and_case_pages_offer_the_picker(alice, case, mailbox, logged_in):
    client = logged_in(alice)
    assert "data-template-picker" in text(client.get(reverse("mailboxes:compose")))
    page = text(client.get(case.get_absolute_url()))
    assert page.count("data-template-picker") == 1
    assert "js/template_picker.js" in page


def test_list_in_turkish(alice, logged_in):
    make_template(alice, name="İade", visibility=Visibility.PRIVATE)
    client = logged_in(alice)
    with translation.override("tr"):
        page = text(client.get(LIST, HTTP_ACCEPT_LANGUAGE="tr"))
    assert "E-posta şablonları" in page and "Yalnızca ben" in page
