"""Real Celery worker subprocesses for end-to-end and chaos tests (no eager mode).

The worker opens the same test database (PostgreSQL test DB or the SQLite test file) and the
same broker as the test process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    db = connection.settings_dict
    if db["ENGINE"].endswith("postgresql"):
        user = db.get("USER") or "postgres"
        env["DATABASE_URL"] = f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    else:
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(db["NAME"])
    env["COTHON_VAR_DIR"] = str(settings.VAR_DIR)
    env.pop("COTHON_TEST_DB_NAME", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class Worker:
    def __init__(self, queues: str = "realtime,default", extra_env: dict[str, str] | None = None, log_path: Path | None = None):
        self.queues = queues
        self.extra_env = extra_env or {}
        self.log_path = log_path or Path(settings.VAR_DIR) / f"worker-{os.getpid()}-{time.time_ns()}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Worker":
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "cothon", "worker", "-Q", self.queues, "-c", "1", "-P", "solo",
             "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info", "-n", f"test-{time.time_ns()}@%h"],
            cwd=ROOT, env=worker_env(self.extra_env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log_path.read_text()[-3000:]}")
            if b"ready." in self.log_path.read_bytes():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"worker did not become ready: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
