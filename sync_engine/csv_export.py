"""CSV export of sync logs: streamed row by row, safe to open in a spreadsheet.

The rows come from a server-side cursor in chunks (sync_log_export_rows), are written to the
response as they are read, and are never all in memory. Cells that a spreadsheet would run as a
formula (starting with =, +, -, @, a tab or a carriage return) are prefixed with a quote.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

from cothon.models import Tenant
from sync_engine.models import SyncDirection, SyncResult
from sync_engine.selectors import LogFilters, sync_log_export_rows

HEADER = [
    "id", "time", "connection", "record_type", "record_id", "record", "salesforce_object", "salesforce_id",
    "direction", "operation", "result", "error_code", "error_message", "fix_hint", "retries", "duration_ms",
    "api_calls", "run_id",
    # Appended (a spreadsheet reading columns by position keeps working): when the change was
    # waiting since, which attempt this was (0: not an attempt), and the wait in milliseconds.
    "queued_at", "attempts", "latency_ms",
]
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_DIRECTIONS = dict(SyncDirection.choices)
_RESULTS = dict(SyncResult.choices)


def safe_cell(value) -> str | int:
    """A cell value a spreadsheet shows as text, never runs (OWASP "CSV injection")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return value
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _format_time(value: datetime.datetime | None, zone) -> str:
    if value is None:
        return ""
    return timezone.localtime(value, zone).isoformat(timespec="seconds")


def log_csv_lines(rows: Iterable[tuple], *, zone) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(HEADER)  # BOM: Excel opens UTF-8 (accents, “quotes”) correctly
    for (pk, created_at, connection, record_type, record_id, label, sobject, sf_id, direction, operation, result,
         code, message, hint, retries, duration, calls, run_id, queued_at, attempts) in rows:
        latency = max(0, int((created_at - queued_at).total_seconds() * 1000)) if queued_at and created_at else None
        yield writer.writerow([safe_cell(v) for v in (
            pk, _format_time(created_at, zone), connection, record_type, record_id, label, sobject, sf_id,
            _DIRECTIONS.get(direction, direction), operation, _RESULTS.get(result, result), code, message, hint,
            retries, duration, calls, run_id, _format_time(queued_at, zone), attempts, latency,
        )])


def sync_log_csv_response(*, tenant: Tenant, filters: LogFilters, zone, today: datetime.date) -> StreamingHttpResponse:
    """The filtered logs as a streamed CSV download named with the tenant and today's date."""
    rows = sync_log_export_rows(tenant=tenant, filters=filters)
    response = StreamingHttpResponse(log_csv_lines(rows, zone=zone), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sync-logs-{tenant.slug}-{today.isoformat()}.csv"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
