"""Placeholder: the Cases pages come with the cases work and replace this file."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def case_list(request):
    return render(request, "cases/case_list.html")
