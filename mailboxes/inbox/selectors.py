"""Reads behind the Emails screens: folders, what each folder lists, and unread counts.

Folder semantics follow EspoCRM (``InFolder.php``), per user:

- **Inbox**: the user's ``EmailUser`` rows not in trash, archive or a personal folder, not in
  a group folder the user sees, not drafts, and not sent by the user (From is not one of
  their own addresses).
- **Sent**: visible emails whose From is one of the user's addresses, or that they sent.
- **Important**, **Archive**, **Trash**: the user's flags; **Drafts**: their own drafts;
  **Scheduled** (under Drafts): their emails waiting to be sent later, the soonest first.
- **Personal folders** (``EmailFolder``): the user's rows filed there.
- **Group folders** (``GroupEmailFolder``): emails filed there, for members of the folder's
  teams (administrators see every group folder).
- **Group mailboxes** (``GroupEmailAccount``): every email that arrived through the account,
  for users whose role lets them read its mail (``readable_group_accounts``): an administrator
  who is in none of its teams has no Inbox rows of its mail, and reads it here.
- **All**: every email the user may read (their role's level), except their trash.

Every list is an ``Email`` queryset with the user's own state joined in once (a filtered
LEFT JOIN on ``EmailUser``), annotated as ``user_is_read``, ``user_is_important``,
``user_in_trash``, ``user_in_archive`` and ``user_folder_id``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import (
    BooleanField,
    F,
    FilteredRelation,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce, Substr
from django.http import Http404
from django.utils.functional import cached_property
from django.utils.translation import pgettext_lazy

from crm.access import access_level, is_admin, user_team_ids
from crm.models import EmailAddress, EmailAddressLink, User
from crm.text_search import fold
from mailboxes.inbox.pagination import serial_query
from mailboxes.models import (
    Email,
    EmailFolder,
    EmailUser,
    GroupEmailAccount,
    GroupEmailFolder,
    PersonalEmailAccount,
)

INBOX, IMPORTANT, SENT, DRAFTS, SCHEDULED, ARCHIVE, TRASH, ALL = (
    "inbox",
    "important",
    "sent",
    "drafts",
    "scheduled",
    "archive",
    "trash",
    "all",
)
SYSTEM_FOLDERS: dict[str, str] = {
    INBOX: pgettext_lazy("email folder", "Inbox"),
    IMPORTANT: pgettext_lazy("email folder", "Important"),
    SENT: pgettext_lazy("email folder", "Sent"),
    DRAFTS: pgettext_lazy("email folder", "Drafts"),
    SCHEDULED: pgettext_lazy("email folder", "Scheduled"),
    ARCHIVE: pgettext_lazy("email folder", "Archive"),
    TRASH: pgettext_lazy("email folder", "Trash"),
    ALL: pgettext_lazy("email folder", "All emails"),
}
# Statuses that belong in the Inbox (drafts and outgoing mail do not).
INBOX_STATUSES = (Email.Status.IMPORTED, Email.Status.SENT)
# Written but not sent: only their author lists them (Drafts, Scheduled).
UNSENT_STATUSES = (Email.Status.DRAFT, Email.Status.SCHEDULED)
SNIPPET_LENGTH = 160


@dataclass
class Folder:
    """One entry of the folder pane: a system folder, a personal or a group folder."""

    key: str  # "inbox", …, "f<id>" (personal), "g<id>" (group) or "m<id>" (group mailbox)
    label: str
    kind: str  # "system", "personal", "group" or "mailbox"
    obj: EmailFolder | GroupEmailFolder | GroupEmailAccount | None = None
    unread: int = 0

    @property
    def pk(self) -> int | None:
        return self.obj.pk if self.obj is not None else None

    @property
    def unread_label(self) -> str:
        """The count as shown: "999+" above the cap (mailboxes.inbox.selectors.UNREAD_CAP)."""
        return f"{UNREAD_CAP}+" if self.unread > UNREAD_CAP else str(self.unread)


@dataclass
class UserMailbox:
    """The folders of one user, loaded once per request (three queries), with unread counts
    filled by :func:`folder_unread_counts` (one more)."""

    user: User
    personal: list[EmailFolder] = field(default_factory=list)
    group: list[GroupEmailFolder] = field(default_factory=list)
    mailboxes: list[GroupEmailAccount] = field(default_factory=list)

    @classmethod
    def of(cls, user: User) -> UserMailbox:
        return cls(
            user=user,
            personal=list(EmailFolder.objects.filter(user=user)),
            group=list(visible_group_folders(user)),
            mailboxes=list(readable_group_accounts(user).only("pk", "name")),
        )

    @cached_property
    def group_folder_ids(self) -> frozenset[int]:
        return frozenset(folder.pk for folder in self.group)

    @cached_property
    def own_address_ids(self) -> list[int]:
        """The user's own addresses (:func:`own_address_ids`), read once per request."""
        return own_address_ids(self.user)

    def folders(self, counts: dict[str, int] | None = None) -> list[Folder]:
        counts = counts or {}
        result = [
            Folder(key, str(label), "system", unread=counts.get(key, 0))
            for key, label in SYSTEM_FOLDERS.items()
        ]
        result += [
            Folder(f"f{f.pk}", f.name, "personal", f, counts.get(f"f{f.pk}", 0))
            for f in self.personal
        ]
        result += [
            Folder(f"g{f.pk}", f.name, "group", f, counts.get(f"g{f.pk}", 0)) for f in self.group
        ]
        result += [Folder(f"m{a.pk}", a.name, "mailbox", a) for a in self.mailboxes]
        return result

    def find(self, name: str) -> Folder | None:
        """The folder a search's ``in:`` names: by key ("inbox", "sent", …) or by the
        name shown, in any letter case."""
        wanted = fold(name.strip())
        for folder in self.folders():
            if wanted in (folder.key, fold(folder.label)):
                return folder
        return None

    def resolve(self, key: str) -> Folder:
        """The folder named by ``key``; ``Http404`` for a folder the user does not have."""
        for folder in self.folders():
            if folder.key == key:
                return folder
        raise Http404("No such folder")


