"""Push benchmark: full sync API calls vs the minimum (and a naive per-record baseline in the
same run), records/s, peak memory, an incremental run with nothing changed, real-time
latency (save → visible in Salesforce) with a real worker, a real-time burst (opportunities
created through the API by concurrent clients: calls against the minimum, p95 save →
Salesforce, with and without coalescing), and the full-sync throughput of one org with one
and two background workers under injected latency (parallel sync).

    .venv/bin/python benchmarks/push.py [--records 10000] [--latency-samples 200] [--profile out.prof]
        [--burst 450 --clients 4] [--parallel 1500 --latency-ms 100 --parallel-repeats 3]
    .venv/bin/python benchmarks/push.py --records 0 --latency-samples 0 --burst 450   # only the burst

Also prints the CPU seconds our process and the emulator process spent during the full sync
(both share the machine, so the emulator's cost is part of the wall time). `--profile` writes a
cProfile of our side of the full sync (read it with `python -m pstats`).

Runs against PostgreSQL + Redis when reachable (prints which) and a private emulator."""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

from _harness import connect_bench_org, Emulator, peak_rss_mb, setup_django, table, teardown_django


def seed(tenant, n: int, analyses_every: int = 5, chunk: int = 5000, prefix: str = "") -> dict[str, int]:
    """Bulk-create realistic records in chunks (benchmark set-up only; the app itself writes
    through services). Chunked so the seeding does not set the process's peak memory."""
    import datetime
    from decimal import Decimal

    from demo.data import DEPARTMENTS, SUBJECTS
    from opportunities.models import BidAnalysis, Department, Opportunity, Requirement

    departments = list(Department.objects.filter(tenant=tenant)) or Department.objects.bulk_create([
        Department(tenant=tenant, name=name, acronym=acronym, key=f"dept-{i}") for i, (name, acronym) in enumerate(DEPARTMENTS)])
    today = datetime.date.today()
    now = datetime.datetime.now(datetime.timezone.utc)
    counts = {"Account": len(departments), "Opportunity": 0, "Cothon_Analysis__c": 0, "Cothon_Requirement__c": 0, "Task": 0}
    for start in range(0, n, chunk):
        opportunities = Opportunity.objects.bulk_create([
            Opportunity(tenant=tenant, title=f"{SUBJECTS[i % len(SUBJECTS)][0]} {departments[i % len(departments)].name} #{i}",
                        reference=f"BENCH-{prefix}{i:06d}", value_min=Decimal(100000 + i), value_max=Decimal(200000 + i),
                        closing_date=today + datetime.timedelta(days=30 + i % 300), department=departments[i % len(departments)],
                        status=("identified", "analyzing", "pursuing", "submitted")[i % 4], category="it", procurement_method="rfp",
                        location="Ontario", unspsc_code="43233200")
            for i in range(start, min(n, start + chunk))])
        analyses = BidAnalysis.objects.bulk_create([
            BidAnalysis(tenant=tenant, opportunity=o, status="completed", compliance_score=80, summary="Benchmark analysis",
                        key_findings="Strong fit", completed_at=now)
            for o in opportunities[::analyses_every]])
        Requirement.objects.bulk_create([
            Requirement(tenant=tenant, analysis=a, code=f"M{k}", text="Requirement text", kind="mandatory" if k < 3 else "rated",
                        capability_match="met")
            for a in analyses for k in range(6)], batch_size=5000)
        counts["Opportunity"] += len(opportunities)
        counts["Cothon_Analysis__c"] += len(analyses)
        counts["Task"] += len(analyses)
        counts["Cothon_Requirement__c"] += len(analyses) * 6
    return counts


def naive_baseline(emu: Emulator, connection, sample: int) -> tuple[int, float]:
    """Per-record REST: an Account lookup + one upsert per record (what a simple integration does)."""
    from integrations.connections import client_for
    from opportunities.models import Opportunity

    client = client_for(connection)
    opportunities = list(Opportunity.objects.filter(tenant=connection.tenant).select_related("department")[:sample])
    calls = 0
    started = time.perf_counter()
    for o in opportunities:
        name = o.department.name.replace("'", "\\'")
        client.query(f"SELECT Id FROM Account WHERE Name = '{name}' LIMIT 1")
        client.rest("PATCH", f"sobjects/Opportunity/Cothon_Ref__c/NAIVE-{o.reference}",
                    json={"Name": o.title[:120], "StageName": "Prospecting", "CloseDate": o.closing_date.isoformat()})
        calls += 2
    return calls, time.perf_counter() - started


