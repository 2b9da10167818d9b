"""Sync resumes where it stopped: edits made while a connection is disconnected, paused (API
limit) or waiting for a reconnect reach Salesforce once it can sync again."""

from __future__ import annotations

import datetime
import time

from django.utils import timezone

from integrations import connections as svc
from integrations.models import ConnectionStatus
from opportunities import services as opp
from opportunities.models import Opportunity
from sync_engine.executor import push_connection
from sync_engine.fanout import fan_out_pending
from sync_engine.governor import get_governor
from sync_engine.models import OutboxEntry, OutboxState, SyncRun, SyncRunKind, SyncRunStatus
from sync_engine.services import runs_settle


def sf_title(emulator, reference: str) -> str | None:
    records = emulator.sf().query(f"SELECT Name FROM Opportunity WHERE Cothon_Ref__c = '{reference}'")["records"]
    return records[0]["Name"] if records else None


def test_an_edit_made_while_disconnected_reaches_salesforce_after_the_reconnect(
        alice, connected, emulator_reset, opportunity_factory, django_capture_on_commit_callbacks):
    opportunity = opportunity_factory(alice.tenant, title="Before the disconnect")
    untouched = opportunity_factory(alice.tenant, title="Not edited while disconnected")
    push_connection(connection_id=connected.pk)
    assert sf_title(emulator_reset, opportunity.reference) == "Before the disconnect"
    Opportunity.objects.filter(pk=untouched.pk).update(updated_at=timezone.now() - datetime.timedelta(hours=1))

    connection = svc.connection_disconnect(connection=connected, actor=alice.admin)
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"title": "Edited while disconnected"})
    fan_out_pending()
    assert not OutboxEntry.objects.exists(), "a disconnected org receives no outbox rows"

    with django_capture_on_commit_callbacks(execute=True):
        connection = svc.connection_connect_client_credentials(connection=connection, actor=alice.admin)
    assert connection.status == ConnectionStatus.CONNECTED
    run = SyncRun.objects.get(connection=connection, kind=SyncRunKind.INCREMENTAL)
    queued = set(OutboxEntry.objects.filter(run=run).values_list("record_type", "record_id"))
    assert ("opportunity", opportunity.pk) in queued
    assert ("opportunity", untouched.pk) not in queued, "only what changed since the disconnect"

    push_connection(connection_id=connection.pk)
    runs_settle(connection_id=connection.pk)
    assert sf_title(emulator_reset, opportunity.reference) == "Edited while disconnected"
    run.refresh_from_db()
    assert run.status == SyncRunStatus.SUCCEEDED and run.succeeded == run.total


def test_a_first_connect_queues_no_catch_up(alice, connected):
    assert not SyncRun.objects.filter(connection=connected).exists()


def test_edits_made_while_paused_stay_queued_and_go_out_when_capacity_returns(alice, connected, emulator_reset, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, title="Before the pause")
    push_connection(connection_id=connected.pk)
    get_governor().pause(connected.pk, 3600, resume_estimate=time.time() + 3600)
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"title": "Edited while paused"})
    summary = push_connection(connection_id=connected.pk)
    assert "paused" in summary.stopped_because
    assert OutboxEntry.objects.filter(record_id=opportunity.pk, state=OutboxState.PENDING).count() == 1
    assert sf_title(emulator_reset, opportunity.reference) == "Before the pause"
    get_governor().resume(connected.pk)
    push_connection(connection_id=connected.pk)
    assert sf_title(emulator_reset, opportunity.reference) == "Edited while paused"
    assert not OutboxEntry.objects.exists()


def test_edits_made_while_a_reconnect_is_needed_stay_queued_and_go_out_after_it(
        alice, connected, emulator_reset, opportunity_factory, django_capture_on_commit_callbacks):
    from integrations.salesforce.errors import ErrorKind, SalesforceError

    opportunity = opportunity_factory(alice.tenant, title="Before the expiry")
    push_connection(connection_id=connected.pk)
    svc.connection_mark_needs_reconnect(connection=connected, error=SalesforceError("INVALID_SESSION_ID", "expired", kind=ErrorKind.AUTH))
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"title": "Edited while expired"})
    assert push_connection(connection_id=connected.pk).stopped_because == "connection not usable"
    assert OutboxEntry.objects.filter(record_id=opportunity.pk, state=OutboxState.PENDING).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        connection = svc.connection_connect_client_credentials(connection=connected, actor=alice.admin)
    assert not SyncRun.objects.filter(connection=connection).exists(), "its queue was kept: nothing to catch up"
    push_connection(connection_id=connection.pk)
    assert sf_title(emulator_reset, opportunity.reference) == "Edited while expired"
