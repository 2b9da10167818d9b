"""Bulk API 2.0: ingest jobs (insert, update, upsert, delete, hardDelete) and query jobs.

Jobs live in ``<data-dir>/bulk2/<job id>/`` (job.json, the uploaded data.csv, the three
result files, query results + row index). Processing runs in a background thread through the
same validation and `Dml` as the REST API (CSV text semantics), in chunks of `CHUNK` rows with
one transaction per chunk, so memory stays bounded whatever the size of the upload.

Every HTTP request to these endpoints counts against the org's API allowance like any other
call; the work a job does does not (that is why clients prefer Bulk above a threshold).

This module holds the HTTP endpoints and the extension hooks; the job record, bookkeeping and
worker threads are in `bulk2_jobs`, ingest processing in `bulk2_ingest`, CSV helpers in
`bulk2_csv`.
"""

from __future__ import annotations

import csv
from typing import Any

from werkzeug.wrappers import Response

from . import clock
from .bulk2_csv import (DELIMITERS, LINE_ENDINGS, QueryResultFile, decode_locator, encode_locator,
                        ingest_headers)
from .bulk2_jobs import TERMINAL, BulkManager, Job
from .errors import RequestError, not_found
from .http import Call, json_response

INGEST_OPS = ("insert", "update", "upsert", "delete", "hardDelete")
QUERY_OPS = ("query", "queryAll")
MAX_PAGE = 1_000_000


_MANAGERS: dict[int, BulkManager] = {}


def manager(emu: Any) -> BulkManager:
    found = _MANAGERS.get(id(emu))
    if found is None:
        found = _MANAGERS[id(emu)] = BulkManager(emu)
    return found


# -- extension hooks ------------------------------------------------------------------------
def attach(emu: Any) -> None:
    manager(emu)


def reset(emu: Any, org: str | None) -> None:
    manager(emu).reset(org)


# -- endpoints ------------------------------------------------------------------------------
def _job_error(message: str, code: str = "INVALIDJOB", status: int = 400) -> RequestError:
    return RequestError(code, message, status=status)


def _respond(data: Any, status: int = 200) -> Response:
    return json_response(data, status)


def _options(body: dict[str, Any]) -> tuple[str, str]:
    line_ending = body.get("lineEnding") or "LF"
    delimiter = body.get("columnDelimiter") or "COMMA"
    if line_ending not in LINE_ENDINGS:
        raise _job_error(f"InvalidJob : Invalid lineEnding: {line_ending}")
    if delimiter not in DELIMITERS:
        raise _job_error(f"InvalidJob : Invalid columnDelimiter: {delimiter}")
    content_type = body.get("contentType") or "CSV"
    if content_type != "CSV":
        raise _job_error(f"InvalidJob : Invalid contentType: {content_type}. Bulk API 2.0 "
                         "supports CSV only")
    return line_ending, delimiter


def create_ingest(call: Call):
    body = call.json_object()
    operation = body.get("operation")
    if operation not in INGEST_OPS:
        raise _job_error(f"InvalidJob : Invalid operation: {operation}")
    sobject = body.get("object")
    if not sobject:
        raise _job_error("InvalidJob : Object is required")
    line_ending, delimiter = _options(body)
    obj = call.rt.schema.get(sobject)
    if obj is None or not call.rt.schema.readable(call.profile, obj):
        raise _job_error(f"InvalidJob : Invalid object: {sobject}")
    external = body.get("externalIdFieldName")
    if operation == "upsert":
        if not external:
            raise _job_error(f"InvalidJob : External ID was blank for {obj.name}. An External "
                             "ID must be specified for upsert.")
        external = call.dml().external_field(obj, external).name
    elif operation == "hardDelete" and not call.profile.admin:
        raise _job_error("FeatureNotEnabled : hardDelete requires the \"Bulk API Hard Delete\" "
                         "permission", "FEATURENOTENABLED")
    stamp = clock.sf_datetime()
    mgr = manager(call.emu)
    job = mgr.add(Job(id=mgr.new_id(), org=call.rt.org.name, kind="ingest",
                      operation=operation, object=obj.name, user_id=call.user.id,
                      created=stamp, modstamp=stamp, state="Open",
                      api_version=call.version or "59.0", line_ending=line_ending,
                      delimiter=delimiter,
                      external_id=external if operation == "upsert" else None))
    return _respond(job.info(full=False))


