"""The API's views: thin, over the same selectors and service functions as the web UI."""

from __future__ import annotations

import hashlib

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from api import serializers as api_serializers
from api.pagination import EmailCursorPagination, NewestFirstCursorPagination
from api.records import RecordViewSet, record_viewset
from cases.models import Case
from cases.replies import case_reply_initial
from cases.screens import CASES
from crm.access import access_level
from crm.addresses import normalize_address, records_for_addresses
from crm.kinds import notification_line
from crm.models import Account, Contact, Lead, Notification, Team, TeamMembership, User
from crm.notifications import notifications_for_user, notifications_mark_read
from crm.records import record_create, record_update
from crm.views.records import ACCOUNTS, CONTACTS, LEADS, OPPORTUNITIES
from mailboxes.inbox.list_filters import EmailFilterSet
from mailboxes.inbox.rendering import sanitize_email_html
from mailboxes.inbox.selectors import UserMailbox, folder_emails, with_user_state
from mailboxes.inbox.user_state import (
    emails_mark_important,
    emails_mark_read,
    emails_move_to_folder,
    emails_trash,
)
from mailboxes.models import Attachment, Email, EmailFolder, EmailRecipient
from mailboxes.sending.compose import Mailbox, parse_addresses
from mailboxes.sending.drafts import ComposeData, compose_data_of, draft_version, email_save_draft
from mailboxes.sending.exceptions import DraftConflict, NotSendable, SendError
from mailboxes.sending.replies import reply_initial
from mailboxes.sending.send import email_send

SEND_PARAMETERS = [
    OpenApiParameter(
        "Idempotency-Key",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="The same key sends once: a repeat answers with the same email.",
    )
]


def send_schema(**extra):
    """The schema of an operation that sends: the message in, ``Idempotency-Key`` honoured,
    202 with the queued email out."""
    return extend_schema(
        request=api_serializers.SendSerializer,
        parameters=SEND_PARAMETERS,
        responses={202: api_serializers.EmailSendResultSerializer},
        **extra,
    )


def _compose_data(
    request,
    values: dict,
    *,
    initial: dict | None = None,
    parent=None,
    replied: Email | None = None,
    forwarded: Email | None = None,
) -> ComposeData:
    """The caller's message as compose data; ``initial`` holds the page's prefilled values (a
    reply's To, Cc, subject and From), used for what the caller leaves out. An
    ``Idempotency-Key`` becomes the compose token: one email per (user, key), the same
    at-most-once as a form submitted twice."""
    initial = initial or {}
    token = ""
    key = request.headers.get("Idempotency-Key", "").strip()
    if key:
        token = "api:" + hashlib.sha256(f"{request.user.pk}:{key}".encode()).hexdigest()[:56]

    def addresses(name: str) -> list[Mailbox]:
        if name in values:
            return [Mailbox(a) for a in values[name]]
        return parse_addresses(initial.get(name) or "", field=name)

    return ComposeData(
        from_account_id=values.get("from_account") or initial.get("from_account"),
        to=addresses("to"),
        cc=addresses("cc"),
        bcc=addresses("bcc"),
        subject=values.get("subject", initial.get("subject", "")),
        body_text=values.get("body_text", ""),
        body_html=values.get("body_html", ""),
        parent=parent,
        replied=replied,
        forwarded=forwarded,
        compose_token=token,
    )


def _invalid(error: SendError) -> serializers.ValidationError:
    field = getattr(error, "field", "") or "non_field_errors"
    return serializers.ValidationError({field: [str(error)]})


def _accepted(email: Email) -> Response:
    """202: the email is taken for sending (the outbox sends it); its id and status."""
    return Response({"id": email.pk, "status": email.status}, status=status.HTTP_202_ACCEPTED)


