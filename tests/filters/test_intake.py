"""Pipeline steps 5 and 8b, header-time skips and match statistics, with database rows."""

from __future__ import annotations

import pytest
from django.utils import timezone

from filters.intake import (
    account_filters,
    apply_account_filters,
    apply_user_filters,
    flush_filter_stats,
    headers_skip_filter,
)
from filters.models import EmailFilter
from mailboxes.intake.context import FetchRun, UserOutcome
from mailboxes.models import EmailFolder, EmailUser

from .conftest import context, parsed, save_filter, store_email

Action = EmailFilter.Action
Scope = EmailFilter.Scope


def headers_skip_reason(run: FetchRun, message) -> str:
    """The label of the filter that skips ``message`` on its headers, or ""."""
    compiled = headers_skip_filter(run, message)
    return compiled.label if compiled is not None else ""


def global_skip(**fields) -> EmailFilter:
    return save_filter(scope=Scope.GLOBAL, action=Action.SKIP, **fields)


# --- step 5: account filters -------------------------------------------------------------


@pytest.mark.django_db
def test_global_skip_filter_skips_on_group_and_personal_accounts(group_account, alice_account):
    spam = global_skip(name="Spam", from_pattern="*@spam.test")
    for account in (group_account, alice_account):
        ctx = apply_account_filters(context(FetchRun(account), parsed(sender="x@spam.test")))
        assert ctx.stop
        assert ctx.skipped_by == f"Spam (#{spam.pk})"


@pytest.mark.django_db
def test_non_matching_message_goes_on(group_account):
    global_skip(from_pattern="*@spam.test")
    ctx = apply_account_filters(context(FetchRun(group_account), parsed(sender="a@ok.test")))
    assert not ctx.stop
    assert ctx.skipped_by == ""
    assert ctx.group_folder is None


@pytest.mark.django_db
def test_group_account_move_sets_the_group_folder(group_account, billing_folder):
    save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=group_account,
        action=Action.MOVE_TO_GROUP_FOLDER,
        group_folder=billing_folder,
        subject_pattern="*invoice*",
    )
    ctx = apply_account_filters(context(FetchRun(group_account), parsed(subject="Invoice 7")))
    assert ctx.group_folder == billing_folder
    assert not ctx.stop


@pytest.mark.django_db
def test_account_filters_apply_only_to_their_own_account(
    group_account, other_group_account, alice_account, bob_account
):
    save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=other_group_account,
        action=Action.SKIP,
        subject_pattern="*",
    )
    save_filter(
        scope=Scope.PERSONAL_ACCOUNT,
        personal_account=bob_account,
        action=Action.SKIP,
        subject_pattern="*",
    )
    for account in (group_account, alice_account):
        assert not apply_account_filters(context(FetchRun(account), parsed())).stop
    for account in (other_group_account, bob_account):
        assert apply_account_filters(context(FetchRun(account), parsed())).stop


@pytest.mark.django_db
def test_personal_account_skip_filter_skips(alice_account):
    save_filter(
        scope=Scope.PERSONAL_ACCOUNT,
        personal_account=alice_account,
        action=Action.SKIP,
        to_pattern="alice+news@*",
    )
    message = parsed(to=("x@acme.test",), cc=("alice+news@acme.test",))
    assert apply_account_filters(context(FetchRun(alice_account), message)).stop


@pytest.mark.django_db
def test_global_filters_run_before_account_filters_whatever_their_order(
    group_account, billing_folder
):
    save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=group_account,
        action=Action.MOVE_TO_GROUP_FOLDER,
        group_folder=billing_folder,
        subject_pattern="*",
        order=0,
    )
    spam = global_skip(subject_pattern="*", order=99)
    ctx = apply_account_filters(context(FetchRun(group_account), parsed()))
    assert ctx.skipped_by == spam.label


@pytest.mark.django_db
def test_account_filters_run_by_order_and_first_match_wins(group_account, billing_folder):
    skip = save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=group_account,
        action=Action.SKIP,
        subject_pattern="*",
        order=5,
    )
    save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=group_account,
        action=Action.MOVE_TO_GROUP_FOLDER,
        group_folder=billing_folder,
        subject_pattern="*invoice*",
        order=1,
    )
    invoice = apply_account_filters(context(FetchRun(group_account), parsed(subject="invoice")))
    assert invoice.group_folder == billing_folder
    assert not invoice.stop
    other = apply_account_filters(context(FetchRun(group_account), parsed(subject="hello")))
    assert other.skipped_by == skip.label


