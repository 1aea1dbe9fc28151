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
``BENCH_WITHOUT_SEARCH_INDEX`` set the intake writes no search documents (step 6b off); with
``BENCH_SQL_TIMES=FILE`` the wall time of each statement is added up by its start and
appended to FILE, slowest first.
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


sql_times: dict[str, list[float]] = {}


def _timing(method: Callable, kind: str) -> Callable:
    """BENCH_SQL_TIMES: add up the wall time of each statement, by its first 90 characters
    (a COPY from its start to the end of its block: what the client waits for)."""
    import contextlib
    import time

    def key(args: tuple) -> str:
        query = args[1] if len(args) > 1 else ""
        if not isinstance(query, str):
            query = query.as_string(None) if hasattr(query, "as_string") else str(query)
        return f"{kind} {' '.join(query.split())[:90]}"

    def note(name: str, started: float) -> None:
        entry = sql_times.setdefault(name, [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - started

    if kind == "copy":

        @contextlib.contextmanager
        def timed_copy(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            with method(*args, **kwargs) as copy:
                yield copy
            note(key(args), started)

        return timed_copy

    @functools.wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            note(key(args), started)

    return timed


def install_timer() -> None:
    psycopg.Cursor.execute = _timing(psycopg.Cursor.execute, "exec")
    psycopg.Cursor.executemany = _timing(psycopg.Cursor.executemany, "many")
    psycopg.Cursor.copy = _timing(psycopg.Cursor.copy, "copy")


def write_sql_times(path: str) -> None:
    lines = sorted(sql_times.items(), key=lambda item: -item[1][1])
    total = sum(seconds for _count, seconds in sql_times.values())
    text = [f"{total:8.4f} s in {sum(c for c, _s in sql_times.values())} statements"]
    text += [f"{seconds:8.4f} s {count:5d}x  {name}" for name, (count, seconds) in lines]
    with Path(path).open("a") as out:  # each process of a run after the other
        out.write("\n".join(text) + "\n\n")


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
    times_file = os.environ.get("BENCH_SQL_TIMES")
    if times_file:
        install_timer()
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
        if times_file:
            write_sql_times(times_file)


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
