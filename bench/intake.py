"""Intake throughput against the raw IMAP download, measured side by side in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postaci .venv/bin/python bench/intake.py 1000
    ... bench/intake.py 1000 --cases            # email-to-case: round-robin, a team of 3
    ... bench/intake.py 1000 --runs 3           # three runs and their median
    ... bench/intake.py 1000 --profile [FILE]   # cProfile of the fetch process (BENCH_PROFILE=1)
    ... bench/intake.py 1000 --without-search-index   # step 6b off: the index's share

Needs ``requirements.txt`` only, Dovecot (``dovecot-imapd``) and PostgreSQL. It generates N
messages with the shared corpus generator (``../shared/bench/gen_corpus.py N DIR 20241127``,
or ``$POSTACI_SHARED_DIR/bench``; for 1,000 it checks the corpus hash), starts a private
Dovecot, and creates and migrates a throw-away database ``<name>_bench`` beside the one
DATABASE_URL names. Each run then, on a fresh copy of that database and a fresh mailbox:

1. appends the N messages to the mailbox's INBOX (MULTIAPPEND);
2. raw IMAP download: connect, log in, FETCH ``BODY.PEEK[]`` of all of them in batches of
   ``POSTACI_FETCH_BATCH_SIZE``, log out; nothing else (the baseline);
3. stdlib parse only: ``email.message_from_bytes(raw, policy=compat32)`` of every message;
4. Postaci: the whole process ``manage.py fetchmail --all`` on one group account of that
   mailbox, timed from spawn to exit (start-up counts), its SQL statements counted
   (bench/count_sql.py), its peak RSS (its own VmHWM) and its own CPU time (user + system,
   which other load on the machine disturbs less than the wall time), and apart the command
   itself without the interpreter's and Django's start-up (what a fetch costs a Celery worker
   that is already running); then the same command again with nothing new (start-up plus one
   idle check).

The account has fetched once before the mail arrives, so this is new mail reaching a mailbox
in use, with notifications on; ``--backfill`` measures a first fetch (no notifications).
Prints every run, then the medians as a table. ``--profile`` runs the fetch process under
cProfile (slower: read the figures accordingly), writes the last run's stats to FILE
(default ``var/bench-intake.prof``) and prints the top (``BENCH_PROFILE_SORT=tottime`` sorts by
own time).
"""

from __future__ import annotations

import argparse
import email
import hashlib
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from email.policy import compat32
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Iterable

    from bench.dovecot import BenchDovecot, BenchUser

ROOT = Path(__file__).resolve().parents[1]
SEED = 20241127
# sha256 of the 1,000 generated files concatenated in name order (the corpus)
CORPUS_1000_SHA256 = ("636154b8", "8e32bf")
SUPPORT_ADDRESS = "support@helpdesk.example.com"  # the To of every generated message
TEAM = ("ali", "berna", "cem")


@dataclass
class Run:
    raw_seconds: float
    parse_seconds: float
    fetch_seconds: float
    fetch_cpu: float
    statements: int
    peak_rss_kb: int
    command_seconds: float
    command_cpu: float
    idle_seconds: float
    idle_cpu: float
    emails: int
    cases: int


@dataclass
class Process:
    seconds: float
    cpu: float  # user + system seconds of the process itself (not PostgreSQL's or Dovecot's)
    statements: int
    peak_rss_kb: int
    command_seconds: float  # the management command alone, without the process's start-up
    command_cpu: float


