"""Keep IMAP IDLE connections open and enqueue a fetch the moment mail arrives."""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand, CommandError

from mailboxes.intake.watch import WatchSupervisor


class Command(BaseCommand):
    help = (
        "IMAP IDLE on every active account's folders (one process, one event loop); queues "
        "a fetch on the fetch_now queue when mail arrives."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--shard",
            default="0/1",
            help="i/n: watch only accounts whose id modulo n is i (run n watchers)",
        )
        parser.add_argument("--reload", type=float, default=60, help="seconds between full reloads")
        parser.add_argument(
            "--check",
            type=float,
            default=2,
            help="seconds between checks for saved, new or deleted accounts",
        )

    def handle(self, *args, **options):
        try:
            index, count = (int(x) for x in options["shard"].split("/"))
        except ValueError as exc:
            raise CommandError("--shard takes i/n, e.g. 0/2") from exc
        if not 0 <= index < count:
            raise CommandError("--shard i/n needs 0 <= i < n")

        from mailboxes.connection.network import raise_open_file_limit
        from mailboxes.intake.queueing import broker_connect, fetch_enqueue

        # one IDLE connection per folder: the common default of 1,024 open files is too few
        before, after = raise_open_file_limit()
        if after != before:
            self.stdout.write(f"Open-file limit raised from {before} to {after}.")
        else:
            self.stdout.write(f"Open-file limit: {after}.")

        def enqueue(account_ids: list[int]) -> None:
            # the fetch_now queue, ahead of polling; not when one is waiting there already
            fetch_enqueue(account_ids, urgent=True)

        broker_connect()
        supervisor = WatchSupervisor(
            enqueue,
            shard=index,
            shards=count,
            reload_seconds=options["reload"],
            check_seconds=options["check"],
        )
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: supervisor.stop())
        self.stdout.write(f"Watching shard {index}/{count} (IMAP IDLE)…")
        supervisor.run()
