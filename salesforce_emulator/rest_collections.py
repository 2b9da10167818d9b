"""sObject Collections: create, update, upsert, retrieve and delete up to 200 records."""

from __future__ import annotations

import json
from typing import Any

from . import ids
from .dml import DmlError
from .errors import ROLLED_BACK, RequestError, SfError
from .http import Call, json_response, render_version
from .rest_misc import readable_object
from .rest_sobjects import render_record
from .store import Store

MAX_RECORDS = 200


def _records(call: Call) -> tuple[list[Any], bool]:
    body = call.json_object()
    records = body.get("records")
    if not isinstance(records, list):
        raise RequestError("INVALID_FIELD", "The request must contain a records array")
    if len(records) > MAX_RECORDS:
        raise RequestError("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than "
                           "200 records into this call")
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise RequestError("JSON_PARSER_ERROR", "Cannot deserialize instance of boolean from "
                           "VALUE_STRING value for allOrNone")
    return records, all_or_none


def ci_get(record: dict[str, Any], name: str) -> Any:
    """A record's value for `name` in any letter case: Salesforce matches field names (and
    `attributes`) case-insensitively, and jsforce sends the record id as `id`."""
    lowered = name.lower()
    return next((v for k, v in record.items() if k.lower() == lowered), None)


def _without(record: dict[str, Any], name: str) -> dict[str, Any]:
    lowered = name.lower()
    return {k: v for k, v in record.items() if k.lower() != lowered}


def _fault(call: Call, sobject: str | None, operation: str) -> SfError | None:
    rule = call.emu.faults.match(call.rt.org.name, sobject, operation, call.request.method,
                                 call.request.path, per_record=True)
    return SfError(rule.error_code, rule.message, []) if rule else None


def _run(call: Call, records: list[Any], all_or_none: bool, operation: str,
         one) -> list[dict[str, Any]]:
    """Apply `one(record) -> result` to each record in one transaction, per-record errors."""
    results: list[dict[str, Any]] = []
    failed = False
    try:
        with call.emu.store.write():
            for record in records:
                sobject = None
                if isinstance(record, dict):
                    attributes = ci_get(record, "attributes")
                    sobject = attributes.get("type") if isinstance(attributes, dict) else None
                known_id = _known_id(record, operation)
                try:
                    if not isinstance(record, dict):
                        raise SfError("INVALID_INPUT", "Each record must be a JSON object", [])
                    fault = _fault(call, sobject, operation)
                    if fault:
                        raise fault
                    results.append(one(record, sobject))
                except DmlError as exc:
                    failed = True
                    results.append(_failure(known_id, [e.record() for e in exc.errors]))
                except RequestError:
                    raise
                except SfError as exc:
                    failed = True
                    results.append(_failure(known_id, [exc.record()]))
            if failed and all_or_none:
                raise Store.Rollback()
    except Store.Rollback:
        rolled = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": ROLLED_BACK,
                  "fields": []}
        for result in results:
            if result["success"]:
                result["success"] = False
                result["errors"] = [rolled]
                if "created" in result:
                    # upsert: the key stays, now false; a record it created no longer exists
                    if result["created"]:
                        result.pop("id", None)
                    result["created"] = False
                if operation == "create":
                    result.pop("id", None)
    return results


def _known_id(record: Any, operation: str) -> str | None:
    if operation in ("update",) and isinstance(record, dict):
        rid = ci_get(record, "Id")
        return ids.normalize(rid) if isinstance(rid, str) else None
    return None


def _failure(rid: str | None, errors: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"success": False, "errors": errors}
    if rid:
        out = {"id": rid, **out}
    return out


def _need_type(sobject: str | None) -> str:
    if not sobject:
        raise SfError("INVALID_TYPE", "Must specify sObject type in attributes", [])
    return sobject


def create(call: Call):
    records, all_or_none = _records(call)
    dml = call.dml()

    def one(record: dict[str, Any], sobject: str | None) -> dict[str, Any]:
        sobject = _need_type(sobject)
        if ci_get(record, "Id"):
            raise SfError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        rid = dml.create(sobject, record)
        return {"id": rid, "success": True, "errors": []}

    return json_response(_run(call, records, all_or_none, "create", one))


def update(call: Call):
    records, all_or_none = _records(call)
    dml = call.dml()

    def one(record: dict[str, Any], sobject: str | None) -> dict[str, Any]:
        sobject = _need_type(sobject)
        rid = ci_get(record, "Id")
        if not rid:
            raise SfError("MISSING_ARGUMENT", "Id not specified in an update call", [])
        if not isinstance(rid, str):
            raise SfError("MALFORMED_ID", f"{sobject} ID: id value of incorrect type: {rid}",
                          ["Id"])
        body = _without(record, "Id")
        try:
            dml.update(sobject, rid, body)
        except DmlError as exc:
            first = exc.errors[0]
            if first.code == "NOT_FOUND":
                raise DmlError([SfError("INVALID_CROSS_REFERENCE_KEY",
                                        "invalid cross reference id", [])]) from None
            raise
        return {"id": ids.normalize(rid), "success": True, "errors": []}

    return json_response(_run(call, records, all_or_none, "update", one))