def main() -> None:
    args = _arguments()
    sys.path.insert(0, str(ROOT))
    from bench.dovecot import BenchDovecot

    messages = generate_corpus(args.count)
    database = bench_database_url()
    configure_environment(database)
    import django

    django.setup()
    from django.conf import settings

    batch = settings.POSTACI_FETCH_BATCH_SIZE
    template = migrate_template(database)
    kind = "with email-to-case (round-robin, team of 3)" if args.cases else "without cases"
    mode = "first fetch, no notifications" if args.backfill else "new mail, notifications on"
    os.environ.pop("BENCH_WITHOUT_SEARCH_INDEX", None)
    if args.without_search_index:  # read by bench/count_sql.py in the fetch process
        os.environ["BENCH_WITHOUT_SEARCH_INDEX"] = "1"
        mode += "; WITHOUT the search index (step 6b off)"
    print(
        f"Postaci: group account {kind}; {mode}; batch {batch}; "
        f"database {urlsplit(database).path.lstrip('/')}"
    )
    runs: list[Run] = []
    with BenchDovecot() as dovecot:
        for number in range(1, args.runs + 1):
            run = measure(dovecot, messages, database, template, args, batch)
            runs.append(run)
            print(f"run {number}: {_run_line(run, len(messages))}", flush=True)
    drop_database(template)
    print_table(runs, len(messages), cases=args.cases)
    if args.profile:
        import pstats

        order = os.environ.get("BENCH_PROFILE_SORT", "cumulative")
        print(f"\nprofile of the last run's fetch process: {args.profile}")
        pstats.Stats(str(args.profile)).sort_stats(order).print_stats(30)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("count", nargs="?", type=int, default=1000, help="messages (1000)")
    parser.add_argument("--cases", action="store_true", help="email-to-case on the account")
    parser.add_argument("--runs", type=int, default=1, help="repeat the measurement (1)")
    parser.add_argument(
        "--backfill", action="store_true", help="the account's first fetch (no notifications)"
    )
    parser.add_argument(
        "--without-search-index",
        action="store_true",
        help="step 6b off: what the search index costs the import (compare with a run with it)",
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        type=Path,
        const=ROOT / "var" / "bench-intake.prof",
        default=ROOT / "var" / "bench-intake.prof" if os.environ.get("BENCH_PROFILE") else None,
        metavar="FILE",
        help="cProfile the fetch process",
    )
    return parser.parse_args()


# --- the corpus -------------------------------------------------------------------------------


def generate_corpus(count: int) -> list[bytes]:
    """The shared generator's N messages, in name order."""
    shared = Path(os.environ.get("POSTACI_SHARED_DIR") or ROOT.parent / "shared")
    generator = shared / "bench" / "gen_corpus.py"
    with tempfile.TemporaryDirectory(prefix="postaci-corpus-") as directory:
        made = subprocess.run(
            [sys.executable, str(generator), str(count), directory, str(SEED)],
            check=True,
            capture_output=True,
            text=True,
        )
        print("corpus:", made.stdout.strip().replace(directory, "<tmp>"))
        paths = sorted(p for p in Path(directory).iterdir() if re.fullmatch(r"\d+\.eml", p.name))
        messages = [path.read_bytes() for path in paths]
    if count == 1000:
        digest = hashlib.sha256(b"".join(messages)).hexdigest()
        if digest.startswith(CORPUS_1000_SHA256[0]) and digest.endswith(CORPUS_1000_SHA256[1]):
            print(f"corpus sha256 {digest[:8]}…{digest[-6:]}: the issue's corpus")
        else:
            print(
                f"WARNING: corpus sha256 {digest} is not {'…'.join(CORPUS_1000_SHA256)}: "
                "the generator changed, so figures do not compare with earlier ones"
            )
    return messages


# --- the database -----------------------------------------------------------------------------


def bench_database_url(suffix: str = "_bench", script: str = "bench/intake.py") -> str:
    """The benchmark's own database beside the one DATABASE_URL names (its name + ``suffix``),
    so that a run never writes into the real one; ``script`` names the caller in the error."""
    url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postaci"))
    if not url.scheme.startswith("postgres"):
        sys.exit(f"{script} measures on PostgreSQL: set DATABASE_URL=postgres://…")
    return url._replace(path=f"{url.path}{suffix}").geturl()


def configure_environment(database: str) -> None:
    """What the parent and the fetch process share: the database, keys, the loopback host."""
    from cryptography.fernet import Fernet

    os.environ["DATABASE_URL"] = database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("POSTACI_ENCRYPTION_KEY", Fernet.generate_key().decode())
    allowed = os.environ.get("POSTACI_MAIL_HOST_ALLOWLIST", "")
    os.environ["POSTACI_MAIL_HOST_ALLOWLIST"] = ",".join(filter(None, [allowed, "127.0.0.1"]))


def _admin(database: str, *statements: str) -> None:
    import psycopg

    url = urlsplit(database)
    maintenance = url._replace(scheme="postgresql", path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _name(database: str) -> str:
    return urlsplit(database).path.lstrip("/")


def migrate_template(database: str) -> str:
    """Migrate the bench database once and keep a copy to start each run from."""
    from django.core.management import call_command
    from django.db import connections

    name, template = _name(database), f"{_name(database)}_template"
    _admin(
        database,
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}"',
    )
    call_command("migrate", verbosity=0)
    connections.close_all()
    _admin(
        database,
        f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)',
        f'CREATE DATABASE "{template}" TEMPLATE "{name}"',
    )
    return urlsplit(database)._replace(path=f"/{template}").geturl()


