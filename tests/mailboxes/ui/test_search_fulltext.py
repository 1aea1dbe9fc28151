"""Full-text search of the email list: Turkish as people type it, prefixes and stems, the
Gmail-like operators, ranking, and access (a search never finds another user's mail)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from mailboxes.inbox.search_query import query_parse
from mailboxes.models import EmailSearch, EmailUser
from tests.mailboxes.ui.conftest import attachment_create

pytestmark = pytest.mark.django_db


def subjects(response) -> list[str]:
    return [e.subject for e in response.context["page_obj"].object_list]


def found(client, text: str, folder: str = "mailboxes:inbox", **extra) -> list[str]:
    return sorted(subjects(client.get(reverse(folder), {"q": text, **extra})))


@pytest.fixture
def ayse(make_user):
    return make_user("ayse")


@pytest.fixture
def client_of_ayse(ayse, logged_in):
    return logged_in(ayse)


def test_turkish_letters_case_and_accents_fold(ayse, make_email, client_of_ayse):
    make_email(users=[ayse], subject="İADE talebi")
    make_email(users=[ayse], subject="Kargo", body_text="Ürünü iade etmek istiyorum.")
    make_email(users=[ayse], subject="Şikâyet", body_text="Ödeme yapıldı ama sipariş gelmedi.")
    make_email(users=[ayse], subject="Unrelated", body_text="Nothing to see.")
    for typed in ("iade", "İADE", "İade", "IADE"):
        assert found(client_of_ayse, typed) == ["Kargo", "İADE talebi"], typed
    # Typed without Turkish letters
    assert found(client_of_ayse, "sikayet") == ["Şikâyet"]
    assert found(client_of_ayse, "odeme") == ["Şikâyet"]
    assert found(client_of_ayse, "siparis") == ["Şikâyet"]
    assert found(client_of_ayse, "ŞİKAYET") == ["Şikâyet"]


def test_word_forms_are_found_by_prefix_and_english_by_stem(ayse, make_email, client_of_ayse):
    make_email(users=[ayse], subject="Siparişim nerede?")
    make_email(users=[ayse], subject="Durum", body_text="Siparişiniz kargoya verildi.")
    make_email(users=[ayse], subject="Your orders", body_text="Two orders were shipped.")
    make_email(users=[ayse], subject="Other")
    assert found(client_of_ayse, "sipariş") == ["Durum", "Siparişim nerede?"]
    assert found(client_of_ayse, "order") == ["Your orders"]
    if connection.vendor == "postgresql":  # SQLite's LIKE has no stemmer
        assert found(client_of_ayse, "shipping") == ["Your orders"]  # ship-ped / ship-ping


def test_every_word_must_match_and_minus_leaves_out(ayse, make_email, client_of_ayse):
    make_email(users=[ayse], subject="A", body_text="kargo gecikti istanbul")
    make_email(users=[ayse], subject="B", body_text="kargo geldi ankara")
    make_email(users=[ayse], subject="C", body_text="fatura istanbul")
    assert found(client_of_ayse, "kargo istanbul") == ["A"]
    assert found(client_of_ayse, "kargo -istanbul") == ["B"]
    assert found(client_of_ayse, "-kargo") == ["C"]


def test_a_quoted_phrase_keeps_the_word_order(ayse, make_email, client_of_ayse):
    make_email(users=[ayse], subject="A", body_text="Customer 42 called about the invoice.")
    make_email(users=[ayse], subject="B", body_text="The invoice of 42 customer ...")
    assert found(client_of_ayse, '"customer 42"') == ["A"]
    assert found(client_of_ayse, "customer 42") == ["A", "B"]


def test_addresses_names_and_attachment_names_are_searchable(ayse, make_email, client_of_ayse):
    make_email(users=[ayse], subject="From John", sender="john@customer.example")
    make_email(users=[ayse], subject="To sales", to=("sales@postaci.example",))
    mail = make_email(users=[ayse], subject="With file")
    attachment_create(mail, "fatura-kasim.pdf", b"%PDF-1.4", "application/pdf")
    assert found(client_of_ayse, "john@customer.example") == ["From John"]
    assert found(client_of_ayse, "customer.example") == ["From John"]
    assert found(client_of_ayse, "john") == ["From John"]
    assert found(client_of_ayse, "sales@postaci.example") == ["To sales"]
    assert found(client_of_ayse, "kasim") == ["With file"]


def test_operators(ayse, make_email, client_of_ayse):
    old = timezone.make_aware(datetime.datetime(2026, 3, 1, 10, 0))
    make_email(users=[ayse], subject="Old invoice", date_sent=old, sender="billing@vendor.example")
    make_email(users=[ayse], subject="New invoice", to=("ali@postaci.example",))
    starred = make_email(users=[ayse], subject="Starred", read=True)
    EmailUser.objects.filter(email=starred).update(is_important=True)
    with_file = make_email(users=[ayse], subject="Has file", read=True)
    attachment_create(with_file, "report.pdf", b"%PDF", "application/pdf")
    assert found(client_of_ayse, "from:vendor") == ["Old invoice"]
    assert found(client_of_ayse, "from:billing@vendor.example invoice") == ["Old invoice"]
    assert found(client_of_ayse, "to:ali@postaci.example") == ["New invoice"]
    assert found(client_of_ayse, "subject:invoice") == ["New invoice", "Old invoice"]
    assert found(client_of_ayse, "subject:invoice -from:vendor") == ["New invoice"]
    assert found(client_of_ayse, "has:attachment") == ["Has file"]
    assert found(client_of_ayse, "is:important") == ["Starred"]
    assert found(client_of_ayse, "is:unread invoice") == ["New invoice", "Old invoice"]
    assert found(client_of_ayse, "before:2026-04-01") == ["Old invoice"]
    assert "Old invoice" not in found(client_of_ayse, "after:2026-04-01")
    # Dates in the reader's format: 02/03/2026 is 3 February in English, 2 March in Turkish
    assert found(client_of_ayse, "before:02/03/2026") == []
    ayse.language = "tr"
    ayse.save()
    assert found(client_of_ayse, "before:02/03/2026") == ["Old invoice"]
    assert found(client_of_ayse, "before:01.04.2026") == ["Old invoice"]


def test_dates_are_ranges_of_the_list_s_own_sort_field(ayse, make_email, client_of_ayse):
    """``before:`` / ``after:`` and the From / To date filters find the same emails in a
    folder of the user's own rows (read along their index by ``EmailUser.date``) and in
    All (by the email's date); on the Inbox the range is on the user's rows, where the
    walk newest first starts and stops, not a condition checked row by row."""
    from mailboxes.inbox.list_filters import email_search
    from mailboxes.inbox.selectors import INBOX, UserMailbox, folder_emails

    for day in (1, 15, 28):
        make_email(
            users=[ayse],
            subject=f"March {day}",
            date_sent=timezone.make_aware(datetime.datetime(2026, 3, day, 12, 0)),
        )
    for url in (reverse("mailboxes:inbox"), reverse("mailboxes:folder", args=["all"])):

        def dated(**params) -> list[str]:
            return sorted(subjects(client_of_ayse.get(url, params)))  # noqa: B023

        assert dated(q="before:2026-03-15") == ["March 1"], url
        assert dated(q="after:2026-03-15") == ["March 28"], url
        assert dated(q="after:2026-03-01 before:2026-03-28") == ["March 15"], url
        assert dated(since="2026-03-15", until="2026-03-28") == ["March 15", "March 28"], url
        assert dated(until="2026-03-01") == ["March 1"], url
    mailbox = UserMailbox.of(ayse)
    inbox = email_search(
        folder_emails(mailbox, mailbox.resolve(INBOX)),
        "before:2026-03-15",
        ayse,
        date_field="user_date",
    )
    assert [e.subject for e in inbox] == ["March 1"]
    assert 'mine."date" <' in str(inbox.query)


def test_an_unknown_operator_or_value_is_searched_as_text(ayse, make_email, client_of_ayse):
    make_email(users=[ayse], subject="Ticket", body_text="Error code:E42 on startup")
    make_email(users=[ayse], subject="Other", body_text="is fine")
    assert query_parse("code:E42").operators == []
    assert found(client_of_ayse, "code:E42") == ["Ticket"]
    assert found(client_of_ayse, "before:yesterday") == []  # not a date: the words


def test_in_searches_another_folder(ayse, make_email, client_of_ayse):
    archived = make_email(users=[ayse], subject="Archived invoice")
    EmailUser.objects.filter(email=archived).update(in_archive=True)
    make_email(users=[ayse], subject="Inbox invoice")
    assert found(client_of_ayse, "invoice") == ["Inbox invoice"]
    assert found(client_of_ayse, "invoice in:archive") == ["Archived invoice"]
    assert found(client_of_ayse, "invoice", scope="all") == ["Archived invoice", "Inbox invoice"]


def test_case_operator_finds_the_emails_of_a_case(ayse, make_email, client_of_ayse):
    case = Case.objects.create(name="Printer broken")
    case_type = ContentType.objects.get_for_model(Case)
    make_email(users=[ayse], subject="On the case", parent_type=case_type, parent_id=case.pk)
    make_email(users=[ayse], subject="Elsewhere")
    assert found(client_of_ayse, f"case:{case.number}") == ["On the case"]
    assert found(client_of_ayse, f"case:#{case.number}") == ["On the case"]


def test_top_results_put_subject_and_sender_above_the_body(ayse, make_email, client_of_ayse):
    now = timezone.now()
    for n in range(4):
        make_email(
            users=[ayse],
            subject=f"Hello {n}",
            body_text="about the refund",
            date_sent=now - datetime.timedelta(minutes=n),
        )
    make_email(
        users=[ayse],
        subject="Refund request",
        body_text="please",
        date_sent=now - datetime.timedelta(days=30),
    )
    response = client_of_ayse.get(reverse("mailboxes:inbox"), {"q": "refund"})
    # The list is newest first; the top results put the subject's match first
    assert subjects(response) == ["Hello 0", "Hello 1", "Hello 2", "Hello 3", "Refund request"]
    top = [e.subject for e in response.context["top_results"]]
    assert top[0] == "Refund request" and len(top) == 3
    assert 'data-testid="top-results"' in response.content.decode()
    few = client_of_ayse.get(reverse("mailboxes:inbox"), {"q": "refund request"})
    assert few.context["top_results"] == []  # all of it fits: no top results


def test_a_list_longer_than_a_page_is_not_counted(ayse, make_email, client_of_ayse, monkeypatch):
    """Counting every match would cost more than the page: a list that fits is counted,
    a longer one says "of many" (as Gmail does)."""
    monkeypatch.setattr("mailboxes.views.inbox.PAGE_SIZE", 3)
    for n in range(5):
        make_email(users=[ayse], subject=f"Kargo {n}")
    response = client_of_ayse.get(reverse("mailboxes:inbox"), {"q": "kargo"})
    assert len(subjects(response)) == 3 and not response.context["page_obj"].whole
    assert "1–3 of many" in response.content.decode()
    with CaptureQueriesContext(connection) as queries:
        client_of_ayse.get(reverse("mailboxes:inbox"), {"q": "kargo"})
    assert not [q for q in queries if "COUNT(" in q["sql"].upper() and "emailsearch" in q["sql"]]
    few = client_of_ayse.get(reverse("mailboxes:inbox"), {"q": "kargo 4"})
    assert "1 email<" in few.content.decode() and few.context["page_obj"].whole


def test_a_search_never_finds_another_users_mail(make_user, make_email, logged_in):
    ayse, bora = make_user("ayse"), make_user("bora")
    make_email(
        users=[bora],
        subject="Bora gizli",
        sender="secret@partner.example",
        to=("hr@partner.example",),
        body_text="maaş bordrosu",
    )
    make_email(users=[ayse], subject="Ayşe açık", body_text="toplantı notları")
    client = logged_in(ayse)
    texts = ("bordro", "gizli", "secret@partner.example", "from:partner", "subject:gizli")
    for text in (*texts, "to:hr@partner.example", "to:hr", "-toplantı", "partner.example"):
        for scope in ("", "all"):
            assert found(client, text, scope=scope) == [], (text, scope)
    for field, value in (("sender", "partner"), ("recipient", "hr@partner.example")):
        response = client.get(reverse("mailboxes:folder", args=["all"]), {field: value})
        assert subjects(response) == [], field
    assert found(client, "toplantı", scope="all") == ["Ayşe açık"]
    # bora finds it by every one of them
    for text in (*texts, "to:hr@partner.example", "to:hr"):
        assert found(logged_in(bora), text) == ["Bora gizli"], text


@pytest.mark.parametrize(
    "text",
    [
        "subject:iade",
        "from:mehmet",
        "to:destek@postaci.example",
        "subject:iade is:unread",
        "from:mehmet -kargo after:2026-01-01",
        "iade -kargo",
    ],
)
def test_words_and_operators_are_answered_by_the_index(ayse, make_email, text, monkeypatch):
    """``from:``, ``to:`` and ``subject:`` are conditions of the full-text index like words
    (``document @@ tsquery``, SQLite: FTS5 ``MATCH``), never a comparison of folded columns
    row by row (``LIKE``): the GIN index answers them, a million emails or thirty."""
    from mailboxes.inbox import search_query
    from mailboxes.inbox.list_filters import email_search
    from mailboxes.inbox.selectors import INBOX, UserMailbox, folder_emails

    monkeypatch.setattr(search_query, "RARE_MATCHES", 0)  # as for a common word

    for n in range(30):
        make_email(
            users=[ayse],
            subject=f"İade {n}",
            sender=f"mehmet{n}@musteri.example",
            to=("destek@postaci.example",),
        )
    mailbox = UserMailbox.of(ayse)
    emails = email_search(folder_emails(mailbox, mailbox.resolve(INBOX)), text, ayse)
    expected = 30
    assert emails.count() == expected
    sql = str(emails.query)
    assert " LIKE " not in sql.upper(), sql
    if connection.vendor == "sqlite":
        assert "MATCH" in sql and "VIRTUAL TABLE" in emails[:50].explain()
        return
    found_tsquery = re.search(r"@@ to_tsquery\('postaci', (.*?)\)", sql)
    assert found_tsquery is not None and "unaccent" not in sql, sql
    # the condition alone, with sequential scans forbidden: read from the GIN index
    tsquery = query_tsquery(text)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = EmailSearch.objects.filter(document__matches=tsquery).explain()
    assert "Bitmap Index Scan on mailboxes_emailsearch_document" in plan, plan


def test_a_rare_word_is_read_from_the_index_as_ids(ayse, make_user, make_email):
    """A search matching few emails is answered from the ids the GIN index lists, not by
    walking the mailbox newest first until enough matches turn up (which, for a word that
    matches nothing, reads every email); access is applied to those ids as to any list."""
    from mailboxes.inbox.list_filters import email_search
    from mailboxes.inbox.selectors import INBOX, UserMailbox, folder_emails

    bora = make_user("bora")
    make_email(users=[ayse], subject="Nadir kelime zümrüt")
    make_email(users=[bora], subject="Bora's zümrüt")
    make_email(users=[ayse], subject="Other")
    mailbox = UserMailbox.of(ayse)
    emails = email_search(folder_emails(mailbox, mailbox.resolve(INBOX)), "zumrut", ayse)
    assert [e.subject for e in emails] == ["Nadir kelime zümrüt"]
    if connection.vendor == "postgresql":
        assert "@@" not in str(emails.query)  # the ids, already found
    none = email_search(folder_emails(mailbox, mailbox.resolve(INBOX)), "zzqxvw", ayse)
    with CaptureQueriesContext(connection) as queries:
        assert list(none) == []
    if connection.vendor == "postgresql":
        assert len(queries) == 0  # nothing matches: nothing to read


def query_tsquery(text: str) -> str:
    from mailboxes.inbox.search_query import FIELD_WEIGHTS, Term, _tsquery

    parsed = query_parse(text)
    terms = list(parsed.terms) + [
        Term(value, negated, weights=FIELD_WEIGHTS[name])
        for name, value, negated in parsed.operators
        if name in FIELD_WEIGHTS
    ]
    return _tsquery(terms)


def test_tsquery_syntax_in_what_is_typed_is_only_text(ayse, make_email, client_of_ayse):
    make_email(users=[ayse], subject="Quotes", body_text="it's a test: a|b & c")
    for typed in ("it's", "a|b", "&", "!!", "'", "\\", ":*", "(", "<->", "test:*"):
        response = client_of_ayse.get(reverse("mailboxes:inbox"), {"q": typed})
        assert response.status_code == 200, typed
    assert found(client_of_ayse, "it's test") == ["Quotes"]


def test_sent_mail_written_by_compose_is_indexed(ayse, make_email):
    from mailboxes.sending.drafts import ComposeData, email_save_draft

    draft = email_save_draft(
        user=ayse, data=ComposeData(subject="Taslak teklif", body_text="Yıllık lisans fiyatı")
    )
    assert EmailSearch.objects.filter(email=draft).exists()


def test_snippets_mark_the_words_found_and_cannot_inject_html(ayse, make_email, client_of_ayse):
    make_email(
        users=[ayse],
        subject="Script",
        body_text='Merhaba, <script>alert(1)</script> iade <img src=x onerror="alert(2)"> '
        "istiyorum \ue000 bitti \ue001.",
    )
    response = client_of_ayse.get(reverse("mailboxes:inbox"), {"q": "İADE"})
    snippet = re.search(r'data-testid="search-snippet">(.*?)</span>', response.content.decode())
    snippet = snippet.group(1)
    assert "<mark>iade</mark>" in snippet
    assert "<script" not in snippet and "<img" not in snippet  # text at most, never markup
    assert snippet.count("<mark>") == snippet.count("</mark>") == 1  # the mail's markers gone


def test_snippets_mark_whole_words_found_by_prefix_stem_or_folding(
    ayse, make_email, client_of_ayse
):
    make_email(
        users=[ayse],
        subject="Snippet",
        body_text="Merhaba, Siparişim gelmedi. We refunded the order & <b>thanks</b>.",
    )
    cases = [("siparis", "Siparişim"), ("İADE", None)]
    if connection.vendor == "postgresql":  # English stems: the index's, not FTS5's
        cases.append(("refunds", "refunded"))
    for typed, marked in cases:
        response = client_of_ayse.get(reverse("mailboxes:inbox"), {"q": typed})
        page = response.content.decode()
        snippet = re.search(r'data-testid="search-snippet">(.*?)</span>', page)
        if marked is None:
            assert snippet is None, typed  # not found: no snippet of it
            continue
        assert f"<mark>{marked}</mark>" in snippet.group(1), typed
        assert snippet.group(1).count("<mark>") == 1, typed
        assert "&amp; &lt;b&gt;thanks&lt;/b&gt;" in snippet.group(1), typed  # text, escaped


def test_a_rows_snippet_starts_just_before_the_word_found(ayse, make_email, client_of_ayse):
    """A list row shows the start of its snippet only: the word found must be in it, not
    behind a dozen words of lead-in that the row cuts off."""
    words = " ".join(f"kelime{n}" for n in range(40))
    make_email(users=[ayse], subject="Uzun", body_text=f"{words} kargo gecikti {words}")
    response = client_of_ayse.get(reverse("mailboxes:inbox"), {"q": "kargo"})
    snippet = re.search(r'data-testid="search-snippet">(.*?)</span>', response.content.decode())
    assert snippet.group(1).startswith(" — kelime38 kelime39 <mark>kargo</mark> gecikti")


def test_a_long_record_name_in_a_row_keeps_its_whole_name_in_the_tooltip(
    ayse, make_email, client_of_ayse
):
    from crm.models import Account

    account = Account.objects.create(name="Çok Uzun İsimli Müşteri Anonim Şirketi ve Ortakları")
    make_email(users=[ayse], subject="Teklif", parent=account)
    page = client_of_ayse.get(reverse("mailboxes:inbox")).content.decode()
    assert f'title="Linked to: {account.name}">{account.name}</span>' in page
