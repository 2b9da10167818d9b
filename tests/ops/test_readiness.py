"""/healthz answers without the database; /readyz checks the database, the broker, a worker
heartbeat for every queue and beat's last tick, and names what fails (503) without secrets."""

from __future__ import annotations

import datetime
import socket
import time

import pytest
from django.db import connection as db
from django.utils import timezone

from cothon.broker import TRANSPORT_ALIAS
from sync_engine import readiness
from sync_engine.models import ProcessHeartbeat
from sync_engine.tasks import sweep_outbox

QUEUES = ["realtime", "default", "bulk"]


@pytest.fixture
def all_beating(db):
    readiness.record_heartbeat(name="realtime@host", kind="worker", queues="realtime")
    readiness.record_heartbeat(name="default@host", kind="worker", queues="bulk,default")
    readiness.record_beat_tick()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_healthz_answers_without_touching_the_database(client):
    # No `db` fixture: any query would fail this test.
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_is_200_with_every_check_when_all_is_well(client, all_beating):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"database", "broker", "workers", "beat"}
    for check in body["checks"].values():
        assert set(check) == {"ok", "detail", "age_seconds"} and check["ok"] is True
    assert 0 <= body["checks"]["beat"]["age_seconds"] < 5


def test_readyz_names_an_unreachable_broker_and_no_password(client, all_beating, settings):
    settings.CELERY_BROKER_URL = f"redis://:hunter2-secret@127.0.0.1:{closed_port()}/0"
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 10  # short timeouts: a probe answers
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"] and body["checks"]["broker"]["ok"] is False
    assert "hunter2" not in response.content.decode()


def test_the_embedded_broker_is_ready_with_its_queue_folder_only(tmp_path):
    options = {"data_folder_in": str(tmp_path)}
    assert readiness.check_broker(f"{TRANSPORT_ALIAS}://", options).ok
    missing = readiness.check_broker(f"{TRANSPORT_ALIAS}://", {"data_folder_in": str(tmp_path / "gone")})
    assert not missing.ok and "missing" in missing.detail


def test_readyz_is_503_without_a_worker_heartbeat_for_a_queue(client, db):
    readiness.record_heartbeat(name="realtime@host", kind="worker", queues="realtime")
    readiness.record_beat_tick()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["workers"]
    assert "bulk" in body["checks"]["workers"]["detail"] and "default" in body["checks"]["workers"]["detail"]


def test_readyz_is_503_when_a_worker_stopped_beating(client, all_beating, settings):
    ProcessHeartbeat.objects.filter(name="realtime@host").update(last_seen=timezone.now() - datetime.timedelta(minutes=5))
    body = client.get("/readyz").json()
    assert body["failing"] == ["workers"] and "realtime" in body["checks"]["workers"]["detail"]
    assert body["checks"]["workers"]["age_seconds"] >= 299


def test_readyz_is_503_when_beat_stopped_ticking(client, all_beating):
    ProcessHeartbeat.objects.filter(name=readiness.BEAT).update(last_seen=timezone.now() - datetime.timedelta(minutes=10))
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["failing"] == ["beat"]
    ProcessHeartbeat.objects.filter(name=readiness.BEAT).delete()
    assert client.get("/readyz").json()["failing"] == ["beat"]


def test_the_outbox_sweep_is_beats_tick_and_forgets_workers_gone_for_a_day(client, db):
    assert not readiness.check_beat().ok
    readiness.record_heartbeat(name="default@old-container", kind="worker", queues="default")
    readiness.record_heartbeat(name="default@new-container", kind="worker", queues="default")
    ProcessHeartbeat.objects.filter(name="default@old-container").update(last_seen=timezone.now() - datetime.timedelta(days=2))
    sweep_outbox()
    assert readiness.check_beat().ok
    assert set(ProcessHeartbeat.objects.values_list("name", flat=True)) == {"beat", "default@new-container"}


def test_the_web_scope_checks_only_what_web_needs(client, db):
    # No worker, no beat: the web container itself is healthy.
    response = client.get("/readyz?scope=web")
    assert response.status_code == 200 and set(response.json()["checks"]) == {"database", "broker"}
    assert client.get("/readyz").status_code == 503


def test_readyz_skips_the_database_checks_when_the_database_is_down(monkeypatch, all_beating):
    def broken():
        return readiness.Check(False, "database unreachable (OperationalError)")

    monkeypatch.setitem(readiness.CHECKS, "database", broken)
    ok, checks = readiness.readiness()
    assert not ok and checks["workers"]["detail"].startswith("not checked")


@pytest.mark.django_db(transaction=True)
def test_a_worker_heartbeat_thread_beats_until_stopped():
    stop = readiness.start_worker_heartbeat(name="w1@host", queues=["default", "bulk"], every=0.05)
    try:
        deadline = time.monotonic() + 5
        while not ProcessHeartbeat.objects.filter(name="w1@host").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        first = ProcessHeartbeat.objects.get(name="w1@host")
        assert first.kind == "worker" and first.queues == "bulk,default"
        time.sleep(0.3)
        assert ProcessHeartbeat.objects.get(name="w1@host").last_seen > first.last_seen
    finally:
        stop.set()
    time.sleep(0.2)
    stopped = ProcessHeartbeat.objects.get(name="w1@host").last_seen
    time.sleep(0.3)
    assert ProcessHeartbeat.objects.get(name="w1@host").last_seen == stopped  # a stopped (or killed) worker beats no more
    assert readiness.check_workers(["default"], max_age=0.2).ok is False
    db.close()


def test_the_worker_healthcheck_command_wants_a_recent_heartbeat_of_this_host(db):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="no worker heartbeat"):
        call_command("heartbeat_check", "--worker")
    readiness.record_heartbeat(name=f"default@{socket.gethostname()}", kind="worker", queues="default")
    call_command("heartbeat_check", "--worker")
    ProcessHeartbeat.objects.update(last_seen=timezone.now() - datetime.timedelta(minutes=5))
    with pytest.raises(CommandError, match="last heartbeat"):
        call_command("heartbeat_check", "--worker")