def fresh_database(database: str, template: str) -> None:
    from django.db import connections

    connections.close_all()
    _admin(
        database,
        f'DROP DATABASE IF EXISTS "{_name(database)}" WITH (FORCE)',
        f'CREATE DATABASE "{_name(database)}" TEMPLATE "{_name(template)}"',
    )


def drop_database(database: str) -> None:
    from django.db import connections

    connections.close_all()
    _admin(database, f'DROP DATABASE IF EXISTS "{_name(database)}" WITH (FORCE)')


def make_group_account(host: str, port: int, username: str, password: str, *, cases: bool) -> None:
    """One group account on the mailbox; with ``cases`` email-to-case as the tests set it up."""
    from mailboxes.models import GroupEmailAccount, Security

    account = GroupEmailAccount.objects.create(
        name="Support",
        email_address=SUPPORT_ADDRESS,
        imap_host=host,
        imap_port=port,
        imap_security=Security.NONE,
        imap_username=username,
        imap_password=password,
    )
    if not cases:
        return
    from cases.models import CaseDistribution, GroupAccountCases
    from crm.models import Team, TeamMembership, User

    team = Team.objects.create(name="Support")
    for name in TEAM:
        agent = User.objects.create_user(name, email=f"{name}@postaci.example", is_active=True)
        TeamMembership.objects.create(team=team, user=agent)
    GroupAccountCases.objects.update_or_create(
        account=account,
        defaults={
            "create_case": True,
            "target_team": team,
            "case_distribution": CaseDistribution.ROUND_ROBIN,
        },
    )


# --- one run ----------------------------------------------------------------------------------


def measure(
    dovecot: BenchDovecot,
    messages: list[bytes],
    database: str,
    template: str,
    args: argparse.Namespace,
    batch: int,
) -> Run:
    from django.core.management import call_command

    from cases.models import Case
    from mailboxes.models import Email

    fresh_database(database, template)
    user = dovecot.add_user()
    make_group_account(dovecot.host, dovecot.port, user.username, user.password, cases=args.cases)
    if not args.backfill:
        call_command("fetchmail", "--all", stdout=StringIO())  # the empty INBOX: now in use
    dovecot.append_many(user, messages)

    raw_seconds = raw_download(dovecot, user, batch, expect=messages)
    parse_seconds = stdlib_parse(messages)
    fetch = fetch_process(args.profile)
    idle = fetch_process(None)

    emails = Email.objects.count()
    if emails != len(messages):
        sys.exit(f"the fetch stored {emails} of {len(messages)} messages")
    return Run(
        raw_seconds=raw_seconds,
        parse_seconds=parse_seconds,
        fetch_seconds=fetch.seconds,
        fetch_cpu=fetch.cpu,
        statements=fetch.statements,
        peak_rss_kb=fetch.peak_rss_kb,
        command_seconds=fetch.command_seconds,
        command_cpu=fetch.command_cpu,
        idle_seconds=idle.seconds,
        idle_cpu=idle.cpu,
        emails=emails,
        cases=Case.objects.count(),
    )


def raw_download(
    dovecot: BenchDovecot, user: BenchUser, batch: int, *, expect: list[bytes]
) -> float:
    """Seconds to connect, download every message as Postaci's batches do, and log out."""
    started = time.perf_counter()
    size = 0
    with dovecot.client(user) as imap:
        imap.select_folder("INBOX", readonly=True)
        uids = sorted(imap.search("ALL"))
        for start in range(0, len(uids), batch):
            fetched = imap.fetch(uids[start : start + batch], [b"BODY.PEEK[]"])
            size += sum(len(data[b"BODY[]"]) for data in fetched.values())
    seconds = time.perf_counter() - started
    if len(uids) != len(expect) or size != sum(map(len, expect)):
        sys.exit(f"raw download: {len(uids)} messages of {size} bytes, not the ones appended")
    return seconds


def stdlib_parse(messages: list[bytes]) -> float:
    started = time.perf_counter()
    for raw in messages:
        email.message_from_bytes(raw, policy=compat32)
    return time.perf_counter() - started


