"""Create the first administrator if there is none.

The password comes from POSTACI_ADMIN_PASSWORD, or is generated and printed once.
"""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the first administrator (once); prints a generated password."

    def handle(self, *args, **options):
        user_model = get_user_model()
        if user_model.objects.filter(is_superuser=True).exists():
            self.stdout.write("An administrator exists already.")
            return
        username = os.environ.get("POSTACI_ADMIN_USERNAME", "admin")
        email = os.environ.get("POSTACI_ADMIN_EMAIL", "admin@localhost")
        password = os.environ.get("POSTACI_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, email=email, password=password)
        if os.environ.get("POSTACI_ADMIN_PASSWORD"):
            self.stdout.write(self.style.SUCCESS(f"Administrator '{username}' created."))
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Administrator '{username}' created with password: {password}\n"
                    "It is shown only this once; change it after logging in."
                )
            )
