"""The org side of the quote flow (the 001 seed): an outbound message and a flow that sends it.

`automation_apply` brings the connection's org in line with its QuoteSettings, through the
Tooling API of the one client layer (the contract: /work/briefs/flow_spec.md, docs/quotes.md):

1. Edition check first (`SELECT OrganizationType FROM Organization`): flows and outbound
   messages exist in Professional, Enterprise, Unlimited, Performance and Developer Edition
   only. Any other edition is refused before anything is created.
2. WorkflowOutboundMessage `Opportunity.Cothon_integration` ("Cothon integration"): the quote
   receiver of this connection and Id, Name, StageName, Amount, CloseDate, AccountId plus the
   mapped and condition fields. Updated in place when its endpoint or fields differ.
3. Flow `Cothon_Opportunity_Flow` ("Cothon Opportunity Flow"): record-triggered after save on
   Opportunity updates, filters StageName = trigger stage AND the conditions, its one action
   the message above. A new version only when the filters differ from the active version's;
   equal filters on an inactive flow reactivate its latest version instead.

With Opportunity → Quote off, the flow is deactivated (FlowDefinition activeVersionNumber 0);
the outbound message stays (it sends nothing without the flow). The outcome — or the org's
refusal, with its code and the fix — is stored in QuoteSettings.automation and shown on the
settings page. Never raises for what the org says: the settings are saved either way."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from integrations.models import ConnectionEvent, ConnectionStatus, SalesforceConnection
from integrations.salesforce.errors import SalesforceError
from integrations.salesforce.soql import soql_quote
from integrations.sync_settings import describe_get
from sync_engine.quotes.models import QuoteSettings
from sync_engine.quotes.receiver import receiver_token

logger = logging.getLogger(__name__)

OPPORTUNITY = "Opportunity"
MESSAGE_NAME = "Cothon_integration"
MESSAGE_LABEL = "Cothon integration"
FLOW_NAME = "Cothon_Opportunity_Flow"
FLOW_LABEL = "Cothon Opportunity Flow"
ACTION_NAME = "Send_to_Cothon"
BASE_FIELDS = ("Id", "Name", "StageName", "Amount", "CloseDate", "AccountId")
# Editions with flows and outbound messages (Pro Suite and Einstein 1 report Professional /
# Unlimited). Everything else — Essentials, Base (Starter Suite), Team, Personal, Contact
# Manager, Group, Free, unknown — is refused.
ALLOWED_EDITIONS = ("Professional Edition", "Enterprise Edition", "Unlimited Edition", "Performance Edition",
                    "Developer Edition")
EDITION_REFUSED = "EDITION_NOT_SUPPORTED"

# Salesforce describe types by what a value of them is (the settings' validation uses them too).
TEXT_TYPES = {"string", "textarea", "picklist", "multipicklist", "combobox", "email", "phone", "url", "id",
              "reference", "encryptedstring"}
NUMBER_TYPES = {"double", "currency", "percent", "int", "long"}
DATE_TYPES = {"date", "datetime"}
BOOLEAN_TYPES = {"boolean"}
FLOW_OPERATORS = {"=": "EqualTo", ">": "GreaterThan", "<": "LessThan", "<=": "LessThanOrEqualTo",
                  ">=": "GreaterThanOrEqualTo"}


def receiver_url(connection: SalesforceConnection) -> str:
    """Where the org's outbound message posts: this connection's quote receiver."""
    return django_settings.COTHON_BASE_URL + reverse("sync_quotes:receiver", args=[receiver_token(connection)])


def message_fields(quote_settings: QuoteSettings, describe: dict | None) -> list[str]:
    """The message's fields: the base six, then mapped and condition fields (the org's spelling;
    a field the org does not have is left out — the settings' validation refuses it anyway)."""
    available = {f["name"].lower(): f["name"] for f in (describe or {}).get("fields", [])}
    names = list(BASE_FIELDS) + [m["sf_field"] for m in quote_settings.field_mappings or []] + \
        [c["field"] for c in quote_settings.conditions or []]
    result: list[str] = []
    for name in names:
        canonical = available.get(name.lower(), name if not available else "")
        if canonical and canonical.lower() not in {r.lower() for r in result}:
            result.append(canonical)
    return result


