"""Run a script as ``python SCRIPT ARGS`` would, counting every SQL statement it sends.

    python bench/count_sql.py COUNT_FILE manage.py fetchmail --all

bench/intake.py times the whole process this way, so the figure is the real command's plus
a counter. The counter sits in psycopg's cursor (``execute``, each parameter set of
``executemany``, ``copy``), beneath Django, so it also sees the bulk ``COPY`` that Django's
``execute_wrapper`` never does, on every connection and thread. The count is written to
COUNT_FILE when the script ends, however it ends, followed by the process's own peak
resident memory in kB and the wall and CPU seconds of the management command itself (from its
``execute`` to the end: the process without the interpreter's and Django's start-up, which
is what a fetch costs in a worker that is already running). With ``BENCH_PROFILE_FILE``
set the script runs under cProfile and its stats are written there; with
``BENCH_WITHOUT_SEARCH_INDEX`` set the intake writes no search documents (step 6b off).
"""

from __future__ import annotations

import functools
import os
import runpy
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

statements = 0
command_started: tuple[float, float] | None = None  # perf_counter, process_time


def _counting(method: Callable, per_call: Callable[[tuple], int] = lambda args: 1) -> Callable:
    @functools.wraps(method)
    def counted(*args: Any, **kwargs: Any) -> Any:
        global statements
        statements += per_call(args)
        return method(*args, **kwargs)

    return counted


def _parameter_sets(args: tuple) -> int:
    params = args[2] if len(args) > 2 else ()
    return len(params) if hasattr(params, "__len__") else 1


def install_counter() -> None:
    """Count at the class level: Django's cursor classes subclass these."""
    psycopg.Cursor.execute = _counting(psycopg.Cursor.execute)
    psycopg.Cursor.executemany = _counting(psycopg.Cursor.executemany, _parameter_sets)
    psycopg.Cursor.copy = _counting(psycopg.Cursor.copy)
    psycopg.ServerCursor.execute = _counting(psycopg.ServerCursor.execute)


def install_command_clock() -> None:
    """Note when the management command starts, after the start-up."""
    from django.core.management.base import BaseCommand

    execute = BaseCommand.execute

    @functools.wraps(execute)
    def timed(*args: Any, **kwargs: Any) -> Any:
        global command_started
        command_started = command_started or (time.perf_counter(), time.process_time())
        return execute(*args, **kwargs)

    BaseCommand.execute = timed


def _command_seconds() -> str:
    if command_started is None:
        return "0 0"
    return (
        f"{time.perf_counter() - command_started[0]:.6f} "
        f"{time.process_time() - command_started[1]:.6f}"
    )


def main() -> None:
    count_file, script = sys.argv[1], sys.argv[2]
    sys.argv = sys.argv[2:]
    sys.path[0] = str(Path(script).resolve().parent)  # as ``python SCRIPT`` sets it
    install_counter()
    install_command_clock()
    if os.environ.get("BENCH_WITHOUT_SEARCH_INDEX"):
        _search_index_off()
    profile_file = os.environ.get("BENCH_PROFILE_FILE")
    profiler = None
    if profile_file:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile_file)
        Path(count_file).write_text(f"{statements} {_peak_rss_kb()} {_command_seconds()}")


def _search_index_off() -> None:
    """bench/intake.py --without-search-index: intake step 6b does nothing (its module,
    resolved by import path on first use, is a stub), to measure what the index costs."""
    import types

    stub = types.ModuleType("mailboxes.intake.index")
    stub.index_batch = lambda batch: None
    sys.modules["mailboxes.intake.index"] = stub


def _peak_rss_kb() -> int:
    """This process's own peak resident memory (VmHWM). Not ``ru_maxrss``: that keeps the
    high-water mark of the memory the process had before ``exec``, i.e. its parent's, which
    for a benchmark that holds the messages it appended is larger than the fetch's own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    main()
