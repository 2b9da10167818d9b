"""Tooling API endpoints for Flow (one row per version) and FlowDefinition (one per flow).

``POST tooling/sobjects/Flow`` ``{"FullName": "Cothon_Opportunity_Flow", "Metadata": {...}}``
saves a NEW VERSION of the flow named by FullName (creating its FlowDefinition the first
time); status Active makes it the active version and the previous active one Obsolete, Draft
leaves it inactive. ``GET …/Flow/<id>`` returns a version with its Metadata; ``PATCH`` replaces
a Draft version's Metadata (status Active activates it); ``DELETE`` removes an inactive version
(an active one: DELETE_FAILED; the last one takes its FlowDefinition along).
``GET/PATCH/DELETE …/FlowDefinition/<id>``: ``{"Metadata": {"activeVersionNumber": N}}``
activates version N, 0 deactivates the flow; a flow without an active version can be deleted
whole. ``/tooling/query`` answers SOQL on both (``tooling.ToolingSource`` asks ``rows`` and
``object_info`` here), including ``Definition.DeveloperName`` on Flow and
``ActiveVersion.VersionNumber`` / ``LatestVersion.VersionNumber`` on FlowDefinition.

Every change rebuilds the org's ``source="flow"`` rules in the outbound-message registry (so
does every change of an outbound message, through ``tooling_workflow_api``): a committed write
through any API evaluates the active versions and delivers their outbound messages with the
usual retries. The state is kept in the store's kv table (a restart restores it);
``/_emulator/reset`` deletes it. Metadata checks: ``tooling_flow``; evaluation and outbound
rules: ``tooling_flow_rules``.
"""

from __future__ import annotations

import copy
from typing import Any

from . import clock, ids, outbound, tooling_flow, tooling_flow_rules, tooling_workflow_api
from .editions import automation_error
from .errors import RequestError, not_found
from .http import Call, json_response

KV_PREFIX = "tooling-flow:"
TYPES = {"flow": ("Flow", "301", "versions"),
         "flowdefinition": ("FlowDefinition", "300", "definitions")}
