"""Who may see what: role levels and the querysets that apply them.

Every list and detail view filters through ``Model.objects.visible_to(user)``; nothing reads a
record by primary key without it. Levels: ``no`` < ``own`` < ``team`` < ``all``; with several
roles (direct or through teams) the most permissive wins; superusers see everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

from crm.permissions import permissions

if TYPE_CHECKING:
    from crm.models import User

LEVEL_RANK = {"no": 0, "own": 1, "team": 2, "all": 3}
_CACHE_ATTR = "_postaci_access_cache"


def _cache(user) -> dict:
    cache = getattr(user, _CACHE_ATTR, None)
    if cache is None:
        cache = {}
        setattr(user, _CACHE_ATTR, cache)
    return cache


def clear_access_cache(user) -> None:
    """Forget cached roles and teams (after changing a user's roles or teams)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def user_roles(user: User) -> list:
    """The user's roles, given directly or through any of their teams."""
    cache = _cache(user)
    if "roles" not in cache:
        from crm.models import Role

        cache["roles"] = list(
            Role.objects.filter(Q(users=user) | Q(teams__members=user)).distinct()
        )
    return cache["roles"]


def user_team_ids(user: User) -> frozenset[int]:
    cache = _cache(user)
    if "teams" not in cache:
        from crm.models import TeamMembership

        cache["teams"] = frozenset(
            TeamMembership.objects.filter(user=user).values_list("team_id", flat=True)
        )
    return cache["teams"]


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


def access_level(user, scope: str) -> str:
    """The user's read level for a record type: ``no``, ``own``, ``team`` or ``all``."""
    if not (user and user.is_authenticated and user.is_active):
        return "no"
    if user.is_superuser:
        return "all"
    values = role_values(user, f"{scope}_access")
    if not values:
        return settings.POSTACI_DEFAULT_ACCESS_LEVEL
    return max(values, key=LEVEL_RANK.__getitem__)


def role_values(user: User, name: str) -> list:
    """What each of the user's roles (direct or through teams) says of permission ``name``
    (``crm.permissions``); empty when the user has no role."""
    return [role.permission(name) for role in user_roles(user)]


class RecordQuerySet(models.QuerySet):
    """Queryset of a :class:`crm.models.Record` subclass, filtered by the role levels."""

    def visible_to(self, user) -> RecordQuerySet:
        level = access_level(user, self.model.access_scope)
        if level == "all":
            return self
        if level == "no":
            return self.none()
        condition = Q(assigned_user=user) | Q(created_by=user)
        if level == "team":
            teams_field = self.model._meta.get_field("teams")
            through = teams_field.remote_field.through
            condition |= Q(
                pk__in=through.objects.filter(team_id__in=user_team_ids(user)).values(
                    teams_field.m2m_field_name()
                )
            )
        return self.filter(condition)


def users_access(
    user_ids: Iterable[int],
    scope: str,
    *,
    flags: Mapping[int, tuple[bool, bool]] | None = None,
) -> dict[int, tuple[str, frozenset[int]]]:
    """Read level for a record type and team ids of many users at once: three queries.

    Gives for each user what ``access_level(user, scope)`` and ``user_team_ids(user)`` give,
    for deciding about many users (followers of a record, say) without a query per user.
    Unknown users are left out. ``flags``: user id → (is_active, is_superuser) of these users
    when the caller read their rows already (one query less).
    """
    from crm.models import Role, TeamMembership, User

    ids = set(user_ids)
    if not ids:
        return {}
    field = f"{scope}_access"
    default = permissions()[field].default
    levels: dict[int, list[str]] = {}
    teams: dict[int, set[int]] = {}
    for user_id, level in Role.users.through.objects.filter(user_id__in=ids).values_list(
        "user_id", f"role__permissions__{field}"
    ):
        levels.setdefault(user_id, []).append(level or default)
    for user_id, team_id, role_id, level in TeamMembership.objects.filter(
        user_id__in=ids
    ).values_list("user_id", "team_id", "team__roles__id", f"team__roles__permissions__{field}"):
        teams.setdefault(user_id, set()).add(team_id)
        if role_id is not None:
            levels.setdefault(user_id, []).append(level or default)
    if flags is None:
        rows = User.objects.filter(pk__in=ids).values_list("pk", "is_active", "is_superuser")
    else:
        rows = [(user_id, *flags[user_id]) for user_id in ids if user_id in flags]
    result = {}
    for user_id, active, superuser in rows:
        if not active:
            level = "no"
        elif superuser:
            level = "all"
        elif user_id in levels:
            level = max(levels[user_id], key=LEVEL_RANK.__getitem__)
        else:
            level = settings.POSTACI_DEFAULT_ACCESS_LEVEL
        result[user_id] = (level, frozenset(teams.get(user_id, ())))
    return result
