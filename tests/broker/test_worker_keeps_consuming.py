"""A real Celery worker on the embedded broker, as `make run` starts it (prefork pool), keeps
consuming when unreadable files land in its queue folder and when the folder itself is briefly
unreadable: its main process never dies (issue #15: a half-written message file killed it).

The worker gets a private var folder, so these files never reach another test's worker."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
from celery import Celery

from cothon import broker

ROOT = Path(__file__).resolve().parents[2]


def _options(var: Path) -> dict:
    root = var / "broker"
    return {"data_folder_in": str(root / "queue"), "data_folder_out": str(root / "queue"),
            "processed_folder": str(root / "processed"), "control_folder": str(root / "control"),
            "bad_folder": str(root / "bad"), "polling_interval": 0.1}


class EmbeddedWorker:
    def __init__(self, var: Path):
        self.var = var
        self.log_path = var / "worker.log"
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "COTHON_TEST_DB_NAME")}
        env.update(COTHON_VAR_DIR=str(var), PYTHONUNBUFFERED="1", DJANGO_SETTINGS_MODULE="cothon.settings")
        var.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "cothon", "worker", "-Q", "default", "-c", "1",
             "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info", "-n", f"broker-test-{uuid.uuid4().hex[:8]}@%h"],
            cwd=ROOT, env=env, stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT, start_new_session=True)  # noqa: SIM115
        self.wait_for("ready.", timeout=60)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            assert self.process.poll() is None, f"the worker's main process died:\n{self.log()[-4000:]}"
            assert time.monotonic() < deadline, f"no {text!r} in the worker log:\n{self.log()[-4000:]}"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def worker(tmp_path):
    w = EmbeddedWorker(tmp_path / "var")
    yield w
    w.stop()


@pytest.fixture
def producer(tmp_path):
    """A Celery client on the worker's broker folder (what web and beat are to the worker)."""
    broker.Transport.global_state.clear()
    app = Celery("probe", set_as_current=False)
    app.conf.update(broker_url=f"{broker.TRANSPORT_ALIAS}://", broker_transport_options=_options(tmp_path / "var"))
    yield app
    app.close()
    broker.Transport.global_state.clear()


def _round_trip(worker: EmbeddedWorker, producer: Celery, value: int) -> None:
    """A built-in task (celery.accumulate returns its argument) sent and seen to succeed."""
    task_id = producer.send_task("celery.accumulate", args=(value,), queue="default").id
    worker.wait_for(f"Task celery.accumulate[{task_id}] succeeded")


@pytest.mark.timeout(180)
def test_the_worker_skips_unreadable_message_files_and_keeps_consuming(worker, producer):
    _round_trip(worker, producer, 1)
    main = psutil.Process(worker.process.pid)
    queue = worker.var / "broker" / "queue"
    real = b'{"body": "eyJhIjogMX0=", "content-encoding": "utf-8", "content-type": "application/json", ' \
           b'"headers": {}, "properties": {"delivery_tag": "x", "body_encoding": "base64", "delivery_info": {}}}'
    garbage = {"truncated": real[:70], "empty": b"", "not-json": b"\x00\xff garbage", "not-a-message": b"[1, 2, 3]"}
    names = []
    for kind, content in garbage.items():
        # Named exactly as kombu names messages, sorted first: the worker must take them first.
        name = f"0_{uuid.uuid4()}.default.msg"
        (queue / name).write_bytes(content)
        names.append(name)

    _round_trip(worker, producer, 2)

    assert main.is_running() and main.status() != psutil.STATUS_ZOMBIE
    assert sorted(p.name for p in (worker.var / "broker" / "bad").iterdir()) == sorted(names)
    log = worker.log()
    for name in names:
        assert f"Broker message {name} is not a readable message" in log
    assert "Traceback" not in log


@pytest.mark.timeout(180)
def test_the_worker_survives_its_queue_folder_vanishing_for_a_while(worker, producer):
    """A transient read error on the broker (the folder is gone for a few seconds): the consumer
    reconnects, the main process stays up and the next task is consumed."""
    _round_trip(worker, producer, 1)
    main = psutil.Process(worker.process.pid)
    queue = worker.var / "broker" / "queue"
    away = queue.with_name("queue-away")
    queue.rename(away)
    try:
        worker.wait_for("Connection to broker lost", timeout=30)
        time.sleep(2)
    finally:
        if queue.exists():
            shutil.rmtree(queue)
        away.rename(queue)
    _round_trip(worker, producer, 3)
    assert main.is_running() and main.status() != psutil.STATUS_ZOMBIE
