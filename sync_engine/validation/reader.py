"""The validation's Salesforce read: every record of the opportunity object with only the fields
the comparison needs, streamed in chunks.

Preferred: ONE Bulk API 2.0 queryAll job (create, a few status checks, one results call per
PAGE_ROWS rows — about five calls for 100,000 records). Its results are read a page at a time
and parsed row by row into chunks of CHUNK_ROWS, so at most one page of CSV and one chunk of
dicts are in memory. Fallback (an org without Bulk API 2.0, or `method="soql"`): a paged
queryAll, one call per 2,000 rows.

The read knows whether it is complete: a job that failed or was aborted, fewer rows than the
job's numberRecordsProcessed (or than a SOQL read's totalSize), or an error mid-stream makes it
truncated, with the reason. The caller then acts on nothing that depends on a record's absence.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from integrations.salesforce.errors import ErrorKind, SalesforceError
from sync_engine.pull.outbound import typed_fields

PAGE_ROWS = 50_000  # rows per Bulk results call: two calls read 100,000 records
CHUNK_ROWS = 2_000  # rows compared against Cothon at a time (a few queries each)
# Status checks: the first after half a second, then twice the wait each time, at most 30 s
# apart — a job of 100,000 rows that takes half a minute costs six checks.
POLL_FIRST = 0.5
POLL_MAX = 30.0
JOB_TIMEOUT = 30 * 60.0  # a job not done after this is abandoned: the read is truncated
DONE, FAILED_STATES = "JobComplete", ("Failed", "Aborted")


@dataclass
class ReadState:
    """How the read went: filled in as chunks are consumed."""

    method: str = ""
    rows: int = 0
    expected: int | None = None
    complete: bool = False
    reason: str = ""
    job_id: str = ""
    notes: list[str] = field(default_factory=list)

    def truncate(self, reason: str) -> None:
        self.complete = False
        self.reason = self.reason or reason


def read_records(client, *, sobject: str, fields: list[str], types: dict[str, str], state: ReadState,
                 method: str = "bulk", sleep=time.sleep) -> Iterator[list[dict]]:
    """Chunks of plain records (typed like a REST query's). Never raises for Salesforce errors:
    they end the stream and mark `state` truncated (quota and auth errors are re-raised after,
    so the governor and the connection status learn of them)."""
    soql = f"SELECT {', '.join(fields)} FROM {sobject}"
    if method == "bulk":
        try:
            job_id = client.bulk_query_open(sobject, soql)
        except SalesforceError as exc:
            if exc.kind in (ErrorKind.QUOTA, ErrorKind.AUTH):
                state.truncate(f"{exc.code}: {exc.message}")
                raise
            # No Bulk API 2.0 for this org or user: the paged query reads the same rows.
            state.notes.append(f"Bulk API 2.0 query refused ({exc.code}); read with paged SOQL instead.")
            method = "soql"
        else:
            state.method, state.job_id = "bulk", job_id
            yield from _bulk_chunks(client, sobject, job_id, types, state, sleep)
            return
    state.method = "soql"
    yield from _soql_chunks(client, soql, state)


def _bulk_chunks(client, sobject: str, job_id: str, types: dict[str, str], state: ReadState, sleep) -> Iterator[list[dict]]:
    try:
        info = _wait(client, sobject, job_id, sleep)
        if info.get("state") != DONE:
            detail = info.get("errorMessage") or ""
            state.truncate(f"The Bulk API query job {job_id} ended {info.get('state')}{': ' + detail if detail else ''}.")
            return
        state.expected = int(info.get("numberRecordsProcessed") or 0)
        locator = ""
        while True:
            text, locator, count = client.bulk_query_page(sobject, job_id, locator, PAGE_ROWS)
            read = 0
            chunk: list[dict] = []
            for row in csv.DictReader(io.StringIO(text)):
                chunk.append(_record(row, types))
                read += 1
                if len(chunk) >= CHUNK_ROWS:
                    state.rows += len(chunk)
                    yield chunk
                    chunk = []
            del text
            if chunk:
                state.rows += len(chunk)
                yield chunk
            if read != count:
                state.truncate(f"A results page of job {job_id} held {read:,} rows where Salesforce announced {count:,}.")
            if not locator:
                break
    except SalesforceError as exc:
        state.truncate(f"The read stopped after {state.rows:,} rows: {exc.code}: {exc.message}")
        client.bulk_query_abort(sobject, job_id)
        if exc.kind in (ErrorKind.QUOTA, ErrorKind.AUTH):
            raise
        return
    if state.reason:
        return
    if state.rows < (state.expected or 0):
        state.truncate(f"Read {state.rows:,} rows where job {job_id} processed {state.expected:,}.")
        return
    state.complete = True


def _wait(client, sobject: str, job_id: str, sleep) -> dict:
    """Check the job until it ends: first after POLL_FIRST, then doubling up to POLL_MAX."""
    waited, delay = 0.0, POLL_FIRST
    while True:
        sleep(delay)
        waited += delay
        info = client.bulk_query_info(sobject, job_id)
        if info.get("state") == DONE or info.get("state") in FAILED_STATES:
            return info
        if waited >= JOB_TIMEOUT:
            client.bulk_query_abort(sobject, job_id)
            return {"state": "Aborted", "errorMessage": f"not finished after {int(JOB_TIMEOUT // 60)} minutes"}
        delay = min(POLL_MAX, delay * 2)


def _soql_chunks(client, soql: str, state: ReadState) -> Iterator[list[dict]]:
    try:
        page = client.call(lambda sf: sf.query(soql, include_deleted=True))
        state.expected = int(page.get("totalSize") or 0)
        while True:
            records = [_plain(r) for r in page.get("records", [])]
            state.rows += len(records)
            if records:
                yield records
            if page.get("done", True):
                break
            next_url = page["nextRecordsUrl"]
            page = client.call(lambda sf: sf.query_more(next_url, identifier_is_url=True, include_deleted=True))
    except SalesforceError as exc:
        state.truncate(f"The read stopped after {state.rows:,} rows: {exc.code}: {exc.message}")
        if exc.kind in (ErrorKind.QUOTA, ErrorKind.AUTH):
            raise
        return
    if state.rows < (state.expected or 0):
        state.truncate(f"Read {state.rows:,} rows where the query counted {state.expected:,}.")
        return
    state.complete = True


def _record(row: dict, types: dict[str, str]) -> dict:
    """A Bulk CSV row as a REST query returns it: empty → None, numbers and booleans typed."""
    return typed_fields({k: (None if v == "" else v) for k, v in row.items()}, types)


def _plain(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "attributes"}
