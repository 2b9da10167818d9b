"""Chaos runs on real processes, shared by `tests/chaos/` and `benchmarks/chaos.py`.

A private Salesforce emulator on fixed ports (so it can be killed and restarted where the
connection expects it), a real-time worker (`-Q realtime`, solo pool), a background worker
(`-Q default`, prefork pool with one child on Redis, so the main process and the pool child can be
killed separately) and beat — all on the database and broker the caller configured (PostgreSQL +
Redis, or SQLite + the filesystem broker). A scenario starts a full sync slowed by latency
faults, injects one fault, keeps editing records, waits until everything has settled and checks
that every record is in Salesforce exactly once with its latest values.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from tests.sync_engine.workers import wait_for

ROOT = Path(__file__).resolve().parents[2]

# Short leases and a fast sweeper: recovery is measured in seconds, not minutes.
CHAOS_ENV = {
    "COTHON_OUTBOX_LEASE_SECONDS": "3",
    "COTHON_SWEEP_SECONDS": "1",
    "COTHON_LIMITS_PROBE_SECONDS": "2",
    "COTHON_PUSH_BATCH_SIZE": "20",
}
KILLS = ("realtime_worker", "background_worker", "background_pool_child", "beat", "emulator")
INJECTED = ("unable_to_lock_row", "server_unavailable", "dropped_connection", "expired_session")
FAULTS = KILLS + INJECTED


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateEmulator:
    """An emulator this run may kill: fixed ports and data dir, so a restart comes back where
    the connection points, with the records it had (its store is SQLite)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.https_port, self.http_port = free_port(), free_port()
        self.process: subprocess.Popen | None = None
        self.client = None

    def start(self) -> "PrivateEmulator":
        from salesforce_emulator.client import EmulatorClient

        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "emulator.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "salesforce_emulator", "serve", "--port", str(self.https_port),
             "--http-port", str(self.http_port), "--data-dir", str(self.data_dir)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        runtime = self.data_dir / "runtime.json"

        def ready():
            if self.process.poll() is not None:
                raise RuntimeError((self.data_dir / "emulator.log").read_text()[-3000:])
            try:
                if json.loads(runtime.read_text()).get("pid") != self.process.pid:
                    return None
                return EmulatorClient.from_data_dir(self.data_dir)
            except Exception:  # noqa: BLE001 - not answering yet
                return None

        self.client = wait_for(ready, timeout=30, message="the emulator to start")
        return self

    @property
    def instance_url(self) -> str:
        return self.client.instance_url

    @property
    def ca_bundle(self) -> str:
        return self.client.ca_bundle

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def sf(self):
        from simple_salesforce import Salesforce
        import requests

        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_bundle
        token = self.client.mint_token("demo")["access_token"]
        return Salesforce(instance_url=self.instance_url, session_id=token, session=session, version="59.0")


class CeleryProcess:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path, ready_marker: bytes) -> None:
        self.name, self.args, self.env, self.ready_marker = name, args, env, ready_marker
        self.log_path = log_dir / f"{name}-{os.getpid()}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "CeleryProcess":
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "cothon", *self.args], cwd=ROOT, env=self.env,
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

        def ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log()[-3000:]}")
            return self.ready_marker in self.log_path.read_bytes()[offset:]

        wait_for(ready, timeout=45, message=f"{self.name} to start")
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pool_child(self) -> psutil.Process:
        return wait_for(lambda: (psutil.Process(self.process.pid).children() or [None])[0], timeout=10, message=f"{self.name}'s pool child")

    def kill(self) -> None:
        """SIGKILL the main process only (what the OOM killer or `kill -9` does)."""
        if self.alive():
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        else:
            try:  # orphaned pool children of a killed main process
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, TypeError, AttributeError):
                pass

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def embedded_broker() -> bool:
    from django.conf import settings

    return str(settings.CELERY_BROKER_URL).startswith("cothonfs")


