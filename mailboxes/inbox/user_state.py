"""Changing one user's state of emails: read, important, folder, archive and trash.

Every function takes emails the caller already checked with ``Email.objects.visible_to``;
each is one or two bulk statements whatever the number of emails. An email the user sees
through their team but never received gets an ``EmailUser`` row (read) when they file it,
so their action sticks; marking read never creates one (opening a team email must not put it
into the Inbox).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet

from crm.models import User
from mailboxes.models import Email, EmailFolder, EmailUser, GroupEmailFolder

ACTIONS = (
    "read",
    "unread",
    "important",
    "unimportant",
    "archive",
    "trash",
    "restore",
    "inbox",
    "move",
)


def _ids(emails: QuerySet[Email] | Iterable[Email] | Iterable[int]) -> list[int]:
    if isinstance(emails, QuerySet):
        return list(emails.values_list("pk", flat=True))
    return [e if isinstance(e, int) else e.pk for e in emails]


def _rows(user: User, email_ids: list[int], *, create: bool) -> QuerySet[EmailUser]:
    if create and email_ids:
        EmailUser.objects.bulk_create(
            [EmailUser(email_id=pk, user=user, is_read=True) for pk in email_ids],
            ignore_conflicts=True,
        )
    return EmailUser.objects.filter(user=user, email_id__in=email_ids)


def emails_mark_read(user: User, emails, *, read: bool = True) -> int:
    """Mark the user's copies read or unread (marking unread files a team email to them)."""
    return _rows(user, _ids(emails), create=not read).update(is_read=read)


def emails_mark_important(user: User, emails, *, important: bool = True) -> int:
    return _rows(user, _ids(emails), create=important).update(is_important=important)


def emails_archive(user: User, emails) -> int:
    return _rows(user, _ids(emails), create=True).update(
        in_archive=True, in_trash=False, folder=None
    )


def emails_trash(user: User, emails) -> int:
    """Move to the user's trash; restoring puts them back where they were."""
    return _rows(user, _ids(emails), create=True).update(in_trash=True)


def emails_restore(user: User, emails) -> int:
    return _rows(user, _ids(emails), create=False).update(in_trash=False)


def emails_move_to_folder(user: User, emails, folder: EmailFolder | None) -> int:
    """File into one of the user's personal folders, or back into the Inbox (``None``).

    Back to the Inbox also takes the emails out of a group folder the user sees, since the
    Inbox never lists those.
    """
    if folder is not None and folder.user_id != user.pk:
        raise ValueError("Not the user's folder")
    ids = _ids(emails)
    with transaction.atomic():
        count = _rows(user, ids, create=True).update(
            folder=folder, in_archive=False, in_trash=False
        )
        if folder is None:
            from mailboxes.inbox.selectors import visible_group_folders

            Email.objects.filter(pk__in=ids, group_folder__in=visible_group_folders(user)).update(
                group_folder=None
            )
    return count


def emails_move_to_group_folder(user: User, emails, folder: GroupEmailFolder) -> int:
    """File into a group folder the user sees: for everyone who sees the folder."""
    from mailboxes.inbox.selectors import visible_group_folders

    if not visible_group_folders(user).filter(pk=folder.pk).exists():
        raise ValueError("Not a group folder of the user")
    ids = _ids(emails)
    with transaction.atomic():
        _rows(user, ids, create=True).update(folder=None, in_archive=False, in_trash=False)
        return Email.objects.filter(pk__in=ids).update(group_folder=folder)
