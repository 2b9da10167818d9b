"""Tooling API: create custom fields and custom objects, and query them.

``POST /tooling/sobjects/CustomField`` ``{"FullName": "Opportunity.Cothon_Ref__c", "Metadata":
{...}}`` and ``POST /tooling/sobjects/CustomObject`` take Metadata API shapes and turn them into
the org definition's field/object specs, so the new metadata appears in describes at once and
is usable in DML and SOQL. Every profile that can see the object gets edit access to a new
field (an admin ticking "Visible" for all profiles); a new object gets CRED for the creating
user's profile and for the run-as users of the org's connected apps. What was created is kept
in the store's kv table (a restart replays it); `/_emulator/reset` returns to the org
definition. ``GET /tooling/query?q=`` answers SOQL on CustomField and CustomObject, on
WorkflowOutboundMessage and WorkflowRule (created through ``tooling_workflow_api``) and on
Flow and FlowDefinition (``tooling_flow_api``).
"""

from __future__ import annotations

import copy
import json
import re
import threading
from datetime import datetime
from typing import Any

from . import clock, ids
from .errors import RequestError
from .http import Call, json_response
from .metadata import OrgSchema
from .orgdef import ObjectSpec

KV_PREFIX = "tooling:"
NAME_RE = re.compile(r"^(?:([A-Za-z][A-Za-z0-9]*)__)?([A-Za-z][A-Za-z0-9_]*?)__c$")
TYPES = {"Text": "string", "TextArea": "textarea", "LongTextArea": "textarea",
         "Email": "email", "Phone": "phone", "Url": "url", "Number": "double",
         "Currency": "currency", "Percent": "percent", "Checkbox": "boolean", "Date": "date",
         "DateTime": "datetime", "Picklist": "picklist", "MultiselectPicklist": "multipicklist",
         "Lookup": "reference", "MasterDetail": "reference"}
_lock = threading.RLock()
_ORIGINALS: dict[tuple[int, str], tuple[dict[str, ObjectSpec], dict[str, dict[str, str]]]] = {}


class ToolingError(RequestError):
    pass


def _integrity(message: str, fields: list[str] | None = None) -> ToolingError:
    return ToolingError("FIELD_INTEGRITY_EXCEPTION", message, fields or [])


def _duplicate(message: str) -> ToolingError:
    return ToolingError("DUPLICATE_DEVELOPER_NAME", message, [])


# -- Metadata -> org definition specs --------------------------------------------------------
def _int(meta: dict[str, Any], key: str, label: str, low: int, high: int,
         required: bool = True, default: int | None = None) -> int | None:
    value = meta.get(key, default)
    if value is None:
        if required:
            raise _integrity(f"{label}: Required field is missing: {key}", [key])
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _integrity(f"{label}: {key} must be a number: {value}", [key]) from None
    if not low <= number <= high:
        raise _integrity(f"{label}: {key} must be between {low} and {high}: {number}", [key])
    return number


