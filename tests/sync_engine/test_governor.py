"""One contract, two backends: the Redis (Lua) governor and the database governor behave alike."""

import os
import threading

import pytest

from integrations.models import SalesforceConnection
from sync_engine.governor import DatabaseGovernor, RedisGovernor, threshold
from sync_engine.models import Priority


@pytest.fixture(params=["database", "redis"])
def governor(request, transactional_db):
    if request.param == "database":
        return DatabaseGovernor()
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("Redis backend: REDIS_URL not set (make test sets it when Redis is reachable)")
    import redis

    from sync_engine.governor import key_prefix

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{key_prefix()}:*"):
        client.delete(key)
    return RedisGovernor(client)


@pytest.fixture
def connection_id(transactional_db):
    from cothon.tenancy.services import tenant_create

    tenant = tenant_create(name="Gov", slug=f"gov-{os.getpid()}")
    return SalesforceConnection.objects.create(tenant=tenant, name="Prod", login_url="https://login.salesforce.com").pk


def test_everything_is_admitted_before_usage_is_known(governor, connection_id):
    assert governor.admit(connection_id, Priority.FULL).allowed


def test_background_work_stops_at_its_threshold_but_realtime_uses_the_reserve(governor, connection_id):
    governor.observe(connection_id, used=threshold(1000, Priority.FULL), allowance=1000)
    assert not governor.admit(connection_id, Priority.FULL).allowed
    assert governor.admit(connection_id, Priority.INCREMENTAL).allowed
    assert governor.admit(connection_id, Priority.REALTIME).allowed
    governor.observe(connection_id, used=999, allowance=1000)
    assert governor.admit(connection_id, Priority.MANUAL).allowed
    assert not governor.admit(connection_id, Priority.REALTIME).allowed  # 1000/1000 now


def test_a_pause_holds_every_priority_until_it_ends(governor, connection_id):
    governor.pause(connection_id, 600)
    admission = governor.admit(connection_id, Priority.MANUAL)
    assert not admission.allowed and 590 < admission.wait_seconds <= 600
    assert governor.status(connection_id).paused_until is not None
    governor.resume(connection_id)
    assert governor.admit(connection_id, Priority.MANUAL).allowed


def test_admission_reserves_calls_atomically_under_concurrency(governor, connection_id):
    governor.observe(connection_id, used=0, allowance=100)
    limit = threshold(100, Priority.INCREMENTAL)  # 90
    results = []

    def worker():
        from django.db import connection

        try:
            for _ in range(30):
                results.append(governor.admit(connection_id, Priority.INCREMENTAL).allowed)
        finally:
            connection.close()  # each thread has its own DB connection

    threads = [threading.Thread(target=worker) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sum(results) == limit  # never one call more than the limit, whatever the interleaving
    assert governor.status(connection_id).used == limit


def test_the_concurrency_cap_is_enforced_and_released(governor, connection_id):
    first = governor.acquire(connection_id, max_concurrent=2)
    second = governor.acquire(connection_id, max_concurrent=2)
    assert first and second and governor.acquire(connection_id, max_concurrent=2) is None
    governor.release(connection_id, first)
    assert governor.acquire(connection_id, max_concurrent=2) is not None


def test_an_expired_slot_of_a_killed_worker_frees_itself(governor, connection_id):
    assert governor.acquire(connection_id, max_concurrent=1, lease_seconds=-1)
    assert governor.acquire(connection_id, max_concurrent=1) is not None


def test_after_a_pause_runs_out_exactly_one_caller_probes(governor, connection_id):
    governor.pause(connection_id, 600)
    assert not governor.take_probe(connection_id)  # still paused
    governor.pause(connection_id, -1)  # the pause has run out
    assert governor.take_probe(connection_id)
    assert not governor.take_probe(connection_id)  # once
