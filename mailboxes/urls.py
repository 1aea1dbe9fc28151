"""URLs of the Emails area (mounted at /emails/) and of mailbox management.

Folder keys: inbox, important, sent, drafts, archive, trash, all; ``f<id>`` for a personal
folder and ``g<id>`` for a group folder.
"""

from django.urls import path, register_converter

from mailboxes.inbox.enclosed import PartPathConverter
from mailboxes.views import (
    accounts,
    compose,
    discovery,
    email,
    folders,
    imports,
    inbox,
    linking,
    oauth,
    quarantine,
)

register_converter(PartPathConverter, "partpath")

app_name = "mailboxes"

urlpatterns = [
    # Lists
    path("", inbox.folder_list, name="inbox"),
    path("folder/<str:folder>/", inbox.folder_list, name="folder"),
    path("folder/<str:folder>/updates/", inbox.folder_updates, name="folder-updates"),
    path("bulk/", inbox.bulk_action, name="bulk-action"),
    # One email
    path("<int:pk>/", email.email_detail, name="email-detail"),
    path("<int:pk>/body/", email.email_body, name="email-body"),
    path("<int:pk>/action/", email.email_action, name="email-action"),
    path("<int:pk>/raw/", email.email_raw, name="email-raw"),
    path("attachments/<int:pk>/", email.attachment_download, name="attachment"),
    path("attachments/<int:pk>/inline/", email.attachment_inline, name="attachment-inline"),
    # An attached email (message/rfc822): its files ("2", "0-1": inbox/enclosed.py) and body
    path(
        "attachments/<int:pk>/part/<partpath:path>/",
        email.enclosed_file_download,
        name="enclosed-file",
    ),
    path(
        "attachments/<int:pk>/part/<partpath:path>/inline/",
        email.enclosed_inline,
        name="enclosed-inline",
    ),
    path("attachments/<int:pk>/body/", email.enclosed_body, name="enclosed-body"),
    path("attachments/<int:pk>/body/<partpath:path>/", email.enclosed_body, name="enclosed-body"),
    # Personal folders
    path("folders/", folders.folder_manage, name="folder-manage"),
    path("folders/<int:pk>/edit/", folders.folder_edit, name="folder-edit"),
    path("folders/<int:pk>/delete/", folders.folder_delete, name="folder-delete"),
    # Quarantine
    path("quarantine/", quarantine.quarantine_list, name="quarantine"),
    path("quarantine/retry-all/", quarantine.quarantine_retry_all, name="quarantine-retry-all"),
    path("quarantine/<int:pk>/", quarantine.quarantine_detail, name="quarantine-detail"),
    path("quarantine/<int:pk>/raw/", quarantine.raw_message_download, name="raw-message"),
    path("quarantine/<int:pk>/retry/", quarantine.quarantine_retry, name="quarantine-retry"),
    # Administration: group folders, everybody's personal accounts
    path("group-folders/", folders.group_folder_list, name="group-folder-list"),
    path("group-folders/new/", folders.group_folder_edit, name="group-folder-create"),
    path("group-folders/<int:pk>/", folders.group_folder_edit, name="group-folder-edit"),
    path("group-folders/<int:pk>/delete/", folders.group_folder_delete, name="group-folder-delete"),
    path("group-accounts/roles/", accounts.group_account_roles, name="group-account-roles"),
    path(
        "personal-accounts/",
        accounts.admin_personal_account_list,
        name="admin-personal-account-list",
    ),
]

# Settings discovery for both account forms (views/discovery.py)
urlpatterns += [
    path("accounts/discover/", discovery.account_discover, name="account-discover"),
]