def field_spec(name: str, meta: dict[str, Any], schema: OrgSchema) -> dict[str, Any]:
    """The org-definition spec of a Metadata API CustomField."""
    if not isinstance(meta, dict):
        raise _integrity("Metadata: Required field is missing")
    label = meta.get("label")
    if not label or not isinstance(label, str):
        raise _integrity("Required field is missing: label", ["label"])
    kind = meta.get("type")
    if kind not in TYPES:
        raise _integrity(f"Invalid type: {kind!r}. Supported: {', '.join(TYPES)}", ["type"])
    spec: dict[str, Any] = {"type": TYPES[kind], "label": label}
    if kind == "Text":
        spec["length"] = _int(meta, "length", label, 1, 255)
    elif kind == "TextArea":
        spec["length"] = 255
    elif kind == "LongTextArea":
        spec["length"] = _int(meta, "length", label, 256, 131072)
        _int(meta, "visibleLines", label, 2, 50)
        spec["long"] = True
    elif kind in ("Number", "Currency", "Percent"):
        precision = _int(meta, "precision", label, 1, 18)
        scale = _int(meta, "scale", label, 0, 17, required=False, default=0)
        if scale > precision:
            raise _integrity(f"{label}: scale ({scale}) must not exceed precision "
                             f"({precision})", ["scale"])
        spec.update(precision=precision, scale=scale)
    elif kind == "Checkbox":
        default = str(meta.get("defaultValue", "false")).lower()
        if default not in ("true", "false"):
            raise _integrity(f"{label}: Checkbox defaultValue must be true or false",
                             ["defaultValue"])
        spec["default"] = default == "true"
    elif kind in ("Picklist", "MultiselectPicklist"):
        value_set = meta.get("valueSet") or {}
        definition = value_set.get("valueSetDefinition") or {}
        values = definition.get("value") or []
        names = [v.get("fullName") for v in values if isinstance(v, dict)]
        if not names or not all(isinstance(n, str) and n for n in names):
            raise _integrity(f"{label}: a picklist needs valueSet.valueSetDefinition.value "
                             "entries with fullName", ["valueSet"])
        if len({n.lower() for n in names}) != len(names):
            raise ToolingError("DUPLICATE_VALUE", f"{label}: duplicate picklist value", [])
        spec["values"] = names
        spec["restricted"] = bool(value_set.get("restricted"))
        defaults = [v["fullName"] for v in values if v.get("default") in (True, "true")]
        if defaults:
            spec["default"] = defaults[0]
    elif kind in ("Lookup", "MasterDetail"):
        target = meta.get("referenceTo")
        if isinstance(target, list):
            target = target[0] if len(target) == 1 else None
        target_obj = schema.get(target) if isinstance(target, str) else None
        if target_obj is None:
            raise _integrity(f"{label}: referenceTo must name an existing object: {target}",
                             ["referenceTo"])
        rel = meta.get("relationshipName")
        if not rel or not isinstance(rel, str):
            raise _integrity(f"{label}: Required field is missing: relationshipName",
                             ["relationshipName"])
        constraint = meta.get("deleteConstraint") or ("Cascade" if kind == "MasterDetail"
                                                      else "SetNull")
        if constraint not in ("SetNull", "Restrict", "Cascade"):
            raise _integrity(f"{label}: invalid deleteConstraint: {constraint}",
                             ["deleteConstraint"])
        spec.update(reference_to=target_obj.name, relationship_name=name[:-3] + "__r",
                    child_relationship_name=rel if rel.endswith("__r") else rel + "__r")
        if kind == "MasterDetail":
            spec["master_detail"] = True
    if meta.get("externalId") in (True, "true"):
        if kind not in ("Text", "Number", "Email"):
            raise _integrity(f"{label}: only Text, Number and Email fields can be external "
                             "ids", ["externalId"])
        spec["external_id"] = True
    if meta.get("unique") in (True, "true"):
        spec["unique"] = True
    if meta.get("caseSensitive") in (True, "true"):
        spec["case_sensitive"] = True
    if meta.get("required") in (True, "true") and kind not in ("Checkbox", "MasterDetail"):
        spec["required"] = True
    return spec


