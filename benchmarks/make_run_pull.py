"""Real-time pull latency on the `make run` stack: a Salesforce user's edit → the value in Cothon.

Starts `scripts/run.py` — exactly what `make run` starts: SQLite, the filesystem broker, real
Celery workers and beat, gunicorn, the local Salesforce emulator as the demo tenants' org, whose
Outbound Message rule `connect_demo_orgs` creates — in a throwaway COTHON_VAR_DIR on free ports.
Then, as a sales user would, it edits the demo tenant's linked opportunities through Salesforce's
REST API (simple-salesforce), each edit changing Description and, in turn, StageName or Amount,
paced at --rate edits per second, and polls Cothon's REST API (`/api/v1/opportunities/`, the most
recently updated first, with a demo viewer's API token) until each edit's values are there. Prints p50/p95/max against the goal
(issue 16: p95 < 5 s on `make run`), how many edits arrived, and the Salesforce API calls Cothon
spent meanwhile (the emulator's counters, less the benchmark's own calls).

    .venv/bin/python benchmarks/make_run_pull.py [--edits 200] [--rate 5] [--cothon-saves 0] [--keep]

--rate 0 makes one edit at a time (the next once the last is in Cothon). --cothon-saves R has
Cothon users save other opportunities R times a second meanwhile (through the API; their pushes
share the real-time worker with the pull). It also prints where the time went: the PATCH, the
emulator's Outbound Message log (commit → Cothon's Ack), Cothon's stored notifications (received
→ applied), and how long one poll of Cothon took (the measurement's resolution). Polling is one
list request a round, so the benchmark's own load on the web server is the same at any rate.
It needs no PostgreSQL or Redis and takes about two minutes (one of them starting the stack).
Whatever happens (Ctrl-C, SIGTERM, an error), every process it started is stopped, and it checks
that none is left (killed with SIGKILL, run.py still stops its processes: --stop-with-parent).
The embedded stack is measured even where DATABASE_URL / REDIS_URL are set: they are removed
from the stack's environment, as in a fresh shell.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_P95_S = 5.0
PAGE = 25  # opportunities per poll (the API's default page)
# What the stack's environment must not inherit: these would switch run.py to PostgreSQL/Redis.
PRODUCTION_STACK_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")


def free_ports(count: int) -> list[int]:
    """`count` distinct ports that were free a moment ago (held open together, so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def processes_with_env(marker: bytes) -> list[tuple[int, str]]:
    """(pid, command line) of every process of ours whose environment holds `marker`: each process
    the stack started inherits COTHON_VAR_DIR=<our throwaway folder>, and nothing else has it."""
    found = []
    if not Path("/proc").is_dir():  # not Linux: nothing to check with (run.py's children still stop with it)
        return found
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                found.append((int(entry.name), cmdline))
        except OSError:  # gone meanwhile, or not ours
            continue
    return found


class MakeRunStack:
    """scripts/run.py in a subprocess, and everything it starts."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.port, emulator_port, emulator_http_port = free_ports(3)
        self.env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_STACK_VARS}
        self.env.update(COTHON_VAR_DIR=str(var_dir), PORT=str(self.port), EMULATOR_PORT=str(emulator_port),
                        EMULATOR_HTTP_PORT=str(emulator_http_port), PYTHONUNBUFFERED="1")
        self.console = var_dir / "run-console.log"
        self.proc: subprocess.Popen | None = None
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # Its own session: a terminal's Ctrl-C reaches this script, which then stops run.py in
        # order. --stop-with-parent: should this script be killed outright, run.py stops too.
        with open(self.console, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "scripts/run.py", "--stop-with-parent"], cwd=ROOT, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"scripts/run.py exited with {self.proc.returncode}:\n{self.tail()}")
            if "Cothon is running:" in self.console.read_text(errors="replace"):
                return
            time.sleep(0.5)
        raise RuntimeError(f"scripts/run.py was not ready within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        return self.console.read_text(errors="replace")[-chars:] if self.console.exists() else ""

    def manage(self, *args: str) -> str:
        """A manage.py command against the stack's database, with run.py's environment."""
        env = {**self.env, "COTHON_DEMO": "1", "DJANGO_DEBUG": self.env.get("DJANGO_DEBUG", "0")}
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                              capture_output=True, text=True).stdout

    def stop(self) -> list[tuple[int, str]]:
        """Stop run.py the way Ctrl-C does (it stops its children, web first, the emulator last);
        then kill anything of the stack still alive. Returns what had to be killed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # its children get SIGTERM/SIGQUIT from Linux (PR_SET_PDEATHSIG)
                self.proc.wait()
        marker = f"COTHON_VAR_DIR={self.var_dir}".encode()
        deadline = time.monotonic() + 10
        left = processes_with_env(marker)
        while left and time.monotonic() < deadline:  # pool processes may take a moment to notice
            time.sleep(0.2)
            left = processes_with_env(marker)
        for pid, _ in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return left


@dataclass
class Edit:
    number: int
    record_id: int
    salesforce_id: str
    changes: dict  # the Salesforce fields written
    description: str
    expected_status: str | None = None  # a StageName edit: the Cothon status it maps back to
    range_before: tuple | None = None  # an Amount edit: Cothon's value range before it
    started: float = 0.0
    wall_started: datetime.datetime | None = None  # the same moment, as Cothon's updated_at is written
    saved: float = 0.0  # Salesforce answered the PATCH
    arrived: float | None = None
    superseded: bool = False  # a later edit of the same record arrived first

    @property
    def seconds(self) -> float | None:
        return None if self.arrived is None else self.arrived - self.started


@dataclass
class Record:
    id: int
    salesforce_id: str
    status: str
    value_range: tuple
    stage: str
    amount: float | None
    edits: list[Edit] = field(default_factory=list)


class CothonApi:
    def __init__(self, base_url: str, token: str) -> None:
        self.base = f"{base_url}/api/v1"
        self.token = token
        self.local = threading.local()

    @property
    def session(self) -> requests.Session:
        # One session per thread (requests' Session is not thread-safe); no proxies from the environment.
        if not hasattr(self.local, "session"):
            s = requests.Session()
            s.trust_env = False
            s.headers["Authorization"] = f"Token {self.token}"
            self.local.session = s
        return self.local.session

    def get(self, path: str, **params) -> dict:
        response = self.session.get(f"{self.base}/{path}", params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def linked_opportunities(self) -> list[dict]:
        rows, page = [], 1
        while True:
            data = self.get("opportunities/", page=page, page_size=200)
            rows += [r for r in data["results"] if (r.get("salesforce") or {}).get("salesforce_id")]
            if not data.get("next"):
                return rows
            page += 1


def salesforce_as_user(stack: MakeRunStack):
    """simple-salesforce signed in as the demo org's administrator (a person, not Cothon's
    integration user), and the emulator's hook client (counters)."""
    from simple_salesforce import Salesforce

    from salesforce_emulator.client import EmulatorClient

    creds = json.loads((stack.var_dir / "emulator-demo-credentials.json").read_text())
    emulator = EmulatorClient.from_data_dir(stack.var_dir / "emulator")
    token = emulator.mint_token("demo", username=creds["admin"]["username"])["access_token"]
    session = requests.Session()
    session.trust_env = False
    session.verify = creds["ca_bundle"]
    return Salesforce(instance_url=creds["instance_url"], session_id=token, session=session), emulator


def range_of(row: dict) -> tuple:
    return (row.get("value_min"), row.get("value_max"))


def plan_edits(records: list[Record], count: int, stage_of_status: dict[str, str]) -> list[Edit]:
    """Round robin over the records; every edit writes a new Description, and every second and
    third of three also a StageName (one the record does not have) or an Amount."""
    status_of_stage = {stage: status for status, stage in stage_of_status.items()}
    stages = sorted(status_of_stage)
    edits = []
    for n in range(count):
        record = records[n % len(records)]
        description = f"Edited in Salesforce by the make-run benchmark, edit {n} at {time.time():.0f}"
        changes: dict = {"Description": description}
        edit = Edit(n, record.id, record.salesforce_id, changes, description)
        kind = n % 3
        if kind == 1 and len(stages) > 1:
            stage = stages[(stages.index(record.stage) + 1) % len(stages)] if record.stage in stages else stages[0]
            changes["StageName"] = stage
            edit.expected_status = status_of_stage[stage]
            record.stage = stage
        elif kind == 2:
            amount = round((record.amount or 100_000) * 1.01 + n, 2)
            changes["Amount"] = amount
            record.amount = amount
            edit.range_before = ()  # filled in when the edit is made (Cothon's range at that moment)
        record.edits.append(edit)
        edits.append(edit)
    return edits


class Watcher:
    """One thread polling Cothon for every edit in flight, one list request a round (the PAGE
    most recently updated opportunities: small, so a poll is cheap and frequent), so the benchmark's own load on the web server — which also
    receives the Outbound Messages — is the same at any rate."""

    def __init__(self, api: CothonApi, records: dict[int, Record], interval: float, timeout: float) -> None:
        self.api, self.records, self.interval, self.timeout = api, records, interval, timeout
        self.lock = threading.Lock()
        self.pending: list[Edit] = []
        self.stopping = False
        self.rounds: list[float] = []  # seconds each list request took: the measurement's resolution
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name="watcher")
        self.thread.start()

    def add(self, edit: Edit) -> None:
        with self.lock:
            self.pending.append(edit)

    def wait(self) -> None:
        """Until every edit added so far has arrived or timed out."""
        while True:
            if self.error is not None:
                raise RuntimeError("polling Cothon failed") from self.error
            with self.lock:
                if not self.pending:
                    return
            time.sleep(0.01)

    def stop(self) -> None:
        self.stopping = True
        self.thread.join(timeout=35)

    def _run(self) -> None:
        try:
            while not self.stopping:
                with self.lock:
                    pending = list(self.pending)
                if not pending:
                    time.sleep(0.005)
                    continue
                asked = time.perf_counter()
                page = self.api.get("opportunities/", ordering="-updated_at", page_size=PAGE)["results"]
                now = time.perf_counter()
                self.rounds.append(now - asked)
                rows = {row["id"]: row for row in page}
                oldest = datetime.datetime.fromisoformat(page[-1]["updated_at"]) if len(page) == PAGE else None
                done = []
                for edit in pending:
                    row = rows.get(edit.record_id)
                    if row is None and oldest is not None and oldest >= edit.wall_started:
                        # Updated since the edit yet off the page (PAGE others updated since): ask for it alone.
                        row, now = self.api.get(f"opportunities/{edit.record_id}/"), time.perf_counter()
                    # Otherwise a record off the page has not been updated since the edit: not there yet.
                    if (row is not None and self._arrived(edit, row, now)) or now - edit.started > self.timeout:
                        done.append(edit)
                with self.lock:
                    self.pending = [e for e in self.pending if e not in done]
                time.sleep(self.interval)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread by wait()
            self.error = exc

    def _arrived(self, edit: Edit, row: dict, now: float) -> bool:
        record = self.records[edit.record_id]
        description = row.get("description")
        if description == edit.description:
            if edit.expected_status is not None and row.get("status") != edit.expected_status:
                return False
            if edit.range_before is not None and range_of(row) == edit.range_before:
                return False
            edit.arrived = now
            record.value_range = range_of(row)
            return True
        later = next((e for e in record.edits if e.number > edit.number and e.started and e.description == description), None)
        if later is not None:  # a later edit of the record came first: this one was there too, or never will be
            edit.arrived, edit.superseded = now, True
            return True
        return False


class CothonSaves:
    """Cothon users editing other opportunities meanwhile (PATCH through the API, `rate` a second):
    their pushes share the real-time worker with the pull."""

    def __init__(self, api: CothonApi, record_ids: list[int], rate: float) -> None:
        self.api, self.record_ids, self.rate = api, record_ids, rate
        self.count = self.errors = 0
        self.seconds = 0.0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="cothon-saves")

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=35)

    def _run(self) -> None:
        started = time.perf_counter()
        while not self.stopping.is_set():
            self.seconds = time.perf_counter() - started
            record_id = self.record_ids[self.count % len(self.record_ids)]
            response = self.api.session.patch(f"{self.api.base}/opportunities/{record_id}/", timeout=30,
                                              json={"description": f"Edited in Cothon, save {self.count}"})
            self.errors += not response.ok
            self.count += 1
            self.stopping.wait(max(0.0, started + self.count / self.rate - time.perf_counter()))


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def counters(emulator) -> Counter:
    return Counter({c["endpoint"]: c["count"] for c in emulator.counters("demo")["counters"]})


