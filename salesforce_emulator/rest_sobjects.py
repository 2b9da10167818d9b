"""sObject rows: create, retrieve, update, delete, upsert by external id, blobs, and the
updated/deleted replication resources."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from werkzeug.wrappers import Response

from . import clock, ids
from .dml import DmlError
from .errors import RequestError, not_found
from .http import Call, json_response, render_version
from .metadata import ObjectMeta
from .rest_misc import readable_object

MULTIPART_ENTITY = ("entity_content", "entity_document", "entity_attachment", "json")
# Salesforce's own sub-resources of /sobjects/<Type>/ that the emulator does not serve: they
# answer NOT_FOUND and are never mistaken for a record id or an external-id field name.
SOBJECT_RESOURCES = frozenset(n.lower() for n in (
    "describe", "listviews", "quickActions", "layouts", "compactLayouts", "approvalLayouts",
    "defaultValues", "eventSchema", "richTextImageFields", "relevantItems", "platformAction",
    "updated", "deleted", "suggestedArticles"))


def record_url(version: str | None, sobject: str, rid: str) -> str:
    return f"/services/data/v{version or '59.0'}/sobjects/{sobject}/{rid}"


def render_record(call: Call, obj: ObjectMeta, data: dict[str, Any],
                  fields: list[str] | None = None) -> dict[str, Any]:
    visible = call.rt.schema.visible_fields(call.profile, obj)
    out: dict[str, Any] = {"attributes": {"type": obj.name,
                                          "url": record_url(call.version, obj.name, data["Id"])}}
    names = fields if fields is not None else [f.name for f in visible.values()]
    for name in names:
        out[name] = data.get(name)
    return out


def _fields_param(call: Call, obj: ObjectMeta) -> list[str] | None:
    raw = call.request.args.get("fields")
    if not raw:
        return None
    visible = call.rt.schema.visible_fields(call.profile, obj)
    out = []
    for name in (n.strip() for n in raw.split(",") if n.strip()):
        fld = visible.get(name.lower())
        if fld is None:
            raise RequestError("INVALID_FIELD", f"No such column '{name}' on entity "
                               f"'{obj.name}'. If you are attempting to use a custom field, be "
                               "sure to append the '__c' after the custom field name. Please "
                               "reference your WSDL or the describe call for the appropriate "
                               "names.")
        out.append(fld.name)
    return out


def payload_from_request(call: Call) -> dict[str, Any]:
    """JSON body, or multipart (entity_content JSON + binary VersionData/Body part)."""
    request = call.request
    if request.mimetype.startswith("multipart/"):
        entity = None
        for name in MULTIPART_ENTITY:
            if name in request.form:
                entity = request.form[name]
            elif name in request.files:
                entity = request.files[name].read().decode("utf-8")
            if entity is not None:
                break
        if entity is None:
            raise RequestError("INVALID_MULTIPART_REQUEST",
                               "Multipart message must include a non-binary part")
        try:
            payload = json.loads(entity)
        except json.JSONDecodeError:
            raise RequestError("JSON_PARSER_ERROR", "Invalid JSON in entity part") from None
        for name, storage in request.files.items():
            if name not in MULTIPART_ENTITY:
                payload[name] = base64.b64encode(storage.read()).decode("ascii")
        return payload
    return call.json_object()


def create(call: Call, sobject: str):
    readable_object(call, sobject)
    payload = payload_from_request(call)
    raw = None if call.request.mimetype.startswith("multipart/") else call.raw_text()
    with call.emu.store.write():
        rid = call.dml().create(sobject, payload, raw=raw)
    return json_response({"id": rid, "success": True, "errors": []}, 201)


def _get_obj(call: Call, sobject: str) -> ObjectMeta:
    return readable_object(call, sobject)


def _read(call: Call, obj: ObjectMeta, rid: str) -> Response:
    _obj, data = call.dml().load(obj, rid)
    body = render_record(call, obj, data, _fields_param(call, obj))
    return json_response(None, text=render_version(json.dumps(body, separators=(",", ":")), call.version))


def _reject_resource(name: str) -> None:
    if name.lower() in SOBJECT_RESOURCES:
        raise not_found()


def by_id(call: Call, sobject: str, record_id: str):
    obj = _get_obj(call, sobject)
    _reject_resource(record_id)
    full = ids.normalize(record_id)
    method = call.request.method
    if method == "GET":
        if full is None or call.rt.schema.object_for_id(full) is not obj:
            raise not_found("Provided external ID field does not exist or is not accessible: "
                            f"{record_id}")
        return _read(call, obj, full)
    if method == "PATCH":
        payload = call.json_object()
        with call.emu.store.write():
            call.dml().update(obj.name, record_id, payload, raw=call.raw_text())
        return Response(status=204)
    if method == "DELETE":
        if full is None:
            raise not_found("Provided external ID field does not exist or is not accessible: "
                            f"{record_id}")
        with call.emu.store.write():
            call.dml().delete(full, obj.name)
        return Response(status=204)
    if method == "POST":  # POST to a record URL is not an upsert in REST
        raise RequestError("METHOD_NOT_ALLOWED", "HTTP Method 'POST' not allowed. Allowed are "
                           "GET,PATCH,DELETE,HEAD", status=405)
    raise not_found()


def two_segments(call: Call, sobject: str, first: str, second: str):
    """/sobjects/T/<id>/<blob field> or /sobjects/T/<external id field>/<value>."""
    obj = _get_obj(call, sobject)
    _reject_resource(first)
    full = ids.normalize(first)
    if full and call.rt.schema.object_for_id(full) is obj and call.request.method == "GET":
        fld = call.rt.schema.visible_fields(call.profile, obj).get(second.lower())
        if fld is None or fld.type != "base64":
            raise not_found()
        call.dml().load(obj, full)
        data = call.emu.store.get_blob(full, fld.name)
        if data is None:
            raise not_found()
        return Response(data, content_type="application/octet-stream")
    dml = call.dml()
    fld = dml.external_field(obj, first)
    method = call.request.method
    if method in ("PATCH", "POST"):
        payload = call.json_object()
        try:
            with call.emu.store.write():
                rid, created = dml.upsert(obj.name, fld.name, second, payload,
                                          raw=call.raw_text())
        except DmlError as exc:
            if exc.status == 300:
                matches = dml.match_external(obj, fld, second)
                return json_response([record_url(call.version, obj.name, m) for m in matches],
                                     300)
            raise
        return json_response({"id": rid, "success": True, "errors": [], "created": created},
                             201 if created else 200)
    matches = dml.match_external(obj, fld, second)
    if not matches:
        raise not_found()
    if len(matches) > 1:
        return json_response([record_url(call.version, obj.name, m) for m in matches], 300)
    if method == "GET":
        return _read(call, obj, matches[0])
    if method == "DELETE":
        with call.emu.store.write():
            dml.delete(matches[0], obj.name)
        return Response(status=204)
    raise not_found()


def _window(call: Call) -> tuple[str, str, Any, Any]:
    args = call.request.args
    start_text, end_text = args.get("start"), args.get("end")
    if not start_text or not end_text:
        raise RequestError("MISSING_ARGUMENT", "start and end are required query parameters")
    start = clock.parse_datetime(start_text)
    end = clock.parse_datetime(end_text)
    if start is None or end is None:
        raise RequestError("INVALID_REPLICATION_DATE",
                           "start and end must be ISO 8601 datetimes with a time zone")
    if end <= start:
        raise RequestError("INVALID_REPLICATION_DATE", "end date must be after start date")
    return clock.sf_datetime(start), clock.sf_datetime(end), start, end


def _minute(when) -> str:
    return clock.sf_datetime(when.replace(second=0, microsecond=0))


def updated(call: Call, sobject: str):
    obj = _get_obj(call, sobject)
    start, end, _s, end_dt = _window(call)
    now = clock.now()
    end_dt = min(end_dt, now)
    found = call.emu.store.updated_ids(call.rt.org.name, obj.name, start,
                                       clock.sf_datetime(end_dt))
    return json_response({"ids": found, "latestDateCovered": _minute(end_dt)})


def deleted(call: Call, sobject: str):
    obj = _get_obj(call, sobject)
    start, _end, start_dt, end_dt = _window(call)
    now = clock.now()
    earliest = now - timedelta(days=15)
    if start_dt < earliest - timedelta(minutes=1):
        raise RequestError("INVALID_REPLICATION_DATE",
                           "startDate cannot be more than 15 days ago")
    end_dt = min(end_dt, now)
    rows = call.emu.store.deleted_between(call.rt.org.name, obj.name, start,
                                          clock.sf_datetime(end_dt))
    return json_response({"deletedRecords": [{"id": i, "deletedDate": d} for i, d in rows],
                          "earliestDateAvailable": _minute(earliest),
                          "latestDateCovered": _minute(end_dt)})


def register(router) -> None:
    v = "/services/data/v<version>/sobjects"
    router.add(f"{v}/<sobject>", ["POST"], create, operation="create", name="create")
    router.add(f"{v}/<sobject>/updated", ["GET"], updated, operation="read")
    router.add(f"{v}/<sobject>/deleted", ["GET"], deleted, operation="read")
    router.add(f"{v}/<sobject>/<record_id>", ["GET"], by_id, operation="read", name="get")
    router.add(f"{v}/<sobject>/<record_id>", ["PATCH"], by_id, operation="update",
               name="update")
    router.add(f"{v}/<sobject>/<record_id>", ["DELETE"], by_id, operation="delete",
               name="delete")
    router.add(f"{v}/<sobject>/<first>/<second>", ["GET", "DELETE"], two_segments,
               operation="read", name="by_external_id")
    router.add(f"{v}/<sobject>/<first>/<second>", ["PATCH", "POST"], two_segments,
               operation="upsert", name="upsert")
