"""Search and filters of the email template list (django-filter)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from mailtemplates.models import EmailTemplate


class EmailTemplateFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    category = django_filters.ChoiceFilter(
        label=_("Category"), empty_label=_("Any category"), choices=[]
    )
    visibility = django_filters.ChoiceFilter(
        choices=EmailTemplate.Visibility.choices,
        label=_("Who may use it"),
        empty_label=_("All templates"),
    )
    search_placeholder = _("Name, category or subject")

    class Meta:
        model = EmailTemplate
        fields = ["q", "category", "visibility"]

    def __init__(self, *args, categories: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["category"].extra["choices"] = [(c, c) for c in categories]

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Every word in the name, category or subject."""
        for word in value.split():
            queryset = queryset.filter(
                Q(name__icontains=word) | Q(category__icontains=word) | Q(subject__icontains=word)
            )
        return queryset
