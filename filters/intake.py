"""Intake steps of the filters app (pipeline steps 5 and 8b). Filled in by the filters issue."""

from mailboxes.intake.context import IntakeContext


def apply_account_filters(ctx: IntakeContext) -> IntakeContext:
    return ctx


def apply_user_filters(ctx: IntakeContext) -> IntakeContext:
    return ctx
