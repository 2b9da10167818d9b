"""Real time: an edit in Salesforce reaches Cothon within seconds through an Outbound Message
(the emulator delivers it to the receiver on a live server; a real Celery worker applies it),
and `ensure_outbound_rules` sets the org's message and rule up through the Tooling API."""

from __future__ import annotations

import time

import pytest

from opportunities.models import Opportunity
from sync_engine.executor import push_connection
from sync_engine.models import SyncLink
from sync_engine.pull.models import InboundNotification
from sync_engine.pull.outbound import receiver_path
from sync_engine.pull.rules import ensure_outbound_rules, message_fields
from tests.sync_engine.workers import Worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def register_rule_with_the_emulator(handle, endpoint_url: str, fields: list[str]) -> dict:
    """The emulator's test hook, until its Tooling API takes WorkflowOutboundMessage: the same
    rule ensure_outbound_rules creates (every change of an Opportunity, the mapped fields)."""
    response = handle.client.session.post(f"{handle.http_url}/_emulator/outbound/rules", timeout=30, json={
        "org": "demo", "name": "Cothon Sync", "object": "Opportunity", "criteria": {"field": "IsDeleted", "value": False},
        "evaluation": "created_and_every_edit", "endpoint_url": endpoint_url, "fields": fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_an_edit_in_salesforce_reaches_cothon_within_seconds(alice, connected, emulator_reset, live_server, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, description="Ours")
    assert push_connection(connection_id=connected.pk).failed == 0
    link = SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk)
    register_rule_with_the_emulator(emulator_reset, live_server.url + receiver_path(connected), message_fields(connected))
    worker = Worker(queues="realtime").start()
    try:
        started = time.monotonic()
        emulator_reset.sf().Opportunity.update(link.salesforce_id, {"Description": "Edited in Salesforce", "StageName": "Proposal"})
        wait_for(lambda: Opportunity.objects.get(pk=opportunity.pk).description == "Edited in Salesforce", timeout=10,
                 message=f"the edit in Cothon (worker log: {worker.log_path})")
        elapsed = time.monotonic() - started
    finally:
        worker.stop()
    assert elapsed < 5, f"took {elapsed:.1f} s"
    refreshed = Opportunity.objects.get(pk=opportunity.pk)
    assert refreshed.status == "pursuing"
    assert InboundNotification.objects.filter(connection=connected, processed_at__isnull=False).exists()


def test_ensure_outbound_rules_creates_the_message_and_rule_once(connected, emulator_reset):
    first = ensure_outbound_rules(connection=connected)
    assert (first.message, first.rule) == ("created", "created")
    assert first.endpoint_url.endswith(receiver_path(connected))
    assert {"Id", "SystemModstamp", "StageName", "Description", "OwnerId"} <= set(first.fields)
    again = ensure_outbound_rules(connection=connected)
    assert (again.message, again.rule) == ("unchanged", "unchanged")


def test_ensure_outbound_rules_does_nothing_for_a_push_only_connection(connected, emulator_reset):
    from tests.pull.conftest import save_settings

    save_settings(connected, direction="push")
    result = ensure_outbound_rules(connection=connected)
    assert result.message == "skipped" and "Push-only" in result.note
