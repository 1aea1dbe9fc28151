"""Filters of the case list."""

from __future__ import annotations

import django_filters
from django import forms
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from cases.models import Case
from crm.list_filters import RecordFilterSet, _visible_accounts
from mailboxes.inbox.search_query import query_apply, query_parse
from mailboxes.models import Email


class CaseFilterSet(RecordFilterSet):
    search_fields = (
        "name",
        "account__name",
        "contact__first_name",
        "contact__last_name",
        "lead__first_name",
        "lead__last_name",
    )
    search_placeholder = _("Number, subject, contact or words in its emails")
    search_addresses = False
    status = django_filters.ChoiceFilter(
        choices=Case.Status.choices, label=_("Status"), empty_label=_("Any status")
    )
    open = django_filters.BooleanFilter(
        method="filter_open", label=_("Only open cases"), widget=forms.CheckboxInput
    )
    priority = django_filters.ChoiceFilter(
        choices=Case.Priority.choices, label=_("Priority"), empty_label=_("Any priority")
    )
    account = django_filters.ModelChoiceFilter(
        queryset=_visible_accounts, label=_("Account"), empty_label=_("Any account")
    )
    unassigned = django_filters.BooleanFilter(
        method="filter_unassigned", label=_("Unassigned"), widget=forms.CheckboxInput
    )

    class Meta:
        model = Case
        fields = [
            "q",
            "status",
            "open",
            "priority",
            "account",
            "assigned_user",
            "team",
            "mine",
            "unassigned",
        ]

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Case number (``123`` or ``#123``), words of the subject, account or contact, or
        the email search (full text and operators) over the case's emails the user sees."""
        number = value.strip().lstrip("#")
        if number.isdigit():
            return queryset.filter(Q(number=int(number)) | Q(name__icontains=number))
        by_fields = super().filter_search(queryset, name, value).values("pk")
        user = self.request.user if self.request is not None else None
        if user is None:
            return queryset.filter(pk__in=by_fields)
        on_cases = Email.objects.visible_to(user).filter(
            parent_type=ContentType.objects.get_for_model(Case)
        )
        by_emails = query_apply(on_cases, query_parse(value), user).values("parent_id")
        return queryset.filter(Q(pk__in=by_fields) | Q(pk__in=by_emails))

    def filter_open(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(status__in=settings.POSTACI_CASE_OPEN_STATUSES)

    def filter_unassigned(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(assigned_user__isnull=True) if value else queryset
