"""Sync log rows keep when their change was waiting since (queued_at) and which attempt they
were, so latency and retries stay measurable after the queue row is deleted."""

from __future__ import annotations

from integrations.mapping.conflicts import parse_time
from sync_engine.executor import push_connection
from sync_engine.fanout import fan_out_pending
from sync_engine.models import OutboxEntry, SyncLink, SyncLog
from sync_engine.pull.incremental import pull_incremental
from tests.pull.conftest import save_settings


def test_a_pushed_row_keeps_its_queue_time_and_is_attempt_one(alice, connected, emulator_reset, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    fan_out_pending(tenant_id=alice.tenant.pk)
    queued_at = OutboxEntry.objects.get(record_type="opportunity", record_id=opportunity.pk).created_at
    push_connection(connection_id=connected.pk)
    assert not OutboxEntry.objects.exists()
    log = SyncLog.objects.get(record_type="opportunity", record_id=opportunity.pk, sobject="Opportunity")
    assert (log.queued_at, log.attempts, log.retries) == (queued_at, 1, 0)
    assert log.created_at >= log.queued_at


def test_a_retried_row_says_which_attempt_it_was(alice, connected, emulator_reset, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    fan_out_pending(tenant_id=alice.tenant.pk)
    entry = OutboxEntry.objects.get(record_type="opportunity", record_id=opportunity.pk)
    OutboxEntry.objects.filter(pk=entry.pk).update(attempts=2)  # two earlier attempts failed
    push_connection(connection_id=connected.pk)
    log = SyncLog.objects.get(record_type="opportunity", record_id=opportunity.pk, sobject="Opportunity")
    assert (log.attempts, log.retries, log.queued_at) == (3, 2, entry.created_at)


def test_a_pulled_row_keeps_salesforces_change_time(alice, connected, emulator_reset, opportunity_factory):
    sf = emulator_reset.sf()
    opportunity = opportunity_factory(alice.tenant, description="Ours")
    push_connection(connection_id=connected.pk)
    link = SyncLink.objects.get(connection=connected, record_type="opportunity", record_id=opportunity.pk)
    save_settings(connected, direction="bidirectional")
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs"})
    stamp = parse_time(sf.Opportunity.get(link.salesforce_id)["SystemModstamp"])
    pull_incremental(connection_id=connected.pk)
    log = SyncLog.objects.get(direction="pull", record_id=opportunity.pk, operation="update")
    assert log.queued_at == stamp and log.attempts == 0