def latency(connection, emu: Emulator, samples: int) -> list[float]:
    from django.db import transaction

    from opportunities import services
    from opportunities.models import Opportunity
    from tests.sync_engine.workers import Worker

    worker = Worker(queues="realtime").start()
    sf = emu.client.credentials("demo")
    import requests

    session = requests.Session()
    session.trust_env = False
    session.verify = emu.client.ca_bundle
    session.headers["Authorization"] = f"Bearer {emu.client.mint_token('demo')['access_token']}"
    url = f"{emu.client.instance_url}/services/data/v59.0/query"
    cycle = [("won", "Closed Won"), ("lost", "Closed Lost")]
    results = []
    try:
        opportunities = list(Opportunity.objects.filter(tenant=connection.tenant).order_by("id")[:samples])
        for i, opportunity in enumerate(opportunities):
            status, stage = cycle[i % 2]
            started = time.perf_counter()
            with transaction.atomic():
                services.opportunity_update(tenant=connection.tenant, opportunity=opportunity, data={"status": status})
            while True:
                records = session.get(url, params={"q": f"SELECT StageName FROM Opportunity WHERE Cothon_Ref__c = '{opportunity.reference}'"}).json()["records"]
                if records and records[0]["StageName"] == stage:
                    break
                if time.perf_counter() - started > 30:
                    raise RuntimeError(f"change not visible after 30 s; worker log:\n{worker.log()[-2000:]}")
                time.sleep(0.01)
            results.append(time.perf_counter() - started)
    finally:
        worker.stop()
        del sf
    return results


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


class _HttpClient:
    """One API client over HTTP (its own keep-alive session), answering like DRF's APIClient."""

    def __init__(self, base_url: str, key: str) -> None:
        import requests

        self.base_url = base_url
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["Authorization"] = f"Token {key}"

    def post(self, path: str, body: dict, format: str = "json"):
        response = self.session.post(f"{self.base_url}{path}", json=body, timeout=60)
        response.status_code, response.content  # noqa: B018 - read the body now, in this thread
        return response


def _api_clients(tenant, n: int, server=None) -> list:
    """`n` API clients of members of the tenant: over HTTP to `server` (an ApiServer), else
    DRF's in-process test client."""
    from rest_framework.test import APIClient

    from cothon.tenancy.services import api_token_create, membership_set, user_get_or_create

    clients = []
    for i in range(n):
        user = user_get_or_create(username=f"burst-{tenant.slug}-{i}", email=f"burst{i}@{tenant.slug}.example", password="bench-pass-123")
        _, key = api_token_create(membership=membership_set(tenant=tenant, user=user, role="member"))
        if server is not None:
            clients.append(_HttpClient(server.url, key))
            continue
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        clients.append(client)
    return clients


