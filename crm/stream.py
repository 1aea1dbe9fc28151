"""Following records and their stream of notes.

Every record screen (CRM records here, cases later) and the mail intake use these functions,
so "who follows what" and "what the stream shows" have one definition. Records are any model
with a ``visible_to`` queryset method; nothing here knows about mail.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Page, Paginator
from django.db.models import Model, Q, QuerySet, prefetch_related_objects

from crm.events import event_publish
from crm.kinds import note_kind_for_type, note_kind_of
from crm.links import url_of
from crm.mentions import mentioned_users
from crm.models import Follow, Note, User
from crm.notifications import notifications_for_note

STREAM_PAGE_SIZE = 20


def _record_key(record: Model) -> dict:
    return {
        "content_type": ContentType.objects.get_for_model(record),
        "object_id": record.pk,
    }


def record_follow(record: Model, user: User) -> bool:
    """Make ``user`` follow ``record``; True when they did not follow it before."""
    _follow, created = Follow.objects.get_or_create(user=user, **_record_key(record))
    return created


def record_unfollow(record: Model, user: User) -> bool:
    """Stop ``user`` following ``record``; True when they followed it."""
    deleted, _ = Follow.objects.filter(user=user, **_record_key(record)).delete()
    return bool(deleted)


def is_following(record: Model, user: User) -> bool:
    return Follow.objects.filter(user=user, **_record_key(record)).exists()


def followers_of(record: Model) -> QuerySet[User]:
    """Active users following ``record``, by name."""
    key = _record_key(record)
    return User.objects.filter(
        is_active=True,
        follows__content_type=key["content_type"],
        follows__object_id=key["object_id"],
    ).order_by("first_name", "last_name", "username")


def follower_ids(record: Model) -> set[int]:
    return set(followers_of(record).values_list("pk", flat=True))


def super_parent_of(record: Model) -> Model | None:
    """The Account whose stream also shows this record's notes (None for the Account itself)."""
    account = getattr(record, "account_record", None)
    if account is None or account is record or account == record:
        return None
    return account


def note_create(
    *,
    parent: Model,
    type: str = Note.Type.POST,
    author: User | None = None,
    body: str = "",
    related: Model | None = None,
    data: dict | None = None,
    notify: bool = True,
) -> Note:
    """Add an entry to ``parent``'s stream (and to its Account's stream).

    With ``notify`` the record's followers, except the author, get a notification, and so
    does each user a post mentions (``@username``) who may see the record; the mail intake
    passes ``notify=False`` and notifies on its own so nobody hears of an email twice.
    ``data`` goes through the kind of ``type`` (crm.kinds), which refuses what its sentences
    would not show and insists on what they need.
    """
    data = note_kind_for_type(type).data(**(data or {}))
    super_parent = super_parent_of(parent)
    note = Note.objects.create(
        parent_type=ContentType.objects.get_for_model(parent),
        parent_id=parent.pk,
        super_parent_type=(
            ContentType.objects.get_for_model(super_parent) if super_parent is not None else None
        ),
        super_parent_id=super_parent.pk if super_parent is not None else None,
        type=type,
        author=author,
        body=body,
        related_type=ContentType.objects.get_for_model(related) if related is not None else None,
        related_id=related.pk if related is not None else None,
        data=data,
    )
    if type == Note.Type.POST:
        event_publish("note.created", [note])
    if notify:
        mentioned = mentioned_users(body, parent) if type == Note.Type.POST else []
        notifications_for_note(
            note, follower_ids(parent), mentioned_ids=[user.pk for user in mentioned]
        )
    return note


