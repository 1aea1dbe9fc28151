"""Reply, reply all, forward; replying on a case end to end; address suggestions; the
"Send test email" button."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from cases.models import Case
from cases.replies import case_reply_initial
from crm.addresses import addresses_get_or_create
from crm.models import Team
from mailboxes.intake.fetch import fetch_account
from mailboxes.models import Attachment, Email, EmailRecipient, EmailUser
from mailboxes.sending.compose import forward_subject, reply_subject, subject_with_tag
from mailboxes.sending.delivery import email_deliver
from mailboxes.sending.replies import reply_initial
from tests.mailboxes.conftest import make_message
from tests.mailboxes.sending.conftest import role, smtp_fields

pytestmark = pytest.mark.django_db


def _incoming(user, *, sender, to=(), cc=(), reply_to=(), subject="Order", **fields) -> Email:
    addresses = addresses_get_or_create([sender, *to, *cc, *reply_to])
    email = Email.objects.create(
        message_id=fields.pop("message_id", "<in-1@customer.example.com>"),
        subject=subject,
        from_address=addresses[sender],
        from_name="Ayşe Yılmaz",
        body_text=fields.pop("body_text", "Where is my order?\nThanks"),
        **fields,
    )
    for kind, values in (("to", to), ("cc", cc), ("reply_to", reply_to)):
        EmailRecipient.objects.bulk_create(
            [
                EmailRecipient(email=email, address=addresses[a], kind=kind, position=i)
                for i, a in enumerate(values)
            ]
        )
    EmailUser.objects.create(email=email, user=user)
    return email


@pytest.mark.parametrize(
    "subject, expected",
    [
        ("Order", "Re: Order"),
        ("Re: Order", "Re: Order"),
        ("RE: Order", "RE: Order"),
        ("YNT: Sipariş", "YNT: Sipariş"),
        ("[#12] Printer", "Re: [#12] Printer"),
        ("", "Re:"),
    ],
)
def test_reply_subject_never_doubles_the_prefix(subject, expected):
    assert reply_subject(subject) == expected


@pytest.mark.parametrize(
    "subject, expected",
    [
        ("Order", "Fwd: Order"),
        ("Fwd: Order", "Fwd: Order"),
        ("FW: x", "FW: x"),
        ("İLT: x", "İLT: x"),
    ],
)
def test_forward_subject_never_doubles_the_prefix(subject, expected):
    assert forward_subject(subject) == expected


@pytest.mark.parametrize(
    "subject, expected",
    [
        ("Printer", "[#7] Printer"),
        ("Re: Printer", "Re: [#7] Printer"),
        ("Re: [#7] Printer", "Re: [#7] Printer"),
        ("", "[#7]"),
    ],
)
def test_case_tag_goes_after_the_reply_prefix(subject, expected):
    assert subject_with_tag(subject, "[#7]") == expected


def test_reply_all_leaves_out_our_own_and_excluded_group_addresses(
    make_user, make_smtp_group, make_smtp_personal, smtp_server
):
    agent = make_user("agent", roles=[role("all")])
    mine = make_smtp_personal(agent, smtp_server)
    support = make_smtp_group(smtp_server, exclude_from_reply=True)
    sales = make_smtp_group(smtp_server, exclude_from_reply=False)
    email = _incoming(
        agent,
        sender="ayse@customer.example.com",
        to=[support.email_address, mine.email_address, "colleague@customer.example.com"],
        cc=[agent.email, sales.email_address, "boss@customer.example.com"],
    )

    initial = reply_initial(email, agent, mode="reply_all")

    assert initial["to"] == '"Ayşe Yılmaz" <ayse@customer.example.com>'.replace('"', "")
    cc = initial["cc"].split(", ")
    assert cc == [
        "colleague@customer.example.com",
        sales.email_address,
        "boss@customer.example.com",
    ]
    assert initial["from_account"] == mine.pk  # the personal address it was sent to
    assert initial["subject"] == "Re: Order"
    assert "> Where is my order?" in initial["body"]
    assert "<blockquote>" in initial["body_html"]
    assert initial["replied"] == email.pk


def test_reply_goes_to_reply_to_when_the_original_has_one(make_user, make_smtp_group, smtp_server):
    agent = make_user("agent", roles=[role("all")])
    make_smtp_group(smtp_server)
    email = _incoming(
        agent, sender="noreply@shop.example.com", reply_to=["orders@shop.example.com"]
    )
    assert reply_initial(email, agent, mode="reply")["to"] == "orders@shop.example.com"


def test_reply_view_threads_the_sent_reply(make_user, make_smtp_group, smtp_server, logged_in):
    agent = make_user("agent", roles=[role("all")])
    support = make_smtp_group(smtp_server)
    email = _incoming(
        agent,
        sender="ayse@customer.example.com",
        to=[support.email_address],
        references="<root@customer.example.com>",
    )
    client = logged_in(agent)
    page = client.get(reverse("mailboxes:email-reply", args=[email.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'name="replied" value="{email.pk}"' in html
    assert re.search(rf'<option value="{support.pk}" selected', html)

    response = client.post(
        reverse("mailboxes:compose"),
        {
            "from_account": support.pk,
            "to": "ayse@customer.example.com",
            "subject": "Re: Order",
            "body": "It ships today.",
            "replied": email.pk,
            "action": "send",
        },
    )
    assert response.status_code == 302
    reply = Email.objects.get(replied=email)
    email_deliver(reply.pk)
    [captured] = smtp_server.wait_for_messages(1)
    assert captured.message["In-Reply-To"] == email.message_id
    assert captured.message["References"].split() == [
        "<root@customer.example.com>",
        email.message_id,
    ]


def test_reply_to_an_email_the_user_cannot_read_is_not_found(make_user, logged_in):
    agent = make_user("agent", roles=[role("all", email_access="own")])
    other = make_user("other")
    email = _incoming(other, sender="x@example.com")
    client = logged_in(agent)
    for name in ("email-reply", "email-reply-all", "email-forward", "email-retry"):
        method = client.post if name == "email-retry" else client.get
        assert method(reverse(f"mailboxes:{name}", args=[email.pk])).status_code == 404


def test_forward_carries_the_attachments(make_user, make_smtp_group, smtp_server, logged_in):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    agent = make_user("agent", roles=[role("all")])
    support = make_smtp_group(smtp_server)
    email = _incoming(agent, sender="ayse@customer.example.com", subject="Fatura")
    name = default_storage.save("attachments/test/fatura", ContentFile(b"%PDF-fatura"))
    attachment = Attachment.objects.create(
        email=email,
        filename="Fatura Ağustos.pdf",
        content_type="application/pdf",
        size=11,
        sha256="0" * 64,
        file=name,
    )
    client = logged_in(agent)
    html = client.get(reverse("mailboxes:email-forward", args=[email.pk])).content.decode()
    assert "Fatura Ağustos.pdf" in html and "Fwd: Fatura" in html

    client.post(
        reverse("mailboxes:compose"),
        {
            "from_account": support.pk,
            "to": "accounting@example.com",
            "subject": "Fwd: Fatura",
            "body": "See attached.",
            "forwarded": email.pk,
            "keep_attachments": [attachment.pk],
            "action": "send",
        },
    )
    forward = Email.objects.exclude(pk=email.pk).get()
    email_deliver(forward.pk)
    [captured] = smtp_server.wait_for_messages(1)
    [part] = list(captured.message.iter_attachments())
    assert (part.get_filename(), part.get_content()) == ("Fatura Ağustos.pdf", b"%PDF-fatura")


def test_case_reply_initial_defaults(make_user, make_smtp_group, smtp_server, make_record):
    team = Team.objects.create(name="Support")
    agent = make_user("agent", roles=[role("team")], teams=[team])
    support = make_smtp_group(smtp_server, teams=[team])
    contact = make_record(
        "contact",
        agent,
        first_name="Ayşe",
        last_name="Yılmaz",
        addresses=["ayse@customer.example.com"],
    )
    case = Case.objects.create(name="Printer broken", group_account=support, contact=contact)

    initial = case_reply_initial(case, agent)
    assert initial["from_account"] == support.pk
    assert initial["to"] == "Ayşe Yılmaz <ayse@customer.example.com>"
    assert initial["subject"] == f"[#{case.number}] Printer broken"
    assert (initial["parent_type"], initial["parent_id"]) == ("cases.case", case.pk)
    assert support.email_address in initial["reply_to"]

    outsider = make_user("outsider", roles=[role("team")])
    assert case_reply_initial(case, outsider)["from_account"] is None


def test_case_reply_end_to_end_customer_answer_joins_the_case(
    make_user, make_group_account, dovecot, imap_user, smtp_server, logged_in
):
    """Customer mail → case → agent replies (reply box) → the server receives it from the
    group address with [#N] and Reply-To → the customer's answer joins the same case."""
    team = Team.objects.create(name="Support")
    agent = make_user("agent", roles=[role("team")], teams=[team])
    support = make_group_account(
        imap_user,
        teams=[team],
        create_case=True,
        target_team=team,
        smtp_is_shared=True,
        from_name="Destek",
        **smtp_fields(smtp_server),
    )
    dovecot.deliver(
        imap_user,
        make_message(
            subject="Yazıcı çalışmıyor",
            sender="Ayşe Yılmaz <ayse@customer.example.com>",
            to=support.email_address,
            message_id="<first@customer.example.com>",
        ),
    )
    assert fetch_account(support.pk).imported == 1
    case = Case.objects.get()
    case.assigned_user = agent
    case.save()

    initial = case_reply_initial(case, agent)
    client = logged_in(agent)
    response = client.post(
        reverse("mailboxes:compose"),
        {
            "from_account": initial["from_account"],
            "to": initial["to"],
            "subject": initial["subject"],
            "body": "Yazıcıyı yeniden başlatır mısınız?",
            "parent_type": initial["parent_type"],
            "parent_id": initial["parent_id"],
            "replied": initial["replied"],
            "next": "/cases/",
            "action": "send",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/cases/"
    reply = Email.objects.get(status=Email.Status.SENDING)
    email_deliver(reply.pk)

    [captured] = smtp_server.wait_for_messages(1)
    sent = captured.message
    assert sent["From"].addresses[0].addr_spec == support.email_address
    assert sent["Reply-To"].addresses[0].addr_spec == support.email_address
    assert sent["Subject"] == f"Re: [#{case.number}] Yazıcı çalışmıyor"
    assert sent["In-Reply-To"] == "<first@customer.example.com>"
    reply.refresh_from_db()
    assert reply.parent == case

    dovecot.deliver(
        imap_user,
        make_message(
            subject=f"Re: {sent['Subject']}",
            sender="Ayşe Yılmaz <ayse@customer.example.com>",
            to=support.email_address,
            headers={
                "In-Reply-To": reply.message_id,
                "References": f"<first@customer.example.com> {reply.message_id}",
            },
        ),
    )
    assert fetch_account(support.pk).imported == 1
    assert Case.objects.count() == 1
    answer = Email.objects.filter(status=Email.Status.IMPORTED).latest("pk")
    assert answer.parent == case


def test_address_suggestions_only_show_visible_records(make_user, make_record, logged_in):
    agent = make_user("agent", roles=[role("all", contact_access="own")])
    other = make_user("other")
    make_record(
        "contact",
        agent,
        first_name="Ayşe",
        last_name="Yılmaz",
        addresses=["ayse@customer.example.com"],
    )
    make_record(
        "contact",
        other,
        first_name="Ayşegül",
        last_name="Gizli",
        addresses=["secret@customer.example.com"],
    )
    client = logged_in(agent)

    data = client.get(reverse("mailboxes:address-suggest"), {"q": "ayş", "format": "json"}).json()[
        "results"
    ]
    assert [r["address"] for r in data] == ["ayse@customer.example.com"]

    html = client.get(
        reverse("mailboxes:address-suggest"),
        {"to": "boss@example.com, yılm"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert 'value="boss@example.com, Ayşe Yılmaz &lt;ayse@customer.example.com&gt;, "' in html
    assert "secret@" not in html


def test_send_test_email_button(
    make_user, make_smtp_group, make_smtp_personal, smtp_server, logged_in
):
    admin = make_user("admin", admin=True)
    owner = make_user("owner")
    group = make_smtp_group(smtp_server)
    personal = make_smtp_personal(owner, smtp_server)
    url = reverse("mailboxes:account-send-test", args=[group.pk])

    assert logged_in(owner).post(url).status_code == 404
    response = logged_in(admin).post(url, {"to": "admin@example.com"}, HTTP_HX_REQUEST="true")
    assert "A test email was sent to admin@example.com." in response.content.decode()
    [captured] = smtp_server.wait_for_messages(1)
    assert captured.rcpt_tos == ["admin@example.com"]
    assert captured.message["From"].addresses[0].addr_spec == group.email_address

    smtp_server.fail_next(1, code=535, at="mail", text="5.7.8 Authentication failed")
    response = logged_in(owner).post(
        reverse("mailboxes:account-send-test", args=[personal.pk]), HTTP_HX_REQUEST="true"
    )
    assert "could not be sent" in response.content.decode()
    assert "5.7.8 Authentication failed" in response.content.decode()


def test_compose_page_and_errors_in_turkish(make_user, make_smtp_group, smtp_server, logged_in):
    agent = make_user("agent", roles=[role("all")], language="tr")
    support = make_smtp_group(smtp_server)
    client = logged_in(agent)
    html = client.get(reverse("mailboxes:compose")).content.decode()
    assert "Yeni e-posta" in html and "Kimden" in html and "Taslağı kaydet" in html
    response = client.post(
        reverse("mailboxes:compose"),
        {"from_account": support.pk + 1000, "to": "kötü adres", "action": "send"},
    )
    html = response.content.decode()
    assert "Bu adresten gönderme yetkiniz yok." in html
    assert "geçerli bir e-posta adresi değil" in html


def test_reply_box_include_renders_the_case_defaults_and_posts_back(
    make_user, make_smtp_group, smtp_server, make_record, logged_in
):
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from mailboxes.views.compose import reply_form_context

    team = Team.objects.create(name="Support")
    agent = make_user("agent", roles=[role("team")], teams=[team])
    support = make_smtp_group(smtp_server, teams=[team])
    contact = make_record(
        "contact", agent, first_name="Can", last_name="Er", addresses=["can@example.com"]
    )
    case = Case.objects.create(name="Login", group_account=support, contact=contact)
    request = RequestFactory().get("/cases/1/")
    request.user = agent
    context = reply_form_context(
        request, initial=case_reply_initial(case, agent), next_url="/cases/1/"
    )
    with translation.override("en"):
        html = render_to_string("mailboxes/_reply_form.html", context, request=request)

    assert f'action="{reverse("mailboxes:compose")}"' in html
    assert 'name="next" value="/cases/1/"' in html
    assert re.search(rf'<option value="{support.pk}" selected', html)
    assert 'value="Can Er &lt;can@example.com&gt;"' in html
    assert f"[#{case.number}] Login" in html
    assert 'name="parent_type" value="cases.case"' in html
    assert 'id="reply_body"' in html and 'id="id_body"' not in html
    assert f"Answers go to {support.name} &lt;{support.email_address}&gt;." in html

    response = logged_in(agent).post(
        reverse("mailboxes:compose"),
        {
            "from_account": support.pk,
            "to": "Can Er <can@example.com>",
            "subject": f"[#{case.number}] Login",
            "body": "Fixed.",
            "parent_type": "cases.case",
            "parent_id": case.pk,
            "next": "/cases/1/",
            "action": "send",
        },
    )
    assert response["Location"] == "/cases/1/"
    assert Email.objects.get().parent == case


def test_an_autosaved_forward_still_sends_the_attachments_once(
    make_user, make_smtp_group, smtp_server, logged_in
):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    agent = make_user("agent", roles=[role("all")])
    support = make_smtp_group(smtp_server)
    email = _incoming(agent, sender="ayse@customer.example.com", subject="Fatura")
    name = default_storage.save("attachments/test/fatura", ContentFile(b"%PDF-fatura"))
    attachment = Attachment.objects.create(
        email=email,
        filename="Fatura.pdf",
        content_type="application/pdf",
        size=11,
        sha256="0" * 64,
        file=name,
    )
    fields = {
        "from_account": support.pk,
        "to": "accounting@example.com",
        "subject": "Fwd: Fatura",
        "body": "See attached.",
        "forwarded": email.pk,
        "keep_attachments": [attachment.pk],  # the page still names the original
        "token": "forward-1",
        "draft_writer": "page",
    }
    client = logged_in(agent)
    saved = client.post(reverse("mailboxes:compose-autosave"), {**fields, "draft_version": 0})
    forward = Email.objects.get(pk=saved.json()["id"])
    assert [a.filename for a in forward.attachments.all()] == ["Fatura.pdf"]  # a copy

    client.post(reverse("mailboxes:compose"), {**fields, "draft_version": 1, "action": "send"})
    forward.refresh_from_db()
    assert forward.status == Email.Status.SENDING
    email_deliver(forward.pk)
    [captured] = smtp_server.wait_for_messages(1)
    [part] = list(captured.message.iter_attachments())
    assert (part.get_filename(), part.get_content()) == ("Fatura.pdf", b"%PDF-fatura")