def burst(connection, emu: Emulator, *, records: int, clients: int, label: str, worker_env: dict | None, server=None) -> dict:
    """`records` opportunities created through the API by `clients` concurrent clients while a
    real-time worker runs (worker_env=None: no worker; the rows are pushed inline afterwards in
    one go, which gives the calls of the same records sent in full collections — the minimum).
    Returns API calls (the emulator's count) and save → visible-in-Salesforce latencies."""
    import datetime
    import threading

    from django.db import connections

    from opportunities.models import Department
    from sync_engine.executor import push_connection
    from tests.sync_engine.workers import Worker

    tenant = connection.tenant
    departments = list(Department.objects.filter(tenant=tenant).values_list("pk", flat=True))
    api = _api_clients(tenant, clients, server)
    server_cpu_before = server.cpu_seconds() if server is not None else None
    worker = Worker(queues="realtime", extra_env=worker_env).start() if worker_env is not None else None
    saved: dict[str, float] = {}
    seen: dict[str, float] = {}
    ids: dict[int, str] = {}
    stop = threading.Event()
    errors: list[str] = []

    def client_loop(index: int) -> None:
        try:
            for k in range(index, records, clients):
                ref = f"BURST-{label}-{k:05d}"
                body = {"title": f"Burst {label} {k}", "reference": ref, "value_min": "1000", "value_max": "2000",
                        "closing_date": (datetime.date.today() + datetime.timedelta(days=40)).isoformat(),
                        "status": "identified", "department": departments[k % len(departments)]}
                response = api[index].post("/api/v1/opportunities/", body, format="json")
                if response.status_code != 201:
                    errors.append(f"{response.status_code} {response.content[:200]!r}")
                    return
                saved[ref] = time.time()
                ids[response.json()["id"]] = ref
        finally:
            connections.close_all()

    def watch() -> None:
        # A record is in Salesforce once its link is written, right after Salesforce confirmed
        # the write (reading the link table is cheap; polling the org would load the machine).
        # Only the records not seen yet: the watcher must not load the machine the saves share.
        from sync_engine.models import SyncLink

        try:
            while not stop.is_set():
                waiting = [record_id for record_id, ref in list(ids.items()) if ref not in seen]
                for created, record_id in SyncLink.objects.filter(connection=connection, record_type="opportunity",
                                                                   record_id__in=waiting).values_list("created_at", "record_id"):
                    ref = ids[record_id]
                    if ref not in seen:
                        seen[ref] = created.timestamp()
                time.sleep(0.1)
        finally:
            connections.close_all()

    emu.client.reset_counters()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        saving = time.perf_counter() - started
        if errors:
            raise RuntimeError(f"API errors: {errors[:3]}")
        if worker is None:
            push_connection(connection_id=connection.pk)
        deadline = time.perf_counter() + 60
        while len(seen) < records and time.perf_counter() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        watcher.join()
        worker_cpu = None
        if worker is not None:
            import psutil

            times = psutil.Process(worker.process.pid).cpu_times()
            worker_cpu = times.user + times.system
            worker.stop()
    counters = emu.client.counters("demo")
    latencies = [seen[ref] - saved[ref] for ref in saved if ref in seen]
    return {"calls": counters["total"], "counters": counters, "latencies": latencies, "arrived": len(seen), "saving": saving,
            "worker_cpu": worker_cpu,
            "web_cpu": server.cpu_seconds() - server_cpu_before if server is not None else None}


def _parallel_run(connection, emu: Emulator, *, latency_ms: int, parallel_on: bool, n: int) -> dict:
    """One full sync of the org with `n` background workers, every collections call slowed by
    `latency_ms`; the CPU seconds the workers, the emulator and PostgreSQL (the backends serving
    the benchmark's database) spent during it."""

    import psutil

    from integrations.sync_settings import settings_current, settings_save
    from sync_engine.models import OutboxEntry, SyncRun, SyncRunStatus
    from sync_engine.services import sync_now_start
    from tests.sync_engine.workers import Worker

    data = settings_current(connection=connection)
    data["parallel_sync"] = parallel_on
    data["bulk_threshold"] = 1_000_000  # collections only: the latency hook slows collections calls
    settings_save(connection=connection, data=data, actor=None, against_org=False)
    workers = [Worker(queues="default").start() for _ in range(n)]
    processes = [psutil.Process(worker.process.pid) for worker in workers] + [psutil.Process(emu.process.pid)]
    emu.client.clear_faults()
    emu.client.add_fault(org="demo", path_contains="composite/sobjects", latency_ms=latency_ms, status=200, error_code="")
    try:
        cpu_before = [sum(p.cpu_times()[:2]) for p in processes]
        database_before = _database_cpu()
        started = time.perf_counter()
        run = sync_now_start(connection=connection, kind="full", actor=None)
        deadline = started + 900
        while time.perf_counter() < deadline:
            run.refresh_from_db()
            if run.status not in (SyncRunStatus.QUEUED, SyncRunStatus.RUNNING):
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        cpu = [sum(p.cpu_times()[:2]) - before for p, before in zip(processes, cpu_before)]
        database = _database_cpu()
    finally:
        emu.client.clear_faults()
        for worker in workers:
            worker.stop()
    left = OutboxEntry.objects.filter(connection=connection).count()
    SyncRun.objects.filter(pk=run.pk).update(status=SyncRunStatus.CANCELLED) if run.status == SyncRunStatus.RUNNING else None
    OutboxEntry.objects.filter(connection=connection).delete()
    return {"label": f"{n} background worker{'s' if n > 1 else ''}, parallel sync {'on' if parallel_on else 'off'}",
            "records": run.total, "elapsed": elapsed, "rate": run.total / elapsed, "status": run.status, "left": left,
            "workers_cpu": sum(cpu[:-1]), "emulator_cpu": cpu[-1], "load": os.getloadavg()[0],
            "database_cpu": sum(seconds - database_before.get(pid, 0.0) for pid, seconds in database.items())}