def background_pool() -> list[str]:
    """The background worker's pool as the product runs it: prefork with one child on Redis
    (the async pool, a pipe per child); a thread pool on the embedded broker, as `make run`
    starts it (scripts/run.py says why: billiard's plain pool hangs when an idle child dies)."""
    return ["-P", "threads", "-c", "1"] if embedded_broker() else ["-P", "prefork", "-c", "1"]


def process_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's database and broker for child processes, with the chaos leases."""
    from tests.sync_engine.workers import worker_env

    return worker_env({**CHAOS_ENV, **(extra or {})})


class ChaosStack:
    """The worker processes of one chaos run; `ensure()` (re)starts whatever is not running,
    as `make run`'s supervisor would."""

    def __init__(self, log_dir: Path) -> None:
        env = process_env()
        common = ["--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info"]
        stamp = time.time_ns()
        self.processes = {
            "realtime_worker": CeleryProcess("realtime-worker", ["worker", "-Q", "realtime", "-P", "solo", "-n", f"rt-{stamp}@%h", *common],
                                             env, log_dir, b"ready."),
            "background_worker": CeleryProcess("background-worker", ["worker", "-Q", "default", *background_pool(),
                                                                     "-n", f"bg-{stamp}@%h", *common], env, log_dir, b"ready."),
            "beat": CeleryProcess("beat", ["beat", "-S", "django_celery_beat.schedulers:DatabaseScheduler", "--pidfile=",
                                           "-l", "info"], env, log_dir, b"beat: Starting"),
        }

    def ensure(self) -> None:
        for process in self.processes.values():
            if not process.alive():
                process.start()

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{p.log()[-2500:]}" for name, p in self.processes.items())


@dataclass
class ScenarioResult:
    fault: str
    records: int
    lost: int
    duplicates: int
    stale: int
    queued_left: int
    run_status: str
    recover_seconds: float
    api_calls: int
    product_up: bool
    details: list[str] = field(default_factory=list)
    fault_hits: int | None = None  # how often an injected Salesforce fault fired


def seed(tenant, *, opportunities: int, departments: int = 6) -> list:
    """Records created before the org is connected: the full sync sends them all."""
    import datetime

    from opportunities.services import department_create, opportunity_create

    depts = [department_create(tenant=tenant, name=f"Chaos Department {i}") for i in range(departments)]
    created = []
    for i in range(opportunities):
        created.append(opportunity_create(
            tenant=tenant, title=f"Chaos opportunity {i}", reference=f"CHAOS-{i:05d}", department=depts[i % departments],
            value_min=10000 + i, value_max=20000 + i, status="identified",
            closing_date=datetime.date.today() + datetime.timedelta(days=60)))
    return created


def connect(tenant, emulator: PrivateEmulator, actor):
    from integrations import connections as svc
    from integrations.models import Environment

    creds = emulator.client.credentials("demo")
    connection = svc.connection_create(tenant=tenant, name="Chaos org", environment=Environment.CUSTOM, login_url=emulator.instance_url,
                                       client_id=creds["client_id"], client_secret=creds["client_secret"],
                                       ca_bundle_path=emulator.ca_bundle, actor=actor)
    return svc.connection_connect_client_credentials(connection=connection, actor=actor)


def _in_flight(connection_id: int, priority_max: int | None = None) -> bool:
    from sync_engine.models import OutboxEntry, OutboxState

    rows = OutboxEntry.objects.filter(connection_id=connection_id, state=OutboxState.CLAIMED)
    if priority_max is not None:
        rows = rows.filter(priority__lte=priority_max)
    return rows.exists()


def slow_down(emulator: PrivateEmulator, latency_ms: int) -> None:
    """Every collections call takes `latency_ms` (the emulator applies the first matching rule,
    so faults that must fire are added before this one)."""
    emulator.client.add_fault(org="demo", path_contains="composite/sobjects", latency_ms=latency_ms, status=200, error_code="")


