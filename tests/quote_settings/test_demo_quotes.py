"""`make run`'s demo: Maple's connection to the emulator's demo org gets quote settings (stage
Proposal, the bid manager as owner, sync back on, two custom quote fields mapped) and the org's
flow + outbound message; a second run keeps them and creates no new flow version."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from integrations.connections import client_for
from integrations.models import SalesforceConnection
from proposals.models import QuoteCustomField
from sync_engine.quotes.models import QuoteSettings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def loopback_oauth(monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def connect(emulator_reset, tmp_path) -> None:
    paths = {}
    for org in ("demo", "sandbox"):
        paths[org] = tmp_path / f"{org}.json"
        paths[org].write_text(json.dumps(emulator_reset.creds(org)))
    call_command("connect_demo_orgs", demo_credentials=str(paths["demo"]), sandbox_credentials=str(paths["sandbox"]), no_sync=True)


def test_the_demo_connect_sets_up_quotes_for_the_demo_org(db, emulator_reset, tmp_path):
    call_command("seed_demo", opportunities=2)
    connect(emulator_reset, tmp_path)
    maple = SalesforceConnection.objects.get(tenant__slug="maple")
    settings = QuoteSettings.objects.get(connection=maple)
    assert settings.opportunity_to_quote and settings.trigger_stage == "Proposal" and settings.sync_back
    assert settings.owner.username == "maple-bidmanager"
    assert {m["target"] for m in settings.field_mappings} == {"custom:salesforce_id", "custom:deal_type", "notes"}
    assert set(QuoteCustomField.objects.filter(tenant=maple.tenant).values_list("key", flat=True)) == {"salesforce_id", "deal_type"}
    assert settings.automation["state"] == "ok", settings.automation
    assert settings.automation["flow"]["version_number"] == 1
    assert not QuoteSettings.objects.filter(connection__tenant__slug="northwind").exists()  # the demo org's connection only

    connect(emulator_reset, tmp_path)  # make run again
    settings.refresh_from_db()
    assert settings.automation["flow"]["outcome"] == "unchanged"
    versions = client_for(maple).rest("GET", "tooling/query/", params={"q": (
        "SELECT Id, VersionNumber FROM Flow WHERE Definition.DeveloperName = 'Cothon_Opportunity_Flow'")})["records"]
    assert len(versions) == 1
