"""The search box's query language, as people know it from Gmail, and its meaning.

``from:`` ``to:`` ``subject:`` ``has:attachment`` ``is:unread`` / ``is:read`` /
``is:important``, ``in:<folder>`` (the view picks the folder), ``before:`` / ``after:``
(a date in the reader's format or ISO), ``"a phrase"``, ``-word`` to leave out; apps add
operators of their own (cases: ``case:123``) with ``search_operator_register``. An operator
nobody knows, or one whose value does not parse, is searched as text.

Words are matched through the full-text index (``mailboxes/inbox/search_index.py``): every
word as a prefix of an indexed word ("sipariş" finds "siparişim"), letter case, accents and
the Turkish i folded; phrases in order. ``from:``, ``to:`` and ``subject:`` are words too,
restricted to the weight their field is indexed under (``'iade':*A``), so they read the same
GIN index as the words and never scan the mailbox. On SQLite the same through FTS5: words as
prefixes (``"iade"*``), the operators as its column filters (``{subject} : "iade"*``).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F, FloatField, Func, Lookup, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from crm.text_search import fold
from mailboxes.inbox.search_index import FTS_COLUMNS, FTS_TABLE
from mailboxes.models import Email
from mailboxes.models.search import SearchDocumentField

MAX_TERMS = 12

OperatorFunction = Callable[[QuerySet, str, object], QuerySet | None]
_OPERATORS: dict[str, OperatorFunction] = {}


def search_operator_register(name: str, function: OperatorFunction) -> None:
    """Add ``name:value`` to the query language: ``function(emails, value, user)`` returns
    the emails it keeps, or None when the value makes no sense (then it is searched as
    text). Apps call this from ``AppConfig.ready``."""
    _OPERATORS[name.lower()] = function


@dataclass
class Term:
    text: str
    negated: bool = False
    phrase: bool = False
    weights: str = ""  # only in these fields of the document ("A": the subject), "" anywhere


# The weight each operator's field is indexed under (mailboxes/inbox/search_index.py)
FIELD_WEIGHTS = {"subject": "A", "from": "B", "to": "C"}
# ts_rank's weights of D, C, B, A: subject and sender first, then To/Cc, then the text
RANK_WEIGHTS = "{0.1, 0.4, 1.0, 1.0}"


@dataclass
class EmailQuery:
    terms: list[Term] = field(default_factory=list)
    operators: list[tuple[str, str, bool]] = field(default_factory=list)  # name, value, negated
    folder: str = ""  # in:<folder>

    @property
    def has_text(self) -> bool:
        return any(not t.negated for t in self.terms)


_TOKEN = re.compile(r'(-?)(?:([A-Za-z]+):)?(?:"([^"]*)"?|(\S+))')
_BUILT_IN = {"from", "to", "subject", "has", "is", "in", "before", "after"}


def query_parse(text: str) -> EmailQuery:
    """Split what was typed into words, phrases and operators."""
    query = EmailQuery()
    for match in _TOKEN.finditer(text):
        negated, name, quoted, bare = match.groups()
        value = quoted if quoted is not None else (bare or "")
        name = (name or "").lower()
        if name and (name in _BUILT_IN or name in _OPERATORS) and value:
            if name == "in" and not negated:
                query.folder = value
            else:
                query.operators.append((name, value, bool(negated)))
            continue
        whole = f"{match.group(2)}:{value}" if name else value
        if whole.strip():
            query.terms.append(Term(whole, negated=bool(negated), phrase=quoted is not None))
    query.terms = query.terms[:MAX_TERMS]
    return query


# --- words ----------------------------------------------------------------------------------


@SearchDocumentField.register_lookup
class Matches(Lookup):
    """``document @@ to_tsquery('postaci', …)`` (PostgreSQL only)."""

    lookup_name = "matches"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} @@ to_tsquery('postaci', {rhs})", [*lhs_params, *rhs_params]


class SearchRank(Func):
    """Relevance of the document to the query (subject and sender weigh most)."""

    output_field = FloatField()
    template = f"ts_rank('{RANK_WEIGHTS}', %(expressions)s)"

    def __init__(self, document, tsquery: str):
        super().__init__(
            document, Func(Value(tsquery), template="to_tsquery('postaci', %(expressions)s)")
        )


def _quoted(word: str) -> str:
    """One tsquery operand from what the user typed: quoted, so no character of it is
    tsquery syntax; the configuration splits it into words as it did the document."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsquery(terms: list[Term]) -> str:
    parts = []
    for term in terms:
        words = term.text.split() if term.phrase else [term.text]
        operand = " <-> ".join(f"{_quoted(w)}:*{term.weights}" for w in words if w.strip())
        if not operand:
            continue
        parts.append(f"!({operand})" if term.negated else f"({operand})")
    return " & ".join(parts)