def _first(client, **rule) -> int:
    """Add a fault rule ahead of the latency rule; returns its id."""
    latency = [r for r in client.faults() if r.get("latency_ms") and r.get("status") == 200]
    client.clear_faults()
    added = client.add_fault(**rule)
    for r in latency:
        client.add_fault(org=r["org"], path_contains=r["path_contains"], latency_ms=r["latency_ms"], status=200, error_code="")
    return added["id"]


def inject(fault: str, stack: ChaosStack, emulator: PrivateEmulator, connection, edit) -> int | None:
    """Inject one fault while the full sync is in flight; `edit()` makes real-time changes.
    Returns the id of the emulator fault rule, if the fault is one."""
    from sync_engine.models import Priority

    client = emulator.client
    if fault == "none":  # the baseline: the same run and edits without a fault
        edit()
    elif fault == "realtime_worker":
        edit()
        wait_for(lambda: _in_flight(connection.pk, Priority.REALTIME), timeout=20, message="a real-time batch in flight")
        stack.processes["realtime_worker"].kill()
    elif fault == "background_worker":
        wait_for(lambda: _in_flight(connection.pk), timeout=20, message="a background batch in flight")
        stack.processes["background_worker"].kill()
        edit()
    elif fault == "background_pool_child":
        wait_for(lambda: _in_flight(connection.pk), timeout=20, message="a background batch in flight")
        stack.processes["background_worker"].pool_child().kill()
        edit()
    elif fault == "beat":
        stack.processes["beat"].kill()
        edit()
    elif fault == "emulator":
        wait_for(lambda: _in_flight(connection.pk), timeout=20, message="a background batch in flight")
        emulator.kill()
        edit()  # saved while Salesforce is down: queued, sent when it is back
        time.sleep(2)
        emulator.start()
        return None
    elif fault == "unable_to_lock_row":
        rule = _first(client, org="demo", operation="upsert", per_record=True, error_code="UNABLE_TO_LOCK_ROW",
                      message="unable to obtain exclusive access to this record", count=6, status=400)
        edit()
        return rule
    elif fault == "server_unavailable":
        rule = _first(client, org="demo", path_contains="composite/sobjects", status=503, error_code="SERVER_UNAVAILABLE", count=3)
        edit()
        return rule
    elif fault == "dropped_connection":
        rule = _first(client, org="demo", path_contains="composite/sobjects", drop_connection=True, count=3)
        edit()
        return rule
    elif fault == "expired_session":
        client.expire_all_tokens(org="demo")
        edit()
    else:
        raise ValueError(f"unknown fault {fault!r}")
    return None


def settled(connection_id: int, run_id: int) -> bool:
    from sync_engine.models import ChangeRecord, OutboxEntry, OutboxState, SyncRun, SyncRunStatus

    run = SyncRun.objects.get(pk=run_id)
    # A change recorded but not fanned out yet is open work too.
    open_rows = (OutboxEntry.objects.filter(connection_id=connection_id, state__in=[OutboxState.PENDING, OutboxState.CLAIMED]).exists()
                 or ChangeRecord.objects.filter(tenant_id=run.tenant_id).exists())
    return not open_rows and run.status not in (SyncRunStatus.QUEUED, SyncRunStatus.RUNNING)


