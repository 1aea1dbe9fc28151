"""Intake throughput against its own baseline, measured in one run.

Starts a private Dovecot (the test suite's), appends N messages of about 3 KB, then measures:

1. raw IMAP download: FETCH BODY.PEEK[] of all N messages in batches, nothing else;
2. full import: ``fetch_account`` — fetch, journal, parse, classify, filters, store, link,
   recipients, cases, notify — committed to the database named by DATABASE_URL (a
   throw-away database ``<name>_bench`` is created next to it and migrated).

Prints both rates and their ratio (``BENCH_PROFILE=1`` adds a profile of the import,
``BENCH_PROFILE_SORT=tottime`` sorts it by own time). ``BENCH_LINKED=1`` makes the sender a
Contact of an Account that five users follow and imports with notifications on, so every
email also gets a stream note and five notifications (steps 7 and 11 at full work). Usage
(PostgreSQL, as in production)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postaci .venv/bin/python bench/intake.py 2000
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postaci")
    base, _, name = url.rpartition("/")
    return f"{base}/{name}_bench"


def _recreate_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main(count: int) -> None:
    url = _bench_database_url()
    if url.startswith("postgres"):
        _recreate_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from mailboxes.intake.fetch import fetch_account
    from mailboxes.models import Email, GroupEmailAccount, Security
    from tests.mailboxes.conftest import make_message
    from tests.servers.dovecot import DovecotServer
    from tests.servers.tls import make_test_certificate

    call_command("migrate", verbosity=0)
    settings.POSTACI_MAIL_HOST_ALLOWLIST = ["127.0.0.1"]
    batch = settings.POSTACI_FETCH_BATCH_SIZE

    with (
        tempfile.TemporaryDirectory() as cert_dir,
        DovecotServer(make_test_certificate(cert_dir)) as dovecot,
    ):
        user = dovecot.add_user("bench")
        messages = [make_message(size=3000) for _ in range(count)]
        average = sum(map(len, messages)) / count
        dovecot.append_many(user, "INBOX", messages)

        with dovecot.client(user) as client:
            client.select_folder("INBOX", readonly=True)
            started = time.perf_counter()
            uids = sorted(client.search(["ALL"]))
            for start in range(0, len(uids), batch):
                client.fetch(uids[start : start + batch], [b"BODY.PEEK[]"])
            raw_seconds = time.perf_counter() - started

        account = GroupEmailAccount.objects.create(
            name="bench",
            email_address=user.email,
            imap_host=dovecot.host,
            imap_port=dovecot.imap_port,
            imap_security=Security.NONE,
            imap_username=user.username,
            imap_password=user.password,
        )
        linked = bool(os.environ.get("BENCH_LINKED"))
        if linked:
            _follow_the_sender()
        profiler = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        summary = fetch_account(account.pk, notify=True if linked else None)
        import_seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
            order = os.environ.get("BENCH_PROFILE_SORT", "cumulative")
            pstats.Stats(profiler).sort_stats(order).print_stats(40)
        assert summary.imported == count == Email.objects.count(), summary.line()

    raw_rate = count / raw_seconds
    import_rate = count / import_seconds
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"messages: {count} of ~{average / 1024:.1f} KB, batch {batch}, database {engine}")
    print(f"raw IMAP download (FETCH BODY.PEEK[]): {raw_rate:8.0f} msgs/s")
    print(f"full import (fetch_account):           {import_rate:8.0f} msgs/s")
    print(f"ratio full/raw:                        {import_rate / raw_rate:8.1%}")
    if linked:
        from crm.models import Note, Notification

        print(
            f"stream notes: {Note.objects.filter(type='email_received').count()}, "
            f"notifications: {Notification.objects.count()}"
        )


def _follow_the_sender() -> None:
    """An Account whose Contact sends every message, followed by five users who may read it."""
    from crm.addresses import record_set_addresses
    from crm.models import Account, Contact, Follow, Role, User

    account = Account.objects.create(name="Customer Inc")
    contact = Contact.objects.create(last_name="Customer", account=account)
    record_set_addresses(contact, ["customer@example.com"])
    role = Role.objects.create(name="bench", email_access="all")
    for n in range(5):
        user = User.objects.create_user(f"follower{n}", email=f"follower{n}@example.org")
        user.roles.add(role)
        Follow.objects.create(user=user, record=account)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
