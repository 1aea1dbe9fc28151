"""Step 6b: the search documents of the emails the batch created, in one statement."""

from __future__ import annotations

from mailboxes.inbox.search_index import emails_index
from mailboxes.intake.context import IntakeContext


def index_batch(batch: list[IntakeContext]) -> None:
    """Pipeline step 6b: index what step 6 stored new (a duplicate is indexed already)."""
    emails_index(ctx.email.pk for ctx in batch if ctx.is_new_email)
