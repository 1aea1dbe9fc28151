"""Parse throughput (pipeline step 3) against the stdlib and fast_mail_parser, in one run.

For each corpus (a directory searched for ``*.eml``), best of five passes of each, taking
turns:

1. the stdlib alone: ``email.message_from_bytes(raw, policy=compat32)``, the cheapest
   complete parse the stdlib offers (it decodes nothing);
2. fast_mail_parser alone, when installed (``pip install fast-mail-parser==0.10.0``; not a
   requirement): ``parse_email(raw)``, Rust mail-parser bindings, headers, bodies and
   attachments decoded;
3. ``parse_message``: what the intake stores (headers decoded, bodies and attachments
   decoded, defects noted), with its fast path for plain multipart messages
   (``_parse_plain_multipart``) and without it.

Then how many messages take the fast path and, with fast_mail_parser, per message whether
its own answers are what ``parse_message`` stores (subject, addresses,
Message-ID/In-Reply-To/References, date, text, HTML, attachments' names, types, bytes and
Content-IDs, every part's type, malformed or not), the fields that differ counted and the
reasons sorted.

Defaults to the generated support corpus (made on the fly with
``../shared/bench/gen_corpus.py 1000 <tmp> 20241127``) and the real-world corpus in
``../shared/corpus``. ``BENCH_PROFILE=1`` adds a profile of ``parse_message``. Usage::

    .venv/bin/python bench/parse.py [DIR ...]
"""

from __future__ import annotations

import contextlib
import cProfile
import email
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from email import policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSTACI_SHARED_DIR") or ROOT.parent / "shared")
sys.path.insert(0, str(ROOT))


def _best_rates(count: int, runs: list[Callable[[], object]], rounds: int = 5) -> list[float]:
    """Messages per second of CPU time of each run, best of ``rounds``; the runs take turns
    in every round, so a busy machine slows them alike (CPU time, not wall time: on the
    shared machine another process's work is not counted)."""
    best = [float("inf")] * len(runs)
    for _ in range(rounds):
        for n, run in enumerate(runs):
            started = time.process_time()
            run()
            best[n] = min(best[n], max(time.process_time() - started, 1e-9))
    return [count / seconds for seconds in best]


