"""Shared set-up for benchmarks: a throwaway database (PostgreSQL when reachable), a private
emulator subprocess, Django configured for both. Benchmarks print figures; they assert nothing."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def setup_django(name: str) -> str:
    """Point Django at a fresh benchmark database and return a description of the backend."""
    workdir = Path(tempfile.mkdtemp(prefix=f"cothon-bench-{name}-"))
    os.environ["COTHON_VAR_DIR"] = str(workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cothon.settings")
    # Like the demo: keys generated into the throwaway var/, and the local emulator reachable.
    os.environ.setdefault("COTHON_DEMO", "1")
    os.environ.setdefault("COTHON_ALLOW_LOOPBACK_SALESFORCE", "1")
    backend = []
    if not os.environ.get("DATABASE_URL") and _reachable(5432):
        import psycopg2

        db = f"cothon_bench_{name}_{os.getpid()}"
        conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
        conn.autocommit = True
        conn.cursor().execute(f'CREATE DATABASE "{db}"')
        conn.close()
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{db}"
        os.environ["COTHON_BENCH_DROP_DB"] = db
        backend.append(f"PostgreSQL ({db})")
    elif os.environ.get("DATABASE_URL"):
        backend.append("DATABASE_URL from the environment")
    else:
        backend.append(f"SQLite ({workdir}/cothon.sqlite3)")
    if not os.environ.get("REDIS_URL") and _reachable(6379):
        os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/14"
    backend.append(f"Redis {os.environ['REDIS_URL']}" if os.environ.get("REDIS_URL") else "no Redis (database governor)")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    os.environ["COTHON_BENCH_WORKDIR"] = str(workdir)
    return ", ".join(backend)


def teardown_django() -> None:
    from django.db import connections

    connections.close_all()
    db = os.environ.get("COTHON_BENCH_DROP_DB")
    if db:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
        conn.autocommit = True
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.close()
    shutil.rmtree(os.environ.get("COTHON_BENCH_WORKDIR", "/nonexistent"), ignore_errors=True)


class Emulator:
    """A private emulator process on free ports."""

    def __init__(self) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="cothon-bench-emulator-"))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "salesforce_emulator", "serve", "--port", "0", "--http-port", "0", "--data-dir", str(self.data_dir)],
            cwd=ROOT, stdout=open(self.data_dir / "emulator.log", "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while not (self.data_dir / "runtime.json").exists():
            if time.time() > deadline or self.process.poll() is not None:
                raise RuntimeError((self.data_dir / "emulator.log").read_text())
            time.sleep(0.1)
        time.sleep(0.3)
        from salesforce_emulator.client import EmulatorClient

        self.client = EmulatorClient.from_data_dir(self.data_dir)
        self.demo = self.client.credentials("demo")

    def rss_mb(self) -> float:
        import psutil

        return psutil.Process(self.process.pid).memory_info().rss / 2**20

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.data_dir, ignore_errors=True)


class ApiServer:
    """The web process as `make run` serves it (gunicorn, 2 workers × 4 threads) on a free
    port, against the benchmark's database, so API clients measure the real request path (an
    in-process test client shares the benchmark's interpreter lock with every client thread)."""

    def __init__(self, *, workers: int = 2, threads: int = 4) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(os.environ.get("COTHON_BENCH_WORKDIR", tempfile.gettempdir())) / f"gunicorn-{self.port}.log"
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "cothon.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
             "--threads", str(threads)],
            cwd=ROOT, env=env, stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while not _reachable(self.port):
            if time.time() > deadline or self.process.poll() is not None:
                raise RuntimeError(self.log_path.read_text()[-3000:])
            time.sleep(0.1)
        # Both workers answer (each imports Django on its first request).
        import requests

        for _ in range(2 * workers):
            requests.get(f"{self.url}/healthz", timeout=30)

    def pids(self) -> list[int]:
        import psutil

        parent = psutil.Process(self.process.pid)
        return [parent.pid, *(child.pid for child in parent.children(recursive=True))]

    def cpu_seconds(self) -> float:
        import psutil

        total = 0.0
        for pid in self.pids():
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(rows: list[tuple], headers: tuple) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(out)


def print_json(data: dict) -> None:
    print(json.dumps(data, indent=2, default=str))


def connect_bench_org(emu):
    """A "Benchmark" organization connected to the emulator's demo org (client credentials),
    with an allowance no benchmark reaches. Returns (tenant, connection). Django must be set up."""
    from cothon.tenancy.services import tenant_create
    from integrations import connections as svc
    from integrations.models import Environment

    emu.client.set_limits("demo", allowance=50_000_000, used=0)
    tenant = tenant_create(name="Benchmark", slug="bench")
    connection = svc.connection_create(tenant=tenant, name="Bench org", environment=Environment.CUSTOM,
                                       login_url=emu.client.instance_url, client_id=emu.demo["client_id"],
                                       client_secret=emu.demo["client_secret"], ca_bundle_path=emu.client.ca_bundle)
    return tenant, svc.connection_connect_client_credentials(connection=connection, actor=None)
