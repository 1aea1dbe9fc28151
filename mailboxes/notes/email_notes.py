"""Emails in the stream and the bell: "email received/sent" notes and who hears about them.

One function, :func:`email_news_publish`, serves the intake (step 11, a whole batch at once)
and sending (:func:`note_email_sent`, one email), so both follow the same rules:

- A new email with a parent gets one stream note on the parent; its ``super_parent`` is the
  parent's Account, whose stream therefore shows it too. Never two for one email and record
  (the unique constraint ``crm_note_one_per_email`` backs this up).
- Who may be told, each for a reason the user may turn off (``crm.notification_reasons``;
  each user is told once, for the first reason in this order that they keep on):

  1. the owner of what the email is on (the assignee of a case: a parent type registered with
     :func:`mail_owner_register`) — the registered owner reason;
  2. a user it is addressed to (To/Cc) or who owns the personal mailbox it came through —
     ``mail_to_me``;
  3. followers of the parent and of its Account, even when not in To/Cc — ``followed_mail``;
  4. the people of the group mailbox it came through — ``group_mail`` when nobody owns what
     it is on, the registered "others" reason when someone else does (a support team is not
     rung for every email of every colleague's case).

  Reasons 1 and 3 need the stream note (they open it) and a role that lets the user read the
  email (``Email.visible_to``: level all; team with a shared team; or own/team with their own
  copy of it). Reasons 2 and 4 concern users newly given the email, unless they have read it,
  silenced it (a filter's "no notification", their copy in the trash), or were told already:
  by a case assignment, or for this email earlier (the same message fetched again through
  another mailbox). Whoever sent it is never told.
- With ``notify=False`` (backfill) notes are written and nobody is notified.

Everything is decided in a fixed number of queries per call, whatever the number of emails,
followers and recipients.

Who follows a record automatically (``crm.stream.record_follow``): its creator and its
assigned user (``crm.records``), the assignee of a case (``cases.distribution.case_assign``),
and a user who sends mail on the record from Postaci — sending calls
``record_follow(email.parent, sender)`` and then :func:`note_email_sent` after a successful
send, so the sender hears of the replies.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.access import users_access
from crm.bulk import bulk_insert_rows
from crm.kinds import EMAIL_RECEIVED as EMAIL_RECEIVED_NOTIFICATION
from crm.kinds import note_kind_define
from crm.models import Account, Follow, Note, Notification, User
from crm.notification_reasons import wants
from crm.records import status_label
from mailboxes.linking.parents import email_parent_models
from mailboxes.models import Email, EmailUser
from mailboxes.notification_reasons import FOLLOWED_MAIL, GROUP_MAIL, MAIL_TO_ME

# Parent types whose stream notes carry the email's text (without the quoted history).
NOTE_WITH_TEXT = ("case",)


def _status_label(note, value: str) -> str:
    """The status value in the reader's language, as the note's record labels it."""
    return status_label(note.parent, value) if note.parent is not None else value


# What an email's note stores and says (crm.kinds); the subject and sender are shown beside
# the line in the notifications and the digest.
_EMAIL_EXTRAS = ("email_id", "subject", "is_initial", "has_attachments")
NOTE_KINDS = {
    Note.Type.EMAIL_RECEIVED: note_kind_define(
        Note.Type.EMAIL_RECEIVED,
        stream=[_("Email received from {from}"), _("Email received")],
        notification=[_("New email on {record}")],
        extras=_EMAIL_EXTRAS,
        template="crm/_linked_by.html",
    ),
    Note.Type.EMAIL_SENT: note_kind_define(
        Note.Type.EMAIL_SENT,
        # the actor is the user who sent it, else the sending address (an auto-reply); what
        # the sender chose beside Send (mailboxes.sending.send_actions) is part of the line
        stream=[
            _("{actor} sent an email, set the status to {status} and assigned it to {assignee}"),
            _("{actor} sent an email and set the status to {status}"),
            _("{actor} sent an email and assigned it to {assignee}"),
            _("{actor} sent an email"),
        ],
        notification=[
            _("{actor} sent an email on {record} and set its status to {status}"),
            _("{actor} sent an email on {record}"),
        ],
        extras=(*_EMAIL_EXTRAS, "from", "assigned_user_id"),
        display={"status": _status_label},
        detail="outcome",
        template="crm/_linked_by.html",
    ),
}


@dataclass
class EmailNews:
    """What one email brings: a stream note (when it has a parent) and notifications."""

    email: Email
    note_type: str = Note.Type.EMAIL_RECEIVED
    author_id: int | None = None  # the user who sent it, when it is one of ours
    sender: str = ""  # display form of the From address
    is_initial: bool = False  # it opened the case it belongs to
    super_parent_id: int | None = None  # the parent's Account (None: the email's account)
    with_note: bool = True  # False: the email existed before; its note was written then
    new_user_ids: set[int] = field(default_factory=set)
    # those of new_user_ids it is addressed to (To/Cc) or whose personal mailbox it came by
    direct_user_ids: set[int] = field(default_factory=set)
    silenced_user_ids: set[int] = field(default_factory=set)
    # more of the note's data: what the sender's send did besides (send_actions.py)
    extra: dict = field(default_factory=dict)
    # the parent record's assignee, when the caller has the record at hand (the intake has
    # the case it just joined or opened): (assignee id or None,); None to look it up
    parent_assignee: tuple[int | None] | None = None
    # the note's text when the caller has it already (the intake's step 9 made it the
    # description of the case the email opened); None: taken from the body here
    note_text: str | None = None
    # set by email_news_publish: the note written for it (None: none written now)
    note: NoteRef | None = None


@dataclass(frozen=True)
class NoteRef:
    """What notifying needs of a note just written (the row itself was never a model)."""

    pk: int
    parent_type_id: int
    parent_id: int
    super_parent_type_id: int | None
    super_parent_id: int | None


def _account_type_id() -> int:
    return ContentType.objects.get_for_model(Account).pk


def _note_for(news: EmailNews, email_type_id: int, account_type_id: int) -> dict | None:
    """The note's row (``{attname: value}``), or None when the email gets no note here."""
    email = news.email
    if not (news.with_note and email.parent_type_id and email.parent_id):
        return None
    account_id = news.super_parent_id or email.account_id
    if email.parent_type_id == account_type_id and email.parent_id == account_id:
        account_id = None  # the Account's own stream
    kind = _kind_of_type(email.parent_type_id)
    body = ""
    if kind in NOTE_WITH_TEXT:
        # here, not at the top: its patterns compile in ~5 ms, and this module loads in every
        # process (mailboxes' ready) for its note kinds
        from mailboxes.inbox.reply_text import visible_reply_text

        body = news.note_text if news.note_text is not None else visible_reply_text(email.body_text)
    return {
        "parent_type_id": email.parent_type_id,
        "parent_id": email.parent_id,
        "super_parent_type_id": account_type_id if account_id else None,
        "super_parent_id": account_id,
        "type": news.note_type,
        "author_id": news.author_id,
        "body": body,
        "related_type_id": email_type_id,
        "related_id": email.pk,
        "data": NOTE_KINDS[news.note_type].data(
            email_id=email.pk,
            subject=email.subject[:200],
            is_initial=news.is_initial,
            has_attachments=email.has_attachments,
            **{"from": news.sender},
            **news.extra,
        ),
    }


