"""Step 6: one Email per Message-ID across every account, with its addresses and files."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from crm.addresses import addresses_get_or_create
from crm.bulk import bulk_insert, bulk_insert_rows, model_build
from crm.models import EmailAddress
from mailboxes.intake.context import FetchRun, IntakeContext
from mailboxes.intake.parse import ParsedAttachment, ParsedMessage
from mailboxes.models import Attachment, Email, EmailRecipient, MailAccount
from mailboxes.models.accounts import group_account_extra_team_ids

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


def attachments_store(new: list[IntakeContext]) -> None:
    """The attachments of the new emails, in one statement; a second one for the files
    unpacked from another attachment (a winmail.dat), which need its id."""
    unpacked: list[tuple[Attachment, Attachment]] = []
    rows: list[Attachment] = []
    for ctx in new:
        stored = [attachment_store(ctx.email, part) for part in ctx.parsed.attachments]
        for part, attachment in zip(ctx.parsed.attachments, stored, strict=True):
            if part.parent is None:
                rows.append(attachment)
            else:
                unpacked.append((attachment, stored[part.parent]))
    bulk_insert(rows)
    if unpacked:
        for attachment, parent in unpacked:
            attachment.parent = parent
        bulk_insert([attachment for attachment, _parent in unpacked])


def email_build(
    *, parsed: ParsedMessage, auto_kind: str = "", group_folder=None, from_address=None
) -> Email:
    """An unsaved Email for a parsed message."""
    sender = parsed.sender
    return model_build(
        Email,
        message_id=parsed.message_id,
        message_id_is_fingerprint=parsed.message_id_is_fingerprint,
        subject=parsed.subject,
        from_address=from_address,
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


def recipients_build(email: Email, parsed: ParsedMessage, rows: dict) -> list[dict]:
    """``EmailRecipient`` rows (as dicts, see ``bulk_insert_rows``) of a new email."""
    recipients = []
    for kind, people in (
        (EmailRecipient.Kind.TO, parsed.to),
        (EmailRecipient.Kind.CC, parsed.cc),
        (EmailRecipient.Kind.BCC, parsed.bcc),
        (EmailRecipient.Kind.REPLY_TO, parsed.reply_to),
    ):
        recipients += [
            {
                "email_id": email.pk,
                "address_id": rows[p.address].pk,
                "kind": kind.value,
                "name": p.name,
                "position": i,
            }
            for i, p in enumerate(people)
            if p.address in rows
        ]
    return recipients


def group_account_own_team_ids(run: FetchRun) -> set[int]:
    """The group account's own teams (memoised for the run: the store and recipients steps
    both read them)."""
    if "store.own_team_ids" not in run.cache:
        run.cache["store.own_team_ids"] = set(
            run.account.specific.teams.values_list("id", flat=True)
        )
    return set(run.cache["store.own_team_ids"])


def account_team_ids(run: FetchRun) -> list[int]:
    """Teams an email from this account belongs to (memoised for the run)."""
    if "store.team_ids" not in run.cache:
        account = run.account.specific
        if account.kind == MailAccount.Kind.GROUP:
            team_ids = group_account_own_team_ids(run)
            team_ids |= group_account_extra_team_ids(account)
            if account.group_folder_id:
                team_ids.update(account.group_folder.teams.values_list("id", flat=True))
        else:
            team_ids = {account.owner.default_team_id} if account.owner.default_team_id else set()
        run.cache["store.team_ids"] = sorted(team_ids)
    return run.cache["store.team_ids"]


def store_batch(batch: list[IntakeContext]) -> None:
    """Pipeline step 6: find each message's Email by Message-ID or create it; link the
    account and teams. A handful of statements for the whole batch.

    A concurrent import of the same Message-ID through another account makes the insert fail
    on the unique constraint; the batch is then run again message by message and the message
    is found here as a duplicate.
    """
    run = batch[0].run
    account = run.account.specific
    rows = run_addresses(
        run, list(dict.fromkeys(a for c in batch for a in _all_addresses(c.parsed)))
    )
    message_ids = [ctx.parsed.message_id for ctx in batch]
    known = {e.message_id: e for e in Email.objects.filter(message_id__in=message_ids)}

    new: list[IntakeContext] = []
    moved: list[Email] = []
    for ctx in batch:
        parsed = ctx.parsed
        group_folder = ctx.group_folder or getattr(account, "group_folder", None)
        email = known.get(parsed.message_id)
        if email is None:
            sender = parsed.sender
            email = email_build(
                parsed=parsed,
                auto_kind=ctx.classification.kind if ctx.classification else "",
                group_folder=group_folder,
                from_address=rows.get(sender.address) if sender else None,
            )
            known[parsed.message_id] = email
            ctx.is_new_email = True
            new.append(ctx)
        elif group_folder is not None and email.group_folder_id is None:
            email.group_folder = group_folder
            moved.append(email)
        ctx.email = email

    if new:
        bulk_insert([ctx.email for ctx in new])
        bulk_insert_rows(
            EmailRecipient,
            [r for ctx in new for r in recipients_build(ctx.email, ctx.parsed, rows)],
            return_ids=False,
        )
        attachments_store(new)
    for email in {e.pk: e for e in moved}.values():
        email.save(update_fields=["group_folder", "modified_at"])

    emails = {ctx.email.pk: ctx for ctx in batch}
    account_links: dict[bool, list[dict]] = {True: [], False: []}  # by "new in this batch"
    team_links: dict[bool, list[dict]] = {True: [], False: []}
    base_teams = account_team_ids(run)
    for pk, ctx in emails.items():
        account_links[ctx.is_new_email].append({"email_id": pk, "mailaccount_id": account.pk})
        team_ids = set(base_teams)
        if ctx.group_folder is not None:
            team_ids.update(group_folder_team_ids(run, ctx.group_folder))
        team_links[ctx.is_new_email] += [{"email_id": pk, "team_id": t} for t in sorted(team_ids)]
    # Links of emails made in this batch cannot exist yet; older emails may have them.
    for through, links in (
        (Email.accounts.through, account_links),
        (Email.teams.through, team_links),
    ):
        bulk_insert_rows(through, links[True], return_ids=False)
        if links[False]:
            through.objects.bulk_create(
                [through(**row) for row in links[False]], ignore_conflicts=True
            )


def group_folder_team_ids(run: FetchRun, folder) -> list[int]:
    key = ("store.folder_teams", folder.pk)
    if key not in run.cache:
        run.cache[key] = list(folder.teams.values_list("id", flat=True))
    return run.cache[key]
