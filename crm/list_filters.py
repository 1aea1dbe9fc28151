"""Filters of the record lists (django-filter); sorting is done by the list view."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from crm.models import Account, Contact, EmailAddressLink, Lead, Opportunity, Team, User
from crm.text_search import words_in_fields


def _active_users(request) -> QuerySet[User]:
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


def _visible_accounts(request) -> QuerySet[Account]:
    if request is None:
        return Account.objects.none()
    return Account.objects.visible_to(request.user)


class RecordFilterSet(django_filters.FilterSet):
    """Search, assigned user, team and "only mine"; subclasses add their own fields."""

    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    assigned_user = django_filters.ModelChoiceFilter(
        queryset=_active_users, label=_("Assigned user"), empty_label=_("Anyone")
    )
    team = django_filters.ModelChoiceFilter(
        field_name="teams",
        queryset=Team.objects.all(),
        label=_("Team"),
        empty_label=_("Any team"),
    )
    mine = django_filters.BooleanFilter(
        method="filter_mine", label=_("Only my records"), widget=forms.CheckboxInput
    )

    search_fields: tuple[str, ...] = ("name",)
    search_addresses = True

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Every word must match one of the name fields (in any letter case, without its
        accents: crm/text_search.py), or the whole text an address."""
        value = value.strip()
        if not value:
            return queryset
        by_name = words_in_fields(queryset, value, list(self.search_fields)).values("pk")
        condition = Q(pk__in=by_name)
        if self.search_addresses:
            links = EmailAddressLink.objects.filter(
                content_type=ContentType.objects.get_for_model(queryset.model),
                address__address__icontains=value.lower(),
            ).values("object_id")
            condition |= Q(pk__in=links)
        return queryset.filter(condition)

    def filter_mine(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        if not value or self.request is None:
            return queryset
        return queryset.filter(assigned_user=self.request.user)


class AccountFilterSet(RecordFilterSet):
    type = django_filters.ChoiceFilter(
        choices=Account.Type.choices, label=_("Type"), empty_label=_("Any type")
    )

    class Meta:
        model = Account
        fields = ["q", "type", "assigned_user", "team", "mine"]


class ContactFilterSet(RecordFilterSet):
    search_fields = ("first_name", "last_name", "account__name")
    account = django_filters.ModelChoiceFilter(
        queryset=_visible_accounts, label=_("Account"), empty_label=_("Any account")
    )

    class Meta:
        model = Contact
        fields = ["q", "account", "assigned_user", "team", "mine"]


class LeadFilterSet(RecordFilterSet):
    search_fields = ("first_name", "last_name", "account_name")
    status = django_filters.ChoiceFilter(
        choices=Lead.Status.choices, label=_("Status"), empty_label=_("Any status")
    )
    source = django_filters.ChoiceFilter(
        choices=Lead.Source.choices, label=_("Source"), empty_label=_("Any source")
    )

    class Meta:
        model = Lead
        fields = ["q", "status", "source", "assigned_user", "team", "mine"]


class OpportunityFilterSet(RecordFilterSet):
    search_fields = ("name", "account__name")
    search_addresses = False
    stage = django_filters.ChoiceFilter(
        choices=Opportunity.Stage.choices, label=_("Stage"), empty_label=_("Any stage")
    )
    account = django_filters.ModelChoiceFilter(
        queryset=_visible_accounts, label=_("Account"), empty_label=_("Any account")
    )

    class Meta:
        model = Opportunity
        fields = ["q", "stage", "account", "assigned_user", "team", "mine"]
