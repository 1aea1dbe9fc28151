"""Case rows: numbers, tags, open statuses."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from cases.models import Case
from tests.cases.test_distribution import postgresql_only


def test_case_numbers_are_sequential_and_shown_as_tag(db):
    first = Case.objects.create(name="One")
    second = Case.objects.create(name="Two")
    assert second.number == first.number + 1
    assert second.display_number == f"[#{second.number}]"
    assert str(second) == f"[#{second.number}] Two"


def test_saving_again_keeps_the_number(db):
    case = Case.objects.create(name="One")
    number = case.number
    case.name = "Renamed"
    case.save()
    case.refresh_from_db()
    assert case.number == number


def test_number_taken_by_hand_is_skipped(db):
    first = Case.objects.create(name="One")
    Case.objects.create(name="Manual", number=first.number + 1)
    third = Case.objects.create(name="Three")
    assert third.number not in (first.number, first.number + 1)
    assert Case.objects.values("number").distinct().count() == 3


def test_open_status_follows_settings(db, settings):
    case = Case(name="x", status=Case.Status.PENDING)
    assert case.is_open
    settings.POSTACI_CASE_OPEN_STATUSES = ["new"]
    assert not case.is_open


def test_case_detail_url_name():
    assert Case.url_name == "cases:case-detail"
    assert Case.access_scope == "case"


def _make_cases(count: int, start: threading.Barrier, numbers: list, errors: list) -> None:
    try:
        start.wait()
        for i in range(count):
            with transaction.atomic():
                numbers.append(Case.objects.create(name=f"c{i}").number)
    except Exception as exc:
        errors.append(exc)
    finally:
        connection.close()


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_case_numbers_unique_under_concurrency():
    start = threading.Barrier(4)
    numbers: list[int] = []
    errors: list = []
    threads = [
        threading.Thread(target=_make_cases, args=(25, start, numbers, errors)) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(numbers) == 100
    assert len(set(numbers)) == 100
    assert Case.objects.count() == 100


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_open_transaction_does_not_block_other_workers_numbering():
    """A long intake batch holding a new case must not stall case creation elsewhere."""
    created = threading.Event()
    release = threading.Event()
    numbers = {}

    def long_batch():
        try:
            with transaction.atomic():
                numbers["long"] = Case.objects.create(name="in a long batch").number
                created.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=long_batch)
    holder.start()
    try:
        assert created.wait(10)
        other = threading.Thread(
            target=lambda: (
                numbers.__setitem__("other", Case.objects.create(name="other").number),
                connection.close(),
            )
        )
        other.start()
        other.join(2)
        assert not other.is_alive(), "numbering waited for another transaction"
    finally:
        release.set()
        holder.join(10)
    assert numbers["other"] == numbers["long"] + 1
