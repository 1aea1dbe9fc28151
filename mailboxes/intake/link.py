"""Step 7: the email's parent record. Built by the linking issue."""

from __future__ import annotations

from mailboxes.intake.context import IntakeContext


def link_batch(batch: list[IntakeContext]) -> None:
    return None