def _database_cpu() -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving the benchmark's database (pid → seconds);
    empty on other backends. A backend that started meanwhile counts from its start."""

    import psutil

    name = os.environ.get("COTHON_BENCH_DROP_DB")
    if not name:
        return {}
    seconds = {}
    for process in psutil.process_iter(["cmdline"]):
        try:
            if name in " ".join(process.info["cmdline"] or []):
                seconds[process.pid] = sum(process.cpu_times()[:2])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return seconds


def parallel(connection, emu: Emulator, *, latency_ms: int, workers_list: tuple[int, ...], repeats: int = 1) -> list[dict]:
    """Full syncs of one org (records already linked, so every run does the same work) with
    parallel sync off (one worker), then on with each count of `workers_list`, back to back,
    `repeats` times over: the machine's load drifts, so the counts are compared within each
    round and over the medians of the rounds."""
    results = []
    for _ in range(repeats):
        for parallel_on, n in [(False, 1), *[(True, k) for k in workers_list]]:
            results.append(_parallel_run(connection, emu, latency_ms=latency_ms, parallel_on=parallel_on, n=n))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--naive-sample", type=int, default=300)
    parser.add_argument("--burst", type=int, default=450, help="opportunities created through the API in the burst (0: skip)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--server", choices=("gunicorn", "inprocess"), default="gunicorn",
                        help="burst clients call gunicorn over HTTP as make run serves it (2 workers x 4 threads), "
                             "or DRF's in-process test client (threads of this process)")
    parser.add_argument("--burst-runs", default="min,nowait,shorter,default",
                        help="which burst runs (comma-separated): min (one go), nowait, shorter (budget 700 ms), default")
    parser.add_argument("--parallel", type=int, default=1500, help="opportunities in the 1-vs-2-worker full sync (0: skip)")
    parser.add_argument("--latency-ms", type=int, default=100, help="injected latency on every collections call (parallel)")
    parser.add_argument("--parallel-repeats", type=int, default=3, help="rounds of the 1-vs-2-worker comparison, back to back")
    parser.add_argument("--profile", default="", help="write a cProfile of the full sync (our process) to this file")
    args = parser.parse_args()

    # No Outbound Message rules in the org (as in the test suite): no web server receives them
    # here, so the emulator would retry deliveries of every pushed record to a dead endpoint —
    # seconds of its CPU per run that the workers then queue behind (it is one process).

    os.environ.setdefault("COTHON_OUTBOUND_RULES_AUTO", "0")
    backend = setup_django("push")
    emu = Emulator()
    try:
        from sync_engine.executor import push_connection
        from sync_engine.services import sync_now_start, sync_run_execute_inline

        print(f"Backend: {backend}; emulator: {emu.client.instance_url}")
        tenant, connection = connect_bench_org(emu)
        if args.records:
            t0 = time.perf_counter()
            counts = seed(tenant, args.records)
            print(f"Seeded {counts} in {time.perf_counter() - t0:.1f}s; RSS before the sync: {peak_rss_mb():.0f} MB")

            emu.client.reset_counters()
            run = sync_now_start(connection=connection, kind="full", actor=None, enqueue=False)
            import psutil

            emulator_process = psutil.Process(emu.process.pid)
            ours_before, emulator_before = time.process_time(), sum(emulator_process.cpu_times()[:2])
            profiler = None
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            started = time.perf_counter()
            run = sync_run_execute_inline(run=run)
            elapsed = time.perf_counter() - started
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile)
            ours_cpu = time.process_time() - ours_before
            emulator_cpu = sum(emulator_process.cpu_times()[:2]) - emulator_before
            counters = emu.client.counters("demo")
            emulator_calls = counters["total"]
            minimum = sum(math.ceil(c / 200) for c in counts.values()) + 1  # + one Account lookup query
            records = sum(counts.values())
            naive_calls_sample, naive_seconds = naive_baseline(emu, connection, args.naive_sample)
            naive_calls = counts["Opportunity"] * 2 + counts["Cothon_Analysis__c"] * 2 + counts["Cothon_Requirement__c"] + counts["Account"]
            naive_rate = args.naive_sample / naive_seconds
            print()
            print(f"Full sync of {counts['Opportunity']:,} opportunities ({records:,} Salesforce records):")
            print(table([
                ("Cothon (collections of 200; Bulk 2.0 jobs above the threshold)", run.api_calls, f"{run.api_calls / minimum:.2f}x", f"{records / elapsed:,.0f}", f"{elapsed:.1f}s"),
                ("minimum with collections: ceil(N/200) per object + lookups", minimum, "1.00x", "", ""),
                ("naive per-record baseline (projected)", naive_calls, f"{naive_calls / minimum:.1f}x", f"{naive_rate:,.0f} opp/s",
                 f"{counts['Opportunity'] / naive_rate:.0f}s (projected from {args.naive_sample})"),
            ], ("approach", "API calls", "vs minimum", "records/s", "time")))
            print(f"run status: {run.status}, succeeded {run.succeeded:,}, failed {run.failed:,}; the emulator counted {emulator_calls} "
                  f"requests during the sync; the naive sample made {naive_calls_sample}")
            print(f"CPU during the full sync: ours {ours_cpu:.1f}s, emulator {emulator_cpu:.1f}s (wall {elapsed:.1f}s); "
                  "PostgreSQL and Redis not counted")
            print(f"peak RSS of the benchmark process (seeding + sync + executor): {peak_rss_mb():.0f} MB; emulator RSS: {emu.rss_mb():.0f} MB")

            before = connection.api_usage_used
            idle = push_connection(connection_id=connection.pk)
            incremental = sync_now_start(connection=connection, kind="incremental", actor=None, enqueue=False)
            incremental = sync_run_execute_inline(run=incremental)
            print(f"\nIncremental run with nothing changed: {incremental.api_calls} API calls "
                  f"(queued {incremental.total}); idle push: {idle.api_calls} calls")
            del before

        if args.latency_samples:
            samples = latency(connection, emu, args.latency_samples)
            samples.sort()
            p50 = statistics.median(samples)
            p95 = samples[max(0, math.ceil(0.95 * len(samples)) - 1)]
            print(f"\nReal-time latency, save → visible in Salesforce, {len(samples)} status changes, one real-time worker:")
            print(f"  p50 {p50 * 1000:.0f} ms   p95 {p95 * 1000:.0f} ms   max {samples[-1] * 1000:.0f} ms")

        if args.burst or args.parallel:
            from opportunities.models import Department

            if not Department.objects.filter(tenant=tenant).exists():
                from demo.data import DEPARTMENTS

                Department.objects.bulk_create([Department(tenant=tenant, name=name, acronym=acronym, key=f"dept-{i}")
                                                 for i, (name, acronym) in enumerate(DEPARTMENTS)])
            # Departments (Accounts) linked first, as in a live org: the burst measures opportunities.
            emu.client.set_limits("demo", allowance=50_000_000, used=0)
            sync_run_execute_inline(run=sync_now_start(connection=connection, kind="full", actor=None, enqueue=False))

        if args.burst:
            from _harness import ApiServer

            n = args.burst
            floor = math.ceil(n / 200)
            server = ApiServer() if args.server == "gunicorn" else None
            runs = {name.strip() for name in args.burst_runs.split(",")}
            try:
                results = []
                if "min" in runs:
                    results.append(("all pushed in one go (no worker during the burst): the minimum",
                                    burst(connection, emu, records=n, clients=args.clients, label="min", worker_env=None, server=server)))
                if "nowait" in runs:
                    results.append(("real-time worker, no coalescing (push at once)",
                                    burst(connection, emu, records=n, clients=args.clients, label="nowait", server=server,
                                          worker_env={"COTHON_COALESCE_QUIET_MS": "0", "COTHON_COALESCE_MAX_MS": "0"})))
                if "shorter" in runs:
                    results.append(("real-time worker, coalescing (quiet 150 ms, budget 700 ms)",
                                    burst(connection, emu, records=n, clients=args.clients, label="shorter", server=server,
                                          worker_env={"COTHON_COALESCE_QUIET_MS": "150", "COTHON_COALESCE_MAX_MS": "700"})))
                if "default" in runs:
                    results.append(("real-time worker, coalescing (default settings)",
                                    burst(connection, emu, records=n, clients=args.clients, label="coalesce", worker_env={},
                                          server=server)))
            finally:
                if server is not None:
                    server.stop()
            minimum = results[0][1]["calls"] if "min" in runs else floor
            print(f"\nReal-time burst: {n} opportunities created through the API by {args.clients} concurrent clients "
                  f"({'gunicorn over HTTP, 2 workers x 4 threads, as make run serves it' if server else 'in-process test client'}). "
                  f"Minimum: {minimum} calls = ceil({n}/200) collections for the opportunities, the only Salesforce records "
                  "a burst of creates writes (their departments' Accounts are linked before it)")
            print(table([(name, r["calls"], f"{r['calls'] / minimum:.2f}x", f"{r['arrived']}/{n}",
                          f"{_percentile(r['latencies'], 0.5) * 1000:.0f} ms" if r["latencies"] else "—",
                          f"{_percentile(r['latencies'], 0.95) * 1000:.0f} ms" if r["latencies"] else "—",
                          f"{r['saving']:.1f}s ({n / r['saving']:.0f}/s)", f"{r['saving'] / r['calls']:.2f}s" if r["worker_cpu"] is not None else "—",
                          f"{r['web_cpu']:.1f}s" if r["web_cpu"] is not None else "—",
                          f"{r['worker_cpu']:.1f}s" if r["worker_cpu"] is not None else "—")
                         for name, r in results],
                        ("", "API calls", "vs minimum", "in Salesforce", "p50 save→SF", "p95 save→SF", "saves took",
                         "saves per call", "web CPU", "worker CPU")))
            print("  (a push every ~budget while saves keep coming: the calls follow the time the saves take; "
                  "'saves per call' is that time divided by the calls)")
            print(f"  The issue's goal names a minimum of 8 calls for this burst; it could not be reproduced: the burst "
                  f"writes only its {n} Opportunity records (their Accounts are linked before it, a create opens no "
                  f"Task), so the minimum is the {minimum} calls of the same records pushed in one go, measured above. "
                  f"Against it, ≤ 1.5× means ≤ {math.floor(1.5 * minimum)} calls (against 8 it would allow 12).")
            for name, r in results:
                kinds = ", ".join(f"{c['endpoint'].split(' ', 1)[0]} {c['endpoint'].split('/v<version>/', 1)[-1]} ×{c['count']}"
                                  for c in r["counters"]["counters"])
                print(f"  calls by kind, {name.split(':')[0]}: {kinds}")
            print(f"  load average (1, 5, 15 min) at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

        if args.parallel:
            from opportunities.models import Opportunity

            have = Opportunity.objects.filter(tenant=tenant).count()
            if have < args.parallel:
                seed(tenant, args.parallel - have, prefix="P")
            sync_run_execute_inline(run=sync_now_start(connection=connection, kind="full", actor=None, enqueue=False))
            load_before = os.getloadavg()
            runs = parallel(connection, emu, latency_ms=args.latency_ms, workers_list=(1, 2), repeats=args.parallel_repeats)
            load_after = os.getloadavg()
            print(f"\nFull sync of one org, {args.latency_ms} ms injected on every collections call (records already linked), "
                  f"{args.parallel_repeats} round(s) back to back:")
            print(table([(r["label"], r["records"], f"{r['elapsed']:.1f}s", f"{r['rate']:,.0f}", r["status"], r["left"],
                          f"{r['workers_cpu']:.1f}s", f"{r['emulator_cpu']:.1f}s", f"{r['database_cpu']:.1f}s",
                          f"{r['load']:.1f}") for r in runs],
                        ("background", "records", "time", "records/s", "run", "left queued", "workers CPU", "emulator CPU",
                         "PostgreSQL CPU", "load (1 min)")))
            labels = list(dict.fromkeys(r["label"] for r in runs))
            medians = {label: statistics.median(r["rate"] for r in runs if r["label"] == label) for label in labels}
            print("  median records/s: " + "; ".join(f"{label}: {rate:,.0f}" for label, rate in medians.items()))
            one, two = "1 background worker, parallel sync on", "2 background workers, parallel sync on"
            if one in medians and two in medians:
                rounds = [b["rate"] / a["rate"] for a, b in zip([r for r in runs if r["label"] == one],
                                                                [r for r in runs if r["label"] == two])]
                print(f"  two workers vs one (parallel sync on): {medians[two] / medians[one]:.2f}x (medians); "
                      f"by round: {', '.join(f'{x:.2f}x' for x in rounds)}")
            print(f"  load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load_before)}; "
                  f"after: {', '.join(f'{x:.2f}' for x in load_after)} ({os.cpu_count()} CPUs)")
    finally:
        emu.stop()
        teardown_django()


if __name__ == "__main__":
    main()
