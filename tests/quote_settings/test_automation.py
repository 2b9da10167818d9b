"""The org side of the quote flow, against the emulator: the edition check first (nothing created
where flows and outbound messages do not exist), the outbound message "Cothon integration", the
flow "Cothon Opportunity Flow" — a new version only when the stage or the conditions change — and
its deactivation when Opportunity → Quote is switched off."""

from __future__ import annotations

import importlib

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from integrations.connections import client_for
from integrations.salesforce.errors import SalesforceError
from sync_engine.quotes import settings_services
from sync_engine.quotes.automation import FLOW_NAME, MESSAGE_NAME

pytestmark = pytest.mark.django_db

FLOW_MISSING = ("the emulator has no Tooling API Flow / FlowDefinition support yet (it arrives with branch h18-flow, "
                "not merged into this branch)")


def flow_support(connection) -> None:
    """Skip, naming the missing emulator support, when the org cannot hold flows yet."""
    try:
        client_for(connection).rest("GET", "tooling/query/", params={"q": "SELECT Id FROM FlowDefinition"})
    except SalesforceError as exc:
        pytest.skip(f"{FLOW_MISSING}: {exc.code}")


def settings_data(alice, **changes) -> dict:
    data = {"opportunity_to_quote": True, "contact_to_person": True, "trigger_stage": "Proposal",
            "conditions": [{"field": "Amount", "operator": ">", "value": "10000"}], "owner_id": alice.member.pk,
            "sync_back": True, "field_mappings": [{"sf_field": "NextStep", "target": "notes"}]}
    data.update(changes)
    return data


def save(alice, connection, **changes):
    return settings_services.quote_settings_save(tenant=alice.tenant, connection=connection,
                                                 data=settings_data(alice, **changes), actor=alice.admin)


def tooling(connection, soql: str) -> list[dict]:
    return client_for(connection).rest("GET", "tooling/query/", params={"q": soql})["records"]


def flow_state(connection) -> tuple[dict, list[dict]]:
    definition = tooling(connection, "SELECT Id, DeveloperName, ActiveVersionId, LatestVersionId FROM FlowDefinition "
                                     f"WHERE DeveloperName = '{FLOW_NAME}'")
    versions = tooling(connection, "SELECT Id, VersionNumber, Status, MasterLabel, Definition.DeveloperName FROM Flow "
                                   f"WHERE Definition.DeveloperName = '{FLOW_NAME}' ORDER BY VersionNumber DESC")
    return (definition[0] if definition else {}), versions


def active_filters(connection) -> list[dict]:
    definition, _versions = flow_state(connection)
    flow = client_for(connection).rest("GET", f"tooling/sobjects/Flow/{definition['ActiveVersionId']}")
    return flow["Metadata"]["start"]["filters"]


def message_metadata(connection) -> dict:
    rows = tooling(connection, f"SELECT Id, Name FROM WorkflowOutboundMessage WHERE Name = '{MESSAGE_NAME}'")
    assert len(rows) == 1, rows
    return client_for(connection).rest("GET", f"tooling/sobjects/WorkflowOutboundMessage/{rows[0]['Id']}")["Metadata"]


def writes(emulator, org: str) -> list[str]:
    counters = emulator.client.counters(org)["counters"]
    return [c["endpoint"] for c in counters if c["endpoint"].split(" ")[0] in ("POST", "PATCH", "PUT", "DELETE")]


def assert_set_up(alice, connection) -> None:
    saved = save(alice, connection)
    automation = saved.automation
    assert automation["state"] == "ok", automation
    assert automation["message"]["outcome"] == "created" and automation["flow"]["outcome"] == "new_version"
    assert automation["flow"]["version_number"] == 1
    # The quote receiver (sync_engine/quotes/receiver.py).
    token = importlib.import_module("sync_engine.quotes.receiver").receiver_token(connection)
    endpoint = django_settings.COTHON_BASE_URL + reverse("sync_quotes:receiver", args=[token])
    assert endpoint.endswith(f"/integrations/salesforce/quotes/{token}/")
    metadata = message_metadata(connection)
    assert metadata["endpointUrl"] == endpoint and metadata["name"] == "Cothon integration"
    assert metadata["fields"] == ["Id", "Name", "StageName", "Amount", "CloseDate", "AccountId", "NextStep"]
    definition, versions = flow_state(connection)
    assert [v["VersionNumber"] for v in versions] == [1] and definition["ActiveVersionId"] == versions[0]["Id"]
    assert active_filters(connection) == [
        {"field": "StageName", "operator": "EqualTo", "value": {"stringValue": "Proposal"}},
        {"field": "Amount", "operator": "GreaterThan", "value": {"numberValue": 10000}}]


def test_a_developer_edition_org_gets_the_outbound_message_and_an_active_flow(alice, connected):
    flow_support(connected)
    assert_set_up(alice, connected)


def test_an_enterprise_edition_org_gets_them_too(alice, connected_as):
    connection = connected_as("Enterprise Edition")
    flow_support(connection)
    assert_set_up(alice, connection)


