"""The Salesforce client layer. Every Salesforce call in Cothon goes through SalesforceClient.

It drives simple-salesforce in direct mode (instance_url + session id + our own
requests.Session), which gives us, in one place:
- timeouts on every request, and the connection's own CA bundle (never REQUESTS_CA_BUNDLE);
- call accounting: each response's duration and `Sforce-Limit-Info` usage goes to `on_call`
  (the governor and the API-usage page feed on it);
- error translation into integrations.salesforce.errors (retryable / quota / auth / permanent);
- one token refresh on an invalid session, then a SalesforceAuthError (no retry storm).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError as _SimpleSalesforceError

from integrations.salesforce.errors import ErrorKind, SalesforceAuthError, SalesforceError, SalesforceQuotaError
from integrations.salesforce.limits import ApiUsage, parse_limit_info


@dataclass(frozen=True)
class CallRecord:
    method: str
    path: str
    status: int | None
    duration_ms: int
    usage: ApiUsage | None


OnCall = Callable[[CallRecord], None]
TokenRefresher = Callable[[], str]  # returns a fresh access token or raises SalesforceAuthError


class _AccountingSession(requests.Session):
    """A requests.Session that applies a default timeout and reports every call."""

    def __init__(self, *, timeout: float, verify: str | bool, on_call: OnCall | None) -> None:
        super().__init__()
        self._timeout = timeout
        self.verify = verify
        self._on_call = on_call

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self._timeout)
        # Explicit per request: otherwise an exported REQUESTS_CA_BUNDLE would override the
        # connection's own CA bundle (requests merges the environment over session.verify).
        kwargs.setdefault("verify", self.verify)
        started = time.monotonic()
        status = None
        usage = None
        try:
            response = super().request(method, url, *args, **kwargs)
            status = response.status_code
            usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
            return response
        finally:
            if self._on_call is not None:
                path = requests.utils.urlparse(url).path
                self._on_call(CallRecord(method.upper(), path, status, int((time.monotonic() - started) * 1000), usage))


def translate_error(exc: Exception) -> SalesforceError:
    """Turn a simple-salesforce / requests exception into ours."""
    if isinstance(exc, SalesforceError):
        return exc
    if isinstance(exc, requests.Timeout):
        return SalesforceError("TIMEOUT", f"Salesforce did not answer in time ({exc})", kind=ErrorKind.RETRYABLE)
    if isinstance(exc, requests.ConnectionError):
        return SalesforceError("CONNECTION_ERROR", f"Could not reach Salesforce ({exc})", kind=ErrorKind.RETRYABLE)
    if isinstance(exc, _SimpleSalesforceError):
        code, message, fields = _first_error(exc.content)
        status = exc.status
        if status == 401 and code == "UNKNOWN":
            code = "INVALID_SESSION_ID"
        error = SalesforceError(code, message, status=status, fields=fields)
        if error.kind is ErrorKind.QUOTA:
            return SalesforceQuotaError(code, message, status=status)
        if error.kind is ErrorKind.AUTH:
            return SalesforceAuthError(code, message, status=status)
        return error
    return SalesforceError("UNKNOWN", str(exc), kind=ErrorKind.PERMANENT)


def _first_error(content: Any) -> tuple[str, str, list[str]]:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        item = content[0]
        return str(item.get("errorCode", "UNKNOWN")), str(item.get("message", "")), list(item.get("fields") or [])
    if isinstance(content, dict):
        if "error" in content:  # OAuth error body
            return str(content["error"]), str(content.get("error_description", "")), []
        return str(content.get("errorCode", "UNKNOWN")), str(content.get("message", content)), []
    return "UNKNOWN", str(content)[:500], []


class SalesforceClient:
    def __init__(
        self,
        *,
        instance_url: str,
        access_token: str,
        api_version: str = "59.0",
        ca_bundle: str | None = None,
        timeout: float = 30.0,
        on_call: OnCall | None = None,
        token_refresher: TokenRefresher | None = None,
    ) -> None:
        self.instance_url = instance_url.rstrip("/")
        self.api_version = api_version
        self.session = _AccountingSession(timeout=timeout, verify=ca_bundle or True, on_call=on_call)
        self._token_refresher = token_refresher
        self._sf = self._build(access_token)

    def _build(self, access_token: str) -> Salesforce:
        return Salesforce(instance_url=self.instance_url, session_id=access_token, session=self.session,
                          version=self.api_version)

    @property
    def access_token(self) -> str:
        return self._sf.session_id

    def call(self, operation: Callable[[Salesforce], Any]) -> Any:
        """Run one operation; refresh the session once on INVALID_SESSION_ID, translate errors."""
        try:
            return operation(self._sf)
        except Exception as exc:  # noqa: BLE001 - translated below, nothing swallowed
            error = translate_error(exc)
        if error.kind is ErrorKind.AUTH and self._token_refresher is not None:
            self._sf = self._build(self._token_refresher())  # raises SalesforceAuthError if refresh fails
            try:
                return operation(self._sf)
            except Exception as exc:  # noqa: BLE001
                raise translate_error(exc) from exc
        raise error

    # --- conveniences used across the product ---------------------------------------------

    def describe(self, sobject: str) -> dict:
        return self.call(lambda sf: getattr(sf, sobject).describe())

    def limits(self) -> dict:
        return self.call(lambda sf: sf.limits())

    def query(self, soql: str) -> dict:
        return self.call(lambda sf: sf.query(soql))

    def query_all_iter(self, soql: str, *, include_deleted: bool = False) -> Iterator[dict]:
        """Stream records page by page (nextRecordsUrl), never holding them all in memory."""
        page = self.call(lambda sf: sf.query(soql, include_deleted=include_deleted))
        while True:
            yield from page.get("records", [])
            if page.get("done", True):
                return
            next_url = page["nextRecordsUrl"]
            page = self.call(lambda sf: sf.query_more(next_url, identifier_is_url=True, include_deleted=include_deleted))

    def rest(self, method: str, path: str, **kwargs: Any) -> Any:
        """Any REST resource under /services/data/vXX.X/ (collections, composite, jobs…)."""
        return self.call(lambda sf: sf.restful(path, method=method, **kwargs))

    def collections_upsert(self, sobject: str, external_id_field: str, records: list[dict], *,
                           all_or_none: bool = False) -> list[dict]:
        """sObject Collections upsert (≤200 records). Returns Salesforce's per-record results."""
        if len(records) > 200:
            raise ValueError("sObject Collections take at most 200 records per call")
        body = {"allOrNone": all_or_none, "records": [{"attributes": {"type": sobject}, **r} for r in records]}
        return self.rest("PATCH", f"composite/sobjects/{sobject}/{external_id_field}", json=body)

    def collections_create(self, records: list[dict], *, all_or_none: bool = False) -> list[dict]:
        if len(records) > 200:
            raise ValueError("sObject Collections take at most 200 records per call")
        return self.rest("POST", "composite/sobjects", json={"allOrNone": all_or_none, "records": records})

    def collections_update(self, records: list[dict], *, all_or_none: bool = False) -> list[dict]:
        if len(records) > 200:
            raise ValueError("sObject Collections take at most 200 records per call")
        return self.rest("PATCH", "composite/sobjects", json={"allOrNone": all_or_none, "records": records})

    def content_version_create(self, fields: dict[str, Any], data: bytes, *, file_name: str) -> dict:
        """Create a ContentVersion with its file as a multipart request (a JSON part and the
        binary part), not base64 in JSON: a 36 MB file stays 36 MB on the wire (base64 would
        make it 48 MB, past the REST API's JSON body limit)."""
        files = {
            "entity_content": (None, json.dumps(fields), "application/json"),
            "VersionData": (file_name, data, "application/octet-stream"),
        }
        # Content-Type None: requests writes the multipart boundary header itself.
        return self.rest("POST", "sobjects/ContentVersion", files=files, headers={"Content-Type": None})

    # --- Bulk API 2.0 ingest, step by step ---------------------------------------------------
    # simple-salesforce's `sf.bulk2.<Object>.upsert(...)` creates, uploads, closes, sleeps and
    # polls in one blocking call. The steps apart let the push build the next job's CSV and
    # write the last job's links while Salesforce runs a job, and poll on its own schedule.
    # They go through simple-salesforce's job client (the object behind `sf.bulk2.<Object>`),
    # so errors, accounting and the token refresh are the same as for every other call.

    def bulk_ingest_open(self, sobject: str, operation: str, csv_text: str, *, external_id_field: str | None = None) -> str:
        """Create an ingest job and upload its CSV (two calls); it runs once closed
        (`bulk_ingest_close`). Returns the job id. A job whose upload failed is aborted."""
        job = self.call(lambda sf: _bulk2(sf, sobject).create_job(operation, external_id_field=external_id_field))
        job_id = job["id"]
        try:
            self.call(lambda sf: _bulk2(sf, sobject).upload_job_data(job_id, csv_text))
        except SalesforceError:
            self.bulk_ingest_abort(sobject, job_id)
            raise
        return job_id

    def bulk_ingest_close(self, sobject: str, job_id: str) -> None:
        """Upload complete: Salesforce queues the job (one call)."""
        self.call(lambda sf: _bulk2(sf, sobject).close_job(job_id))

    def bulk_ingest_abort(self, sobject: str, job_id: str) -> None:
        """Best effort: a job we no longer want (its upload or an earlier job failed)."""
        try:
            self.call(lambda sf: _bulk2(sf, sobject).abort_job(job_id, False))
        except SalesforceError:
            pass

    def bulk_ingest_info(self, sobject: str, job_id: str) -> dict:
        """The job's state and counters (numberRecordsProcessed / numberRecordsFailed)."""
        return self.call(lambda sf: _bulk2(sf, sobject).get_job(job_id, False))

    def bulk_ingest_results(self, sobject: str, job_id: str, which: str) -> str:
        """The CSV of `successfulResults`, `failedResults` or `unprocessedrecords`."""
        return self.call(lambda sf: _bulk2(sf, sobject).get_ingest_results(job_id, which)) or ""


    # --- Bulk API 2.0 query, step by step ---------------------------------------------------
    # The daily validation reads a whole object's mapped fields through one query job and
    # streams its results page by page (never the whole CSV at once), checking the job's own
    # record count against the rows it read.

    def bulk_query_open(self, sobject: str, soql: str, *, include_deleted: bool = True) -> str:
        """Create a query (queryAll with deleted rows) job (one call). Returns the job id."""
        operation = "queryAll" if include_deleted else "query"
        job = self.call(lambda sf: _bulk2(sf, sobject).create_job(operation, soql))
        return job["id"]

    def bulk_query_info(self, sobject: str, job_id: str) -> dict:
        """The job's state (UploadComplete, InProgress, JobComplete, Failed, Aborted), its
        numberRecordsProcessed and errorMessage (one call)."""
        return self.call(lambda sf: _bulk2(sf, sobject).get_job(job_id, True))

    def bulk_query_page(self, sobject: str, job_id: str, locator: str, max_records: int) -> tuple[str, str, int]:
        """One results page (one call): (CSV text, the next page's locator or "", the rows
        Salesforce says the page holds)."""
        page = self.call(lambda sf: _bulk2(sf, sobject).get_query_results(job_id, locator, max_records))
        return page["records"], page["locator"] or "", int(page["number_of_records"])

    def bulk_query_abort(self, sobject: str, job_id: str) -> None:
        """Best effort: a query job we stopped reading."""
        try:
            self.call(lambda sf: _bulk2(sf, sobject).abort_job(job_id, True))
        except SalesforceError:
            pass


def _bulk2(sf: Salesforce, sobject: str):
    """simple-salesforce's Bulk 2.0 job client for one object (create / upload / close / get /
    results / abort as single requests)."""
    return getattr(sf.bulk2, sobject)._client