def _fts_match(term: Term) -> str | None:
    """SQLite: one FTS5 query of a term: each word folded, quoted (so nothing of it is
    FTS5 syntax) and a prefix; a phrase's words in order; an operator's in its column."""
    words = term.text.split() if term.phrase else [term.text]
    parts = ['"' + fold(w).replace('"', '""') + '"*' for w in words if w.strip()]
    if not parts:
        return None
    match = " + ".join(parts)
    column = FTS_COLUMNS.get(term.weights)
    return f"{{{column}}} : ({match})" if column else match


# A search that matches at most this many emails (everyone's) is read as their ids.
RARE_MATCHES = 5000
# One word the planner's statistics say is in at least this many documents is common: the
# list walks newest first and meets its 50 matches within a few hundred emails.
COMMON_MATCHES = 50_000


def _estimated_matches(tsquery: str) -> float:
    """How many documents the planner expects ``tsquery`` to match: for one word its
    statistics of the index's column (the most common words and their share, kept by
    ANALYZE) are close; for several words it multiplies, which is no bound at all."""
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM mailboxes_emailsearch "
            "WHERE document @@ to_tsquery('postaci', %s)",
            [tsquery],
        )
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


def _rare_matches(tsquery: str, rarest: str | None = None) -> list[int] | None:
    """The ids of every email matching ``tsquery`` when there are at most ``RARE_MATCHES``
    of them, else None: the GIN index read for the rarest word alone (``rarest``; None:
    the query is that word), each document it lists checked for the whole query.

    A list is newest first and shows 50: for a common word the planner walks the date index
    and meets 50 matches soon; for a rare one (a name, an address, a typo) that walk reads
    the whole mailbox before it gives up (seconds at a million emails), however rare the
    planner guesses the word is. Asking the index first decides it from the real number.
    Only the rarest word goes to the index: every word is a prefix, and the index gathers
    all documents of a prefix before it can intersect them ("Customer 42": the third of a
    million that holds "customer…" for the hundredth that holds "42…", 300 ms); the
    rarest word's few thousand documents are checked for the others in 20 ms."""
    condition = "document @@ to_tsquery('postaci', %s)"
    params = [rarest or tsquery]
    if rarest is not None and rarest != tsquery:
        # a function, not the operator: the planner cannot read the index for it
        condition += " AND ts_match_vq(document, to_tsquery('postaci', %s))"
        params.append(tsquery)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT email_id FROM mailboxes_emailsearch WHERE {condition} LIMIT %s",  # noqa: S608
            [*params, RARE_MATCHES + 1],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return ids if len(ids) <= RARE_MATCHES else None


