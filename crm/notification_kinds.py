"""Kinds of notification a user may turn off, and each user's choice per kind.

A kind is a reason to be told ("a case is assigned to me", "email on a record I follow"). The
apps that notify contribute their kinds in ``AppConfig.ready`` with
:func:`notification_kind_register`: crm knows its own (records, the stream, mentions) and
nothing of mail or cases.

Per kind a user chooses a level: ``off``, ``bell`` (in the app) or ``email`` (in the app and in
their email digest, when they asked for one). Choices live on the user
(``User.notification_preferences``, code → level); a kind the user never chose is at its
registered default. An administrator keeps defaults for a team (``Team.notification_defaults``)
and applies them to its members; members may change their own choices afterwards, and
applying again overwrites them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# crm's own kinds (registered by CrmConfig.ready)
RECORD_ASSIGNED = "record_assigned"
RECORD_ACTIVITY = "record_activity"
MENTION = "mention"


class Level(models.TextChoices):
    OFF = "off", _("Off")
    BELL = "bell", _("Bell")
    EMAIL = "email", _("Bell and email")


@dataclass(frozen=True)
class NotificationKind:
    """One reason to notify someone, as the preferences page lists it."""

    code: str
    label: str | Promise
    section: str | Promise
    order: int
    default: str = Level.BELL
    # False: never in the email digest (the email it is about is in the user's inbox already)
    emailable: bool = True
    help_text: str | Promise = ""
    # Set both to make this kind stand for ``instead_of`` on records of ``model`` (a label
    # such as "cases.case"): an assigned case is "a case is assigned to me".
    instead_of: str = ""
    model: str = ""

    @property
    def levels(self) -> list[tuple[str, str | Promise]]:
        return [(v, label) for v, label in Level.choices if self.emailable or v != Level.EMAIL]


_KINDS: dict[str, NotificationKind] = {}


def notification_kind_register(kind: NotificationKind) -> None:
    """Make ``kind`` a choice on every user's preferences (idempotent per code)."""
    if kind.default not in Level.values or (kind.default == Level.EMAIL and not kind.emailable):
        raise ValueError(f"notification kind {kind.code}: bad default {kind.default!r}")
    if bool(kind.instead_of) != bool(kind.model):
        raise ValueError(f"notification kind {kind.code}: set instead_of and model together")
    _KINDS[kind.code] = kind


def notification_kinds() -> list[NotificationKind]:
    """Every registered kind, in the order the preferences page shows them."""
    return sorted(_KINDS.values(), key=lambda kind: (kind.order, kind.code))


def notification_kind_for(code: str, model: type[models.Model] | None) -> str:
    """The kind standing for ``code`` on records of ``model`` (``code`` itself when none)."""
    if model is None:
        return code
    label = model._meta.label_lower
    for kind in _KINDS.values():
        if kind.instead_of == code and kind.model == label:
            return kind.code
    return code


def level_of(preferences: Mapping[str, str], code: str) -> str:
    """The user's level for ``code``; a notification of no registered kind always rings."""
    kind = _KINDS.get(code)
    if kind is None:
        return Level.EMAIL
    level = preferences.get(code, kind.default)
    if level not in Level.values:
        level = kind.default
    if level == Level.EMAIL and not kind.emailable:
        level = Level.BELL
    return level


def wants(preferences: Mapping[str, str], code: str) -> bool:
    """Does a user with these preferences get notifications of kind ``code`` at all?"""
    return level_of(preferences, code) != Level.OFF


def preferences_of(user_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """Users' stored choices (code → level), one query; users who chose nothing map to {}."""
    from crm.models import User

    ids = set(user_ids)
    if not ids:
        return {}
    return dict(User.objects.filter(pk__in=ids).values_list("pk", "notification_preferences"))


def users_wanting(user_ids: Iterable[int], code: str) -> set[int]:
    """Those of ``user_ids`` who want notifications of kind ``code`` (one query)."""
    ids = set(user_ids)
    if code not in _KINDS:
        return ids
    return {uid for uid, prefs in preferences_of(ids).items() if wants(prefs or {}, code)}


def choices_clean(choices: Mapping[str, str]) -> dict[str, str]:
    """Only registered kinds with a level they allow."""
    return {
        code: level
        for code, level in choices.items()
        if code in _KINDS and level in dict(_KINDS[code].levels)
    }


def levels_with_defaults(choices: Mapping[str, str]) -> dict[str, str]:
    """Every registered kind's level under ``choices`` (a user's, or a team's defaults)."""
    return {kind.code: level_of(choices, kind.code) for kind in notification_kinds()}


def _differing(choices: Mapping[str, str]) -> dict[str, str]:
    """``choices`` without the levels that are their kind's default (a kind at its default
    follows the product's default should it change)."""
    return {
        code: level
        for code, level in choices.items()
        if code not in _KINDS or level != _KINDS[code].default
    }


def notification_preferences_save(user, choices: Mapping[str, str]) -> None:
    """Set some of ``user``'s levels (the kinds not in ``choices`` keep theirs)."""
    user.notification_preferences = _differing(
        {**(user.notification_preferences or {}), **choices_clean(choices)}
    )
    user.save(update_fields=["notification_preferences"])


def team_defaults_save(team, choices: Mapping[str, str]) -> None:
    """Set the levels ``team``'s members get when an administrator applies them."""
    team.notification_defaults = _differing(choices_clean(choices))
    team.save(update_fields=["notification_defaults"])


def team_defaults_apply(team) -> int:
    """Give every member of ``team`` the team's levels (overwriting theirs for those kinds);
    returns how many members there are."""
    from crm.models import User

    defaults = levels_with_defaults(team.notification_defaults or {})
    members = list(User.objects.filter(memberships__team=team))
    for member in members:
        member.notification_preferences = _differing(
            {**(member.notification_preferences or {}), **defaults}
        )
    User.objects.bulk_update(members, ["notification_preferences"])
    return len(members)


def register_notification_kinds() -> None:
    """crm's own kinds: records assigned, their stream, mentions."""
    section = _("Records and stream")
    notification_kind_register(
        NotificationKind(
            code=MENTION,
            label=_("Someone mentions me in a post"),
            help_text=_("A post with @ and my username, on a record I may see."),
            section=section,
            order=300,
            default=Level.EMAIL,
        )
    )
    notification_kind_register(
        NotificationKind(
            code=RECORD_ASSIGNED,
            label=_("A record is assigned to me"),
            help_text=_("An account, contact, lead or opportunity a colleague gives me."),
            section=section,
            order=310,
            default=Level.EMAIL,
        )
    )
    notification_kind_register(
        NotificationKind(
            code=RECORD_ACTIVITY,
            label=_("Posts and changes on a record I follow"),
            section=section,
            order=320,
            default=Level.EMAIL,
        )
    )
