"""Links to pages that may not be installed: apps register menu entries and records link to
each other before every app's pages exist, so a missing URL gives "" rather than an error."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse


def url_of(obj: object) -> str:
    """``obj.get_absolute_url()``, or "" when it has none or its page is not installed."""
    get_url = getattr(obj, "get_absolute_url", None)
    if get_url is None:
        return ""
    try:
        return get_url()
    except NoReverseMatch:
        return ""


def reverse_or_empty(url_name: str) -> str:
    """The URL of ``url_name``, or "" when its page is not installed."""
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return ""
