"""Update many saved rows in a few statements (core: the domain's batch services and the sync
engine both write through it)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection as db, models

PAGE_SIZE = 1000


def update_rows(model: type[models.Model], objects: Sequence[models.Model], fields: Sequence[str]) -> None:
    """UPDATE the `fields` (names) of saved instances to their in-memory values, by primary key.

    On PostgreSQL one `UPDATE … FROM (VALUES …)` a thousand rows: Django's `bulk_update` builds
    a CASE WHEN per column with a branch per row, whose cost grows with the square of the rows
    (seconds for a page of 2,000). Elsewhere through `bulk_update`, with the same result.
    auto_now fields are not touched: set them on the instances and name them."""
    if not objects or not fields:
        return
    if db.vendor != "postgresql":
        model.objects.bulk_update(objects, list(fields), batch_size=500)
        return
    pk = model._meta.pk
    targets = [model._meta.get_field(name) for name in fields]
    quote = db.ops.quote_name
    columns = [pk, *targets]
    template = "(" + ", ".join(f"%s::{f.cast_db_type(db)}" for f in columns) + ")"
    sql = (f"UPDATE {quote(model._meta.db_table)} AS t SET "
           + ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in targets)
           + f" FROM (VALUES %s) AS v ({', '.join(quote(f.column) for f in columns)})"
           + f" WHERE t.{quote(pk.column)} = v.{quote(pk.column)}")
    rows = [tuple(f.get_db_prep_save(getattr(obj, f.attname), connection=db) for f in columns) for obj in objects]
    with db.cursor() as cursor:
        # The values are bound by psycopg2 (what execute_values does), the statement run through
        # Django's cursor so it is seen by query logging and counting like any other.
        for start in range(0, len(rows), PAGE_SIZE):
            values = b",".join(cursor.cursor.mogrify(template, row) for row in rows[start:start + PAGE_SIZE])
            cursor.execute(sql.replace("VALUES %s", "VALUES " + values.decode(), 1))
