"""The running totals behind Cothon's Prometheus counters and histograms (docs/monitoring.md).

Many processes write (gunicorn workers, every Celery worker), so nothing is counted in one
process's memory: each batch adds its share to `MetricTotal` rows in one upsert statement that
adds in the database (like the API-call buckets), and the scrape reads those few rows.

Labels are fixed enums only: a direction, a result, an error code from the known catalogue
(anything else is "other"), a histogram bucket bound. Record data never becomes a label."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection as connection_db

from integrations.salesforce.errors import AUTH_CODES, HINTS, QUOTA_CODES, RETRYABLE_CODES
from sync_engine.models import MetricTotal

# Upper bounds (seconds) of the sync latency histogram: a real-time push takes seconds, a
# queued one behind a quota pause hours.
LATENCY_BUCKETS: tuple[float, ...] = (1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600, 4 * 3600, 24 * 3600)
INF = "+Inf"
# Codes Cothon itself writes to log rows, beside Salesforce's.
OWN_CODES = frozenset({"INVALID_VALUE", "FIELDS_SKIPPED", "CONNECTION_NOT_USABLE", "HOST_REFUSED", "DELETED_IN_SALESFORCE"})
KNOWN_CODES = frozenset(HINTS) | RETRYABLE_CODES | QUOTA_CODES | AUTH_CODES | OWN_CODES

Totals = dict[tuple[int, str, str], list[float]]


def error_label(code: str) -> str:
    return code if code in KNOWN_CODES else "other"


def latency_bucket(seconds: float) -> str:
    for bound in LATENCY_BUCKETS:
        if seconds <= bound:
            return f"{bound:g}"
    return INF


def log_totals(rows: Iterable[tuple[int, str, str, str, datetime.datetime | None, datetime.datetime | None]]) -> Totals:
    """What a batch of log rows adds: (connection id, direction, result, error code, created
    at, queued at) each → records by direction and result, failures by error code, and the
    latency of rows a queued change led to (created_at - queued_at)."""
    totals: Totals = defaultdict(lambda: [0, 0.0])
    for connection_id, direction, result, code, created_at, queued_at in rows:
        direction, result = str(direction), str(result)  # TextChoices members → their values
        totals[(connection_id, "records", f"{direction}|{result}")][0] += 1
        if result == "failed":
            totals[(connection_id, "errors", f"{direction}|{error_label(code)}")][0] += 1
        if queued_at is not None and created_at is not None:
            seconds = max(0.0, (created_at - queued_at).total_seconds())
            cell = totals[(connection_id, "latency", f"{direction}|{latency_bucket(seconds)}")]
            cell[0] += 1
            cell[1] += seconds
    return totals


def call_totals(*, connection_id: int, kind: str, calls: int, failed: int = 0, into: Totals | None = None) -> Totals:
    """Salesforce API calls by kind (realtime, manual, incremental, …) and result (ok, error)."""
    totals: Totals = into if into is not None else defaultdict(lambda: [0, 0.0])
    kind = kind[:20]
    if calls - failed > 0:
        totals.setdefault((connection_id, "api_calls", f"{kind}|ok"), [0, 0.0])[0] += calls - failed
    if failed > 0:
        totals.setdefault((connection_id, "api_calls", f"{kind}|error"), [0, 0.0])[0] += failed
    return totals


def add_totals(totals: Totals) -> None:
    """Add to the totals in one statement (an upsert that adds in the database: workers add to
    the same rows concurrently)."""
    if not totals:
        return
    table = connection_db.ops.quote_name(MetricTotal._meta.db_table)
    keys = sorted(totals)  # one order for every writer: concurrent upserts never deadlock
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(keys))
    params: list = []
    for key in keys:
        count, total = totals[key]
        params.extend([key[0], key[1], key[2], int(count), float(total)])
    with connection_db.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (connection_id, series, labels, count, total) VALUES {values} "
                       f"ON CONFLICT (connection_id, series, labels) DO UPDATE SET count = {table}.count + EXCLUDED.count, "
                       f"total = {table}.total + EXCLUDED.total", params)


def add_pause(*, connection_id: int) -> None:
    add_totals({(connection_id, "pauses", ""): [1, 0.0]})