# Personal accounts at accounts/…, group accounts at group-accounts/…; the same views.
for _prefix, _kind in (("accounts", accounts.PERSONAL), ("group-accounts", accounts.GROUP)):
    _kw = {"kind": _kind}
    urlpatterns += [
        path(f"{_prefix}/", accounts.account_list, _kw, name=f"{_kind}-account-list"),
        path(f"{_prefix}/new/", accounts.account_edit, _kw, name=f"{_kind}-account-create"),
        path(
            f"{_prefix}/test-connection/",
            accounts.account_test,
            _kw,
            name=f"{_kind}-account-test-new",
        ),
        path(f"{_prefix}/<int:pk>/", accounts.account_detail, _kw, name=f"{_kind}-account-detail"),
        path(f"{_prefix}/<int:pk>/edit/", accounts.account_edit, _kw, name=f"{_kind}-account-edit"),
        path(
            f"{_prefix}/<int:pk>/delete/",
            accounts.account_delete,
            _kw,
            name=f"{_kind}-account-delete",
        ),
        path(
            f"{_prefix}/<int:pk>/test-connection/",
            accounts.account_test,
            _kw,
            name=f"{_kind}-account-test",
        ),
        path(
            f"{_prefix}/<int:pk>/fetch/", accounts.account_fetch, _kw, name=f"{_kind}-account-fetch"
        ),
        path(
            f"{_prefix}/<int:pk>/reset/", accounts.account_reset, _kw, name=f"{_kind}-account-reset"
        ),
        path(
            f"{_prefix}/<int:pk>/status/",
            accounts.account_status,
            _kw,
            name=f"{_kind}-account-status",
        ),
        # importing .mbox and .eml files (views/imports.py)
        path(
            f"{_prefix}/<int:pk>/import/",
            imports.account_import,
            _kw,
            name=f"{_kind}-account-import",
        ),
        path(
            f"{_prefix}/<int:pk>/import/<int:import_pk>/",
            imports.import_detail,
            _kw,
            name=f"{_kind}-account-import-detail",
        ),
        path(
            f"{_prefix}/<int:pk>/import/<int:import_pk>/status/",
            imports.import_status,
            _kw,
            name=f"{_kind}-account-import-status",
        ),
    ]

# OAuth 2.0 sign-in: Connect / Disconnect per account, one callback, the providers
urlpatterns += [
    path("oauth/callback/", oauth.oauth_callback, name="oauth-callback"),
    path("email-providers/", oauth.provider_list, name="oauth-provider-list"),
    path("email-providers/new/", oauth.provider_edit, name="oauth-provider-create"),
    path("email-providers/<int:pk>/", oauth.provider_edit, name="oauth-provider-edit"),
    path("email-providers/<int:pk>/delete/", oauth.provider_delete, name="oauth-provider-delete"),
]
for _prefix, _kind in (("accounts", accounts.PERSONAL), ("group-accounts", accounts.GROUP)):
    _kw = {"kind": _kind}
    urlpatterns += [
        path(
            f"{_prefix}/<int:pk>/connect/",
            oauth.oauth_connect,
            _kw,
            name=f"{_kind}-account-connect",
        ),
        path(
            f"{_prefix}/<int:pk>/disconnect/",
            oauth.oauth_disconnect,
            _kw,
            name=f"{_kind}-account-disconnect",
        ),
    ]

# Sending: compose, replies, retry (views/compose.py)
urlpatterns += [
    path("compose/", compose.compose, name="compose"),
    path("compose/<int:pk>/", compose.compose, name="compose-draft"),
    path("compose/autosave/", compose.draft_autosave, name="compose-autosave"),
    path("compose/<int:pk>/autosave/", compose.draft_autosave, name="compose-draft-autosave"),
    path("<int:pk>/unschedule/", compose.unschedule, name="email-unschedule"),
    path("<int:pk>/reply/", compose.compose_reply, name="email-reply"),
    path("<int:pk>/reply-all/", compose.compose_reply_all, name="email-reply-all"),
    path("<int:pk>/forward/", compose.compose_forward, name="email-forward"),
    path("<int:pk>/retry/", compose.retry, name="email-retry"),
    path("<int:pk>/retry-sent-copy/", compose.retry_sent_copy, name="email-retry-sent-copy"),
    path("addresses/suggest/", compose.address_suggest, name="address-suggest"),
    path(
        "accounts/<int:pk>/send-test/",
        compose.account_send_test_view,
        name="account-send-test",
    ),
]

# The email's parent, changed by hand (views/linking.py)
urlpatterns += [
    path("<int:pk>/parent/", linking.email_parent, name="email-parent"),
]
