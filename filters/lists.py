"""Reading filters for the list screens: grouped into the lists they run in, with a summary.

Orders only compare within one list (global filters, one group account's, one personal
account's, one user's inbox filters), so the screens show one table per list, each with its
own up/down buttons.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext as _

from crm.models import User
from crm.users import users_matching
from filters.access import filter_scopes_for
from filters.dry_run import describe_effects
from filters.models import EmailFilter
from mailboxes.models import GroupEmailAccount, PersonalEmailAccount

Action = EmailFilter.Action
Scope = EmailFilter.Scope
OWN_SCOPES = (Scope.USER_INBOX, Scope.PERSONAL_ACCOUNT)  # the lists a user keeps themselves

_RELATED = ("user", "personal_account", "personal_account__owner", "group_account")
_RELATED += ("folder", "group_folder")


@dataclass
class FilterRow:
    """One filter as a list shows it."""

    filter: EmailFilter
    criteria: list[tuple[str, str]]
    effects: list[str]
    problem: str
    is_first: bool = False
    is_last: bool = False


@dataclass
class FilterList:
    """The filters that run together, in their order."""

    key: str
    title: str
    description: str
    rows: list[FilterRow] = field(default_factory=list)
    create_url: str = ""


def criteria_summary(filter_obj: EmailFilter) -> list[tuple[str, str]]:
    """``(label, value)`` of each criterion that is set."""
    items = [
        (_("From"), filter_obj.from_pattern),
        (_("To or Cc"), filter_obj.to_pattern),
        (_("Subject"), filter_obj.subject_pattern),
        (_("Body has any of"), ", ".join(f"“{p}”" for p in filter_obj.body_contains_any or [])),
        (_("Body has all of"), ", ".join(f"“{p}”" for p in filter_obj.body_contains_all or [])),
    ]
    return [(label, value) for label, value in items if value]


def filter_problem(filter_obj: EmailFilter) -> str:
    """Why a saved filter does nothing, if it does nothing (its Move folder was deleted)."""
    if filter_obj.action == Action.MOVE_TO_FOLDER and filter_obj.folder_id is None:
        return _("Its folder was deleted: choose another one, or this filter does nothing.")
    if filter_obj.action == Action.MOVE_TO_GROUP_FOLDER and filter_obj.group_folder_id is None:
        return _("Its group folder was deleted: choose another one, or this filter does nothing.")
    return ""


def filter_row(filter_obj: EmailFilter) -> FilterRow:
    problem = filter_problem(filter_obj)
    return FilterRow(
        filter=filter_obj,
        criteria=criteria_summary(filter_obj),
        effects=[] if problem else describe_effects(filter_obj),
        problem=problem,
    )


def _with_rows(filter_list: FilterList, filters: Iterable[EmailFilter]) -> FilterList:
    filter_list.rows = [filter_row(f) for f in sorted(filters, key=lambda f: (f.order, f.pk))]
    if filter_list.rows:
        filter_list.rows[0].is_first = True
        filter_list.rows[-1].is_last = True
    return filter_list


def create_url(scope: str, account_id: int | None = None) -> str:
    query = {"scope": scope} | ({"account": account_id} if account_id else {})
    return f"{reverse('filters:create')}?{urlencode(query)}"


def my_filter_lists(user) -> list[FilterList]:
    """A user's own lists: their inbox, then each of their personal accounts."""
    rows = list(
        EmailFilter.objects.visible_to(user)
        .filter(user=user, scope__in=OWN_SCOPES)
        .select_related(*_RELATED)
    )
    lists = [
        _with_rows(
            FilterList(
                key="inbox",
                title=_("My inbox"),
                description=_(
                    "Sort every email that reaches you, from any account, as it arrives. "
                    "Other people who get the same email are not affected."
                ),
                create_url=create_url(Scope.USER_INBOX),
            ),
            (f for f in rows if f.scope == Scope.USER_INBOX),
        )
    ]
    accounts = PersonalEmailAccount.objects.filter(owner=user).order_by("name")
    may_create = Scope.PERSONAL_ACCOUNT in filter_scopes_for(user)
    for account in accounts:
        filters = [f for f in rows if f.personal_account_id == account.pk]
        if not filters and not may_create:
            continue
        lists.append(
            _with_rows(
                FilterList(
                    key=f"personal-{account.pk}",
                    title=_("Account %(account)s") % {"account": _account_name(account)},
                    description=_(
                        "Run when mail is fetched from this account, before it is imported."
                    ),
                    create_url=create_url(Scope.PERSONAL_ACCOUNT, account.pk) if may_create else "",
                ),
                filters,
            )
        )
    return lists


def admin_shared_filter_lists() -> list[FilterList]:
    """The lists an administrator manages: global, then each group account's."""
    rows = list(
        EmailFilter.objects.filter(scope__in=(Scope.GLOBAL, Scope.GROUP_ACCOUNT)).select_related(
            *_RELATED
        )
    )
    shared = [
        _with_rows(
            FilterList(
                key="global",
                title=_("Global"),
                description=_(
                    "Run on every group and personal account when mail is fetched, before "
                    "the accounts' own filters."
                ),
                create_url=create_url(Scope.GLOBAL),
            ),
            (f for f in rows if f.scope == Scope.GLOBAL),
        )
    ]
    for account in GroupEmailAccount.objects.order_by("name"):
        shared.append(
            _with_rows(
                FilterList(
                    key=f"group-{account.pk}",
                    title=_("Group account %(account)s") % {"account": _account_name(account)},
                    description=_("Run when mail is fetched from this account."),
                    create_url=create_url(Scope.GROUP_ACCOUNT, account.pk),
                ),
                (f for f in rows if f.group_account_id == account.pk),
            )
        )
    return shared


def filter_owners(query: str = ""):
    """Users who have filters of their own, by username; ``query`` narrows them by name or
    address. The Administration screen pages through these rather than every filter."""
    owners = User.objects.filter(
        pk__in=EmailFilter.objects.filter(scope__in=OWN_SCOPES).values("user_id")
    ).order_by(Lower("username"), "pk")
    return users_matching(owners, query)


def user_filter_lists(users: Iterable) -> list[FilterList]:
    """These users' own lists (inbox, then each personal account), in the users' order."""
    order = {user.pk: position for position, user in enumerate(users)}
    rows = sorted(
        EmailFilter.objects.filter(scope__in=OWN_SCOPES, user_id__in=order).select_related(
            *_RELATED
        ),
        key=lambda f: (order[f.user_id], f.scope != Scope.USER_INBOX, f.pk),
    )
    lists: dict[str, FilterList] = {}
    filters: dict[str, list[EmailFilter]] = {}
    for f in rows:
        if f.scope == Scope.USER_INBOX:
            key = f"inbox-{f.user_id}"
            title = _("Inbox of %(user)s") % {"user": f.user}
            description = _("Sort the emails that reach this user.")
        else:
            key = f"personal-{f.personal_account_id}"
            title = _("Account %(account)s of %(user)s") % {
                "account": _account_name(f.personal_account),
                "user": f.user,
            }
            description = _("Run when mail is fetched from this personal account.")
        if key not in lists:
            lists[key] = FilterList(key=key, title=title, description=description)
        filters.setdefault(key, []).append(f)
    return [_with_rows(lists[key], filters[key]) for key in lists]


def _account_name(account) -> str:
    if account.email_address and account.email_address != account.name:
        return f"{account.name} <{account.email_address}>"
    return account.name
