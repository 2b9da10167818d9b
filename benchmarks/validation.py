"""Daily validation benchmark: N linked opportunities (default 100,000) compared with Salesforce —
API calls (goal ≤ 10), time and peak RSS of the validating process (goal < 300 MB) — against a
naive baseline in the same run: the same comparison reading the org with paged SOQL (2,000 rows a
call, one call per page).

    .venv/bin/python benchmarks/validation.py [--records 100000] [--drift 1000]

The records are pushed by the push engine (links and base snapshots are real), then `--drift`
of them are edited in Salesforce and a tenth as many edited in Cothon with their push lost, so
each run has real repairs to make. Each validation runs in its own child process, so its peak
RSS is the validation's alone (not the seeding's). Runs against PostgreSQL + Redis when
reachable (prints which) and a private emulator."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _harness import ROOT, Emulator, connect_bench_org, setup_django, table, teardown_django


def seed_linked(connection, n: int) -> list[tuple[int, str]]:
    """N Cothon opportunities pushed by a full sync (Bulk API above 2,000 records)."""
    import datetime
    from decimal import Decimal

    from opportunities.models import Opportunity
    from sync_engine.models import SyncLink
    from sync_engine.services import sync_now_start, sync_run_execute_inline

    today = datetime.date.today()
    for start in range(0, n, 5000):
        Opportunity.objects.bulk_create([
            Opportunity(tenant=connection.tenant, title=f"Validation benchmark #{i}", reference=f"VAL-{i:06d}",
                        value_min=Decimal(100000 + i), value_max=Decimal(200000 + i), closing_date=today + datetime.timedelta(days=30),
                        status="identified", description="Cothon's text")
            for i in range(start, min(n, start + 5000))])
    run = sync_now_start(connection=connection, kind="full", actor=None, enqueue=False)
    sync_run_execute_inline(run=run)
    return list(SyncLink.objects.filter(connection=connection, record_type="opportunity").order_by("record_id")
                .values_list("record_id", "salesforce_id"))


def make_drift(emu: Emulator, links: list[tuple[int, str]], count: int, text: str) -> None:
    """`count` records edited in Salesforce (Description), a tenth as many edited in Cothon with
    their push lost (written straight to the rows)."""
    import requests

    from opportunities.models import Opportunity

    session = requests.Session()
    session.trust_env = False
    session.verify = emu.client.ca_bundle
    session.headers["Authorization"] = f"Bearer {emu.client.mint_token('demo')['access_token']}"
    url = f"{emu.client.instance_url}/services/data/v59.0/composite/sobjects"
    step = max(1, len(links) // max(count, 1))
    chosen = links[::step][:count]
    for start in range(0, len(chosen), 200):
        records = [{"attributes": {"type": "Opportunity"}, "Id": sf_id, "Description": f"{text} (Salesforce)"}
                   for _, sf_id in chosen[start:start + 200]]
        session.patch(url, json={"allOrNone": False, "records": records}).raise_for_status()
    cothon_side = [record_id for record_id, _ in links[1::step][:max(1, count // 10)]]
    Opportunity.objects.filter(pk__in=cothon_side).update(description=f"{text} (Cothon, push lost)")


def measure(report_id: int, method: str) -> dict:
    """Run one validation in a child process: its figures and its own peak RSS."""
    env = dict(os.environ)
    out = subprocess.run([sys.executable, __file__, "--child", str(report_id), "--method", method], cwd=ROOT / "benchmarks",
                         env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-4000:])
    if os.environ.get("BENCH_DEBUG"):
        print(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(report_id: int, method: str) -> None:
    import django

    django.setup()
    from sync_engine.validation import reader
    from sync_engine.validation.services import validation_run

    # How long the Bulk job ran before its results could be read (Salesforce's share of the time).
    waited = [0.0]
    real_wait = reader._wait

    def timed_wait(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return real_wait(*args, **kwargs)
        finally:
            waited[0] += time.perf_counter() - t0

    reader._wait = timed_wait
    started = time.perf_counter()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        report = profile.runcall(validation_run, report_id=report_id, method=method)
        with open(f"{os.environ['BENCH_PROFILE']}-{method}.txt", "w") as out:
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(45)
    else:
        report = validation_run(report_id=report_id, method=method)
    elapsed = time.perf_counter() - started
    print(json.dumps({
        "status": report.status, "reason": report.reason, "api_calls": report.api_calls, "seconds": round(elapsed, 2),
        "peak_rss_mb": round(_vm_hwm_kb() / 1024, 1), "rows": report.rows_read, "job_seconds": round(waited[0], 2),
        "compared": report.records_compared, "differences": report.field_differences,
        "records_with_differences": report.records_with_differences, "repairs": report.repairs,
        "examples": report.examples.get("field_difference", [])[:3]}))


def _vm_hwm_kb() -> int:
    """This process's own peak RSS (VmHWM). Not getrusage's ru_maxrss: Linux carries the peak of
    the forking parent over into a child, so a child of the big seeding process would report it."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--drift", type=int, default=1000)
    parser.add_argument("--child", type=int)
    parser.add_argument("--method", default="bulk")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.method)
        return

    backend = setup_django("validation")
    emu = Emulator()
    try:
        from sync_engine.validation.services import validation_start

        print(f"Backend: {backend}; emulator: {emu.client.instance_url}")
        _tenant, connection = connect_bench_org(emu)
        t0 = time.perf_counter()
        links = seed_linked(connection, args.records)
        print(f"Seeded and pushed {len(links):,} linked opportunities in {time.perf_counter() - t0:.0f}s")
        from sync_engine.pull.incremental import pull_incremental

        # Our push coming back (and what Salesforce filled in itself, such as Probability from
        # the stage): both sides agree before the drift is made.
        pull_incremental(connection_id=connection.pk)
        results = {}
        # The baseline first, then the validation, each with fresh drift of the same size.
        for label, method in (("baseline: paged SOQL, 2,000 rows a call", "soql"), ("Cothon: one Bulk API 2.0 query job", "bulk")):
            make_drift(emu, links, args.drift, f"Drift before the {method} run")
            report = validation_start(connection=connection, enqueue=False)
            results[label] = measure(report.pk, method)
        load = os.getloadavg()
        print(f"\nDaily validation of {len(links):,} linked opportunities ({args.drift:,} edited in Salesforce and "
              f"{max(1, args.drift // 10):,} in Cothon before each run); load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
        print(table([(label, r["api_calls"], f"{r['seconds']:.1f}s", f"{r['job_seconds']:.1f}s" if r["job_seconds"] else "",
                      f"{r['peak_rss_mb']:.0f} MB", f"{r['rows']:,}", f"{r['differences']:,}", r["status"])
                     for label, r in results.items()],
                    ("approach", "API calls", "time", "of which the job ran", "peak RSS", "rows read", "field differences",
                     "read")))
        for label, r in results.items():
            print(f"{label}: repairs {r['repairs']}" + (f"; {r['reason']}" if r["reason"] else ""))
            if os.environ.get("BENCH_DEBUG"):
                print(r["examples"])
        print("Goals: API calls <= 10, peak RSS < 300 MB (the validating process alone).")
    finally:
        emu.stop()
        teardown_django()


if __name__ == "__main__":
    main()
