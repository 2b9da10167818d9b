"""The embedded broker (cothon/broker.py): a message file that cannot be read is logged and set
aside, never raised; writes are atomic; concurrent binds keep every binding. These use kombu's
real Connection, Producer and Consumer on a private folder, no Celery."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
import uuid
from pathlib import Path

import kombu
import pytest

from cothon import broker


@pytest.fixture(autouse=True)
def fresh_broker_state():
    """kombu keeps declared exchanges and bindings per process (Transport.global_state); each
    test has its own folder, so it must not inherit the previous test's."""
    broker.Transport.global_state.clear()
    yield
    broker.Transport.global_state.clear()


def _options(root: Path) -> dict:
    for sub in ("queue", "control", "processed"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return {"data_folder_in": str(root / "queue"), "data_folder_out": str(root / "queue"),
            "processed_folder": str(root / "processed"), "control_folder": str(root / "control"),
            "bad_folder": str(root / "bad"), "polling_interval": 0.01}


def _connection(root: Path) -> kombu.Connection:
    return kombu.Connection(f"{broker.TRANSPORT_ALIAS}://", transport_options=_options(root))


def _drop(root: Path, queue: str, content: bytes, order: int = 0) -> Path:
    """A file named exactly as a real message for `queue`, sorted before real ones (order 0)."""
    path = root / "queue" / f"{order}_{uuid.uuid4()}.{queue}.msg"
    path.write_bytes(content)
    return path


def _publish(conn: kombu.Connection, queue: kombu.Queue, body: dict) -> None:
    conn.Producer().publish(body, exchange=queue.exchange, routing_key=queue.routing_key, declare=[queue],
                            serializer="json")


def _consume(conn: kombu.Connection, queue: kombu.Queue, count: int, timeout: float = 10) -> list:
    received = []
    with conn.Consumer([queue], accept=["json"], callbacks=[lambda body, message: (received.append(body), message.ack())]):
        deadline = time.monotonic() + timeout
        while len(received) < count and time.monotonic() < deadline:
            try:
                conn.drain_events(timeout=0.5)
            except TimeoutError:
                pass
    return received


def _a_real_message(root: Path, queue: kombu.Queue) -> bytes:
    """The bytes kombu writes for one message (published, then taken back off the folder)."""
    with _connection(root) as conn:
        _publish(conn, queue, {"n": "template"})
    [path] = list((root / "queue").glob(f"*.{queue.name}.msg"))
    data = path.read_bytes()
    path.unlink()
    return data


@pytest.mark.parametrize("defect", ["truncated", "empty", "not json", "json but not a message", "bad body encoding"])
def test_an_unreadable_message_file_is_set_aside_and_the_next_message_delivered(tmp_path, caplog, defect):
    queue = kombu.Queue("jobs", kombu.Exchange("jobs", "direct"), "jobs")
    real = _a_real_message(tmp_path, queue)
    content = {
        "truncated": real[: len(real) // 2],
        "empty": b"",
        "not json": b"\x00\xffthis is not a message",
        "json but not a message": b'{"hello": "world"}',
        "bad body encoding": json.dumps({**json.loads(real), "body": "!!not base64!!"}).encode(),
    }[defect]
    bad = _drop(tmp_path, "jobs", content)
    with caplog.at_level(logging.WARNING, logger="cothon.broker"), _connection(tmp_path) as conn:
        _publish(conn, queue, {"n": 1})
        assert _consume(conn, queue, 1) == [{"n": 1}]
    assert not bad.exists()
    assert [p.name for p in (tmp_path / "bad").iterdir()] == [bad.name]
    assert f"Broker message {bad.name} is not a readable message" in caplog.text


def test_a_message_taken_by_another_consumer_after_listing_is_skipped(tmp_path, monkeypatch):
    queue = kombu.Queue("jobs", kombu.Exchange("jobs", "direct"), "jobs")
    with _connection(tmp_path) as conn:
        _publish(conn, queue, {"n": "taken"})
        time.sleep(0.01)  # file names start with the millisecond: "taken" sorts first
        _publish(conn, queue, {"n": "mine"})
        channel = conn.default_channel
        real_listdir = os.listdir

        def listdir_then_other_consumer_takes_the_first(folder):
            names = real_listdir(folder)
            first = sorted(n for n in names if n.endswith(".jobs.msg"))[0]
            os.remove(os.path.join(folder, first))  # what a second worker's claim does to us
            return names

        monkeypatch.setattr(broker.os, "listdir", listdir_then_other_consumer_takes_the_first)
        payload = channel._get("jobs")
        assert channel.message_to_python(payload).decode() == {"n": "mine"}


def test_temp_files_of_a_write_in_progress_are_never_read(tmp_path):
    queue = kombu.Queue("jobs", kombu.Exchange("jobs", "direct"), "jobs")
    in_progress = tmp_path / "queue" / f".1_{uuid.uuid4()}.jobs.msg.abc123.tmp"
    with _connection(tmp_path) as conn:
        in_progress.write_bytes(b'{"half')
        _publish(conn, queue, {"n": 1})
        assert _consume(conn, queue, 1) == [{"n": 1}]
    assert in_progress.exists()  # untouched: it is the writer's until renamed
    assert not (tmp_path / "bad").exists()


def test_message_files_are_private_to_the_owner(tmp_path):
    queue = kombu.Queue("jobs", kombu.Exchange("jobs", "direct"), "jobs")
    with _connection(tmp_path) as conn:
        _publish(conn, queue, {"n": 1})
    [path] = list((tmp_path / "queue").glob("*.jobs.msg"))
    assert path.stat().st_mode & 0o777 == 0o600


def _publish_many(root: str, count: int, size: int) -> None:
    queue = kombu.Queue("big", kombu.Exchange("big", "direct"), "big")
    with _connection(Path(root)) as conn:
        for n in range(count):
            _publish(conn, queue, {"n": n, "pad": "x" * size})


def test_a_reader_racing_a_writer_never_sees_half_a_message(tmp_path):
    """Large messages published by another process while this one consumes as fast as it can:
    every message arrives whole (kombu's own writer let the reader take a file mid-write)."""
    queue = kombu.Queue("big", kombu.Exchange("big", "direct"), "big")
    with _connection(tmp_path) as conn:
        queue(conn.default_channel).declare()
    writer = multiprocessing.get_context("fork").Process(target=_publish_many, args=(str(tmp_path), 60, 2_000_000))
    writer.start()
    with _connection(tmp_path) as conn:
        received = _consume(conn, queue, 60, timeout=120)
    writer.join(30)
    assert sorted(body["n"] for body in received) == list(range(60))
    assert not (tmp_path / "bad").exists()


def _bind(root: str, name: str, start_at: float) -> None:
    with _connection(Path(root)) as conn:
        time.sleep(max(0.0, start_at - time.time()))
        kombu.Queue(name, kombu.Exchange("shared", "direct"), name)(conn.default_channel).declare()


def test_processes_binding_one_exchange_at_once_keep_every_binding(tmp_path):
    _options(tmp_path)
    names = [f"q{i}" for i in range(8)]
    start_at = time.time() + 1.0
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_bind, args=(str(tmp_path), name, start_at)) for name in names]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    table = json.loads((tmp_path / "control" / "shared.exchange").read_text())
    assert sorted(row[2] for row in table) == names


def test_an_unreadable_exchange_table_is_logged_not_raised(tmp_path, caplog):
    _options(tmp_path)
    (tmp_path / "control" / "jobs.exchange").write_text('[["jobs", "", "jo')
    with caplog.at_level(logging.WARNING, logger="cothon.broker"), _connection(tmp_path) as conn:
        assert conn.default_channel.get_table("jobs") == []
        kombu.Queue("jobs", kombu.Exchange("jobs", "direct"), "jobs")(conn.default_channel).declare()  # rewrites it whole
        assert [tuple(row) for row in conn.default_channel.get_table("jobs")] == [("jobs", "", "jobs")]
    assert "Exchange table" in caplog.text


def test_a_missing_queue_folder_is_a_connection_error_the_consumer_recovers_from(tmp_path):
    with _connection(tmp_path) as conn:
        (tmp_path / "queue").rename(tmp_path / "queue-away")
        with pytest.raises(conn.connection_errors):
            conn.default_channel._get("jobs")
