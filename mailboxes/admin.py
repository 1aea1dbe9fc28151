from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _

from mailboxes.forms import GroupEmailAccountAdminForm, PersonalEmailAccountAdminForm
from mailboxes.models import (
    Attachment,
    Email,
    EmailFolder,
    EmailRecipient,
    EmailUser,
    FolderCursor,
    GroupEmailAccount,
    GroupEmailFolder,
    OAuthProvider,
    PersonalEmailAccount,
    RawMessage,
)

HEALTH_FIELDS = (
    "last_fetch_at",
    "last_error",
    "last_error_at",
    "consecutive_failures",
    "quarantined",
)


class AccountAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "email_address",
        "status",
        "last_fetch_at",
        "consecutive_failures",
        "quarantined",
        "last_error_at",
    )
    list_filter = ("status",)
    search_fields = ("name", "email_address", "imap_host")
    readonly_fields = HEALTH_FIELDS
    actions = ["fetch_now"]

    @admin.display(description=_("quarantined"))
    def quarantined(self, obj):
        return obj.quarantined_count

    @admin.action(description=_("Fetch now"))
    def fetch_now(self, request, queryset):
        from mailboxes.intake.queueing import fetch_enqueue

        fetch_enqueue(queryset.values_list("pk", flat=True), urgent=True)
        self.message_user(request, _("Fetch queued."), messages.SUCCESS)


@admin.register(GroupEmailAccount)
class GroupEmailAccountAdmin(AccountAdmin):
    form = GroupEmailAccountAdminForm
    filter_horizontal = ("teams",)


@admin.register(PersonalEmailAccount)
class PersonalEmailAccountAdmin(AccountAdmin):
    form = PersonalEmailAccountAdminForm
    list_display = ("name", "owner", *AccountAdmin.list_display[1:])


@admin.register(OAuthProvider)
class OAuthProviderAdmin(admin.ModelAdmin):
    """No client secret here: it is set (write-only) in Administration › Email providers."""

    list_display = ("name", "kind", "tenant", "client_id", "from_environment")
    exclude = ("client_secret",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(FolderCursor)
class FolderCursorAdmin(admin.ModelAdmin):
    list_display = (
        "account",
        "folder",
        "uidvalidity",
        "last_uid",
        "last_date",
        "pending_since",
        "updated_at",
    )


@admin.register(RawMessage)
class RawMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "account", "folder", "uid", "status", "size", "error", "received_at")
    list_filter = ("status",)
    exclude = ("raw",)
    readonly_fields = [f.name for f in RawMessage._meta.fields if f.name not in ("raw",)]
    actions = ["retry"]

    @admin.action(description=_("Retry quarantined messages"))
    def retry(self, request, queryset):
        from mailboxes.intake.fetch import raw_message_retry

        outcomes = [raw_message_retry(raw) for raw in queryset.filter(status="quarantined")]
        self.message_user(request, _("Retried %(n)d messages.") % {"n": len(outcomes)})


class EmailRecipientInline(admin.TabularInline):
    model = EmailRecipient
    extra = 0
    raw_id_fields = ("address",)


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0


@admin.register(Email)
class EmailAdmin(admin.ModelAdmin):
    list_display = ("subject", "from_address", "date_sent", "status", "auto_kind", "linked_by")
    list_filter = ("status", "auto_kind", "is_malformed")
    search_fields = ("subject", "message_id")
    raw_id_fields = ("from_address", "replied", "account", "group_folder")
    filter_horizontal = ("teams", "accounts")
    inlines = [EmailRecipientInline, AttachmentInline]


admin.site.register(EmailUser)
admin.site.register(EmailFolder)
admin.site.register(GroupEmailFolder)
