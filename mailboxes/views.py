"""Placeholder: the Emails pages come with the mailboxes work and replace this file."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def inbox(request):
    return render(request, "mailboxes/inbox.html")
