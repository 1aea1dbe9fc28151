"""Search and list speed with many emails, as the user sees it (whole requests).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postaci .venv/bin/python bench/search.py 200000
    ... bench/search.py 1000000            # the issue's goal size (seeding takes minutes)
    ... bench/search.py 200000 --reuse     # measure again on the database seeded last time

Needs ``requirements.txt`` and PostgreSQL. Creates a throw-away database ``<name>_search``
beside the one DATABASE_URL names, migrates it and seeds N emails with Turkish and English
subjects and bodies of about 1.5 KB (COPY, in chunks), each with a sender and a To: user
``ayse`` sees all of them through a group mailbox of her team (90 %) and her personal mailbox
(10 %); ``bora`` sees a tenth (his team shares a group mailbox with hers). The search
documents are written as the intake writes them (``emails_index``, 200 emails a statement),
and that time is printed beside the seeding time.

Then, for both users, each of 20 queries typed into the search box of the Inbox (one word, two
words, a phrase, words typed without Turkish letters, a prefix, an address, operators, a
match of nothing), the Inbox's first page, its 50th page (reached by "Older" links: keyset
cursors) and the unread counts, each request repeated (``--repeat``, default 5) through
Django's test client, logged in: p50 / p95 / max in milliseconds. Also the table and index sizes.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHUNK = 10_000
INDEX_BATCH = 200  # as the intake's POSTACI_FETCH_BATCH_SIZE
QUERIES = [
    "iade",
    "fatura",
    "invoice",
    "refund",
    "İADE kargo",
    "Customer 42",
    "fatura hata",
    '"sipariş numarası"',
    '"order number"',
    "siparis",
    "sikayet",
    "odeme",
    "sipari",
    "deliv",
    "musteri.example",
    "from:mehmet.demir9@musteri.example",
    "has:attachment fatura",
    "subject:iade is:unread",
    "kargo -gecikme after:2026-01-01",
    "zzqxvw",
]

TR_SUBJECTS = [
    "Sipariş {n} iade talebi",
    "Fatura tutarı hatalı",
    "Kargo gecikmesi hakkında",
    "Şikâyet: ürün hasarlı geldi",
    "Ödeme alınmadı",
    "İADE işlemi ne durumda?",
    "Giriş yapamıyorum",
    "Sipariş numarası {n} hakkında bilgi",
]
EN_SUBJECTS = [
    "Invoice {n} overdue",
    "Refund request for order {n}",
    "Delivery delayed",
    "Customer {n} complaint",
    "Cannot log in",
    "Question about your order number {n}",
    "Export fails with error 500",
    "Payment not received",
]
TR_WORDS = [
    "merhaba",
    "siparişim",
    "kargo",
    "teslimat",
    "fatura",
    "ödeme",
    "iade",
    "ürün",
    "hasarlı",
    "gecikme",
    "müşteri",
    "hizmetleri",
    "lütfen",
    "yardımcı",
    "olur",
    "musunuz",
    "teşekkürler",
    "şikâyet",
    "hesabım",
    "şifre",
    "giriş",
    "numarası",
    "tutar",
    "hata",
    "indirim",
    "kampanya",
    "adres",
    "değişikliği",
    "iptal",
    "talep",
    "ediyorum",
    "bugün",
    "yarın",
    "hafta",
    "içinde",
    "kontrol",
    "edebilir",
    "misiniz",
    "ilginiz",
    "için",
    "saygılarımla",
]
EN_WORDS = [
    "hello",
    "order",
    "delivery",
    "invoice",
    "payment",
    "refund",
    "product",
    "damaged",
    "delay",
    "customer",
    "support",
    "please",
    "help",
    "thanks",
    "complaint",
    "account",
    "password",
    "login",
    "number",
    "amount",
    "error",
    "discount",
    "address",
    "change",
    "cancel",
    "request",
    "today",
    "tomorrow",
    "week",
    "check",
    "regards",
    "shipping",
    "tracking",
    "package",
    "warehouse",
    "subscription",
    "renewal",
]
NAMES = [
    ("Ayşe", "Yılmaz"),
    ("Mehmet", "Demir"),
    ("Zeynep", "Kaya"),
    ("İbrahim", "Şahin"),
    ("John", "Smith"),
    ("Mary", "Jones"),
    ("Ömer", "Çelik"),
    ("Gülşen", "Öztürk"),
]


def main() -> None:
    args = _arguments()
    database = _database_url()
    _configure(database)
    import django

    if not args.reuse:
        _create_database(database)
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # on --reuse: what was added since the seeding
    if not args.reuse:
        seed(args.count)
    measure(args.repeat)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("count", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="use the database seeded before")
    parser.add_argument("--repeat", type=int, default=5)
    return parser.parse_args()


def _database_url() -> str:
    url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postaci"))
    if not url.scheme.startswith("postgres"):
        sys.exit("bench/search.py measures on PostgreSQL: set DATABASE_URL=postgres://…")
    return url._replace(path=f"{url.path}_search").geturl()


def _configure(database: str) -> None:
    from cryptography.fernet import Fernet

    os.environ["DATABASE_URL"] = database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-" + "k" * 50)
    os.environ.setdefault("POSTACI_ENCRYPTION_KEY", Fernet.generate_key().decode())


def _create_database(database: str) -> None:
    import psycopg

    url = urlsplit(database)
    name = url.path.lstrip("/")
    maintenance = url._replace(scheme="postgresql", path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# --- seeding --------------------------------------------------------------------------------


def _text(rng: random.Random, words: list[str], length: int) -> str:
    out, size = [], 0
    while size < length:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(6, 14)))
        sentence = sentence.capitalize() + "."
        out.append(sentence)
        size += len(sentence) + 1
    return " ".join(out)


def seed(count: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from crm.addresses import addresses_get_or_create
    from crm.bulk import bulk_insert, bulk_insert_rows
    from crm.models import Team, TeamMembership, User
    from mailboxes.inbox.search_index import emails_index
    from mailboxes.models import (
        Email,
        EmailRecipient,
        EmailUser,
        GroupEmailAccount,
        PersonalEmailAccount,
    )

    rng = random.Random(20261205)
    ayse = User.objects.create_user("ayse", password="bench-pass-1", email="ayse@postaci.example")
    bora = User.objects.create_user("bora", password="bench-pass-1", email="bora@postaci.example")
    support, sales = Team.objects.create(name="Destek"), Team.objects.create(name="Satış")
    TeamMembership.objects.create(team=support, user=ayse)
    TeamMembership.objects.create(team=sales, user=bora)
    ayse.default_team = support
    ayse.save()
    group = GroupEmailAccount.objects.create(
        name="Destek", email_address="destek@postaci.example", imap_host="127.0.0.1"
    )
    group.teams.set([support, sales])
    personal = PersonalEmailAccount.objects.create(
        name="Ayşe", owner=ayse, email_address="ayse@postaci.example", imap_host="127.0.0.1"
    )
    senders = []
    for n in range(2000):
        first, last = NAMES[n % len(NAMES)]
        domain = "musteri.example" if n % 2 else "customer.example"
        local = f"{first}.{last}{n}".lower().translate(str.maketrans("ıişçöüğ", "iiscoug"))
        local = local.replace("i̇", "i")
        senders.append((f"{first} {last}", f"{local}@{domain}"))
    rows = addresses_get_or_create([a for _, a in senders] + ["destek@postaci.example"])
    to_row = rows["destek@postaci.example"]
    now = timezone.now()
    seeded = indexed = 0.0
    print(f"seeding {count:,} emails ...", flush=True)
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        began = time.perf_counter()
        emails = []
        for i in range(start, start + size):
            turkish = rng.random() < 0.6
            subject = rng.choice(TR_SUBJECTS if turkish else EN_SUBJECTS).format(n=i % 1000)
            name, address = rng.choice(senders)
            emails.append(
                Email(
                    message_id=f"<bench-{i}-{secrets.token_hex(4)}@bench.example>",
                    subject=subject,
                    from_address=rows[address],
                    from_name=name,
                    date_sent=now - timedelta(minutes=(count - i) * 2),
                    body_text=_text(rng, TR_WORDS if turkish else EN_WORDS, 1500),
                    has_attachments=rng.random() < 0.1,
                    size=2000,
                    status=Email.Status.IMPORTED,
                )
            )
        with transaction.atomic():
            bulk_insert(emails)
            ids = [e.pk for e in emails]
            bulk_insert_rows(
                EmailRecipient,
                [
                    {
                        "email_id": pk,
                        "address_id": to_row.pk,
                        "kind": "to",
                        "name": "",
                        "position": 0,
                    }
                    for pk in ids
                ],
                return_ids=False,
            )
            personal_ids = {pk for pk in ids if pk % 10 == 0}
            shared_ids = {pk for pk in ids if pk % 10 == 5}  # bora's tenth
            bulk_insert_rows(
                Email.accounts.through,
                [
                    {
                        "email_id": pk,
                        "mailaccount_id": personal.pk if pk in personal_ids else group.pk,
                    }
                    for pk in ids
                ],
                return_ids=False,
            )
            team_rows = [{"email_id": pk, "team_id": support.pk} for pk in ids]
            team_rows += [{"email_id": pk, "team_id": sales.pk} for pk in sorted(shared_ids)]
            bulk_insert_rows(Email.teams.through, team_rows, return_ids=False)
            user_rows = [
                {"email_id": pk, "user_id": ayse.pk, "is_read": rng.random() < 0.8} for pk in ids
            ]
            user_rows += [
                {"email_id": pk, "user_id": bora.pk, "is_read": rng.random() < 0.8}
                for pk in sorted(shared_ids)
            ]
            bulk_insert_rows(EmailUser, user_rows, return_ids=False)
        middle = time.perf_counter()
        for at in range(0, len(ids), INDEX_BATCH):
            with transaction.atomic():
                emails_index(ids[at : at + INDEX_BATCH])
        seeded += middle - began
        indexed += time.perf_counter() - middle
        if (start // CHUNK) % 10 == 0:
            print(f"  {start + size:,} emails", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"seeded {count:,} emails in {seeded:.0f} s ({count / seeded:,.0f}/s); search documents "
        f"written in {indexed:.0f} s ({count / indexed:,.0f}/s, in statements of {INDEX_BATCH})"
    )


# --- measuring ------------------------------------------------------------------------------


def _timed(function, repeat: int) -> list[float]:
    function()  # warm: caches, the first plan
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append((time.perf_counter() - began) * 1000)
    return times


def _summary(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):7.1f}  p95 {p95:7.1f}  max {ordered[-1]:7.1f}"


def measure(repeat: int) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from crm.models import User
    from mailboxes.inbox.selectors import UserMailbox, folder_unread_counts
    from mailboxes.models import Email

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_total_relation_size('mailboxes_email'), "
            "pg_total_relation_size('mailboxes_emailsearch'), "
            "pg_relation_size('mailboxes_emailsearch_document')"
        )
        email_size, search_size, gin_size = cursor.fetchone()
    total = Email.objects.count()
    print(
        f"\n{total:,} emails: mailboxes_email {email_size / 2**20:,.0f} MB (with indexes and "
        f"TOAST); search documents {search_size / 2**20:,.0f} MB "
        f"(GIN index {gin_size / 2**20:,.0f} MB) = {search_size / email_size:.0%} of the table"
    )
    import config.wsgi  # noqa: F401 (start-up as a web worker's: its objects frozen)

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's
    inbox = reverse("mailboxes:inbox")
    print("load average: " + " ".join(f"{n:.2f}" for n in os.getloadavg()))
    for username in ("ayse", "bora"):
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        print(f"\n{username} (ms, {repeat} requests each after one to warm up)")
        all_search: list[float] = []
        for text in QUERIES:
            times = _timed(lambda c=client, t=text: _get(c, inbox, {"q": t}), repeat)
            all_search += times
            page = _page(client, inbox, {"q": text})
            found = f"{len(page.object_list)}{'' if page.whole else '+'}"
            print(f"  search {text!r:40} {_summary(times)}  ({found} found)")
        print(f"  {'all searches':47} {_summary(all_search)}")
        first = _timed(lambda c=client: _get(c, inbox, {}), repeat)
        print(f"  {'inbox, first page':47} {_summary(first)}")
        cursor = _page_cursor(client, inbox, 50)
        deep = _timed(lambda c=client, o=cursor: _get(c, inbox, {"older": o}), repeat)
        print(f"  {'inbox, page 50':47} {_summary(deep)}")
        print(
            f"  {'unread counts':47} "
            f"{_summary(_timed(lambda u=user: folder_unread_counts(UserMailbox.of(u)), repeat))}"
        )


def _page_cursor(client, url: str, number: int) -> str:
    """The cursor of the ``number``-th page, reached as a reader would: "Older" after
    "Older" from the newest page."""
    cursor = None
    for _ in range(number - 1):
        page = _page(client, url, {"older": cursor} if cursor else {})
        cursor = page.older
    return cursor


def _page(client, url: str, params: dict):
    """The page object the list was drawn with. Only here does the test client record the
    templates' contexts: that copies the context for every template rendered (each row's
    include), which would add a third to the timed requests."""
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    try:
        return _get(client, url, params).context["page_obj"]
    finally:
        teardown_test_environment()


def _get(client, url: str, params: dict):
    response = client.get(url, params)
    if response.status_code != 200:
        raise SystemExit(f"{url} {params}: HTTP {response.status_code}")
    return response


if __name__ == "__main__":
    main()
