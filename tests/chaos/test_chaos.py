"""Chaos on real processes: during a full sync, kill -9 each process in turn and inject
Salesforce's transient failures. Afterwards the product serves, the run is finished, every
Cothon record is in Salesforce exactly once with its latest values, and nothing is left queued.

Runs on the stack `make test` chose (PostgreSQL + Redis) and again on the embedded stack
(SQLite + the filesystem broker): scripts/run_tests.py runs this folder a second time with
COTHON_TEST_BACKEND=embedded."""

from __future__ import annotations

import pytest
from django.db import connections

from sync_engine.governor import get_governor
from tests.chaos.stack import FAULTS, ChaosStack, PrivateEmulator, connect, embedded_broker, run_scenario, seed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chaos, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def private_emulator(tmp_path_factory):
    emulator = PrivateEmulator(tmp_path_factory.mktemp("chaos-emulator")).start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, django_db_blocker):
    stack = ChaosStack(tmp_path_factory.mktemp("chaos-logs"))
    yield stack
    stack.stop()


@pytest.mark.parametrize("fault", FAULTS)
def test_after_the_fault_every_record_is_in_salesforce_exactly_once_with_its_latest_values(
        fault, alice, private_emulator, stack):
    if fault == "background_pool_child" and embedded_broker():
        pytest.skip("the embedded stack's background worker runs a thread pool (as make run does): no pool child "
                    "to kill; killing its process is the background_worker case")
    private_emulator.client.reset()
    opportunities = seed(alice.tenant, opportunities=80)
    connection = connect(alice.tenant, private_emulator, alice.admin)
    get_governor().resume(connection.pk)
    try:
        result = run_scenario(fault, stack=stack, emulator=private_emulator, tenant=alice.tenant, connection=connection,
                              actor=alice.admin, opportunities=opportunities)
    finally:
        connections.close_all()
    assert result.product_up
    assert result.run_status in ("succeeded", "finished_with_errors"), result
    assert (result.lost, result.duplicates, result.stale, result.queued_left) == (0, 0, 0, 0), result.details
    if fault in ("unable_to_lock_row", "server_unavailable", "dropped_connection"):
        assert result.fault_hits, f"the {fault} fault never fired: the scenario proved nothing"


def test_a_real_time_worker_killed_after_salesforce_took_its_write_leaves_no_stale_base(alice, private_emulator, stack):
    """kill -9 of the real-time worker after Salesforce applied its write and before the answer
    reached it (the emulator answers late). A rep then changes the same
    field ("Cothon wins"): that is a one-sided Salesforce change, and it must reach Cothon — not
    be overwritten by the retried write (docs/conflicts.md, "A write whose worker died before
    recording it")."""
    from opportunities import services as opp
    from opportunities.models import Opportunity
    from sync_engine.executor import push_connection
    from sync_engine.models import OutboxEntry, OutboxState, SyncConflict, SyncLink
    from sync_engine.pull.incremental import pull_incremental
    from tests.sync_engine.workers import wait_for

    private_emulator.client.reset()
    private_emulator.client.clear_faults()
    connection = connect(alice.tenant, private_emulator, alice.admin)
    get_governor().resume(connection.pk)
    # Created once connected: its change goes to this connection (a sweeper of the running stack
    # may fan out a change made before, when there was none).
    opportunity = seed(alice.tenant, opportunities=1, departments=1)[0]
    stack.ensure()
    try:
        def linked() -> SyncLink | None:
            # Pushed here, or by a worker of the stack (a slot a killed process of an earlier
            # scenario held is free once its lease ends): whichever gets there first.
            push_connection(connection_id=connection.pk)
            return SyncLink.objects.filter(connection=connection, record_type="opportunity",
                                           record_id=opportunity.pk).exclude(salesforce_id="").first()

        link = wait_for(linked, timeout=90, interval=1, message="the opportunity linked")
        pull_incremental(connection_id=connection.pk)  # our own write coming back: the base agreed
        wait_for(lambda: not OutboxEntry.objects.filter(connection=connection).exists(), message="nothing queued")
        sf = private_emulator.sf()
        private_emulator.client.add_fault(org="demo", path_contains="composite/sobjects", answer_latency_ms=8000, status=200,
                                          error_code="", count=1)
        opp.opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=opportunity.pk), data={"location": "Yukon"})
        wait_for(lambda: sf.Opportunity.get(link.salesforce_id)["Cothon_Location__c"] == "Yukon", timeout=30, interval=0.2,
                 message="Salesforce to apply the real-time worker's write")
        stack.processes["realtime_worker"].kill()  # its answer is still 8 s away
        sf.Opportunity.update(link.salesforce_id, {"Cothon_Location__c": "Halifax"})  # a rep, after the write landed
        stack.ensure()  # the supervisor restarts the worker; the sweeper hands the row back
        wait_for(lambda: Opportunity.objects.get(pk=opportunity.pk).location == "Halifax", timeout=90, interval=0.25,
                 message=f"the rep's edit in Cothon\n{stack.logs()}")
        wait_for(lambda: not OutboxEntry.objects.filter(connection=connection, state__in=[
            OutboxState.PENDING, OutboxState.CLAIMED]).exists(), timeout=60, message="the retried row settled")
        assert sf.Opportunity.get(link.salesforce_id)["Cothon_Location__c"] == "Halifax"
        assert not SyncConflict.objects.filter(connection=connection).exists()
        assert not OutboxEntry.objects.filter(connection=connection, state=OutboxState.FAILED).exists()
        link.refresh_from_db()
        assert link.inflight_values is None and link.base_snapshot["Cothon_Location__c"] == "Halifax"
    finally:
        private_emulator.client.clear_faults()
        connections.close_all()
