"""What the API reads and writes. Input is checked here for types only; the rules are the
web UI's own (its forms and the service functions), applied in the views."""

from __future__ import annotations

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.models import Note, Notification, Team, User
from mailboxes.models import Attachment, Email

RECORD_READ_ONLY = ("id", "created_by", "created_at", "modified_at")


class RecordSerializer(serializers.ModelSerializer):
    """A CRM record or a case; ``email_addresses`` primary first."""

    # the UI form cleans URLs ("acme.example" becomes https://acme.example): no stricter
    # check before it
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.URLField: serializers.CharField,
    }

    email_addresses = serializers.ListField(
        child=serializers.EmailField(max_length=320), required=False, max_length=50
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if "email_addresses" in self.fields:
            data["email_addresses"] = instance.email_addresses
        return data


def record_serializer_for(
    model,
    form_class,
    *,
    addresses: bool,
    extra: dict | None = None,
    read_only: tuple[str, ...] = (),
):
    """A serializer of ``model`` whose writable fields are exactly those of the UI's form;
    ``read_only`` names more fields shown but never written (a case's number)."""
    writable = list(form_class._meta.fields)
    fields = [*RECORD_READ_ONLY, *writable] + (["email_addresses"] if addresses else [])
    extra_read_only = tuple(getattr(form_class, "api_read_only", ())) + tuple(read_only)
    meta = type(
        "Meta",
        (),
        {
            "model": model,
            "fields": fields + list(extra_read_only) + list(extra or {}),
            "read_only_fields": RECORD_READ_ONLY + extra_read_only,
        },
    )
    attrs = {"Meta": meta, **(extra or {})}
    if not addresses:
        attrs["email_addresses"] = None
    return type(f"{model.__name__}Serializer", (RecordSerializer,), attrs)


class CustomerMessageSerializer(serializers.Serializer):
    """The customer's first message of a case opened from a web form."""

    email = serializers.EmailField(max_length=320)
    name = serializers.CharField(max_length=255, required=False, allow_blank=True)
    message = serializers.CharField(max_length=100_000)


class NoteSerializer(serializers.ModelSerializer):
    body = serializers.SerializerMethodField()
    related_email = serializers.SerializerMethodField()

    class Meta:
        model = Note
        fields = ["id", "type", "author", "body", "data", "related_email", "created_at"]

    def get_body(self, note) -> str:
        return getattr(note, "display_body", note.body)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_related_email(self, note):
        visible = getattr(note, "related_visible", False)
        if visible and isinstance(note.related, Email):
            return note.related.pk
        return None


class NotePageSerializer(serializers.Serializer):
    """One page of a stream: follow ``next`` (a cursor) for older notes."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = NoteSerializer(many=True)


class NotePostSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20_000)


class UserSerializer(serializers.ModelSerializer):
    teams = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "is_active", "teams"]

    def get_teams(self, user) -> list[int]:
        return [m.team_id for m in user.memberships.all()]


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name"]


class NotificationSerializer(serializers.ModelSerializer):
    text = serializers.SerializerMethodField()
    related_type = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "type", "text", "related_type", "related_id", "created_at", "read_at"]

    def get_text(self, notification) -> str:
        return str(getattr(notification, "api_text", ""))

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_related_type(self, notification):
        related_type = notification.related_type
        return f"{related_type.app_label}.{related_type.model}" if related_type else None


class AddressSerializer(serializers.Serializer):
    address = serializers.CharField()
    name = serializers.CharField(allow_blank=True)


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "content_id", "is_inline"]


class EmailListSerializer(serializers.ModelSerializer):
    from_address = serializers.SerializerMethodField()
    is_read = serializers.BooleanField(source="user_is_read", read_only=True)
    is_important = serializers.BooleanField(source="user_is_important", read_only=True)
    parent_type = serializers.SerializerMethodField()

    class Meta:
        model = Email
        fields = [
            "id",
            "subject",
            "from_address",
            "from_name",
            "date_sent",
            "status",
            "has_attachments",
            "is_read",
            "is_important",
            "parent_type",
            "parent_id",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_from_address(self, email):
        return email.from_address.address if email.from_address_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_parent_type(self, email):
        parent_type = email.parent_type
        return f"{parent_type.app_label}.{parent_type.model}" if parent_type else None


class EmailDetailSerializer(EmailListSerializer):
    """An email as its page shows it: every recipient kind (Bcc is only stored for what
    was sent from here), Reply-To, the threading headers and the sanitized body."""

    to = serializers.SerializerMethodField()
    cc = serializers.SerializerMethodField()
    bcc = serializers.SerializerMethodField()
    reply_to = serializers.SerializerMethodField()
    body_html = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta(EmailListSerializer.Meta):
        fields = [
            *EmailListSerializer.Meta.fields,
            "message_id",
            "in_reply_to",
            "references",
            "to",
            "cc",
            "bcc",
            "reply_to",
            "body_text",
            "body_html",
            "attachments",
        ]

    def _recipients(self, email, kind: str) -> list[dict]:
        return [
            {"address": r.address.address, "name": r.name}
            for r in email.recipients.all()
            if r.kind == kind
        ]

    @extend_schema_field(AddressSerializer(many=True))
    def get_to(self, email):
        return self._recipients(email, "to")

    @extend_schema_field(AddressSerializer(many=True))
    def get_cc(self, email):
        return self._recipients(email, "cc")

    @extend_schema_field(AddressSerializer(many=True))
    def get_bcc(self, email):
        return self._recipients(email, "bcc")

    @extend_schema_field(AddressSerializer(many=True))
    def get_reply_to(self, email):
        return self._recipients(email, "reply_to")

    def get_body_html(self, email) -> str:
        """Sanitized with nh3 as on the email page (remote images left out)."""
        return str(self.context["sanitize"](email))


class EmailFlagsSerializer(serializers.Serializer):
    is_read = serializers.BooleanField(required=False)
    is_important = serializers.BooleanField(required=False)
    folder = serializers.IntegerField(
        required=False, allow_null=True, help_text="A personal folder's id; null: the Inbox."
    )


class SendSerializer(serializers.Serializer):
    from_account = serializers.IntegerField(required=False, allow_null=True)
    to = serializers.ListField(
        child=serializers.EmailField(max_length=320), required=False, max_length=100
    )
    cc = serializers.ListField(
        child=serializers.EmailField(max_length=320), required=False, max_length=100
    )
    bcc = serializers.ListField(
        child=serializers.EmailField(max_length=320), required=False, max_length=100
    )
    subject = serializers.CharField(max_length=998, allow_blank=True, required=False)
    body_text = serializers.CharField(allow_blank=True, required=False, max_length=1_000_000)
    body_html = serializers.CharField(allow_blank=True, required=False, max_length=1_000_000)


class DraftWriteSerializer(SendSerializer):
    version = serializers.IntegerField(
        min_value=0, help_text="The draft's version the caller last read."
    )


class DraftResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()


class EmailSendResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class FoundRecordsSerializer(serializers.Serializer):
    accounts = serializers.ListField(child=serializers.IntegerField())
    contacts = serializers.ListField(child=serializers.IntegerField())
    leads = serializers.ListField(child=serializers.IntegerField())
