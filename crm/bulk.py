"""Bulk inserts for the intake's hot path.

On PostgreSQL rows go in with ``COPY … FROM STDIN`` (ids drawn from the table's sequence
first, so callers get primary keys back as with ``bulk_create``). Measured on the journal:
0.07 ms a row against 0.19 ms with ``bulk_create``, whose per-field SQL compilation is the
largest single cost of an import. Rows that carry bytes (the journal's raw messages) are
copied in the binary format: the text format spells every byte as two hex digits, which both
ends then have to write and read (about 0.1 ms of a 6 KB message). Other databases use
``bulk_create``.

Only for plain inserts of new rows: no signals, no conflict handling (callers use
``bulk_create(ignore_conflicts=True)`` where a row may exist already).

``bulk_update_values`` is the matching update: one ``UPDATE … FROM (VALUES …)`` statement.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from functools import cache
from operator import attrgetter
from typing import TypeVar

from django.db import connection, models
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

try:
    from psycopg.types.json import Jsonb
except ImportError:  # pragma: no cover - psycopg is installed with the PostgreSQL extra
    Jsonb = None


M = TypeVar("M", bound=models.Model)


@cache
def _build_plan(
    model: type[models.Model],
) -> tuple[dict, list[tuple[str, Callable]], dict[str, models.Field], frozenset[str], set[str]]:
    """What ``model_build`` needs of a model, worked out once: the constant defaults, the
    callable ones, the foreign keys by name, every name a value may be given under, and the
    fields whose attribute converts what is set (a descriptor with ``__set__``, such as a
    MessageField's): those are set through it."""
    constant, computed, relations = {}, [], {}
    converted = set()
    for field in model._meta.concrete_fields:
        descriptor = inspect.getattr_static(model, field.attname, None)
        # a foreign key's id attribute only forgets a cached object: a new instance has none
        if hasattr(descriptor, "__set__") and not isinstance(
            descriptor, ForeignKeyDeferredAttribute
        ):
            converted.add(field.attname)
    for field in model._meta.concrete_fields:
        if field.has_default() and callable(field.default):
            computed.append((field.attname, field.get_default))
        else:
            constant[field.attname] = field.get_default()
        if field.is_relation and field.attname != field.name:
            relations[field.name] = field
    names = frozenset(constant) | {attname for attname, _ in computed} | relations.keys()
    return constant, computed, relations, names, converted


def model_build(model: type[M], **values) -> M:
    """``model(**values)`` for the intake's many new rows, at a fraction of the cost.

    ``Model.__init__`` walks every field for every instance (40 µs an Email, a thousand per
    1,000 messages); this fills the instance's ``__dict__`` from defaults worked out once per
    model. Values are given by attname (``account_id``) or, for a foreign key, by name with
    the related object (cached on the instance, as ``__init__`` does). A model that something
    listens to at init (``pre_init``/``post_init``) is built by ``__init__``."""
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model(**values)
    constant, computed, relations, names, converted = _build_plan(model)
    unknown = values.keys() - names
    if unknown:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    instance = model.__new__(model)
    instance._state = ModelState()
    fields = instance.__dict__
    fields.update(constant)
    for name, value in values.items():
        field = relations.get(name)
        if field is None:
            fields[name] = value
        elif value is None:
            fields[field.attname] = None
        else:
            fields[field.attname] = getattr(value, field.target_field.attname)
            field.set_cached_value(instance, value)
    for attname, default in computed:
        if attname not in fields:  # not given (by attname, or as the related object)
            fields[attname] = default()
    for attname in converted:
        setattr(instance, attname, fields[attname])
    return instance


def _columns(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not f.generated]


def _reader(field: models.Field):
    """A function reading the value to COPY for ``field`` from an instance (made once per
    insert, not per row: the per-row work is the hot path)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda obj: field.pre_save(obj, add=True)
    read = attrgetter(field.attname)
    if isinstance(field, models.JSONField):
        prepare = field.get_prep_value  # a MessageField's Message becomes its dict
        return lambda obj: Jsonb(prepare(read(obj)))
    if isinstance(field, models.FileField):
        return lambda obj: read(obj).name or ""
    return read


def _binary_types(fields: list[models.Field]) -> list[str] | None:
    """The PostgreSQL type of each column, for a binary COPY, when the rows carry bytes (and
    every type is one psycopg knows); None to copy as text."""
    if not any(isinstance(f, models.BinaryField) for f in fields):
        return None
    from psycopg import postgres

    names = []
    for field in fields:
        name = (field.db_type(connection) or "").split("(")[0].strip()  # varchar(255) → varchar
        if not name or postgres.types.get(name) is None:
            return None
        names.append(name)
    return names


def _reserve_ids(model: type[models.Model], count: int) -> list[int]:
    pk = model._meta.pk
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


# At most this many rows go in with one ``INSERT … VALUES … RETURNING`` instead of drawing
# ids and then a ``COPY``: one round trip instead of three (a fetch of one message, what a
# watched mailbox mostly brings, writes five tables a row or two each). Rows with bytes
# only up to SMALL_INSERT_BYTES of them: Django's cursor binds parameters on the client, as
# text (hex, twice the size), where a ``COPY`` sends them as they are.
SMALL_INSERT_ROWS = 20
SMALL_INSERT_BYTES = 256 * 1024


def _insert_returning(
    model: type[models.Model], fields: list[models.Field], rows: list[list]
) -> list[int]:
    """Insert the rows (values in ``fields`` order, no primary key) in one statement; their
    new primary keys in row order (PostgreSQL returns them in VALUES order)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # identifiers from the model's own meta, quoted; the values are parameters
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES {', '.join([row_sql] * len(rows))} RETURNING {quote(model._meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])
        return [row[0] for row in cursor.fetchall()]


def _small(rows: Sequence, fields: list[models.Field], *, instances: bool = False) -> bool:
    if len(rows) > SMALL_INSERT_ROWS:
        return False
    binary = [f.attname for f in fields if isinstance(f, models.BinaryField)]
    if not binary:
        return True
    read = getattr if instances else dict.get
    held = sum(len(read(row, name) or b"") for row in rows for name in binary)
    return held <= SMALL_INSERT_BYTES


def bulk_insert(objs: Sequence[models.Model]) -> Sequence[models.Model]:
    """Insert new model instances of one type; their ``pk`` is set afterwards."""
    if not objs:
        return objs
    model = type(objs[0])
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_create(objs)
    fields = _columns(model)
    pk = model._meta.pk
    if all(obj.pk is None for obj in objs) and _small(objs, fields, instances=True):
        fields = [f for f in fields if f is not pk]
        readers = [_reader(f) for f in fields]
        ids = _insert_returning(model, fields, [[read(obj) for read in readers] for obj in objs])
        for obj, new_id in zip(objs, ids, strict=True):
            obj.pk = new_id
            obj._state.adding = False
            obj._state.db = connection.alias
        return objs
    if any(obj.pk is None for obj in objs):
        for obj, new_id in zip(objs, _reserve_ids(model, len(objs)), strict=True):
            obj.pk = new_id
    readers = [_reader(f) for f in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    types = _binary_types(fields)
    with connection.cursor() as cursor:
        copy_sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        if types is not None:
            copy_sql += " (FORMAT BINARY)"
        with cursor.cursor.copy(copy_sql) as copy:
            if types is not None:
                copy.set_types(types)
            for obj in objs:
                copy.write_row([read(obj) for read in readers])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


def bulk_insert_rows(
    model: type[models.Model], rows: Sequence[dict], *, return_ids: bool = True
) -> list[int]:
    """Insert rows given as ``{attname: value}`` without building model instances.

    For many small rows (notifications, recipients, links) building instances costs more
    than writing them: ~35 µs each in ``Model.__init__``. Columns a row leaves out get the
    field's default (``auto_now``/``auto_now_add``: now). Returns the new primary keys in row
    order (``return_ids=False``: the database numbers the rows itself, one query less).
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = model._default_manager.bulk_create([model(**row) for row in rows])
        return [obj.pk for obj in created]
    pk = model._meta.pk
    fields = [f for f in _columns(model) if return_ids or f is not pk]
    now = timezone.now()
    defaults = {
        f.attname: now
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        else f.get_default()
        for f in fields
        if f is not pk
    }
    json_columns = {f.attname: f.get_prep_value for f in fields if isinstance(f, models.JSONField)}
    if _small(rows, fields):
        fields = [f for f in fields if f is not pk]
        values = []
        for row in rows:
            line = []
            for f in fields:
                value = row.get(f.attname, defaults[f.attname])
                prepare = json_columns.get(f.attname)
                line.append(Jsonb(prepare(value)) if prepare is not None else value)
            values.append(line)
        ids = _insert_returning(model, fields, values)
        return ids if return_ids else []
    ids = _reserve_ids(model, len(rows)) if return_ids else [None] * len(rows)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        copy_sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for new_id, row in zip(ids, rows, strict=True):
                values = []
                for f in fields:
                    if f is pk:
                        values.append(new_id)
                        continue
                    value = row.get(f.attname, defaults[f.attname])
                    prepare = json_columns.get(f.attname)
                    values.append(Jsonb(prepare(value)) if prepare is not None else value)
                copy.write_row(values)
    return ids if return_ids else []


def bulk_update_values(objs: Sequence[models.Model], field_names: Sequence[str]) -> None:
    """Write these fields of model instances of one type in one UPDATE … FROM (VALUES …).

    Django's ``bulk_update`` builds a CASE expression per field and row, which measured at
    ~3 ms per message on the journal — more than the whole rest of the import; this does the
    same update in one plain statement on PostgreSQL and SQLite (3.33+) alike. No signals;
    ``auto_now`` fields are not touched unless named.
    """
    if not objs:
        return
    model = type(objs[0])
    fields = [model._meta.get_field(name) for name in field_names]
    for field in fields:
        if getattr(field, "auto_now", False):
            for obj in objs:
                setattr(obj, field.attname, field.pre_save(obj, add=False))
    pk = model._meta.pk
    columns = [pk.column] + [f.column for f in fields]
    quote = connection.ops.quote_name
    params: list = []
    for obj in objs:
        params.append(obj.pk)
        params += [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    if connection.vendor == "postgresql":  # VALUES rows carry no column types there
        values = {
            f.column: f"CAST(v.{quote(f.column)} AS {f.cast_db_type(connection)})" for f in fields
        }
    else:
        values = {f.column: f"v.{quote(f.column)}" for f in fields}
    assignments = ", ".join(f"{quote(col)} = {values[col]}" for col in columns[1:])
    table = quote(model._meta.db_table)
    names = ", ".join(quote(c) for c in columns)
    key = quote(pk.column)
    values_sql = ", ".join([row] * len(objs))
    match = f"v.{key}"
    if connection.vendor == "postgresql":
        match = f"CAST(v.{key} AS {pk.cast_db_type(connection)})"
    sql = (
        f"WITH v ({names}) AS (VALUES {values_sql}) "  # noqa: S608 - column names only
        f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{key} = {match}"
    )
    with connection.cursor() as cursor:
        # Only model column names (quoted) are interpolated; every value is a parameter.
        cursor.execute(sql, params)
