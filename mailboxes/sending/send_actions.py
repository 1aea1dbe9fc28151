"""What a send does besides sending, offered beside the Send button by other apps.

Cases registers "Send and set Pending", "Send and close" and a reassignment here; mailboxes
knows nothing of cases. An app registers a ``SendAction`` in its ``AppConfig.ready``::

    from mailboxes.sending.send_actions import SendAction, send_action_register
    send_action_register(SendAction(name="case", template=..., offer=..., clean=..., apply=...))

The flow, one action at a time:

1. ``offer(user, parent)``: the controls' context when the action applies to the compose
   form's parent record (None otherwise); its ``template`` is rendered in the form's buttons
   row with that context as ``offer``.
2. ``clean(user, parent, data)`` (the posted values): the JSON-safe choice to store with the
   email, ``{}`` when the user chose nothing; ``SendError`` refuses the send.
   ``email_send`` stores the choices in ``OutgoingMessage.after_send``.
3. ``apply(email, params, user)`` runs when the server has accepted the email, inside the
   transaction that marks it Sent (``delivery._record_accepted``), so the email and what it
   did are one change. It returns data for the email's stream note (``status``,
   ``assignee``, ``assigned_user_id``, ``outcome``: a stored Message), so the stream shows
   them as one entry, and in ``TOLD`` the ids of users it notified itself (the new assignee),
   whom the email's note does not notify again. A send that fails applies nothing (the
   Failed email keeps the choice, and a successful Retry applies it then); an action that
   raises is logged and the email stays Sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Model

from mailboxes.models import Email, OutgoingMessage

logger = logging.getLogger(__name__)

TOLD = "told_user_ids"  # in what ``apply`` returns: users it notified already


@dataclass(frozen=True)
class SendAction:
    name: str
    template: str
    offer: Callable[[Any, Model | None], dict | None]
    clean: Callable[[Any, Model | None, Mapping[str, Any]], dict]
    apply: Callable[[Email, dict, Any], dict]
    order: int = 100


_ACTIONS: dict[str, SendAction] = {}


def send_action_register(action: SendAction) -> None:
    """Add an action to every send (registering a name again replaces it)."""
    _ACTIONS[action.name] = action


def send_actions() -> list[SendAction]:
    return sorted(_ACTIONS.values(), key=lambda action: (action.order, action.name))


def send_actions_offered(user, parent: Model | None) -> list[tuple[str, dict]]:
    """``(template, context)`` of each action offered for a form about ``parent``."""
    if parent is None:
        return []
    offered = []
    for action in send_actions():
        context = action.offer(user, parent)
        if context is not None:
            offered.append((action.template, context))
    return offered


def send_actions_clean(user, parent: Model | None, data: Mapping[str, Any]) -> dict[str, dict]:
    """Action name → what the user chose (only actions with a choice); raises ``SendError``."""
    chosen = {}
    for action in send_actions():
        params = action.clean(user, parent, data)
        if params:
            chosen[action.name] = params
    return chosen


def send_actions_apply(email: Email) -> tuple[dict, set[int]]:
    """Run the stored choices of an accepted ``email`` once: the stream note's extra data,
    and the users the actions notified themselves."""
    outgoing = OutgoingMessage.objects.filter(pk=email.pk).only("after_send", "requested_by")
    outgoing = outgoing.select_related("requested_by").first()
    if outgoing is None or not outgoing.after_send:
        return {}, set()
    user = outgoing.requested_by or email.created_by
    note_data: dict = {}
    told: set[int] = set()
    for name, params in outgoing.after_send.items():
        action = _ACTIONS.get(name)
        if action is None:
            logger.warning("Send action %r of email %s is not registered", name, email.pk)
            continue
        try:
            with transaction.atomic():
                done = dict(action.apply(email, params, user) or {})
            told.update(done.pop(TOLD, ()))
            note_data.update(done)
        except Exception:  # the email is sent; a failing action must not hide that
            logger.exception("Send action %r failed for email %s", name, email.pk)
    OutgoingMessage.objects.filter(pk=email.pk).update(after_send={})
    return note_data, told
