"""Where the tests find the read-only shared data: ``../shared`` beside the repository,
or ``POSTACI_SHARED_DIR`` when it lives elsewhere."""

import os
from pathlib import Path

SHARED_DIR = Path(
    os.environ.get("POSTACI_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared"
)
CORPUS = SHARED_DIR / "corpus"

if not CORPUS.is_dir():  # a corpus test must never pass by finding no files
    raise RuntimeError(
        f"The shared corpus is not at {CORPUS}: set POSTACI_SHARED_DIR to the shared folder"
    )
