"""Who may send as which address.

- A personal account's address: only its owner (administrators included: a personal
  mailbox is personal).
- A group account's address: administrators always; anyone else when the account is
  shared (``smtp_is_shared``) and their role's Group Email Account level is ``all``, or
  ``team`` and they share a team with the account; ``no`` never.
- In every case the account must be active and have SMTP switched on.

The compose form lists exactly ``sending_identities(user)``; the service checks the chosen
account again with ``sending_identity_for`` on every send, so a forged From is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from crm.access import is_admin, user_team_ids
from mailboxes.access import group_email_account_level
from mailboxes.models import GroupEmailAccount, MailAccount, PersonalEmailAccount
from mailboxes.sending.exceptions import FromNotAllowed


@dataclass(frozen=True)
class SendingIdentity:
    """An address the user may send as, with the account whose SMTP sends it."""

    account: GroupEmailAccount | PersonalEmailAccount
    address: str
    name: str

    @property
    def account_id(self) -> int:
        return self.account.pk

    @property
    def is_group(self) -> bool:
        return self.account.is_group

    @property
    def label(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


def _usable(queryset):
    return queryset.filter(status=MailAccount.Status.ACTIVE, use_smtp=True).exclude(smtp_host="")


def group_accounts_sendable_by(user):
    """Group accounts whose address ``user`` may send as."""
    accounts = _usable(GroupEmailAccount.objects.all())
    if is_admin(user):
        return accounts
    level = group_email_account_level(user)
    if level == "all":
        return accounts.filter(smtp_is_shared=True)
    if level == "team":
        return accounts.filter(Q(smtp_is_shared=True) & Q(teams__in=user_team_ids(user))).distinct()
    return accounts.none()


def personal_accounts_sendable_by(user):
    if not (user and user.is_authenticated and user.is_active):
        return PersonalEmailAccount.objects.none()
    return _usable(PersonalEmailAccount.objects.filter(owner=user))


def _personal_name(user) -> str:
    return user.get_full_name() or ""


def sending_identities(user) -> list[SendingIdentity]:
    """Every address ``user`` may send as: personal accounts first, then group accounts."""
    identities = [
        SendingIdentity(account=a, address=a.email_address, name=_personal_name(user))
        for a in personal_accounts_sendable_by(user).order_by("name", "pk")
    ]
    identities += [
        SendingIdentity(account=a, address=a.email_address, name=a.from_name or a.name)
        for a in group_accounts_sendable_by(user).order_by("name", "pk")
    ]
    return identities


def sending_identity_for(user, account_id: int | str | None) -> SendingIdentity:
    """The identity of account ``account_id`` when ``user`` may send through it; raises
    ``FromNotAllowed`` otherwise (unknown, inactive, not shared, not permitted...)."""
    try:
        pk = int(account_id)
    except (TypeError, ValueError):
        raise FromNotAllowed() from None
    for identity in sending_identities(user):
        if identity.account_id == pk:
            return identity
    raise FromNotAllowed()