def object_spec(name: str, meta: dict[str, Any], prefix: str) -> ObjectSpec:
    if not isinstance(meta, dict):
        raise _integrity("Metadata: Required field is missing")
    for key in ("label", "pluralLabel"):
        if not meta.get(key) or not isinstance(meta[key], str):
            raise _integrity(f"Required field is missing: {key}", [key])
    name_field = meta.get("nameField")
    if not isinstance(name_field, dict) or not name_field.get("label"):
        raise _integrity("Required field is missing: nameField", ["nameField"])
    kind = name_field.get("type", "Text")
    if kind == "AutoNumber":
        fmt = name_field.get("displayFormat")
        if not fmt or "{0" not in fmt:
            raise _integrity("nameField: an AutoNumber name field needs a displayFormat like "
                             "'A-{0000}'", ["displayFormat"])
        spec_name = {"label": name_field["label"], "auto_number": fmt}
    elif kind == "Text":
        spec_name = {"label": name_field["label"], "type": "string", "length": 80}
    else:
        raise _integrity(f"nameField: invalid type {kind!r} (Text or AutoNumber)", ["type"])
    status = meta.get("deploymentStatus", "Deployed")
    if status not in ("Deployed", "InDevelopment"):
        raise _integrity(f"Invalid deploymentStatus: {status}", ["deploymentStatus"])
    sharing = meta.get("sharingModel", "ReadWrite")
    if sharing not in ("ReadWrite", "Read", "Private", "ControlledByParent", "FullAccess"):
        raise _integrity(f"Invalid sharingModel: {sharing}", ["sharingModel"])
    return ObjectSpec(name=name, custom=True, label=meta["label"],
                      plural_label=meta["pluralLabel"], key_prefix=prefix,
                      name_field=spec_name, fields={})


# -- applying to an org -----------------------------------------------------------------------
def _remember(emu: Any, rt: Any) -> None:
    key = (id(emu), rt.org.name)
    if key not in _ORIGINALS:
        _ORIGINALS[key] = (copy.deepcopy(rt.org.objects),
                           {n: dict(p.objects) for n, p in rt.org.profiles.items()})


def _rebuild(rt: Any, objects: dict[str, ObjectSpec]) -> None:
    old = rt.org.objects
    rt.org.objects = objects
    try:
        schema = OrgSchema(rt.org)
    except Exception as exc:  # noqa: BLE001 - report, keep the old schema
        rt.org.objects = old
        raise _integrity(f"Cannot apply this metadata: {exc}") from None
    rt.schema = schema
    rt._validators.clear()
    rt._cascade.clear()


def _split_field_name(full_name: Any) -> tuple[str, str]:
    if not isinstance(full_name, str) or full_name.count(".") != 1:
        raise _integrity("FullName must be Object.Field__c", ["FullName"])
    obj, fld = full_name.split(".")
    if not NAME_RE.match(fld) or "___" in fld or fld.count("__") > 2:
        raise _integrity(f"Invalid custom field name: {fld}. Custom field names end in __c "
                         "and contain letters, digits and single underscores", ["FullName"])
    return obj, fld


def _apply_field(rt: Any, full_name: str, meta: dict[str, Any]) -> None:
    obj_name, fld_name = _split_field_name(full_name)
    schema = rt.schema
    if obj_name.lower() == "activity":
        targets, spec_name = ["Task", "Event"], "Activity"
    else:
        target = schema.get(obj_name)
        if target is None:
            raise _integrity(f"Cannot find an object named {obj_name}", ["FullName"])
        targets, spec_name = [target.name], target.name
    for target in targets:
        if schema.get(target).field(fld_name) is not None:
            raise _duplicate(f"Duplicate developer name: there is already a field named "
                             f"{fld_name} on {target}")
    spec = field_spec(fld_name, meta, schema)
    objects = copy.deepcopy(rt.org.objects)
    holder = next((s for n, s in objects.items() if n.lower() == spec_name.lower()), None)
    if holder is None:
        holder = objects[spec_name] = ObjectSpec(name=spec_name, custom=False)
    holder.fields[fld_name] = spec
    _rebuild(rt, objects)


def _grant_profiles(rt: Any, user: Any) -> list[str]:
    names = {rt.org.profiles[user.profile].name} if user else set()
    for app in rt.org.connected_apps:
        run_as = rt.org.user_by_username(app.run_as) if app.run_as else None
        if run_as:
            names.add(run_as.profile)
    return sorted(n for n in names if not rt.org.profiles[n].admin)