COMMON = ["Id", "FullName", "Metadata", "NamespacePrefix", "ManageableState", "MasterLabel",
          "Description", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById"]
QUERY_FIELDS = {
    "flow": COMMON + ["DefinitionId", "VersionNumber", "Status", "ProcessType", "ApiVersion"],
    "flowdefinition": COMMON + ["DeveloperName", "ActiveVersionId", "LatestVersionId"],
}
FIELD_TYPES = {"Id": "id", "CreatedDate": "datetime", "LastModifiedDate": "datetime",
               "CreatedById": "reference", "LastModifiedById": "reference",
               "VersionNumber": "int", "ApiVersion": "double", "Status": "picklist",
               "ProcessType": "picklist", "DefinitionId": "reference",
               "ActiveVersionId": "reference", "LatestVersionId": "reference"}
# reference field -> (relationship name, target type)
RELATIONSHIPS = {"DefinitionId": ("Definition", "FlowDefinition"),
                 "ActiveVersionId": ("ActiveVersion", "Flow"),
                 "LatestVersionId": ("LatestVersion", "Flow")}


def _lock():
    from .tooling import _lock as lock  # one lock for all Tooling metadata changes
    return lock


def _empty() -> dict[str, Any]:
    return {"counter": 0, "definitions": [], "versions": []}


# -- state ------------------------------------------------------------------------------------
def load(rt: Any) -> dict[str, Any]:
    return rt.store.kv_get(KV_PREFIX + rt.org.name, _empty())


def _save(emu: Any, rt: Any, state: dict[str, Any]) -> None:
    rt.store.kv_set(KV_PREFIX + rt.org.name, state)
    sync(emu, rt)


def sync(emu: Any, rt: Any, messages: list[dict[str, Any]] | None = None) -> None:
    """Rebuild the org's flow rules in the outbound registry (flows or messages changed)."""
    state = load(rt)
    if messages is None:
        messages = tooling_workflow_api.load(rt)["messages"]
    rules = tooling_flow_rules.registry_rules(rt.org.name, state["definitions"],
                                              state["versions"], messages)
    outbound.service(emu).replace_rules(rt.org.name, "flow", rules)


def reset(emu: Any, rt: Any) -> None:
    rt.store.kv_set(KV_PREFIX + rt.org.name, _empty())
    sync(emu, rt)


def flows_using(rt: Any, obj: str, message_name: str) -> list[str]:
    """Labels of the flows with a version that sends this outbound message."""
    state = load(rt)
    labels = []
    for version in state["versions"]:
        meta = version["metadata"]
        if meta["start"]["object"] == obj and any(
                m.lower() == message_name.lower() for m in meta["_messages"]):
            if meta["label"] not in labels:
                labels.append(meta["label"])
    return labels


# -- helpers ----------------------------------------------------------------------------------
def _gate(call: Call) -> None:
    error = automation_error(call.rt, "Flows")
    if error is not None:
        raise error


def _find(state: dict[str, Any], bucket: str, record_id: str) -> dict[str, Any]:
    full = ids.normalize(record_id)
    if full is None:
        raise RequestError("MALFORMED_ID", f"Id is not valid: {record_id}", [], status=400)
    found = next((e for e in state[bucket] if e["id"] == full), None)
    if found is None:
        raise not_found()
    return found


def _messages_by_object(rt: Any) -> dict[str, dict[str, dict[str, Any]]]:
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for message in tooling_workflow_api.load(rt)["messages"]:
        found.setdefault(message["object"], {})[message["name"].lower()] = message
    return found


def _versions_of(state: dict[str, Any], definition_id: str) -> list[dict[str, Any]]:
    return sorted((v for v in state["versions"] if v["definition_id"] == definition_id),
                  key=lambda v: v["version"])


def _set_status(version: dict[str, Any], status: str, call: Call) -> None:
    version["status"] = status
    version["metadata"]["status"] = status
    version.update(modified=clock.sf_datetime(), modified_by=call.user.id)


def _activate(state: dict[str, Any], definition_id: str, number: int, call: Call) -> None:
    """Make version `number` the active one (0: none); the one it replaces becomes Obsolete."""
    versions = _versions_of(state, definition_id)
    target = next((v for v in versions if v["version"] == number), None)
    if number and target is None:
        raise tooling_flow.integrity(f"activeVersionNumber: the flow has no version {number} "
                                     f"(it has {', '.join(str(v['version']) for v in versions)})",
                                     ["activeVersionNumber"])
    for version in versions:
        if version["status"] == "Active" and version is not target:
            _set_status(version, "Obsolete", call)
    if target is not None and target["status"] != "Active":
        _set_status(target, "Active", call)


def _body(call: Call) -> tuple[Any, Any]:
    body = call.json_object()
    return body.get("FullName", body.get("fullName")), body.get("Metadata",
                                                                body.get("metadata"))


def _new_id(state: dict[str, Any], prefix: str, rt: Any) -> str:
    state["counter"] += 1
    # 'F' + the org letter mark ids minted here ('W' workflow, 'T' fields, 'S' seeded).
    return ids.to_18(prefix + "5g0F" + rt.org.code[:1] + ids.base62(state["counter"], 7))


# -- endpoints --------------------------------------------------------------------------------
def create_version(call: Call):
    _gate(call)
    full_name, meta = _body(call)
    if full_name is None:
        raise tooling_flow.integrity("Required field is missing: FullName", ["FullName"])
    name = tooling_flow.check_dev_name(full_name)
    with _lock():
        state = load(call.rt)
        normalised = tooling_flow.flow_metadata(call.rt, meta, _messages_by_object(call.rt),
                                                version=call.version or "59.0")
        stamp = clock.sf_datetime()
        definition = next((d for d in state["definitions"]
                           if d["name"].lower() == name.lower()), None)
        if definition is None:
            definition = {"id": _new_id(state, "300", call.rt), "name": name,
                          "last_version": 0, "created": stamp, "created_by": call.user.id}
            state["definitions"].append(definition)
        elif len(_versions_of(state, definition["id"])) >= tooling_flow.MAX_VERSIONS:
            raise RequestError("LIMIT_EXCEEDED", f"The flow {name} already has "
                               f"{tooling_flow.MAX_VERSIONS} versions, the most a flow can "
                               "have. Delete an inactive version first.", [])
        definition["last_version"] += 1
        definition.update(modified=stamp, modified_by=call.user.id)
        status = normalised["status"]
        normalised["status"] = "Draft"
        version = {"id": _new_id(state, "301", call.rt), "definition_id": definition["id"],
                   "version": definition["last_version"], "status": "Draft",
                   "metadata": normalised, "created": stamp, "modified": stamp,
                   "created_by": call.user.id, "modified_by": call.user.id}
        state["versions"].append(version)
        if status == "Active":
            _activate(state, definition["id"], version["version"], call)
        _save(call.emu, call.rt, state)
    return json_response({"id": version["id"], "success": True, "errors": [], "warnings": [],
                          "infos": []}, 201)


def one_version(call: Call, record_id: str):
    _gate(call)
    method = call.request.method
    with _lock():
        state = load(call.rt)
        version = _find(state, "versions", record_id)
        definition = next(d for d in state["definitions"]
                          if d["id"] == version["definition_id"])
        if method == "GET":
            return json_response(_flow_row(version, definition, call.version))
        if method == "DELETE":
            if version["status"] == "Active":
                raise RequestError("DELETE_FAILED", "You can't delete an active flow version. "
                                   "Activate another version or deactivate the flow first.",
                                   [])
            state["versions"].remove(version)
            if not _versions_of(state, definition["id"]):
                state["definitions"].remove(definition)
            _save(call.emu, call.rt, state)
            return json_response(None, 204, text="")
        full_name, meta = _body(call)
        if full_name is not None and str(full_name).lower() != definition["name"].lower():
            raise tooling_flow.integrity("FullName cannot be changed", ["FullName"])
        if version["status"] != "Draft":
            raise tooling_flow.integrity(f"Version {version['version']} is "
                                         f"{version['status']}: only a Draft version can be "
                                         "changed. Save a new version instead.", ["Metadata"])
        normalised = tooling_flow.flow_metadata(call.rt, meta, _messages_by_object(call.rt),
                                                version=call.version or "59.0")
        status = normalised["status"]
        normalised["status"] = "Draft"
        version.update(metadata=normalised, modified=clock.sf_datetime(),
                       modified_by=call.user.id)
        if status == "Active":
            _activate(state, definition["id"], version["version"], call)
        _save(call.emu, call.rt, state)
    return json_response(None, 204, text="")


def one_definition(call: Call, record_id: str):
    _gate(call)
    method = call.request.method
    with _lock():
        state = load(call.rt)
        definition = _find(state, "definitions", record_id)
        if method == "GET":
            return json_response(_definition_row(state, definition, call.version))
        active = next((v for v in _versions_of(state, definition["id"])
                       if v["status"] == "Active"), None)
        if method == "DELETE":
            if active is not None:
                raise RequestError("DELETE_FAILED", "You can't delete a flow with an active "
                                   "version. Deactivate it first (activeVersionNumber 0).", [])
            state["versions"] = [v for v in state["versions"]
                                 if v["definition_id"] != definition["id"]]
            state["definitions"].remove(definition)
            _save(call.emu, call.rt, state)
            return json_response(None, 204, text="")
        _full_name, meta = _body(call)
        if not isinstance(meta, dict) or "activeVersionNumber" not in meta:
            raise tooling_flow.integrity("Metadata.activeVersionNumber is required (0 "
                                         "deactivates the flow)", ["activeVersionNumber"])
        number = meta["activeVersionNumber"]
        if number is None:
            number = 0
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise tooling_flow.integrity(f"activeVersionNumber must be a version number or 0: "
                                         f"{number!r}", ["activeVersionNumber"])
        _activate(state, definition["id"], number, call)
        if "description" in meta:
            definition["description"] = tooling_flow._text(meta, "description", 2000, False)
        definition.update(modified=clock.sf_datetime(), modified_by=call.user.id)
        _save(call.emu, call.rt, state)
    return json_response(None, 204, text="")


# -- rows for GET and the tooling query -------------------------------------------------------
def _public_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in meta.items() if not k.startswith("_")}


