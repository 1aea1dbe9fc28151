"""Logging filters the project's handlers use (see ``LOGGING`` in crm/settings.py)."""

from __future__ import annotations

import logging


class ClientErrorsOnOneLine(logging.Filter):
    """Log a refused request (any 4xx: permission denied, bad request) as one line.

    Django attaches the exception to these records, so every 403 printed a full traceback
    although nothing went wrong in the code: the traceback of a refusal is always the same
    ``raise PermissionDenied``. The line keeps what helps: the path (already in the message),
    the reason given when refusing and the user's id. Server errors (5xx) and records without a
    status keep their traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if not (record.exc_info and isinstance(status, int) and 400 <= status < 500):
            return True
        exception = record.exc_info[1]
        parts = [record.getMessage()]
        reason = " ".join(str(exception or "").split())
        if reason:
            parts.append(reason)
        user = getattr(getattr(record, "request", None), "user", None)
        if user is not None and user.is_authenticated:
            parts.append(f"user {user.pk}")
        record.msg, record.args = " — ".join(parts), ()
        record.exc_info = record.exc_text = None
        return True
