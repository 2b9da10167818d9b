"""Write many rows in a few statements without building a model instance per row.

A full sync writes one SyncLog row and one SyncLink upsert per record; through `bulk_create`
Django prepares every value of every instance in Python, which costs more than the Salesforce
calls themselves. On PostgreSQL plain inserts go through COPY and upserts through psycopg2's
`execute_values` (values already in their database form: str, int, aware datetimes, dicts for
JSON); elsewhere through `bulk_create`, with the same result."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from django.db import connection as db, models, transaction
from django.db.models import F

from cothon.bulk import update_rows  # noqa: F401 - the engine's writes of many rows in one place

PAGE_SIZE = 1000
COPY_UPSERT_MIN = 500  # rows from which an upsert goes through COPY and a scratch table


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]], *,
                conflict: Sequence[str] = (), update: Sequence[str] = ()) -> None:
    """INSERT `rows` (tuples in the order of `columns`, the fields' attnames such as
    "tenant_id"). With `conflict` (the unique columns) and `update`, a row that exists is updated
    with the new values of those columns instead (INSERT … ON CONFLICT … DO UPDATE)."""
    if not rows:
        return
    if db.vendor != "postgresql":
        objects = [model(**dict(zip(columns, row))) for row in rows]
        if conflict:
            names = [model._meta.get_field(c).name for c in conflict]
            model.objects.bulk_create(objects, batch_size=500, update_conflicts=True, unique_fields=names,
                                      update_fields=[model._meta.get_field(c).name for c in update])
        else:
            model.objects.bulk_create(objects, batch_size=500)
        return
    from psycopg2.extras import Json, execute_values

    fields = [model._meta.get_field(c) for c in columns]
    if not conflict:
        _copy(model, fields, rows)
        return
    quote = db.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(f.column) for f in fields)
    targets = ", ".join(quote(model._meta.get_field(c).column) for c in conflict)
    sets = ", ".join(f"{quote(model._meta.get_field(c).column)} = EXCLUDED.{quote(model._meta.get_field(c).column)}"
                     for c in update)
    on_conflict = f"ON CONFLICT ({targets}) DO UPDATE SET {sets}"
    if len(rows) >= COPY_UPSERT_MIN:
        # Many rows: COPY them into a scratch table and upsert from it in one statement —
        # no per-row parameter quoting in Python (execute_values' mogrify was most of the cost).
        scratch = quote(f"_upsert_{model._meta.db_table}")
        with transaction.atomic(), db.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {scratch}")
            cursor.execute(f"CREATE TEMPORARY TABLE {scratch} ON COMMIT DROP AS SELECT {names} FROM {table} WITH NO DATA")
            cursor.cursor.copy_expert(f"COPY {scratch} ({names}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", io.StringIO(_csv_text(rows, fields)))
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {scratch} {on_conflict}")
            cursor.execute(f"DROP TABLE {scratch}")
        return
    json_positions = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    if json_positions:
        rows = [tuple(Json(v) if i in json_positions else v for i, v in enumerate(row)) for row in rows]
    with db.cursor() as cursor:
        execute_values(cursor.cursor, f"INSERT INTO {table} ({names}) VALUES %s {on_conflict}", rows, page_size=PAGE_SIZE)


def insert_selected(model: type[models.Model], constants: dict[str, Any], column: str, source: models.QuerySet,
                    source_field: str = "pk") -> int:
    """INSERT one row per record of `source`: its `source_field` in `column`, the `constants`
    (attnames → values) in the other columns, in one `INSERT … SELECT` — no row passes through
    Python, so a full sync of 100,000 records is queued in well under a second. A row that
    would break a unique constraint is skipped (ON CONFLICT DO NOTHING). Returns how many rows
    were inserted."""
    fields = [model._meta.get_field(name) for name in constants]
    target = model._meta.get_field(column)
    quote = db.ops.quote_name
    # PostgreSQL types the bound constants by the column (jsonb, timestamptz); SQLite stores
    # what it is given (a CAST there would turn a datetime's text into a number).
    placeholder = (lambda f: f"CAST(%s AS {f.cast_db_type(db)})") if db.vendor == "postgresql" else (lambda f: "%s")
    picked = source.order_by(source_field).annotate(cothon_picked=F(source_field)).values_list("cothon_picked")
    select_sql, select_params = picked.query.sql_with_params()
    # `WHERE true`: SQLite needs it to tell the upsert clause from a join's ON.
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in (*fields, target))}) "
           f"SELECT {', '.join(placeholder(f) for f in fields)}, picked.cothon_picked "
           f"FROM ({select_sql}) AS picked WHERE true ON CONFLICT DO NOTHING")
    params = [f.get_db_prep_save(value, connection=db) for f, value in zip(fields, constants.values())]
    with db.cursor() as cursor:
        cursor.execute(sql, (*params, *select_params))
        return cursor.rowcount


class _Null(float):
    """NULL in COPY's CSV: a number to the csv module, so it is written unquoted, as \\N (a
    quoted \\N is the text itself)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "\\N"

    __str__ = __repr__


_NULL = _Null()


def _copy(model: type[models.Model], fields: list, rows: Sequence[Sequence[Any]]) -> None:
    """COPY … FROM STDIN: about twice as fast as a multi-row INSERT for thousands of rows."""
    quote = db.ops.quote_name
    sql = (f"COPY {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
           "FROM STDIN WITH (FORMAT csv, NULL '\\N')")
    with db.cursor() as cursor:
        cursor.cursor.copy_expert(sql, io.StringIO(_csv_text(rows, fields)))


def _csv_text(rows: Sequence[Sequence[Any]], fields: Sequence[models.Field]) -> str:
    """The rows as COPY's CSV, written by the csv module (C) instead of cell by cell in Python
    (a full sync writes ~900,000 cells): texts quoted (so "" is an empty text and stays one),
    numbers and booleans bare, NULL a bare \\N. Converted column by column, each column's
    conversion decided once from its field: JSON columns' dicts and lists as JSON text, times
    as text (one conversion per distinct time: a batch's rows share a few)."""
    if not rows:
        return ""
    columns = []
    for field, column in zip(fields, zip(*rows)):
        if isinstance(field, models.JSONField):
            column = [json.dumps(v) if isinstance(v, dict | list) else v for v in column]
        elif isinstance(field, models.DateTimeField | models.DateField):
            seen: dict[Any, str] = {}
            column = [seen[v] if v in seen else seen.setdefault(v, str(v)) if v is not None else None for v in column]
        columns.append([_NULL if v is None else v for v in column])
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(zip(*columns))
    return out.getvalue()