def _apply_object(rt: Any, full_name: str, meta: dict[str, Any],
                  grants: list[str]) -> str:
    if not isinstance(full_name, str) or not NAME_RE.match(full_name):
        raise _integrity(f"Invalid custom object name: {full_name}. Custom object names end "
                         "in __c", ["FullName"])
    if rt.schema.get(full_name) is not None:
        raise _duplicate(f"Duplicate developer name: an object named {full_name} already "
                         "exists")
    used = {o.key_prefix for o in rt.schema.objects.values()}
    counter = 0
    while True:
        prefix = "a" + ids.base62(counter, 2)
        counter += 1
        if prefix not in used:
            break
    spec = object_spec(full_name, meta, prefix)
    objects = copy.deepcopy(rt.org.objects)
    objects[full_name] = spec
    _rebuild(rt, objects)
    for name in grants:
        rt.org.profiles[name].objects[full_name] = "CRED"
    return prefix


def _load_state(rt: Any) -> dict[str, Any]:
    return rt.store.kv_get(KV_PREFIX + rt.org.name, {"ops": [], "counter": 0})


def _replay(emu: Any, rt: Any) -> None:
    state = _load_state(rt)
    for op in state["ops"]:
        try:
            if op["kind"] == "field":
                _apply_field(rt, op["full_name"], op["metadata"])
            else:
                _apply_object(rt, op["full_name"], op["metadata"], op.get("grants", []))
        except RequestError as exc:  # the org definition changed under the saved metadata
            print(f"tooling: could not restore {op['full_name']}: {exc.message}", flush=True)


def attach(emu: Any) -> None:
    from . import tooling_workflow_api
    with _lock:
        for rt in emu.orgs.values():
            _remember(emu, rt)
            _replay(emu, rt)
        tooling_workflow_api.attach(emu)


def reset(emu: Any, org: str | None) -> None:
    from . import tooling_flow_api, tooling_workflow_api
    with _lock:
        for rt in emu.orgs.values():
            if org is not None and rt.org.name != org:
                continue
            objects, perms = _ORIGINALS[(id(emu), rt.org.name)]
            for name, profile in rt.org.profiles.items():
                profile.objects = dict(perms.get(name, {}))
            _rebuild(rt, copy.deepcopy(objects))
            rt.store.kv_set(KV_PREFIX + rt.org.name, {"ops": [], "counter": 0})
            tooling_flow_api.reset(emu, rt)
            tooling_workflow_api.reset(emu, rt)


# -- endpoints --------------------------------------------------------------------------------
def _created(record_id: str) -> Any:
    return json_response({"id": record_id, "success": True, "errors": [], "warnings": [],
                          "infos": []}, 201)


def _body(call: Call) -> tuple[Any, dict[str, Any]]:
    body = call.json_object()
    full_name = body.get("FullName", body.get("fullName"))
    meta = body.get("Metadata", body.get("metadata"))
    if full_name is None:
        raise _integrity("Required field is missing: FullName", ["FullName"])
    if meta is None:
        raise _integrity("Required field is missing: Metadata", ["Metadata"])
    return full_name, meta


def _record(rt: Any, kind: str, full_name: str, meta: dict[str, Any],
            extra: dict[str, Any] | None = None) -> str:
    state = _load_state(rt)
    state["counter"] += 1
    prefix = "00N" if kind == "field" else "01I"
    # 'T' + the org letter mark ids minted here (seeded ids carry 'S').
    record_id = ids.to_18(prefix + "5g0T" + rt.org.code[:1] + ids.base62(state["counter"], 7))
    state["ops"].append({"kind": kind, "full_name": full_name, "metadata": meta,
                         "id": record_id, "created": clock.sf_datetime(), **(extra or {})})
    rt.store.kv_set(KV_PREFIX + rt.org.name, state)
    return record_id


def create_field(call: Call):
    full_name, meta = _body(call)
    with _lock:
        _apply_field(call.rt, full_name, meta)
        record_id = _record(call.rt, "field", full_name, meta)
    return _created(record_id)