def _generated_corpus(into: str) -> Path:
    target = Path(into) / "support"
    subprocess.run(
        [sys.executable, str(SHARED / "bench/gen_corpus.py"), "1000", str(target), "20241127"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return target


def _fast_mail_parser_alone(raw: bytes):
    """All ``parse_email`` says, read as ``parse_message`` stores it."""
    fast_mail_parser = _fast_mail_parser()

    from crm.addresses import normalize_address
    from mailboxes.intake.parse import (
        _WS_RE,
        ParsedAddress,
        _default_filename,
        message_id_list,
        normalize_message_id,
    )

    def addresses(found):
        result, seen = [], set()
        for address in found:
            normalized = normalize_address(address.address or "")
            if normalized and normalized not in seen:
                seen.add(normalized)
                name = _WS_RE.sub(" ", (address.display_name or "").strip("'\" ")).strip()
                result.append(ParsedAddress(normalized, name[:255]))
        return result

    mail = fast_mail_parser.parse_email(raw)
    tree = fast_mail_parser.parse_email_tree(raw)
    headers = {name.lower(): values for name, values in mail.headers.items()}
    senders = addresses([mail.from_] if mail.from_ else [])
    attachments = []
    for n, part in enumerate(mail.attachments):
        content_id = (part.content_id or "").strip("<>")
        inline = bool(content_id) and (part.disposition or "").lower() != "attachment"
        filename = part.filename or _default_filename(part.mimetype, n)
        attachments.append((filename, part.mimetype, part.content, content_id, inline))
    return {
        "subject": _WS_RE.sub(" ", mail.subject).strip()[:998] or "(no subject)",
        "addresses": (
            senders[0] if senders else None,
            addresses(mail.to),
            addresses(mail.cc),
            addresses(mail.bcc),
            addresses(mail.reply_to),
        ),
        "ids": (
            normalize_message_id((headers.get("message-id") or [""])[0]),
            normalize_message_id((headers.get("in-reply-to") or [""])[0]),
            message_id_list(" ".join(headers.get("references", []))),
        ),
        "date": mail.date_parsed,
        "text": "\n".join(mail.text_plain).replace("\x00", ""),
        "html": "<br>".join(mail.text_html).replace("\x00", ""),
        "attachments": attachments,
        "part types": [part.content_type for part in fast_mail_parser.walk(tree)],
        "malformed": bool(mail.warnings),
    }, [warning.kind for warning in mail.warnings]


def _stored(parsed) -> dict:
    """What ``_fast_mail_parser_alone`` reads, from ``parse_message``'s answer."""
    sender = parsed.sender if parsed.sender and parsed.sender.address else None
    return {
        "subject": parsed.subject,
        "addresses": (sender, parsed.to, parsed.cc, parsed.bcc, parsed.reply_to),
        "ids": (
            "" if parsed.message_id_is_fingerprint else parsed.message_id,
            parsed.in_reply_to,
            parsed.references,
        ),
        "date": parsed.date,
        "text": parsed.body_text,
        "html": parsed.body_html,
        "attachments": [
            (a.filename, a.content_type, a.payload, a.content_id, a.is_inline)
            for a in parsed.attachments
            if a.parent is None
        ],
        "part types": parsed.part_types,
        "malformed": parsed.is_malformed,
    }


def _why(raw: bytes, parsed, warnings: list[str], differ: list[str]) -> str:
    """The first reason, in this order, that explains a difference."""
    if any(t.startswith("message/") or t == "text/rfc822-headers" for t in parsed.part_types):
        return "a bounce's report, an enclosed message or its headers (message/*)"
    if parsed.defects and not warnings:
        return "a defect the stdlib notes and fast_mail_parser does not"
    if warnings and not parsed.defects:
        return "fast_mail_parser warns where the stdlib reads it: " + ", ".join(
            sorted(set(warnings))
        )
    if b"\r\n" not in raw and {"text", "html", "attachments"} & set(differ):
        return "bare LF line ends (its quoted-printable decoding writes CRLF)"
    return "other: " + ", ".join(differ)


def _fast_mail_parser():
    try:
        import fast_mail_parser
    except ImportError:
        return None
    return fast_mail_parser


def compare(messages: list[bytes]) -> None:
    """How many messages take ``parse_message``'s fast path, and how many fast_mail_parser
    alone reads as ``parse_message`` stores them."""
    from mailboxes.intake import parse

    fast_mail_parser = _fast_mail_parser()

    same = rejected = fast = 0
    fields: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    original = parse._parse_plain_multipart
    taken: list[bool] = []

    def spy(*args) -> bool:
        taken.append(original(*args))
        return taken[-1]

    parse._parse_plain_multipart = spy
    try:
        for raw in messages:
            taken.clear()
            parsed = parse.parse_message(raw)
            fast += bool(taken and taken[0])
            if fast_mail_parser is None:
                continue
            try:
                theirs, warnings = _fast_mail_parser_alone(raw)
            except fast_mail_parser.ParseError as error:
                rejected += 1
                reasons[f"rejected ({type(error).__name__})"] += 1
                continue
            ours = _stored(parsed)
            differ = [name for name in ours if ours[name] != theirs[name]]
            if not differ:
                same += 1
                continue
            fields.update(differ)
            reasons[_why(raw, parsed, warnings, differ)] += 1
    finally:
        parse._parse_plain_multipart = original
    total = len(messages)
    print(f"  parse_message's fast path taken:       {fast:5d} of {total} ({fast / total:.1%})")
    if fast_mail_parser is None:
        return
    print(f"  fast_mail_parser alone stores the same: {same:5d} of {total} ({same / total:.1%})")
    print(f"    rejected (ParseError): {rejected}; fields that differ: {dict(fields)}")
    for reason, count in reasons.most_common():
        print(f"    {count:5d}  {reason}")


def measure(directory: Path) -> None:
    from mailboxes.intake import parse

    fast_mail_parser = _fast_mail_parser()

    messages = [path.read_bytes() for path in sorted(directory.rglob("*.eml"))]
    if not messages:
        raise SystemExit(f"{directory}: no *.eml files")
    size = sum(map(len, messages))
    for raw in messages:  # warm up: imports, codecs, the re module's cache of fixed patterns
        parse.parse_message(raw)

    def fast_mail_parser_alone() -> None:
        if fast_mail_parser is None:
            return
        for raw in messages:
            with contextlib.suppress(fast_mail_parser.ParseError):
                fast_mail_parser.parse_email(raw)

    def without_fast_path() -> list:
        original = parse._parse_plain_multipart
        parse._parse_plain_multipart = lambda *args: False
        try:
            return [parse.parse_message(raw) for raw in messages]
        finally:
            parse._parse_plain_multipart = original

    stdlib, theirs, ours, slow = _best_rates(
        len(messages),
        [
            lambda: [email.message_from_bytes(raw, policy=policy.compat32) for raw in messages],
            fast_mail_parser_alone,
            lambda: [parse.parse_message(raw) for raw in messages],
            without_fast_path,
        ],
    )
    print(f"{directory}: {len(messages)} messages, {size / 1e6:.2f} MB")
    print(f"  stdlib message_from_bytes (compat32): {stdlib:8.0f} msgs/s")
    if fast_mail_parser is not None:
        print(f"  fast_mail_parser parse_email:         {theirs:8.0f} msgs/s")
    print(f"  parse_message:                        {ours:8.0f} msgs/s")
    print(f"  parse_message without its fast path:  {slow:8.0f} msgs/s")
    print(f"  ratio parse_message/stdlib:           {ours / stdlib:8.2f}")
    compare(messages)
    if os.environ.get("BENCH_PROFILE"):
        profiler = cProfile.Profile()
        profiler.enable()
        for raw in messages:
            parse.parse_message(raw)
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
