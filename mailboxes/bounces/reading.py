"""Which messages are read as bounces at all: decided once, for the intake step and the bench.

Only a message step 4 classified as a bounce is read (an auto-reply, an out-of-office, a
feedback report or an ordinary message never invalidates an address, whatever its wording).
The reader (and flufl.bounce's detectors, a few dozen regular expressions) is imported with
the first bounce, not by every fetch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailboxes.intake.classify import AutoKind, Classification, classify
from mailboxes.intake.parse import parse_message

if TYPE_CHECKING:
    from mailboxes.bounces.read import Failure


def failures_in(raw: bytes | memoryview, classification: Classification | None) -> list[Failure]:
    """The failed recipients a message reports: none unless it was classified a bounce."""
    if classification is None or classification.kind != AutoKind.BOUNCE:
        return []
    from mailboxes.bounces.read import read_bounce

    return read_bounce(bytes(raw))


def failures_of(raw: bytes) -> tuple[str, list[Failure]]:
    """Parse, classify and read one message as the intake would (for the bench and tests):
    its automatic kind and the failures found."""
    classification = classify(parse_message(raw))
    return classification.kind, failures_in(raw, classification)
