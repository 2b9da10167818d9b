"""Bulk API 2.0 for large background runs: a job costs about five calls whatever its size,
collections one call per 200 records, so above the threshold (default 2,000) a job is cheaper.
Per-row results (successfulResults / failedResults) are mapped back to each record.

A group larger than `JOB_ROWS` goes as several jobs, one after the other on Salesforce's side,
pipelined on ours: the next job's CSV is built and uploaded while Salesforce runs the current
one, and the current one's results are settled (links, log rows) while Salesforce runs the
next. Jobs are polled on a schedule that starts short and backs off (`poll_delays`), guided by
how long this org's last job of the object took per row."""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from integrations.salesforce.errors import ErrorKind, SalesforceError
from sync_engine.models import SyncResult
from sync_engine.push.context import PushContext
from sync_engine.push.writer import sent_fields

NULL = "#N/A"  # Bulk API 2.0: "set this field to null"
# Rows per job. A batch of 5,000 goes as two jobs of 2,500: half its links are written while
# Salesforce runs the other half. Smaller jobs overlap more but cost about five calls each.
JOB_ROWS = 2_500
# Polling: the first check after POLL_FIRST seconds (or just before the time this org's last job
# of the object took per row predicts), then intervals growing by POLL_GROWTH up to POLL_CAP —
# or a tenth of the time already waited, at most POLL_CAP_LONG, so a job that runs for minutes
# in a busy org is not asked about every 2 s. POLL_TIMEOUT: the job is aborted and retried.
POLL_FIRST = 0.05
POLL_GROWTH = 1.5
POLL_CAP = 2.0
POLL_CAP_LONG = 30.0
POLL_TIMEOUT = 2 * 3600.0
DONE_STATES = ("JobComplete", "Failed", "Aborted")

# (connection id, sObject) -> seconds per row of the last job: the first check of the next job
# lands just before it should be done (typically one or two checks a job instead of six).
_SECONDS_PER_ROW: dict[tuple[int, str], float] = {}

Then = Callable[[list], None]


def poll_delays(expected: float | None = None) -> Iterator[float]:
    """Seconds to wait before each status check of a job, endless (the caller stops at a
    terminal state or POLL_TIMEOUT). `expected`: how long the job should take, when known."""
    if expected:
        first, step = max(POLL_FIRST, expected * 0.85), max(POLL_FIRST, expected * 0.1)
    else:
        first = step = POLL_FIRST
    yield first
    waited = first
    while True:
        yield step
        waited += step
        step = min(step * POLL_GROWTH, max(POLL_CAP, min(POLL_CAP_LONG, waited * 0.1)))


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


@dataclass
class _Job:
    items: list
    csv_text: str
    by_key: dict[str, Any]
    id: str = ""
    closed_at: float = 0.0
    calls: int = 0  # requests made for this job (its first log row carries them)
    started: float = field(default_factory=time.monotonic)


def _prepare(items: list, operation: str, key_field: str) -> _Job:
    """The job's CSV. A column a row does not carry is left as is (an empty cell); only a None
    clears (#N/A)."""
    plain = [sent_fields(i) for i in items]
    if operation == "update":
        for row, item in zip(plain, items):
            row["Id"] = item.salesforce_id
    columns = sorted({k for row in plain for k in row})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_cell(row[c]) if c in row else "" for c in columns] for row in plain)
    return _Job(items=items, csv_text=out.getvalue(), by_key={_cell(row.get(key_field)): item for row, item in zip(plain, items)})


def bulk_write(ctx: PushContext, sobject: str, items: list, *, operation: str, key_field: str, then: Then | None = None) -> None:
    """Run the ingest job(s) (upsert by `key_field`, or update by Id), fill each item's result
    and log it; `then(items)` gets each job's items as soon as that job's results are in."""
    if not items:
        return
    jobs = math.ceil(len(items) / JOB_ROWS)
    size = math.ceil(len(items) / jobs)
    chunks = [items[start:start + size] for start in range(0, len(items), size)]
    external = key_field if operation == "upsert" else None
    current = _prepare(chunks[0], operation, key_field)
    _open(ctx, sobject, operation, current, external)
    _close(ctx, sobject, current)
    for index in range(len(chunks)):
        following = None
        try:
            if index + 1 < len(chunks):
                # Built and uploaded while Salesforce runs the current job; closed (queued) only
                # when the current one is done, so the two never compete for the same records.
                following = _prepare(chunks[index + 1], operation, key_field)
                _open(ctx, sobject, operation, following, external)
            info = _wait(ctx, sobject, current)
            if following is not None:
                _close(ctx, sobject, following)
        except SalesforceError:
            if following is not None and following.id:
                ctx.client.bulk_ingest_abort(sobject, following.id)
            raise
        _collect(ctx, sobject, operation, key_field, current, info)
        if then is not None:
            then(current.items)
            ctx.flush()  # the job's log rows too, while Salesforce runs the next job
        if following is not None:
            current = following


