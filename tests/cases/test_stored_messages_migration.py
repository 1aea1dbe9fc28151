"""Rows written before messages had codes stay readable, and read in the reader's language:
the migrations turn the English sentences they know back into codes."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation

from cases.models import AutoReplyLog, Case
from crm.kinds import note_kind_of, notification_line
from crm.models import Note, Notification
from mailboxes.models import MailAccount

BEFORE = [
    ("crm", "0003_notification_preferences"),
    ("mailboxes", "0006_journal_skipped_message_summary"),
    ("cases", "0001_initial"),
]


def _migrate(targets=None) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_english_sentences_of_old_rows_become_codes_and_read_in_turkish():
    _migrate(BEFORE)
    try:
        apps = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        User = apps.get_model("crm", "User")
        Team = apps.get_model("crm", "Team")
        Account = apps.get_model("mailboxes", "GroupEmailAccount")
        OldCase = apps.get_model("cases", "Case")
        OldNote = apps.get_model("crm", "Note")
        OldLog = apps.get_model("cases", "AutoReplyLog")
        OldNotification = apps.get_model("crm", "Notification")
        OldContentType = apps.get_model("contenttypes", "ContentType")
        case_type, _ = OldContentType.objects.get_or_create(app_label="cases", model="case")

        ali = User.objects.create(username="ali", first_name="Ali", last_name="Kaya")
        team = Team.objects.create(name="Support")
        mailbox = Account.objects.create(
            name="Destek",
            email_address="destek@example.test",
            last_error="The server refused the user name or password.",
            target_team=team,
        )
        case = OldCase.objects.create(
            number=1,
            name="Printer",
            status="assigned",
            assigned_user=ali,
            group_account=mailbox,
            assignment_reason="Round-robin in team “Support”: next after the previous assignee.",
        )
        common = {"parent_type": case_type, "parent_id": case.pk}
        assign = OldNote.objects.create(
            type="assign",
            body="Round-robin in team “Support”: next after the previous assignee.",
            data={"assigned_user_id": ali.pk},
            **common,
        )
        reopen = OldNote.objects.create(
            type="status",
            body="Reopened by a reply from ayse@acme.example: Closed → Assigned.",
            data={"from": "closed", "to": "assigned", "email_id": 7},
            **common,
        )
        log = OldLog.objects.create(
            case=case,
            outcome="refused",
            sender_address="ayse@acme.example",
            reason="Rate limit: ayse@acme.example already got 5 auto-replies in 2 h.",
        )
        told = OldNotification.objects.create(
            user=ali,
            type="assigned",
            related_type=case_type,
            related_id=case.pk,
            message="Case [#1] assigned to you: Printer",
            data={"case_id": case.pk, "case_number": 1},
        )
        odd = OldLog.objects.create(case=case, outcome="refused", reason="A sentence nobody knows.")
    finally:
        _migrate()

    ContentType.objects.clear_cache()
    case = Case.objects.get()
    assign, reopen = Note.objects.get(pk=assign.pk), Note.objects.get(pk=reopen.pk)
    with translation.override("tr"):
        assert str(MailAccount.objects.get().last_error) == (
            "Sunucu kullanıcı adını ya da parolayı kabul etmedi."
        )
        assert str(case.assignment_reason) == (
            "“Support” takımında sırayla dağıtım: bir önceki atanandan sonra sıra bu kişideydi."
        )
        assert note_kind_of(assign).stream_line(assign, html=False) == (
            "Destek bu kaydı Ali Kaya kişisine atadı"
        )
        assert str(note_kind_of(assign).detail_of(assign)) == str(case.assignment_reason)
        assert reopen.type == "case_reopened"
        assert note_kind_of(reopen).stream_line(reopen, html=False) == (
            "Vaka, ayse@acme.example yanıt verdiği için yeniden açıldı: Kapandı → Atandı"
        )
        assert str(AutoReplyLog.objects.get(pk=log.pk).reason) == (
            "Bu göndericiye son 2 saatte 5 otomatik yanıt gönderildi; sınır 5."
        )
        told = Notification.objects.get(pk=told.pk)
        assert not told.message
        assert notification_line(told, html=False) == "Destek, [#1] Printer kaydını size atadı"
        # a sentence no form matches is kept as it was, still shown
        assert str(AutoReplyLog.objects.get(pk=odd.pk).reason) == "A sentence nobody knows."
    assert case.assignment_reason.code == "cases.round_robin"
    assert assign.body == "" and reopen.body == ""
