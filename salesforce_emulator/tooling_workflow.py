"""Tooling API workflow metadata: WorkflowOutboundMessage and WorkflowRule shapes checked the
way an org checks them, and active rules turned into the outbound-message registry's rules.

Pure functions over the org's schema and users: the endpoints, stored state and tooling query
rows live in ``tooling_workflow_api``. What is supported (and what an org would accept but the
emulator refuses, so a client never silently gets different behaviour):

* WorkflowOutboundMessage metadata: name, endpointUrl (http or https), fields (fields of the
  object; Id is always sent first), includeSessionId, integrationUser (a username of the org;
  the calling user when left out), protected, useDeadLetterQueue, apiVersion, description.
* WorkflowRule metadata: actions (only type OutboundMessage, naming a message of the same
  object), active, triggerType (onCreateOnly, onAllChanges, onCreateOrTriggeringUpdate),
  description, and either criteriaItems (with an optional booleanFilter) or the formula
  "true". Other formulas and time triggers are refused with a message saying so.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from .editions import automation_error
from .errors import RequestError
from .outbound_rules import Rule, RuleError, evaluate_filter

TRIGGER_MODES = {"onCreateOnly": "created",
                 "onAllChanges": "created_and_every_edit",
                 "onCreateOrTriggeringUpdate": "created_and_edit_to_meet_criteria"}
# Metadata API FilterItem operations -> outbound_rules OPS (a comma in the value = any of)
OPERATIONS = {"equals": ("=", "in"), "notEqual": ("!=", "not_in"), "lessThan": ("<", None),
              "greaterThan": (">", None), "lessOrEqual": ("<=", None),
              "greaterOrEqual": (">=", None), "contains": ("contains", "contains"),
              "notContain": ("not_contains", "not_contains"),
              "startsWith": ("starts_with", "starts_with")}
DEV_NAME_RE = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")


def integrity(message: str, fields: list[str] | None = None) -> RequestError:
    return RequestError("FIELD_INTEGRITY_EXCEPTION", message, fields or [])


def edition_error(rt: Any) -> RequestError | None:
    """Workflow and outbound messages only exist in some editions (``editions``)."""
    return automation_error(rt, "Workflow rules and outbound messages")


def split_full_name(full_name: Any, rt: Any, *, dev_name: bool) -> tuple[str, str]:
    """'Opportunity.Cothon_Sync' -> (canonical object name, member name)."""
    if not isinstance(full_name, str) or "." not in full_name:
        raise integrity("FullName must be Object.Name, e.g. Opportunity.Cothon_Sync",
                        ["FullName"])
    obj_name, _, member = full_name.partition(".")
    obj = rt.schema.get(obj_name)
    if obj is None:
        raise RequestError("INVALID_TYPE", f"Cannot find an object named {obj_name}",
                           ["FullName"])
    member = member.strip()
    if dev_name and (not DEV_NAME_RE.match(member) or len(member) > 80):
        raise integrity(f"Invalid unique name {member!r}: use letters, digits and single "
                        "underscores, start with a letter, at most 80 characters",
                        ["FullName"])
    if not dev_name and (not member or len(member) > 80):
        raise integrity("The rule name must be 1-80 characters", ["FullName"])
    return obj.name, member


def meta_bool(meta: dict[str, Any], key: str, default: bool = False) -> bool:
    value = meta.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise integrity(f"{key} must be true or false: {value!r}", [key])


def meta_text(meta: dict[str, Any], key: str, limit: int, required: bool) -> str | None:
    value = meta.get(key)
    if value is None or value == "":
        if required:
            raise integrity(f"Required field is missing: {key}", [key])
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise integrity(f"{key} must be text of at most {limit} characters", [key])
    return value


def outbound_message(rt: Any, obj_name: str, meta: Any, *, default_user: str,
                     version: str) -> dict[str, Any]:
    """The normalised Metadata of a WorkflowOutboundMessage, or a Salesforce-shaped error."""
    if not isinstance(meta, dict):
        raise integrity("Required field is missing: Metadata", ["Metadata"])
    name = meta_text(meta, "name", 80, True)
    url = meta_text(meta, "endpointUrl", 1000, True)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise integrity(f"endpointUrl must be an http or https URL: {url}", ["endpointUrl"])
    obj = rt.schema.get(obj_name)
    raw_fields = meta.get("fields") or []
    if isinstance(raw_fields, str):
        raw_fields = [raw_fields]
    if not isinstance(raw_fields, list):
        raise integrity("fields must be a list of field names", ["fields"])
    fields: list[str] = []
    for raw in raw_fields:
        fld = obj.field(raw) if isinstance(raw, str) else None
        if fld is None:
            raise integrity(f"{obj.name}.{raw} is not a field of {obj.name}", ["fields"])
        if fld.name not in fields:
            fields.append(fld.name)
    if "Id" in fields:  # Id is always sent, first
        fields.remove("Id")
    fields.insert(0, "Id")
    username = meta.get("integrationUser") or default_user
    user = rt.org.user_by_username(username) if isinstance(username, str) else None
    if user is None:
        raise integrity(f"integrationUser: no user named {username} in this org",
                        ["integrationUser"])
    api_version = meta.get("apiVersion", version)
    try:
        api_version = float(api_version)
    except (TypeError, ValueError):
        raise integrity(f"apiVersion must be a number: {api_version!r}",
                        ["apiVersion"]) from None
    if not 20 <= api_version <= 64:
        raise integrity(f"apiVersion must be between 20.0 and 64.0: {api_version}",
                        ["apiVersion"])
    return {"apiVersion": api_version, "description": meta_text(meta, "description", 1000, False),
            "endpointUrl": url, "fields": fields,
            "includeSessionId": meta_bool(meta, "includeSessionId"),
            "integrationUser": user.username, "name": name,
            "protected": meta_bool(meta, "protected"),
            "useDeadLetterQueue": meta_bool(meta, "useDeadLetterQueue")}


def _criteria(obj: Any, items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise integrity("criteriaItems must be a list", ["criteriaItems"])
    conditions = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise integrity(f"criteriaItems[{index}] must be an object", ["criteriaItems"])
        raw = item.get("field")
        obj_part, _, fld_part = str(raw or "").rpartition(".")
        fld = obj.field(fld_part) if fld_part else None
        if fld is None or (obj_part and obj_part.lower() != obj.name.lower()):
            raise integrity(f"criteriaItems: {raw} is not a field of {obj.name} (write "
                            f"{obj.name}.FieldName)", ["criteriaItems"])
        operation = item.get("operation")
        if operation not in OPERATIONS:
            raise integrity(f"criteriaItems: operation {operation!r} is not supported; use "
                            f"one of {', '.join(OPERATIONS)}", ["criteriaItems"])
        single, many = OPERATIONS[operation]
        value = item.get("value")
        value = "" if value is None else str(value)
        values = [v.strip() for v in value.split(",")] if "," in value else None
        if values is not None and many is None:
            raise integrity(f"criteriaItems: {operation} takes one value, not a list: {value}",
                            ["criteriaItems"])
        if values is not None:
            conditions.append({"field": fld.name, "op": many, "value": values})
        else:
            conditions.append({"field": fld.name, "op": single, "value": value})
    return conditions


def workflow_rule(rt: Any, obj_name: str, meta: Any,
                  messages: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The normalised Metadata of a WorkflowRule. `messages`: this object's outbound messages
    by lower-cased unique name (the actions may only name those)."""
    if not isinstance(meta, dict):
        raise integrity("Required field is missing: Metadata", ["Metadata"])
    obj = rt.schema.get(obj_name)
    trigger = meta.get("triggerType")
    if trigger not in TRIGGER_MODES:
        raise integrity(f"triggerType must be one of {', '.join(TRIGGER_MODES)}: {trigger!r}",
                        ["triggerType"])
    actions = meta.get("actions") or []
    if not isinstance(actions, list):
        raise integrity("actions must be a list", ["actions"])
    normalised_actions = []
    for action in actions:
        if not isinstance(action, dict) or action.get("type") != "OutboundMessage":
            kind = action.get("type") if isinstance(action, dict) else action
            raise integrity(f"actions: type {kind!r} is not supported by the emulator (only "
                            "OutboundMessage)", ["actions"])
        found = messages.get(str(action.get("name") or "").lower())
        if found is None:
            raise integrity(f"actions: there is no outbound message named "
                            f"{action.get('name')} on {obj.name}", ["actions"])
        normalised_actions.append({"name": found["name"], "type": "OutboundMessage"})
    if meta.get("workflowTimeTriggers"):
        raise integrity("workflowTimeTriggers are not supported by the emulator",
                        ["workflowTimeTriggers"])
    formula = meta.get("formula")
    items = meta.get("criteriaItems")
    if formula not in (None, "") and items:
        raise integrity("A rule has either criteriaItems or a formula, not both", ["formula"])
    boolean_filter = meta_text(meta, "booleanFilter", 255, False)
    conditions: list[dict[str, Any]] = []
    if items:
        conditions = _criteria(obj, items)
        if boolean_filter:
            try:
                evaluate_filter(boolean_filter, [True] * len(conditions))
            except RuleError as exc:
                raise integrity(f"booleanFilter: {exc}", ["booleanFilter"]) from None
    elif formula not in (None, ""):
        if not isinstance(formula, str) or formula.strip().lower() != "true":
            raise integrity("The emulator evaluates only the formula \"true\"; express "
                            "other conditions as criteriaItems", ["formula"])
        formula = "true"
    else:
        raise integrity("A rule needs criteriaItems or a formula", ["criteriaItems"])
    if boolean_filter and not items:
        raise integrity("booleanFilter needs criteriaItems", ["booleanFilter"])
    return {"actions": normalised_actions, "active": meta_bool(meta, "active"),
            "booleanFilter": boolean_filter,
            "criteriaItems": [{"field": f"{obj.name}.{c['field']}",
                               "operation": item["operation"],
                               "value": item.get("value")}
                              for c, item in zip(conditions, items or [])],
            "description": meta_text(meta, "description", 1000, False),
            "formula": formula if not items else None, "triggerType": trigger,
            "workflowTimeTriggers": [], "_conditions": conditions}


def registry_rules(org: str, rules: list[dict[str, Any]],
                   messages: list[dict[str, Any]]) -> list[Rule]:
    """One outbound rule per (active workflow rule, OutboundMessage action)."""
    by_name = {(m["object"], m["name"].lower()): m for m in messages}
    built = []
    for wf in rules:
        meta = wf["metadata"]
        if not meta["active"]:
            continue
        for action in meta["actions"]:
            message = by_name.get((wf["object"], action["name"].lower()))
            if message is None:
                continue
            out = message["metadata"]
            built.append(Rule(
                id=f"{wf['id']}:{message['id']}", org=org, name=wf["name"],
                object=wf["object"], field=None, value=None,
                conditions=[dict(c) for c in meta["_conditions"]],
                evaluation=TRIGGER_MODES[meta["triggerType"]],
                endpoint_url=out["endpointUrl"], fields=list(out["fields"]),
                session=out["includeSessionId"], user=out["integrationUser"],
                api_version=f"{out['apiVersion']:.1f}", active=True, source="tooling",
                action_id=message["id"], boolean_filter=meta["booleanFilter"]))
    return built
