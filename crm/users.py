"""Finding users by what a person types: their name, username or address."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from crm.models import User


def users_matching(users: QuerySet[User], text: str) -> QuerySet[User]:
    """``users`` whose first or last name, username or email address contains ``text``
    (case-insensitive); all of them when ``text`` is empty."""
    if not text:
        return users
    return users.filter(
        Q(username__icontains=text)
        | Q(first_name__icontains=text)
        | Q(last_name__icontains=text)
        | Q(email__icontains=text)
    )
