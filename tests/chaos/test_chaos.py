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
from tests.chaos.stack import FAULTS, ChaosStack, PrivateEmulator, connect, run_scenario, seed

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
