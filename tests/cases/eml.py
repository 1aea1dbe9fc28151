"""Corpus access for the cases tests: files parsed by the real intake parser."""

from __future__ import annotations

from pathlib import Path

from mailboxes.intake.parse import ParsedMessage, parse_message


def parse_eml(raw: bytes) -> ParsedMessage:
    return parse_message(raw)


def parse_file(path: Path | str) -> ParsedMessage:
    return parse_message(Path(path).read_bytes())
