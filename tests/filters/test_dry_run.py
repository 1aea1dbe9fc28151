"""The dry run: what a filter would do to the last emails it would have seen."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from filters.dry_run import filter_dry_run
from filters.models import EmailFilter
from mailboxes.models import Email, EmailUser

from .conftest import make_filter, parsed, store_email

Action = EmailFilter.Action
Scope = EmailFilter.Scope


def subjects(results, *, matched=None) -> list[str]:
    return [r.email.subject for r in results if matched is None or r.matched is matched]


@pytest.mark.django_db
def test_inbox_filter_dry_run_tries_the_users_own_emails_newest_first(alice, bob, alice_folder):
    store_email(parsed(subject="Invoice 1"), users=[alice], minutes_ago=30)
    store_email(parsed(subject="Lunch?"), users=[alice], minutes_ago=20)
    store_email(parsed(subject="Invoice 2"), users=[alice, bob], minutes_ago=10)
    store_email(parsed(subject="Invoice for Bob"), users=[bob], minutes_ago=5)
    unsaved = make_filter(
        user=alice,
        subject_pattern="invoice*",
        action=Action.MOVE_TO_FOLDER,
        folder=alice_folder,
        mark_as_read=True,
    )

    results = filter_dry_run(user=alice, filter_obj=unsaved)

    assert subjects(results) == ["Invoice 2", "Lunch?", "Invoice 1"]
    assert subjects(results, matched=True) == ["Invoice 2", "Invoice 1"]
    assert results[0].effects == ["Move to folder “Invoices”", "Mark as read"]
    assert results[1].effects == []
    assert unsaved.pk is None
    assert not EmailFilter.objects.exists()


@pytest.mark.django_db
def test_dry_run_changes_nothing(alice):
    email = store_email(parsed(subject="x"), users=[alice])
    filter_dry_run(
        user=alice, filter_obj=make_filter(user=alice, subject_pattern="*", action="skip")
    )
    assert not EmailUser.objects.get(email=email).in_trash


@pytest.mark.django_db
def test_dry_run_tries_the_last_200_emails_by_default(alice):
    emails = Email.objects.bulk_create(
        Email(message_id=f"<{i}@bulk>", subject=f"#{i}", status=Email.Status.IMPORTED)
        for i in range(205)
    )
    EmailUser.objects.bulk_create(EmailUser(email=e, user=alice) for e in emails)
    results = filter_dry_run(user=alice, filter_obj=make_filter(user=alice, subject_pattern="*"))
    assert len(results) == 200
    assert results[0].email.subject == "#204"  # newest (highest id, no date) first
    assert (
        len(
            filter_dry_run(
                user=alice, filter_obj=make_filter(user=alice, subject_pattern="*"), limit=3
            )
        )
        == 3
    )


@pytest.mark.django_db
def test_dry_run_leaves_out_drafts_and_sent_emails(alice):
    store_email(parsed(subject="received"), users=[alice])
    store_email(parsed(subject="sent"), users=[alice], status=Email.Status.SENT)
    store_email(parsed(subject="draft"), users=[alice], status=Email.Status.DRAFT)
    results = filter_dry_run(user=alice, filter_obj=make_filter(user=alice, subject_pattern="*"))
    assert subjects(results) == ["received"]


@pytest.mark.django_db
def test_personal_account_dry_run_tries_that_accounts_emails(alice, alice_account):
    store_email(parsed(subject="via account"), account=alice_account, users=[alice])
    store_email(parsed(subject="via group"), users=[alice])
    obj = make_filter(
        scope=Scope.PERSONAL_ACCOUNT,
        personal_account=alice_account,
        action=Action.SKIP,
        subject_pattern="*",
    )
    results = filter_dry_run(user=alice, filter_obj=obj)
    assert subjects(results, matched=True) == ["via account"]
    assert results[0].effects == ["Skip: not imported"]


@pytest.mark.django_db
def test_group_and_global_dry_runs_for_admins(
    admin, alice, group_account, other_group_account, billing_folder
):
    store_email(parsed(subject="support 1"), account=group_account, users=[alice])
    store_email(parsed(subject="sales 1"), account=other_group_account)
    group = make_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=group_account,
        action=Action.MOVE_TO_GROUP_FOLDER,
        group_folder=billing_folder,
        subject_pattern="*",
    )
    results = filter_dry_run(user=admin, filter_obj=group)
    assert subjects(results) == ["support 1"]
    assert results[0].effects == ["Move to group folder “Billing”"]

    glob = make_filter(scope=Scope.GLOBAL, action=Action.SKIP, subject_pattern="*1")
    assert sorted(subjects(filter_dry_run(user=admin, filter_obj=glob), matched=True)) == [
        "sales 1",
        "support 1",
    ]


@pytest.mark.django_db
def test_dry_run_matches_cc_html_and_turkish_case(alice):
    store_email(
        parsed(to=("x@acme.test",), cc=("destek@acme.test",), html="<p>İADE talebim var</p>"),
        users=[alice],
    )
    store_email(parsed(to=("x@acme.test",), html="<p>İADE talebim var</p>"), users=[alice])
    obj = make_filter(user=alice, to_pattern="destek@*", body_contains_all=["iade talebim"])
    results = filter_dry_run(user=alice, filter_obj=obj)
    assert [r.matched for r in results] == [False, True]  # newest (no Cc) first


@pytest.mark.django_db
def test_dry_run_costs_the_same_queries_for_any_number_of_emails(
    admin, alice, django_assert_num_queries
):
    obj = make_filter(user=alice, to_pattern="*@acme.test", body_contains_any=["x"])
    for count in (3, 30):
        for i in range(count):
            store_email(parsed(cc=(f"c{i}@acme.test",), text="x"), users=[alice])
        # emails, and their To/Cc recipients
        with django_assert_num_queries(2):
            results = filter_dry_run(user=admin, filter_obj=obj)
        assert all(r.matched for r in results)


@pytest.mark.django_db
def test_dry_run_without_to_criterion_needs_one_query(admin, alice, django_assert_num_queries):
    for _ in range(5):
        store_email(parsed(subject="hi"), users=[alice])
    with django_assert_num_queries(1):
        results = filter_dry_run(
            user=admin, filter_obj=make_filter(user=alice, subject_pattern="hi")
        )
    assert len(results) == 5


@pytest.mark.django_db
def test_users_cannot_dry_run_others_or_shared_filters(alice, bob, group_account):
    with pytest.raises(PermissionDenied):
        filter_dry_run(user=bob, filter_obj=make_filter(user=alice, subject_pattern="*"))
    with pytest.raises(PermissionDenied):
        filter_dry_run(
            user=alice,
            filter_obj=make_filter(scope=Scope.GLOBAL, action=Action.SKIP, subject_pattern="*"),
        )
    with pytest.raises(PermissionDenied):
        filter_dry_run(
            user=alice,
            filter_obj=make_filter(
                scope=Scope.GROUP_ACCOUNT,
                group_account=group_account,
                action=Action.SKIP,
                subject_pattern="*",
            ),
        )


@pytest.mark.django_db
def test_admin_dry_run_of_a_users_filter_tries_that_users_emails(admin, alice, bob):
    store_email(parsed(subject="for alice"), users=[alice])
    store_email(parsed(subject="for bob"), users=[bob])
    results = filter_dry_run(user=admin, filter_obj=make_filter(user=alice, subject_pattern="*"))
    assert subjects(results) == ["for alice"]
