"""A thousand mailboxes on IMAP IDLE: the watcher's cost, a burst's latency, beat's poll.

Runs from requirements.txt alone (no pytest, no tests package) against a private Dovecot
(bench/dovecot.py), PostgreSQL (a throw-away ``<name>_watchbench`` database next to
DATABASE_URL) and Redis (its own key prefix on DB 3, deleted at the end), with one Celery
worker of two processes consuming ``fetch_now,celery,poll`` as production does::

    .venv/bin/python bench/watch.py                 # 1,000 accounts
    .venv/bin/python bench/watch.py --accounts 200  # a smaller machine

Every account is a group mailbox with email-to-case (round-robin over a team of three).
What it measures, in this order:

1. ``watchmail`` (a subprocess) starts on all N accounts: time until every account is
   watched live, and the first fetches it queues (none of them has been fetched yet: N).
2. The watcher restarts: time until every account is live again and the fetches queued by
   the reconnect (goal: none, nothing arrived meanwhile).
3. Idle: the watcher's resident memory and CPU over ``--idle-seconds`` (from /proc).
4. Burst: one message into each of ``--burst`` watched mailboxes (``doveadm save``, as an
   MTA delivers), delivery to "case visible" (the Case row committed) per message.
5. beat's poll of the group accounts with everything watched (goal: nothing queued), then,
   the watcher stopped, of N idle accounts: time until all the queued fetches finished.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dovecot import BenchDovecot  # noqa: E402

GOALS = {
    "rss_mb": 300,
    "idle_cpu": 5.0,
    "burst_p95": 2.0,
    "poll_seconds": 30.0,
}


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postaci")
    base, _, name = url.rpartition("/")
    return f"{base}/{name}_watchbench"


def _recreate_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _environment(database_url: str, broker_url: str, key_prefix: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        CELERY_KEY_PREFIX=key_prefix,
        POSTACI_MAIL_HOST_ALLOWLIST="127.0.0.1",
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        # as the README advises for workers and watchers: a database connect per task
        # is about 40 % of an idle poll's fetch
        DB_CONN_MAX_AGE=os.environ.get("DB_CONN_MAX_AGE", "60"),
    )
    for name, file in (("SECRET_KEY", "secret_key"), ("POSTACI_ENCRYPTION_KEY", "encryption_key")):
        if not env.get(name) and (ROOT / "var" / file).exists():
            env[name] = (ROOT / "var" / file).read_text().strip()
    return env


def _message(n: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Customer {n} <customer{n}@example.com>"
    message["To"] = "support@example.test"
    message["Subject"] = f"Siparişim gelmedi {n}"
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="customer.example.com")
    message.set_content("Merhaba, siparişim hâlâ gelmedi. Yardımcı olur musunuz?\n")
    return message.as_bytes()


# --- /proc ------------------------------------------------------------------------------------


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


# --- the benchmark ----------------------------------------------------------------------------


class Bench:
    def __init__(self, args, dovecot: BenchDovecot, env: dict[str, str]):
        self.args = args
        self.dovecot = dovecot
        self.env = env
        self.watcher: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.account_ids: list[int] = []
        self.rows: list[tuple[str, str, str]] = []
        self.logs = Path(tempfile.mkdtemp(prefix="postaci-bench-watch-"))

    # processes

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/celery"),
                "-A",
                "config",
                "worker",
                "--concurrency",
                str(self.args.concurrency),
                "-Q",
                "fetch_now,celery,poll",
                "--loglevel",
                self.env["LOG_LEVEL"],
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.logs / "worker.log", "wb"),  # noqa: SIM115
        )

    def start_watcher(self) -> float:
        started = time.monotonic()
        self.watcher = subprocess.Popen(
            [str(ROOT / ".venv/bin/python"), "manage.py", "watchmail"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.logs / "watcher.log", "ab"),  # noqa: SIM115
        )
        return started

    def stop_watcher(self) -> None:
        if self.watcher is not None and self.watcher.poll() is None:
            self.watcher.send_signal(signal.SIGTERM)
            try:
                self.watcher.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.watcher.kill()
                self.watcher.wait()
        self.watcher = None

    def stop_all(self) -> None:
        self.stop_watcher()
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            try:
                self.worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()

    # data

    def create_accounts(self) -> None:
        from cases.models import CaseDistribution, GroupAccountCases
        from crm.models import Team, TeamMembership, User
        from mailboxes.models import GroupEmailAccount, Security

        team = Team.objects.create(name="Support")
        for n in range(3):
            user = User.objects.create_user(f"agent{n}", email=f"agent{n}@example.org")
            TeamMembership.objects.create(team=team, user=user)
        for user in self.dovecot.users:
            account = GroupEmailAccount.objects.create(
                name=f"Support {user.username}",
                email_address=user.email,
                imap_host=self.dovecot.host,
                imap_port=self.dovecot.tls_port if self.args.tls else self.dovecot.port,
                imap_security=Security.SSL if self.args.tls else Security.NONE,
                imap_username=user.username,
                imap_password=user.password,
            )
            GroupAccountCases.objects.update_or_create(
                account=account,
                defaults={
                    "create_case": True,
                    "target_team": team,
                    "case_distribution": CaseDistribution.ROUND_ROBIN,
                },
            )
            self.account_ids.append(account.pk)

    # waiting

    def live_accounts(self) -> int:
        from django.db import close_old_connections

        from mailboxes.models import MailAccount

        close_old_connections()
        return MailAccount.objects.filter(watched_at__isnull=False).count()

    def wait_live(self, timeout: float = 600) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.watcher is not None and self.watcher.poll() is not None:
                raise SystemExit(f"watchmail exited; see {self.logs}/watcher.log")
            if self.live_accounts() == len(self.account_ids):
                return True
            time.sleep(0.2)
        return False

    def fetched_since(self, moment) -> int:
        from mailboxes.models import MailAccount

        return MailAccount.objects.filter(last_fetch_at__gte=moment).count()

    def wait_queue_empty(self, timeout: float = 600) -> None:
        """Until no fetch is queued and nothing has finished for a second."""
        from mailboxes.models import MailAccount

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not MailAccount.objects.filter(fetch_queued_at__isnull=False).exists():
                return
            time.sleep(0.2)

    # phases

    def phase_first_start(self) -> None:
        from django.utils import timezone

        moment = timezone.now()
        started = self.start_watcher()
        live = self.wait_live()
        connect = time.monotonic() - started
        deadline = time.monotonic() + 300  # every account's first fetch has ended
        while self.fetched_since(moment) < len(self.account_ids) and time.monotonic() < deadline:
            time.sleep(0.5)
        fetched = self.fetched_since(moment)
        self.rows.append(("first start: all live", f"{connect:.1f} s" if live else "never", ""))
        self.rows.append(("first start: fetches (none fetched before)", str(fetched), ""))

    def phase_restart(self) -> None:
        from django.utils import timezone

        self.stop_watcher()
        moment = timezone.now()
        started = self.start_watcher()
        live = self.wait_live()
        connect = time.monotonic() - started
        time.sleep(3)
        self.wait_queue_empty()
        fetched = self.fetched_since(moment)
        self.rows.append(("restart: all live again", f"{connect:.1f} s" if live else "never", ""))
        self.rows.append(("restart: fetches queued (nothing new)", str(fetched), "0"))

    def phase_idle(self) -> None:
        pid = self.watcher.pid
        time.sleep(5)  # let the connect work settle
        cpu_before, wall_before = _cpu_seconds(pid), time.monotonic()
        peak = 0.0
        while time.monotonic() - wall_before < self.args.idle_seconds:
            peak = max(peak, _rss_mb(pid))
            time.sleep(1)
        cpu = (_cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before) * 100
        peak = max(peak, _rss_mb(pid))
        self.rows.append(("watcher resident memory", f"{peak:.0f} MB", f"< {GOALS['rss_mb']} MB"))
        self.rows.append(("watcher CPU while idle", f"{cpu:.2f} %", f"< {GOALS['idle_cpu']:.0f} %"))
        self.rows.append(
            ("watcher threads / open files", f"{_threads(pid)} / {_open_files(pid)}", "")
        )

    def phase_burst(self) -> None:
        from django.db import close_old_connections, connection

        from cases.models import Case

        targets = list(zip(self.dovecot.users, self.account_ids, strict=True))[: self.args.burst]
        wanted = {account_id for _user, account_id in targets}
        delivered: dict[int, float] = {}
        delivered_wall: dict[int, float] = {}
        visible: dict[int, float] = {}
        done = threading.Event()

        def watch_cases() -> None:
            try:
                while not done.is_set() and len(visible) < len(wanted):
                    seen = Case.objects.filter(group_account_id__in=wanted).values_list(
                        "group_account_id", flat=True
                    )
                    now = time.monotonic()
                    for account_id in seen:
                        visible.setdefault(account_id, now)
                    time.sleep(0.05)
            finally:
                connection.close()

        close_old_connections()
        watcher = threading.Thread(target=watch_cases)
        watcher.start()
        messages = [_message(n) for n in range(len(targets))]
        started = time.monotonic()
        for (user, account_id), message in zip(targets, messages, strict=True):
            if self.args.spacing:
                time.sleep(self.args.spacing)
            self.dovecot.deliver(user, message)
            delivered[account_id] = time.monotonic()
            delivered_wall[account_id] = time.time()
        deliver_seconds = time.monotonic() - started
        watcher.join(timeout=120)
        done.set()
        latencies = sorted(visible[a] - delivered[a] for a in wanted if a in visible)
        missing = len(wanted) - len(latencies)
        if not latencies:
            self.rows.append(("burst: cases visible", "none", ""))
            return
        p50 = statistics.median(latencies)
        p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
        self.rows.append(
            (
                f"burst of {len(targets)} (delivered in {deliver_seconds:.1f} s): p50",
                f"{p50:.2f} s",
                "",
            )
        )
        self.rows.append(
            (
                "burst: p95 delivery -> case visible",
                f"{p95:.2f} s" + (f" ({missing} never)" if missing else ""),
                f"<= {GOALS['burst_p95']:.0f} s",
            )
        )
        self.rows.append(("burst: max", f"{latencies[-1]:.2f} s", ""))
        first_delivery = min(delivered.values())
        last_visible = max(visible.values())
        self.rows.append(
            (
                "burst: cases per second (first delivery -> last case)",
                f"{len(latencies) / (last_visible - first_delivery):.1f}",
                "",
            )
        )

    def run_poll(self) -> tuple[int, float]:
        """beat's poll of the group accounts; the time until the fetches it queued ended."""
        from django.db import close_old_connections
        from django.utils import timezone

        from mailboxes.tasks import poll_group_accounts

        close_old_connections()
        moment = timezone.now()
        started = time.monotonic()
        queued = poll_group_accounts.run()
        while queued and self.fetched_since(moment) < queued:
            if time.monotonic() - started > 600:
                break
            time.sleep(0.05)
        return queued, time.monotonic() - started

    def phase_poll(self) -> None:
        queued, seconds = self.run_poll()
        self.rows.append(("poll, all watched live: fetches queued", str(queued), "0"))
        self.stop_watcher()  # its accounts are no longer watched: the poll takes them all
        time.sleep(1)
        queued, seconds = self.run_poll()
        self.rows.append(
            (
                f"poll of {queued} idle accounts, {self.args.concurrency} worker processes",
                f"{seconds:.1f} s",
                f"< {GOALS['poll_seconds']:.0f} s",
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument(
        "--spacing", type=float, default=0, help="seconds between deliveries (0: a burst)"
    )
    parser.add_argument("--tls", action="store_true", help="accounts on IMAPS (implicit TLS)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (2)")
    args = parser.parse_args()
    args.burst = min(args.burst, args.accounts)

    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    database_url = _database_url()
    _recreate_database(database_url)
    key_prefix = f"postaci-bench-watch-{secrets.token_hex(4)}:"
    broker_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")

    with BenchDovecot(users=args.accounts, tls=args.tls) as dovecot:
        env = _environment(database_url, broker_url, key_prefix)
        if args.tls:
            env["POSTACI_MAIL_CA_FILE"] = dovecot.cert_path
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        bench = Bench(args, dovecot, env)
        try:
            bench.create_accounts()
            bench.start_worker()
            bench.phase_first_start()
            bench.phase_restart()
            bench.phase_idle()
            bench.phase_burst()
            bench.phase_poll()
        finally:
            bench.stop_all()
            from django.db import connections

            connections.close_all()
            _delete_keys(broker_url, key_prefix)
            _drop_database(database_url)

    width = max(len(row[0]) for row in bench.rows)
    print(
        f"bench/watch.py: {args.accounts} accounts{' on IMAPS' if args.tls else ''}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}, DB_CONN_MAX_AGE={env['DB_CONN_MAX_AGE']}, "
        f"load average before: {load_before}"
    )
    print(f"{'measure'.ljust(width)}  {'result':>16}  goal")
    for name, result, goal in bench.rows:
        print(f"{name.ljust(width)}  {result:>16}  {goal}")
    print(f"logs of the watcher and the worker: {bench.logs}")


def _delete_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


if __name__ == "__main__":
    main()