def _attributes(type_name: str, record_id: str, version: str | None) -> dict[str, str]:
    return {"type": type_name, "url": f"/services/data/v{version or '59.0'}/tooling/sobjects/"
                                      f"{type_name}/{record_id}"}


def _flow_row(entry: dict[str, Any], definition: dict[str, Any],
              version: str | None) -> dict[str, Any]:
    meta = entry["metadata"]
    return {"attributes": _attributes("Flow", entry["id"], version), "Id": entry["id"],
            "DefinitionId": definition["id"], "VersionNumber": entry["version"],
            "Status": entry["status"], "MasterLabel": meta["label"],
            "ProcessType": meta["processType"], "Description": meta["description"],
            "ApiVersion": meta["apiVersion"], "FullName": definition["name"],
            "Metadata": _public_metadata(meta), "NamespacePrefix": None,
            "ManageableState": "unmanaged", "CreatedDate": entry["created"],
            "CreatedById": entry["created_by"], "LastModifiedDate": entry["modified"],
            "LastModifiedById": entry["modified_by"]}


def _definition_row(state: dict[str, Any], definition: dict[str, Any],
                    version: str | None) -> dict[str, Any]:
    versions = _versions_of(state, definition["id"])
    active = next((v for v in versions if v["status"] == "Active"), None)
    latest = versions[-1] if versions else None
    label = (active or latest)["metadata"]["label"] if versions else definition["name"]
    description = definition.get("description")
    return {"attributes": _attributes("FlowDefinition", definition["id"], version),
            "Id": definition["id"], "DeveloperName": definition["name"], "MasterLabel": label,
            "Description": description,
            "ActiveVersionId": active["id"] if active else None,
            "LatestVersionId": latest["id"] if latest else None,
            "FullName": definition["name"],
            "Metadata": {"activeVersionNumber": active["version"] if active else None,
                         "description": description, "masterLabel": label},
            "NamespacePrefix": None, "ManageableState": "unmanaged",
            "CreatedDate": definition["created"], "CreatedById": definition["created_by"],
            "LastModifiedDate": definition["modified"],
            "LastModifiedById": definition["modified_by"]}