def upsert(call: Call, sobject: str, field: str):
    obj = readable_object(call, sobject)
    records, all_or_none = _records(call)
    dml = call.dml()
    fld = dml.external_field(obj, field)

    def one(record: dict[str, Any], rec_type: str | None) -> dict[str, Any]:
        if rec_type and rec_type.lower() != obj.name.lower():
            raise SfError("INVALID_TYPE", f"Record type {rec_type} does not match {obj.name}", [])
        value = ci_get(record, fld.name)
        rid, created = dml.upsert(obj.name, fld.name, value, record)
        return {"id": rid, "success": True, "errors": [], "created": created}

    return json_response(_run(call, records, all_or_none, "upsert", one))


def delete(call: Call):
    args = call.request.args
    raw_ids = [i for i in (args.get("ids") or "").split(",") if i]
    if not raw_ids:
        raise RequestError("MISSING_ARGUMENT", "ids parameter is required")
    if len(raw_ids) > MAX_RECORDS:
        raise RequestError("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than "
                           "200 records into this call")
    all_or_none = (args.get("allOrNone") or "false").lower() == "true"
    dml = call.dml()
    results: list[dict[str, Any]] = []
    failed = False
    try:
        with call.emu.store.write():
            for raw in raw_ids:
                full = ids.normalize(raw)
                try:
                    if full is None:
                        raise SfError("MALFORMED_ID", f"malformed id {raw}", [])
                    fault = _fault(call, (call.rt.schema.object_for_id(full) or
                                          type("x", (), {"name": None})).name, "delete")
                    if fault:
                        raise fault
                    try:
                        dml.delete(full)
                    except DmlError as exc:
                        if exc.errors[0].code == "NOT_FOUND":
                            raise SfError("INVALID_CROSS_REFERENCE_KEY",
                                          "invalid cross reference id", []) from None
                        raise
                    results.append({"id": full, "success": True, "errors": []})
                except DmlError as exc:
                    failed = True
                    results.append(_failure(full, [e.record() for e in exc.errors]))
                except SfError as exc:
                    failed = True
                    results.append(_failure(full if exc.code != "MALFORMED_ID" else None,
                                            [exc.record()]))
            if failed and all_or_none:
                raise Store.Rollback()
    except Store.Rollback:
        for result in results:
            if result["success"]:
                result["success"] = False
                result["errors"] = [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                     "message": ROLLED_BACK, "fields": []}]
    return json_response(results)


def retrieve(call: Call, sobject: str):
    obj = readable_object(call, sobject)
    if call.request.method == "POST":
        body = call.json_object()
        raw_ids, raw_fields = body.get("ids") or [], body.get("fields") or []
    else:
        raw_ids = [i for i in (call.request.args.get("ids") or "").split(",") if i]
        raw_fields = [f for f in (call.request.args.get("fields") or "").split(",") if f]
    if not raw_ids or not raw_fields:
        raise RequestError("MISSING_ARGUMENT", "ids and fields are required")
    if len(raw_ids) > 2000:
        raise RequestError("EXCEEDED_ID_LIMIT", "Exceeded max number of ids (2000)")
    visible = call.rt.schema.visible_fields(call.profile, obj)
    names = []
    for name in raw_fields:
        fld = visible.get(name.strip().lower())
        if fld is None:
            raise RequestError("INVALID_FIELD", f"No such column '{name}' on entity "
                               f"'{obj.name}'.")
        names.append(fld.name)
    wanted = [ids.normalize(i) for i in raw_ids]
    found = call.emu.store.get_many([w for w in wanted if w])
    out = []
    for full in wanted:
        row = found.get(full) if full else None
        if row is None or row[0] != call.rt.org.name or row[1] != obj.name or row[3]:
            out.append(None)
        else:
            out.append(render_record(call, obj, row[2], names))
    return json_response(None, text=render_version(json.dumps(out, separators=(",", ":")), call.version))


def register(router) -> None:
    v = "/services/data/v<version>/composite/sobjects"
    router.add(v, ["POST"], create, operation="create", name="collections_create")
    router.add(v, ["PATCH"], update, operation="update", name="collections_update")
    router.add(v, ["DELETE"], delete, operation="delete", name="collections_delete")
    router.add(f"{v}/<sobject>", ["GET", "POST"], retrieve, operation="read",
               name="collections_retrieve")
    router.add(f"{v}/<sobject>/<field>", ["PATCH"], upsert, operation="upsert",
               name="collections_upsert")
