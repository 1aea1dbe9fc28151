"""A fetch of one message, in one warm process: what a watched mailbox mostly brings.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postaci .venv/bin/python bench/fetch_one.py
    ... bench/fetch_one.py --fetches 55 --profile var/fetch-one.prof

Needs ``requirements.txt``, Dovecot and PostgreSQL (a throw-away ``<name>_bench`` database, as
bench/intake.py). A group account with email-to-case (round-robin, a team of 3) fetches once
(the mailbox is in use), then, ``--fetches`` times, one message of the shared corpus is
appended and the account fetched as the worker's task does (``mailboxes.tasks.fetch_account``
run in this process, urgent). Prints the median and p90 wall time per fetch, the SQL
statements per fetch, and IMAP commands per fetch; ``--profile`` writes cProfile stats of the
fetches (not of the set-up) and prints their top.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.intake import (  # noqa: E402
    bench_database_url,
    configure_environment,
    drop_database,
    fresh_database,
    generate_corpus,
    make_group_account,
    migrate_template,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--fetches", type=int, default=55)
    parser.add_argument("--no-cases", action="store_true", help="no email-to-case")
    parser.add_argument("--profile", type=Path, default=None, metavar="FILE")
    parser.add_argument("--sql", action="store_true", help="print the last fetch's statements")
    args = parser.parse_args()

    from bench import count_sql
    from bench.dovecot import BenchDovecot

    messages = generate_corpus(max(args.fetches, 1))
    database = bench_database_url()
    configure_environment(database)
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mailboxes.models import MailAccount
    from mailboxes.tasks import fetch_account

    template = migrate_template(database)
    fresh_database(database, template)
    count_sql.install_counter()
    commands: list[str] = []
    import imaplib

    real_command = imaplib.IMAP4._command

    counting = [False]

    def counted_command(self, name, *args):
        if not counting[0]:
            return real_command(self, name, *args)
        commands.append(f"{name} {args[0]}" if name == "UID" and args else name)
        return real_command(self, name, *args)

    imaplib.IMAP4._command = counted_command
    from imapclient import IMAPClient

    real_raw_command = IMAPClient._raw_command

    def counted_raw_command(self, name, args, uid=True):  # IMAPClient's way for SEARCH
        if counting[0]:
            commands.append(f"UID {name.decode()}" if uid and self.use_uid else name.decode())
        return real_raw_command(self, name, args, uid=uid)

    IMAPClient._raw_command = counted_raw_command
    walls: list[float] = []
    statements: list[int] = []
    profiler = None
    with BenchDovecot() as dovecot:
        user = dovecot.add_user()
        make_group_account(
            dovecot.host, dovecot.port, user.username, user.password, cases=not args.no_cases
        )
        account_id = MailAccount.objects.get().pk
        fetch_account.run(account_id, urgent=True)  # the mailbox is in use
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
        commands.clear()
        for message in messages[: args.fetches]:
            dovecot.append_many(user, [message])
            before = count_sql.statements
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            counting[0] = True
            with CaptureQueriesContext(connection) as captured:
                summary = fetch_account.run(account_id, urgent=True)
            counting[0] = False
            if profiler:
                profiler.disable()
            walls.append(time.perf_counter() - started)
            statements.append(count_sql.statements - before)
            if summary.get("imported") != 1:
                sys.exit(f"a fetch did not import its message: {summary}")
    drop_database(database)
    drop_database(template)
    if args.sql:
        for number, query in enumerate(captured.captured_queries, 1):
            print(f"{number:3} {query['sql'][:300]}")
    walls.sort()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(
        f"bench/fetch_one.py: {len(walls)} one-message fetches "
        f"({'no cases' if args.no_cases else 'email-to-case'}), load average {load}"
    )
    print(
        f"wall per fetch: median {statistics.median(walls) * 1000:.1f} ms, "
        f"p90 {walls[int(0.9 * (len(walls) - 1))] * 1000:.1f} ms; "
        f"SQL statements per fetch: median {statistics.median(statements):.0f}; "
        f"IMAP commands per fetch: {len(commands) / len(walls):.1f} "
        f"({', '.join(f'{n} {c}' for c, n in sorted(Counter(commands).items()))})"
    )
    if profiler and args.profile:
        import pstats

        profiler.dump_stats(str(args.profile))
        pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    main()