def upload(call: Call, job_id: str):
    mgr = manager(call.emu)
    job = mgr.get(call.rt.org.name, job_id, "ingest")
    if job.state != "Open":
        raise _job_error(f"Job {job.id} is not open for uploads (state {job.state})",
                         "INVALIDJOBSTATE", 409)
    if job.uploaded:
        raise _job_error(f"Found multiple contents for job: <{job.id}>, please 'Close' / "
                         "'Abort' / 'Delete' the current Job then create a new Job and make "
                         "sure you only do 'PUT' once on a given Job.", "BULK_API_ERROR")
    folder = mgr.folder(job)
    folder.mkdir(parents=True, exist_ok=True)
    stream = call.request.stream
    with open(folder / "data.csv", "wb") as fh:
        while True:
            chunk = stream.read(1 << 20)
            if not chunk:
                break
            fh.write(chunk)
    job.uploaded = True
    mgr.save(job)
    return Response(b"", status=201)


def _set_state(call: Call, job: Job) -> Response:
    body = call.json_object()
    state = body.get("state")
    mgr = manager(call.emu)
    if state == "UploadComplete" and job.kind == "ingest":
        if job.state != "Open":
            raise _job_error(f"Job state transition from {job.state} to UploadComplete is not "
                             "allowed", "INVALIDJOBSTATE")
        job.state = "UploadComplete"
        mgr.save(job)
        answer = job.info(full=False)
        mgr.run(job)
        return _respond(answer)
    elif state == "Aborted":
        if job.state in TERMINAL:
            raise _job_error(f"Job state transition from {job.state} to Aborted is not "
                             "allowed", "INVALIDJOBSTATE")
        job.state = "Aborted"
        mgr.save(job)
    else:
        raise _job_error(f"Invalid state: {state}", "INVALIDJOBSTATE")
    return _respond(job.info(full=False))


def ingest_job(call: Call, job_id: str):
    mgr = manager(call.emu)
    job = mgr.get(call.rt.org.name, job_id, "ingest")
    method = call.request.method
    if method == "PATCH":
        return _set_state(call, job)
    if method == "DELETE":
        if job.state in ("Open", "InProgress"):
            raise _job_error(f"Job {job.id} cannot be deleted in state {job.state}",
                             "INVALIDJOBSTATE")
        mgr.delete(job)
        return Response(b"", status=204)
    return _respond(job.info())


def _list(call: Call, kind: str) -> Response:
    mgr = manager(call.emu)
    with mgr.lock:
        jobs = sorted((j for j in mgr.jobs.values() if j.org == call.rt.org.name
                       and j.kind == kind), key=lambda j: j.created)
    records = []
    for job in jobs:
        info = job.info(full=False)
        info.pop("contentUrl", None)
        info["jobType"] = "V2Ingest" if kind == "ingest" else "V2Query"
        records.append(info)
    return _respond({"done": True, "records": records, "nextRecordsUrl": None})


def list_ingest(call: Call):
    return _list(call, "ingest")


def list_query(call: Call):
    return _list(call, "query")


def ingest_results(call: Call, job_id: str, which: str):
    mgr = manager(call.emu)
    job = mgr.get(call.rt.org.name, job_id, "ingest")
    name = {"successfulresults": "successfulResults", "failedresults": "failedResults",
            "unprocessedrecords": "unprocessedrecords"}.get(which.lower())
    if name is None:
        raise not_found()
    if job.state == "Aborted":
        mgr.settle(job)
    path = mgr.folder(job) / f"{name}.csv"
    if not path.exists():
        if job.state in ("Open", "UploadComplete", "Aborted", "Failed"):
            return _unprocessed_all(mgr, job, name)
        raise _job_error(f"Job {job.id} has not finished processing (state {job.state})",
                         "INVALIDJOBSTATE")

    def body():
        with open(path, "rb") as fh:
            while True:
                chunk = fh.read(1 << 20)
                if not chunk:
                    break
                yield chunk

    return Response(body(), status=200, content_type="text/csv")


def _unprocessed_all(mgr: BulkManager, job: Job, name: str) -> Response:
    """Before (or without) processing, every uploaded row is unprocessed; no results yet."""
    data = mgr.folder(job) / "data.csv"
    if name == "unprocessedrecords":
        body = data.read_bytes() if data.exists() else b""
        return Response(body, status=200, content_type="text/csv")
    header: list[str] = []
    if data.exists():
        with open(data, encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh, delimiter=DELIMITERS[job.delimiter]), [])
    text = ingest_headers(header)[name]
    return Response(text.encode(), status=200, content_type="text/csv")