def fetch_process(profile: Path | None) -> Process:
    """Run ``manage.py fetchmail --all`` as its own process: wall time from spawn to exit,
    statements counted inside it, its peak RSS (VmHWM, read by the process itself)."""
    env = dict(os.environ)
    env.pop("BENCH_PROFILE_FILE", None)
    if profile:
        profile.parent.mkdir(parents=True, exist_ok=True)
        env["BENCH_PROFILE_FILE"] = str(profile)
    with tempfile.TemporaryDirectory(prefix="postaci-fetch-") as directory:
        count_file = Path(directory) / "statements"
        with open(Path(directory) / "output", "w+") as output:
            command = [sys.executable, str(ROOT / "bench" / "count_sql.py"), str(count_file)]
            started = time.perf_counter()
            process = subprocess.Popen(
                [*command, "manage.py", "fetchmail", "--all"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            _pid, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
            process.returncode = os.waitstatus_to_exitcode(status)
            output.seek(0)
            if process.returncode != 0:
                sys.exit(f"fetchmail exited {process.returncode}:\n{output.read()}")
        counted = count_file.read_text().split()
    # the process's own VmHWM (count_sql.py): the child's ru_maxrss starts from the parent's
    statements, peak_rss_kb = int(counted[0]), int(counted[1])
    cpu = usage.ru_utime + usage.ru_stime
    return Process(
        seconds=seconds,
        cpu=cpu,
        statements=statements,
        peak_rss_kb=peak_rss_kb,
        command_seconds=float(counted[2]),
        command_cpu=float(counted[3]),
    )


# --- output -----------------------------------------------------------------------------------


def _run_line(run: Run, count: int) -> str:
    raw = count / run.raw_seconds
    postaci = count / run.fetch_seconds
    return (
        f"raw {raw:,.0f} msg/s · parse {count / run.parse_seconds:,.0f} msg/s · "
        f"Postaci {postaci:,.1f} msg/s ({postaci / raw:.3f} × raw, {run.fetch_seconds:.2f} s, "
        f"CPU {run.fetch_cpu:.2f} s; without start-up {count / run.command_seconds:,.0f} msg/s, "
        f"{run.raw_seconds / run.command_seconds:.3f} × raw, {run.command_seconds:.2f} s, "
        f"CPU {run.command_cpu:.2f} s) · "
        f"{run.statements / count:.2f} SQL/msg · peak RSS {run.peak_rss_kb / 1024:.0f} MB · "
        f"idle fetch {run.idle_seconds:.2f} s (CPU {run.idle_cpu:.2f} s) · "
        f"{run.emails} emails, {run.cases} cases"
    )


def print_table(runs: list[Run], count: int, *, cases: bool) -> None:
    """The medians, each ratio taken within its own run."""

    def median(values: Iterable[float]) -> float:
        return statistics.median(list(values))

    raw = median(count / r.raw_seconds for r in runs)
    parse = median(count / r.parse_seconds for r in runs)
    postaci = median(count / r.fetch_seconds for r in runs)
    parse_ratio = median(r.raw_seconds / r.parse_seconds for r in runs)
    postaci_ratio = median(r.raw_seconds / r.fetch_seconds for r in runs)
    command = median(count / r.command_seconds for r in runs)
    command_ratio = median(r.raw_seconds / r.command_seconds for r in runs)
    kind = "with email-to-case (round-robin, team of 3)" if cases else "without cases"
    label = "median of" if len(runs) > 1 else "one run of"
    print(f"\n{label} {len(runs)}, {count} messages:\n")
    print("| method | msg/s | ratio to raw download |")
    print("|---|---|---|")
    print(f"| raw IMAP FETCH of the same messages | {raw:,.0f} | 1.000 |")
    print(f"| stdlib parse only (compat32) | {parse:,.0f} | {parse_ratio:.3f} |")
    print(f"| Postaci, group account {kind} | {postaci:,.1f} | {postaci_ratio:.3f} |")
    print(
        f"| the same fetch without the process's start-up (as in a running worker) "
        f"| {command:,.1f} | {command_ratio:.3f} |"
    )
    print(
        f"\nPostaci's fetch process: {median(r.statements for r in runs) / count:.2f} SQL "
        f"statements per message, peak RSS {median(r.peak_rss_kb for r in runs) / 1024:.0f} MB, "
        f"{median(r.fetch_seconds for r in runs):.2f} s "
        f"(CPU {median(r.fetch_cpu for r in runs):.2f} s); "
        f"with nothing new {median(r.idle_seconds for r in runs):.2f} s "
        f"(CPU {median(r.idle_cpu for r in runs):.2f} s)"
    )


if __name__ == "__main__":
    main()
