"""One email: the page, its sandboxed body document, attachments, raw source and actions.

The HTML of an email never runs in the application's origin: it is sanitized
(mailboxes/inbox/rendering.py), served by :func:`email_body` under a Content-Security-Policy that
allows nothing but images, and framed by the page with ``sandbox`` (no scripts, no same
origin). Inline (``cid:``) images are fetched from :func:`attachment_inline` through a signed
URL, since a sandboxed document sends no session cookie with its requests.
"""

from __future__ import annotations

import io
import re
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.db.models import Prefetch, Q
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.access import is_admin, user_team_ids
from crm.administration.views import admin_required
from crm.models import User
from mailboxes.bounces.shown import bounce_lines
from mailboxes.email_panels import email_panels_render
from mailboxes.inbox.enclosed import (
    EnclosedMessage,
    enclosed_file,
    enclosed_message,
    enclosed_parse,
    path_split,
)
from mailboxes.inbox.rendering import IFRAME_SANDBOX, email_body_csp, sanitize_email_html
from mailboxes.inbox.selectors import INBOX, UserMailbox, folder_emails, with_user_state
from mailboxes.intake.parse import ParsedAttachment
from mailboxes.intake.tnef import safe_filename
from mailboxes.models import Attachment, Email, EmailRecipient, EmailUser, MailAccount
from mailboxes.sending.send import may_retry, sent_copy_problem
from mailboxes.views.common import mailbox_context, safe_next
from mailboxes.views.inbox import apply_action
from mailboxes.views.linking import parent_form_context

INLINE_SALT = "mailboxes.attachment-inline"
INLINE_MAX_AGE = 24 * 60 * 60
# Image types a browser shows inline without any risk of script (never SVG).
INLINE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"}


def _visible_email(request: HttpRequest, pk: int) -> Email:
    return get_object_or_404(Email.objects.visible_to(request.user), pk=pk)


def _folder_key(request: HttpRequest, mailbox: UserMailbox) -> str:
    key = request.GET.get("folder") or INBOX
    try:
        return mailbox.resolve(key).key
    except Http404:
        return INBOX


