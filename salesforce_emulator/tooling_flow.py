"""Tooling API Flow metadata: record-triggered flows checked the way an org checks them.

Pure functions over the org's schema and its outbound messages: evaluation and the outbound
rules live in ``tooling_flow_rules``; the endpoints, versions, stored state and tooling query
rows in ``tooling_flow_api``. What is supported (anything else an org would accept is refused
with a message saying so, so a client never silently gets different behaviour):

* processType AutoLaunchedFlow with start.triggerType RecordAfterSave on an object, and
  recordTriggerType Create, Update or CreateAndUpdate (Delete is refused);
  doesRequireRecordChangedToMeetCriteria ("only when a record is updated to meet the condition
  requirements").
* start.filters {field, operator, value} combined by filterLogic "and", "or" or a custom
  "1 AND (2 OR 3)"; operators EqualTo, NotEqualTo, GreaterThan, LessThan,
  GreaterThanOrEqualTo, LessThanOrEqualTo, plus IsNull, Contains and StartsWith; values
  stringValue (text, picklist, date, datetime), numberValue (number, currency, percent),
  booleanValue (checkbox, IsNull), dateValue, dateTimeValue.
* actionCalls of actionType outboundMessage naming a WorkflowOutboundMessage of the same
  object, reached from start.connector (and from each other through their connectors).
  Other elements (decisions, assignments, record updates, loops, subflows, ...) are refused.

The value type must suit the field (numberValue for a number field, stringValue for text, ...):
how the values are then compared is in ``tooling_flow_rules``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from . import clock
from .outbound_rules import RuleError, evaluate_filter
from .tooling_workflow import DEV_NAME_RE, integrity, meta_bool, meta_text

RECORD_TRIGGERS = {"Create": ("created", "created"),
                   "Update": ("every_edit", "edit_to_meet_criteria"),
                   "CreateAndUpdate": ("created_and_every_edit",
                                       "created_and_edit_to_meet_criteria")}
RELATIONAL = ("GreaterThan", "LessThan", "GreaterThanOrEqualTo", "LessThanOrEqualTo")
OPERATORS = ("EqualTo", "NotEqualTo", *RELATIONAL, "IsNull", "Contains", "StartsWith")
VALUE_KEYS = ("stringValue", "numberValue", "booleanValue", "dateValue", "dateTimeValue")
NUMBER_TYPES = ("int", "double", "currency", "percent", "long")
TEXT_ONLY_OPERATORS = ("Contains", "StartsWith")
# Flow elements the emulator does not run: refused rather than saved and ignored.
UNSUPPORTED_ELEMENTS = ("decisions", "assignments", "loops", "recordCreates", "recordUpdates",
                        "recordDeletes", "recordLookups", "recordRollbacks", "subflows",
                        "waits", "screens", "collectionProcessors", "customErrors",
                        "transforms", "apexPluginCalls", "orchestratedStages", "steps")
MAX_VERSIONS = 50


def check_dev_name(name: Any) -> str:
    if not isinstance(name, str) or not DEV_NAME_RE.match(name) or len(name) > 80:
        raise integrity(f"Invalid flow API name {name!r}: use letters, digits and single "
                        "underscores, start with a letter, at most 80 characters",
                        ["FullName"])
    return name


def _location(element: dict[str, Any], key: str) -> int | float:
    value = element.get(key, 0)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


# -- value types ------------------------------------------------------------------------------
def _kind(fld: Any) -> str:
    if fld.type in NUMBER_TYPES:
        return "number"
    if fld.type in ("boolean", "date", "datetime"):
        return fld.type
    return "text"


def _literal(raw: Any, fld: Any, operator: str, where: str) -> Any:
    """The comparable value of a filter's {"stringValue": ...}-style value (None = blank)."""
    if raw is None:
        given: dict[str, Any] = {}
    elif isinstance(raw, dict):
        given = {k: v for k, v in raw.items() if v is not None}  # a GET's null padding
    else:
        raise integrity(f"{where}: value must be an object such as {{\"stringValue\": "
                        "\"...\"}", ["filters"])
    unknown = [k for k in given if k not in VALUE_KEYS]
    if unknown:
        raise integrity(f"{where}: the emulator compares with literal values only "
                        f"({', '.join(VALUE_KEYS)}), not {', '.join(unknown)}", ["filters"])
    if len(given) > 1:
        raise integrity(f"{where}: give one value, not {', '.join(given)}", ["filters"])
    key, value = next(iter(given.items()), (None, None))
    kind = _kind(fld)
    if operator == "IsNull":
        if key != "booleanValue" or not isinstance(value, bool):
            raise integrity(f"{where}: IsNull takes {{\"booleanValue\": true|false}}",
                            ["filters"])
        return value
    if key is None:
        if operator in RELATIONAL or operator in TEXT_ONLY_OPERATORS:
            raise integrity(f"{where}: {operator} needs a value", ["filters"])
        return None
    wanted = {"number": ("numberValue",), "boolean": ("booleanValue",),
              "date": ("stringValue", "dateValue"),
              "datetime": ("stringValue", "dateTimeValue"), "text": ("stringValue",)}[kind]
    if key not in wanted:
        raise integrity(f"{where}: {fld.name} is a {fld.type} field; its value must be "
                        f"{' or '.join(wanted)}, not {key}", ["filters"])
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise integrity(f"{where}: numberValue must be a number: {value!r}", ["filters"])
        return float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise integrity(f"{where}: booleanValue must be true or false: {value!r}",
                            ["filters"])
        return value
    if not isinstance(value, str):
        raise integrity(f"{where}: {key} must be text: {value!r}", ["filters"])
    if kind == "date":
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            raise integrity(f"{where}: {value!r} is not a date (YYYY-MM-DD)",
                            ["filters"]) from None
    if kind == "datetime":
        parsed = clock.parse_datetime(value)
        if parsed is None or parsed.tzinfo is None:
            raise integrity(f"{where}: {value!r} is not a datetime "
                            "(YYYY-MM-DDTHH:MM:SSZ)", ["filters"])
        return clock.sf_datetime(parsed)
    return value


