"""Step 8: who sees the email — the account's people plus every addressed user."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from crm.bulk import bulk_insert
from crm.models import EmailAddressLink, TeamMembership, User
from mailboxes.intake.context import FetchRun, IntakeContext
from mailboxes.intake.store import group_account_own_team_ids
from mailboxes.models import EmailUser, MailAccount


def active_user_ids_by_address(run: FetchRun) -> dict[str, int]:
    """Normalized address → active user id, from User.email and addresses linked to users.

    Users are few next to messages: one query per run instead of one per message.
    """
    if "recipients.users_by_address" not in run.cache:
        mapping: dict[str, int] = {}
        active: set[int] = set()
        for user_id, email in User.objects.filter(is_active=True).values_list("id", "email"):
            active.add(user_id)
            if email:
                mapping.setdefault(email.strip().lower(), user_id)
        user_type = ContentType.objects.get_for_model(User)
        for address, user_id in EmailAddressLink.objects.filter(content_type=user_type).values_list(
            "address__address", "object_id"
        ):
            if user_id in active:
                mapping.setdefault(address, user_id)
        run.cache["recipients.users_by_address"] = mapping
    return run.cache["recipients.users_by_address"]


def account_user_ids(run: FetchRun, group_folder=None) -> set[int]:
    """Users an account hands every email to (memoised per run and group folder)."""
    key = ("recipients.account_users", group_folder.pk if group_folder else None)
    if key not in run.cache:
        account = run.account.specific
        user_ids: set[int] = set()
        if account.kind == MailAccount.Kind.GROUP:
            team_ids: set[int] = set()
            if account.for_all_team_users:
                team_ids.update(group_account_own_team_ids(run))
            folder = group_folder or account.group_folder
            if folder is not None:
                team_ids.update(folder.teams.values_list("id", flat=True))
            if team_ids:
                user_ids.update(
                    TeamMembership.objects.filter(
                        team_id__in=team_ids, user__is_active=True
                    ).values_list("user_id", flat=True)
                )
            if account.assign_to_user_id and account.assign_to_user.is_active:
                user_ids.add(account.assign_to_user_id)
        elif account.owner.is_active:
            user_ids.add(account.owner_id)
        run.cache[key] = user_ids
    return run.cache[key]


def personal_folder_id(run: FetchRun, imap_folder: str) -> int | None:
    """Where a personal account files mail from one IMAP folder for its owner."""
    account = run.account.specific
    if account.kind != MailAccount.Kind.PERSONAL:
        return None
    mapped = (account.folder_map or {}).get(imap_folder)
    if mapped:
        return int(mapped)
    return account.put_in_folder_id


def recipients_batch(batch: list[IntakeContext]) -> None:
    """Pipeline step 8: give each email to its users; ``ctx.new_user_ids`` are the ones who
    did not have it yet (user filters and notifications concern only them)."""
    run = batch[0].run
    by_address = active_user_ids_by_address(run)
    account = run.account.specific
    owner_id = getattr(account, "owner_id", None)

    wanted: dict[int, tuple[IntakeContext, set[int], int | None]] = {}
    for ctx in batch:
        parsed = ctx.parsed
        user_ids = set(account_user_ids(run, ctx.group_folder))
        sender_id = by_address.get(parsed.sender.address) if parsed.sender else None
        for person in ([parsed.sender] if parsed.sender else []) + parsed.to + parsed.cc:
            user_id = by_address.get(person.address)
            if user_id:
                user_ids.add(user_id)
        previous = wanted.get(ctx.email.pk)
        if previous is not None:  # the same message twice in one batch
            previous[1].update(user_ids)
            continue
        wanted[ctx.email.pk] = (ctx, user_ids, sender_id)

    # Only emails that existed before this batch can already have users.
    old = [pk for pk, (ctx, _users, _sender) in wanted.items() if not ctx.is_new_email]
    existing: set[tuple[int, int]] = set()
    if old:
        existing = set(
            EmailUser.objects.filter(email_id__in=old).values_list("email_id", "user_id")
        )
    rows, rows_of_old = [], []
    for pk, (ctx, user_ids, sender_id) in wanted.items():
        new_ids = {u for u in user_ids if (pk, u) not in existing}
        ctx.new_user_ids = new_ids
        owner_folder = personal_folder_id(run, ctx.folder) if owner_id in new_ids else None
        (rows if ctx.is_new_email else rows_of_old).extend(
            EmailUser(
                email_id=pk,
                user_id=user_id,
                folder_id=owner_folder if user_id == owner_id else None,
                is_read=user_id == sender_id,
            )
            for user_id in sorted(new_ids)
        )
    # Rows of emails made in this batch cannot exist yet; another account's fetch may be
    # adding the same user to an older email at this moment, hence ignore_conflicts there.
    bulk_insert(rows)
    if rows_of_old:
        EmailUser.objects.bulk_create(rows_of_old, ignore_conflicts=True)
