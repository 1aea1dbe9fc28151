"""Errors as RFC 9457 problem details (``application/problem+json``)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, serializers
from rest_framework.views import exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"


def _problem_head(exc, status: int, status_text: str = "") -> dict:
    """A problem document's ``type``, ``title`` and ``status`` for ``exc``: the same for an
    error raised in a view and for a path that names no operation."""
    code = getattr(exc, "default_code", "error")
    return {
        "type": f"about:blank#{code}" if code else "about:blank",
        "title": str(getattr(exc, "default_detail", "")) or status_text,
        "status": status,
    }


def problem_handler(exc, context):
    """DRF's handler (keeps headers such as ``Retry-After`` and ``WWW-Authenticate``), with
    the body rewritten as a problem document: ``type``, ``title``, ``status``, ``detail``
    and, for invalid input, ``errors`` by field; an exception's ``problem_extensions`` are
    added as members (a draft conflict's current ``version``)."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, Http404):
        # not Django's "No Case matches the given query." (English, and naming the model)
        response.data = {}
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    body = _problem_head(exc, response.status_code, response.status_text)
    if isinstance(exc, exceptions.ValidationError):
        body["detail"] = str(exc.default_detail)
        detail = response.data
        body["errors"] = detail if isinstance(detail, dict) else {"non_field_errors": detail}
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else None
        body["detail"] = str(detail or body["title"])
    body.update(getattr(exc, "problem_extensions", {}))  # RFC 9457 extension members
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


class ProblemSerializer(serializers.Serializer):
    """The body of every error (RFC 9457)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(required=False)


def not_found_handler(request: HttpRequest, exception=None) -> HttpResponse:
    """``handler404``: a path under ``/api/`` that names no operation answers a problem
    document as every other API error does (not the HTML page); other paths get the page."""
    if request.path.startswith("/api/"):
        body = _problem_head(exceptions.NotFound(), 404)
        body["detail"] = body["title"]
        return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)
    return page_not_found(request, exception)
