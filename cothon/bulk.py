"""Update many saved rows in a few statements, and filter on many ids cheaply (core: the
domain's batch services and the sync engine both use it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.exceptions import EmptyResultSet
from django.db import connection as db, models
from django.db.models import F, Lookup

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


class AnyOf(Lookup):
    """`field = ANY(ids)`: many integer ids as one array parameter on PostgreSQL (the same plan
    as `field IN (…)`, which PostgreSQL turns into `= ANY(ARRAY[…])`), instead of Django
    preparing an `__in` list value by value — for the 5,000 ids of a full-sync batch that costs
    more than the query. Elsewhere a plain `IN (…)`."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self) -> list[int]:
        return [int(value) for value in self.rhs]

    def as_sql(self, compiler, connection) -> tuple[str, list]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            # Typed as the column: an untyped ARRAY[…] of 5,000 integers planned several times slower.
            return f"{lhs} = ANY(%s::{self.lhs.output_field.cast_db_type(connection)}[])", [*lhs_params, self.rhs]
        if not self.rhs:
            raise EmptyResultSet
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*lhs_params, *self.rhs]


def ids_in(field: str, ids: Iterable[int]) -> AnyOf:
    """A filter on many ids: `Model.objects.filter(ids_in("record_id", ids), …)`."""
    return AnyOf(F(field), list(ids))