def send_through_compose(
    request,
    *,
    initial: dict | None = None,
    parent=None,
    replied: Email | None = None,
    forwarded: Email | None = None,
) -> Response:
    """Send as the compose form does (``email_send``: permission checks, header checks,
    at-most-once)."""
    body = api_serializers.SendSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        data = _compose_data(
            request,
            body.validated_data,
            initial=initial,
            parent=parent,
            replied=replied,
            forwarded=forwarded,
        )
        email = email_send(user=request.user, data=data)
    except SendError as error:
        raise _invalid(error) from error
    return _accepted(email)


class DraftConflictError(exceptions.APIException):
    """409: the draft changed since the version the caller wrote from (another tab, another
    client); the problem document carries the current ``version``."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("The draft was changed elsewhere.")
    default_code = "draft_conflict"


class NotADraftError(exceptions.APIException):
    """409: the email was sent (or is being sent) already; it is no draft to write or send."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("This email is no longer a draft.")
    default_code = "not_a_draft"


def _draft_refused(error: SendError) -> exceptions.APIException:
    """A draft's write or send refused: 409 when it is no draft any more (sent meanwhile),
    else 400 naming the field, as for a new message."""
    if isinstance(error, NotSendable):
        return NotADraftError(str(error))
    return _invalid(error)


def _draft_answer(email: Email, code: int) -> Response:
    return Response({"id": email.pk, "version": draft_version(email)}, status=code)


# --- Records and cases ----------------------------------------------------------------------

AccountViewSet = record_viewset(ACCOUNTS, tag="accounts")
ContactViewSet = record_viewset(CONTACTS, tag="contacts")
LeadViewSet = record_viewset(LEADS, tag="leads")
OpportunityViewSet = record_viewset(OPPORTUNITIES, tag="opportunities")


class CaseBaseViewSet(RecordViewSet):
    """Cases: the record endpoints plus the stream, notes and close / reopen."""

    def create(self, request, *args, **kwargs):
        """Create a case; with ``customer`` (a web form's sender and message) the case is
        linked to the contact or lead carrying that address (a new lead when none does)
        and the message becomes its description."""
        if not isinstance(request.data, dict) or request.data.get("customer") is None:
            return super().create(request, *args, **kwargs)
        customer = request.data["customer"]
        checked = api_serializers.CustomerMessageSerializer(data=customer)
        checked.is_valid(raise_exception=True)
        data = dict(request.data)
        data.pop("customer")
        data.setdefault("description", checked.validated_data["message"])
        user = request.user
        address = checked.validated_data["email"]
        found = _visible_records_for(user, address)
        with transaction.atomic():  # a refused case leaves no new lead behind
            if found["contacts"] and "contact" not in data:
                contact = found["contacts"][0]
                data["contact"] = contact.pk
                account = Account.objects.visible_to(user).filter(pk=contact.account_id)
                if contact.account_id and "account" not in data and account.exists():
                    data["account"] = contact.account_id
            elif found["leads"] and "lead" not in data:
                data["lead"] = found["leads"][0].pk
            elif not ({"contact", "lead", "account"} & set(data)) and (
                access_level(user, "lead") != "no"
            ):
                # a stranger: a new lead carries the address, so the case can be answered
                name = checked.validated_data.get("name", "").strip()
                lead = record_create(
                    Lead(
                        last_name=name or address, source=Lead.Source.WEB_SITE, assigned_user=user
                    ),
                    user=user,
                    addresses=[address],
                )
                data["lead"] = lead.pk
            return self.create_from(data)

    def _set_status(self, value: str) -> Response:
        case = self.get_object()
        if case.status != value:
            case.status = value
            record_update(case, user=self.request.user, changed=["status"])
        return self._answer(case)

    @send_schema()
    @action(detail=True, methods=["post"], url_path="reply")
    def reply(self, request, pk=None):
        """Reply to the customer as from the case page: From the case's mailbox, To the
        customer, the subject of their latest email with the case's [#N], threaded."""
        case = self.get_object()
        initial = case_reply_initial(case, request.user)
        replied = None
        if initial.get("replied"):
            replied = Email.objects.visible_to(request.user).filter(pk=initial["replied"]).first()
        return send_through_compose(request, initial=initial, parent=case, replied=replied)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._set_status(Case.Status.CLOSED)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        case = self.get_object()
        return self._set_status(Case.Status.ASSIGNED if case.assigned_user_id else Case.Status.NEW)


