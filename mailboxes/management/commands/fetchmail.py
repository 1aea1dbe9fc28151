"""Fetch mail in the foreground: ``manage.py fetchmail --all`` or ``--account ID``."""

from __future__ import annotations

import json
import sys

from django.core.checks import Tags
from django.core.management.base import BaseCommand, CommandError

from mailboxes.intake.fetch import FetchSummary, fetch_account
from mailboxes.models import MailAccount


class Command(BaseCommand):
    help = "Fetch new mail now, with a progress bar; ends with a one-line summary."
    # The checks a fetch depends on: the installation's keys (crm/checks.py) and the database.
    # Not the URL and admin checks, which import every view and form of the web site (most
    # of the start-up); runserver, migrate and check run those.
    requires_system_checks = [Tags.security, Tags.database]

    def add_arguments(self, parser):
        parser.add_argument("--account", type=int, action="append", default=[], metavar="ID")
        parser.add_argument("--all", action="store_true", help="every active account")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")
        parser.add_argument(
            "--no-notify",
            action="store_true",
            help="import history without notifying anyone (backfill)",
        )

    def handle(self, *args, **options):
        if options["all"]:
            ids = list(
                MailAccount.objects.filter(status=MailAccount.Status.ACTIVE, use_imap=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        else:
            ids = options["account"]
        if not ids:
            raise CommandError("Name accounts with --account ID, or use --all.")
        missing = set(ids) - set(
            MailAccount.objects.filter(pk__in=ids).values_list("pk", flat=True)
        )
        if missing:
            raise CommandError(f"No such account: {', '.join(map(str, sorted(missing)))}")

        notify = False if options["no_notify"] else None
        show_bar = not options["json"] and sys.stderr.isatty()
        total = FetchSummary(account_id=0)
        per_account = []
        for account_id in ids:
            bar = None

            def progress(kind: str, n: int, account_id=account_id) -> None:
                nonlocal bar
                if not show_bar:
                    return
                if kind == "total":
                    if bar is None:
                        from tqdm import tqdm  # only for a terminal: cron and Celery skip it

                        bar = tqdm(
                            total=0, unit="msg", desc=f"account {account_id}", file=sys.stderr
                        )
                    bar.total += n
                    bar.refresh()
                elif bar is not None:
                    bar.update(n)

            summary = fetch_account(account_id, notify=notify, progress=progress)
            if bar is not None:
                bar.close()
            per_account.append(summary)
            total.add(summary)
            if not options["json"]:
                self.stdout.write(f"account {account_id}: {summary.line()}")

        if options["json"]:
            payload = total.as_dict()
            payload.pop("account_id")
            payload.pop("locked")
            payload["accounts"] = [s.as_dict() for s in per_account]
            self.stdout.write(json.dumps(payload))
        else:
            self.stdout.write(f"total: {total.line()}")
        if total.errors:
            sys.exit(1)
