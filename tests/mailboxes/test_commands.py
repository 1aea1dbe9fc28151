"""fetchmail and the watcher's sharding."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mailboxes.intake.watch import watch_targets
from tests.mailboxes.conftest import make_message

pytestmark = pytest.mark.django_db(transaction=True)


def test_fetchmail_prints_a_one_line_summary_and_json(dovecot, imap_user, make_group_account):
    dovecot.append_many(imap_user, "INBOX", [make_message() for _ in range(3)])
    account = make_group_account(imap_user)
    out = StringIO()
    call_command("fetchmail", "--account", str(account.pk), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("total: fetched 3, imported 3, duplicates 0, skipped 0")

    dovecot.append(imap_user, "INBOX", make_message())
    out = StringIO()
    call_command("fetchmail", "--all", "--json", "--no-notify", stdout=out)
    summary = json.loads(out.getvalue())
    assert (summary["fetched"], summary["imported"], summary["errors"]) == (1, 1, [])
    assert summary["accounts"][0]["account_id"] == account.pk


def test_fetchmail_refuses_unknown_accounts_and_exits_non_zero_on_errors(
    dovecot, imap_user, make_group_account
):
    with pytest.raises(CommandError):
        call_command("fetchmail", "--account", "999999")
    with pytest.raises(CommandError):
        call_command("fetchmail")
    broken = make_group_account(imap_user, imap_password="wrong")
    with pytest.raises(SystemExit) as exit_info:
        call_command("fetchmail", "--account", str(broken.pk), stdout=StringIO())
    assert exit_info.value.code == 1


def test_watch_shards_split_accounts_between_watchers(dovecot, make_group_account):
    accounts = [make_group_account(dovecot.add_user("s")) for _ in range(4)]
    shard_0 = {t.account_id for t in watch_targets(0, 2)}
    shard_1 = {t.account_id for t in watch_targets(1, 2)}
    assert shard_0.isdisjoint(shard_1)
    assert shard_0 | shard_1 == {a.pk for a in accounts}
