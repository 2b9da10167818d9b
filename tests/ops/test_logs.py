"""Structured logs: one JSON object per line with the request id (taken from a sane incoming
X-Request-ID, else made, and returned) or the task's correlation ids; gunicorn's access log too."""

from __future__ import annotations

import datetime
import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from cothon import logs
from cothon.celery import _task_finished, _task_started
from cothon.gunicorn_logging import RedactingLogger
from sync_engine.tasks import push_background

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_lines():
    """JSON lines of the django.request logger, as COTHON_LOG_FORMAT=json writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.CorrelationFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_a_request_log_line_is_json_with_the_request_id_of_the_response(client, db, json_lines):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    rid = response["X-Request-ID"]
    assert len(rid) == 32
    (line,) = [entry for entry in json_lines() if entry["logger"] == "django.request"]
    assert line["request_id"] == rid and line["level"] == "WARNING" and "/no-such-page/" in line["message"]
    datetime.datetime.fromisoformat(line["time"])


def test_a_sane_incoming_request_id_is_kept(client, db):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="edge-7f3a.42:1").headers["X-Request-ID"] == "edge-7f3a.42:1"


@pytest.mark.parametrize("bad", ["abc\r\nX-Injected: 1", "a" * 10_000, "", "id with spaces", "<script>"],
                         ids=["newlines", "10 KB", "empty", "spaces", "markup"])
def test_a_malicious_incoming_request_id_is_replaced(client, db, bad):
    rid = client.get("/healthz", HTTP_X_REQUEST_ID=bad).headers["X-Request-ID"]
    assert rid != bad and len(rid) == 32 and rid.isalnum()


def test_exceptions_are_one_json_line_with_the_traceback():
    record = logging.LogRecord("sync_engine.executor", logging.ERROR, __file__, 1, "push failed for %s", ("batch",), None)
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        record.exc_info = sys.exc_info()
    token = logs.request_id.set("r-1")
    try:
        logs.CorrelationFilter().filter(record)
        text = logs.JsonFormatter().format(record)
    finally:
        logs.request_id.reset(token)
    assert "\n" not in text
    entry = json.loads(text)
    assert entry["message"] == "push failed for batch" and entry["logger"] == "sync_engine.executor"
    assert entry["level"] == "ERROR" and entry["request_id"] == "r-1"
    assert "ValueError: boom" in entry["exception"] and "Traceback" in entry["exception"]


def test_a_task_carries_its_task_id_and_connection_while_it_runs():
    _task_started(task_id="task-123", task=push_background, args=(42,), kwargs={"run_id": 7})
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "working", (), None)
        logs.CorrelationFilter().filter(record)
        entry = json.loads(logs.JsonFormatter().format(record))
        assert entry["task_id"] == "task-123" and entry["task_name"] == "sync_engine.push_background"
        assert entry["connection_id"] == 42 and entry["run_id"] == 7
    finally:
        _task_finished(task_id="task-123")
    assert logs.task_id.get() == "" and logs.connection_id.get() is None


def test_the_setting_turns_json_on_and_text_stays_the_default(tmp_path):
    code = "import django, logging; django.setup(); logging.getLogger('cothon.check').warning('hello %s', 'there')"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cothon.settings", "COTHON_DEMO": "1", "COTHON_VAR_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)
    as_json = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, "COTHON_LOG_FORMAT": "json"},
                             capture_output=True, text=True, timeout=60)
    entry = json.loads(as_json.stderr.strip().splitlines()[-1])
    assert entry["message"] == "hello there" and entry["level"] == "WARNING" and entry["logger"] == "cothon.check"
    as_text = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert as_text.stderr.strip().splitlines()[-1].endswith("WARNING cothon.check: hello there")


def test_gunicorns_access_log_is_json_with_the_request_id_and_no_secrets(monkeypatch, capsys):
    from gunicorn.config import Config

    monkeypatch.setenv("COTHON_LOG_FORMAT", "json")
    cfg = Config()
    cfg.set("accesslog", "-")
    logger = RedactingLogger(cfg)
    response = SimpleNamespace(status="302 Found", status_code=302, headers=[("X-Request-ID", "abc123"), ("Location", "/")],
                               response_length=0, sent=0)
    request = SimpleNamespace(method="GET", path="/settings/integrations/oauth/callback/", query="code=SECRETCODE&state=xyz",
                              version=(1, 1), headers=[("USER-AGENT", "curl/8")], uri="/settings/integrations/oauth/callback/?code=SECRETCODE&state=xyz")
    environ = {"REMOTE_ADDR": "10.0.0.5", "RAW_URI": request.uri, "QUERY_STRING": request.query, "PATH_INFO": request.path,
               "REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1"}
    logger.access(response, request, environ, datetime.timedelta(milliseconds=12))
    line = capsys.readouterr().out.strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["request_id"] == "abc123" and entry["status"] == 302 and entry["method"] == "GET"
    assert entry["path"] == "/settings/integrations/oauth/callback/" and entry["duration_ms"] == 12.0
    assert "SECRETCODE" not in line and entry["logger"] == "gunicorn.access"


def test_gunicorn_serving_the_app_writes_json_lines_that_share_the_request_id(tmp_path):
    import time

    import requests

    from tests.security.test_demo_server import _free_port, _run_py_env

    env = _run_py_env()
    for name in ("DATABASE_URL", "REDIS_URL", "COTHON_TEST_DB_NAME", "DJANGO_DEBUG", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    env.update(DJANGO_DEBUG="0", COTHON_VAR_DIR=str(tmp_path), COTHON_LOG_FORMAT="json")
    port = _free_port()
    with open(tmp_path / "gunicorn.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "cothon.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                                 "--access-logfile", "-"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 40
            while True:
                try:
                    requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                    break
                except requests.RequestException:
                    assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                    time.sleep(0.3)
            response = requests.get(f"http://127.0.0.1:{port}/no-such-page/?code=ONE-TIME", timeout=10,
                                    headers={"X-Request-ID": "lb-2f9c"})
            assert response.status_code == 404 and response.headers["X-Request-ID"] == "lb-2f9c"
            time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait(10)
    lines = [line for line in (tmp_path / "gunicorn.log").read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line, gunicorn's own included, is JSON
    app = [e for e in entries if e["logger"] == "django.request"]
    access = [e for e in entries if e["logger"] == "gunicorn.access" and e.get("path") == "/no-such-page/"]
    assert app and app[-1]["request_id"] == "lb-2f9c" and app[-1]["level"] == "WARNING"
    assert access and access[-1]["request_id"] == "lb-2f9c" and access[-1]["status"] == 404
    assert any(e["logger"] == "gunicorn.error" for e in entries)
    assert "ONE-TIME" not in "\n".join(lines)