def visible_group_folders(user: User) -> QuerySet[GroupEmailFolder]:
    """Group folders of the user's teams; administrators see them all."""
    if is_admin(user):
        return GroupEmailFolder.objects.all()
    return GroupEmailFolder.objects.filter(
        pk__in=GroupEmailFolder.teams.through.objects.filter(
            team_id__in=user_team_ids(user)
        ).values("groupemailfolder_id")
    )


def readable_group_accounts(user: User) -> QuerySet[GroupEmailAccount]:
    """Group mailboxes whose mail the user's role lets them read, by name: all of them at the
    ``all`` level (administrators too), those of the user's teams at ``team``, none below."""
    level = access_level(user, "email")
    accounts = GroupEmailAccount.objects.order_by("name", "pk")
    if level == "all":
        return accounts
    if level == "team":
        return accounts.filter(
            pk__in=GroupEmailAccount.teams.through.objects.filter(
                team_id__in=user_team_ids(user)
            ).values("groupemailaccount_id")
        )
    return accounts.none()


def own_address_ids(user: User) -> list[int]:
    """The ``EmailAddress`` ids that are the user's own: their login address, addresses
    linked to their user record, and their personal accounts' addresses.

    Read first, in one statement of three indexed lookups, so that a list's condition is a
    few constant ids: as a subquery joined by OR it was a sequential scan of every address
    ever seen, in every Inbox page and unread count."""
    user_type = ContentType.objects.get_for_model(User)
    linked = EmailAddressLink.objects.filter(content_type=user_type, object_id=user.pk)
    personal = PersonalEmailAccount.objects.filter(owner=user).values("email_address")
    parts = [
        linked.order_by().values_list("address_id", flat=True),
        EmailAddress.objects.filter(address__in=personal).order_by().values_list("pk", flat=True),
    ]
    if user.email:
        parts.append(
            EmailAddress.objects.filter(address=user.email.strip().lower())
            .order_by()
            .values_list("pk", flat=True)
        )
    return sorted(set(parts[0].union(*parts[1:])))


def _sent_by_user(mailbox: UserMailbox) -> Q:
    return Q(from_address_id__in=mailbox.own_address_ids) | Q(sent_by=mailbox.user)