def _kind_of_type(type_id: int) -> str:
    model = ContentType.objects.get_for_id(type_id).model_class()
    for kind, candidate in email_parent_models().items():
        if candidate is model:
            return kind
    return ""


def _notes_create(items: list[EmailNews], *, may_exist: bool) -> None:
    """Write the notes (one COPY); with ``may_exist`` leave out those already there."""
    email_type_id = ContentType.objects.get_for_model(Email).pk
    account_type_id = _account_type_id()
    wanted: dict[tuple, tuple[EmailNews, dict]] = {}
    for news in items:
        row = _note_for(news, email_type_id, account_type_id)
        if row is not None:
            key = (row["parent_type_id"], row["parent_id"], row["related_id"])
            wanted.setdefault(key, (news, row))
    if may_exist and wanted:
        existing = set(
            Note.objects.filter(
                related_type_id=email_type_id,
                related_id__in={key[2] for key in wanted},
                type__in=Note.EMAIL_TYPES,
            ).values_list("parent_type_id", "parent_id", "related_id")
        )
        wanted = {key: value for key, value in wanted.items() if key not in existing}
    # rows, not model instances: building thousands of Notes costs more than writing them
    ids = bulk_insert_rows(Note, [row for _news, row in wanted.values()])
    for (news, row), note_id in zip(wanted.values(), ids, strict=True):
        news.note = NoteRef(
            pk=note_id,
            parent_type_id=row["parent_type_id"],
            parent_id=row["parent_id"],
            super_parent_type_id=row["super_parent_type_id"],
            super_parent_id=row["super_parent_id"],
        )


