"""Running totals of what the workers did (fetches, sends), kept in the database so every
worker on every machine adds to the same figures and ``/metrics`` reads them in one query.

Nothing in the intake or sending code calls this: Celery's ``task_prerun``/``task_postrun``
signals tell ops when ``mailboxes.fetch_account`` or ``mailboxes.send_email`` started and
what it returned (the fetch summary, the send outcome). One upsert per task, after it ran.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping

from django.db import connection

from ops.models import Tally

logger = logging.getLogger(__name__)

FETCH_TASK = "mailboxes.fetch_account"
SEND_TASK = "mailboxes.send_email"

# Histogram buckets (upper bounds): seconds a fetch took, messages one fetch brought.
FETCH_SECONDS_BUCKETS = (0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
FETCH_MESSAGES_BUCKETS = (0, 1, 5, 10, 50, 100, 500, 1000, 5000)

# An error code of the mail connection (mailboxes/messages.py) -> a kind of failure.
FAILURE_KINDS = {
    "mail.no_host": "config",
    "mail.dns": "dns",
    "mail.host_private": "config",
    "mail.timeout": "timeout",
    "mail.certificate": "tls",
    "mail.tls": "tls",
    "mail.refused": "refused",
    "mail.unreachable": "unreachable",
    "mail.imap_auth": "auth",
    "mail.imap_token": "auth",
    "mail.imap_protocol": "protocol",
    "mail.fetch_folder": "folder",
    "mail.fetch_crashed": "crashed",
}


def labels_key(labels: Mapping[str, object]) -> str:
    """The stored form of a label set: ``a=1,b=x`` sorted by name."""
    return ",".join(f"{name}={labels[name]}" for name in sorted(labels))


def labels_parse(key: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in key.split(",") if part)


def tally_add(amounts: Iterable[tuple[str, Mapping[str, object], float]]) -> None:
    """Add each ``(metric, labels, amount)`` to its running total, in one statement."""
    rows = [(metric, labels_key(labels), float(amount)) for metric, labels, amount in amounts]
    if not rows:
        return
    table = Tally._meta.db_table  # the statement holds no value, only placeholders
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (metric, labels, value) VALUES {values} "  # noqa: S608
            f"ON CONFLICT (metric, labels) DO UPDATE SET value = {table}.value + excluded.value",
            [value for row in rows for value in row],
        )


def _histogram(name: str, labels: dict, value: float, buckets: tuple) -> list:
    """Rows for one observation: every bucket it falls in, plus +Inf, _sum and _count."""
    rows = [(f"{name}_bucket", labels | {"le": bound}, 1) for bound in buckets if value <= bound]
    rows.append((f"{name}_bucket", labels | {"le": "+Inf"}, 1))
    rows.append((f"{name}_sum", labels, value))
    rows.append((f"{name}_count", labels, 1))
    return rows


def fetch_tallies(summary: Mapping, seconds: float, failure: str = "") -> list:
    """The totals one finished fetch adds (``summary`` as the fetch task returns it)."""
    labels: dict = {}
    if summary.get("locked"):
        return [("postaci_fetch_skipped_locked_total", labels, 1)]
    rows = [("postaci_fetches_total", labels, 1)]
    rows += _histogram("postaci_fetch_duration_seconds", labels, seconds, FETCH_SECONDS_BUCKETS)
    rows += _histogram(
        "postaci_fetch_messages", labels, summary.get("fetched", 0), FETCH_MESSAGES_BUCKETS
    )
    for field, outcome in (
        ("imported", "imported"),
        ("duplicates", "duplicate"),
        ("skipped", "skipped"),
        ("quarantined", "quarantined"),
    ):
        if summary.get(field):
            rows.append(("postaci_messages_total", labels | {"outcome": outcome}, summary[field]))
    if failure:
        rows.append(("postaci_fetch_failures_total", labels | {"reason": failure}, 1))
    return rows


def failure_kind(code: str) -> str:
    if code.startswith("mail.oauth"):
        return "auth"
    return FAILURE_KINDS.get(code, "other")


def _account_failure(account_id: int) -> str:
    """The kind of the account's last error (the fetch just stored it)."""
    from mailboxes.models import MailAccount

    error = MailAccount.objects.filter(pk=account_id).values_list("last_error", flat=True).first()
    data = error.as_json() if error is not None else {}
    code = data.get("code", "")
    if code == "mail.errors":  # several folders failed: the first one's kind
        errors = (data.get("params") or {}).get("errors") or [{}]
        first = errors[0]
        code = (first.as_json() if hasattr(first, "as_json") else first or {}).get("code", "")
    return failure_kind(code)


# --- Celery signals ---------------------------------------------------------------------------

_started: dict[str, float] = {}


def _periodic_name(task) -> str:
    """The scheduled job a task runs for (beat's DatabaseScheduler sends its name along)."""
    return str(getattr(task.request, "periodic_task_name", "") or "") if task else ""


def _task_prerun(task_id=None, task=None, **kwargs) -> None:
    if task is not None and (task.name in (FETCH_TASK, SEND_TASK) or _periodic_name(task)):
        _started[task_id] = time.monotonic()


def _task_postrun(
    task_id=None, task=None, args=None, kwargs=None, retval=None, state=None, **extra
) -> None:
    started = _started.pop(task_id, None)
    if started is None or task is None:
        return
    seconds = time.monotonic() - started
    job = _periodic_name(task)
    if job:
        _job_record(job, seconds, retval if state == "FAILURE" else None)
    try:
        if task.name == FETCH_TASK and isinstance(retval, dict):
            _after_fetch(retval, seconds)
        elif task.name == SEND_TASK and isinstance(retval, str):
            tally_add([("postaci_sends_total", {"outcome": retval}, 1)])
    except Exception:  # a metric must never fail the task
        logger.exception("Could not record the task's figures")


def _after_fetch(summary: dict, seconds: float) -> None:
    """No query of its own unless the fetch failed (then: which kind of failure)."""
    failure = _account_failure(summary.get("account_id")) if summary.get("errors") else ""
    tally_add(fetch_tallies(summary, seconds, failure))


def _job_record(name: str, seconds: float, error: BaseException | None) -> None:
    from django.utils import timezone

    from ops.models import JobOutcome

    try:
        JobOutcome.objects.update_or_create(
            name=name[:200],
            defaults={
                "finished_at": timezone.now(),
                "ok": error is None,
                "error": type(error).__name__[:200] if error is not None else "",
                "seconds": seconds,
            },
        )
    except Exception:
        logger.exception("Could not record the outcome of job %s", name)


def connect_task_signals() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_prerun, dispatch_uid="ops-task-prerun", weak=False)
    task_postrun.connect(_task_postrun, dispatch_uid="ops-task-postrun", weak=False)
