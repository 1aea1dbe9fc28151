"""Case pages; list, form and delete are crm's generic record views (cases/screens.py)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from cases.auto_reply import auto_reply_logs_for_case
from cases.models import Case
from cases.replies import case_reply_initial
from cases.reply_actions import case_reply_waiting
from crm.links import url_of
from crm.views.records import RecordDetailView
from mailboxes.models import Email
from mailboxes.views.compose import reply_form_context

CASE_EMAIL_LIMIT = 100


class CaseDetailView(RecordDetailView):
    """The case with its emails, a Reply box (``?reply=<email id>`` answers that email) and
    the auto-reply decisions; the stream shows the emails with the quoted history stripped."""

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        case: Case = self.object
        user = self.request.user
        emails = list(
            Email.objects.visible_to(user)
            .filter(parent_type=ContentType.objects.get_for_model(Case), parent_id=case.pk)
            .select_related("from_address")
            .order_by("-date_sent", "-pk")[:CASE_EMAIL_LIMIT]
        )
        for email in emails:
            email.page_url = url_of(email)
        case_reply_waiting(emails)
        context["case_emails"] = emails

        replied = None
        wanted = self.request.GET.get("reply", "")
        if wanted.isdigit():
            replied = next((e for e in emails if e.pk == int(wanted)), None)
        context["replying_to"] = replied
        context.update(
            reply_form_context(
                self.request,
                initial=case_reply_initial(case, user, replied=replied),
                next_url=case.get_absolute_url(),
            )
        )

        visible_ids = {e.pk for e in emails}
        logs = list(auto_reply_logs_for_case(case))
        for log in logs:
            log.email_visible = log.email_id in visible_ids
        context["auto_reply_logs"] = logs
        return context