def _followers(notes: list[NoteRef]) -> dict[tuple[int, int], list[int]]:
    """(content type id, object id) → active followers, for the notes' parents and Accounts."""
    keys: dict[int, set[int]] = defaultdict(set)
    for note in notes:
        keys[note.parent_type_id].add(note.parent_id)
        if note.super_parent_id:
            keys[note.super_parent_type_id].add(note.super_parent_id)
    if not keys:
        return {}
    condition = Q()
    for type_id, ids in keys.items():
        condition |= Q(content_type_id=type_id, object_id__in=ids)
    followers: dict[tuple[int, int], list[int]] = defaultdict(list)
    for type_id, object_id, user_id in (
        Follow.objects.filter(condition, user__is_active=True)
        .order_by("user_id")
        .values_list("content_type_id", "object_id", "user_id")
    ):
        followers[(type_id, object_id)].append(user_id)
    return followers


@dataclass(frozen=True)
class MailOwnerReasons:
    """The notification reasons of mail on a record type whose assignee owns its mail."""

    owner: str  # for the assignee ("email on a case assigned to me")
    others: str  # for a group mailbox's people when someone else is the assignee


# model label → reasons; filled by the apps that own such types (cases) in AppConfig.ready
_MAIL_OWNERS: dict[str, MailOwnerReasons] = {}


def mail_owner_register(model_label: str, *, owner_reason: str, others_reason: str) -> None:
    """Make the assignee of records of ``model_label`` ("cases.case") the owner of their mail."""
    _MAIL_OWNERS[model_label.lower()] = MailOwnerReasons(owner=owner_reason, others=others_reason)


def _owners(items: list[EmailNews]) -> dict[int, tuple[int | None, MailOwnerReasons]]:
    """Email id → (its parent's assignee, the reasons) for emails on an owned type.

    One query per owned type present (cases: one), none when the batch has no such email.
    """
    wanted: dict[int, tuple[type, MailOwnerReasons, dict[int, list[int]]]] = {}
    owners: dict[int, tuple[int | None, MailOwnerReasons]] = {}
    for news in items:
        email = news.email
        if not (email.parent_type_id and email.parent_id):
            continue
        if email.parent_type_id not in wanted:
            model = ContentType.objects.get_for_id(email.parent_type_id).model_class()
            kinds = _MAIL_OWNERS.get(model._meta.label_lower) if model is not None else None
            wanted[email.parent_type_id] = (model, kinds, defaultdict(list))
        model, kinds, emails_of = wanted[email.parent_type_id]
        if kinds is not None and news.parent_assignee is not None:
            owners[email.pk] = (news.parent_assignee[0], kinds)
        elif kinds is not None:
            emails_of[email.parent_id].append(email.pk)
    for model, kinds, emails_of in wanted.values():
        if not emails_of:
            continue
        for parent_id, assignee_id in model._default_manager.filter(
            pk__in=list(emails_of)
        ).values_list("pk", "assigned_user_id"):
            for email_id in emails_of[parent_id]:
                owners[email_id] = (assignee_id, kinds)
    return owners


def email_news_publish(items: list[EmailNews], *, notify: bool = True, may_exist: bool = False):
    """Write the stream notes of these emails and notify whoever should hear of them.

    ``may_exist``: a note for an email may already be there (sending, a parent changed by
    hand); the intake leaves it False for emails it created in the same transaction.
    """
    if not items:
        return
    _notes_create(items, may_exist=may_exist)
    if not notify:
        return
    audience = _audience_load(items)
    if audience is None:
        return
    rows: list[dict] = []  # notifications, written without building model instances
    told: set[tuple[int, int]] = set()  # (email, user): nobody twice for one email
    for news in items:
        unseen = _unseen(news, audience)
        reasons = _note_reasons(news, audience, unseen)
        _copy_reasons(news, audience, unseen, reasons)
        rows += _notifications_chosen(news, audience, reasons, told)
    bulk_insert_rows(Notification, rows)


