from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_migrations_are_complete():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_ensure_admin_creates_one_admin_once(capsys):
    from crm.models import User

    call_command("ensure_admin")
    call_command("ensure_admin")
    assert User.objects.filter(is_superuser=True).count() == 1
    assert "created with password" in capsys.readouterr().out
