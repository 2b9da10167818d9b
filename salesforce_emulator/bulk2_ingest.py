"""Bulk API 2.0 ingest processing: map the uploaded CSV to fields and apply it row by row.

Kept apart from the job bookkeeping in `bulk2_jobs` because it is the bulk of the work: the
column plan, per-row payloads and the chunked `Dml` writes that fill the three result files.
`IngestProcessing` is a mixin of `bulk2_jobs.BulkManager` (it uses its `emu`, `save`, `folder`
and `_fail`).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import ids
from .bulk2_csv import DELIMITERS, NULL_MARK, ResultWriter, detect_line_ending, ingest_headers
from .dml import Dml, DmlError, key_value
from .errors import SfError

if TYPE_CHECKING:
    from .bulk2_jobs import Job

CHUNK = 2000
# Objects whose writes touch other records: give each row its own savepoint.
SAVEPOINT_OBJECTS = {"ContentVersion", "ContentDocument", "ContentDocumentLink"}


class IngestProcessing:
    """The ingest half of `BulkManager`: process an uploaded data.csv in chunks."""

    # -- ingest processing -----------------------------------------------------------------
    def _ingest(self, job: Job) -> None:
        job.state = "InProgress"
        self.save(job)
        rt = self.emu.orgs[job.org]
        user = rt.org.user_by_id(job.user_id)
        folder = self.folder(job)
        data_path = folder / "data.csv"
        delimiter = DELIMITERS[job.delimiter]
        if not job.uploaded or not data_path.exists() or data_path.stat().st_size == 0:
            # Nothing uploaded: Salesforce completes the job with empty result files.
            self._empty_results(folder)
            if job.state == "InProgress":
                job.state = "JobComplete"
            return None
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
            # Upsert on Id without an Id column inserts every row, as Salesforce does.
            if index is None and ext.lower() != "id":
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
            # Reference checks look each referenced record up once per chunk (see Dml.chunk_kinds);
            # not when rows get savepoints (a row's own writes may be undone) or records go.
            dml.chunk_kinds = None if savepoints or job.operation in ("delete", "hardDelete") else {}
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
            dml.chunk_kinds = None
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


def _known(record_id: str | None) -> str:
    return (ids.normalize(record_id) or "") if record_id else ""


def _error_text(errors: list[SfError]) -> str:
    """`REQUIRED_FIELD_MISSING:Required fields are missing: [StageName]:StageName --`."""
    err = errors[0]
    fields = ",".join(err.fields)
    return f"{err.code}:{err.message}:{fields} --" if fields else f"{err.code}:{err.message}:--"
