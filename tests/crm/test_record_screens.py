"""Record screens: create, edit, delete, addresses, list filters, sorting, pagination."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from crm.models import Account, Contact, EmailAddressLink, Lead, Note, Opportunity


def test_create_account_with_addresses_primary_first(make_user, logged_in, team):
    me = make_user("me", level="own")
    client = logged_in(me)

    response = client.post(
        reverse("crm:account-create"),
        {
            "name": "Acme",
            "type": "customer",
            "email_addresses": "Sales <SALES@acme.example>\ninfo@acme.example",
            "assigned_user": me.pk,
            "teams": [team.pk],
        },
    )

    account = Account.objects.get(name="Acme")
    assert response["Location"] == account.get_absolute_url()
    assert account.created_by == me
    assert list(account.teams.all()) == [team]
    assert account.email_addresses == ["sales@acme.example", "info@acme.example"]
    page = client.get(account.get_absolute_url()).content.decode()
    assert page.index("sales@acme.example") < page.index("info@acme.example")
    assert account.notes.filter(type=Note.Type.CREATE).exists()


def test_invalid_address_is_shown_next_to_the_field(make_user, logged_in):
    client = logged_in(make_user("me", level="own"))

    response = client.post(
        reverse("crm:contact-create"), {"last_name": "Doe", "email_addresses": "not an address"}
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert "email_addresses" in form.errors
    assert "Not a valid email address: not an address" in response.content.decode()
    assert not Contact.objects.exists()


def test_required_field_error_is_inline(make_user, logged_in):
    client = logged_in(make_user("me", level="own"))
    response = client.post(reverse("crm:account-create"), {"name": ""})
    body = response.content.decode()
    assert 'class="field field-text has-error' in body
    assert "This field is required." in body


def test_edit_replaces_addresses_and_reports_assignment(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    colleague = make_user("colleague", level="own")
    lead = make_record("lead", me, addresses=["old@example.com", "keep@example.com"])
    client = logged_in(me)

    response = client.post(
        reverse("crm:lead-edit", args=[lead.pk]),
        {
            "last_name": lead.last_name,
            "status": "in_process",
            "email_addresses": "keep@example.com\nnew@example.com",
            "assigned_user": colleague.pk,
        },
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.email_addresses == ["keep@example.com", "new@example.com"]
    assert lead.assigned_user == colleague
    assert lead.notes.filter(type=Note.Type.ASSIGN).exists()
    status_note = lead.notes.get(type=Note.Type.STATUS)
    assert status_note.data == {"field": "status", "value": "in_process"}
    assert colleague.notifications.filter(type="assigned").exists()
    page = client.get(lead.get_absolute_url()).content.decode()
    assert "changed status to In process" in page


def test_lead_form_does_not_offer_converted(make_user, logged_in):
    form = logged_in(make_user("me", level="own")).get(reverse("crm:lead-create")).context["form"]
    assert "converted" not in dict(form.fields["status"].choices)


def test_delete_asks_then_deletes(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    account = make_record("account", me, name="Doomed", addresses=["x@doomed.example"])
    client = logged_in(me)

    assert "Doomed" in client.get(reverse("crm:account-delete", args=[account.pk])).content.decode()
    response = client.post(reverse("crm:account-delete", args=[account.pk]))

    assert response["Location"] == reverse("crm:account-list")
    assert not Account.objects.filter(pk=account.pk).exists()
    assert not EmailAddressLink.objects.filter(
        content_type=ContentType.objects.get_for_model(Account), object_id=account.pk
    ).exists()


def test_list_search_by_name_and_by_address(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    acme = make_record("account", me, name="Acme Corp", addresses=["hello@acme.example"])
    make_record("account", me, name="Globex", addresses=["info@globex.example"])
    client = logged_in(me)

    def names(query: str) -> list[str]:
        response = client.get(reverse("crm:account-list"), {"q": query})
        return [r.name for r in response.context["object_list"]]

    assert names("acme") == ["Acme Corp"]
    assert names("globex.example") == ["Globex"]
    assert names("hello@acme") == [acme.name]
    assert names("nothing-like-this") == []


def test_contact_search_matches_first_and_last_name(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    make_record("contact", me, first_name="Ayşe", last_name="Yılmaz")
    make_record("contact", me, first_name="John", last_name="Smith")
    response = logged_in(me).get(reverse("crm:contact-list"), {"q": "ayşe yıl"})
    assert [str(c) for c in response.context["object_list"]] == ["Ayşe Yılmaz"]


def test_list_filters_by_status_team_assignee_and_mine(
    make_user, make_record, logged_in, team, other_team
):
    me = make_user("me", level="all")
    other = make_user("other", level="own")
    new = make_record("lead", me, status="new", teams=[team])
    dead = make_record("lead", other, status="dead", teams=[other_team])
    client = logged_in(me)

    def ids(**params) -> set[int]:
        response = client.get(reverse("crm:lead-list"), params)
        return {r.pk for r in response.context["object_list"]}

    assert ids(status="dead") == {dead.pk}
    assert ids(team=team.pk) == {new.pk}
    assert ids(assigned_user=other.pk) == {dead.pk}
    assert ids(mine="on") == {new.pk}
    assert ids() == {new.pk, dead.pk}


def test_opportunity_list_filters_by_stage(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    won = make_record("opportunity", me, stage="closed_won")
    make_record("opportunity", me, stage="prospecting")
    response = logged_in(me).get(reverse("crm:opportunity-list"), {"stage": "closed_won"})
    assert [o.pk for o in response.context["object_list"]] == [won.pk]


def test_list_sorts_by_column_both_ways(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    for name in ("Bravo", "Alpha", "Charlie"):
        make_record("account", me, name=name)
    client = logged_in(me)

    def names(sort: str) -> list[str]:
        response = client.get(reverse("crm:account-list"), {"sort": sort})
        return [r.name for r in response.context["object_list"]]

    assert names("name") == ["Alpha", "Bravo", "Charlie"]
    assert names("-name") == ["Charlie", "Bravo", "Alpha"]
    assert names("password") == ["Alpha", "Bravo", "Charlie"]  # unknown: default order
    body = client.get(reverse("crm:account-list"), {"sort": "name"}).content.decode()
    assert "?sort=-name" in body  # clicking the sorted column reverses it


def test_list_pages_by_fifty_and_keeps_filters(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    for i in range(55):
        make_record("account", me, name=f"Company {i:02}")
    client = logged_in(me)

    first = client.get(reverse("crm:account-list"), {"q": "company"})
    assert len(first.context["object_list"]) == 50
    assert "?q=company&amp;page=2" in first.content.decode()
    second = client.get(reverse("crm:account-list"), {"q": "company", "page": 2})
    assert [a.name for a in second.context["object_list"]] == [
        f"Company {i}" for i in range(50, 55)
    ]


def test_list_query_count_does_not_grow_with_rows(
    make_user, make_record, logged_in, django_assert_max_num_queries, team
):
    me = make_user("me", level="team", teams=[team])
    for i in range(40):
        make_record("contact", me, teams=[team], addresses=[f"c{i}@example.com"])
    client = logged_in(me)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("crm:contact-list"))
    assert len(response.context["object_list"]) == 40


def test_new_contact_from_account_page_is_prefilled(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    account = make_record("account", me)
    form = logged_in(me).get(reverse("crm:contact-create"), {"account": account.pk}).context["form"]
    assert form.initial["account"] == account.pk
    assert form.initial["assigned_user"] == me.pk


def test_lead_convert_creates_account_contact_and_opportunity(
    make_user, make_record, logged_in, team
):
    me = make_user("me", level="own")
    lead = make_record(
        "lead",
        me,
        salutation="dr",
        first_name="Tom",
        last_name="Lead",
        account_name="Leadco",
        title="CEO",
        teams=[team],
        addresses=["tom@leadco.example", "t@leadco.example"],
    )
    client = logged_in(me)
    assert client.get(reverse("crm:lead-convert", args=[lead.pk])).context["form"].initial[
        "account_name"
    ] == ("Leadco")

    response = client.post(
        reverse("crm:lead-convert", args=[lead.pk]),
        {
            "account_name": "Leadco",
            "opportunity_name": "Leadco deal",
            "opportunity_amount": "1000.50",
        },
    )

    lead.refresh_from_db()
    contact = Contact.objects.get(last_name="Lead")
    account = Account.objects.get(name="Leadco")
    opportunity = Opportunity.objects.get(name="Leadco deal")
    assert response["Location"] == contact.get_absolute_url()
    assert lead.status == Lead.Status.CONVERTED
    assert lead.converted_account == account and lead.converted_contact == contact
    assert contact.account == account and contact.title == "CEO"
    assert contact.salutation == "dr"
    assert opportunity.account == account and opportunity.contact == contact
    assert str(opportunity.amount) == "1000.50"
    assert contact.email_addresses == ["tom@leadco.example", "t@leadco.example"]
    assert lead.email_addresses == []
    assert list(contact.teams.all()) == [team]
    assert contact.assigned_user == me and contact.created_by == me
    # the lead's page now shows what it became and offers no second conversion
    page = client.get(lead.get_absolute_url()).content.decode()
    assert contact.get_absolute_url() in page
    assert reverse("crm:lead-convert", args=[lead.pk]) not in page
    again = client.post(reverse("crm:lead-convert", args=[lead.pk]), {"account_name": "X"})
    assert again["Location"] == lead.get_absolute_url()
    assert Contact.objects.count() == 1


def test_lead_convert_into_existing_account_without_opportunity(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    account = make_record("account", me, name="Existing")
    lead = make_record("lead", me, last_name="Solo")

    logged_in(me).post(
        reverse("crm:lead-convert", args=[lead.pk]), {"account_name": "", "account": account.pk}
    )

    contact = Contact.objects.get(last_name="Solo")
    assert contact.account == account
    assert Account.objects.count() == 1
    assert not Opportunity.objects.exists()


def test_lead_convert_refuses_new_and_existing_account_together(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    account = make_record("account", me)
    lead = make_record("lead", me)

    response = logged_in(me).post(
        reverse("crm:lead-convert", args=[lead.pk]), {"account_name": "New", "account": account.pk}
    )

    assert response.status_code == 200
    assert "Choose either a new account or an existing one" in response.content.decode()
    lead.refresh_from_db()
    assert lead.status != Lead.Status.CONVERTED


def test_lead_convert_of_invisible_lead_is_404(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    lead = make_record("lead", make_user("stranger", level="own"))
    response = logged_in(me).post(reverse("crm:lead-convert", args=[lead.pk]), {})
    assert response.status_code == 404


def test_home_counts_my_open_records(make_user, make_record, logged_in):
    me = make_user("me", level="own")
    make_record("lead", me, status="new")
    make_record("lead", me, status="dead")
    make_record("opportunity", me, stage="negotiation", name="Big deal")
    make_record("opportunity", me, stage="closed_won")

    response = logged_in(me).get(reverse("home"))

    counts = {row["name"]: row["count"] for row in response.context["open_records"]}
    assert counts == {"account": 0, "contact": 0, "lead": 1, "opportunity": 1}
    assert "Big deal" in response.content.decode()


def test_list_sorts_by_assigned_user_name(make_user, make_record, logged_in):
    me = make_user("me", level="all")
    zed = make_user("zed", first_name="Zeynep")
    ali = make_user("ali", first_name="Ali")
    make_record("account", me, name="For Zeynep", assigned_user=zed)
    make_record("account", me, name="For Ali", assigned_user=ali)
    response = logged_in(me).get(reverse("crm:account-list"), {"sort": "assigned"})
    assert [a.name for a in response.context["object_list"]] == ["For Ali", "For Zeynep"]


def test_contacts_and_leads_have_a_salutation_shown_in_the_readers_language(make_user, logged_in):
    me = make_user("me")
    client = logged_in(me)
    form = client.get(reverse("crm:contact-create")).content.decode()
    assert '<option value="mrs">Mrs.</option>' in form
    client.post(
        reverse("crm:contact-create"),
        {"salutation": "mrs", "first_name": "Ayşe", "last_name": "Yılmaz", "assigned_user": me.pk},
    )
    contact = Contact.objects.get(last_name="Yılmaz")
    assert contact.salutation == "mrs"
    page = client.get(contact.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert "Hitap" in page and "Bayan" in page
    lead_form = client.get(reverse("crm:lead-create")).content.decode()
    assert 'name="salutation"' in lead_form


def test_preferences_keep_the_job_title_and_phone_emails_sign_with(make_user, logged_in):
    me = make_user("me")
    client = logged_in(me)
    client.post(
        reverse("crm:preferences"),
        {
            "first_name": "Me",
            "email": "me@example.com",
            "title": "Support engineer",
            "phone": "+90 212 555 01 01",
            "notification_digest": "never",
        },
    )
    me.refresh_from_db()
    assert (me.title, me.phone) == ("Support engineer", "+90 212 555 01 01")
