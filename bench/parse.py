"""Parse throughput (pipeline step 3) against the stdlib, measured in one run.

For each corpus (a directory searched for ``*.eml``), best of five passes of each, taking
turns:

1. the stdlib alone: ``email.message_from_bytes(raw, policy=compat32)``, the cheapest
   complete parse the stdlib offers (it decodes nothing);
2. ``parse_message``: what the intake stores (headers decoded, bodies and attachments
   decoded, defects noted).

Prints both rates and their ratio. Defaults to the generated support corpus (made on the fly
with ``../shared/bench/gen_corpus.py 1000 <tmp> 20241127``) and the real-world corpus in
``../shared/corpus``. ``BENCH_PROFILE=1`` adds a profile of ``parse_message``. Usage::

    .venv/bin/python bench/parse.py [DIR ...]
"""

from __future__ import annotations

import cProfile
import email
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from email import policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSTACI_SHARED_DIR") or ROOT.parent / "shared")
sys.path.insert(0, str(ROOT))


def _best_rates(count: int, runs: list[Callable[[], object]], rounds: int = 5) -> list[float]:
    """Messages per second of each run, best of ``rounds``; the runs take turns in every
    round, so a busy machine slows them alike."""
    best = [float("inf")] * len(runs)
    for _ in range(rounds):
        for n, run in enumerate(runs):
            started = time.perf_counter()
            run()
            best[n] = min(best[n], time.perf_counter() - started)
    return [count / seconds for seconds in best]


def _generated_corpus(into: str) -> Path:
    target = Path(into) / "support"
    subprocess.run(
        [sys.executable, str(SHARED / "bench/gen_corpus.py"), "1000", str(target), "20241127"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return target


def measure(directory: Path) -> None:
    from mailboxes.intake.parse import parse_message

    messages = [path.read_bytes() for path in sorted(directory.rglob("*.eml"))]
    if not messages:
        raise SystemExit(f"{directory}: no *.eml files")
    size = sum(map(len, messages))
    for raw in messages:  # warm up: imports, codecs, the re module's cache of fixed patterns
        parse_message(raw)
    stdlib, ours = _best_rates(
        len(messages),
        [
            lambda: [email.message_from_bytes(raw, policy=policy.compat32) for raw in messages],
            lambda: [parse_message(raw) for raw in messages],
        ],
    )
    print(f"{directory}: {len(messages)} messages, {size / 1e6:.2f} MB")
    print(f"  stdlib message_from_bytes (compat32): {stdlib:8.0f} msgs/s")
    print(f"  parse_message:                        {ours:8.0f} msgs/s")
    print(f"  ratio parse_message/stdlib:           {ours / stdlib:8.2f}")
    if os.environ.get("BENCH_PROFILE"):
        profiler = cProfile.Profile()
        profiler.enable()
        for raw in messages:
            parse_message(raw)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main(directories: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    with tempfile.TemporaryDirectory() as tmp:
        targets = [Path(d) for d in directories] or [_generated_corpus(tmp), SHARED / "corpus"]
        for directory in targets:
            measure(directory)


if __name__ == "__main__":
    main(sys.argv[1:])