def _neighbours(mailbox: UserMailbox, folder_key: str, email: Email) -> tuple[int | None, ...]:
    """The newer and the older email next to this one in its folder (two small queries)."""
    emails = folder_emails(mailbox, mailbox.resolve(folder_key))
    if email.date_sent is None:
        return None, None
    newer = (
        emails.filter(
            Q(date_sent__gt=email.date_sent) | Q(date_sent=email.date_sent, pk__gt=email.pk)
        )
        .order_by("date_sent", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    older = (
        emails.filter(
            Q(date_sent__lt=email.date_sent) | Q(date_sent=email.date_sent, pk__lt=email.pk)
        )
        .order_by("-date_sent", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return newer, older


def accounts_shown_to(user, accounts: list[MailAccount]) -> list[MailAccount]:
    """The accounts an email came through that the user may know of: group accounts of
    their teams and their own personal accounts (administrators: all)."""
    if is_admin(user):
        return accounts
    shown = []
    teams = user_team_ids(user)
    for account in accounts:
        specific = account.specific
        if account.is_group:
            if teams & {t.pk for t in specific.teams.all()}:
                shown.append(specific)
        elif specific.owner_id == user.pk:
            shown.append(specific)
    return shown


def _cid_map(email: Email) -> dict[str, Attachment]:
    return {a.content_id: a for a in email.attachments.all() if a.content_id}


def inline_image_url(request: HttpRequest, attachment: Attachment, part_path: str = "") -> str:
    """The signed URL of an inline image: a stored attachment, or (``part_path``) a part of
    the attached email it is; the token names the user, the attachment and the part, which
    :func:`_inline_user` checks."""
    claims = {"a": attachment.pk, "u": request.user.pk}
    if part_path:
        claims["p"] = part_path
        url = reverse("mailboxes:enclosed-inline", args=[attachment.pk, part_path])
    else:
        url = reverse("mailboxes:attachment-inline", args=[attachment.pk])
    token = signing.dumps(claims, salt=INLINE_SALT)
    return request.build_absolute_uri(f"{url}?{urlencode({'t': token})}")


def _sanitized(request: HttpRequest, email: Email, *, show_images: bool):
    cids = _cid_map(email)

    def cid_url(content_id: str) -> str | None:
        attachment = cids.get(content_id)
        if attachment is None or attachment.content_type.lower() not in INLINE_IMAGE_TYPES:
            return None
        return inline_image_url(request, attachment)

    return sanitize_email_html(email.body_html, show_remote_images=show_images, cid_url=cid_url)


@login_required
def email_detail(request: HttpRequest, pk: int) -> HttpResponse:
    emails = with_user_state(Email.objects.visible_to(request.user), request.user)
    email = get_object_or_404(
        emails.select_related(
            "from_address", "parent_type", "group_folder", "replied"
        ).prefetch_related(
            Prefetch("recipients", queryset=EmailRecipient.objects.select_related("address")),
            "attachments",
            Prefetch(
                "accounts",
                queryset=MailAccount.objects.select_related(
                    "groupemailaccount", "personalemailaccount"
                ).prefetch_related("groupemailaccount__teams"),
            ),
        ),
        pk=pk,
    )
    if email.user_row_id and not email.user_is_read:
        EmailUser.objects.filter(pk=email.user_row_id).update(is_read=True)
        email.user_is_read = True

    mailbox = UserMailbox.of(request.user)
    folder_key = _folder_key(request, mailbox)
    context = mailbox_context(request, folder_key, mailbox)
    show_images = request.GET.get("images") == "1"
    sanitized = _sanitized(request, email, show_images=show_images) if email.body_html else None
    referenced = (
        {a.content_id for a in email.attachments.all() if a.content_id and a.is_inline}
        if email.body_html
        else set()
    )
    files, enclosed = _attachments_shown(email, referenced)
    newer, older = _neighbours(mailbox, folder_key, email)
    body_query = {"images": "1"} if show_images else {}
    context.update(
        email=email,
        folder=mailbox.resolve(folder_key),
        folder_key=folder_key,
        to=email.recipients_of(EmailRecipient.Kind.TO),
        cc=email.recipients_of(EmailRecipient.Kind.CC),
        bcc=email.recipients_of(EmailRecipient.Kind.BCC),
        reply_to=email.recipients_of(EmailRecipient.Kind.REPLY_TO),
        attachments=files,
        enclosed_messages=enclosed,
        accounts=accounts_shown_to(request.user, list(email.accounts.all())),
        sanitized=sanitized,
        show_images=show_images,
        body_url=reverse("mailboxes:email-body", args=[email.pk])
        + (f"?{urlencode(body_query)}" if body_query else ""),
        iframe_sandbox=IFRAME_SANDBOX,
        view_text=request.GET.get("view") == "text" or not email.body_html,
        newer=newer,
        older=older,
        move_targets=[(f"f{f.pk}", f.name) for f in mailbox.personal]
        + [(f"g{f.pk}", f.name) for f in mailbox.group],
        may_see_raw=is_admin(request.user),
        list_url=reverse("mailboxes:folder", args=[folder_key]),
        group_folder_url=reverse("mailboxes:folder", args=[f"g{email.group_folder_id}"])
        if email.group_folder_id
        else "",
    )
    context.update(parent_form_context(request, email))
    problem = sent_copy_problem(email)  # no query unless the email was sent
    context["bounced"], context["reported"] = bounce_lines(email)
    context.update(
        sent_copy_error=problem,
        may_retry_sent_copy=bool(problem) and may_retry(request.user, email),
        email_panels=email_panels_render(request, email),
    )
    return render(request, "mailboxes/email_detail.html", context)


def _attachments_shown(
    email: Email, referenced: set[str]
) -> tuple[list[Attachment], list[EnclosedMessage]]:
    """The files listed on the page (each with the files unpacked from it, a winmail.dat's,
    as ``unpacked_files``) and the attached emails shown as emails; inline images the body
    shows are left out."""
    files: list[Attachment] = []
    enclosed: list[EnclosedMessage] = []
    by_pk: dict[int, Attachment] = {}
    for attachment in email.attachments.all():
        if (
            attachment.is_inline
            and attachment.content_id in referenced
            and attachment.content_type.startswith("image/")
        ):
            continue
        message = enclosed_message(attachment)
        if message is not None:
            enclosed.append(message)
            continue
        attachment.unpacked_files = []
        by_pk[attachment.pk] = attachment
        if attachment.parent_id in by_pk:
            by_pk[attachment.parent_id].unpacked_files.append(attachment)
        else:
            files.append(attachment)
    return _named_once(files), enclosed


_GENERATED_NAME = re.compile(r"attachment-\d+\.\w+")


def _named_once(files: list[Attachment]) -> list[Attachment]:
    """The same bytes attached twice, once under the name the intake made up for a part that
    had none (Outlook's and Google's invitation: the calendar in the body and again as
    invite.ics), are listed once, under the sender's name."""
    named = {a.sha256 for a in files if a.sha256 and not _GENERATED_NAME.fullmatch(a.filename)}
    return [a for a in files if not (_GENERATED_NAME.fullmatch(a.filename) and a.sha256 in named)]


def _body_response(request: HttpRequest, html: str, *, show_images: bool) -> HttpResponse:
    """A sanitized HTML body as the sandboxed iframe's document, under its CSP."""
    response = render(request, "mailboxes/email_body.html", {"html": html})
    origin = request.build_absolute_uri("/").rstrip("/")
    response["Content-Security-Policy"] = email_body_csp(
        image_origins=[origin], show_remote_images=show_images
    )
    response["Referrer-Policy"] = "no-referrer"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
def email_body(request: HttpRequest, pk: int) -> HttpResponse:
    """The sanitized HTML of an email as a document of its own, for the sandboxed iframe."""
    email = get_object_or_404(
        Email.objects.visible_to(request.user).prefetch_related("attachments"), pk=pk
    )
    show_images = request.GET.get("images") == "1"
    sanitized = _sanitized(request, email, show_images=show_images)
    return _body_response(request, sanitized.html, show_images=show_images)


@require_POST
@login_required
def email_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Read/unread, important, archive, trash, restore or move one email."""
    email = _visible_email(request, pk)
    action = request.POST.get("action", "")
    text = apply_action(
        request, Email.objects.filter(pk=email.pk), action, request.POST.get("target", "")
    )
    if not text:
        messages.error(request, _("That action is not available."))
    else:
        messages.success(request, text)
    if action in ("archive", "trash", "move", "unread"):  # the email leaves the view
        return HttpResponseRedirect(safe_next(request, reverse("mailboxes:inbox")))
    detail = reverse("mailboxes:email-detail", args=[email.pk])
    folder = request.POST.get("folder", "")
    return HttpResponseRedirect(f"{detail}?{urlencode({'folder': folder})}" if folder else detail)


# --- Files ----------------------------------------------------------------------------------


def _download(handle, filename: str, content_type: str, *, inline: bool) -> FileResponse:
    """A file of an email as the browser gets it, stored or inside an attached email (read
    on view, its name not cleaned by the intake): a name fit for the header, never sniffed
    or run."""
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=safe_filename(filename),
        content_type=content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _file_response(attachment: Attachment, *, inline: bool) -> FileResponse:
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404("The file of this attachment is missing.") from exc
    return _download(handle, attachment.filename, attachment.content_type, inline=inline)


@login_required
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    """Download an attachment of an email the user may read (404 otherwise)."""
    return _file_response(_visible_attachment(request.user, pk), inline=False)


def _inline_user(request: HttpRequest, pk: int, path: str = "") -> User:
    """The user a body with inline images was rendered for, from the signed URL's token
    (which names the attachment and the part); 404 for a wrong or expired token."""
    try:
        claims = signing.loads(request.GET.get("t", ""), salt=INLINE_SALT, max_age=INLINE_MAX_AGE)
    except signing.BadSignature as exc:
        raise Http404("Invalid image link") from exc
    if claims.get("a") != pk or claims.get("p", "") != path:
        raise Http404("Invalid image link")
    user = User.objects.filter(pk=claims.get("u"), is_active=True).first()
    if user is None:
        raise Http404("Invalid image link")
    return user


def attachment_inline(request: HttpRequest, pk: int) -> FileResponse:
    """An inline image of an email body, through the signed URL the body was rendered with.

    The signature names the user the body was rendered for; access is checked again for
    that user now (a user who lost access gets 404 even with an old URL).
    """
    attachment = _visible_attachment(_inline_user(request, pk), pk)
    if attachment.content_type.lower() not in INLINE_IMAGE_TYPES:
        raise Http404("Not an inline image")
    return _file_response(attachment, inline=True)


def _visible_attachment(user, pk: int) -> Attachment:
    return get_object_or_404(
        Attachment.objects.filter(email__in=Email.objects.visible_to(user)), pk=pk
    )


# --- Attached emails (inbox/enclosed.py) -----------------------------------------------------


def _enclosed(call, attachment: Attachment, path: str):
    """``call(attachment, indexes)`` of enclosed.py; 404 for a path that names nothing."""
    try:
        return call(attachment, path_split(path))
    except (LookupError, ValueError, FileNotFoundError) as exc:
        raise Http404("No such part of the attached email") from exc


def _part_response(part: ParsedAttachment, *, inline: bool) -> FileResponse:
    return _download(io.BytesIO(part.payload), part.filename, part.content_type, inline=inline)


@login_required
def enclosed_file_download(request: HttpRequest, pk: int, path: str) -> FileResponse:
    """Download a file of an attached email (of an email the user may read; 404 otherwise)."""
    attachment = _visible_attachment(request.user, pk)
    return _part_response(_enclosed(enclosed_file, attachment, path), inline=False)


def enclosed_inline(request: HttpRequest, pk: int, path: str) -> FileResponse:
    """An inline image of an attached email's body, through a signed URL (as
    :func:`attachment_inline`)."""
    attachment = _visible_attachment(_inline_user(request, pk, path), pk)
    part = _enclosed(enclosed_file, attachment, path)
    if part.content_type.lower() not in INLINE_IMAGE_TYPES:
        raise Http404("Not an inline image")
    return _part_response(part, inline=True)


@login_required
def enclosed_body(request: HttpRequest, pk: int, path: str = "") -> HttpResponse:
    """The HTML of an attached email, sanitized like any email's, for its sandboxed iframe."""
    attachment = _visible_attachment(request.user, pk)
    parsed = _enclosed(enclosed_parse, attachment, path)
    prefix = f"{path}-" if path else ""
    cids = {
        part.content_id: f"{prefix}{index}"
        for index, part in enumerate(parsed.attachments)
        if part.content_id and part.content_type.lower() in INLINE_IMAGE_TYPES
    }

    def cid_url(content_id: str) -> str | None:
        part_path = cids.get(content_id)
        return inline_image_url(request, attachment, part_path) if part_path else None

    show_images = request.GET.get("images") == "1"
    sanitized = sanitize_email_html(
        parsed.body_html, show_remote_images=show_images, cid_url=cid_url
    )
    return _body_response(request, sanitized.html, show_images=show_images)


@admin_required
def email_raw(request: HttpRequest, pk: int) -> HttpResponse:
    """The message exactly as it arrived (administrators only)."""
    email = get_object_or_404(Email, pk=pk)
    raw = email.raw_messages.order_by("pk").first()
    if raw is None:
        raise Http404("No raw source is stored for this email.")
    response = HttpResponse(bytes(raw.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="email-{email.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
