"""Bulk API 2.0: ingest jobs (insert, update, upsert, delete, hardDelete) and query jobs.

Jobs live in ``<data-dir>/bulk2/<job id>/`` (job.json, the uploaded data.csv, the three
result files, query results + row index). Processing runs in a background thread through the
same validation and `Dml` as the REST API (CSV text semantics), in chunks of `CHUNK` rows with
one transaction per chunk, so memory stays bounded whatever the size of the upload.

Every HTTP request to these endpoints counts against the org's API allowance like any other
call; the work a job does does not (that is why clients prefer Bulk above a threshold).
"""

from __future__ import annotations

import csv
import json
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Response

from . import clock, ids
from .bulk2_csv import (DELIMITERS, LINE_ENDINGS, NULL_MARK, QueryResultFile, ResultWriter,
                        decode_locator, detect_line_ending, encode_locator, ingest_headers)
from .dml import Dml, DmlError, key_value
from .errors import RequestError, SfError, not_found
from .http import Call, json_response

CHUNK = 2000
INGEST_OPS = ("insert", "update", "upsert", "delete", "hardDelete")
QUERY_OPS = ("query", "queryAll")
TERMINAL = ("JobComplete", "Failed", "Aborted")
JOB_PREFIX = "750"
MAX_PAGE = 1_000_000
# Objects whose writes touch other records: give each row its own savepoint.
SAVEPOINT_OBJECTS = {"ContentVersion", "ContentDocument", "ContentDocumentLink"}


@dataclass
class Job:
    id: str
    org: str
    kind: str  # ingest | query
    operation: str
    object: str
    user_id: str
    created: str
    modstamp: str
    state: str
    api_version: str
    line_ending: str = "LF"
    delimiter: str = "COMMA"
    external_id: str | None = None
    query: str | None = None
    processed: int = 0
    failed: int = 0
    error_message: str | None = None
    uploaded: bool = False
    processing_ms: int = 0
    retries: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def info(self, full: bool = True) -> dict[str, Any]:
        """The job info shape of Salesforce (creation answers omit the counters)."""
        out: dict[str, Any] = {
            "id": self.id, "operation": self.operation, "object": self.object,
            "createdById": self.user_id, "createdDate": self.created,
            "systemModstamp": self.modstamp, "state": self.state,
        }
        if self.kind == "ingest" and self.external_id:
            out["externalIdFieldName"] = self.external_id
        out.update(concurrencyMode="Parallel", contentType="CSV",
                   apiVersion=float(self.api_version))
        if self.kind == "ingest":
            out["jobType"] = "V2Ingest"
            if self.state == "Open":
                out["contentUrl"] = f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"
        elif full:
            out["jobType"] = "V2Query"
        out.update(lineEnding=self.line_ending, columnDelimiter=self.delimiter)
        if full:
            out["numberRecordsProcessed"] = self.processed
            if self.kind == "ingest":
                out["numberRecordsFailed"] = self.failed
            out["retries"] = self.retries
            out["totalProcessingTime"] = self.processing_ms
            if self.kind == "ingest":
                out["apiActiveProcessingTime"] = self.processing_ms
                out["apexProcessingTime"] = 0
            else:
                out["isPkChunkingSupported"] = False
            if self.state == "Failed" and self.error_message:
                out["errorMessage"] = self.error_message
        elif self.kind == "ingest":
            out.update(retries=0, totalProcessingTime=0, apiActiveProcessingTime=0,
                       apexProcessingTime=0)
        return out