def rows(rt: Any) -> dict[str, list[dict[str, Any]]]:
    """Query rows per lower-cased type; none in an edition without flows."""
    if automation_error(rt, "Flows") is not None:
        return {}
    state = load(rt)
    definitions = {d["id"]: d for d in state["definitions"]}
    flows = [_flow_row(v, definitions[v["definition_id"]], None) for v in state["versions"]]
    defs = [_definition_row(state, d, None) for d in state["definitions"]]
    for row in flows + defs:
        row.pop("attributes")
    return {"flow": flows, "flowdefinition": defs}


def object_info(key: str):
    """The SOQL engine's schema of Flow / FlowDefinition (lower-cased `key`)."""
    from .soql.interface import FieldInfo, ObjectInfo
    fields = {}
    for name in QUERY_FIELDS[key]:
        # as on a real org, FullName and Metadata can be selected but not filtered on
        plain = name not in ("FullName", "Metadata")
        rel, target = RELATIONSHIPS.get(name, (None, None))
        fields[name.lower()] = FieldInfo(
            name=name, type=FIELD_TYPES.get(name, "string"),
            reference_to=(target,) if target else (), relationship_name=rel,
            filterable=plain, sortable=plain, groupable=plain)
    return ObjectInfo(name=TYPES[key][0], fields=fields)


def register(router) -> None:
    v = "/services/data/v<version>/tooling/sobjects"
    router.add(f"{v}/Flow", ["POST"], create_version, operation="tooling", name="tooling_Flow")
    router.add(f"{v}/Flow/<record_id>", ["GET", "PATCH", "DELETE"], one_version,
               operation="tooling", name="tooling_Flow_one")
    router.add(f"{v}/FlowDefinition/<record_id>", ["GET", "PATCH", "DELETE"], one_definition,
               operation="tooling", name="tooling_FlowDefinition_one")
