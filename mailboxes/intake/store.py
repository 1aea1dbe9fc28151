"""Step 6: one Email per Message-ID across every account, with its addresses and files."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from crm.addresses import addresses_get_or_create
from crm.models import EmailAddress
from mailboxes.intake.context import FetchRun, IntakeContext
from mailboxes.intake.parse import ParsedAttachment, ParsedMessage
from mailboxes.models import Attachment, Email, EmailRecipient, MailAccount

_ADDRESS_CACHE = "store.addresses"


def run_addresses(run: FetchRun, addresses: list[str]) -> dict[str, EmailAddress]:
    """Address rows for the message, memoised for the run (senders and recipients repeat).

    ``forget_run_caches`` drops the memo when a savepoint rolls back, since rows created
    inside it are gone.
    """
    cache: dict[str, EmailAddress] = run.cache.setdefault(_ADDRESS_CACHE, {})
    missing = [a for a in addresses if a not in cache]
    if missing:
        cache.update(addresses_get_or_create(missing))
    return {a: cache[a] for a in addresses if a in cache}


def forget_run_caches(run: FetchRun) -> None:
    run.cache.pop(_ADDRESS_CACHE, None)


def _all_addresses(parsed: ParsedMessage) -> list[str]:
    people = [parsed.sender] if parsed.sender else []
    people += parsed.to + parsed.cc + parsed.bcc + parsed.reply_to
    return list(dict.fromkeys(p.address for p in people))


def attachment_store(email: Email, part: ParsedAttachment) -> Attachment:
    """Write the file once per distinct content (content-addressed) and describe it."""
    digest = hashlib.sha256(part.payload).hexdigest()
    attachment = Attachment(
        email=email,
        filename=part.filename or "attachment",
        content_type=part.content_type[:255],
        size=part.size,
        sha256=digest,
        content_id=part.content_id[:255],
        is_inline=part.is_inline,
    )
    name = attachment.file.field.generate_filename(attachment, part.filename)
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(part.payload))
    attachment.file.name = name
    return attachment


def email_create(
    *, parsed: ParsedMessage, run: FetchRun, auto_kind: str = "", group_folder=None
) -> Email:
    """Insert a new Email with its recipients and attachments (a few bulk statements)."""
    rows = run_addresses(run, _all_addresses(parsed))
    sender = parsed.sender
    email = Email.objects.create(
        message_id=parsed.message_id,
        message_id_is_fingerprint=parsed.message_id_is_fingerprint,
        subject=parsed.subject,
        from_address=rows.get(sender.address) if sender else None,
        from_name=sender.name if sender else "",
        date_sent=parsed.date or timezone.now(),
        in_reply_to=parsed.in_reply_to,
        references=" ".join(parsed.references),
        body_text=parsed.body_text,
        body_html=parsed.body_html,
        has_attachments=any(not a.is_inline for a in parsed.attachments),
        size=parsed.size,
        status=Email.Status.IMPORTED,
        auto_kind=auto_kind,
        headers=parsed.headers,
        parse_defects="\n".join(parsed.defects),
        is_malformed=parsed.is_malformed,
        headers_only=parsed.headers_only,
        group_folder=group_folder,
    )
    recipients = []
    for kind, people in (
        (EmailRecipient.Kind.TO, parsed.to),
        (EmailRecipient.Kind.CC, parsed.cc),
        (EmailRecipient.Kind.BCC, parsed.bcc),
        (EmailRecipient.Kind.REPLY_TO, parsed.reply_to),
    ):
        recipients += [
            EmailRecipient(email=email, address=rows[p.address], kind=kind, name=p.name, position=i)
            for i, p in enumerate(people)
            if p.address in rows
        ]
    if recipients:
        EmailRecipient.objects.bulk_create(recipients)
    if parsed.attachments:
        Attachment.objects.bulk_create(attachment_store(email, a) for a in parsed.attachments)
    return email


def account_team_ids(run: FetchRun) -> list[int]:
    """Teams an email from this account belongs to (memoised for the run)."""
    if "store.team_ids" not in run.cache:
        account = run.account.specific
        if account.kind == MailAccount.Kind.GROUP:
            team_ids = set(account.teams.values_list("id", flat=True))
            if account.target_team_id:
                team_ids.add(account.target_team_id)
            if account.group_folder_id:
                team_ids.update(account.group_folder.teams.values_list("id", flat=True))
        else:
            team_ids = {account.owner.default_team_id} if account.owner.default_team_id else set()
        run.cache["store.team_ids"] = sorted(team_ids)
    return run.cache["store.team_ids"]


def store_step(ctx: IntakeContext) -> IntakeContext:
    """Pipeline step 6: find the Email by Message-ID or create it; link account and teams.

    A concurrent import of the same Message-ID through another account makes the insert fail
    on the unique constraint; ``process_message`` then runs the message again and it is found
    here as a duplicate.
    """
    parsed = ctx.parsed
    run = ctx.run
    account = run.account.specific
    group_folder = ctx.group_folder or getattr(account, "group_folder", None)
    email = Email.objects.filter(message_id=parsed.message_id).first()
    if email is None:
        classification = ctx.classification
        email = email_create(
            parsed=parsed,
            run=run,
            auto_kind=classification.kind if classification else "",
            group_folder=group_folder,
        )
        ctx.is_new_email = True
    elif group_folder is not None and email.group_folder_id is None:
        email.group_folder = group_folder
        email.save(update_fields=["group_folder", "modified_at"])
    ctx.email = email

    Email.accounts.through.objects.bulk_create(
        [Email.accounts.through(email_id=email.pk, mailaccount_id=account.pk)],
        ignore_conflicts=True,
    )
    team_ids = set(account_team_ids(run))
    if ctx.group_folder is not None:
        team_ids.update(ctx.group_folder.teams.values_list("id", flat=True))
    if team_ids:
        Email.teams.through.objects.bulk_create(
            [Email.teams.through(email_id=email.pk, team_id=t) for t in sorted(team_ids)],
            ignore_conflicts=True,
        )
    return ctx
