"""Tooling API endpoints for WorkflowOutboundMessage and WorkflowRule.

``POST /tooling/sobjects/WorkflowOutboundMessage`` (and ``WorkflowRule``) take
``{"FullName": "Opportunity.Name", "Metadata": {...}}``; ``GET/PATCH/DELETE
…/sobjects/<type>/<id>`` read, replace the Metadata of, and delete one; ``/tooling/query``
answers SOQL on both (``tooling.ToolingSource`` asks ``rows`` here). Every change rebuilds the
org's ``source="tooling"`` rules in the outbound-message registry, so a committed write through
any API evaluates the active rules and delivers SOAP notifications with the usual retries.
The definitions are kept in the store's kv table (a restart restores them);
``/_emulator/reset`` deletes them. Metadata checks: ``tooling_workflow``.
"""

from __future__ import annotations

import copy
from typing import Any

from . import clock, ids, outbound, tooling_workflow
from .errors import RequestError, not_found
from .http import Call, json_response

KV_PREFIX = "tooling-workflow:"
TYPES = {"workflowoutboundmessage": ("WorkflowOutboundMessage", "04k", "messages"),
         "workflowrule": ("WorkflowRule", "01Q", "rules")}
COMMON = ["Id", "FullName", "Metadata", "Name", "NamespacePrefix", "ManageableState",
          "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById"]
QUERY_FIELDS = {
    "workflowoutboundmessage": COMMON + ["ApiVersion", "EntityDefinitionId",
                                         "IntegrationUserId"],
    "workflowrule": COMMON + ["TableEnumOrId"],
}
FIELD_TYPES = {"Id": "id", "CreatedDate": "datetime", "LastModifiedDate": "datetime",
               "CreatedById": "reference", "LastModifiedById": "reference",
               "IntegrationUserId": "reference", "ApiVersion": "double"}


def _lock():
    from .tooling import _lock as lock  # one lock for all Tooling metadata changes
    return lock


# -- state ------------------------------------------------------------------------------------
def load(rt: Any) -> dict[str, Any]:
    return rt.store.kv_get(KV_PREFIX + rt.org.name, {"counter": 0, "messages": [], "rules": []})


def _save(emu: Any, rt: Any, state: dict[str, Any]) -> None:
    rt.store.kv_set(KV_PREFIX + rt.org.name, state)
    _sync(emu, rt, state)


def _sync(emu: Any, rt: Any, state: dict[str, Any]) -> None:
    rules = tooling_workflow.registry_rules(rt.org.name, state["rules"], state["messages"])
    outbound.service(emu).replace_rules(rt.org.name, "tooling", rules)
    from . import tooling_flow_api  # flows send these messages too: rebuild their rules
    tooling_flow_api.sync(emu, rt, state["messages"])


def attach(emu: Any) -> None:
    """Restore every org's saved workflow rules and flows into the outbound registry (a
    restart)."""
    for rt in emu.orgs.values():
        _sync(emu, rt, load(rt))


def reset(emu: Any, rt: Any) -> None:
    rt.store.kv_set(KV_PREFIX + rt.org.name, {"counter": 0, "messages": [], "rules": []})
    _sync(emu, rt, load(rt))


# -- helpers ----------------------------------------------------------------------------------
def _kind(sobject: str) -> tuple[str, str, str]:
    found = TYPES.get(sobject.lower())
    if found is None:
        raise not_found()
    return found


def _gate(call: Call) -> None:
    error = tooling_workflow.edition_error(call.rt)
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


def _messages_of(state: dict[str, Any], obj: str) -> dict[str, dict[str, Any]]:
    return {m["name"].lower(): m for m in state["messages"] if m["object"] == obj}


def _validate(call: Call, state: dict[str, Any], bucket: str, obj: str,
              meta: Any) -> dict[str, Any]:
    if bucket == "messages":
        return tooling_workflow.outbound_message(call.rt, obj, meta,
                                                 default_user=call.user.username,
                                                 version=call.version or "59.0")
    return tooling_workflow.workflow_rule(call.rt, obj, meta, _messages_of(state, obj))


def _body(call: Call) -> tuple[Any, Any]:
    body = call.json_object()
    return body.get("FullName", body.get("fullName")), body.get("Metadata",
                                                                body.get("metadata"))


# -- endpoints --------------------------------------------------------------------------------
def create(call: Call, sobject: str):
    type_name, prefix, bucket = _kind(sobject)
    _gate(call)
    full_name, meta = _body(call)
    if full_name is None:
        raise tooling_workflow.integrity("Required field is missing: FullName", ["FullName"])
    obj, member = tooling_workflow.split_full_name(full_name, call.rt,
                                                   dev_name=bucket == "messages")
    with _lock():
        state = load(call.rt)
        clash = next((e for e in state[bucket] if e["object"] == obj
                      and e["name"].lower() == member.lower()), None)
        if clash is not None:
            raise RequestError("DUPLICATE_VALUE", f"duplicate value found: FullName duplicates "
                               f"value on record with id: {clash['id']}", ["FullName"])
        normalised = _validate(call, state, bucket, obj, meta)
        state["counter"] += 1
        # 'W' + the org letter mark ids minted here (seeded ids carry 'S', fields 'T').
        record_id = ids.to_18(prefix + "5g0W" + call.rt.org.code[:1]
                              + ids.base62(state["counter"], 7))
        stamp = clock.sf_datetime()
        state[bucket].append({"id": record_id, "object": obj, "name": member,
                              "metadata": normalised, "created": stamp, "modified": stamp,
                              "created_by": call.user.id, "modified_by": call.user.id})
        _save(call.emu, call.rt, state)
    return json_response({"id": record_id, "success": True, "errors": [], "warnings": [],
                          "infos": []}, 201)