def create_object(call: Call):
    full_name, meta = _body(call)
    with _lock:
        grants = _grant_profiles(call.rt, call.user)
        _apply_object(call.rt, full_name, meta, grants)
        record_id = _record(call.rt, "object", full_name, meta, {"grants": grants})
    return _created(record_id)


# -- tooling query ----------------------------------------------------------------------------
def custom_object_ids(rt: Any) -> dict[str, str]:
    """CustomObject ids by object name: the Tooling-created one's, else a stable seeded id."""
    created = {op["full_name"].lower(): op["id"] for op in _load_state(rt)["ops"]
               if op["kind"] == "object"}
    found, index = {}, 0
    for obj in sorted(rt.schema.objects.values(), key=lambda o: o.name):
        if obj.custom:
            index += 1
            found[obj.name] = created.get(obj.name.lower()) or \
                ids.make_seed_id("01I", rt.org.code, index)
    return found


class ToolingSource:
    """CustomField / CustomObject rows for the SOQL engine."""

    def __init__(self, rt: Any):
        self.rt = rt
        self.rows = self._rows()

    def _rows(self) -> dict[str, list[dict[str, Any]]]:
        rt = self.rt
        created = {op["full_name"].lower(): op for op in _load_state(rt)["ops"]}
        stamp = "2024-01-01T00:00:00.000+0000"
        objects: list[dict[str, Any]] = []
        object_ids = custom_object_ids(rt)
        for obj in sorted(rt.schema.objects.values(), key=lambda o: o.name):
            if not obj.custom:
                continue
            op = created.get(obj.name.lower())
            oid = object_ids[obj.name]
            namespace, dev = _dev_name(obj.name)
            objects.append({"Id": oid, "DeveloperName": dev, "NamespacePrefix": namespace,
                            "FullName": obj.name, "ManageableState": "unmanaged",
                            "Description": None,
                            "CreatedDate": op["created"] if op else stamp,
                            "LastModifiedDate": op["created"] if op else stamp})
        activity = {n.lower() for n in (rt.org.objects.get("Activity").fields
                                        if rt.org.objects.get("Activity") else {})}
        fields: list[dict[str, Any]] = []
        index = 0
        seen_activity: set[str] = set()
        for obj in sorted(rt.schema.objects.values(), key=lambda o: o.name):
            for fld in obj.fields.values():
                if not fld.name.endswith("__c"):
                    continue
                table = obj.name
                if obj.name in ("Task", "Event") and fld.name.lower() in activity:
                    if fld.name.lower() in seen_activity:
                        continue
                    seen_activity.add(fld.name.lower())
                    table = "Activity"
                index += 1
                full = f"{table}.{fld.name}"
                op = created.get(full.lower())
                fid = op["id"] if op else ids.make_seed_id("00N", rt.org.code, index)
                namespace, dev = _dev_name(fld.name)
                fields.append({"Id": fid, "DeveloperName": dev, "NamespacePrefix": namespace,
                               "TableEnumOrId": object_ids.get(table, table),
                               "FullName": full, "ManageableState": "unmanaged",
                               "Description": None,
                               "CreatedDate": op["created"] if op else stamp,
                               "LastModifiedDate": op["created"] if op else stamp})
        from .tooling_flow_api import rows as flow_rows
        from .tooling_workflow_api import rows as workflow_rows
        return {"customfield": fields, "customobject": objects, **workflow_rows(rt),
                **flow_rows(rt)}

    def object_info(self, name: str):
        from .soql.interface import FieldInfo, ObjectInfo
        from .tooling_workflow_api import FIELD_TYPES, QUERY_FIELDS, TYPES
        from . import tooling_flow_api
        key = name.lower()
        if key not in self.rows:
            return None
        if key in tooling_flow_api.TYPES:
            return tooling_flow_api.object_info(key)
        if key in TYPES:
            # as on a real org, FullName and Metadata can be selected but not filtered on
            plain = {n: n not in ("FullName", "Metadata") for n in QUERY_FIELDS[key]}
            fields = {n.lower(): FieldInfo(name=n, type=FIELD_TYPES.get(n, "string"),
                                           filterable=ok, sortable=ok, groupable=ok)
                      for n, ok in plain.items()}
            return ObjectInfo(name=TYPES[key][0], fields=fields)
        names = ["Id", "DeveloperName", "NamespacePrefix", "FullName", "ManageableState",
                 "Description", "CreatedDate", "LastModifiedDate"]
        if key == "customfield":
            names.append("TableEnumOrId")
        types = {"Id": "id", "CreatedDate": "datetime", "LastModifiedDate": "datetime"}
        fields = {n.lower(): FieldInfo(name=n, type=types.get(n, "string")) for n in names}
        return ObjectInfo(name="CustomField" if key == "customfield" else "CustomObject",
                          fields=fields)

    def records(self, object_name: str, *, include_deleted: bool = False, equals=None):
        return list(self.rows.get(object_name.lower(), []))

    def record_by_id(self, record_id: str):
        from .tooling_flow_api import TYPES as FLOW_TYPES
        from .tooling_workflow_api import TYPES
        for key, rows in self.rows.items():
            name = {"customfield": "CustomField", "customobject": "CustomObject"}.get(key) \
                or {**TYPES, **FLOW_TYPES}[key][0]
            for row in rows:
                if row["Id"] == ids.normalize(record_id):
                    return name, row
        return None

    def now(self) -> datetime:
        return clock.now()