class BulkManager:
    """All Bulk 2.0 jobs of one emulator process."""

    def __init__(self, emu: Any):
        self.emu = emu
        self.root = Path(emu.data_dir) / "bulk2"
        self.root.mkdir(parents=True, exist_ok=True)
        self.jobs: dict[str, Job] = {}
        self.lock = threading.RLock()
        self.slots = threading.Semaphore(2)
        self.running: dict[str, threading.Event] = {}  # job id -> set when its worker ends
        self._counter = int(time.time() * 1000) % 10**8
        self._load()

    # -- persistence -----------------------------------------------------------------------
    def _load(self) -> None:
        for path in sorted(self.root.glob("*/job.json")):
            try:
                data = json.loads(path.read_text())
                job = Job(**data)
            except (ValueError, TypeError):
                continue
            if job.state in ("UploadComplete", "InProgress"):
                # The emulator stopped mid-job: Salesforce would retry; we report it instead.
                job.state = "Failed"
                job.error_message = "InternalServerError : the emulator restarted while the " \
                                    "job was being processed"
                self.save(job)
            self.jobs[job.id] = job

    def folder(self, job: Job | str) -> Path:
        return self.root / (job if isinstance(job, str) else job.id)

    def save(self, job: Job) -> None:
        job.modstamp = clock.sf_datetime()
        folder = self.folder(job)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "job.json.tmp"
        tmp.write_text(json.dumps(asdict(job)))
        tmp.replace(folder / "job.json")

    def new_id(self) -> str:
        with self.lock:
            self._counter += 1
            return ids.make_id(JOB_PREFIX, self._counter)

    def add(self, job: Job) -> Job:
        with self.lock:
            self.jobs[job.id] = job
        self.save(job)
        return job

    def get(self, org: str, job_id: str, kind: str) -> Job:
        full = ids.normalize(job_id) or job_id
        job = self.jobs.get(full)
        if job is None or job.org != org or job.kind != kind:
            raise not_found()
        return job

    def delete(self, job: Job) -> None:
        with self.lock:
            self.jobs.pop(job.id, None)
        shutil.rmtree(self.folder(job), ignore_errors=True)

    def reset(self, org: str | None) -> None:
        with self.lock:
            doomed = [j for j in self.jobs.values() if org is None or j.org == org]
        for job in doomed:
            if job.state not in TERMINAL:
                job.state = "Aborted"
            self.delete(job)

    def run(self, job: Job) -> None:
        target = self._ingest if job.kind == "ingest" else self._query
        self.running[job.id] = threading.Event()
        thread = threading.Thread(target=self._guarded, args=(target, job), daemon=True,
                                  name=f"bulk2-{job.id}")
        thread.start()

    def _guarded(self, target, job: Job) -> None:
        try:
            self._work(target, job)
        finally:
            event = self.running.pop(job.id, None)
            if event is not None:
                event.set()

    def _work(self, target, job: Job) -> None:
        with self.slots:
            if job.state == "Aborted":
                return
            started = time.monotonic()
            try:
                target(job)
            except Exception as exc:  # noqa: BLE001 - a job fails, the server lives
                import traceback
                traceback.print_exc()
                if job.state != "Aborted":
                    job.state = "Failed"
                    job.error_message = f"InternalServerError : {exc}"
            finally:
                job.processing_ms += int((time.monotonic() - started) * 1000)
                if job.id in self.jobs:
                    self.save(job)

    def settle(self, job: Job, timeout: float = 30) -> None:
        """Wait for the job's worker to finish writing (an abort stops it at a chunk end)."""
        event = self.running.get(job.id)
        if event is not None:
            event.wait(timeout)

    # -- ingest processing -----------------------------------------------------------------
    def _fail(self, job: Job, message: str) -> None:
        job.state = "Failed"
        job.error_message = message

    def _ingest(self, job: Job) -> None:
        job.state = "InProgress"
        self.save(job)
        rt = self.emu.orgs[job.org]
        user = rt.org.user_by_id(job.user_id)
        folder = self.folder(job)
        data_path = folder / "data.csv"
        delimiter = DELIMITERS[job.delimiter]
        if not job.uploaded or not data_path.exists() or data_path.stat().st_size == 0:
            self._empty_results(folder)
            return self._fail(job, "InvalidBatch : Failed to process: no data was uploaded")
        ending = detect_line_ending(data_path)
        if ending is not None and ending != job.line_ending:
            self._empty_results(folder)
            return self._fail(job, "ClientInputError : LineEnding is invalid on user data. "
                              f"Current LineEnding setting is {job.line_ending}")
        dml = Dml(rt, user)
        with open(data_path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            header = next(reader, [])
            headers = ingest_headers(header)
            writers = {name: ResultWriter(folder / f"{name}.csv", text)
                       for name, text in headers.items()}
            try:
                plan = self._plan(rt, user, job, header)
            except SfError as exc:
                for row in reader:
                    writers["unprocessedrecords"].rows([row])
                for writer in writers.values():
                    writer.close()
                return self._fail(job, exc.message)
            try:
                self._ingest_rows(job, rt, dml, plan, reader, writers)
            finally:
                for writer in writers.values():
                    writer.close()
        if job.state == "InProgress":
            job.state = "JobComplete"

    @staticmethod
    def _empty_results(folder: Path) -> None:
        for name, text in ingest_headers([]).items():
            (folder / f"{name}.csv").write_text("" if name == "unprocessedrecords" else text)

    def _plan(self, rt, user, job: Job, header: list[str]) -> dict[str, Any]:
        """Map CSV columns to fields: plain fields, Id, and Rel.ExternalField references."""
        obj = rt.schema.get(job.object)
        profile = rt.admin_profile if rt.profile_of(user).admin else rt.profile_of(user)
        validator = rt.validator(obj, profile)
        columns: list[tuple[str, Any]] = []
        seen = set()
        for col in header:
            name = col.strip()
            lowered = name.lower()
            if lowered in seen:
                raise SfError("INVALIDBATCH", f"InvalidBatch : Duplicate field name: {name}")
            seen.add(lowered)
            if job.operation in ("delete", "hardDelete"):
                if lowered != "id":
                    raise SfError("INVALIDBATCH", "InvalidBatch : Field name not found : "
                                  f"{name}" if validator.resolve(name) is None else
                                  "InvalidBatch : The 'delete' batch must contain only "
                                  "'Id' field")
                columns.append(("id", "Id"))
                continue
            if "." in name:
                rel, _, ext = name.partition(".")
                rel_type = None
                if ":" in rel:
                    rel, _, rel_type = rel.partition(":")
                ref = next((f for f in validator.visible.values() if f.type == "reference"
                            and (f.relationship_name or "").lower() == rel.lower()), None)
                target = None
                if ref is not None:
                    target_name = rel_type or (ref.reference_to[0] if ref.reference_to else None)
                    target = rt.schema.get(target_name) if target_name else None
                ext_field = target.field(ext) if target else None
                if ref is None or target is None or ext_field is None or not (
                        ext_field.external_id or ext_field.type == "id"
                        or (ext_field.id_lookup and ext_field.unique)):
                    raise SfError("INVALIDBATCH", f"InvalidBatch : Field name not found : {name}")
                columns.append(("ref", (ref, target, ext_field)))
                continue
            fld = validator.resolve(name)
            if fld is None:
                raise SfError("INVALIDBATCH", f"InvalidBatch : Field name not found : {name}")
            columns.append(("id" if fld.type == "id" else "field", fld.name))
        plan: dict[str, Any] = {"object": obj, "columns": columns}
        if job.operation == "upsert":
            ext = job.external_id or ""
            index = next((i for i, (kind, target) in enumerate(columns)
                          if kind in ("field", "id") and target.lower() == ext.lower()), None)
            if index is None:
                raise SfError("INVALIDBATCH", f"InvalidBatch : Field name not found : {ext}")
            plan["ext_index"] = index
        if job.operation in ("update", "delete", "hardDelete") and not any(
                kind == "id" for kind, _t in columns):
            raise SfError("INVALIDBATCH", "InvalidBatch : Field name not found : Id")
        return plan

    def _row_payload(self, rt, plan: dict[str, Any], row: list[str]
                     ) -> tuple[dict[str, Any], str | None, Any]:
        payload: dict[str, Any] = {}
        record_id = None
        ext_value = None
        ext_index = plan.get("ext_index")
        for index, (kind, target) in enumerate(plan["columns"]):
            value = row[index] if index < len(row) else ""
            if index == ext_index:
                ext_value = value
                if kind == "id":
                    record_id = value or None
                continue
            if kind == "id":
                record_id = value or None
                continue
            if value == "":
                continue  # empty = leave as is; #N/A = set to null
            if kind == "ref":
                ref, target_obj, ext_field = target
                if value == NULL_MARK:
                    payload[ref.name] = None
                    continue
                if ext_field.type == "id":
                    payload[ref.name] = value
                    continue
                hits = rt.store.find_by_key(rt.org.name, target_obj.name, ext_field.name,
                                            key_value(ext_field, value))
                if not hits:
                    raise DmlError([SfError(
                        "INVALID_FIELD", f"Foreign key external ID: {value} not found for field "
                        f"{ext_field.name} in entity {target_obj.name}", [ref.name])])
                if len(hits) > 1:
                    raise DmlError([SfError(
                        "DUPLICATE_EXTERNAL_ID", f"{ext_field.name}: more than one record found "
                        f"for external id field: [{', '.join(hits)}]", [ref.name])])
                payload[ref.name] = hits[0]
                continue
            payload[target] = None if value == NULL_MARK else value
        return payload, record_id, ext_value

    def _ingest_rows(self, job: Job, rt, dml: Dml, plan: dict[str, Any], reader,
                     writers: dict[str, ResultWriter]) -> None:
        store = rt.store
        obj = plan["object"]
        savepoints = obj.name in SAVEPOINT_OBJECTS or job.operation == "hardDelete"
        while True:
            rows = []
            for row in reader:
                rows.append(row)
                if len(rows) >= CHUNK:
                    break
            if not rows:
                return
            if job.state == "Aborted":
                writers["unprocessedrecords"].rows(rows)
                for row in reader:
                    writers["unprocessedrecords"].rows([row])
                return
            ok: list[list[str]] = []
            bad: list[list[str]] = []
            with store.write():
                for row in rows:
                    record_id = None
                    try:
                        payload, record_id, ext_value = self._row_payload(rt, plan, row)
                        if savepoints:
                            with store.write():
                                rid, created = self._apply(job, dml, obj, payload, record_id,
                                                           ext_value)
                        else:
                            rid, created = self._apply(job, dml, obj, payload, record_id,
                                                       ext_value)
                        ok.append([rid, "true" if created else "false", *row])
                    except DmlError as exc:
                        bad.append([_known(record_id), _error_text(exc.errors), *row])
                    except SfError as exc:
                        bad.append([_known(record_id), _error_text([exc]), *row])
            writers["successfulResults"].rows(ok)
            writers["failedResults"].rows(bad)
            job.processed += len(rows)
            job.failed += len(bad)

    def _apply(self, job: Job, dml: Dml, obj, payload: dict[str, Any], record_id: str | None,
               ext_value: Any) -> tuple[str, bool]:
        op = job.operation
        if op == "insert":
            if record_id:
                payload["Id"] = record_id
            return dml.create(obj.name, payload, csv=True), True
        if op == "update":
            if not record_id:
                raise DmlError([SfError("MISSING_ARGUMENT", "Id not specified in an update "
                                        "call", [])])
            dml.update(obj.name, record_id, payload, csv=True)
            return ids.normalize(record_id) or record_id, False
        if op == "upsert":
            return dml.upsert(obj.name, job.external_id, ext_value, payload, csv=True)
        # delete / hardDelete
        if not record_id:
            raise DmlError([SfError("MISSING_ARGUMENT", "Id not specified in a delete call",
                                    [])])
        full = ids.normalize(record_id)
        if full is None:
            raise DmlError([SfError("MALFORMED_ID", f"bad id {record_id}", [])])
        found = dml.store.get(full)
        if found is None or found[0] != dml.org_name or found[1] != obj.name:
            raise DmlError([SfError("INVALID_CROSS_REFERENCE_KEY",
                                    "invalid cross reference id", [])])
        dml.delete(full, obj.name)
        if op == "hardDelete":
            conn = dml.store.conn
            conn.execute("DELETE FROM records WHERE id=?", (full,))
            conn.execute("DELETE FROM blobs WHERE id=?", (full,))
        return full, False

    # -- query processing ------------------------------------------------------------------
    def _query(self, job: Job) -> None:
        from .runtime import StoreDataSource
        from .soql import SoqlError, execute
        job.state = "InProgress"
        self.save(job)
        rt = self.emu.orgs[job.org]
        user = rt.org.user_by_id(job.user_id)
        source = StoreDataSource(rt, rt.profile_of(user))
        try:
            result = execute(job.query, source, api_version=job.api_version,
                             include_deleted=job.operation == "queryAll")
        except SoqlError as exc:
            return self._fail(job, f"{exc.error_code} : {exc.message}")
        if job.state == "Aborted":
            return
        columns = list(result.columns)
        count = QueryResultFile(self.folder(job)).write(
            columns, result.records, DELIMITERS[job.delimiter], LINE_ENDINGS[job.line_ending])
        job.processed = count
        if job.state == "InProgress":
            job.state = "JobComplete"


def _known(record_id: str | None) -> str:
    return (ids.normalize(record_id) or "") if record_id else ""


def _error_text(errors: list[SfError]) -> str:
    """`REQUIRED_FIELD_MISSING:Required fields are missing: [StageName]:StageName --`."""
    err = errors[0]
    fields = ",".join(err.fields)
    return f"{err.code}:{err.message}:{fields} --" if fields else f"{err.code}:{err.message}:--"


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