def one(call: Call, sobject: str, record_id: str):
    type_name, _prefix, bucket = _kind(sobject)
    _gate(call)
    method = call.request.method
    with _lock():
        state = load(call.rt)
        entry = _find(state, bucket, record_id)
        if method == "GET":
            return json_response(_row(call.rt, type_name, entry, call.version))
        if method == "DELETE":
            if bucket == "messages":
                users = [r["name"] for r in state["rules"] if r["object"] == entry["object"]
                         and any(a["name"].lower() == entry["name"].lower()
                                 for a in r["metadata"]["actions"])]
                from .tooling_flow_api import flows_using
                flows = flows_using(call.rt, entry["object"], entry["name"])
                if users or flows:
                    used_by = [f"workflow rule(s): {', '.join(users)}"] if users else []
                    used_by += [f"flow(s): {', '.join(flows)}"] if flows else []
                    raise RequestError("DELETE_FAILED", f"This outbound message is used by "
                                       f"{' and '.join(used_by)}. Remove it from them first.",
                                       [])
            state[bucket].remove(entry)
            _save(call.emu, call.rt, state)
            return json_response(None, 204, text="")
        full_name, meta = _body(call)
        if full_name is not None and full_name != f"{entry['object']}.{entry['name']}":
            raise tooling_workflow.integrity("FullName cannot be changed", ["FullName"])
        if meta is None:
            raise tooling_workflow.integrity("Required field is missing: Metadata",
                                             ["Metadata"])
        normalised = _validate(call, state, bucket, entry["object"], meta)
        entry.update(metadata=normalised, modified=clock.sf_datetime(),
                     modified_by=call.user.id)
        _save(call.emu, call.rt, state)
    return json_response(None, 204, text="")


# -- rows for GET and the tooling query -------------------------------------------------------
def _public_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    out = {k: copy.deepcopy(v) for k, v in meta.items() if not k.startswith("_")}
    out["urls"] = None
    return out


def _entity(rt: Any, obj: str) -> str:
    """Standard objects are named by their enum; custom ones by their CustomObject id."""
    if not obj.endswith("__c"):
        return obj
    from .tooling import custom_object_ids
    return custom_object_ids(rt).get(obj, obj)


def _row(rt: Any, type_name: str, entry: dict[str, Any],
         version: str | None) -> dict[str, Any]:
    meta = entry["metadata"]
    row = {"attributes": {"type": type_name, "url": f"/services/data/v{version or '59.0'}/"
                                                    f"tooling/sobjects/{type_name}/{entry['id']}"},
           "Id": entry["id"], "FullName": f"{entry['object']}.{entry['name']}",
           "Metadata": _public_metadata(meta), "Name": entry["name"],
           "NamespacePrefix": None, "ManageableState": "unmanaged",
           "CreatedDate": entry["created"], "CreatedById": entry["created_by"],
           "LastModifiedDate": entry["modified"], "LastModifiedById": entry["modified_by"]}
    if type_name == "WorkflowOutboundMessage":
        user = rt.org.user_by_username(meta["integrationUser"])
        row.update(ApiVersion=meta["apiVersion"], EntityDefinitionId=_entity(rt, entry["object"]),
                   IntegrationUserId=user.id if user else None)
    else:
        row["TableEnumOrId"] = _entity(rt, entry["object"])
    return row


def rows(rt: Any) -> dict[str, list[dict[str, Any]]]:
    """Query rows per lower-cased type; none in an edition without workflow."""
    if tooling_workflow.edition_error(rt) is not None:
        return {}
    state = load(rt)
    out = {}
    for key, (type_name, _prefix, bucket) in TYPES.items():
        found = []
        for entry in state[bucket]:
            row = _row(rt, type_name, entry, None)
            row.pop("attributes")
            found.append(row)
        out[key] = found
    return out


def register(router) -> None:
    v = "/services/data/v<version>/tooling/sobjects"
    for type_name in ("WorkflowOutboundMessage", "WorkflowRule"):
        router.add(f"{v}/{type_name}", ["POST"], _bind(create, type_name),
                   operation="tooling", name=f"tooling_{type_name}")
        router.add(f"{v}/{type_name}/<record_id>", ["GET", "PATCH", "DELETE"],
                   _bind(one, type_name), operation="tooling", name=f"tooling_{type_name}_one")


def _bind(handler, type_name: str):
    def bound(call: Call, **kwargs):
        return handler(call, type_name, **kwargs)
    bound.__name__ = f"{handler.__name__}_{type_name}"
    bound.__module__ = handler.__module__
    return bound
