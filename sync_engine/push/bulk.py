"""Bulk API 2.0 for large background runs: a job costs about six calls whatever its size,
collections one call per 200 records, so above the threshold (default 2,000) a job is cheaper.
Per-row results (successfulResults / failedResults) are mapped back to each record."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from integrations.salesforce.errors import ErrorKind, SalesforceError
from sync_engine.models import SyncResult
from sync_engine.push.context import PushContext

NULL = "#N/A"  # Bulk API 2.0: "set this field to null"
# First wait before asking whether a job is done, then simple_salesforce's own back-off (the
# interval grows to 2 s). A fixed 1 s start costs about a second per job even when the org
# finished in a fraction of it; a slow job still ends up polled every 2 s, so its calls barely grow.
POLL_SECONDS = 0.2


def _cell(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_error(text: str) -> SalesforceError:
    # "REQUIRED_FIELD_MISSING:Required fields are missing: [StageName]:StageName --"
    code, _, rest = (text or "UNKNOWN:").partition(":")
    message, _, fields = rest.rpartition(":")
    if not message:
        message, fields = rest, ""
    return SalesforceError(code.strip() or "UNKNOWN", message.strip(),
                           fields=[f.strip() for f in fields.replace("--", "").split(",") if f.strip()])


def bulk_write(ctx: PushContext, sobject: str, items: list, *, operation: str, key_field: str) -> None:
    """Run one ingest job (upsert by `key_field`, or update by Id) and fill each item's result."""
    plain = [{k: v for k, v in i.fields.items() if not k.startswith("@")} for i in items]
    if operation == "update":
        for row, item in zip(plain, items):
            row["Id"] = item.salesforce_id
    columns = sorted({k for row in plain for k in row})
    # A column a row does not carry is left as is (an empty cell); only a None clears (#N/A).
    rows = [{c: _cell(row[c]) if c in row else "" for c in columns} for row in plain]
    by_key = {_cell(row.get(key_field)): item for row, item in zip(plain, items)}
    started = time.monotonic()
    calls_before = ctx.calls

    def run(sf):
        handler = getattr(sf.bulk2, sobject)
        if operation == "update":
            return handler.update(records=rows, wait=POLL_SECONDS)
        return handler.upsert(records=rows, external_id_field=key_field, wait=POLL_SECONDS)

    jobs = ctx.client.call(run)
    for job in jobs:
        job_id = job["job_id"]
        succeeded = ctx.client.call(lambda sf: getattr(sf.bulk2, sobject).get_successful_records(job_id))
        failed = ctx.client.call(lambda sf: getattr(sf.bulk2, sobject).get_failed_records(job_id))
        for record in csv.DictReader(io.StringIO(succeeded or "")):
            item = by_key.get(record.get(key_field, ""))
            if item is not None:
                item.result_id = record.get("sf__Id") or item.salesforce_id
        for record in csv.DictReader(io.StringIO(failed or "")):
            item = by_key.get(record.get(key_field, ""))
            if item is not None:
                item.error = _parse_error(record.get("sf__Error", ""))
    duration = int((time.monotonic() - started) * 1000 / max(1, len(items)))
    calls = ctx.calls - calls_before
    for index, item in enumerate(items):
        if not item.result_id and item.error is None:
            item.error = SalesforceError("BULK_UNPROCESSED", "The Bulk API job did not process this record; it is retried.",
                                         kind=ErrorKind.RETRYABLE)
        ok = item.error is None
        ctx.log(entry=item.entries[0] if item.entries else None, sobject=sobject, operation=f"bulk_{operation}",
                result=SyncResult.SUCCESS if ok else (SyncResult.RETRYING if item.error.retryable else SyncResult.FAILED),
                record_type=item.record_type, record_id=item.record_id, label=item.label,
                salesforce_id=item.result_id or item.salesforce_id, error=None if ok else item.error,
                api_calls=calls if index == 0 else 0, duration_ms=duration)
