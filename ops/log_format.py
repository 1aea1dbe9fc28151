"""Structured logs: ``LOG_FORMAT=json`` writes one JSON object per line, with the account,
Celery task and HTTP request the line belongs to when known.

The context lives in ``contextvars`` (safe across threads and asyncio tasks): the request
id is set by ``RequestIdMiddleware``, the task id and account id by Celery's
``task_prerun`` signal (``connect_task_context``). This module is imported by the
``LOGGING`` setting, before the apps are ready: it imports no model.

What is logged is the log call's own message; nothing here adds a message body, a
password or a token, and the tests check that a fetch and a send log none of them.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

request_id_var: ContextVar[str | None] = ContextVar("postaci_request_id", default=None)
task_id_var: ContextVar[str | None] = ContextVar("postaci_task_id", default=None)
account_id_var: ContextVar[int | None] = ContextVar("postaci_account_id", default=None)

CONTEXT = (("request_id", request_id_var), ("task_id", task_id_var), ("account_id", account_id_var))
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ContextFilter(logging.Filter):
    """Put the current request id, task id and account id on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs a failed response after the middleware returned: its record
        # carries the request itself
        request_id = getattr(getattr(record, "request", None), "request_id", None)
        if request_id is not None and getattr(record, "request_id", None) is None:
            record.request_id = request_id
        for name, var in CONTEXT:
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context ids, and the
    exception's type and traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, _var in CONTEXT:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RequestIdMiddleware:
    """Give each request an id (the proxy's ``X-Request-ID`` when it looks like one), for the
    log lines it causes, and send it back in the response."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


# Tasks whose first argument is an account id.
ACCOUNT_TASKS = {"mailboxes.fetch_account"}


def _task_started(task_id=None, task=None, args=None, kwargs=None, **extra) -> None:
    task_id_var.set(task_id)
    account_id = None
    if task is not None and task.name in ACCOUNT_TASKS:
        account_id = (args or [None])[0] if args else (kwargs or {}).get("account_id")
    account_id_var.set(account_id if isinstance(account_id, int) else None)


def _task_ended(**kwargs) -> None:
    task_id_var.set(None)
    account_id_var.set(None)


def connect_task_context() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_started, dispatch_uid="ops-log-task-start", weak=False)
    task_postrun.connect(_task_ended, dispatch_uid="ops-log-task-end", weak=False)