def sf_time(value: str) -> datetime.datetime:
    return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    values = sorted(values)
    return (f"p50 {statistics.median(values) * 1000:,.0f} ms, p95 {percentile(values, 0.95) * 1000:,.0f} ms, "
            f"max {values[-1] * 1000:,.0f} ms")


def breakdown(stack: MakeRunStack, emulator, since: datetime.datetime) -> list[str]:
    """Where the time went, from the two sides' own records: the emulator's Outbound Message log
    (queued at commit → Cothon's Ack, attempts) and Cothon's stored notifications (received →
    applied by the real-time worker), read from the SQLite database read-only."""
    lines = []
    messages = [m for m in emulator._call("GET", "outbound/deliveries", params={"org": "demo"})
                if sf_time(m["queued_at"]) >= since]
    if messages:
        sizes = [len(m["notifications"]) for m in messages]
        waits = [(sf_time(m["delivered_at"]) - sf_time(m["queued_at"])).total_seconds() for m in messages if m["delivered_at"]]
        failed = Counter(str(a["status"] or a["error"])[:60] for m in messages for a in m["attempts"] if not a["ok"])
        lines.append(f"  Salesforce → Cothon's Ack: {len(messages)} Outbound Messages ({sum(sizes)} notifications, "
                     f"{max(sizes)} at most in one); queued → acknowledged {spread(waits)}"
                     + (f"; refused attempts (retried after 1, 2, 4 … s): {dict(failed)}" if failed else "; no attempt refused"))
    database = sqlite3.connect(f"file:{stack.var_dir / 'cothon.sqlite3'}?mode=ro", uri=True)
    try:
        rows = database.execute(
            "SELECT (julianday(processed_at) - julianday(received_at)) * 86400 FROM sync_pull_inboundnotification "
            "WHERE received_at >= ? AND processed_at IS NOT NULL", (since.strftime("%Y-%m-%d %H:%M:%S.%f"),)).fetchall()
    finally:
        database.close()
    lines.append(f"  Cothon received → applied (real-time worker): {len(rows)} notifications, {spread([r[0] for r in rows])}")
    return lines