CaseViewSet = record_viewset(
    CASES,
    base=CaseBaseViewSet,
    tag="cases",
    # the number customers quote ([#N]), the mailbox its mail goes through, when it was assigned
    read_only=("number", "group_account", "assigned_at"),
    extra_fields={
        "customer": api_serializers.CustomerMessageSerializer(required=False, write_only=True)
    },
)


def _visible_records_for(user: User, address: str) -> dict[str, list]:
    """Accounts, contacts and leads carrying ``address`` that ``user`` may see."""
    address = normalize_address(address)
    models = (Account, Contact, Lead)
    found = records_for_addresses([address], models).get(address, [])
    result = {}
    for model in models:
        ids = [r.pk for r in found if isinstance(r, model)]
        visible = set(
            model.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)
        )
        result[f"{model._meta.model_name}s"] = [
            r for r in found if isinstance(r, model) and r.pk in visible
        ]
    return result


class FindByEmailView(APIView):
    @extend_schema(
        tags=["records"],
        parameters=[OpenApiParameter("address", OpenApiTypes.STR, required=True)],
        responses=api_serializers.FoundRecordsSerializer,
    )
    def get(self, request):
        """Accounts, contacts and leads (ids) carrying an email address."""
        address = request.query_params.get("address", "")
        if not normalize_address(address):
            raise serializers.ValidationError({"address": [_("Enter an email address.")]})
        found = _visible_records_for(request.user, address)
        return Response({key: [r.pk for r in records] for key, records in found.items()})


