"""@mentions in stream posts: ``@username`` tells that user, if they may see the record."""

from __future__ import annotations

import re

from django.db.models import Model
from django.db.models.functions import Lower

from crm.models import User

# Django usernames are letters, digits and @ . + - _; the @ of a mention starts a word (an
# address such as ali@example.com mentions nobody) and trailing dots end the sentence.
MENTION_RE = re.compile(r"(?<![\w@.+-])@([\w.@+-]*\w)")
MAX_MENTIONS = 20  # a post naming the whole company is not a way to page everyone


def mentioned_usernames(text: str) -> list[str]:
    """The usernames ``text`` mentions, lower-cased, in order, each once."""
    names = dict.fromkeys(match.lower() for match in MENTION_RE.findall(text or ""))
    return list(names)[:MAX_MENTIONS]


def mentioned_users(text: str, record: Model) -> list[User]:
    """Active users ``text`` mentions (any letter case) who may see ``record``."""
    names = mentioned_usernames(text)
    if not names:
        return []
    users = User.objects.annotate(lower_name=Lower("username")).filter(
        is_active=True, lower_name__in=names
    )
    manager = type(record)._default_manager
    if not hasattr(manager.all(), "visible_to"):
        return list(users)
    return [user for user in users if manager.visible_to(user).filter(pk=record.pk).exists()]