def run(args: argparse.Namespace, stack: MakeRunStack) -> None:
    from demo.accounts import DEMO_TENANTS

    t0 = time.perf_counter()
    stack.start()
    stack.wait_ready(args.startup_timeout)
    print(f"make run stack ready in {time.perf_counter() - t0:.0f} s: {stack.base_url} (var dir {stack.var_dir})")
    tenant = DEMO_TENANTS[0]  # the tenant connected to the emulator's demo org
    viewer = next(username for username, _, _, role in tenant.people if role == "viewer")
    api = CothonApi(stack.base_url, stack.manage("api_token", viewer).strip())
    sf, emulator = salesforce_as_user(stack)

    rows = api.linked_opportunities()
    if not rows:
        raise RuntimeError("The demo tenant has no opportunity linked to Salesforce.")
    ids = [r["salesforce"]["salesforce_id"] for r in rows]
    before = counters(emulator)
    own_calls = Counter()
    found = sf.query_all("SELECT Id, StageName, Amount FROM Opportunity WHERE Id IN (" + ",".join(f"'{i}'" for i in ids) + ")")
    own_calls["GET /services/data/v<version>/query"] += 1
    in_sf = {r["Id"]: r for r in found["records"]}
    records = [Record(r["id"], r["salesforce"]["salesforce_id"], r["status"], range_of(r),
                      in_sf[r["salesforce"]["salesforce_id"]]["StageName"], in_sf[r["salesforce"]["salesforce_id"]]["Amount"])
               for r in rows if r["salesforce"]["salesforce_id"] in in_sf]
    # The stage map as the records show it (Cothon status ↔ the StageName Cothon pushed for it).
    stage_of_status: dict[str, str] = {}
    for record in records:
        stage_of_status.setdefault(record.status, record.stage)
    by_id = {r.id: r for r in records}
    saves = None
    if args.cothon_saves:
        # Every other record is edited by Cothon users meanwhile, the rest in Salesforce.
        member = next(username for username, _, _, role in tenant.people if role == "member")
        saves = CothonSaves(CothonApi(stack.base_url, stack.manage("api_token", member).strip()),
                            [r.id for r in records[1::2]], args.cothon_saves)
        records = records[::2]
    edits = plan_edits(records, args.edits, stage_of_status)
    print(f"{len(records)} linked opportunities in tenant {tenant.slug}; {len(edits)} edits at "
          + (f"{args.rate:g}/s" if args.rate else "one at a time") + f", stages used: {', '.join(sorted(stage_of_status.values()))}")

    watcher = Watcher(api, by_id, args.poll_interval, args.timeout)
    since = datetime.datetime.now(datetime.timezone.utc)
    started = time.perf_counter()
    if saves is not None:
        saves.start()
    try:
        for n, edit in enumerate(edits):
            if args.rate:
                delay = started + n / args.rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            if edit.range_before is not None:
                edit.range_before = by_id[edit.record_id].value_range
            edit.started = time.perf_counter()
            edit.wall_started = datetime.datetime.now(datetime.timezone.utc)
            sf.Opportunity.update(edit.salesforce_id, edit.changes)
            edit.saved = time.perf_counter()
            own_calls["PATCH /services/data/v<version>/sobjects/<sobject>/<record_id>"] += 1
            watcher.add(edit)
            if not args.rate:
                watcher.wait()
        watcher.wait()
    finally:
        watcher.stop()
        if saves is not None:
            saves.stop()
    time.sleep(args.settle)  # anything Cothon does after the last value arrived is counted too
    spent = counters(emulator)
    spent.subtract(before)
    spent.subtract(own_calls)
    cothon_calls = {k: v for k, v in spent.items() if v}

    arrived = sorted(e.seconds for e in edits if e.seconds is not None)
    superseded = sum(e.superseded for e in edits)
    print(f"\nReal-time pull on the make run stack (SQLite, filesystem broker, 1 real-time worker), "
          f"Salesforce edit → visible in Cothon's API, {len(edits)} edits:")
    if arrived:
        p50, p95 = statistics.median(arrived), percentile(arrived, 0.95)
        verdict = "met" if p95 < GOAL_P95_S and len(arrived) == len(edits) else "NOT met"
        print(f"  arrived {len(arrived)}/{len(edits)} within {args.timeout:g} s"
              + (f" ({superseded} seen through a later edit of the same record)" if superseded else ""))
        print(f"  p50 {p50 * 1000:,.0f} ms   p95 {p95 * 1000:,.0f} ms   max {arrived[-1] * 1000:,.0f} ms   "
              f"goal p95 < {GOAL_P95_S:g} s: {verdict}")
        print(f"  the edit itself (Salesforce REST PATCH): {spread([e.saved - e.started for e in edits])}")
        print(f"  (an edit counts as arrived when the poll that shows it has answered; one poll took {spread(watcher.rounds)})")
    else:
        print(f"  none arrived within {args.timeout:g} s. Stack console:\n{stack.tail()}")
    if saves is not None:
        print(f"  meanwhile Cothon users saved {saves.count} other opportunities through Cothon's API "
              f"({saves.count / max(saves.seconds, 1e-9):.1f}/s; asked for {args.cothon_saves:g}/s, one save at a time), each pushed to Salesforce by the same real-time worker; save errors: {saves.errors}")
    total = sum(cothon_calls.values())
    print(f"  Salesforce API calls Cothon made meanwhile (demo org): {total}"
          + (" — " + ", ".join(f"{k}: {v}" for k, v in sorted(cothon_calls.items(), key=lambda kv: -kv[1])) if total else ""))
    for line in breakdown(stack, emulator, since):
        print(line)
    print("  (Outbound Messages are pushed by Salesforce: receiving and applying them costs no API call.)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5.0, help="edits per second; 0: one at a time")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds an edit may take to arrive")
    parser.add_argument("--poll-interval", type=float, default=0.05, help="seconds between polls of one record")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to keep counting API calls after the last edit")
    parser.add_argument("--startup-timeout", type=float, default=300.0)
    parser.add_argument("--cothon-saves", type=float, default=0.0, metavar="RATE",
                        help="meanwhile, Cothon users save other opportunities RATE times a second (pushed by the same worker)")
    parser.add_argument("--keep", action="store_true", help="keep the var dir (logs, database) and print its path")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens, also in a log file

    # SIGTERM/SIGHUP end the run like Ctrl-C: through the finally below.
    def interrupt(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    var_dir = Path(tempfile.mkdtemp(prefix="cothon-make-run-pull-"))
    stack = MakeRunStack(var_dir)
    code = 0
    try:
        run(args, stack)
    except KeyboardInterrupt:
        print("\nInterrupted.")
        code = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        killed = stack.stop()
        if killed:
            print("Processes of the stack still running after run.py stopped (killed): "
                  + "; ".join(f"{pid} {cmd[:80]}" for pid, cmd in killed))
            code = code or 1
        else:
            print("Stopped: no process of the stack is left.")
        if args.keep:
            print(f"Kept {var_dir} (logs in {var_dir / 'log'}).")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
