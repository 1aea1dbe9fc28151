"""mailtemplates is built on crm and mailboxes only, and nothing below it imports it: its
picker reaches compose forms through mailboxes' compose tools registry."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_apps(app: str) -> set[str]:
    """The top-level packages imported anywhere in ``app`` (modules and their functions)."""
    found = set()
    for path in (ROOT / app).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def test_no_other_app_imports_mailtemplates():
    for app in ("crm", "mailboxes", "cases", "filters"):
        assert "mailtemplates" not in imported_apps(app), app


def test_mailtemplates_imports_only_crm_and_mailboxes_of_postacis_apps():
    assert imported_apps("mailtemplates") & {"cases", "filters", "config"} == set()
