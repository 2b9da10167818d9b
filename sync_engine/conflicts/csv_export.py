"""CSV export of the conflict queue, the way the sync logs are exported (sync_engine/csv_export.py):
streamed, a BOM for Excel, every cell formula-injection safe."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from sync_engine.csv_export import _Echo, _format_time, safe_cell
from sync_engine.models import SyncConflict

HEADER = ["id", "connection", "record_id", "record", "salesforce_field", "cothon_field", "rule", "base_value",
          "cothon_value", "cothon_changed_at", "cothon_changed_by", "salesforce_value", "salesforce_changed_at", "salesforce_changed_by",
          "status", "resolution", "resolved_value", "resolved_by", "resolved_at", "created_at"]


def value_text(value) -> str:
    """A held value as text: strings as they are, numbers and booleans as JSON, none as empty."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def conflict_csv_lines(rows: Iterable[SyncConflict], *, zone, authors: dict) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(HEADER)
    for c in rows:
        author = authors.get((c.connection_id, c.salesforce_changed_by))
        yield writer.writerow([safe_cell(v) for v in (
            c.pk, c.connection.name, c.record_id, c.record_label, c.sf_field, c.cothon_field, c.rule,
            value_text(c.base_value), value_text(c.cothon_value), _format_time(c.cothon_changed_at, zone),
            c.cothon_changed_by.get_username() if c.cothon_changed_by_id and c.cothon_changed_by else "",
            value_text(c.salesforce_value), _format_time(c.salesforce_changed_at, zone),
            author.get_username() if author else c.salesforce_changed_by, c.status, c.resolution,
            value_text(c.resolved_value), c.resolved_by.get_username() if c.resolved_by_id else "",
            _format_time(c.resolved_at, zone), _format_time(c.created_at, zone),
        )])


def conflict_csv_response(*, rows: QuerySet[SyncConflict], authors: dict, zone, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(conflict_csv_lines(rows.iterator(chunk_size=500), zone=zone, authors=authors),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