def _matching_ids(wanted: list[Term]) -> list[int] | None:
    """The ids of what the wanted words match when that is rare (see ``_rare_matches``),
    else None (then the list walks newest first, checking each email's document). One
    word the statistics call common goes straight to the walk: asking the index would
    read thousands of documents to learn what the statistics already say."""
    words = [_tsquery([t]) for t in wanted]
    with connection.cursor() as cursor:  # a stop word ("the") alone is no query at all
        cursor.execute(
            "SELECT numnode(to_tsquery('postaci', q)) > 0 FROM unnest(%s::text[]) "
            "WITH ORDINALITY AS t(q, n) ORDER BY n",
            [words],
        )
        words = [w for w, (kept,) in zip(words, cursor.fetchall(), strict=True) if kept]
    if not words:
        return _rare_matches(_tsquery(wanted))
    fewest, rarest = min((_estimated_matches(w), w) for w in words)
    if len(words) == 1 and fewest >= COMMON_MATCHES:
        return None
    return _rare_matches(_tsquery(wanted), rarest)


def _id_set(ids: list[int]) -> RawSQL:
    """A subquery of these ids: one array, not thousands of parameters whose selectivity
    the planner would estimate one by one (tens of milliseconds of planning)."""
    return RawSQL("SELECT unnest(%s::bigint[])", [ids])


def _words(emails: QuerySet[Email], terms: list[Term], own_rows: bool = False) -> QuerySet[Email]:
    """The emails matching ``terms``. ``own_rows``: the list is of the user's own rows
    (``EmailUser``, joined as ``mine``), so ids found in the index are looked up there: by
    the rows' email index, each, instead of reading all the user's rows to join them to
    the emails (150 ms for a user with 60,000)."""
    if not terms:
        return emails
    if connection.vendor == "postgresql":
        tsquery = _tsquery(terms)
        if not tsquery:
            return emails
        wanted = [t for t in terms if not t.negated and _tsquery([t])]
        if wanted:  # the index lists what the wanted words match; "-word" is checked after
            ids = _matching_ids(wanted)
            if ids == []:
                return emails.none()  # nothing matches: nothing to read
            if ids is not None:
                # on the user's own rows the same emails, found through their index
                found = "user_email_id__in" if own_rows else "pk__in"
                emails = emails.filter(**{found: _id_set(ids)})
                if len(wanted) == len(terms):
                    return emails
                return emails.filter(search__document__matches=tsquery)
        return emails.filter(search__document__matches=tsquery)
    for term in terms:
        match = _fts_match(term)
        if match is None:
            continue
        hits = RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [match])  # noqa: S611,S608
        emails = emails.exclude(pk__in=hits) if term.negated else emails.filter(pk__in=hits)
    return emails


def top_results(query: EmailQuery, among: list[int], *, limit: int = 3) -> list[int]:
    """The ids of the ``limit`` most relevant of ``among`` (the newest page of matches, all
    of them emails the user may see), for the "Top results" above a search's list (which is
    newest first, like Gmail's). Relevance: the words in the subject or sender weigh most,
    then To/Cc, then the text and file names.

    Ranking only the page already read costs one look at fifty documents; a wider window of
    newest matches would have to be found first, and for a sparse search (a rare word with
    a filter) finding five hundred of them walks a large part of the mailbox."""
    words = [t for t in query.terms if not t.negated]
    if not words or not among:
        return []
    if connection.vendor == "postgresql":
        ranked = (
            Email.objects.filter(pk__in=among)
            .annotate(search_rank=SearchRank(F("search__document"), _tsquery(query.terms)))
            .order_by("-search_rank", "-date_sent", "-pk")
            .values_list("pk", flat=True)[:limit]
        )
        return list(ranked)
    # SQLite: a word in the subject or the sender's name counts three, elsewhere one
    wanted = [fold(" ".join(t.text.split())) for t in words]
    scored = []
    for pk, date, subject, name in Email.objects.filter(pk__in=among).values_list(
        "pk", "date_sent", "subject", "from_name"
    ):
        heading = fold(f"{subject} {name}")
        score = sum(3 if word in heading else 1 for word in wanted)
        scored.append((-score, -date.timestamp() if date else 0, -pk))
    return [-key[2] for key in sorted(scored)[:limit]]


