"""Chaos: the broker (a private redis-server, never the shared one) restarts with an empty
memory while changes are being made. Afterwards every change is in Salesforce exactly once."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from integrations import connections as svc
from integrations.models import Environment
from sync_engine.models import ChangeRecord, OutboxEntry
from sync_engine.services import outbox_sweep
from tests.sync_engine.workers import Worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    def __init__(self) -> None:
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                                         "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: _ping(self.port), timeout=10, message="redis-server to start")

    def stop(self) -> None:
        if self.process:
            self.process.kill()
            self.process.wait()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def private_broker():
    from cothon.celery import app

    redis = PrivateRedis()
    redis.start()
    saved = app.conf.broker_url
    app.conf.broker_url = redis.url
    app._pool = None
    app.amqp._producer_pool = None
    yield redis
    redis.stop()
    app.conf.broker_url = saved
    app._pool = None
    app.amqp._producer_pool = None


def test_a_broker_restart_loses_no_change(alice, emulator_reset, private_broker, opportunity_factory):
    creds = emulator_reset.demo
    connection = svc.connection_create(
        tenant=alice.tenant, name="Demo org", environment=Environment.CUSTOM, login_url=emulator_reset.instance_url,
        client_id=creds["client_id"], client_secret=creds["client_secret"], ca_bundle_path=emulator_reset.ca_bundle)
    svc.connection_connect_client_credentials(connection=connection, actor=alice.admin)
    worker = Worker(extra_env={"CELERY_BROKER_URL": private_broker.url}).start()
    sf = emulator_reset.sf(token=emulator_reset.token("demo"))
    try:
        first = opportunity_factory(alice.tenant)
        wait_for(lambda: sf.query(f"SELECT Id FROM Opportunity WHERE Cothon_Ref__c = '{first.reference}'")["totalSize"] == 1,
                 message="the first change")
        private_broker.stop()  # everything in the broker is gone
        during = [opportunity_factory(alice.tenant) for _ in range(3)]  # enqueues fail; the change records keep them
        assert ChangeRecord.objects.filter(record_id__in=[o.pk for o in during]).count() == 3
        private_broker.start()  # a new, empty redis on the same port
        time.sleep(1)

        def swept_and_drained() -> bool:
            outbox_sweep()  # what beat runs every 30 s: re-enqueues what the broker lost
            return OutboxEntry.objects.count() == 0 and ChangeRecord.objects.count() == 0

        try:
            wait_for(swept_and_drained, timeout=40, interval=2, message="the queue to drain")
        except AssertionError:
            raise AssertionError(f"{list(OutboxEntry.objects.values('state', 'available_at'))} {ChangeRecord.objects.count()} change(s) left\n{worker.log()[-2500:]}") from None
        for opportunity in [first, *during]:
            assert sf.query(f"SELECT Id FROM Opportunity WHERE Cothon_Ref__c = '{opportunity.reference}'")["totalSize"] == 1
    finally:
        worker.stop()
