"""Case forms: the generic record form, with the case's own fields."""

from __future__ import annotations

from django import forms

from cases.models import Case
from crm.forms import RecordForm


class CaseForm(RecordForm):
    class Meta:
        model = Case
        fields = [
            "name",
            "status",
            "priority",
            "type",
            "account",
            "contact",
            "lead",
            "description",
            "assigned_user",
            "teams",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 6})}