def flow_filters(quote_settings: QuoteSettings, describe: dict | None) -> list[dict[str, Any]]:
    """StageName = the trigger stage, then each condition, typed by the field's describe."""
    types = {f["name"].lower(): f.get("type", "") for f in (describe or {}).get("fields", [])}
    filters = [{"field": "StageName", "operator": "EqualTo", "value": {"stringValue": quote_settings.trigger_stage}}]
    for condition in quote_settings.conditions or []:
        sf_type = types.get(condition["field"].lower(), "string")
        raw = str(condition["value"])
        if sf_type in NUMBER_TYPES:
            number = float(raw)
            value: dict[str, Any] = {"numberValue": int(number) if number.is_integer() else number}
        elif sf_type in BOOLEAN_TYPES:
            value = {"booleanValue": raw.lower() == "true"}
        else:
            value = {"stringValue": raw}
        filters.append({"field": condition["field"], "operator": FLOW_OPERATORS[condition["operator"]], "value": value})
    return filters


def flow_metadata(filters: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "label": FLOW_LABEL, "processType": "AutoLaunchedFlow", "status": "Active",
        "apiVersion": float(django_settings.SALESFORCE_API_VERSION),
        "description": "Created by Cothon: sends opportunities that reach the quote stage.",
        "start": {"object": OPPORTUNITY, "triggerType": "RecordAfterSave", "recordTriggerType": "Update",
                  "doesRequireRecordChangedToMeetCriteria": True, "filterLogic": "and", "filters": filters,
                  "connector": {"targetReference": ACTION_NAME}, "locationX": 50, "locationY": 0},
        "actionCalls": [{"name": ACTION_NAME, "label": "Send to Cothon", "actionType": "outboundMessage",
                         "actionName": f"{OPPORTUNITY}.{MESSAGE_NAME}", "locationX": 176, "locationY": 134}],
    }


