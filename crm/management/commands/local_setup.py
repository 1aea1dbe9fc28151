"""Prepare the zero-setup installation: ``var/``, the broker folders and development keys."""

from django.conf import settings
from django.core.management.base import BaseCommand

from config.local import local_setup


class Command(BaseCommand):
    help = (
        "Create var/ (SQLite file, filesystem broker, locks) and the development keys "
        "used with the local SQLite database. Never replaces an existing key."
    )
    # Runs before the keys exist, which the checks would report.
    requires_system_checks = []

    def handle(self, *args, **options):
        written = local_setup(settings.VAR_DIR)
        for name in written:
            self.stdout.write(f"Wrote a new development key: {settings.VAR_DIR / name}")