def with_user_state(queryset: QuerySet[Email], user: User) -> QuerySet[Email]:
    """Join the user's own ``EmailUser`` row (if any) and expose its flags.

    Emails the user sees through their team or role but never received count as read.
    """
    return queryset.annotate(
        mine=FilteredRelation("email_users", condition=Q(email_users__user=user)),
    ).annotate(
        user_is_read=Coalesce(F("mine__is_read"), Value(True), output_field=BooleanField()),
        user_is_important=Coalesce(
            F("mine__is_important"), Value(False), output_field=BooleanField()
        ),
        user_in_trash=Coalesce(F("mine__in_trash"), Value(False), output_field=BooleanField()),
        user_in_archive=Coalesce(F("mine__in_archive"), Value(False), output_field=BooleanField()),
        user_folder_id=F("mine__folder_id"),
        user_row_id=F("mine__id"),
        user_email_id=F("mine__email_id"),
        user_date=F("mine__date"),
    )


def _not_in_visible_group_folder(mailbox: UserMailbox) -> Q:
    return Q(group_folder__isnull=True) | ~Q(group_folder_id__in=list(mailbox.group_folder_ids))


def folder_emails(mailbox: UserMailbox, folder: Folder) -> QuerySet[Email]:
    """The emails listed in ``folder`` for the mailbox's user, newest first."""
    user = mailbox.user
    level = access_level(user, "email")
    emails = with_user_state(Email.objects.all(), user)
    if level == "no":
        return emails.none()
    key = folder.key
    # Filters name the annotations, not ``mine__…``: a second filter() on the multi-valued
    # relation would join EmailUser a second time.
    mine = Q(user_row_id__isnull=False, user_in_trash=False)
    visible = Q(pk__in=Email.objects.visible_to(user).values("pk"))
    if key == INBOX:
        emails = emails.filter(
            mine,
            user_in_archive=False,
            user_folder_id__isnull=True,
            status__in=INBOX_STATUSES,
        ).filter(_not_in_visible_group_folder(mailbox))
        emails = emails.exclude(from_address_id__in=mailbox.own_address_ids).exclude(sent_by=user)
    elif key == IMPORTANT:
        emails = emails.filter(mine, user_is_important=True)
    elif key == ARCHIVE:
        emails = emails.filter(mine, user_in_archive=True)
    elif key == TRASH:
        emails = emails.filter(user_row_id__isnull=False, user_in_trash=True)
    elif key == DRAFTS:
        emails = emails.filter(status=Email.Status.DRAFT, created_by=user)
    elif key == SCHEDULED:
        emails = emails.filter(status=Email.Status.SCHEDULED, created_by=user).annotate(
            scheduled_for=F("outgoing__scheduled_at")
        )
        return emails.order_by("scheduled_for", "pk")
    elif key == SENT:
        emails = emails.filter(visible, _sent_by_user(mailbox), user_in_trash=False).exclude(
            status__in=UNSENT_STATUSES
        )
    elif key == ALL:
        emails = emails.filter(visible, user_in_trash=False).exclude(status__in=UNSENT_STATUSES)
    elif folder.kind == "personal":
        emails = emails.filter(mine, user_folder_id=folder.pk)
    elif folder.kind == "group":
        emails = emails.filter(visible, group_folder_id=folder.pk, user_in_trash=False).exclude(
            status__in=UNSENT_STATUSES
        )
    elif folder.kind == "mailbox":
        arrived = Email.accounts.through.objects.filter(mailaccount_id=folder.pk)
        emails = emails.filter(
            visible, pk__in=arrived.values("email_id"), user_in_trash=False
        ).exclude(status__in=UNSENT_STATUSES)
    else:
        return emails.none()
    return emails.order_by("-date_sent", "-pk")


# Folders of the user's own rows: read newest first along their index (user, date, email)
OWN_ROW_FOLDERS = frozenset({INBOX, IMPORTANT, ARCHIVE, TRASH})


def folder_sort_field(folder: Folder) -> str:
    """What a folder's list is read newest first by: the user's own rows carry the email's
    date (``EmailUser.date``), so Inbox, Important, Archive, Trash and personal folders are
    one range of the user's index, however many emails others have; the lists of what the
    user sees without a row of their own (Sent, All, group folders and mailboxes) go by
    the email's date. The same date either way: only the index read differs."""
    if folder.key in OWN_ROW_FOLDERS or folder.kind == "personal":
        return "user_date"
    return "date_sent"


