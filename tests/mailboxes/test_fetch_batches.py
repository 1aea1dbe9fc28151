"""A fetch holds one batch in memory at a time, so a batch is bounded by bytes as well as by
messages (``POSTACI_FETCH_BATCH_BYTES``); the peak itself is measured by bench/memory.py."""

from __future__ import annotations

import gc
import weakref

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from imapclient.exceptions import IMAPClientError

from mailboxes.intake import fetch, notify, pipeline, store
from mailboxes.intake.fetch import fetch_account, fetch_batches, objects_before_run_frozen
from mailboxes.models import Email, FolderCursor, RawMessage
from tests.mailboxes.conftest import make_message


def test_batches_hold_at_most_the_byte_budget_and_a_larger_message_alone(settings):
    settings.POSTACI_FETCH_BATCH_SIZE = 3
    settings.POSTACI_FETCH_BATCH_BYTES = 100
    settings.POSTACI_MAX_MESSAGE_SIZE = 1000
    sizes = {1: 40, 2: 40, 3: 40, 4: 500, 5: 10, 6: 5000, 7: 10, 8: 10, 9: 10, 10: 10}
    assert fetch_batches(list(sizes), sizes) == [
        [1, 2],  # a third would be 120 bytes
        [3],
        [4],  # larger than the budget: alone
        [5, 6, 7],  # 6 is over the size limit: its headers only, it weighs nothing
        [8, 9, 10],  # three messages at most
    ]


@pytest.mark.django_db(transaction=True)
def test_a_fetch_over_the_byte_budget_imports_everything_in_several_batches(
    dovecot, imap_user, make_group_account, settings
):
    messages = [make_message(subject=f"Order {n}", body="x" * 2000) for n in range(5)]
    for message in messages:
        dovecot.append(imap_user, "INBOX", message)
    settings.POSTACI_FETCH_BATCH_BYTES = 2 * len(messages[0]) + 10  # two a batch
    account = make_group_account(imap_user)
    with CaptureQueriesContext(connection) as queries:
        summary = fetch_account(account.pk)
    assert (summary.fetched, summary.imported, summary.errors) == (5, 5, [])
    assert Email.objects.count() == 5
    cursor_updates = [q for q in queries if q["sql"].startswith('UPDATE "mailboxes_foldercursor"')]
    assert len(cursor_updates) >= 3  # each batch commits with the cursor: 2 + 2 + 1
    assert FolderCursor.objects.get(account=account).last_uid == max(
        dovecot.folder_uids(imap_user, "INBOX")
    )


@pytest.fixture
def nothing_frozen():
    """A process whose start-up froze nothing (config/wsgi.py freezes the web's)."""
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    yield
    if frozen:
        gc.freeze()


def test_a_run_keeps_collections_off_what_the_process_held_before_it(nothing_frozen):
    held_before = gc.get_freeze_count()
    with objects_before_run_frozen():
        during = gc.get_freeze_count()
        made_in_run = [object()]
    assert (held_before, gc.get_freeze_count()) == (0, 0)  # collected again after the run
    assert during > 0 and gc.is_tracked(made_in_run)


def test_a_run_leaves_a_process_that_froze_its_start_up_as_it_was(nothing_frozen):
    gc.freeze()
    with objects_before_run_frozen():
        pass
    assert gc.get_freeze_count() > 0  # still frozen (unfrozen, it would be 0)


@pytest.mark.django_db(transaction=True)
def test_a_fetch_runs_its_batches_with_the_objects_before_it_frozen(
    dovecot, imap_user, make_group_account, monkeypatch, nothing_frozen
):
    dovecot.append(imap_user, "INBOX", make_message(subject="Order 1"))
    account = make_group_account(imap_user)
    frozen_while_storing = []
    store_batch = store.store_batch
    monkeypatch.setattr(
        store,
        "store_batch",
        lambda batch: frozen_while_storing.append(gc.get_freeze_count()) or store_batch(batch),
    )
    pipeline._step_functions.cache_clear()
    try:
        summary = fetch_account(account.pk)
    finally:
        pipeline._step_functions.cache_clear()
    assert (summary.imported, summary.errors) == (1, [])
    assert frozen_while_storing and frozen_while_storing[0] > 0
    assert gc.get_freeze_count() == 0


