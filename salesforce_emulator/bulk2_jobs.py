"""Bulk API 2.0 job bookkeeping: the `Job` record, its persistence and the worker threads.

`BulkManager` owns every job of one emulator process (``<data-dir>/bulk2/<job id>/job.json``),
runs each job in a background thread and processes query jobs; the row-by-row ingest
processing lives in `bulk2_ingest` and is mixed in here. The HTTP endpoints are in `bulk2`.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import clock, ids
from .bulk2_csv import DELIMITERS, LINE_ENDINGS, QueryResultFile
from .bulk2_ingest import IngestProcessing
from .errors import not_found

TERMINAL = ("JobComplete", "Failed", "Aborted")
JOB_PREFIX = "750"


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


class BulkManager(IngestProcessing):
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

    def _fail(self, job: Job, message: str) -> None:
        job.state = "Failed"
        job.error_message = message

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