def _filters(obj: Any, raw_filters: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the filters as echoed back, the conditions evaluated)."""
    if raw_filters is None:
        return [], []
    if not isinstance(raw_filters, list):
        raise integrity("start.filters must be a list", ["filters"])
    echoed, conditions = [], []
    for index, item in enumerate(raw_filters, start=1):
        where = f"start.filters[{index}]"
        if not isinstance(item, dict):
            raise integrity(f"{where} must be an object", ["filters"])
        name = item.get("field")
        fld = obj.field(name) if isinstance(name, str) and "." not in name else None
        if fld is None:
            hint = " (the emulator does not follow relationships in entry conditions)" \
                if isinstance(name, str) and "." in name else ""
            raise integrity(f"{where}: {name} is not a field of {obj.name}{hint}",
                            ["filters"])
        operator = item.get("operator")
        if operator not in OPERATORS:
            raise integrity(f"{where}: operator {operator!r} is not supported; use one of "
                            f"{', '.join(OPERATORS)}", ["filters"])
        kind = _kind(fld)
        if kind == "boolean" and operator in RELATIONAL:
            raise integrity(f"{where}: {operator} cannot compare the checkbox {fld.name}",
                            ["filters"])
        if kind != "text" and operator in TEXT_ONLY_OPERATORS:
            raise integrity(f"{where}: {operator} works on text fields, not on {fld.name} "
                            f"({fld.type})", ["filters"])
        value = _literal(item.get("value"), fld, operator, where)
        given = item.get("value") if isinstance(item.get("value"), dict) else {}
        echoed.append({"field": fld.name, "operator": operator,
                       "value": {k: v for k, v in given.items() if v is not None}})
        conditions.append({"field": fld.name, "operator": operator, "kind": kind,
                           "value": value})
    return echoed, conditions


def _logic(raw: Any, count: int) -> str | None:
    if count == 0:
        if raw not in (None, "", "and", "or", "AND", "OR"):
            raise integrity("filterLogic needs start.filters", ["filterLogic"])
        return None
    if raw in (None, ""):
        return "and"
    if not isinstance(raw, str):
        raise integrity("filterLogic must be and, or, or a formula like 1 AND (2 OR 3)",
                        ["filterLogic"])
    if raw.strip().lower() in ("and", "or"):
        return raw.strip().lower()
    try:
        evaluate_filter(raw, [True] * count)
    except RuleError as exc:
        raise integrity(f"filterLogic: {exc}", ["filterLogic"]) from None
    return raw.strip()


# -- the whole Metadata -----------------------------------------------------------------------
def _start(rt: Any, meta: dict[str, Any]) -> tuple[dict[str, Any], Any, list[dict[str, Any]]]:
    start = meta.get("start")
    if not isinstance(start, dict):
        raise integrity("Required field is missing: start (a record-triggered flow starts on "
                        "an object)", ["start"])
    obj = rt.schema.get(start["object"]) if isinstance(start.get("object"), str) else None
    if obj is None:
        raise integrity(f"start.object: there is no object named {start.get('object')}",
                        ["object"])
    if start.get("triggerType") != "RecordAfterSave":
        raise integrity(f"start.triggerType must be RecordAfterSave (the emulator runs "
                        f"after-save record-triggered flows only): {start.get('triggerType')!r}",
                        ["triggerType"])
    trigger = start.get("recordTriggerType")
    if trigger not in RECORD_TRIGGERS:
        raise integrity(f"start.recordTriggerType must be Create, Update or CreateAndUpdate: "
                        f"{trigger!r}", ["recordTriggerType"])
    for key in ("scheduledPaths", "filterFormula", "schedule"):
        if start.get(key):
            raise integrity(f"start.{key} is not supported by the emulator (entry conditions "
                            "are start.filters)", [key])
    echoed, conditions = _filters(obj, start.get("filters"))
    logic = _logic(start.get("filterLogic"), len(conditions))
    changed = meta_bool(start, "doesRequireRecordChangedToMeetCriteria")
    if changed and trigger == "Create":
        raise integrity("doesRequireRecordChangedToMeetCriteria applies to updates; a flow "
                        "triggered on Create cannot use it",
                        ["doesRequireRecordChangedToMeetCriteria"])
    if changed and not conditions:
        raise integrity("doesRequireRecordChangedToMeetCriteria needs start.filters",
                        ["doesRequireRecordChangedToMeetCriteria"])
    connector = start.get("connector")
    target = connector.get("targetReference") if isinstance(connector, dict) else None
    normalised = {"object": obj.name, "triggerType": "RecordAfterSave",
                  "recordTriggerType": trigger,
                  "doesRequireRecordChangedToMeetCriteria": changed,
                  "filterLogic": logic, "filters": echoed,
                  "connector": {"targetReference": target} if target else None,
                  "locationX": _location(start, "locationX"),
                  "locationY": _location(start, "locationY")}
    return normalised, obj, conditions


def _actions(meta: dict[str, Any], obj: Any, messages: dict[str, dict[str, Any]],
             first: str | None) -> tuple[list[dict[str, Any]], list[str]]:
    """(the actionCalls as echoed back, the message names reached from the start, in order)."""
    raw = meta.get("actionCalls") or []
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise integrity("actionCalls must be a list", ["actionCalls"])
    by_name: dict[str, dict[str, Any]] = {}
    for index, action in enumerate(raw, start=1):
        where = f"actionCalls[{index}]"
        if not isinstance(action, dict):
            raise integrity(f"{where} must be an object", ["actionCalls"])
        name = action.get("name")
        if not isinstance(name, str) or not DEV_NAME_RE.match(name):
            raise integrity(f"{where}: invalid name {name!r}", ["actionCalls"])
        if name.lower() in by_name:
            raise integrity(f"{where}: another element is already named {name}",
                            ["actionCalls"])
        if action.get("actionType") != "outboundMessage":
            raise integrity(f"{where}: actionType {action.get('actionType')!r} is not "
                            "supported by the emulator (only outboundMessage)", ["actionCalls"])
        action_name = action.get("actionName")
        obj_part, _, member = str(action_name or "").partition(".")
        if obj_part.lower() != obj.name.lower():
            raise integrity(f"{where}: actionName {action_name!r} must name an outbound "
                            f"message of {obj.name} (the flow's object), as "
                            f"{obj.name}.Message_Name", ["actionCalls"])
        message = messages.get(member.lower())
        if message is None:
            raise integrity(f"{where}: there is no outbound message named {action_name} on "
                            f"{obj.name}", ["actionCalls"])
        connector = action.get("connector")
        target = connector.get("targetReference") if isinstance(connector, dict) else None
        by_name[name.lower()] = {
            "name": name, "label": meta_text(action, "label", 255, False) or name,
            "actionType": "outboundMessage", "actionName": f"{obj.name}.{message['name']}",
            "connector": {"targetReference": target} if target else None,
            "locationX": _location(action, "locationX"),
            "locationY": _location(action, "locationY")}
    reached: list[str] = []
    seen: set[str] = set()
    target = first
    while target:
        element = by_name.get(target.lower())
        if element is None:
            raise integrity(f"connector: there is no element named {target}", ["connector"])
        if target.lower() in seen:
            raise integrity(f"connector: the flow loops back to {target}", ["connector"])
        seen.add(target.lower())
        message_name = element["actionName"].partition(".")[2]
        if message_name not in reached:
            reached.append(message_name)
        target = (element["connector"] or {}).get("targetReference")
    return list(by_name.values()), reached


def flow_metadata(rt: Any, meta: Any, messages_by_object: dict[str, dict[str, dict[str, Any]]],
                  *, version: str) -> dict[str, Any]:
    """The normalised Metadata of one Flow version, or a Salesforce-shaped error.
    `messages_by_object`: outbound messages by object name, then lower-cased unique name."""
    if not isinstance(meta, dict):
        raise integrity("Required field is missing: Metadata", ["Metadata"])
    label = meta_text(meta, "label", 255, True)
    if meta.get("processType") != "AutoLaunchedFlow":
        raise integrity(f"processType must be AutoLaunchedFlow (the emulator runs "
                        f"record-triggered flows only): {meta.get('processType')!r}",
                        ["processType"])
    status = meta.get("status") or "Draft"
    if status not in ("Active", "Draft"):
        raise integrity(f"status must be Active or Draft when saving a version: {status!r}",
                        ["status"])
    for element in UNSUPPORTED_ELEMENTS:
        if meta.get(element):
            raise integrity(f"{element} are not supported by the emulator (a flow's start "
                            "may lead only to outbound message actions)", [element])
    api_version = meta.get("apiVersion", version)
    try:
        api_version = float(api_version)
    except (TypeError, ValueError):
        raise integrity(f"apiVersion must be a number: {api_version!r}",
                        ["apiVersion"]) from None
    if not 20 <= api_version <= 64:
        raise integrity(f"apiVersion must be between 20.0 and 64.0: {api_version}",
                        ["apiVersion"])
    start, obj, conditions = _start(rt, meta)
    target = (start["connector"] or {}).get("targetReference")
    actions, reached = _actions(meta, obj, messages_by_object.get(obj.name, {}), target)
    return {"label": label, "processType": "AutoLaunchedFlow", "status": status,
            "apiVersion": api_version,
            "description": meta_text(meta, "description", 2000, False),
            "interviewLabel": meta_text(meta, "interviewLabel", 1000, False),
            "start": start, "actionCalls": actions,
            "_conditions": conditions, "_messages": reached}
