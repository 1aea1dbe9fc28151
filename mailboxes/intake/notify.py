"""Step 11: stream notes and notifications. Built by the linking issue."""

from __future__ import annotations

from mailboxes.intake.context import IntakeContext


def notify_batch(batch: list[IntakeContext]) -> None:
    return None