def run_scenario(fault: str, *, stack: ChaosStack, emulator: PrivateEmulator, tenant, connection, actor, opportunities: list,
                 latency_ms: int = 300, timeout: float = 150) -> ScenarioResult:
    from django.db import transaction
    from django.test import Client

    from opportunities import services as opp
    from sync_engine.models import OutboxEntry, SyncRun
    from sync_engine.services import sync_now_start

    stack.ensure()
    emulator.client.clear_faults()
    emulator.client.reset_counters()
    # Slow Salesforce down so every fault lands while batches are in flight.
    slow_down(emulator, latency_ms)
    with transaction.atomic():
        run = sync_now_start(connection=connection, kind="full", actor=actor)
    edited: list = []

    def edit() -> None:
        for opportunity in opportunities[:5]:
            opportunity.refresh_from_db()
            opp.opportunity_update(tenant=tenant, opportunity=opportunity,
                                   data={"title": f"{opportunity.title.split(' (')[0]} (edited {time.time_ns()})"})
            edited.append(opportunity.pk)

    wait_for(lambda: SyncRun.objects.filter(pk=run.pk, processed__gt=0).exists() or _in_flight(connection.pk), timeout=30,
             message="the full sync to start")
    started = time.monotonic()
    rule_id = inject(fault, stack, emulator, connection, edit)
    stack.ensure()  # the supervisor restarts what was killed
    try:
        wait_for(lambda: settled(connection.pk, run.pk), timeout=timeout, message=f"everything to settle after {fault}", interval=0.25)
    except AssertionError:
        rows = list(OutboxEntry.objects.values("state", "priority", "attempts", "available_at", "lease_expires_at")[:10])
        raise AssertionError(f"{fault}: not settled; open rows {rows}; run {SyncRun.objects.filter(pk=run.pk).values().first()}\n"
                             f"{stack.logs()}") from None
    recover = time.monotonic() - started
    hits = next((r["hits"] for r in emulator.client.faults() if r["id"] == rule_id), None) if rule_id else None
    emulator.client.clear_faults()
    result = verify(fault, tenant=tenant, connection=connection, emulator=emulator, run_id=run.pk, recover=recover)
    result.product_up = Client().get("/healthz").status_code == 200
    result.fault_hits = hits
    return result


def verify(fault: str, *, tenant, connection, emulator: PrivateEmulator, run_id: int, recover: float) -> ScenarioResult:
    """Every Cothon opportunity and department in the org exactly once, with its latest title."""
    from opportunities.models import Department, Opportunity
    from sync_engine.models import OutboxEntry, OutboxState, SyncRun

    sf = emulator.sf()
    records = sf.query_all("SELECT Cothon_Ref__c, Name, Cothon_Full_Title__c FROM Opportunity WHERE Cothon_Ref__c != null")["records"]
    by_ref: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_ref.setdefault(record["Cothon_Ref__c"], []).append(record)
    lost = duplicates = stale = 0
    details = []
    local = list(Opportunity.objects.filter(tenant=tenant))
    for opportunity in local:
        found = by_ref.get(opportunity.reference, [])
        if not found:
            lost += 1
            details.append(f"missing {opportunity.reference}")
        elif len(found) > 1:
            duplicates += len(found) - 1
            details.append(f"{len(found)}× {opportunity.reference}")
        elif (found[0].get("Cothon_Full_Title__c") or found[0]["Name"]) != opportunity.title:
            stale += 1
            details.append(f"stale {opportunity.reference}: {found[0]['Name']!r} != {opportunity.title!r}")
    accounts = sf.query_all("SELECT Name FROM Account WHERE Name LIKE 'Chaos Department%'")["records"]
    names = [a["Name"] for a in accounts]
    for department in Department.objects.filter(tenant=tenant):
        if names.count(department.name) == 0:
            lost += 1
            details.append(f"missing Account {department.name}")
        elif names.count(department.name) > 1:
            duplicates += names.count(department.name) - 1
            details.append(f"{names.count(department.name)}× Account {department.name}")
    queued = OutboxEntry.objects.filter(connection=connection, state__in=[OutboxState.PENDING, OutboxState.CLAIMED, OutboxState.FAILED]).count()
    run = SyncRun.objects.get(pk=run_id)
    # Calls as Cothon counted them (every request it sent, failed ones included); the emulator's
    # own counters restart with it.
    from django.db.models import Sum

    from sync_engine.models import ApiCallBucket

    calls = ApiCallBucket.objects.filter(connection=connection).aggregate(n=Sum("calls"))["n"] or 0
    return ScenarioResult(fault, len(local) + len(names), lost, duplicates, stale, queued, run.status, recover, calls, True, details)
