"""The hour's API-call buckets (the usage chart and the governor's history) — one writer for
every kind of work: pushes, pulls, reconciliation, validation."""

from __future__ import annotations

import datetime

from django.db import connection as connection_db
from django.utils import timezone

from sync_engine.metric_totals import Totals, add_totals, call_totals
from sync_engine.models import ApiCallBucket


def call_failed(record) -> bool:
    """A call Salesforce answered with an error status, or that got no answer at all."""
    return record.status is None or record.status >= 400


def add_calls(*, connection_id: int, kind: str, calls: int, hour: datetime.datetime | None = None, failed: int = 0,
              totals: Totals | None = None) -> None:
    """Add to the hour's API-call bucket in one statement (an upsert that adds in the database:
    several workers add to the same bucket concurrently, and a get_or_create then an UPDATE
    cost a round trip more every batch). Then the Prometheus totals, in one more statement:
    the calls by kind and result (`failed`: how many failed, see `call_failed`), with the
    batch's other `totals` (docs/monitoring.md)."""
    hour = hour or timezone.now().replace(minute=0, second=0, microsecond=0)
    table = connection_db.ops.quote_name(ApiCallBucket._meta.db_table)
    with connection_db.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (connection_id, hour, kind, calls) VALUES (%s, %s, %s, %s) "
                       f"ON CONFLICT (connection_id, hour, kind) DO UPDATE SET calls = {table}.calls + EXCLUDED.calls",
                       [connection_id, connection_db.ops.adapt_datetimefield_value(hour), kind, calls])
    add_totals(call_totals(connection_id=connection_id, kind=kind, calls=calls, failed=failed, into=totals))