def email_list_rows(emails: QuerySet[Email], *, with_recipients: bool = False) -> QuerySet[Email]:
    """What a list row needs, in a fixed number of queries: sender, a text snippet (not the
    whole body), the parent record and, for Sent and Drafts, the recipients."""
    from django.db.models import Prefetch

    from mailboxes.models import EmailRecipient

    rows = (
        emails.select_related("from_address")
        .defer("body_text", "body_html", "headers", "references", "parse_defects")
        .annotate(snippet=Substr("body_text", 1, SNIPPET_LENGTH))
        .prefetch_related("parent")
    )
    if with_recipients:
        rows = rows.prefetch_related(
            Prefetch(
                "recipients",
                queryset=EmailRecipient.objects.filter(
                    kind__in=[EmailRecipient.Kind.TO, EmailRecipient.Kind.CC]
                ).select_related("address"),
            )
        )
    return rows


UNREAD_CAP = 999  # above it a folder shows "999+": counting further reads too many rows


def folder_unread_counts(mailbox: UserMailbox) -> dict[str, int]:
    """Unread emails per folder key (folders with none left out), in one statement
    whatever the number of folders: one count per folder, each of at most
    ``UNREAD_CAP + 1`` rows (a count above the cap means "more than the cap"), so a
    mailbox of a million unread emails costs what one of a thousand does."""
    user = mailbox.user
    if access_level(user, "email") == "no":
        return {}
    unread = EmailUser.objects.filter(user=user, is_read=False, in_trash=False)
    folders: dict[str, QuerySet] = {
        INBOX: unread.filter(
            in_archive=False, folder__isnull=True, email__status__in=INBOX_STATUSES
        )
        .exclude(email__from_address_id__in=mailbox.own_address_ids)
        .exclude(email__sent_by=user)
        .exclude(email__group_folder_id__in=sorted(mailbox.group_folder_ids)),
        IMPORTANT: unread.filter(is_important=True),
    }
    for folder in mailbox.personal:
        folders[f"f{folder.pk}"] = unread.filter(folder_id=folder.pk)
    for folder in mailbox.group:
        folders[f"g{folder.pk}"] = unread.filter(email__group_folder_id=folder.pk)
    parts, params = [], []
    for n, (key, rows) in enumerate(folders.items()):
        sql, row_params = rows.values("pk")[: UNREAD_CAP + 1].query.sql_with_params()
        parts.append(f"SELECT %s, COUNT(*) FROM ({sql}) AS folder_{n}")  # noqa: S608
        params += [key, *row_params]
    with serial_query(), connection.cursor() as cursor:  # a thousand rows: no workers
        cursor.execute(" UNION ALL ".join(parts), params)
        return {key: count for key, count in cursor.fetchall() if count}


def newest_marks(user: User) -> tuple[int, int]:
    """The newest Email id and the user's newest EmailUser id: the cursor of live updates
    ("anything past these is new")."""
    with connection.cursor() as cursor:  # one statement, both ends of an index
        cursor.execute(
            f"SELECT (SELECT MAX(id) FROM {Email._meta.db_table}), "  # noqa: S608
            f"(SELECT MAX(id) FROM {EmailUser._meta.db_table} WHERE user_id = %s)",
            [user.pk],
        )
        email_mark, row_mark = cursor.fetchone()
    return email_mark or 0, row_mark or 0


def emails_newer_than(emails: QuerySet[Email], *, email_mark: int, row_mark: int):
    """Emails of a folder list that arrived after the marks: a new Email, or an old one
    that has just reached the user (a new ``EmailUser`` row)."""
    return emails.filter(Q(pk__gt=email_mark) | Q(user_row_id__gt=row_mark))


def visible_emails(user: User, ids: Iterable[int] | None = None) -> QuerySet[Email]:
    """Emails the user may read (their role's level plus their own inbox rows)."""
    emails = Email.objects.visible_to(user)
    if ids is not None:
        emails = emails.filter(pk__in=list(ids))
    return emails
