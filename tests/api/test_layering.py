"""Apps depend one way: nothing imports the API, and the apps under it never import the
webhooks (they publish crm.events; webhooks listens)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMPORT = re.compile(r"^\s*(?:from|import)\s+(api|webhooks)\b", re.MULTILINE)


@pytest.mark.parametrize("app", ["crm", "mailboxes", "cases", "filters", "mailtemplates"])
def test_lower_apps_import_neither_api_nor_webhooks(app):
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / app).rglob("*.py")
        if IMPORT.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_webhooks_does_not_import_the_api():
    for path in (ROOT / "webhooks").rglob("*.py"):
        assert not re.search(r"^\s*(?:from|import)\s+api\b", path.read_text(), re.MULTILINE)
