"""/metrics at scale (docs/monitoring.md): the scrape's cost must not grow with the sync log.

    .venv/bin/python benchmarks/metrics.py [--rows 1000000] [--connections 200] [--pending 20000] [--repeat 5]

Creates a throwaway database (PostgreSQL when reachable, else SQLite — printed), N connections
over N/4 tenants, loads SyncLog rows (push and pull, results and error codes, queued_at so each
has a latency) and, as the write path does, adds each 2,000-row batch's (one connection's) totals to MetricTotal
with one upsert (timed: the per-batch cost the push and pull flushes pay); queues pending
outbox rows and unfanned changes. Then times the real scrape (`sync_engine.metrics.render`,
the governor included) against the naive baseline: the same counters and histograms computed
in Python from the raw SyncLog rows. Prints a table; drops the database.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import setup_django, teardown_django  # noqa: E402

CODES = ["REQUIRED_FIELD_MISSING", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "UNABLE_TO_LOCK_ROW", "INVALID_VALUE", "SOMETHING_NEW"]
COLUMNS = ["tenant_id", "connection_id", "created_at", "record_type", "record_id", "record_label", "sobject", "salesforce_id",
           "direction", "operation", "result", "error_code", "error_message", "hint", "retries", "duration_ms", "api_calls",
           "queued_at", "attempts"]
BATCH = 2_000


def timed(fn, repeat: int) -> tuple[float, float]:
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), max(samples)


def load(total: int, connections: list[tuple[int, int]], is_pg: bool) -> tuple[float, list[float]]:
    """SyncLog rows, and their totals added batch by batch as the flushes do. Returns the load
    time and the per-batch add_totals times (ms)."""
    from django.db import connection
    from django.utils import timezone

    from sync_engine.metric_totals import add_totals, log_totals

    rng = random.Random(7)
    now = timezone.now()
    span = datetime.timedelta(days=60)
    started = time.perf_counter()
    upserts: list[float] = []
    done = 0
    while done < total:
        n = min(100_000, total - done)
        rows, batch = [], []
        for i in range(n):
            if (done + i) % BATCH == 0:  # a flush's batch belongs to one connection
                tenant_id, connection_id = connections[rng.randrange(len(connections))]
            at = now - span + span * ((done + i) / total)
            roll = rng.random()
            result = "success" if roll < 0.9 else "failed" if roll < 0.97 else "retrying"
            code = rng.choice(CODES) if result != "success" else ""
            direction = "push" if rng.random() < 0.7 else "pull"
            queued = at - datetime.timedelta(seconds=rng.expovariate(1 / 20))
            rows.append([tenant_id, connection_id, at.isoformat(), "opportunity", rng.randint(1, 50_000), "Record – services contract",
                         "Opportunity", "", direction, "upsert", result, code, "", "", 0, rng.randint(40, 900), 1,
                         queued.isoformat(), 1 if direction == "push" else 0])
            batch.append((connection_id, direction, result, code, at, queued))
            if len(batch) == BATCH:
                t = time.perf_counter()
                add_totals(log_totals(batch))
                upserts.append((time.perf_counter() - t) * 1000)
                batch = []
        if batch:
            add_totals(log_totals(batch))
        if is_pg:
            buf = io.StringIO()
            csv.writer(buf).writerows(rows)
            buf.seek(0)
            with connection.cursor() as cursor:
                cursor.connection.cursor().copy_expert(
                    f"COPY sync_engine_synclog ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv, "
                    f"FORCE_NOT_NULL (salesforce_id, error_code, error_message, hint, record_label))", buf)
        else:
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO sync_engine_synclog ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})",
                                   rows)
        done += n
        print(f"  loaded {done:,} rows", end="\r", flush=True)
    print()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if not is_pg else "ANALYZE sync_engine_synclog")
    return time.perf_counter() - started, upserts


def naive() -> int:
    """The baseline: the counters and histograms from the raw rows, in Python, every scrape."""
    from sync_engine.metric_totals import log_totals
    from sync_engine.models import SyncLog

    rows = SyncLog.objects.values_list("connection_id", "direction", "result", "error_code", "created_at", "queued_at")
    return len(log_totals(rows.iterator(chunk_size=10_000)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--pending", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    backend = setup_django("metrics")
    try:
        return run(args, backend)
    finally:
        teardown_django()


def run(args, backend: str) -> int:
    from django.db import connection
    from django.utils import timezone

    from cothon.tenancy.services import tenant_create
    from integrations.models import SalesforceConnection
    from sync_engine.metrics import render
    from sync_engine.models import ChangeRecord, MetricTotal, OutboxEntry

    is_pg = connection.vendor == "postgresql"
    print(f"Backend: {backend}")
    tenants = [tenant_create(name=f"Bench {i}", slug=f"bench-{i}") for i in range(max(1, args.connections // 4))]
    conns = [SalesforceConnection.objects.create(tenant=tenants[i % len(tenants)], name=f"Org {i}", status="connected",
                                                 login_url="https://login.salesforce.com") for i in range(args.connections)]
    pairs = [(c.tenant_id, c.pk) for c in conns]
    load_s, upserts = load(args.rows, pairs, is_pg)
    now = timezone.now()
    rng = random.Random(3)
    OutboxEntry.objects.bulk_create([
        OutboxEntry(tenant_id=t, connection_id=c, record_type="opportunity", record_id=i, event="updated", priority=rng.choice([10, 20, 30]),
                    state="pending" if i % 10 else "claimed", available_at=now)
        for i, (t, c) in enumerate(rng.choice(pairs) for _ in range(args.pending))], batch_size=5_000)
    ChangeRecord.objects.bulk_create([ChangeRecord(tenant=tenants[i % len(tenants)], record_type="opportunity", record_id=i,
                                                   event="updated") for i in range(1_000)], batch_size=5_000)
    print(f"Loaded {args.rows:,} SyncLog rows over {args.connections} connections in {load_s:.1f} s; "
          f"{args.pending:,} outbox rows, 1,000 unfanned changes; {MetricTotal.objects.count():,} MetricTotal rows\n")

    text = render()
    scrape_ms, scrape_max = timed(render, args.repeat)
    naive_ms, naive_max = timed(naive, max(1, args.repeat // 2))
    series = sum(1 for line in text.decode().splitlines() if line and not line.startswith("#"))
    print(f"{'measure':<58} {'median':>10} {'max':>10}")
    print(f"{'scrape: sync_engine.metrics.render (all series)':<58} {scrape_ms:>8.0f} ms {scrape_max:>7.0f} ms")
    print(f"{'naive: counters + histograms from raw SyncLog rows':<58} {naive_ms:>8.0f} ms {naive_max:>7.0f} ms")
    print(f"{'write path: one add_totals upsert per 2,000-row batch':<58} {statistics.median(upserts):>8.1f} ms "
          f"{max(upserts):>7.1f} ms")
    print(f"\nExposition: {len(text) / 1024:,.0f} KiB, {series:,} samples. Scrape is {naive_ms / scrape_ms:,.0f}x faster than the baseline.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