def _dev_name(api_name: str) -> tuple[str | None, str]:
    match = NAME_RE.match(api_name)
    if not match:
        return None, api_name
    return match.group(1), match.group(2)


def tooling_query(call: Call):
    from .soql import SoqlError, execute
    soql = call.request.args.get("q")
    if not soql:
        raise RequestError("MALFORMED_QUERY", "A query string has to be specified")
    try:
        result = execute(soql, ToolingSource(call.rt), api_version=call.version or "59.0")
    except SoqlError as exc:
        return json_response([{"message": exc.message, "errorCode": exc.error_code}], 400)
    records = []
    for record in result.records:
        attrs = record.get("attributes") or {}
        rtype = attrs.get("type", "CustomField")
        rid = record.get("Id")
        record["attributes"] = {"type": rtype, "url": f"/services/data/v{call.version}/tooling/"
                                                      f"sobjects/{rtype}/{rid}"}
        records.append(record)
    entity = records[0]["attributes"]["type"] if records else None
    if entity in ("WorkflowOutboundMessage", "WorkflowRule", "Flow", "FlowDefinition") and \
            len(records) > 1 and \
            any(k in records[0] for k in ("FullName", "Metadata")):
        # as the Tooling API guards its metadata fields
        return json_response([{"errorCode": "MALFORMED_QUERY", "message": (
            "When retrieving results with Metadata or FullName fields, the query "
            "qualifications must specify no more than one row for retrieval. Result size: "
            f"{len(records)}")}], 400)
    text = json.dumps({"size": len(records), "totalSize": result.total_size, "done": True,
                       "queryLocator": None, "entityTypeName": entity, "records": records})
    return json_response(None, text=text)


def tooling_index(call: Call):
    """GET /tooling: the Tooling API resources the emulator serves (query; sobject creates)."""
    return json_response({"query": f"/services/data/v{call.version}/tooling/query"})


def register(router) -> None:
    v = "/services/data/v<version>/tooling"
    router.add(v, ["GET"], tooling_index, operation="tooling", name="tooling_index")
    router.add(f"{v}/sobjects/CustomField", ["POST"], create_field, operation="tooling",
               name="tooling_custom_field")
    router.add(f"{v}/sobjects/CustomObject", ["POST"], create_object, operation="tooling",
               name="tooling_custom_object")
    router.add(f"{v}/query", ["GET"], tooling_query, operation="tooling", name="tooling_query")
    from . import tooling_flow_api, tooling_workflow_api
    tooling_workflow_api.register(router)
    tooling_flow_api.register(router)