@pytest.mark.django_db
def test_inactive_filters_do_nothing(group_account):
    global_skip(subject_pattern="*", is_active=False)
    assert not apply_account_filters(context(FetchRun(group_account), parsed())).stop


@pytest.mark.django_db
def test_group_move_whose_folder_was_deleted_is_passed_over(group_account, billing_folder):
    save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=group_account,
        action=Action.MOVE_TO_GROUP_FOLDER,
        group_folder=billing_folder,
        subject_pattern="*",
    )
    billing_folder.delete()
    skip = save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=group_account,
        action=Action.SKIP,
        subject_pattern="*",
        order=9,
    )
    ctx = apply_account_filters(context(FetchRun(group_account), parsed()))
    assert ctx.skipped_by == skip.label


@pytest.mark.django_db
def test_account_filters_match_the_html_only_body(group_account):
    global_skip(body_contains_all=["unsubscribe", "weekly digest"])
    message = parsed(html="<p>Your <b>Weekly</b> Digest</p><p><a>Unsubscribe</a></p>")
    assert apply_account_filters(context(FetchRun(group_account), message)).stop


@pytest.mark.django_db
def test_account_filters_are_compiled_once_per_run(group_account, django_assert_num_queries):
    global_skip(from_pattern="*@spam.test")
    save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=group_account,
        action=Action.SKIP,
        subject_pattern="*lottery*",
    )
    run = FetchRun(group_account)
    with django_assert_num_queries(1):
        results = [
            apply_account_filters(context(run, parsed(sender=f"x{i}@spam.test"))).stop
            for i in range(5)
        ] + [
            apply_account_filters(context(run, parsed(subject="You won the LOTTERY"))).stop,
            apply_account_filters(context(run, parsed(subject="hello"))).stop,
        ]
    assert results == [True] * 6 + [False]
    assert len(run.filters) == 2


@pytest.mark.django_db
def test_message_without_parse_result_passes_through(group_account):
    global_skip(subject_pattern="*")
    assert not apply_account_filters(context(FetchRun(group_account), None)).stop


# --- header-time skip --------------------------------------------------------------------


@pytest.mark.django_db
def test_headers_skip_reason_names_a_header_only_skip_filter(group_account):
    spam = global_skip(name="Spam", from_pattern="*@spam.test")
    run = FetchRun(group_account)
    assert headers_skip_reason(run, parsed(sender="x@spam.test", headers_only=True)) == (
        f"Spam (#{spam.pk})"
    )
    assert headers_skip_reason(run, parsed(sender="x@ok.test", headers_only=True)) == ""
    assert account_filters(run).can_skip_on_headers


@pytest.mark.django_db
def test_headers_skip_reason_waits_for_the_body_when_a_body_filter_comes_first(
    group_account, billing_folder
):
    save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=group_account,
        action=Action.MOVE_TO_GROUP_FOLDER,
        group_folder=billing_folder,
        body_contains_any=["invoice"],
        order=1,
    )
    skip = save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=group_account,
        action=Action.SKIP,
        from_pattern="*@spam.test",
        order=2,
    )
    run = FetchRun(group_account)
    assert headers_skip_reason(run, parsed(sender="a@spam.test", headers_only=True)) == ""
    # the full message then decides at step 5
    ctx = apply_account_filters(context(run, parsed(sender="a@spam.test", text="Invoice")))
    assert ctx.group_folder == billing_folder
    assert not ctx.stop
    ctx = apply_account_filters(context(run, parsed(sender="a@spam.test", text="Buy!")))
    assert ctx.skipped_by == skip.label


@pytest.mark.django_db
def test_headers_skip_reason_skips_when_a_global_filter_precedes_body_filters(
    group_account, billing_folder
):
    save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=group_account,
        action=Action.MOVE_TO_GROUP_FOLDER,
        group_folder=billing_folder,
        body_contains_any=["invoice"],
    )
    spam = global_skip(from_pattern="*@spam.test", order=1)
    run = FetchRun(group_account)
    assert headers_skip_reason(run, parsed(sender="a@spam.test", headers_only=True)) == (spam.label)


@pytest.mark.django_db
def test_headers_skip_reason_is_empty_for_a_matching_move(group_account, billing_folder):
    save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=group_account,
        action=Action.MOVE_TO_GROUP_FOLDER,
        group_folder=billing_folder,
        subject_pattern="*",
    )
    global_skip(from_pattern="*@spam.test", order=1)
    save_filter(
        scope=Scope.GROUP_ACCOUNT,
        group_account=group_account,
        action=Action.SKIP,
        subject_pattern="*",
        order=2,
    )
    run = FetchRun(group_account)
    # global first: the spam skip wins; otherwise the move wins before the account's skip
    assert headers_skip_reason(run, parsed(sender="a@spam.test", headers_only=True))
    assert headers_skip_reason(run, parsed(sender="a@ok.test", headers_only=True)) == ""


