"""``manage.py oauth_providers``: create or update the OAuth providers listed in
``POSTACI_OAUTH_PROVIDERS`` (run it at deploy, after ``migrate``)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mailboxes.connection.oauth import providers_from_environment


class Command(BaseCommand):
    help = "Create or update the email providers listed in POSTACI_OAUTH_PROVIDERS."

    def handle(self, *args, **options):
        try:
            names = providers_from_environment(settings.POSTACI_OAUTH_PROVIDERS)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{len(names)} provider(s) from the environment: {', '.join(names)}")
