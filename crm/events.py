"""Domain events ("case.created", "email.received", ...) for apps built on top to listen to
(webhooks), without the apps that publish them knowing who listens.

``event_published`` is sent inside the transaction that made the change, so what a listener
writes (an outbox row per delivery) commits or rolls back with the change itself.

Events: ``<record>.created``, ``<record>.updated`` and ``<record>.assigned`` for every
record type (crm.records; cases also from the intake: opened, assigned, reopened by a
reply; and from a reply that set the status), ``note.created`` (a user's post),
``email.received``, ``email.sent`` and ``email.failed`` (mailboxes).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.dispatch import Signal

# sender: the event's name; objects: the model instances it is about (one or many); memo: a
# dict the publisher keeps for a run of work (a fetch), where a listener may keep what it
# read for the next events of the run, or None
event_published = Signal()


def event_publish(name: str, objects: Iterable, *, memo: dict | None = None) -> None:
    """Tell the listeners that ``name`` happened to ``objects`` (nothing when none listen).

    ``memo``: the publisher's per-run memo (a fetch publishes three or four events per batch;
    the webhooks read their endpoints once for the run instead of once per event).
    """
    objects = [obj for obj in objects if obj is not None]
    if objects and event_published.receivers:
        event_published.send(sender=name, objects=objects, memo=memo)
