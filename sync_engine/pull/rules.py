"""The org side of real-time pull: an Outbound Message and the workflow rule that sends it.

`ensure_outbound_rules` creates (or brings up to date) in the connection's org, through the
Tooling API and the one client layer:

- WorkflowOutboundMessage `Opportunity.Cothon_Sync`: the receiver URL of this connection
  (COTHON_BASE_URL + /integrations/salesforce/outbound/<token>/), the pulled mapped fields + Id
  and SystemModstamp (the receiver orders notifications by it);
- WorkflowRule `Opportunity.Cothon Sync`: on every change (`onAllChanges`, formula true), its
  action the message above.

Idempotent: both are looked up first (Tooling query by name); an existing message is updated
when its endpoint or fields differ, an existing rule is left alone. Called when a connection
that pulls connects or saves its settings (best effort, in a task: a failure is recorded on
the connection's events and never blocks the save) and by the demo setup."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings as django_settings
from django.db import transaction

from integrations.mapping.opportunity_inbound import pulled_mappings
from integrations.models import ConnectionEvent, ConnectionStatus, SalesforceConnection
from integrations.salesforce.errors import SalesforceError
from integrations.sync_settings import describe_get, settings_current

logger = logging.getLogger(__name__)

MESSAGE_NAME = "Cothon_Sync"
MESSAGE_LABEL = "Cothon Sync"
RULE_NAME = "Cothon Sync"
PULL_DIRECTIONS = ("bidirectional", "pull", "hybrid")


@dataclass
class RulesResult:
    message: str = ""  # created | updated | unchanged | skipped
    rule: str = ""
    endpoint_url: str = ""
    fields: list[str] = field(default_factory=list)
    note: str = ""
    account_message: str = ""
    account_rule: str = ""
    account_fields: list[str] = field(default_factory=list)


def receiver_url(connection: SalesforceConnection) -> str:
    from sync_engine.pull.outbound import receiver_path

    return django_settings.COTHON_BASE_URL + receiver_path(connection)


def message_fields(connection: SalesforceConnection, data: dict | None = None, describe: dict | None = None) -> list[str]:
    """Id, SystemModstamp and the pulled mapped fields the org has (no relationship fields:
    an Outbound Message carries the object's own fields only)."""
    data = data if data is not None else settings_current(connection=connection)
    available = {f["name"].lower(): f["name"] for f in (describe or {}).get("fields", [])}
    fields = ["Id", "SystemModstamp"]
    for mapping in pulled_mappings(data):
        name = mapping["sf_field"]
        if not available or name.lower() in available:
            fields.append(available.get(name.lower(), name))
    seen: set[str] = set()
    return [f for f in fields if not (f.lower() in seen or seen.add(f.lower()))]


def ensure_outbound_rules(*, connection: SalesforceConnection, client=None) -> RulesResult:
    """Create or update the org's Outbound Messages and workflow rules for this connection: the
    opportunity object's and, when Account names are pulled, the Account object's (renamed
    departments in real time). Raises SalesforceError when the org refuses (the caller records it)."""
    from sync_engine.pull.accounts import account_object, accounts_pulled

    data = settings_current(connection=connection)
    result = RulesResult()
    if data.get("direction", "bidirectional") not in PULL_DIRECTIONS:
        result.message = result.rule = "skipped"
        result.note = "Push-only connection: nothing comes back from Salesforce, so no Outbound Message is needed."
        return result
    sobject = (data.get("objects") or {}).get("opportunity", "Opportunity")
    if client is None:
        from integrations.connections import client_for

        client = client_for(connection)
    describe = describe_get(connection=connection, sobject=sobject, client=client)
    result.endpoint_url = receiver_url(connection)
    result.fields = message_fields(connection, data, describe)
    result.message, result.rule, result.note = _ensure(client, connection, sobject, result.endpoint_url, result.fields)
    account_sobject = account_object(data)
    if accounts_pulled(data) and account_sobject.lower() != sobject.lower():
        result.account_fields = account_message_fields()
        result.account_message, result.account_rule, note = _ensure(client, connection, account_sobject, result.endpoint_url,
                                                                    result.account_fields)
        result.note = " ".join(part for part in (result.note, note) if part)
    else:
        result.account_message = result.account_rule = "skipped"
    return result


def account_message_fields() -> list[str]:
    from sync_engine.pull.accounts import account_fields

    # An Outbound Message is never sent for a delete; its field list stays as it was (a conflict
    # found from one takes SystemModstamp as Salesforce's time, as for opportunities).
    return [name for name in account_fields() if name not in ("IsDeleted", "LastModifiedDate", "LastModifiedById")]


def _ensure(client, connection: SalesforceConnection, sobject: str, endpoint_url: str, fields: list[str]) -> tuple[str, str, str]:
    """One object's message and rule: (message outcome, rule outcome, note)."""
    note = ""
    metadata = {
        "name": MESSAGE_LABEL, "endpointUrl": endpoint_url, "fields": fields, "includeSessionId": False,
        "protected": False, "useDeadLetterQueue": False, "apiVersion": float(django_settings.SALESFORCE_API_VERSION),
    }
    if connection.sf_username:
        metadata["integrationUser"] = connection.sf_username
    found = _tooling_find(client, "WorkflowOutboundMessage", MESSAGE_NAME, sobject)
    if found is None:
        client.rest("POST", "tooling/sobjects/WorkflowOutboundMessage",
                    json={"FullName": f"{sobject}.{MESSAGE_NAME}", "Metadata": metadata})
        message = "created"
    else:
        current = found.get("Metadata") or {}
        if current.get("endpointUrl") == metadata["endpointUrl"] and list(current.get("fields") or []) == metadata["fields"]:
            message = "unchanged"
        else:
            try:
                client.rest("PATCH", f"tooling/sobjects/WorkflowOutboundMessage/{found['Id']}", json={"Metadata": metadata})
                message = "updated"
            except SalesforceError as exc:
                if exc.status not in (404, 405):
                    raise
                message = "unchanged"
                note = f"The org does not let the existing {sobject} Outbound Message be updated through the Tooling API."
    if _tooling_find(client, "WorkflowRule", RULE_NAME, sobject) is None:
        client.rest("POST", "tooling/sobjects/WorkflowRule", json={"FullName": f"{sobject}.{RULE_NAME}", "Metadata": {
            "actions": [{"name": MESSAGE_NAME, "type": "OutboundMessage"}], "active": True, "formula": "true",
            "triggerType": "onAllChanges"}})
        rule = "created"
    else:
        rule = "unchanged"
    return message, rule, note


# The column naming a component's object: the object's name for a standard object, an id for a custom one.
OBJECT_COLUMNS = {"WorkflowOutboundMessage": "EntityDefinitionId", "WorkflowRule": "TableEnumOrId"}


def _tooling_find(client, entity: str, name: str, sobject: str) -> dict | None:
    """The existing component of this object by name (with its Metadata when the org returns it).
    Components of one name exist once per object (Opportunity's and Account's Cothon_Sync)."""
    from integrations.salesforce.soql import soql_quote

    column = OBJECT_COLUMNS[entity]
    try:
        rows = client.rest("GET", "tooling/query/", params={"q": f"SELECT Id, Name, {column} FROM {entity} WHERE Name = {soql_quote(name)}"})
    except SalesforceError as exc:
        if exc.code != "INVALID_FIELD":
            raise
        column = ""
        rows = client.rest("GET", "tooling/query/", params={"q": f"SELECT Id, Name FROM {entity} WHERE Name = {soql_quote(name)}"})
    for row in (rows or {}).get("records") or []:
        named = str(row.get(column) or "") if column else ""
        if named and named.lower() != sobject.lower() and not sobject.lower().endswith("__c"):
            continue  # another object's component of the same name
        try:
            full = client.rest("GET", f"tooling/sobjects/{entity}/{row['Id']}")
            if isinstance(full, dict):
                row = {**row, **full}
        except SalesforceError:
            pass  # the name alone says it exists
        full_name = str(row.get("FullName") or "")
        if full_name and not full_name.lower().startswith(f"{sobject.lower()}."):
            continue
        return row  # without FullName or the object column the name alone decides, as before
    return None


def outbound_rules_refresh(*, connection_id: int) -> RulesResult | None:
    """Best effort, for the task: ensure the rules, record the outcome on the connection's
    events (shown on its page), never raise."""
    connection = SalesforceConnection.objects.filter(pk=connection_id).first()
    if connection is None or connection.status != ConnectionStatus.CONNECTED:
        return None
    try:
        result = ensure_outbound_rules(connection=connection)
    except Exception as exc:  # noqa: BLE001 - shown to the admin, never blocks anything
        code = getattr(exc, "code", type(exc).__name__)
        message = getattr(exc, "message", str(exc))
        logger.warning("Could not set up the Outbound Message for connection %s: %s %s", connection_id, code, message)
        ConnectionEvent.objects.create(connection=connection, kind="outbound_rules_failed", message=(
            f"Real-time updates from Salesforce could not be switched on ({code}: {message}). Changes still arrive "
            "with the incremental pull; an admin can create the Outbound Message by hand (see the setup guide).")[:2000])
        return None
    if result.message in ("created", "updated") or "created" in (result.rule, result.account_rule) or \
            result.account_message in ("created", "updated"):
        accounts = (f"; Account: Outbound Message {result.account_message}, workflow rule {result.account_rule}"
                    if result.account_message not in ("", "skipped") else "")
        ConnectionEvent.objects.create(connection=connection, kind="outbound_rules", message=(
            f"Real-time updates from Salesforce: Outbound Message {result.message}, workflow rule {result.rule} "
            f"({len(result.fields)} fields, to {result.endpoint_url}){accounts}."))
    return result


def outbound_rules_refresh_later(*, connection_id: int) -> None:
    """After the current transaction commits, a task sets the org's rules up (never blocks
    a save or a connect). Switched off by COTHON_OUTBOUND_RULES_AUTO=0 (the test suite)."""
    if not getattr(django_settings, "COTHON_OUTBOUND_RULES_AUTO", True):
        return

    def enqueue() -> None:
        from sync_engine import wakeups

        try:
            wakeups.send_named("sync_engine.pull.ensure_outbound_rules", args=[connection_id], queue="default")
        except Exception:  # noqa: BLE001 - best effort
            logger.warning("Could not enqueue the Outbound Message setup for connection %s", connection_id, exc_info=True)

    transaction.on_commit(enqueue)
