"""Personal folders (each user their own) and group folders (administrators)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from crm.administration.views import admin_required
from mailboxes.forms import EmailFolderForm, GroupEmailFolderForm
from mailboxes.models import EmailFolder, GroupEmailFolder
from mailboxes.views.common import mailbox_context


@login_required
def folder_manage(request: HttpRequest) -> HttpResponse:
    """The user's folders with how many emails each holds, and a form to add one."""
    form = EmailFolderForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        folder = form.save()
        messages.success(request, _("Folder “%(name)s” was created.") % {"name": folder.name})
        return redirect("mailboxes:folder-manage")
    folders = EmailFolder.objects.filter(user=request.user).annotate(
        email_count=Count("email_users", filter=Q(email_users__in_trash=False))
    )
    context = mailbox_context(request)
    context.update(form=form, folder_rows=folders)
    return render(request, "mailboxes/folder_manage.html", context)


@login_required
def folder_edit(request: HttpRequest, pk: int) -> HttpResponse:
    folder = get_object_or_404(EmailFolder, pk=pk, user=request.user)
    form = EmailFolderForm(request.POST or None, instance=folder, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Folder “%(name)s” was saved.") % {"name": folder.name})
        return redirect("mailboxes:folder-manage")
    context = mailbox_context(request, f"f{folder.pk}")
    context.update(form=form, obj=folder)
    return render(request, "mailboxes/folder_form.html", context)


@login_required
def folder_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a folder; its emails go back to the Inbox (nothing is deleted with it)."""
    folder = get_object_or_404(EmailFolder, pk=pk, user=request.user)
    if request.method == "POST":
        folder.delete()
        messages.success(
            request,
            _("Folder “%(name)s” was deleted; its emails are back in the Inbox.")
            % {"name": folder.name},
        )
        return redirect("mailboxes:folder-manage")
    context = mailbox_context(request, f"f{folder.pk}")
    context.update(obj=folder, email_count=folder.email_users.count())
    return render(request, "mailboxes/folder_confirm_delete.html", context)


# --- Group folders (Administration) ---------------------------------------------------------


@admin_required
def group_folder_list(request: HttpRequest) -> HttpResponse:
    folders = GroupEmailFolder.objects.annotate(email_count=Count("emails")).prefetch_related(
        "teams"
    )
    return render(
        request,
        "mailboxes/group_folder_list.html",
        {"folder_rows": folders, "nav_section": "administration"},
    )


@admin_required
def group_folder_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    folder = get_object_or_404(GroupEmailFolder, pk=pk) if pk else GroupEmailFolder()
    form = GroupEmailFolderForm(request.POST or None, instance=folder)
    if request.method == "POST" and form.is_valid():
        folder = form.save()
        messages.success(request, _("Group folder “%(name)s” was saved.") % {"name": folder.name})
        return redirect("mailboxes:group-folder-list")
    return render(
        request,
        "mailboxes/group_folder_form.html",
        {"form": form, "obj": folder, "nav_section": "administration"},
    )


@admin_required
def group_folder_delete(request: HttpRequest, pk: int) -> HttpResponse:
    folder = get_object_or_404(GroupEmailFolder, pk=pk)
    if request.method == "POST":
        folder.delete()
        messages.success(request, _("Group folder “%(name)s” was deleted.") % {"name": folder.name})
        return redirect("mailboxes:group-folder-list")
    return render(
        request,
        "administration/confirm_delete.html",
        {
            "obj": folder,
            "cancel_url": "mailboxes:group-folder-list",
            "nav_section": "administration",
        },
    )