@dataclass
class _Audience:
    """Everyone who may be told of a batch of emails, and what decides it, loaded in a fixed
    number of queries for the whole batch."""

    email_type_id: int
    followers: dict[tuple[int, int], list[int]]
    owners: dict[int, tuple[int | None, MailOwnerReasons]]
    candidates: set[int]
    access: dict[int, tuple[str, frozenset[int]]]
    # (email, user) → (read, silenced or in the trash), for users with a copy of the email
    copies: dict[tuple[int, int], tuple[bool, bool]]
    email_teams: dict[int, set[int]]
    told_before: set[tuple[int, int]]
    preferences: dict[int, dict[str, str]]

    def may_read(self, user_id: int, email_id: int) -> bool:
        """Whether the user's role lets them read the email (``Email.visible_to``)."""
        level, teams = self.access.get(user_id, ("no", frozenset()))
        if level == "all":
            return True
        if level == "no":
            return False
        if (email_id, user_id) in self.copies:
            return True
        return level == "team" and bool(teams & self.email_teams[email_id])


def _audience_load(items: list[EmailNews]) -> _Audience | None:
    """The batch's audience; None when nobody could be told (no query more)."""
    email_type_id = ContentType.objects.get_for_model(Email).pk
    notes = [news.note for news in items if news.note is not None]
    followers = _followers(notes)
    owners = _owners(items)
    owner_ids = {owner_id for owner_id, _kinds in owners.values() if owner_id}
    follower_ids = {uid for users in followers.values() for uid in users}
    readers = follower_ids | owner_ids  # told through the note: their role must allow it
    candidates = readers | {uid for news in items for uid in news.new_user_ids}
    if not candidates:
        return None
    email_ids = {news.email.pk for news in items}
    # the candidates' rows once: their flags for the access levels, their preferences
    users = {
        user_id: (active, superuser, preferences)
        for user_id, active, superuser, preferences in User.objects.filter(pk__in=candidates)
        .order_by()
        .values_list("pk", "is_active", "is_superuser", "notification_preferences")
    }
    access = users_access(
        readers, "email", flags={uid: (row[0], row[1]) for uid, row in users.items()}
    )
    copies = {
        (email_id, user_id): (is_read, silenced or in_trash)
        for email_id, user_id, is_read, silenced, in_trash in EmailUser.objects.filter(
            email_id__in=email_ids, user_id__in=candidates
        ).values_list("email_id", "user_id", "is_read", "skip_notification", "in_trash")
    }
    email_teams: dict[int, set[int]] = defaultdict(set)
    if any(level == "team" for level, _teams in access.values()):
        for email_id, team_id in Email.teams.through.objects.filter(
            email_id__in=email_ids
        ).values_list("email_id", "team_id"):
            email_teams[email_id].add(team_id)
    told_before = _told_before(
        [news for news in items if not news.with_note and news.new_user_ids], email_type_id
    )
    return _Audience(
        email_type_id=email_type_id,
        followers=followers,
        owners=owners,
        candidates=candidates,
        access=access,
        copies=copies,
        email_teams=email_teams,
        told_before=told_before,
        preferences={user_id: row[2] for user_id, row in users.items()},
    )


# user → (rank, reason, notification row) of each reason to tell them; the lowest rank they
# keep on wins
_Reasons = dict[int, list[tuple[int, str, dict]]]


def _unseen(news: EmailNews, audience: _Audience) -> set[int]:
    """Candidates who may be told of this email: not its author, not silenced for it, and
    without a read or silenced copy of it."""
    quiet = news.silenced_user_ids | {news.author_id}
    email_id = news.email.pk
    return {
        user_id
        for user_id in audience.candidates - quiet
        if not any(audience.copies.get((email_id, user_id), (False, False)))
    }


def _note_reasons(news: EmailNews, audience: _Audience, unseen: set[int]) -> _Reasons:
    """Reasons 1 and 3, through the stream note: the owner, then followers of the parent,
    then of its Account (the notification opens the note's record)."""
    reasons: _Reasons = defaultdict(list)
    note = news.note
    if note is None:
        return reasons
    email = news.email
    owner_id, owner_reasons = audience.owners.get(email.pk, (None, None))
    note_readers = [(owner_id, note.parent_type_id, note.parent_id)] if owner_id else []
    for key in (
        (note.parent_type_id, note.parent_id),
        (note.super_parent_type_id, note.super_parent_id),
    ):
        note_readers += [(uid, *key) for uid in audience.followers.get(key, ())]
    for user_id, type_id, object_id in note_readers:
        if user_id in reasons or user_id not in unseen or not audience.may_read(user_id, email.pk):
            continue
        rank, why = (0, owner_reasons.owner) if user_id == owner_id else (2, FOLLOWED_MAIL)
        row = {
            "user_id": user_id,
            "type": Notification.Type.NOTE,
            "reason": why,
            "note_id": note.pk,
            "related_type_id": type_id,
            "related_id": object_id,
        }
        reasons[user_id].append((rank, why, row))
    return reasons