@pytest.mark.parametrize("edition", ["Essentials Edition", "Base Edition"])
def test_an_edition_without_flows_is_refused_and_nothing_is_created(alice, connected_as, emulator_reset, edition):
    connection = connected_as(edition)
    emulator_reset.client.reset_counters()
    saved = save(alice, connection)
    automation = saved.automation
    assert automation["state"] == "refused"
    assert automation["error"]["code"] == "EDITION_NOT_SUPPORTED"
    assert f"This org is {edition}." in automation["error"]["message"]
    assert "Nothing was created in the org." in automation["error"]["message"]
    assert "message" not in automation and "flow" not in automation
    assert emulator_reset.client.counters("demo")["total"] >= 1  # the edition query was seen by the org…
    assert writes(emulator_reset, "demo") == []  # …and nothing else: no Tooling API create or update
    saved.refresh_from_db()
    assert saved.trigger_stage == "Proposal"  # the settings themselves are kept


def test_unchanged_conditions_make_no_new_flow_version(alice, connected):
    flow_support(connected)
    save(alice, connected)
    again = save(alice, connected, sync_back=False, contact_to_person=False)  # neither reaches the org
    assert again.automation["state"] == "ok"
    assert again.automation["flow"] == {**again.automation["flow"], "outcome": "unchanged", "version_number": 1}
    assert again.automation["message"]["outcome"] == "unchanged"
    assert [v["VersionNumber"] for v in flow_state(connected)[1]] == [1]


def test_changed_conditions_make_a_new_active_version(alice, connected):
    flow_support(connected)
    save(alice, connected)
    changed = save(alice, connected, conditions=[{"field": "Amount", "operator": ">=", "value": "25000"},
                                                 {"field": "Type", "operator": "=", "value": "Services"}])
    assert changed.automation["flow"]["outcome"] == "new_version" and changed.automation["flow"]["version_number"] == 2
    assert changed.automation["message"]["outcome"] == "updated"  # Type is now sent too
    definition, versions = flow_state(connected)
    assert [(v["VersionNumber"], v["Status"]) for v in versions] == [(2, "Active"), (1, "Obsolete")]
    assert definition["ActiveVersionId"] == versions[0]["Id"]
    assert active_filters(connected)[1:] == [
        {"field": "Amount", "operator": "GreaterThanOrEqualTo", "value": {"numberValue": 25000}},
        {"field": "Type", "operator": "EqualTo", "value": {"stringValue": "Services"}}]
    assert "Type" in message_metadata(connected)["fields"]
    stage = save(alice, connected, trigger_stage="Negotiation", conditions=[{"field": "Amount", "operator": ">=", "value": "25000"},
                                                                           {"field": "Type", "operator": "=", "value": "Services"}])
    assert stage.automation["flow"]["version_number"] == 3
    assert active_filters(connected)[0]["value"] == {"stringValue": "Negotiation"}


def test_switching_opportunity_to_quote_off_deactivates_the_flow_and_on_again_reactivates_it(alice, connected):
    flow_support(connected)
    save(alice, connected)
    off = save(alice, connected, opportunity_to_quote=False)
    assert off.automation["state"] == "off" and off.automation["flow"]["outcome"] == "deactivated"
    definition, versions = flow_state(connected)
    assert not definition["ActiveVersionId"] and [v["VersionNumber"] for v in versions] == [1]
    assert save(alice, connected, opportunity_to_quote=False).automation["flow"]["outcome"] == "inactive"
    on = save(alice, connected)
    assert on.automation["flow"]["outcome"] == "reactivated" and on.automation["flow"]["version_number"] == 1
    definition, versions = flow_state(connected)
    assert definition["ActiveVersionId"] == versions[0]["Id"] and len(versions) == 1


def test_off_before_anything_was_set_up_touches_nothing(alice, connected, emulator_reset):
    flow_support(connected)
    emulator_reset.client.reset_counters()
    off = save(alice, connected, opportunity_to_quote=False, trigger_stage="")
    assert off.automation["state"] == "off" and off.automation["flow"]["outcome"] == "absent"
    assert writes(emulator_reset, "demo") == []


def test_an_org_that_refuses_the_flow_is_shown_with_its_code_and_the_message_kept(alice, connected, emulator_reset):
    flow_support(connected)
    emulator_reset.client.add_fault(path_contains="tooling/sobjects/Flow", method="POST", status=400,
                                    error_code="INSUFFICIENT_ACCESS", message="Manage Flow is required", count=1)
    saved = save(alice, connected)
    assert saved.automation["state"] == "failed"
    assert saved.automation["error"]["code"] == "INSUFFICIENT_ACCESS"
    assert "Manage Flow" in saved.automation["error"]["hint"]
    assert saved.automation["message"]["outcome"] == "created"


def test_switching_off_in_an_edition_without_flows_has_nothing_to_deactivate(alice, connected_as):
    connection = connected_as("Essentials Edition")
    off = save(alice, connection, opportunity_to_quote=False)
    assert off.automation["state"] == "off" and off.automation["flow"]["outcome"] == "absent"


def test_the_connection_events_say_what_changed_in_the_org(alice, connected):
    from integrations.models import ConnectionEvent

    flow_support(connected)
    save(alice, connected)
    save(alice, connected)  # nothing changed: no second event
    events = list(ConnectionEvent.objects.filter(connection=connected, kind="quote_automation").values_list("message", "actor"))
    assert events == [("Quote automation: flow “Cothon Opportunity Flow” new version (version 1), outbound message "
                       "“Cothon integration” created.", alice.admin.pk)]
