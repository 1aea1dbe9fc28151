"""Reasons to notify a user, which each user may turn off, and each user's choice per reason.

A reason is why someone is told ("a case is assigned to me", "email on a record I follow"). The
apps that notify contribute their reasons in ``AppConfig.ready`` with
:func:`notification_reason_register`: crm knows its own (records, the stream, mentions) and
nothing of mail or cases.

Per reason a user chooses a level: ``off``, ``bell`` (in the app) or ``email`` (in the app and in
their email digest, when they asked for one). Choices live on the user
(``User.notification_preferences``, code → level); a reason the user never chose is at its
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

# crm's own reasons (registered by CrmConfig.ready)
RECORD_ASSIGNED = "record_assigned"
RECORD_ACTIVITY = "record_activity"
MENTION = "mention"


class Level(models.TextChoices):
    OFF = "off", _("Off")
    BELL = "bell", _("Bell")
    EMAIL = "email", _("Bell and email")


@dataclass(frozen=True)
class NotificationReason:
    """One reason to notify someone, as the preferences page lists it."""

    code: str
    label: str | Promise
    section: str | Promise
    order: int
    default: str = Level.BELL
    # False: never in the email digest (the email it is about is in the user's inbox already)
    emailable: bool = True
    help_text: str | Promise = ""
    # Set both to make this reason stand for ``instead_of`` on records of ``model`` (a label
    # such as "cases.case"): an assigned case is "a case is assigned to me".
    instead_of: str = ""
    model: str = ""

    @property
    def levels(self) -> list[tuple[str, str | Promise]]:
        return [(v, label) for v, label in Level.choices if self.emailable or v != Level.EMAIL]


_REASONS: dict[str, NotificationReason] = {}


def notification_reason_register(reason: NotificationReason) -> None:
    """Make ``reason`` a choice on every user's preferences (idempotent per code)."""
    if reason.default not in Level.values or (
        reason.default == Level.EMAIL and not reason.emailable
    ):
        raise ValueError(f"notification reason {reason.code}: bad default {reason.default!r}")
    if bool(reason.instead_of) != bool(reason.model):
        raise ValueError(f"notification reason {reason.code}: set instead_of and model together")
    _REASONS[reason.code] = reason


def notification_reasons() -> list[NotificationReason]:
    """Every registered reason, in the order the preferences page shows them."""
    return sorted(_REASONS.values(), key=lambda reason: (reason.order, reason.code))


def notification_reason_for(code: str, model: type[models.Model] | None) -> str:
    """The reason standing for ``code`` on records of ``model`` (``code`` itself when none)."""
    if model is None:
        return code
    label = model._meta.label_lower
    for reason in _REASONS.values():
        if reason.instead_of == code and reason.model == label:
            return reason.code
    return code


def level_of(preferences: Mapping[str, str], code: str) -> str:
    """The user's level for ``code``; a notification of no registered reason always rings."""
    reason = _REASONS.get(code)
    if reason is None:
        return Level.EMAIL
    level = preferences.get(code, reason.default)
    if level not in Level.values:
        level = reason.default
    if level == Level.EMAIL and not reason.emailable:
        level = Level.BELL
    return level


def wants(preferences: Mapping[str, str], code: str) -> bool:
    """Does a user with these preferences get notifications of reason ``code`` at all?"""
    return level_of(preferences, code) != Level.OFF


def preferences_of(user_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """Users' stored choices (code → level), one query; users who chose nothing map to {}."""
    from crm.models import User

    ids = set(user_ids)
    if not ids:
        return {}
    return dict(User.objects.filter(pk__in=ids).values_list("pk", "notification_preferences"))


def users_wanting(user_ids: Iterable[int], code: str) -> set[int]:
    """Those of ``user_ids`` who want notifications of reason ``code`` (one query)."""
    ids = set(user_ids)
    if code not in _REASONS:
        return ids
    return {uid for uid, prefs in preferences_of(ids).items() if wants(prefs or {}, code)}


def choices_clean(choices: Mapping[str, str]) -> dict[str, str]:
    """Only registered reasons with a level they allow."""
    return {
        code: level
        for code, level in choices.items()
        if code in _REASONS and level in dict(_REASONS[code].levels)
    }


def levels_with_defaults(choices: Mapping[str, str]) -> dict[str, str]:
    """Every registered reason's level under ``choices`` (a user's, or a team's defaults)."""
    return {reason.code: level_of(choices, reason.code) for reason in notification_reasons()}


def _differing(choices: Mapping[str, str]) -> dict[str, str]:
    """``choices`` without the levels that are their reason's default (a reason at its default
    follows the product's default should it change)."""
    return {
        code: level
        for code, level in choices.items()
        if code not in _REASONS or level != _REASONS[code].default
    }


def notification_preferences_save(user, choices: Mapping[str, str]) -> None:
    """Set some of ``user``'s levels (the reasons not in ``choices`` keep theirs)."""
    user.notification_preferences = _differing(
        {**(user.notification_preferences or {}), **choices_clean(choices)}
    )
    user.save(update_fields=["notification_preferences"])


def team_defaults_save(team, choices: Mapping[str, str]) -> None:
    """Set the levels ``team``'s members get when an administrator applies them."""
    team.notification_defaults = _differing(choices_clean(choices))
    team.save(update_fields=["notification_defaults"])


def team_defaults_apply(team) -> int:
    """Give every member of ``team`` the team's levels (overwriting theirs for those reasons);
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


def register_notification_reasons() -> None:
    """crm's own reasons: records assigned, their stream, mentions."""
    section = _("Records and stream")
    notification_reason_register(
        NotificationReason(
            code=MENTION,
            label=_("Someone mentions me in a post"),
            help_text=_("A post with @ and my username, on a record I may see."),
            section=section,
            order=300,
            default=Level.EMAIL,
        )
    )
    notification_reason_register(
        NotificationReason(
            code=RECORD_ASSIGNED,
            label=_("A record is assigned to me"),
            help_text=_("An account, contact, lead or opportunity a colleague gives me."),
            section=section,
            order=310,
            default=Level.EMAIL,
        )
    )
    notification_reason_register(
        NotificationReason(
            code=RECORD_ACTIVITY,
            label=_("Posts and changes on a record I follow"),
            section=section,
            order=320,
            default=Level.EMAIL,
        )
    )