# --- Emails ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        tags=["emails"],
        parameters=[
            OpenApiParameter(
                "folder",
                OpenApiTypes.STR,
                description="inbox (default), important, sent, drafts, archive, trash, all, "
                "f<id> (personal folder), g<id> (group folder), m<id> (group mailbox)",
            ),
            OpenApiParameter("case", OpenApiTypes.INT, description="Only this case's emails."),
            OpenApiParameter(
                "parent_type",
                OpenApiTypes.STR,
                description="With parent_id: only the emails of this record "
                "(crm.account, crm.contact, crm.lead, crm.opportunity, cases.case).",
            ),
            OpenApiParameter("parent_id", OpenApiTypes.INT),
        ],
    ),
    retrieve=extend_schema(tags=["emails"]),
)
class EmailViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"
    """Emails as the caller's folders list them; an email they may not read does not exist."""

    pagination_class = EmailCursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = EmailFilterSet
    serializer_class = api_serializers.EmailListSerializer

    def get_queryset(self):
        user = self.request.user
        if getattr(self, "swagger_fake_view", False):
            return Email.objects.none()
        if self.action == "list":
            mailbox = UserMailbox.of(user)
            folder = mailbox.resolve(self.request.query_params.get("folder") or "inbox")
            emails = folder_emails(mailbox, folder)
        else:
            emails = with_user_state(Email.objects.visible_to(user), user)
        return emails.select_related("from_address", "parent_type")

    def get_object(self):
        email = get_object_or_404(
            self.get_queryset().prefetch_related(
                "attachments",
                Prefetch(
                    "recipients",
                    queryset=EmailRecipient.objects.select_related("address").order_by("position"),
                ),
            ),
            pk=self.kwargs["pk"],
        )
        return email

    def get_serializer_class(self):
        if self.action == "list":
            return api_serializers.EmailListSerializer
        return api_serializers.EmailDetailSerializer

    def get_serializer_context(self):
        return super().get_serializer_context() | {
            "sanitize": lambda email: sanitize_email_html(email.body_html).html
        }

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        queryset = super().filter_queryset(queryset)
        params = self.request.query_params
        label, pk = params.get("parent_type", ""), params.get("parent_id", "")
        if params.get("case"):
            label, pk = "cases.case", params["case"]
        if label or pk:
            if not pk.isdigit() or label.count(".") != 1:
                raise serializers.ValidationError({"parent_id": [_("Give a record type and id.")]})
            app_label, model = label.lower().split(".")
            parent_type = ContentType.objects.filter(app_label=app_label, model=model).first()
            queryset = queryset.filter(parent_type=parent_type, parent_id=int(pk))
        return queryset

    @extend_schema(
        tags=["emails"],
        request=api_serializers.EmailFlagsSerializer,
        responses={200: api_serializers.EmailDetailSerializer},
    )
    def partial_update(self, request, pk=None):
        """Mark read / unread, important / not, or move into a personal folder (null: the
        Inbox)."""
        email = self.get_object()
        flags = api_serializers.EmailFlagsSerializer(data=request.data)
        flags.is_valid(raise_exception=True)
        values = flags.validated_data
        user = request.user
        with transaction.atomic():
            if "is_read" in values:
                emails_mark_read(user, [email.pk], read=values["is_read"])
            if "is_important" in values:
                emails_mark_important(user, [email.pk], important=values["is_important"])
            if "folder" in values:
                folder = None
                if values["folder"] is not None:
                    folder = EmailFolder.objects.filter(user=user, pk=values["folder"]).first()
                    if folder is None:
                        raise serializers.ValidationError({"folder": [_("No such folder.")]})
                emails_move_to_folder(user, [email.pk], folder)
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(tags=["emails"], request=None, responses={204: None})
    def destroy(self, request, pk=None):
        """Move to the caller's Trash (the email itself stays for everyone else)."""
        email = self.get_object()
        emails_trash(request.user, [email.pk])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @send_schema(tags=["emails"])
    @action(detail=False, methods=["post"])
    def send(self, request):
        """Send a new email (queued; its ``status`` tells how it goes)."""
        return send_through_compose(request)

    def _answer(self, request, mode: str) -> Response:
        email = self.get_object()
        initial = reply_initial(email, request.user, mode=mode)
        parent = email.parent if email.parent_type_id else None
        if mode == "forward":
            return send_through_compose(request, initial=initial, parent=parent, forwarded=email)
        return send_through_compose(request, initial=initial, parent=parent, replied=email)

    @send_schema(tags=["emails"])
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        """Reply to this email, threaded and filed under its record; To, subject and From
        default to what the reply page offers."""
        return self._answer(request, "reply")

    @send_schema(tags=["emails"])
    @action(detail=True, methods=["post"], url_path="reply-all")
    def reply_all(self, request, pk=None):
        """Reply to the sender and every other recipient (not yourself)."""
        return self._answer(request, "reply_all")

    @send_schema(tags=["emails"])
    @action(detail=True, methods=["post"])
    def forward(self, request, pk=None):
        """Forward this email with its attachments (give ``to``)."""
        return self._answer(request, "forward")

    def _draft(self) -> Email:
        """The caller's own draft (404 for anyone else's email, as for what they cannot see)."""
        email = self.get_object()
        if email.created_by_id != self.request.user.pk:
            raise Http404
        if email.status != Email.Status.DRAFT:
            raise NotADraftError()
        return email

    @extend_schema(
        tags=["emails"],
        request=api_serializers.SendSerializer,
        parameters=SEND_PARAMETERS,
        responses={201: api_serializers.DraftResultSerializer},
    )
    @action(detail=False, methods=["post"])
    def drafts(self, request):
        """Save a new draft (nothing is sent; recipients are optional). The answer's
        ``version`` is what the next write of the draft gives."""
        body = api_serializers.SendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = _compose_data(request, body.validated_data)
        if data.compose_token:  # a repeat of the same request changes nothing
            known = Email.objects.filter(
                created_by=request.user, outgoing__compose_token=data.compose_token
            ).first()
            if known is not None:
                return _draft_answer(known, status.HTTP_201_CREATED)
        try:
            email = email_save_draft(user=request.user, data=data)
        except SendError as error:
            raise _invalid(error) from error
        return _draft_answer(email, status.HTTP_201_CREATED)

    @extend_schema(
        tags=["emails"],
        request=api_serializers.DraftWriteSerializer,
        responses={200: api_serializers.DraftResultSerializer},
    )
    @action(detail=True, methods=["put"], url_path="draft")
    def draft_write(self, request, pk=None):
        """Replace a draft's From, recipients, subject and body (its attachments stay). Give
        the ``version`` you last read: a draft changed elsewhere since answers 409 with the
        current version, and nothing is written."""
        draft = self._draft()
        body = api_serializers.DraftWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = body.validated_data
        data = _compose_data(request, values, parent=draft.parent, replied=draft.replied)
        data.draft_version = values["version"]
        try:
            email = email_save_draft(user=request.user, data=data, draft=draft)
        except DraftConflict as conflict:
            error = DraftConflictError(str(conflict))
            error.problem_extensions = {"version": conflict.current}
            raise error from conflict
        except SendError as error:
            raise _draft_refused(error) from error
        return _draft_answer(email, status.HTTP_200_OK)

    @extend_schema(
        tags=["emails"],
        request=None,
        responses={202: api_serializers.EmailSendResultSerializer},
    )
    @action(detail=True, methods=["post"], url_path="send-draft")
    def send_draft(self, request, pk=None):
        """Send a draft as it is stored (with its attachments), as the compose page's Send."""
        draft = self._draft()
        try:
            email = email_send(user=request.user, data=compose_data_of(draft), draft=draft)
        except SendError as error:
            raise _draft_refused(error) from error
        return _accepted(email)