def _record_downloads(monkeypatch, events: list, fail_at: int | None = None):
    """Note each batch's download and store, in order; the ``fail_at``-th download fails."""
    download = fetch._download

    def downloading(client, run, uids, *args, **kwargs):
        events.append(("download", tuple(uids)))
        if fail_at is not None and sum(e[0] == "download" for e in events) == fail_at:
            raise IMAPClientError("connection reset by peer")
        return download(client, run, uids, *args, **kwargs)

    store_batch = store.store_batch

    def storing(batch):
        events.append(("store", len(batch)))
        return store_batch(batch)

    monkeypatch.setattr(fetch, "_download", downloading)
    monkeypatch.setattr(store, "store_batch", storing)
    pipeline._step_functions.cache_clear()


@pytest.mark.django_db(transaction=True)
def test_a_download_failing_keeps_the_batches_before_it_and_the_next_fetch_brings_the_rest(
    dovecot, imap_user, make_group_account, monkeypatch, settings
):
    for n in range(6):
        dovecot.append(imap_user, "INBOX", make_message(subject=f"Order {n}"))
    settings.POSTACI_FETCH_BATCH_SIZE = 2
    account = make_group_account(imap_user)
    events: list = []
    _record_downloads(monkeypatch, events, fail_at=3)
    try:
        summary = fetch_account(account.pk)
    finally:
        pipeline._step_functions.cache_clear()
    assert summary.errors  # the third batch's download failed ...
    assert Email.objects.count() == 4  # ... after the first two committed
    assert FolderCursor.objects.get(account=account).last_uid == 4
    flags = dovecot.flags(imap_user, "INBOX")
    assert [uid for uid in sorted(flags) if "\\Seen" in flags[uid]] == [1, 2, 3, 4]

    summary = fetch_account(account.pk)
    assert (summary.fetched, summary.imported, summary.errors) == (2, 2, [])
    assert Email.objects.count() == 6
    assert RawMessage.objects.filter(account=account).count() == 6


@pytest.fixture
def no_automatic_collections():
    """Only explicit collections: what a reference cycle holds stays until one runs."""
    enabled = gc.isenabled()
    gc.disable()
    yield
    if enabled:
        gc.enable()


@pytest.mark.django_db(transaction=True)
def test_a_cycle_left_by_a_step_frees_the_parsed_batch_before_the_journal_is_written(
    dovecot, imap_user, make_group_account, monkeypatch, no_automatic_collections
):
    """Django leaves such a cycle (an exception kept while it resolves a JSON key, whose
    traceback holds every frame above it): the parsed messages and their decoded attachments
    must not outlive the steps while the journal's bytes are copied out."""
    attachment = bytes(range(256)) * 64
    dovecot.append(
        imap_user,
        "INBOX",
        make_message(
            subject="Invoice", attachments=[("invoice.pdf", "application/pdf", attachment)]
        ),
    )
    account = make_group_account(imap_user)
    parsed_alive: list[weakref.ref] = []
    notify_batch = notify.notify_batch

    def notifying_with_a_cycle(batch):
        parsed_alive.extend(weakref.ref(ctx.parsed) for ctx in batch)
        cycle: dict = {"batch": batch}
        cycle["self"] = cycle
        return notify_batch(batch)

    alive_at_journal: list[bool] = []
    journal_write = fetch.journal_write

    def writing(raws):
        alive_at_journal.extend(ref() is not None for ref in parsed_alive)
        return journal_write(raws)

    monkeypatch.setattr(notify, "notify_batch", notifying_with_a_cycle)
    monkeypatch.setattr(fetch, "journal_write", writing)
    pipeline._step_functions.cache_clear()
    try:
        summary = fetch_account(account.pk)
    finally:
        pipeline._step_functions.cache_clear()
    assert (summary.imported, summary.errors) == (1, [])
    assert alive_at_journal == [False]
    stored = Email.objects.get().attachments.get()
    with stored.file.open("rb") as file:
        assert file.read() == attachment  # the file was written before the payload went
    assert RawMessage.objects.get().status == RawMessage.Status.IMPORTED
