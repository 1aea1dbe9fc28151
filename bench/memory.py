"""Peak memory of a whole fetch process: one 25 MB message, and a batch of 200 messages with
attachments, from a real Dovecot (the goal: under 200 MB resident for each).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postaci .venv/bin/python bench/memory.py
    ... bench/memory.py --attachment-kb 500 --batch 200 --cases

Needs ``requirements.txt`` only, Dovecot and PostgreSQL, like bench/intake.py (whose
database and process helpers it uses: a throw-away ``<name>_bench`` database, the fetch run
as its own ``manage.py fetchmail --all`` process, its peak RSS read from the kernel). Each
case starts from a fresh database and mailbox on a group account (with ``--cases``,
email-to-case) that has fetched once, appends the messages, then runs the fetch. Every
attachment is random bytes (nothing compresses), written to a temporary MEDIA_ROOT that is
removed at the end. Also prints the peak RSS of a fetch with nothing new, the floor that
start-up alone costs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import intake  # noqa: E402
from bench.dovecot import BenchDovecot  # noqa: E402

GOAL_MB = 200


def message(n: int, attachment_bytes: int) -> bytes:
    """A customer's message with one attachment of random bytes (base64 on the wire)."""
    mail = EmailMessage()
    mail["From"] = f"Müşteri {n} <customer{n}@example.com>"
    mail["To"] = intake.SUPPORT_ADDRESS
    mail["Subject"] = f"Fatura ekte {n}"
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = make_msgid(domain="customer.example.com")
    mail.set_content("Merhaba, faturam ekte. İyi çalışmalar.\n")
    mail.add_attachment(
        os.urandom(attachment_bytes),
        maintype="application",
        subtype="octet-stream",
        filename=f"fatura-{n}.bin",
    )
    return mail.as_bytes()


def run_case(
    dovecot: BenchDovecot, database: str, template: str, messages: list[bytes], *, cases: bool
) -> tuple[float, int]:
    """Peak RSS (MB) of the fetch of ``messages`` and the emails it stored."""
    from django.core.management import call_command

    from mailboxes.models import Attachment, Email

    intake.fresh_database(database, template)
    user = dovecot.add_user()
    intake.make_group_account(dovecot.host, dovecot.port, user.username, user.password, cases=cases)
    call_command("fetchmail", "--all", stdout=StringIO())  # the empty INBOX: now in use
    dovecot.append_many(user, messages, batch=20)
    fetch = intake.fetch_process(None)
    emails = Email.objects.count()
    if emails != len(messages) or Attachment.objects.filter(is_inline=False).count() != emails:
        sys.exit(f"the fetch stored {emails} of {len(messages)} messages with their attachments")
    return fetch.peak_rss_kb / 1024, emails


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--large-mb", type=float, default=25.0, help="the large message (25 MB)")
    parser.add_argument("--batch", type=int, default=200, help="messages in the batch (200)")
    parser.add_argument(
        "--attachment-kb", type=int, default=500, help="each batch message's attachment (500)"
    )
    parser.add_argument("--cases", action="store_true", help="email-to-case on the account")
    args = parser.parse_args()

    database = intake.bench_database_url()
    intake.configure_environment(database)
    media = Path(tempfile.mkdtemp(prefix="postaci-bench-media-"))
    os.environ["MEDIA_ROOT"] = str(media)
    import django

    django.setup()
    from django.conf import settings

    # the large message: an attachment whose base64 fills it up to --large-mb
    large_size = int(args.large_mb * 1_000_000)
    large = message(0, int(large_size * 3 / 4) - 2000)
    if len(large) > settings.POSTACI_MAX_MESSAGE_SIZE:
        sys.exit(f"{len(large):,} bytes is over POSTACI_MAX_MESSAGE_SIZE: it would not be fetched")
    batch = [message(n, args.attachment_kb * 1024) for n in range(1, args.batch + 1)]
    batch_mb = sum(len(m) for m in batch) / 1_000_000
    template = intake.migrate_template(database)
    rows = []
    try:
        with BenchDovecot() as dovecot:
            idle, _emails = run_case(dovecot, database, template, [], cases=args.cases)
            rows.append(("a fetch with nothing new (start-up)", idle, ""))
            peak, _emails = run_case(dovecot, database, template, [large], cases=args.cases)
            rows.append((f"one message of {len(large) / 1_000_000:.1f} MB", peak, GOAL_MB))
            peak, _emails = run_case(dovecot, database, template, batch, cases=args.cases)
            rows.append(
                (
                    f"{len(batch)} messages with a {args.attachment_kb} kB attachment each "
                    f"({batch_mb:.0f} MB; fetch batch {settings.POSTACI_FETCH_BATCH_SIZE})",
                    peak,
                    GOAL_MB,
                )
            )
    finally:
        intake.drop_database(template)
        intake.drop_database(database)
        shutil.rmtree(media, ignore_errors=True)
    kind = "with email-to-case" if args.cases else "without cases"
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"bench/memory.py: peak RSS of `manage.py fetchmail --all`, group account {kind}")
    print(f"(load average after: {load})")
    width = max(len(name) for name, _peak, _goal in rows)
    for name, peak, goal in rows:
        print(f"{name.ljust(width)}  {peak:6.0f} MB  {f'< {goal} MB' if goal else ''}")


if __name__ == "__main__":
    main()
