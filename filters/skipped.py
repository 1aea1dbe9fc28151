"""What a filter skipped: the journal rows it kept out of the mailboxes, and "import it
anyway" (the import itself is ``mailboxes.intake.fetch.raw_message_import_anyway``)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from filters.access import check_can_manage_filter
from filters.models import EmailFilter
from mailboxes.models import RawMessage


def filter_skipped_messages(filter_obj: EmailFilter) -> QuerySet[RawMessage]:
    """Messages ``filter_obj`` skipped at import time, newest first (imported-anyway ones
    included: they say so and link to their email). Without the raw bytes."""
    return (
        RawMessage.objects.filter(skip_filter_id=filter_obj.pk)
        .select_related("account")
        .defer("raw", "traceback")
        .order_by("-received_at", "-pk")
    )


def skipped_message_for(user, filter_obj: EmailFilter, raw_id: int) -> RawMessage:
    """One message the filter skipped, if ``user`` may manage the filter (403 otherwise);
    404 for a message the filter did not skip."""
    check_can_manage_filter(user, filter_obj)
    raw = filter_skipped_messages(filter_obj).filter(pk=raw_id).first()
    if raw is None:
        raise Http404("The filter did not skip this message")
    return raw