class AttachmentViewSet(viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"
    queryset = Attachment.objects.none()

    @extend_schema(
        tags=["emails"],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    def retrieve(self, request, pk=None):
        """Download an attachment of an email the caller may read."""
        attachment = get_object_or_404(
            Attachment.objects.filter(email__in=Email.objects.visible_to(request.user)), pk=pk
        )
        try:
            handle = attachment.file.open("rb")
        except (FileNotFoundError, ValueError) as exc:
            raise Http404 from exc
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=attachment.filename or "attachment",
            content_type=attachment.content_type or "application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


# --- Notifications, users, teams ------------------------------------------------------------


@extend_schema_view(list=extend_schema(tags=["notifications"]))
class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"
    serializer_class = api_serializers.NotificationSerializer
    pagination_class = NewestFirstCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        notifications = notifications_for_user(self.request.user)
        if self.request.query_params.get("unread") in ("1", "true"):
            notifications = notifications.filter(read_at__isnull=True)
        return notifications

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        for notification in page or []:
            notification.api_text = notification_line(notification, html=False)
        return page

    @extend_schema(tags=["notifications"], request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        """Mark one of the caller's notifications read."""
        if not request.user.notifications.filter(pk=pk).exists():
            raise Http404
        notifications_mark_read(request.user, [int(pk)])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=["notifications"], request=None, responses={204: None})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        notifications_mark_read(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(list=extend_schema(tags=["users"]), retrieve=extend_schema(tags=["users"]))
class UserViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = "[0-9]+"
    """Users (the same list every user sees when assigning a record)."""

    serializer_class = api_serializers.UserSerializer
    queryset = User.objects.prefetch_related(
        Prefetch("memberships", queryset=TeamMembership.objects.only("user_id", "team_id"))
    ).order_by("username", "pk")


@extend_schema_view(list=extend_schema(tags=["users"]), retrieve=extend_schema(tags=["users"]))
class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = "[0-9]+"
    serializer_class = api_serializers.TeamSerializer
    queryset = Team.objects.order_by("name", "pk")
