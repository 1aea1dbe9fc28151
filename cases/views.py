"""Case pages; list, form and delete are crm's generic record views (cases/screens.py)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from cases.models import Case
from crm.views.records import RecordDetailView
from mailboxes.models import Email


class CaseDetailView(RecordDetailView):
    """The case with its emails; the stream shows them with the quoted history stripped."""

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        case: Case = self.object
        context["case_emails"] = (
            Email.objects.visible_to(self.request.user)
            .filter(parent_type=ContentType.objects.get_for_model(Case), parent_id=case.pk)
            .select_related("from_address")
            .order_by("-date_sent")[:100]
        )
        return context