def _copy_reasons(
    news: EmailNews, audience: _Audience, unseen: set[int], reasons: _Reasons
) -> None:
    """Reasons 1, 2 and 4 of users newly given the email (their copy is what they open),
    unless told of it before."""
    email = news.email
    owner_id, owner_reasons = audience.owners.get(email.pk, (None, None))
    note = news.note
    for user_id in sorted(news.new_user_ids):
        copy = audience.copies.get((email.pk, user_id))
        if (
            copy is None  # no copy of it (any more): nothing to open
            or user_id not in unseen
            or (email.pk, user_id) in audience.told_before
        ):
            continue
        if user_id == owner_id:
            rank, why = 0, owner_reasons.owner
        elif user_id in news.direct_user_ids:
            rank, why = 1, MAIL_TO_ME
        elif owner_id:
            rank, why = 4, owner_reasons.others
        else:
            rank, why = 3, GROUP_MAIL
        row = {
            "user_id": user_id,
            "type": Notification.Type.EMAIL_RECEIVED,
            "reason": why,
            "note_id": note.pk if note is not None else None,
            "related_type_id": audience.email_type_id,
            "related_id": email.pk,
            "data": EMAIL_RECEIVED_NOTIFICATION.data(
                subject=email.subject[:200], **{"from": news.sender}
            ),
        }
        reasons[user_id].append((rank, why, row))


def _notifications_chosen(
    news: EmailNews, audience: _Audience, reasons: _Reasons, told: set[tuple[int, int]]
) -> list[dict]:
    """One notification a user: for the first of their reasons they keep on."""
    email_id = news.email.pk
    rows = []
    for user_id, candidates_of_user in reasons.items():
        wanted = [
            (rank, row)
            for rank, why, row in candidates_of_user
            if wants(audience.preferences.get(user_id) or {}, why)
        ]
        if wanted and (email_id, user_id) not in told:
            told.add((email_id, user_id))  # nobody twice for one email
            rows.append(min(wanted, key=lambda pair: pair[0])[1])
    return rows


def _told_before(items: list[EmailNews], email_type_id: int) -> set[tuple[int, int]]:
    """(email, user) pairs already notified about emails that existed before this batch."""
    if not items:
        return set()
    email_ids = {news.email.pk for news in items}
    user_ids = {uid for news in items for uid in news.new_user_ids}
    about_email = Q(related_type_id=email_type_id, related_id__in=email_ids)
    about_note = Q(note__related_type_id=email_type_id, note__related_id__in=email_ids)
    pairs = set()
    for user_id, related_type_id, related_id, note_related_id in Notification.objects.filter(
        about_email | about_note, user_id__in=user_ids
    ).values_list("user_id", "related_type_id", "related_id", "note__related_id"):
        email_id = related_id if related_type_id == email_type_id else note_related_id
        pairs.add((email_id, user_id))
    return pairs


def note_email_sent(email: Email, extra: dict | None = None, told=()) -> Note | None:
    """The "email sent" stream note for mail sent from Postaci; its followers are notified
    (not for an auto-reply: it is in the stream, but one per new case would only be noise).

    Call after the email is sent (status Sent) with its parent set; the author is
    ``email.sent_by``. Safe to call twice: the second call finds the note and does nothing.
    ``extra``: what the send did besides (``status``, ``assignee``, ``outcome``), in the line;
    ``told``: users that already heard of it (a new assignee), not notified again.
    """
    if not (email.parent_type_id and email.parent_id):
        return None
    sender = email.from_name or ""
    if email.from_address_id:
        address = email.from_address.address
        sender = f"{sender} <{address}>" if sender else address
    news = EmailNews(
        email=email,
        note_type=Note.Type.EMAIL_SENT,
        author_id=email.sent_by_id,
        sender=sender,
        extra=extra or {},
        silenced_user_ids=set(told),
    )
    email_news_publish([news], may_exist=True, notify=not email.is_auto_reply)
    return Note.objects.get(pk=news.note.pk) if news.note is not None else None
