"""The systemd units of deploy/systemd/ pass ``systemd-analyze verify``, as installed in
this checkout (their /srv/postaci paths pointed here, so the programs they start exist)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"


@pytest.fixture
def installed_units(tmp_path) -> list[Path]:
    paths = []
    for unit in sorted(UNITS.glob("*.service")):
        text = unit.read_text().replace("/srv/postaci", str(ROOT))
        name = unit.name.replace("@.service", "@0-2.service")  # a template's instance
        target = tmp_path / name
        target.write_text(text)
        paths.append(target)
    return paths


def test_units_pass_systemd_analyze_verify(installed_units):
    assert shutil.which("systemd-analyze"), "make test installs systemd (TEST_PACKAGES)"
    names = sorted(path.name for path in installed_units)
    assert names == [
        "postaci-beat.service",
        "postaci-watchmail@0-2.service",
        "postaci-web.service",
        "postaci-worker.service",
    ]
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, installed_units)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    problems = [
        line
        for line in result.stderr.splitlines()
        if "Unknown" in line or "ignoring" in line or "not executable" in line
    ]
    assert result.returncode == 0 and not problems, result.stderr


def test_the_watcher_unit_turns_its_instance_into_a_shard():
    text = (UNITS / "postaci-watchmail@.service").read_text()
    command = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    script = command.split("-c ", 1)[1].strip("'").replace("%i", "1-2")
    script = script.replace("exec /srv/postaci/.venv/bin/python manage.py watchmail", "echo")
    shown = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "--shard 1/2"