# --- statistics --------------------------------------------------------------------------


@pytest.mark.django_db
def test_match_statistics_are_written_once_per_filter_after_the_batch(
    group_account, django_assert_num_queries
):
    spam = global_skip(from_pattern="*@spam.test")
    news = global_skip(subject_pattern="*newsletter*")
    unused = global_skip(subject_pattern="never")
    run = FetchRun(group_account)
    before = timezone.now()
    for i in range(4):
        apply_account_filters(context(run, parsed(sender=f"{i}@spam.test")))
    apply_account_filters(context(run, parsed(subject="Monthly newsletter")))
    headers_skip_reason(run, parsed(sender="h@spam.test", headers_only=True))
    spam.refresh_from_db()
    assert spam.match_count == 0  # nothing written per message

    with django_assert_num_queries(2):
        assert flush_filter_stats(run) == 2
    for obj, count in ((spam, 5), (news, 1), (unused, 0)):
        obj.refresh_from_db()
        assert obj.match_count == count
    assert spam.last_matched_at >= before
    assert unused.last_matched_at is None

    # a later batch of the same run adds to the counts; nothing is written twice
    apply_account_filters(context(run, parsed(sender="z@spam.test")))
    flush_filter_stats(run)
    assert flush_filter_stats(run) == 0
    spam.refresh_from_db()
    assert spam.match_count == 6


# --- step 8b: user inbox filters ---------------------------------------------------------


def user_step(run, message, email, users):
    ctx = context(run, message, email=email, new_user_ids={u.pk for u in users})
    return apply_user_filters(ctx)


def copy_of(email, user) -> EmailUser:
    return EmailUser.objects.get(email=email, user=user)


@pytest.mark.django_db
def test_user_move_puts_only_that_users_copy_in_their_folder(
    group_account, alice, bob, alice_folder
):
    rule = save_filter(
        user=alice, action=Action.MOVE_TO_FOLDER, folder=alice_folder, subject_pattern="*fatura*"
    )
    message = parsed(subject="FATURA 2026/01")
    email = store_email(message, account=group_account, users=[alice, bob])
    ctx = user_step(FetchRun(group_account), message, email, [alice, bob])

    assert copy_of(email, alice).folder == alice_folder
    assert copy_of(email, bob).folder is None  # still in Bob's Inbox
    assert ctx.user_outcomes == {
        alice.pk: UserOutcome(folder_id=alice_folder.pk, matched_filter_id=rule.pk)
    }


@pytest.mark.django_db
def test_user_skip_trashes_only_that_users_copy(group_account, alice, bob):
    save_filter(user=alice, action=Action.SKIP, from_pattern="*@noisy.test")
    message = parsed(sender="bot@noisy.test")
    email = store_email(message, account=group_account, users=[alice, bob])
    ctx = user_step(FetchRun(group_account), message, email, [alice, bob])

    alice_copy, bob_copy = copy_of(email, alice), copy_of(email, bob)
    assert alice_copy.in_trash
    assert alice_copy.skip_notification
    assert not bob_copy.in_trash
    assert not bob_copy.skip_notification
    assert ctx.user_outcomes[alice.pk].in_trash
    assert bob.pk not in ctx.user_outcomes
    assert not ctx.stop  # the email is still imported for everyone else


@pytest.mark.django_db
def test_mark_as_read_and_no_notification(group_account, alice, bob):
    save_filter(user=alice, subject_pattern="*", mark_as_read=True)
    save_filter(user=bob, subject_pattern="*", no_notification=True)
    message = parsed()
    email = store_email(message, account=group_account, users=[alice, bob])
    ctx = user_step(FetchRun(group_account), message, email, [alice, bob])

    alice_copy, bob_copy = copy_of(email, alice), copy_of(email, bob)
    assert (alice_copy.is_read, alice_copy.skip_notification, alice_copy.folder) == (
        True,
        False,
        None,
    )
    assert (bob_copy.is_read, bob_copy.skip_notification) == (False, True)
    assert ctx.user_outcomes[alice.pk].mark_read
    assert ctx.user_outcomes[bob.pk].no_notification


