"""Django admin (/django-admin/) for power users; everyday administration has its own pages.

django-celery-beat registers its own models (periodic tasks and schedules) when installed.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.contenttypes.admin import GenericTabularInline
from django.utils.translation import gettext_lazy as _

from crm.models import (
    Account,
    Contact,
    EmailAddress,
    EmailAddressLink,
    Follow,
    Lead,
    Note,
    Notification,
    Opportunity,
    Role,
    Team,
    TeamMembership,
    User,
)


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1


@admin.register(User)
class PostaciUserAdmin(UserAdmin):
    fieldsets = (
        *UserAdmin.fieldsets,
        (
            _("Postaci"),
            {"fields": ("roles", "default_team", "language", "notification_digest")},
        ),
    )
    filter_horizontal = (*UserAdmin.filter_horizontal, "roles")
    inlines = [MembershipInline]
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_superuser")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    search_fields = ["name"]
    filter_horizontal = ["roles"]
    inlines = [MembershipInline]


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    search_fields = ["name"]
    list_display = ["name", "permissions"]


class AddressLinkInline(GenericTabularInline):
    model = EmailAddressLink
    extra = 0
    raw_id_fields = ["address"]


class RecordAdmin(admin.ModelAdmin):
    list_display = ["__str__", "assigned_user", "created_at"]
    list_filter = ["teams"]
    raw_id_fields = ["assigned_user"]
    filter_horizontal = ["teams"]
    inlines = [AddressLinkInline]
    readonly_fields = ["created_by", "created_at", "modified_at"]


@admin.register(Account)
class AccountAdmin(RecordAdmin):
    search_fields = ["name"]
    list_display = ["name", "type", "assigned_user", "created_at"]


@admin.register(Contact)
class ContactAdmin(RecordAdmin):
    search_fields = ["first_name", "last_name"]
    raw_id_fields = ["assigned_user", "account"]


@admin.register(Lead)
class LeadAdmin(RecordAdmin):
    search_fields = ["first_name", "last_name", "account_name"]
    list_display = ["__str__", "status", "assigned_user", "created_at"]
    list_filter = ["status", "teams"]
    raw_id_fields = ["assigned_user", "converted_account", "converted_contact"]


@admin.register(Opportunity)
class OpportunityAdmin(RecordAdmin):
    search_fields = ["name"]
    list_display = ["name", "stage", "amount", "close_date", "assigned_user"]
    list_filter = ["stage", "teams"]
    raw_id_fields = ["assigned_user", "account", "contact"]


@admin.register(EmailAddress)
class EmailAddressAdmin(admin.ModelAdmin):
    search_fields = ["address"]
    list_display = ["address", "is_invalid", "opted_out"]
    list_filter = ["is_invalid", "opted_out"]


@admin.register(EmailAddressLink)
class EmailAddressLinkAdmin(admin.ModelAdmin):
    list_display = ["address", "content_type", "object_id", "primary"]
    raw_id_fields = ["address"]
    list_filter = ["content_type"]


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ["user", "content_type", "object_id", "created_at"]
    list_filter = ["content_type"]
    raw_id_fields = ["user"]


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["__str__", "type", "author", "created_at"]
    list_filter = ["type", "parent_type"]
    raw_id_fields = ["author"]
    date_hierarchy = "created_at"


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "type", "user", "created_at", "read_at"]
    list_filter = ["type"]
    raw_id_fields = ["user", "note"]
    date_hierarchy = "created_at"


@admin.register(TeamMembership)
class TeamMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "position"]
    list_filter = ["team"]
