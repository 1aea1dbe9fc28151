"""Import ``.mbox`` archives and ``.eml`` files: ``manage.py importmail --account ID FILE...``.

The files are read where they are (nothing is copied or uploaded) and go through the same
import as an upload in the UI (mailboxes/intake/importing.py), one ``MailImport`` each, with
a progress bar on a terminal. ``--resume IMPORT_ID`` goes on with an import that was
interrupted (it starts after its last committed batch).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from django.core.checks import Tags
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from mailboxes.models import MailAccount, MailImport


def import_line(mail_import: MailImport) -> str:
    """One line saying what an import did."""
    text = _(
        "%(name)s: %(messages)d messages, imported %(imported)d, duplicates %(duplicates)d, "
        "skipped %(skipped)d, quarantined %(quarantined)d"
    ) % {
        "name": mail_import.file_name,
        "messages": mail_import.messages,
        "imported": mail_import.imported,
        "duplicates": mail_import.duplicates,
        "skipped": mail_import.skipped,
        "quarantined": mail_import.quarantined,
    }
    if mail_import.status == MailImport.Status.FAILED:
        text += " — " + str(mail_import.error)
    return text


class Command(BaseCommand):
    help = (
        "Import .mbox archives and .eml files into a mail account as history (no "
        "notifications, no auto-replies), with a progress bar."
    )
    requires_system_checks = [Tags.security, Tags.database]

    def add_arguments(self, parser):
        parser.add_argument("--account", type=int, metavar="ID", help="the mail account")
        parser.add_argument("files", nargs="*", metavar="FILE", help=".mbox or .eml files")
        parser.add_argument(
            "--cases", action="store_true", help="let email-to-case open cases (default: not)"
        )
        parser.add_argument("--resume", type=int, metavar="IMPORT_ID", help="go on with one")
        parser.add_argument("--json", action="store_true", help="print the results as JSON")

    def handle(self, *args, **options):
        from mailboxes.intake.importing import mail_import_create, mail_import_run

        if options["resume"]:
            imports = list(MailImport.objects.filter(pk=options["resume"]))
            if not imports:
                raise CommandError(f"No such import: {options['resume']}")
        else:
            if not options["account"] or not options["files"]:
                raise CommandError("Name the account with --account ID and one or more files.")
            account = MailAccount.objects.filter(pk=options["account"]).first()
            if account is None:
                raise CommandError(f"No such account: {options['account']}")
            paths = [Path(name) for name in options["files"]]
            missing = [str(p) for p in paths if not p.is_file()]
            if missing:
                raise CommandError(f"No such file: {', '.join(missing)}")
            imports = [
                mail_import_create(
                    account=account,
                    path=path.resolve(),
                    file_name=path.name,
                    open_cases=options["cases"],
                    owns_file=False,  # read where it is, never deleted
                )
                for path in paths
            ]

        show_bar = not options["json"] and sys.stderr.isatty()
        results, failed = [], False
        for mail_import in imports:
            started = time.monotonic()
            done = self._run(mail_import, show_bar, mail_import_run)
            seconds = time.monotonic() - started
            failed |= done.status == MailImport.Status.FAILED
            results.append((done, seconds))
            if not options["json"]:
                rate = done.messages / seconds if seconds else 0
                self.stdout.write(
                    f"{import_line(done)} ({seconds:.1f} s, {rate:.0f} msg/s; import {done.pk})"
                )
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    [
                        {
                            "import": done.pk,
                            "file": done.file_name,
                            "status": done.status,
                            "messages": done.messages,
                            "imported": done.imported,
                            "duplicates": done.duplicates,
                            "skipped": done.skipped,
                            "quarantined": done.quarantined,
                            "seconds": round(seconds, 3),
                            "error": str(done.error) if done.error else "",
                        }
                        for done, seconds in results
                    ]
                )
            )
        if failed:
            sys.exit(1)

    def _run(self, mail_import: MailImport, show_bar: bool, run) -> MailImport:
        """Run one import, with a progress bar by bytes of the file."""
        bar = None
        if show_bar:
            from tqdm import tqdm

            bar = tqdm(
                total=mail_import.size,
                initial=mail_import.position,
                unit="B",
                unit_scale=True,
                desc=mail_import.file_name[:30],
                file=sys.stderr,
            )

        def progress(current: MailImport) -> None:
            if bar is not None:
                bar.update(current.position - bar.n)
                bar.set_postfix(msgs=current.messages, refresh=False)

        done = run(mail_import.pk, progress=progress)
        if bar is not None:
            bar.update(done.size - bar.n if done.status == MailImport.Status.DONE else 0)
            bar.close()
        return done