def same_trigger(current: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    """Whether a flow version's Metadata triggers like `wanted` (filters, logic, trigger type)."""
    start, target = (current or {}).get("start") or {}, wanted["start"]
    return (str(start.get("filterLogic") or "and").lower() == target["filterLogic"]
            and start.get("recordTriggerType") == target["recordTriggerType"]
            and _normal_filters(start.get("filters")) == _normal_filters(target["filters"]))


def _normal_filters(filters: Any) -> list[tuple]:
    normal = []
    for item in filters or []:
        value = item.get("value") or {}
        if "numberValue" in value:
            typed: tuple = ("number", float(value["numberValue"]))
        elif "booleanValue" in value:
            typed = ("boolean", bool(value["booleanValue"]))
        else:
            typed = ("string", str(value.get("stringValue", "")))
        normal.append((str(item.get("field", "")).lower(), item.get("operator"), typed))
    return normal


def automation_apply(*, connection: SalesforceConnection, actor=None, client=None) -> dict[str, Any]:
    """Set the org up for the connection's quote settings and record the outcome on them (and,
    when the org changed or refused, on the connection's events)."""
    quote_settings = QuoteSettings.objects.filter(connection=connection).first()
    if quote_settings is None:
        return {}
    try:
        if connection.status != ConnectionStatus.CONNECTED:
            raise SalesforceError("NOT_CONNECTED", "The connection is not connected: reconnect it, then save again.")
        if client is None:
            from integrations.connections import client_for

            client = client_for(connection)
        if quote_settings.opportunity_to_quote and quote_settings.trigger_stage:
            outcome = _set_up(client, connection, quote_settings)
        else:
            outcome = _switch_off(client)
    except SalesforceError as exc:
        logger.warning("Quote automation for connection %s: %s %s", connection.pk, exc.code, exc.message)
        outcome = {"state": "refused" if exc.code == EDITION_REFUSED else "failed", "error": _error(exc)}
    outcome["at"] = timezone.now().isoformat()
    QuoteSettings.objects.filter(pk=quote_settings.pk).update(automation=outcome)
    quote_settings.automation = outcome
    _record_event(connection, outcome, actor)
    return outcome


def _record_event(connection: SalesforceConnection, outcome: dict[str, Any], actor) -> None:
    flow = (outcome.get("flow") or {}).get("outcome")
    message = (outcome.get("message") or {}).get("outcome")
    if outcome.get("error"):
        text = f"Quote automation not set up: {outcome['error']['code']} — {outcome['error']['message']}"
    elif flow in ("new_version", "reactivated", "deactivated") or message in ("created", "updated"):
        version = (outcome.get("flow") or {}).get("version_number")
        text = (f"Quote automation: flow “{FLOW_LABEL}” {flow.replace('_', ' ')}"
                f"{f' (version {version})' if version else ''}"
                f"{f', outbound message “{MESSAGE_LABEL}” {message}' if message else ''}.")
    else:
        return  # nothing changed in the org: no event
    ConnectionEvent.objects.create(connection=connection, kind="quote_automation", message=text[:2000], actor=actor)


def edition_check(client) -> str:
    """The org's edition; SalesforceError(EDITION_NOT_SUPPORTED) when it has no flows or
    outbound messages."""
    rows = client.query("SELECT OrganizationType FROM Organization").get("records") or []
    edition = str((rows[0] if rows else {}).get("OrganizationType") or "an unknown edition")
    if edition not in ALLOWED_EDITIONS:
        raise SalesforceError(EDITION_REFUSED, (
            f"This org is {edition}. Salesforce offers flows and outbound messages, which Cothon's quote sync needs, "
            "only in Professional, Enterprise, Unlimited, Performance and Developer Edition (Pro Suite and Einstein 1 "
            "included). Nothing was created in the org."), status=400)
    return edition


def _set_up(client, connection: SalesforceConnection, quote_settings: QuoteSettings) -> dict[str, Any]:
    edition = edition_check(client)
    describe = describe_get(connection=connection, sobject=OPPORTUNITY, client=client)
    outcome: dict[str, Any] = {"state": "ok", "edition": edition}
    message = _ensure_message(client, connection, receiver_url(connection), message_fields(quote_settings, describe))
    outcome["message"] = message
    try:
        outcome["flow"] = _ensure_flow(client, flow_metadata(flow_filters(quote_settings, describe)))
    except SalesforceError as exc:
        # The message is there (shown as such); the flow is what the org refused.
        logger.warning("Quote flow for connection %s: %s %s", connection.pk, exc.code, exc.message)
        return {**outcome, "state": "failed", "error": _error(exc)}
    return outcome


def _switch_off(client) -> dict[str, Any]:
    try:
        definition = _flow_definition(client)
    except SalesforceError as exc:
        if exc.code != "INVALID_TYPE":
            raise
        definition = None  # an edition without flows: there is nothing to switch off
    if definition is None:
        return {"state": "off", "flow": {"outcome": "absent"}}
    if not definition.get("ActiveVersionId"):
        return {"state": "off", "flow": {"outcome": "inactive", "definition_id": definition["Id"]}}
    client.rest("PATCH", f"tooling/sobjects/FlowDefinition/{definition['Id']}", json={"Metadata": {"activeVersionNumber": 0}})
    return {"state": "off", "flow": {"outcome": "deactivated", "definition_id": definition["Id"]}}


def _ensure_message(client, connection: SalesforceConnection, endpoint_url: str, fields: list[str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": MESSAGE_LABEL, "endpointUrl": endpoint_url, "fields": fields, "includeSessionId": False,
        "protected": False, "useDeadLetterQueue": False, "apiVersion": float(django_settings.SALESFORCE_API_VERSION)}
    if connection.sf_username:
        metadata["integrationUser"] = connection.sf_username
    found = _tooling_rows(client, f"SELECT Id, Name FROM WorkflowOutboundMessage WHERE Name = {soql_quote(MESSAGE_NAME)}")
    result = {"endpoint_url": endpoint_url, "fields": fields}
    if not found:
        created = client.rest("POST", "tooling/sobjects/WorkflowOutboundMessage",
                              json={"FullName": f"{OPPORTUNITY}.{MESSAGE_NAME}", "Metadata": metadata})
        return {**result, "outcome": "created", "id": (created or {}).get("id", "")}
    message_id = found[0]["Id"]
    current = (client.rest("GET", f"tooling/sobjects/WorkflowOutboundMessage/{message_id}") or {}).get("Metadata") or {}
    if current.get("endpointUrl") == endpoint_url and list(current.get("fields") or []) == fields:
        return {**result, "outcome": "unchanged", "id": message_id}
    client.rest("PATCH", f"tooling/sobjects/WorkflowOutboundMessage/{message_id}", json={"Metadata": metadata})
    return {**result, "outcome": "updated", "id": message_id}


def _ensure_flow(client, metadata: dict[str, Any]) -> dict[str, Any]:
    definition = _flow_definition(client)
    versions = _tooling_rows(client, (
        "SELECT Id, VersionNumber, Status, MasterLabel, Definition.DeveloperName FROM Flow "
        f"WHERE Definition.DeveloperName = {soql_quote(FLOW_NAME)} ORDER BY VersionNumber DESC")) if definition else []
    if definition and versions:
        by_id = {v["Id"]: v for v in versions}
        active_id = definition.get("ActiveVersionId")
        if active_id and active_id in by_id:
            if same_trigger(_flow_metadata_of(client, active_id), metadata):
                return _flow_result("unchanged", definition, by_id[active_id])
        elif not active_id:
            latest = versions[0]
            if same_trigger(_flow_metadata_of(client, latest["Id"]), metadata):
                client.rest("PATCH", f"tooling/sobjects/FlowDefinition/{definition['Id']}",
                            json={"Metadata": {"activeVersionNumber": latest["VersionNumber"]}})
                return _flow_result("reactivated", definition, latest)
    created = client.rest("POST", "tooling/sobjects/Flow", json={"FullName": FLOW_NAME, "Metadata": metadata})
    version_id = (created or {}).get("id", "")
    definition = _flow_definition(client) or {}
    versions = _tooling_rows(client, (
        "SELECT Id, VersionNumber, Status, MasterLabel, Definition.DeveloperName FROM Flow "
        f"WHERE Definition.DeveloperName = {soql_quote(FLOW_NAME)} ORDER BY VersionNumber DESC"))
    version = next((v for v in versions if v["Id"] == version_id), {"Id": version_id})
    return _flow_result("new_version", definition, version)


def _flow_result(outcome: str, definition: dict, version: dict) -> dict[str, Any]:
    return {"outcome": outcome, "definition_id": definition.get("Id", ""), "version_id": version.get("Id", ""),
            "version_number": version.get("VersionNumber")}


def _flow_definition(client) -> dict | None:
    rows = _tooling_rows(client, "SELECT Id, DeveloperName, ActiveVersionId, LatestVersionId FROM FlowDefinition "
                                 f"WHERE DeveloperName = {soql_quote(FLOW_NAME)}")
    return rows[0] if rows else None


def _flow_metadata_of(client, version_id: str) -> dict[str, Any]:
    return (client.rest("GET", f"tooling/sobjects/Flow/{version_id}") or {}).get("Metadata") or {}


def _tooling_rows(client, soql: str) -> list[dict[str, Any]]:
    return list((client.rest("GET", "tooling/query/", params={"q": soql}) or {}).get("records") or [])


def _error(exc: SalesforceError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, "hint": _hint(exc), "fields": list(exc.fields or [])}


def _hint(exc: SalesforceError) -> str:
    if exc.code == EDITION_REFUSED:
        return ("Connect an org of a supported edition (a Developer Edition org is free), or ask Salesforce about "
                "upgrading this one. Then save the settings again.")
    if exc.code == "NOT_CONNECTED":
        return "Reconnect the org on the connection page."
    if exc.code in ("INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY", "API_DISABLED_FOR_ORG"):
        return ("The connected user needs “Customize Application” and “Manage Flow” (and API access) to create the "
                "flow and the outbound message. Grant them, then click Set up again.")
    if exc.code == "FUNCTIONALITY_NOT_ENABLED":
        return "This org has no flows or outbound messages: it needs Professional, Enterprise, Unlimited, Performance or Developer Edition."
    return exc.hint