@pytest.mark.django_db
def test_move_to_a_folder_that_skips_notifications_silences_the_email(group_account, alice):
    quiet = EmailFolder.objects.create(user=alice, name="Quiet", skip_notifications=True)
    save_filter(user=alice, subject_pattern="*", action=Action.MOVE_TO_FOLDER, folder=quiet)
    message = parsed()
    email = store_email(message, users=[alice])
    ctx = user_step(FetchRun(group_account), message, email, [alice])
    assert ctx.user_outcomes[alice.pk].no_notification
    copy = copy_of(email, alice)
    assert (copy.folder, copy.skip_notification) == (quiet, True)


@pytest.mark.django_db
def test_first_matching_user_filter_wins(group_account, alice, alice_folder):
    save_filter(user=alice, subject_pattern="*", action=Action.NONE, order=2)
    first = save_filter(
        user=alice,
        subject_pattern="*report*",
        action=Action.MOVE_TO_FOLDER,
        folder=alice_folder,
        order=1,
    )
    message = parsed(subject="Weekly report")
    email = store_email(message, users=[alice])
    ctx = user_step(FetchRun(group_account), message, email, [alice])
    assert ctx.user_outcomes[alice.pk].matched_filter_id == first.pk
    assert copy_of(email, alice).folder == alice_folder


@pytest.mark.django_db
def test_user_filters_apply_only_to_new_recipients(group_account, alice, bob):
    save_filter(user=bob, action=Action.SKIP, subject_pattern="*")
    message = parsed()
    email = store_email(message, users=[alice, bob])
    user_step(FetchRun(group_account), message, email, [alice])
    assert not copy_of(email, bob).in_trash


@pytest.mark.django_db
def test_user_move_to_deleted_folder_leaves_the_copy_but_applies_options(
    group_account, alice, alice_folder
):
    save_filter(
        user=alice,
        subject_pattern="*",
        action=Action.MOVE_TO_FOLDER,
        folder=alice_folder,
        mark_as_read=True,
    )
    alice_folder.delete()
    message = parsed()
    email = store_email(message, users=[alice])
    ctx = user_step(FetchRun(group_account), message, email, [alice])
    copy = copy_of(email, alice)
    assert copy.folder is None
    assert copy.is_read
    assert ctx.user_outcomes[alice.pk].folder_id is None


@pytest.mark.django_db
def test_user_filters_read_the_stored_email_when_there_is_no_parsed_message(group_account, alice):
    save_filter(user=alice, action=Action.SKIP, to_pattern="team@acme.test")
    email = store_email(parsed(to=("x@acme.test",), cc=("team@acme.test",)), users=[alice])
    user_step(FetchRun(group_account), None, email, [alice])
    assert copy_of(email, alice).in_trash


@pytest.mark.django_db
def test_user_filters_are_compiled_once_per_run(
    group_account, alice, bob, alice_folder, django_assert_num_queries
):
    save_filter(user=alice, action=Action.MOVE_TO_FOLDER, folder=alice_folder, subject_pattern="*")
    save_filter(user=bob, subject_pattern="never")
    run = FetchRun(group_account)
    messages = [parsed(subject=f"message {i}") for i in range(5)]
    emails = [store_email(m, users=[alice, bob]) for m in messages]

    # one query to compile both users' filters, then one UPDATE per message (Alice's move)
    with django_assert_num_queries(1 + 5):
        for message, email in zip(messages, emails, strict=True):
            user_step(run, message, email, [alice, bob])
    assert all(copy_of(email, alice).folder == alice_folder for email in emails)

    flush_filter_stats(run)
    assert EmailFilter.objects.get(user=alice).match_count == 5


@pytest.mark.django_db
def test_users_with_the_same_outcome_share_one_update(
    group_account, alice, bob, django_assert_num_queries
):
    save_filter(user=alice, subject_pattern="*", mark_as_read=True)
    save_filter(user=bob, subject_pattern="*", mark_as_read=True)
    message = parsed()
    email = store_email(message, users=[alice, bob])
    run = FetchRun(group_account)
    with django_assert_num_queries(2):  # compile + one UPDATE
        user_step(run, message, email, [alice, bob])
    assert copy_of(email, alice).is_read
    assert copy_of(email, bob).is_read


@pytest.mark.django_db
def test_user_step_without_recipients_does_nothing(group_account, alice, django_assert_num_queries):
    save_filter(user=alice, subject_pattern="*", action=Action.SKIP)
    message = parsed()
    email = store_email(message, users=[alice])
    with django_assert_num_queries(0):
        ctx = user_step(FetchRun(group_account), message, email, [])
    assert ctx.user_outcomes == {}