def create_query(call: Call):
    from .runtime import StoreDataSource
    from .soql import SoqlError, parse
    from .soql.semantic import Resolver
    body = call.json_object()
    operation = body.get("operation") or "query"
    if operation not in QUERY_OPS:
        raise _job_error(f"InvalidJob : Invalid operation: {operation}")
    soql = body.get("query")
    if not soql or not isinstance(soql, str):
        raise _job_error("InvalidJob : Query is required for query jobs")
    line_ending, delimiter = _options(body)
    source = StoreDataSource(call.rt, call.profile)
    try:
        resolved = Resolver(soql, source).resolve(parse(soql))
    except SoqlError as exc:
        raise RequestError(exc.error_code, exc.message) from None
    if getattr(resolved, "aggregate", False):
        raise _job_error("FeatureNotEnabled : Aggregate queries are not supported by Bulk API "
                         "2.0", "FEATURENOTENABLED")
    stamp = clock.sf_datetime()
    mgr = manager(call.emu)
    job = mgr.add(Job(id=mgr.new_id(), org=call.rt.org.name, kind="query",
                      operation=operation, object=resolved.object.name, user_id=call.user.id,
                      created=stamp, modstamp=stamp, state="UploadComplete",
                      api_version=call.version or "59.0", line_ending=line_ending,
                      delimiter=delimiter, query=soql))
    answer = job.info(full=False)
    mgr.run(job)
    return _respond(answer)


def query_job(call: Call, job_id: str):
    mgr = manager(call.emu)
    job = mgr.get(call.rt.org.name, job_id, "query")
    method = call.request.method
    if method == "PATCH":
        return _set_state(call, job)
    if method == "DELETE":
        if job.state in ("UploadComplete", "InProgress"):
            raise _job_error(f"Job {job.id} cannot be deleted in state {job.state}",
                             "INVALIDJOBSTATE")
        mgr.delete(job)
        return Response(b"", status=204)
    return _respond(job.info())


def query_results(call: Call, job_id: str):
    mgr = manager(call.emu)
    job = mgr.get(call.rt.org.name, job_id, "query")
    if job.state != "JobComplete":
        raise _job_error(f"Job {job.id} is not complete (state {job.state})",
                         "INVALIDJOBSTATE")
    args = call.request.args
    raw_max = args.get("maxRecords")
    max_records = MAX_PAGE
    if raw_max:
        if not raw_max.isdigit() or int(raw_max) < 1:
            raise _job_error(f"Invalid maxRecords: {raw_max}", "INVALIDREQUEST")
        max_records = min(int(raw_max), MAX_PAGE)
    offset = 0
    locator = args.get("locator")
    if locator and locator != "null":
        decoded = decode_locator(locator)
        if decoded is None:
            raise _job_error(f"Invalid locator: {locator}", "INVALIDLOCATOR")
        offset = decoded
    body, count, next_offset = QueryResultFile(mgr.folder(job)).page(offset, max_records)
    headers = {"Sforce-NumberOfRecords": str(count),
               "Sforce-Locator": encode_locator(next_offset) if next_offset else "null"}
    return Response(body, status=200, content_type="text/csv", headers=headers)


def register(router) -> None:
    v = "/services/data/v<version>/jobs"
    router.add(f"{v}/ingest", ["POST"], create_ingest, operation="bulk", name="bulk2_create")
    router.add(f"{v}/ingest", ["GET"], list_ingest, operation="bulk", name="bulk2_list")
    router.add(f"{v}/ingest/<job_id>", ["GET", "PATCH", "DELETE"], ingest_job,
               operation="bulk", name="bulk2_job")
    router.add(f"{v}/ingest/<job_id>/batches", ["PUT"], upload, operation="bulk",
               name="bulk2_upload")
    router.add(f"{v}/ingest/<job_id>/<which>", ["GET"], ingest_results, operation="bulk",
               name="bulk2_results")
    router.add(f"{v}/query", ["POST"], create_query, operation="bulk", name="bulk2_query_create")
    router.add(f"{v}/query", ["GET"], list_query, operation="bulk", name="bulk2_query_list")
    router.add(f"{v}/query/<job_id>", ["GET", "PATCH", "DELETE"], query_job, operation="bulk",
               name="bulk2_query_job")
    router.add(f"{v}/query/<job_id>/results", ["GET"], query_results, operation="bulk",
               name="bulk2_query_results")
