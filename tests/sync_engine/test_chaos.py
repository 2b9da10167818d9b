"""Faults injected in the emulator: afterwards every change is in Salesforce exactly once."""

from __future__ import annotations

from django.utils import timezone


from integrations.models import ConnectionStatus
from opportunities import services as opp
from sync_engine.executor import push_connection
from sync_engine.governor import get_governor
from sync_engine.models import OutboxEntry, OutboxState, SyncLog




def make_due():
    """Skip the backoff wait (the test does not sleep through exponential delays)."""
    OutboxEntry.objects.filter(state=OutboxState.PENDING).update(available_at=timezone.now())


def drain(connection_id: int, rounds: int = 6):
    for _ in range(rounds):
        make_due()
        push_connection(connection_id=connection_id)
        if not OutboxEntry.objects.filter(state__in=[OutboxState.PENDING, OutboxState.CLAIMED]).exists():
            return


def assert_exactly_once(emulator, opportunities):
    refs = ", ".join(f"'{o.reference}'" for o in opportunities)
    records = emulator.sf(token=emulator.token("demo")).query_all(f"SELECT Cothon_Ref__c FROM Opportunity WHERE Cothon_Ref__c IN ({refs})")["records"]
    assert sorted(r["Cothon_Ref__c"] for r in records) == sorted(o.reference for o in opportunities)


def test_unable_to_lock_row_on_some_records_is_retried_until_they_land(alice, connected, emulator_reset, opportunity_factory):
    emulator_reset.client.add_fault(org="demo", operation="upsert", per_record=True, error_code="UNABLE_TO_LOCK_ROW",
                                    message="unable to obtain exclusive access to this record", count=2, status=400)
    opportunities = [opportunity_factory(alice.tenant) for _ in range(5)]
    first = push_connection(connection_id=connected.pk)
    assert first.retried == 2 and first.succeeded == 3
    assert SyncLog.objects.filter(result="retrying", error_code="UNABLE_TO_LOCK_ROW").count() == 2
    drain(connected.pk)
    assert_exactly_once(emulator_reset, opportunities)
    assert OutboxEntry.objects.count() == 0


def test_503s_back_off_and_nothing_is_lost(alice, connected, emulator_reset, opportunity_factory):
    emulator_reset.client.add_fault(org="demo", path_contains="composite/sobjects", status=503, error_code="SERVER_UNAVAILABLE", count=2)
    opportunities = [opportunity_factory(alice.tenant) for _ in range(3)]
    summary = push_connection(connection_id=connected.pk)
    assert summary.stopped_because.startswith("retryable error") and summary.retry_in_seconds is not None
    pending = OutboxEntry.objects.get(record_id=opportunities[0].pk)
    assert pending.state == OutboxState.PENDING and pending.attempts == 1 and pending.available_at > timezone.now()
    drain(connected.pk)
    assert_exactly_once(emulator_reset, opportunities)


def test_a_dropped_connection_is_retried(alice, connected, emulator_reset, opportunity_factory):
    emulator_reset.client.add_fault(org="demo", path_contains="composite/sobjects", drop_connection=True, count=1)
    opportunities = [opportunity_factory(alice.tenant) for _ in range(2)]
    drain(connected.pk)
    assert_exactly_once(emulator_reset, opportunities)


def test_an_expired_session_is_refreshed_once_and_the_push_continues(alice, connected, emulator_reset, opportunity_factory):
    from integrations.crypto import decrypt_token

    emulator_reset.client.expire_token(decrypt_token(connected.access_token_encrypted))
    opportunities = [opportunity_factory(alice.tenant) for _ in range(2)]
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 0 and summary.succeeded == 2
    assert_exactly_once(emulator_reset, opportunities)
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.CONNECTED


def test_quota_exhaustion_pauses_keeps_everything_queued_and_resumes(alice, connected, emulator_reset, opportunity_factory):
    opportunities = [opportunity_factory(alice.tenant) for _ in range(3)]
    emulator_reset.client.set_limits("demo", allowance=5000, used=5000)
    summary = push_connection(connection_id=connected.pk)
    assert "paused" in summary.stopped_because
    assert OutboxEntry.objects.filter(state=OutboxState.PENDING).count() == 3
    status = get_governor().status(connected.pk)
    assert status.paused_until is not None
    # The rows wait for the expected reset; even when due, nothing is attempted while paused
    # (no calls burnt against an exhausted quota).
    assert OutboxEntry.objects.filter(available_at__gt=timezone.now()).count() == 3
    before = SyncLog.objects.count()
    make_due()
    again = push_connection(connection_id=connected.pk)
    assert "paused" in again.stopped_because and again.api_calls == 0
    assert SyncLog.objects.count() == before
    # The pause runs out while the org is still exhausted: one /limits probe, the pause is
    # extended, and no work is sent.
    get_governor().pause(connected.pk, -1)
    make_due()
    still = push_connection(connection_id=connected.pk)
    assert "paused" in still.stopped_because and SyncLog.objects.count() == before
    assert get_governor().status(connected.pk).paused_until is not None
    # Capacity returns (the window rolled): after the pause the probe sees it, the queue
    # drains, each record once.
    emulator_reset.client.set_limits("demo", allowance=5000, used=100)
    get_governor().pause(connected.pk, -1)
    drain(connected.pk)
    assert_exactly_once(emulator_reset, opportunities)


def test_a_bad_picklist_value_fails_that_record_with_a_hint_and_the_rest_land(alice, connected, emulator_reset, opportunity_factory):
    from integrations.sync_settings import settings_current, settings_save

    data = settings_current(connection=connected)
    data["picklist_maps"]["procurement_method"]["rfq"] = "Request for Quotation"  # not in the restricted picklist
    settings_save(connection=connected, data=data, actor=alice.admin, against_org=False)
    good = opportunity_factory(alice.tenant, procurement_method="rfp")
    bad = opportunity_factory(alice.tenant, procurement_method="rfq")
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 1 and summary.succeeded == 1
    log = SyncLog.objects.get(record_id=bad.pk, result="failed")
    assert log.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" and "picklist mapping" in log.hint
    assert_exactly_once(emulator_reset, [good])
    opp.opportunity_update(tenant=alice.tenant, opportunity=bad, data={"procurement_method": "rfp"})
    drain(connected.pk)
    assert_exactly_once(emulator_reset, [good, bad])


def test_a_record_failed_by_a_bad_mapping_is_retried_after_the_admin_fixes_it(alice, connected, emulator_reset, opportunity_factory):
    from integrations.sync_settings import settings_current, settings_save
    from sync_engine.services import outbox_sweep

    data = settings_current(connection=connected)
    data["picklist_maps"]["procurement_method"]["rfq"] = "Quotation"  # not in the org's restricted picklist
    settings_save(connection=connected, data=data, actor=alice.admin, against_org=False)
    opportunity = opportunity_factory(alice.tenant, procurement_method="rfq")
    assert push_connection(connection_id=connected.pk).failed == 1
    assert OutboxEntry.objects.get().state == OutboxState.FAILED
    outbox_sweep()
    assert OutboxEntry.objects.get().state == OutboxState.FAILED  # nothing changed: no blind retry
    data["picklist_maps"]["procurement_method"]["rfq"] = "RFQ"
    settings_save(connection=connected, data=data, actor=alice.admin)
    outbox_sweep()
    push_connection(connection_id=connected.pk)
    assert_exactly_once(emulator_reset, [opportunity])
