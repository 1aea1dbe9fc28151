"""Search and filters of the email lists (django-filter), applied inside the chosen folder."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from crm.access import is_admin, user_team_ids
from mailboxes.inbox.search_query import date_range, field_words, query_apply, query_parse
from mailboxes.linking.parents import email_parent_models
from mailboxes.models import Email, GroupEmailAccount, MailAccount

NOT_LINKED = "none"


def accounts_visible_to(user) -> QuerySet[MailAccount]:
    """Accounts a user may filter by: group accounts of their teams and their own personal
    accounts (administrators: every account)."""
    if is_admin(user):
        return MailAccount.objects.all()
    group_ids = GroupEmailAccount.teams.through.objects.filter(
        team_id__in=user_team_ids(user)
    ).values("groupemailaccount_id")
    return MailAccount.objects.filter(
        Q(pk__in=group_ids) | Q(kind=MailAccount.Kind.PERSONAL, personalemailaccount__owner=user)
    )


def _parent_type_choices() -> list[tuple[str, str]]:
    choices = [(NOT_LINKED, _("Not linked"))]
    for model in email_parent_models().values():  # "app_label.model" values
        choices.append((model._meta.label_lower, str(model._meta.verbose_name).capitalize()))
    return choices


def _accounts(request) -> QuerySet[MailAccount]:
    if request is None:
        return MailAccount.objects.none()
    return accounts_visible_to(request.user)


def email_search(
    queryset: QuerySet[Email], text: str, user=None, *, date_field: str = "date_sent"
) -> QuerySet[Email]:
    """What the search box finds: words through the full-text index and the Gmail-like
    operators (mailboxes/inbox/search_query.py), in the list's order (newest first)."""
    return query_apply(queryset, query_parse(text), user, date_field=date_field)


class EmailFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    sender = django_filters.CharFilter(method="filter_sender", label=_("From"))
    recipient = django_filters.CharFilter(method="filter_recipient", label=_("To"))
    since = django_filters.DateFilter(
        method="filter_since",
        label=_("From date"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = django_filters.DateFilter(
        method="filter_until",
        label=_("To date"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    account = django_filters.ModelChoiceFilter(
        field_name="accounts",
        queryset=_accounts,
        label=_("Mail account"),
        empty_label=_("Any account"),
    )
    linked = django_filters.ChoiceFilter(
        method="filter_linked",
        choices=_parent_type_choices,
        label=_("Linked to"),
        empty_label=_("Anything"),
    )
    unread = django_filters.BooleanFilter(
        method="filter_unread", label=_("Unread only"), widget=forms.CheckboxInput
    )
    attachments = django_filters.BooleanFilter(
        method="filter_attachments", label=_("With attachments"), widget=forms.CheckboxInput
    )

    class Meta:
        model = Email
        fields = [
            "q",
            "sender",
            "recipient",
            "since",
            "until",
            "account",
            "linked",
            "unread",
            "attachments",
        ]

    ADVANCED = ("sender", "recipient", "since", "until", "account", "linked")

    def __init__(self, *args, date_field: str = "date_sent", **kwargs):
        # what the list is sorted by (selectors.folder_sort_field): dates are its ranges
        self.date_field = date_field
        super().__init__(*args, **kwargs)

    @property
    def advanced_in_use(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.ADVANCED)

    def filter_search(self, queryset, name, value):
        if not value.strip():
            return queryset
        user = self.request.user if self.request else None
        return email_search(queryset, value.strip(), user, date_field=self.date_field)

    def filter_since(self, queryset, name, value):
        return date_range(queryset, since=value, field=self.date_field) if value else queryset

    def filter_until(self, queryset, name, value):
        return date_range(queryset, until=value, field=self.date_field) if value else queryset

    def filter_sender(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return field_words(queryset, "from", value)

    def filter_recipient(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return field_words(queryset, "to", value)

    def filter_linked(self, queryset, name, value: str):
        if value == NOT_LINKED:
            return queryset.filter(parent_type__isnull=True)
        app_label, _dot, model_name = value.partition(".")
        content_type = ContentType.objects.filter(app_label=app_label, model=model_name).first()
        return queryset.filter(parent_type=content_type) if content_type else queryset.none()

    def filter_unread(self, queryset, name, value):
        return queryset.filter(user_is_read=False) if value else queryset

    def filter_attachments(self, queryset, name, value):
        return queryset.filter(has_attachments=True) if value else queryset