def stream_for(record: Model, user: User) -> QuerySet[Note]:
    """Notes of ``record``'s stream as ``user`` may see it, newest first.

    An Account's stream also holds the notes of its children (contacts, opportunities, cases)
    that ``user`` may see. Authors and content types are joined and ``related`` objects
    prefetched (one query per type), so rendering a page costs the same number of queries
    whatever its length.
    """
    content_type = ContentType.objects.get_for_model(record)
    condition = Q(parent_type=content_type, parent_id=record.pk)
    if getattr(record, "account_record", None) is record:
        children = Note.objects.filter(super_parent_type=content_type, super_parent_id=record.pk)
        child_type_ids = children.order_by().values_list("parent_type_id", flat=True).distinct()
        for type_id in child_type_ids:
            model = ContentType.objects.get_for_id(type_id).model_class()
            if model is None:
                continue
            candidates = model._default_manager.all()
            if hasattr(candidates, "visible_to"):
                candidates = candidates.visible_to(user)
            condition |= Q(
                super_parent_type=content_type,
                super_parent_id=record.pk,
                parent_type_id=type_id,
                parent_id__in=candidates.values("pk"),
            )
    return (
        Note.objects.filter(condition)
        .select_related("author", "parent_type", "related_type")
        .prefetch_related("related")
        .order_by("-created_at", "-id")
    )


def stream_page(
    record: Model, user: User, number: int | str | None = 1, *, per_page: int = STREAM_PAGE_SIZE
) -> Page:
    """One page of :func:`stream_for`, ready to render with ``crm/_stream.html``.

    Each note gets ``related_visible`` (may ``user`` open ``note.related``), ``related_url``
    (its page, or "" when it has none or the user may not open it), ``display_body`` (the
    note's text, or the related object's ``body_text`` when visible), ``full_text`` (the
    related object's whole ``body_text`` when ``display_body`` is only part of it, as in a case
    email's note) and ``is_own_record`` (the note belongs to ``record`` itself rather than to a
    child record).
    """
    page = Paginator(stream_for(record, user), per_page).get_page(number)
    notes = list(page.object_list)
    page.object_list = notes
    content_type = ContentType.objects.get_for_model(record)
    others: list[Note] = []
    for note in notes:
        note.is_own_record = note.parent_type_id == content_type.pk and note.parent_id == record.pk
        if note.is_own_record:
            Note.parent.set_cached_value(note, record)
        else:
            others.append(note)
    if others:
        prefetch_related_objects(others, "parent")
    _mark_related(notes, user)
    return page


def stream_page_of_note(
    record: Model, user: User, note_id: int, *, per_page: int = STREAM_PAGE_SIZE
) -> int:
    """The page of ``record``'s stream, as ``user`` sees it, that holds note ``note_id``
    (page 1 when they cannot see it), so a link to an older note opens where it is."""
    notes = stream_for(record, user).prefetch_related(None).select_related(None)
    target = notes.filter(pk=note_id).values_list("created_at", "pk").first()
    if target is None:
        return 1
    created_at, pk = target
    newer = notes.filter(Q(created_at__gt=created_at) | Q(created_at=created_at, pk__gt=pk))
    return newer.count() // per_page + 1


def notes_prepare(notes: Iterable[Note], user: User) -> None:
    """Give each of ``notes`` what :func:`stream_page` gives the notes of a page
    (``related_visible``, ``related_url``, ``display_body``, ``full_text``): for callers
    that page the stream themselves (the API's cursor)."""
    _mark_related(notes, user)


def _mark_related(notes: Iterable[Note], user: User) -> None:
    """Set ``related_visible``/``related_url``/``display_body``: one query per related type."""
    notes = list(notes)
    ids_by_model: dict[type, set] = defaultdict(set)
    for note in notes:
        if note.related is not None:
            ids_by_model[type(note.related)].add(note.related.pk)
    visible: dict[type, set] = {}
    for model, ids in ids_by_model.items():
        queryset = model._default_manager.all()
        if hasattr(queryset, "visible_to"):
            visible[model] = set(
                queryset.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)
            )
        else:
            visible[model] = ids
    for note in notes:
        related = note.related
        note.related_visible = related is not None and related.pk in visible[type(related)]
        note.related_url = url_of(related) if note.related_visible else ""
        body = note.body
        full_text = getattr(related, "body_text", "") or "" if note.related_visible else ""
        if not note_kind_of(note).related_text:
            full_text = ""  # the note says what happened to it; its text is elsewhere
        elif related is not None and not note.related_visible:
            body = ""  # the note's text is the related item's (an email's): as closed as the email
        if not body:
            body = full_text
        note.display_body = body
        # the related text in full when the note shows only part of it (a case email's note
        # leaves out the quoted history): one click away in the stream
        note.full_text = full_text if full_text.strip() != body.strip() else ""
