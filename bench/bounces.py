"""How many bounces of the sisimai corpus the bounce reader understands, per family.

For every file of ``../shared/corpus/sisimai/bsd`` (and ``not/``): step 3 parses it, step 4
classifies it, and for those classified as bounces ``mailboxes.bounces.read`` reads the failed
recipients. A file counts as *read* when at least one failed recipient with a hard/soft class
was found. Families whose files must never invalidate an address (rfc3834 out-of-office, arf
feedback reports, SES delivery notices, the not-bounce files) are listed with what they gave,
which must be nothing.

    .venv/bin/python bench/bounces.py [-v]
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSTACI_SHARED_DIR") or ROOT.parent / "shared")
CORPUS = SHARED / "corpus" / "sisimai"

# Files that must give no failure at all (see mailboxes.bounces).
NEVER = ("rfc3834-", "arf-", "lhost-amazonses-12", "lhost-amazonses-13", "is-not-bounce-")


def family(name: str) -> str:
    for prefix in ("lhost", "rhost", "rfc3464", "rfc3834", "arf"):
        if name.startswith(prefix):
            return prefix
    return "not"


def must_give_nothing(name: str) -> bool:
    return name.startswith(NEVER)


def measure(verbose: bool = False) -> dict[str, dict[str, int]]:
    """Per family: files, classified as bounce, read (recipient and class), wrongly read."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from mailboxes.bounces.reading import failures_of

    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    files = sorted((CORPUS / "bsd").glob("*.eml")) + sorted((CORPUS / "not").glob("*.eml"))
    for path in files:
        name = path.name
        row = table[family(name)]
        row["files"] += 1
        kind, failures = failures_of(path.read_bytes())
        row["bounce"] += kind == "bounce"
        if failures:
            row["read"] += 1
            if must_give_nothing(name):
                row["wrong"] += 1
        if verbose:
            shown = ", ".join(
                f"{f.address} {'hard' if f.hard else 'soft'} {f.status}" for f in failures
            )
            print(f"{name:32} {kind or '-':14} {shown or 'NOTHING'}")
    return table


def main() -> None:
    table = measure(verbose="-v" in sys.argv)
    print(f"{'family':10} {'files':>6} {'bounce':>7} {'read':>6} {'read %':>7} {'wrong':>6}")
    for name in ("lhost", "rhost", "rfc3464", "arf", "rfc3834", "not"):
        row = table[name]
        share = 100 * row["read"] / row["files"] if row["files"] else 0
        print(
            f"{name:10} {row['files']:6} {row['bounce']:7} {row['read']:6} {share:6.1f}% "
            f"{row['wrong']:6}"
        )


if __name__ == "__main__":
    main()
