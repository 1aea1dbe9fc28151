"""Stored messages (crm.messages): a code and parameters in the row, the sentence in the
reader's language when shown."""

from __future__ import annotations

import logging

import pytest
from django.utils import translation

from cases import messages as case_messages
from crm.messages import Message
from crm.models import Notification
from mailboxes import messages as mail_messages


def test_a_definition_refuses_a_parameter_its_sentence_does_not_read_or_lacks():
    with pytest.raises(TypeError):
        mail_messages.HOST_NOT_FOUND()
    with pytest.raises(TypeError):
        mail_messages.HOST_NOT_FOUND(host="imap.example.com", port=993)
    with pytest.raises(TypeError):
        mail_messages.HOST_NOT_FOUND(host="")


def test_message_renders_in_the_active_language_with_nested_messages():
    failing = mail_messages.FETCH_FAILING(
        name="Destek", count=3, error=mail_messages.HOST_NOT_FOUND(host="imap.example.com")
    )
    stored = Message.coerce(failing.as_json())  # as a row gives it back
    with translation.override("en"):
        assert str(stored) == (
            "The mailbox “Destek” could not be fetched 3 times in a row: "
            "The host name “imap.example.com” was not found."
        )
    with translation.override("tr"):
        assert str(stored) == (
            "“Destek” posta kutusundaki postalar üst üste 3 kez getirilemedi: "
            "“imap.example.com” sunucu adı bulunamadı."
        )


def test_rate_limit_refusal_carries_count_and_limit():
    refusal = case_messages.SENDER_LIMIT(
        count=5, limit=5, period=case_messages.period_message(7200)
    )
    assert refusal.params["count"] == 5 and refusal.params["limit"] == 5
    with translation.override("en"):
        assert str(refusal) == "5 auto-replies to this sender in the last 2 hours; the limit is 5."
    with translation.override("tr"):
        assert str(refusal) == "Bu göndericiye son 2 saatte 5 otomatik yanıt gönderildi; sınır 5."
    with translation.override("en"):
        one = case_messages.SENDER_LIMIT(
            count=1, limit=1, period=case_messages.period_message(3600)
        )
        assert str(one) == "1 auto-reply to this sender in the last hour; the limit is 1."


def test_parameters_are_escaped_in_html_but_the_sentence_is_not_double_escaped():
    message = mail_messages.IMAP_PROTOCOL(reason="<script>x</script> & co")
    html = message.__html__()
    assert "&lt;script&gt;" in html and "&amp; co" in html and "<script>" not in html


def test_an_old_rows_english_text_is_shown_translated_when_the_catalogue_knows_it():
    known = Message(text="The server refused the user name or password.")
    unknown = Message(text="Something a server once said")
    with translation.override("tr"):
        assert str(known) == "Sunucu kullanıcı adını ya da parolayı kabul etmedi."
        assert str(unknown) == "Something a server once said"


def test_an_unknown_code_is_logged_and_shows_its_text(caplog):
    with caplog.at_level(logging.ERROR, logger="crm.messages"):
        assert str(Message("gone.code", {}, text="Kept text")) == "Kept text"
        assert str(Message("gone.code", {})) == "gone.code"
    assert [r.getMessage() for r in caplog.records] == ["Unknown message code 'gone.code'"]


def test_message_field_stores_the_code_and_reads_it_back(db, django_user_model):
    user = django_user_model.objects.create_user("u")
    notification = Notification.objects.create(
        user=user, type="message", message=mail_messages.IMAP_AUTH()
    )
    row = Notification.objects.filter(pk=notification.pk).values_list("message", flat=True)
    assert row.get() == Message("mail.imap_auth", {})
    Notification.objects.filter(pk=notification.pk).update(message=mail_messages.TIMEOUT())
    notification.refresh_from_db()
    assert notification.message.as_json() == {"code": "mail.timeout", "params": {}}
    notification.message = ""
    notification.save()
    assert not Notification.objects.get(pk=notification.pk).message
