"""Intake steps of the cases app (pipeline steps 9 and 10). Filled in by the cases issue."""

from mailboxes.intake.context import IntakeContext


def email_to_case(ctx: IntakeContext) -> IntakeContext:
    return ctx


def queue_auto_reply(ctx: IntakeContext) -> IntakeContext:
    return ctx