# --- operators ------------------------------------------------------------------------------


def _date(value: str) -> datetime.date | None:
    # ISO, the reader's own formats, and the dotted day-first form common in Turkey
    for date_format in ["%Y-%m-%d", *formats.get_format("DATE_INPUT_FORMATS"), "%d.%m.%Y"]:
        try:
            return datetime.datetime.strptime(value, date_format).date()
        except (ValueError, TypeError):
            continue
    return None


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def field_words(emails: QuerySet[Email], name: str, value: str) -> QuerySet[Email]:
    """The emails whose ``name`` field ("from", "to" or "subject") has every word of
    ``value``, through the full-text index (the field's weight; SQLite: its column). The
    list filters' "From" and "To" use it as the operators do."""
    return _words(emails, [_field_term(name, value)])


def _field_term(name: str, value: str, negated: bool = False) -> Term:
    words = value.split()[:MAX_TERMS]
    return Term(" ".join(words), negated, phrase=len(words) > 1, weights=FIELD_WEIGHTS[name])


def date_range(
    emails: QuerySet[Email],
    *,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    field: str = "date_sent",
) -> QuerySet[Email]:
    """The emails dated on or after ``since`` and on or before ``until`` (days in the
    reader's time zone), as a range of ``field``: the list's own sort field, so that on a
    folder of the user's own rows (``user_date``, the email's date copied) the range is
    where the walk of their index starts and stops, not a condition checked on every row
    newer than the range (``before:`` a date of three years ago read the whole mailbox)."""
    if since is not None:
        emails = emails.filter(**{f"{field}__gte": _start_of(since)})
    if until is not None:
        emails = emails.filter(**{f"{field}__lt": _start_of(until + datetime.timedelta(days=1))})
    return emails


def _built_in(
    emails: QuerySet[Email], name: str, value: str, date_field: str = "date_sent"
) -> QuerySet[Email] | None:
    lowered = value.lower()
    if name == "has":
        return emails.filter(has_attachments=True) if lowered in ("attachment", "ek") else None
    if name == "is":
        states = {
            "unread": Q(user_is_read=False),
            "read": Q(user_is_read=True),
            "important": Q(user_is_important=True),
        }
        return emails.filter(states[lowered]) if lowered in states else None
    if name in ("before", "after"):
        day = _date(value)
        if day is None:
            return None
        if name == "before":
            return date_range(emails, until=day - datetime.timedelta(days=1), field=date_field)
        return date_range(emails, since=day + datetime.timedelta(days=1), field=date_field)
    return None


def query_apply(
    emails: QuerySet[Email], query: EmailQuery, user, *, date_field: str = "date_sent"
) -> QuerySet[Email]:
    """The emails of ``emails`` the query finds (``emails`` already holds only what the
    user may see; every operator narrows it, none widens it). ``date_field``: what the
    list is sorted by (``selectors.folder_sort_field``), where ``before:`` and ``after:``
    read their range."""
    terms = list(query.terms)
    for name, value, negated in query.operators:
        function = _OPERATORS.get(name)
        if function is None and name in FIELD_WEIGHTS:
            # one tsquery with the words: one pass over the GIN index
            terms.append(_field_term(name, value, negated))
            continue
        if function:
            kept = function(emails, value, user)
        else:
            kept = _built_in(emails, name, value, date_field)
        if kept is None:
            terms.append(Term(f"{name}:{value}", negated=negated))
        elif negated:
            emails = emails.exclude(pk__in=kept.values("pk"))
        else:
            emails = kept
    return _words(emails, terms, own_rows=date_field == "user_date")


# --- highlighting ---------------------------------------------------------------------------