def _open(ctx: PushContext, sobject: str, operation: str, job: _Job, external: str | None) -> None:
    job.id = _counted(ctx, job, lambda: ctx.client.bulk_ingest_open(sobject, operation, job.csv_text, external_id_field=external))
    job.csv_text = ""  # uploaded: the memory goes


def _close(ctx: PushContext, sobject: str, job: _Job) -> None:
    try:
        _counted(ctx, job, lambda: ctx.client.bulk_ingest_close(sobject, job.id))
    except SalesforceError:
        ctx.client.bulk_ingest_abort(sobject, job.id)
        raise
    job.closed_at = time.monotonic()


def _wait(ctx: PushContext, sobject: str, job: _Job) -> dict:
    """Poll until the job is done; a job that failed or timed out raises (the batch's rows go
    back to the queue). A check that fell due while we were busy elsewhere happens at once,
    and the schedule goes on from there."""
    key = (ctx.connection.pk, sobject)
    rate = _SECONDS_PER_ROW.get(key)
    expected = rate * len(job.items) if rate else None
    due, not_done_at = job.closed_at, None
    for delay in poll_delays(expected):
        due += delay
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        else:
            due = time.monotonic()
        info = _counted(ctx, job, lambda: ctx.client.bulk_ingest_info(sobject, job.id))
        state = info.get("state")
        waited = time.monotonic() - job.closed_at
        if state == "JobComplete":
            # Done between the last "not yet" and now; done at the first check: at most now.
            took = (not_done_at + waited) / 2 if not_done_at is not None else min(waited, expected or waited)
            _SECONDS_PER_ROW[key] = took / max(1, len(job.items))
            return info
        if state in DONE_STATES:
            raise SalesforceError("BULK_JOB_FAILED", f"The Bulk API job {job.id} ended {state}: "
                                  f"{info.get('errorMessage') or 'no reason given'}", kind=ErrorKind.RETRYABLE)
        not_done_at = waited
        if waited > POLL_TIMEOUT:
            ctx.client.bulk_ingest_abort(sobject, job.id)
            raise SalesforceError("BULK_TIMEOUT", f"The Bulk API job {job.id} was still {state} after "
                                  f"{POLL_TIMEOUT / 3600:.0f} h; it was aborted and its records are retried.",
                                  kind=ErrorKind.RETRYABLE)
    raise AssertionError("poll_delays never ends")  # pragma: no cover


def _counted(ctx: PushContext, job: _Job, call: Callable[[], Any]) -> Any:
    """Run one request for `job`, adding it to the job's calls (two jobs' requests interleave)."""
    before = ctx.calls
    try:
        return call()
    finally:
        job.calls += ctx.calls - before


def _collect(ctx: PushContext, sobject: str, operation: str, key_field: str, job: _Job, info: dict) -> None:
    """Map the job's result rows back to its items (a results file is only downloaded when
    the job's counters say it has rows) and log every item."""
    failed = int(info.get("numberRecordsFailed") or 0)
    succeeded = int(info.get("numberRecordsProcessed") or 0) - failed
    if succeeded > 0:
        text = _counted(ctx, job, lambda: ctx.client.bulk_ingest_results(sobject, job.id, "successfulResults"))
        for record in csv.DictReader(io.StringIO(text)):
            item = job.by_key.get(record.get(key_field, ""))
            if item is not None:
                item.result_id = record.get("sf__Id") or item.salesforce_id
    if failed > 0:
        text = _counted(ctx, job, lambda: ctx.client.bulk_ingest_results(sobject, job.id, "failedResults"))
        for record in csv.DictReader(io.StringIO(text)):
            item = job.by_key.get(record.get(key_field, ""))
            if item is not None:
                item.error = _parse_error(record.get("sf__Error", ""))
    duration = int((time.monotonic() - job.started) * 1000 / max(1, len(job.items)))
    calls = job.calls
    for index, item in enumerate(job.items):
        if not item.result_id and item.error is None:
            item.error = SalesforceError("BULK_UNPROCESSED", "The Bulk API job did not process this record; it is retried.",
                                         kind=ErrorKind.RETRYABLE)
        ok = item.error is None
        ctx.log(entry=item.entries[0] if item.entries else None, sobject=sobject, operation=f"bulk_{operation}",
                result=SyncResult.SUCCESS if ok else (SyncResult.RETRYING if item.error.retryable else SyncResult.FAILED),
                record_type=item.record_type, record_id=item.record_id, label=item.label,
                salesforce_id=item.result_id or item.salesforce_id, error=None if ok else item.error,
                api_calls=calls if index == 0 else 0, duration_ms=duration)
