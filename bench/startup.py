"""Start-up of the fetch command, against Python's and Django's own, measured side by side.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postaci .venv/bin/python bench/startup.py
    ... bench/startup.py --runs 20
    ... bench/startup.py --importtime 30     # then the fetch's 30 slowest imports, cumulative

Needs ``requirements.txt`` and PostgreSQL. It creates and migrates a throw-away database
``<name>_startup`` beside the one DATABASE_URL names (no accounts in it; ``--keep`` keeps
it), runs each command once to write a bytecode cache of its own (``PYTHONPYCACHEPREFIX``:
a deployment reads its ``.pyc`` files, whatever ``PYTHONDONTWRITEBYTECODE`` says here), then
``--runs`` times (10), taking turns:

- ``python -c pass``: the interpreter alone;
- ``python -c "import django; django.setup()"`` with Postaci's settings: Django and the apps;
- ``python manage.py fetchmail --all``: the whole fetch command with nothing to fetch (the
  database has no account, so it ends with "Name accounts with --account ID, or use --all.",
  after its checks and its query for the active accounts).

Each is a fresh process; its CPU time (user + system, from ``os.wait4``: the machine's other
load disturbs it less than the wall time) and its wall time from spawn to exit are printed
as best and median, with the load average beside them. ``--importtime N`` then runs the
fetch ``--importtime-runs`` times (5) under ``python -X importtime`` (with
``importlib.import_module`` routed through ``__import__`` so that the apps Django loads are
counted) and prints the N slowest imports (median cumulative time, with the module that
first imported each) and the own import time of each top-level package.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.intake import (  # noqa: E402
    _admin,
    _name,
    bench_database_url,
    configure_environment,
)

NO_ACCOUNTS = "Name accounts with --account ID, or use --all."
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "django.setup()": ["-c", "import django; django.setup()"],
    "fetchmail --all": ["manage.py", "fetchmail", "--all"],
}


# every process reads its modules' bytecode from a cache of the benchmark's own (written by
# the warm-up runs), as a deployment does, even under PYTHONDONTWRITEBYTECODE
CHILD_ENVIRONMENT: dict[str, str] = {}


@dataclass
class Times:
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)


def run_once(arguments: list[str], *, expect: str = "") -> tuple[float, float, str]:
    """Run ``python ARGUMENTS`` in a fresh process: (CPU seconds, wall seconds, its stderr)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *arguments],
        cwd=ROOT,
        env=os.environ | CHILD_ENVIRONMENT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    error = process.stderr.read().decode()
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0 and not (expect and expect in error):
        sys.exit(f"python {' '.join(arguments)} exited {code}:\n{error}")
    return usage.ru_utime + usage.ru_stime, wall, error


def expected(name: str) -> str:
    return NO_ACCOUNTS if name == "fetchmail --all" else ""


def migrate(database: str) -> None:
    """A fresh database of the benchmark's own, migrated by a process of its own."""
    name = _name(database)
    _admin(database, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        check=True,
    )


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# -X importtime times only the imports of an import statement: Django loads the apps, their
# models and the command by importlib.import_module, which it would not see
IMPORTTIME_WRAPPER = """
import importlib, os, runpy, sys
plain = importlib.import_module
def import_module(name, package=None):
    if name.startswith("."):
        return plain(name, package)
    __import__(name)
    return sys.modules[name]
importlib.import_module = import_module
sys.path[0] = os.getcwd()
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def import_times(count: int, runs: int) -> None:
    """The fetch's slowest imports under ``-X importtime`` (median of ``runs``), each with the
    module that first imported it, and each top-level package's own import time."""
    own_times: dict[str, list[int]] = {}
    cumulative_times: dict[str, list[int]] = {}
    importer: dict[str, str] = {}
    for _ in range(runs):
        command = ["-X", "importtime", "-c", IMPORTTIME_WRAPPER, *COMMANDS["fetchmail --all"]]
        _cpu, _wall, error = run_once(command, expect=NO_ACCOUNTS)
        rows = []  # (depth, module) in the order Python reports them
        for line in error.splitlines():
            if not line.startswith("import time:") or "imported package" in line:
                continue
            own, cumulative, name = line[len("import time:") :].split("|")
            module = name.strip()
            rows.append(((len(name) - len(name.lstrip())) // 2, module))
            own_times.setdefault(module, []).append(int(own))
            cumulative_times.setdefault(module, []).append(int(cumulative))
        # a module is reported after its imports: its importer is the next row one level up
        parents: dict[int, str] = {}
        for depth, module in reversed(rows):
            parents[depth] = module
            importer.setdefault(module, parents[depth - 1] if depth else "(run time)")
    own = {module: statistics.median(times) for module, times in own_times.items()}
    cumulative = {module: statistics.median(times) for module, times in cumulative_times.items()}
    print(
        f"\n-X importtime of fetchmail --all, median of {runs} runs: {len(own)} modules, "
        f"{sum(own.values()) / 1e6:.3f} s in all; load average {load()}"
    )
    print(f"{'cumulative':>10} {'own':>8}  module  ← first imported by")
    for module in sorted(cumulative, key=lambda module: -cumulative[module])[:count]:
        print(
            f"{cumulative[module] / 1e3:8.1f}ms {own[module] / 1e3:6.1f}ms  {module}"
            f"  ← {importer[module]}"
        )
    packages: dict[str, float] = {}
    for module, microseconds in own.items():
        top = module.split(".")[0]
        packages[top] = packages.get(top, 0) + microseconds
    print("\nown import time by top-level package:")
    for top in sorted(packages, key=lambda top: -packages[top])[:count]:
        print(f"{packages[top] / 1e3:8.1f}ms  {top}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--importtime", type=int, default=0, metavar="N")
    parser.add_argument("--importtime-runs", type=int, default=5, metavar="M")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    database = bench_database_url("_startup", "bench/startup.py")
    configure_environment(database)
    print(f"database {_name(database)}; load average {load()}", flush=True)
    migrate(database)
    cache = tempfile.TemporaryDirectory(prefix="postaci-startup-pycache-")
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    CHILD_ENVIRONMENT["PYTHONPYCACHEPREFIX"] = cache.name
    times = {name: Times() for name in COMMANDS}
    for name, arguments in COMMANDS.items():  # warm the bytecode cache and the page cache
        run_once(arguments, expect=expected(name))
    for _ in range(args.runs):
        for name, arguments in COMMANDS.items():
            cpu, wall, _error = run_once(arguments, expect=expected(name))
            times[name].cpu.append(cpu)
            times[name].wall.append(wall)
    if args.runs:
        print(f"{args.runs} runs each, taking turns; load average after {load()}")
        print(f"{'':18} {'CPU best':>9} {'median':>9} {'wall best':>10} {'median':>9}")
        for name, measured in times.items():
            print(
                f"{name:18} {min(measured.cpu):8.3f}s {statistics.median(measured.cpu):8.3f}s"
                f" {min(measured.wall):9.3f}s {statistics.median(measured.wall):8.3f}s"
            )
        fetch, setup = times["fetchmail --all"], times["django.setup()"]
        print(
            f"fetchmail / django.setup(), CPU median: "
            f"{statistics.median(fetch.cpu) / statistics.median(setup.cpu):.2f}"
        )
    if args.importtime:
        import_times(args.importtime, args.importtime_runs)
    if not args.keep:
        _admin(database, f'DROP DATABASE IF EXISTS "{_name(database)}" WITH (FORCE)')
    cache.cleanup()


if __name__ == "__main__":
    main()