_START, _STOP = "\ue000", "\ue001"  # private-use characters: never shown, stripped from mail
HEADLINE_SOURCE = 20_000  # characters of the body the snippet is taken from
FRAGMENT_WORDS = 24  # words of a piece of the snippet
LEAD_WORDS = 2  # words before the first match: a list row shows the snippet's start only
FRAGMENTS = 2  # pieces of a snippet, around different matches
_WORD = re.compile(r"\w+")
# The searched words as the index reads them (folded, English stems), and the bodies: one
# statement. The stems (``to_tsvector``) find what the index found by a stem ("refunds":
# "refund…"); id 0 is no email's.
_HEADLINE = """
SELECT 0, array_to_string(tsvector_to_array(to_tsvector('postaci', %s)), ' ')
UNION ALL
SELECT id, left(body_text, %s) FROM mailboxes_email WHERE id = ANY(%s)
"""


def _marked_to_html(text: str) -> SafeString:
    """Escape everything, then turn the markers (only ever ours) into ``<mark>``."""
    escaped = escape(" ".join(text.split()))
    return mark_safe(escaped.replace(_START, "<mark>").replace(_STOP, "</mark>"))  # noqa: S308


def email_headlines(email_ids: list[int], query: EmailQuery) -> dict[int, SafeString]:
    """For each email, a short piece of its text with the searched words in ``<mark>``; HTML
    in the mail is text here (escaped), so a snippet can never inject markup.

    Marked in Python on the first characters of the body: a word of it whose folded form
    begins with a searched word (or its stem), as the index matched it. ``ts_headline``
    did this at 25 – 80 ms for a page of fifty (it parses every body with the dictionaries);
    this is a few."""
    words = [t for t in query.terms if not t.negated]
    if not email_ids or not words:
        return {}
    typed = " ".join(t.text for t in words)
    prefixes = {piece for piece in _WORD.findall(fold(typed)) if piece}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_HEADLINE, [typed, HEADLINE_SOURCE, list(email_ids)])
            rows = cursor.fetchall()
        bodies = [(pk, text) for pk, text in rows if pk]
        prefixes |= {stem for pk, text in rows if not pk for stem in (text or "").split()}
    else:
        bodies = [
            (pk, body[:HEADLINE_SOURCE])
            for pk, body in Email.objects.filter(pk__in=email_ids).values_list("pk", "body_text")
        ]
    wanted = tuple(sorted(prefixes))
    folded: dict[str, bool] = {}  # word → matches, for the page: mail repeats its words
    headlines = {}
    for pk, body in bodies:
        marked = _mark_words((body or "").replace(_START, "").replace(_STOP, ""), wanted, folded)
        if marked is not None:
            headlines[pk] = _marked_to_html(marked)
    return headlines


def _mark_words(text: str, wanted: tuple[str, ...], seen: dict[str, bool]) -> str | None:
    """Up to ``FRAGMENTS`` pieces of ``FRAGMENT_WORDS`` words around the words that match,
    those in markers; None when no word matches."""
    spans = [m.span() for m in _WORD.finditer(text)]
    hits = []
    for n, (start, end) in enumerate(spans):
        word = text[start:end]
        found = seen.get(word)
        if found is None:
            found = seen[word] = (fold(word) or "").startswith(wanted)
        if found:
            hits.append(n)
    if not hits:
        return None
    marked = set(hits)
    pieces, covered = [], -1
    for hit in hits:
        if hit < covered:
            continue
        if len(pieces) == FRAGMENTS:
            break
        first = max(0, min(hit - LEAD_WORDS, len(spans) - FRAGMENT_WORDS))
        covered = min(len(spans), first + FRAGMENT_WORDS)
        out, cursor = [], spans[first][0]
        for n in range(first, covered):
            start, end = spans[n]
            if n in marked:
                out += [text[cursor:start], _START, text[start:end], _STOP]
                cursor = end
        out.append(text[cursor : spans[covered - 1][1] if covered < len(spans) else None])
        pieces.append("".join(out))
    return " ... ".join(pieces)
