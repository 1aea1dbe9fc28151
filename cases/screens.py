"""The case list and detail screens, on the generic record views of crm."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from cases.forms import CaseForm
from cases.list_filters import CaseFilterSet
from cases.models import Case
from crm.views.records import Column, RecordScreen

CASES = RecordScreen(
    model=Case,
    form_class=CaseForm,
    filterset_class=CaseFilterSet,
    columns=(
        Column("number", _("Number"), "display_number", ("number",)),
        Column("name", _("Subject"), "name", ("name",), link=True),
        Column("status", _("Status"), "status", ("status",), badge=True),
        Column("priority", _("Priority"), "priority", ("priority",), badge=True),
        Column("account", _("Account"), "account", ("account__name",)),
        Column(
            "assigned",
            _("Assigned user"),
            "assigned_user",
            ("assigned_user__first_name", "assigned_user__last_name", "assigned_user__username"),
        ),
        Column("modified", _("Modified"), "modified_at", ("modified_at",)),
    ),
    detail_fields=(
        "status",
        "priority",
        "type",
        "account",
        "contact",
        "lead",
        "group_account",
        "assignment_reason",
        "description",
    ),
    default_sort="-number",
    select_related=("assigned_user", "account"),
    extra_sorts={"created": ("created_at",)},
    namespace="cases",
)
