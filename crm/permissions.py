"""The permissions a role grants, contributed by the apps that own them.

``crm.Role`` keeps one value per registered permission in ``Role.permissions``; it has no
column per app. Each app registers its permissions in ``AppConfig.ready`` (crm its record
types, mailboxes emails and mail accounts, cases its cases), so adding an app needs no crm
migration, and the role form and list show whatever is registered.

A *record access* permission is named ``<scope>_access`` and holds a level (``no``, ``own``,
``team``, ``all``); ``crm.access.access_level(user, scope)`` reads it. Other permissions hold
their own choices or a yes/no.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise

RECORD_ACCESS = "record_access"  # the section of the role form listing record types
GENERAL = "general"  # everything else, shown beside the role's name


@dataclass(frozen=True)
class Permission:
    """One thing a role may allow; ``choices`` None means a yes/no switch."""

    name: str
    label: str | Promise
    default: Any
    choices: tuple[tuple[str, str | Promise], ...] | None = None
    help_text: str | Promise = ""
    section: str = RECORD_ACCESS
    order: int = 100

    @property
    def is_switch(self) -> bool:
        return self.choices is None

    def display(self, value: Any) -> str:
        """The value as the role list shows it, in the reader's language."""
        from django.utils.translation import gettext

        if self.is_switch:
            return gettext("Yes") if value else gettext("No")
        return str(dict(self.choices).get(value, value))


_PERMISSIONS: dict[str, Permission] = {}


def permission_register(permission: Permission) -> None:
    """Make ``permission`` part of every role (idempotent: ``ready()`` may run twice)."""
    _PERMISSIONS[permission.name] = permission


def record_access_register(scope: str, label, *, order: int = 100) -> None:
    """Register the ``<scope>_access`` level of a record type (default: own records)."""
    from crm.models.users import AccessLevel

    permission_register(
        Permission(
            name=f"{scope}_access",
            label=label,
            default=AccessLevel.OWN,
            choices=tuple(AccessLevel.choices),
            section=RECORD_ACCESS,
            order=order,
        )
    )


def permissions() -> dict[str, Permission]:
    """Every registered permission, in display order."""
    return dict(sorted(_PERMISSIONS.items(), key=lambda item: (item[1].order, item[0])))


def permissions_in(section: str) -> list[Permission]:
    return [p for p in permissions().values() if p.section == section]
