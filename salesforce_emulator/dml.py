"""Record writes with Salesforce's semantics: validation, system fields, references,
uniqueness, derived fields, files, and cascade deletes.

Every entry point runs inside the caller's `store.write()` transaction so a REST request,
a collection or a composite request is one SQLite transaction. Bulk API 2.0 and other
follow-up modules reuse `Dml` rather than writing to the store themselves.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from . import approvals, clock, ids
from .errors import RequestError, SfError
from .metadata import FieldMeta, ObjectMeta
from .orgdef import User

BLOB_FIELDS = {("Attachment", "Body"), ("ContentVersion", "VersionData"), ("Document", "Body")}
STAGE_PROBABILITY = {
    "Prospecting": 10, "Qualification": 10, "Needs Analysis": 20, "Value Proposition": 50,
    "Id. Decision Makers": 60, "Perception Analysis": 70, "Proposal/Price Quote": 75,
    "Proposal": 75, "Negotiation/Review": 90, "Negotiation": 90, "Closed Won": 100,
    "Closed Lost": 0,
}
FILE_TYPES = {"pdf": "PDF", "png": "PNG", "jpg": "JPG", "jpeg": "JPEG", "gif": "GIF",
              "txt": "TEXT", "csv": "CSV", "doc": "WORD", "docx": "WORD_X", "xls": "EXCEL",
              "xlsx": "EXCEL_X", "ppt": "POWER_POINT", "pptx": "POWER_POINT_X", "zip": "ZIP",
              "html": "HTML", "xml": "XML", "json": "JSON", "md": "UNKNOWN"}


class DmlError(Exception):
    """Record-level failure: one or more Salesforce errors for one record."""

    def __init__(self, errors: list[SfError], status: int = 400):
        super().__init__(errors[0].message if errors else "error")
        self.errors = errors
        self.status = status


USER_KEY_PREFIX = "005"


def blob_url(sobject: str, record_id: str, field: str) -> str:
    # "vxx.0" is replaced by the request's version when a record is rendered.
    return f"/services/data/vxx.0/sobjects/{sobject}/{record_id}/{field}"


def key_value(fld: FieldMeta, value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if fld.case_sensitive else text.lower()


@dataclass
class Dml:
    ctx: Any  # runtime.OrgRuntime (kept untyped to avoid an import cycle)
    user: User
    internal: bool = False  # seeding/system writes: no object permission checks
    _user_kinds: dict[str, tuple[str, str, bool]] = field(default_factory=dict, repr=False)
    _known_absent: tuple[str, str, str] | None = field(default=None, repr=False)
    # Set by a Bulk ingest for the rows of one chunk (one transaction that only creates and
    # updates records of one object, so a record's org, object and deleted flag cannot change
    # under it): every referenced record's kind, looked up once. 10,000 opportunities under 15
    # Accounts cost 15 lookups instead of 10,000.
    chunk_kinds: dict[str, tuple[str, str, bool]] | None = field(default=None, repr=False)

    @property
    def store(self):
        return self.ctx.store

    @property
    def org_name(self) -> str:
        return self.ctx.org.name

    # -- helpers -------------------------------------------------------------------------
    def object(self, sobject: str, letter: str = "R") -> ObjectMeta:
        obj = self.ctx.schema.get(sobject)
        profile = self.ctx.profile_of(self.user)
        if obj is None or (not self.internal and not self.ctx.schema.readable(profile, obj)):
            raise SfError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.", [])
        if not self.internal and letter not in profile.object_perms(obj.name):
            verb = {"C": "create", "E": "update", "D": "delete"}.get(letter, "read")
            raise SfError("INSUFFICIENT_ACCESS_OR_READONLY",
                          f"insufficient access rights on object id: cannot {verb} "
                          f"{obj.name} records", [])
        return obj

    def validator(self, obj: ObjectMeta):
        return self.ctx.validator(obj, self.ctx.admin_profile if self.internal
                                  else self.ctx.profile_of(self.user))

    def _system_create(self, record: dict[str, Any], obj: ObjectMeta, stamp: str) -> None:
        fields = obj.fields
        if "ownerid" in fields and not record.get("OwnerId"):
            record["OwnerId"] = self.user.id
        for name, value in (("CreatedDate", stamp), ("CreatedById", self.user.id),
                            ("LastModifiedDate", stamp), ("LastModifiedById", self.user.id),
                            ("SystemModstamp", stamp), ("IsDeleted", False)):
            if name.lower() in fields or name == "SystemModstamp":
                record[name] = value

    def _check_refs(self, obj: ObjectMeta, record: dict[str, Any],
                    only: set[str] | None = None) -> None:
        wanted: list[tuple[FieldMeta, str]] = []
        for fld in self.validator(obj).references:
            if only is not None and fld.name not in only:
                continue
            value = record.get(fld.name)
            if value:
                wanted.append((fld, value))
        if not wanted:
            return
        # Users cannot be deleted in Salesforce (only deactivated), so their kind is looked up
        # once per request: a collection of 200 records owned by one user costs one query.
        known = self._user_kinds if self.chunk_kinds is None else self.chunk_kinds
        lookup = [v for _f, v in wanted if v not in self._user_kinds and v not in known]
        kinds = self.store.kinds(lookup) if lookup else {}
        self._user_kinds.update({v: kind for v, kind in kinds.items() if v.startswith(USER_KEY_PREFIX)})
        if self.chunk_kinds is not None:
            self.chunk_kinds.update(kinds)
        kinds.update({v: self._user_kinds[v] for _f, v in wanted if v in self._user_kinds})
        kinds.update({v: known[v] for _f, v in wanted if v in known})
        errors = []
        for fld, value in wanted:
            found = kinds.get(value)
            if found is None or found[0] != self.org_name:
                target = self.ctx.schema.object_for_id(value)
                if target is not None and target.name not in fld.reference_to:
                    errors.append(SfError("FIELD_INTEGRITY_EXCEPTION",
                                          f"{fld.label}: id value of incorrect type: {value}",
                                          [fld.name]))
                else:
                    errors.append(SfError("INVALID_CROSS_REFERENCE_KEY",
                                          "invalid cross reference id", [fld.name]))
            elif found[1] not in fld.reference_to:
                errors.append(SfError("FIELD_INTEGRITY_EXCEPTION",
                                      f"{fld.label}: id value of incorrect type: {value}",
                                      [fld.name]))
            elif found[2]:
                errors.append(SfError("ENTITY_IS_DELETED", "entity is deleted", [fld.name]))
        if errors:
            raise DmlError(errors)

    def _keys(self, obj: ObjectMeta, record: dict[str, Any]) -> list[tuple[str, str]]:
        return [(f.name, key_value(f, record[f.name])) for f in self.validator(obj).keyed
                if record.get(f.name) not in (None, "")]

    def _check_unique(self, obj: ObjectMeta, record: dict[str, Any], self_id: str | None,
                      only: set[str] | None = None) -> None:
        for fld in self.validator(obj).unique:
            if only is not None and fld.name not in only:
                continue
            value = record.get(fld.name)
            if value in (None, ""):
                continue
            key = key_value(fld, value)
            if (obj.name, fld.name, key) == self._known_absent:
                continue  # the upsert that is creating this record just looked it up: none
            hits = [h for h in self.store.find_by_key(self.org_name, obj.name, fld.name, key)
                    if h != self_id]
            if hits:
                raise DmlError([SfError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {fld.name} duplicates value on record with id: "
                    f"{hits[0]}", [])])

    def _refs(self, obj: ObjectMeta, record: dict[str, Any]) -> list[tuple[str, str]]:
        return [(f.name, record[f.name]) for f in self.validator(obj).stored_refs if record.get(f.name)]

    # -- derived fields ------------------------------------------------------------------
    def _derive(self, obj: ObjectMeta, record: dict[str, Any], old: dict[str, Any] | None,
                stamp: str) -> None:
        name = obj.name
        if name in ("Contact", "Lead", "User"):
            record["Name"] = " ".join(p for p in (record.get("FirstName"),
                                                  record.get("LastName")) if p)
        elif name == "Opportunity":
            stage = record.get("StageName")
            changed = old is None or old.get("StageName") != stage
            record["IsWon"] = stage == "Closed Won"
            record["IsClosed"] = bool(stage) and stage.startswith("Closed")
            sent = record.get("__sent__", ())
            if changed and stage in STAGE_PROBABILITY and "Probability" not in sent:
                record["Probability"] = STAGE_PROBABILITY[stage]
            if changed and old is not None:
                record["LastStageChangeDate"] = stamp
            category = "Closed" if record["IsWon"] else "Omitted" if record["IsClosed"] \
                else "Pipeline"
            record["ForecastCategory"] = category
            if not record.get("ForecastCategoryName") or changed:
                record["ForecastCategoryName"] = category
            amount, prob = record.get("Amount"), record.get("Probability")
            record["ExpectedRevenue"] = (round(amount * prob / 100, 2)
                                         if amount is not None and prob is not None else None)
            close = record.get("CloseDate")
            if close:
                year, month = int(close[:4]), int(close[5:7])
                quarter = (month - 1) // 3 + 1
                record.update(FiscalYear=year, FiscalQuarter=quarter, Fiscal=f"{year} {quarter}")
        elif name == "Task":
            record["IsClosed"] = record.get("Status") == "Completed"
            record["IsHighPriority"] = record.get("Priority") == "High"
            if record["IsClosed"] and not record.get("CompletedDateTime"):
                record["CompletedDateTime"] = stamp
            if not record.get("TaskSubtype"):
                record["TaskSubtype"] = "Task"
            self._activity_account(record)
        elif name == "Event":
            start = record.get("StartDateTime") or record.get("ActivityDateTime")
            if start:
                record["StartDateTime"] = record["ActivityDateTime"] = start
                record["ActivityDate"] = start[:10]
                parsed = clock.parse_datetime(start)
                if record.get("EndDateTime") and parsed:
                    end = clock.parse_datetime(record["EndDateTime"])
                    if end:
                        record["DurationInMinutes"] = int((end - parsed).total_seconds() // 60)
                elif record.get("DurationInMinutes") is not None and parsed:
                    from datetime import timedelta
                    record["EndDateTime"] = clock.sf_datetime(
                        parsed + timedelta(minutes=record["DurationInMinutes"]))
                if record.get("EndDateTime"):
                    record["EndDate"] = record["EndDateTime"][:10]
            self._activity_account(record)

    def _activity_account(self, record: dict[str, Any]) -> None:
        what = record.get("WhatId")
        record["AccountId"] = None
        if what:
            if what.startswith(ids.STANDARD_PREFIXES["Account"]):
                record["AccountId"] = what
            elif what.startswith(ids.STANDARD_PREFIXES["Opportunity"]):
                found = self.store.get(what)
                if found:
                    record["AccountId"] = found[2].get("AccountId")

    # -- create ---------------------------------------------------------------------------
    def create(self, sobject: str, payload: dict[str, Any], raw: str | None = None,
               forced_id: str | None = None, csv: bool = False) -> str:
        obj = self.object(sobject, "C")
        if not obj.describe.get("createable", True) and not self.internal:
            raise DmlError([SfError("INVALID_TYPE_FOR_OPERATION",
                                    f"entity type {obj.name} does not support insert", [])])
        val = self.validator(obj)
        changes, errors = val.prepare(payload, creating=True, raw=raw, csv=csv)
        if errors:
            raise DmlError(errors)
        stamp = clock.sf_datetime()
        blobs = {f: changes.pop(f) for f in list(changes) if (obj.name, f) in BLOB_FIELDS}
        seq = self.store.next_seq()
        rid = forced_id or ids.make_id(obj.key_prefix, seq)
        record: dict[str, Any] = {"Id": rid, **changes}
        record["__sent__"] = tuple(changes)
        val.apply_defaults(record)
        self._system_create(record, obj, stamp)
        self._derive(obj, record, None, stamp)
        record.pop("__sent__", None)
        for fname, data in blobs.items():
            record[fname] = blob_url(obj.name, rid, fname) if data is not None else None
        if obj.name == "ContentVersion":
            self._prepare_content_version(record, blobs.get("VersionData"))
        if obj.name == "Attachment":
            body = blobs.get("Body")
            record["BodyLength"] = len(body) if body is not None else None
        missing = val.missing_required(record)
        if missing:
            raise DmlError([missing])
        rule_errors = val.rule_errors(record)
        if rule_errors:
            raise DmlError(rule_errors)
        self._check_refs(obj, record)
        self._check_unique(obj, record, None)
        for fld in obj.fields.values():
            if fld.auto_number and not record.get(fld.name):
                record[fld.name] = self._format_auto(fld.auto_number,
                                                     self.store.next_autonumber(self.org_name,
                                                                                obj.name))
        self.store.insert(self.org_name, obj.name, seq, record, self._keys(obj, record),
                          self._refs(obj, record))
        for fname, data in blobs.items():
            if data is not None:
                self.store.put_blob(rid, fname, data)
        if obj.name == "ContentVersion":
            self._after_content_version(record, stamp)
        return rid

    @staticmethod
    def _format_auto(fmt: str, number: int) -> str:
        start, end = fmt.find("{"), fmt.find("}")
        if start < 0 or end < start:
            return f"{fmt}{number}"
        width = end - start - 1
        return fmt[:start] + str(number).zfill(width) + fmt[end + 1:]

    def _prepare_content_version(self, record: dict[str, Any], data: bytes | None) -> None:
        if data is None:
            raise DmlError([SfError("REQUIRED_FIELD_MISSING",
                                    "Required fields are missing: [VersionData]",
                                    ["VersionData"])])
        path = record.get("PathOnClient") or ""
        if not path:
            raise DmlError([SfError("REQUIRED_FIELD_MISSING",
                                    "Required fields are missing: [PathOnClient]",
                                    ["PathOnClient"])])
        ext = os.path.splitext(path)[1].lstrip(".").lower()
        record.update(
            ContentSize=len(data), Checksum=hashlib.md5(data).hexdigest(),
            FileExtension=ext or None, FileType=FILE_TYPES.get(ext, "UNKNOWN"),
            IsLatest=True, PublishStatus="P" if record.get("FirstPublishLocationId") else "R",
        )
        if not record.get("Title"):
            record["Title"] = os.path.splitext(os.path.basename(path))[0] or path
        doc_id = record.get("ContentDocumentId")
        if doc_id:
            found = self.store.get(doc_id)
            if not found or found[1] != "ContentDocument" or found[3]:
                raise DmlError([SfError("INVALID_CROSS_REFERENCE_KEY",
                                        "invalid cross reference id", ["ContentDocumentId"])])
            versions = sum(1 for _ in self._versions_of(doc_id))
            record["VersionNumber"] = str(versions + 1)
        else:
            record["VersionNumber"] = "1"

    def _versions_of(self, doc_id: str):
        for child_id, fname in self.store.children_of(doc_id):
            if fname == "ContentDocumentId" and child_id.startswith(
                    ids.STANDARD_PREFIXES["ContentVersion"]):
                yield child_id

    def _after_content_version(self, record: dict[str, Any], stamp: str) -> None:
        """A new ContentVersion makes (or re-points) its ContentDocument and links it."""
        system = Dml(self.ctx, self.user, internal=True)
        doc_id = record.get("ContentDocumentId")
        doc_fields = {"Title": record["Title"], "LatestPublishedVersionId": record["Id"],
                      "ContentSize": record["ContentSize"], "FileType": record["FileType"],
                      "FileExtension": record["FileExtension"],
                      "PublishStatus": record["PublishStatus"], "ContentModifiedDate": stamp}
        if doc_id:
            for old_id in self._versions_of(doc_id):
                if old_id != record["Id"]:
                    old = self.store.get(old_id)
                    if old and old[2].get("IsLatest"):
                        old[2]["IsLatest"] = False
                        self.store.update(self.org_name, "ContentVersion", old[2], None, None)
            found = self.store.get(doc_id)
            doc = found[2]
            doc.update(doc_fields, LastModifiedDate=stamp, SystemModstamp=stamp,
                       LastModifiedById=self.user.id)
            self.store.update(self.org_name, "ContentDocument", doc, None, None)
            return
        doc_obj = self.ctx.schema.get("ContentDocument")
        seq = self.store.next_seq()
        doc = {"Id": ids.make_id(doc_obj.key_prefix, seq), "OwnerId": record["OwnerId"],
               "IsArchived": False, **doc_fields}
        self._system_create(doc, doc_obj, stamp)
        self.store.insert(self.org_name, "ContentDocument", seq, doc, [],
                          self._refs(doc_obj, doc))
        record["ContentDocumentId"] = doc["Id"]
        cv_obj = self.ctx.schema.get("ContentVersion")
        self.store.update(self.org_name, "ContentVersion", record, None,
                          self._refs(cv_obj, record))
        system.create("ContentDocumentLink", {"LinkedEntityId": record["OwnerId"],
                                              "ContentDocumentId": doc["Id"], "ShareType": "I"})
        location = record.get("FirstPublishLocationId")
        if location and location != record["OwnerId"]:
            system.create("ContentDocumentLink", {"LinkedEntityId": location,
                                                  "ContentDocumentId": doc["Id"],
                                                  "ShareType": "V"})

    def _check_not_locked(self, record_id: str) -> None:
        """A record in an approval process: only an admin (Modify All Data) may change it."""
        error = approvals.locked_error(self.ctx, record_id,
                                       self.internal or self.ctx.profile_of(self.user).admin)
        if error is not None:
            raise DmlError([error])

    # -- read ------------------------------------------------------------------------------
    def load(self, obj: ObjectMeta | None, record_id: str, status_missing: int = 404
             ) -> tuple[ObjectMeta, dict[str, Any]]:
        found = self.store.get(record_id)
        if found is None or found[0] != self.org_name or (obj and found[1] != obj.name):
            raise DmlError([SfError("NOT_FOUND", "The requested resource does not exist", [])],
                           status=status_missing)
        if found[3]:
            raise DmlError([SfError("ENTITY_IS_DELETED", "entity is deleted", [])],
                           status=status_missing)
        return obj or self.ctx.schema.get(found[1]), found[2]

    # -- update ----------------------------------------------------------------------------
    def update(self, sobject: str | None, record_id: str, payload: dict[str, Any],
               raw: str | None = None, csv: bool = False) -> None:
        full = ids.normalize(record_id)
        if full is None:
            label = f"{sobject} ID" if sobject else "Record ID"
            raise DmlError([SfError("MALFORMED_ID", f"{label}: id value of incorrect type: "
                                    f"{record_id}", ["Id"])])
        obj = self.object(sobject, "E") if sobject else None
        obj, old = self.load(obj, full)
        if sobject is None:
            self.object(obj.name, "E")
        self._check_not_locked(full)
        val = self.validator(obj)
        changes, errors = val.prepare(payload, creating=False, raw=raw, csv=csv)
        if errors:
            raise DmlError(errors)
        stamp = clock.sf_datetime()
        blobs = {f: changes.pop(f) for f in list(changes) if (obj.name, f) in BLOB_FIELDS}
        record = dict(old)
        record.update(changes)
        record["__sent__"] = tuple(changes)
        record.update(LastModifiedDate=stamp, LastModifiedById=self.user.id,
                      SystemModstamp=stamp)
        self._derive(obj, record, old, stamp)
        record.pop("__sent__", None)
        for fname, data in blobs.items():
            record[fname] = blob_url(obj.name, full, fname) if data is not None else None
        if obj.name == "Attachment" and "Body" in blobs and blobs["Body"] is not None:
            record["BodyLength"] = len(blobs["Body"])
        missing = val.missing_required(record)
        if missing:
            raise DmlError([missing])
        rule_errors = val.rule_errors(record)
        if rule_errors:
            raise DmlError(rule_errors)
        changed = set(changes)
        self._check_refs(obj, record, only=changed)
        self._check_unique(obj, record, full, only=changed)
        key_changed = any(obj.fields[c.lower()].unique or obj.fields[c.lower()].external_id
                          for c in changed)
        ref_changed = any(obj.fields[c.lower()].type == "reference" for c in changed) or \
            obj.name in ("Task", "Event")
        self.store.update(self.org_name, obj.name, record,
                          self._keys(obj, record) if key_changed else None,
                          self._refs(obj, record) if ref_changed else None)
        for fname, data in blobs.items():
            if data is not None:
                self.store.put_blob(full, fname, data)

    # -- upsert ----------------------------------------------------------------------------
    def external_field(self, obj: ObjectMeta, field_name: str) -> FieldMeta:
        fld = self.validator(obj).resolve(field_name)
        if fld is None or not (fld.external_id or fld.type == "id" or
                               (fld.id_lookup and fld.unique)):
            raise RequestError("NOT_FOUND", "Provided external ID field does not exist or is "
                               f"not accessible: {field_name}", status=404)
        return fld

    def match_external(self, obj: ObjectMeta, fld: FieldMeta, value: Any) -> list[str]:
        if fld.type == "id":
            full = ids.normalize(str(value))
            if full is None:
                raise DmlError([SfError("MALFORMED_ID", f"{obj.name} ID: id value of incorrect "
                                        f"type: {value}", ["Id"])])
            found = self.store.get(full)
            return [full] if found and found[0] == self.org_name and not found[3] else []
        return self.store.find_by_key(self.org_name, obj.name, fld.name, key_value(fld, value))

    def upsert(self, sobject: str, field_name: str, value: Any, payload: dict[str, Any],
               raw: str | None = None, csv: bool = False) -> tuple[str, bool]:
        obj = self.object(sobject)
        fld = self.external_field(obj, field_name)
        if value in (None, "") and fld.type == "id":
            # An upsert on Id inserts the records that have none (Apex and Bulk API 2.0 do).
            body = {k: v for k, v in payload.items() if k.lower() != "id"}
            return self.create(obj.name, body, raw=raw, csv=csv), True
        if value in (None, ""):
            raise DmlError([SfError("MISSING_ARGUMENT", f"{fld.name} not specified", [])])
        matches = self.match_external(obj, fld, value)
        if len(matches) > 1:
            raise DmlError([SfError(
                "DUPLICATE_EXTERNAL_ID",
                f"{fld.name}: more than one record found for external id field: "
                f"[{', '.join(matches)}]", [fld.name])], status=300)
        body = {k: v for k, v in payload.items() if k.lower() != fld.name.lower()}
        if matches:
            if fld.type != "id":
                body = {k: v for k, v in body.items() if k.lower() != "id"}
            self.update(obj.name, matches[0], body, raw=raw, csv=csv)
            return matches[0], False
        if fld.type == "id":
            raise DmlError([SfError("NOT_FOUND", "The requested resource does not exist", [])],
                           status=404)
        body[fld.name] = value
        # Same transaction, nothing written in between: the unique check of this key may rely
        # on the lookup above instead of repeating it (one query fewer per created record).
        self._known_absent = (obj.name, fld.name, key_value(fld, value))
        try:
            return self.create(obj.name, body, raw=raw, csv=csv), True
        finally:
            self._known_absent = None

    # -- delete ----------------------------------------------------------------------------
    def delete(self, record_id: str, sobject: str | None = None) -> None:
        full = ids.normalize(record_id)
        if full is None:
            raise DmlError([SfError("MALFORMED_ID", f"malformed id {record_id}", [])])
        obj = self.ctx.schema.get(sobject) if sobject else None
        obj, record = self.load(obj, full)
        self.object(obj.name, "D")
        self._check_not_locked(full)
        if not obj.describe.get("deletable", True) and not self.internal:
            raise DmlError([SfError("INVALID_TYPE_FOR_OPERATION",
                                    f"entity type {obj.name} does not support delete", [])])
        self._delete_tree(obj, full, record, clock.sf_datetime())

    def _delete_tree(self, obj: ObjectMeta, rid: str, record: dict[str, Any],
                     stamp: str) -> None:
        """Delete a record; cascade to master-detail children, clear plain lookups."""
        pending = [(obj, rid, record)]
        seen: set[str] = set()
        while pending:
            cur_obj, cur_id, cur = pending.pop()
            if cur_id in seen:
                continue
            seen.add(cur_id)
            children = self.store.children_of(cur_id)
            if children:
                kinds = self.store.get_many([c for c, _f in children])
                for child_id, fname in children:
                    found = kinds.get(child_id)
                    if not found or found[3]:
                        continue
                    child_obj = self.ctx.schema.get(found[1])
                    if self.ctx.cascades(cur_obj, child_obj, fname):
                        pending.append((child_obj, child_id, found[2]))
                    else:
                        data = found[2]
                        data[fname] = None
                        data["SystemModstamp"] = stamp
                        self.store.update(self.org_name, child_obj.name, data, None,
                                          self._refs(child_obj, data))
            cur = dict(cur, IsDeleted=True, SystemModstamp=stamp)
            self.store.mark_deleted(cur_id, cur, stamp)
