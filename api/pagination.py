"""Page numbers for records; a cursor for emails and notes, stable while mail arrives."""

from __future__ import annotations

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


class NewestFirstCursorPagination(pagination.CursorPagination):
    """Newest first by a (time, id) pair: a new row never shifts the pages already seen."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-created_at", "-id")


class EmailCursorPagination(NewestFirstCursorPagination):
    ordering = ("-date_sent", "-id")
