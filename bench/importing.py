"""Importing an mbox with ``manage.py importmail``: messages/second and the process's memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postaci .venv/bin/python bench/importing.py 1000
    ... bench/importing.py 1000 --gigabytes 1     # a ~1 GB mbox: peak RSS of the import

Generates N messages with the shared corpus generator (as bench/intake.py does, seed
20241127) and writes them as one mboxrd file; with ``--gigabytes G`` the file is grown to
about G GB by repeating them under new Message-IDs and adding, every 13th message, one with
a 1 MB attachment (the same bytes each time, so the attachment store holds one file while
the journal and the reader see the whole gigabyte). Then, on a throw-away database
``<name>_importbench`` beside the one DATABASE_URL names, migrated once per run, it runs the
whole process ``manage.py importmail --account ID FILE`` on a group account (history, no
cases) from spawn to exit, counting its SQL statements (bench/count_sql.py) and its peak RSS
(its own VmHWM), and then the same import again (everything a duplicate; not with
``--once``). ``BENCH_PROFILE_FILE=FILE`` runs the import under cProfile (count_sql.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_MESSAGE_ID = re.compile(rb"^Message-ID: <([^>\r\n]*)>", re.IGNORECASE | re.MULTILINE)
_FROM_QUOTE = re.compile(rb"^(>*From )", re.MULTILINE)
ATTACHMENT = bytes(range(256)) * 4096  # 1 MB


def mboxrd_entry(raw: bytes, number: int) -> bytes:
    body = _FROM_QUOTE.sub(rb">\1", raw)
    if not body.endswith(b"\n"):
        body += b"\n"
    return f"From bench{number}@example.test Mon Dec  2 10:00:00 2024\n".encode() + body + b"\n"


def large_message(number: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Customer {number} <customer{number}@example.com>"
    message["To"] = "support@helpdesk.example.com"
    message["Subject"] = f"Scanned documents {number}"
    message["Date"] = "Mon, 02 Dec 2024 10:00:00 +0000"
    message["Message-ID"] = f"<large-{number}@bench.example>"
    message.set_content("The scans are attached.\n")
    message.add_attachment(ATTACHMENT, maintype="application", subtype="pdf", filename="scan.pdf")
    return message.as_bytes()


def write_mbox(path: Path, messages: list[bytes], gigabytes: float) -> int:
    """Write the mbox; return how many messages it holds."""
    target = int(gigabytes * 1024**3)
    count = 0
    with path.open("wb") as out:
        for raw in messages:
            count += 1
            out.write(mboxrd_entry(raw, count))
        copy = 0
        while out.tell() < target:
            copy += 1
            for raw in messages:
                count += 1
                if count % 13 == 0:
                    out.write(mboxrd_entry(large_message(count), count))
                    continue
                renamed = _MESSAGE_ID.sub(
                    lambda m, c=copy: b"Message-ID: <copy%d.%s>" % (c, m.group(1)), raw, count=1
                )
                out.write(mboxrd_entry(renamed, count))
                if out.tell() >= target:
                    break
    return count


def import_process(account_id: int, path: Path) -> tuple[float, int, int, dict]:
    """``manage.py importmail`` as its own process: wall time, statements, peak RSS (kB)."""
    with tempfile.TemporaryDirectory(prefix="postaci-import-") as directory:
        count_file = Path(directory) / "statements"
        command = [sys.executable, str(ROOT / "bench" / "count_sql.py"), str(count_file)]
        started = time.perf_counter()
        done = subprocess.run(
            [
                *command,
                "manage.py",
                "importmail",
                "--account",
                str(account_id),
                "--json",
                str(path),
            ],
            cwd=ROOT,
            env=dict(os.environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"importmail exited {done.returncode}:\n{done.stdout}\n{done.stderr[-3000:]}")
        statements, peak_rss_kb = (int(n) for n in count_file.read_text().split()[:2])
    [result] = json.loads(done.stdout.strip().splitlines()[-1])
    return seconds, statements, peak_rss_kb, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", type=int, nargs="?", default=1000)
    parser.add_argument("--gigabytes", type=float, default=0.0)
    parser.add_argument("--once", action="store_true", help="not the second import")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench import intake

    messages = intake.generate_corpus(args.count)
    database = intake.bench_database_url("_importbench", "bench/importing.py")
    intake.configure_environment(database)
    with tempfile.TemporaryDirectory(prefix="postaci-mbox-") as directory:
        os.environ["MEDIA_ROOT"] = str(Path(directory) / "media")
        import django

        django.setup()
        from django.conf import settings

        path = Path(directory) / "archive.mbox"
        count = write_mbox(path, messages, args.gigabytes)
        size = path.stat().st_size
        print(
            f"mbox: {count:,} messages, {size / 1024**2:,.1f} MB; batch "
            f"{settings.POSTACI_FETCH_BATCH_SIZE} messages / "
            f"{settings.POSTACI_FETCH_BATCH_BYTES // 1024**2} MB",
            flush=True,
        )
        template = intake.migrate_template(database)
        intake.fresh_database(database, template)
        from mailboxes.models import GroupEmailAccount

        account = GroupEmailAccount.objects.create(
            name="Support", email_address=intake.SUPPORT_ADDRESS
        )
        from django.db import connections

        connections.close_all()
        for label in ("import", "same file again")[: 1 if args.once else 2]:
            seconds, statements, rss, result = import_process(account.pk, path)
            print(
                f"{label}: {result['messages']:,} messages in {seconds:.1f} s = "
                f"{result['messages'] / seconds:,.0f} msg/s "
                f"({size / 1024**2 / seconds:,.1f} MB/s); "
                f"imported {result['imported']:,}, duplicates {result['duplicates']:,}, "
                f"quarantined {result['quarantined']}; "
                f"{statements / max(result['messages'], 1):.2f} SQL statements per message; "
                f"peak RSS {rss / 1024:.0f} MB",
                flush=True,
            )
        intake.drop_database(database)
        intake.drop_database(template)


if __name__ == "__main__":
    main()
