"""Sync-log pages and CSV export at scale (decisions.md: <200 ms per page at 1,000,000 rows with
keyset pagination; CSV streamed).

    .venv/bin/python benchmarks/logs.py [--rows 1000000] [--repeat 5]

Creates a throwaway database (PostgreSQL when reachable, else SQLite — printed), loads N SyncLog
rows (COPY on PostgreSQL, chunked bulk inserts on SQLite), then times, through the real view and
selector code: the newest page, a page deep in the history by keyset, filtered pages, a naive
OFFSET page at the same depth (the baseline keyset replaces), and the full CSV export of a
filtered set (rows/s, peak RSS). Prints a table and the PostgreSQL plans; drops the database.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import setup_django, teardown_django  # noqa: E402

ERRORS = [
    ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"),
    ("REQUIRED_FIELD_MISSING", "Required fields are missing: [CloseDate]"),
    ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Amount must be positive"),
    ("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on cross-reference id"),
    ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "bad value for restricted picklist field"),
    ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
]
COLUMNS = ["tenant_id", "connection_id", "created_at", "record_type", "record_id", "record_label", "sobject", "salesforce_id",
           "direction", "operation", "result", "error_code", "error_message", "hint", "retries", "duration_ms", "api_calls"]


def _row(rng: random.Random, tenant_id: int, connection_id: int, at) -> list:
    roll = rng.random()
    result = ("success" if roll < 0.85 else "failed" if roll < 0.93 else "retrying" if roll < 0.97
              else "skipped" if roll < 0.99 else "paused")
    code, message = ("", "")
    if result in ("failed", "retrying", "paused"):
        code, message = ERRORS[0] if result == "retrying" else ERRORS[5] if result == "paused" else rng.choice(ERRORS[1:5])
    record_id = rng.randint(1, 50_000)
    kind = rng.random()
    record_type, sobject = (("opportunity", "Opportunity") if kind < 0.6 else ("analysis", "Cothon_Analysis__c") if kind < 0.75
                            else ("requirement", "Cothon_Requirement__c") if kind < 0.95 else ("department", "Account"))
    return [tenant_id, connection_id, at.isoformat(), record_type, record_id, f"Record {record_id} – services contract",
            sobject, "" if result != "success" else f"006{record_id:015d}", "push" if rng.random() < 0.9 else "pull",
            "upsert", result, code, message, "See the fix hint." if code else "", rng.randint(0, 3) if code else 0,
            rng.randint(40, 2500), 1 if rng.random() < 0.8 else 0]


def load_rows(total: int, tenants: list[tuple[int, int, float]], is_pg: bool) -> float:
    """Insert `total` rows split between tenants (id, connection id, share), oldest first."""
    import datetime

    from django.db import connection
    from django.utils import timezone

    rng = random.Random(42)
    start = time.perf_counter()
    now = timezone.now()
    span = datetime.timedelta(days=60)
    chunk = 100_000 if is_pg else 20_000
    done = 0
    while done < total:
        n = min(chunk, total - done)
        rows = []
        for i in range(n):
            position = done + i
            at = now - span + span * (position / total)
            pick = rng.random()
            acc = 0.0
            for tenant_id, connection_id, share in tenants:
                acc += share
                if pick <= acc:
                    break
            rows.append(_row(rng, tenant_id, connection_id, at))
        if is_pg:
            import csv

            buf = io.StringIO()
            csv.writer(buf).writerows(rows)
            buf.seek(0)
            with connection.cursor() as cursor:
                cursor.connection.cursor().copy_expert(
                    f"COPY sync_engine_synclog ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL (salesforce_id, error_code, error_message, hint))", buf)
        else:
            placeholders = ", ".join(["%s"] * len(COLUMNS))
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO sync_engine_synclog ({', '.join(COLUMNS)}) VALUES ({placeholders})", rows)
        done += n
        print(f"  loaded {done:,} rows", end="\r", flush=True)
    print()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sync_engine_synclog" if is_pg else "ANALYZE")
    return time.perf_counter() - start


def timed(fn, repeat: int) -> tuple[float, float]:
    fn()  # warm-up (plans, caches)
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), max(samples)


class PeakRss:
    """Samples this process's RSS in a thread (the CSV export must stay flat)."""

    def __init__(self) -> None:
        import psutil

        self.process = psutil.Process()
        self.peak = self.start = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--depth", type=float, default=0.5, help="How deep the deep page is, as a share of the tenant's rows.")
    args = parser.parse_args()

    backend = setup_django("logs")
    try:
        return run(args, backend)
    finally:
        teardown_django()


def run(args, backend: str) -> int:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from cothon.tenancy.services import membership_set, tenant_create, user_get_or_create
    from integrations.models import SalesforceConnection
    from sync_engine.models import SyncLog
    from sync_engine import log_selectors
    from sync_engine.selectors import LogFilters, sync_log_filtered, sync_log_page

    is_pg = connection.vendor == "postgresql"
    print(f"Backend: {backend}")
    print(f"Rows: {args.rows:,} (90% tenant A, 10% tenant B); median of {args.repeat} runs after a warm-up\n")

    tenant_a = tenant_create(name="Bench A", slug="bench-a")
    tenant_b = tenant_create(name="Bench B", slug="bench-b")
    conn_a = SalesforceConnection.objects.create(tenant=tenant_a, name="Prod", login_url="https://login.salesforce.com",
                                                 status="connected", is_default=True)
    conn_a2 = SalesforceConnection.objects.create(tenant=tenant_a, name="Sandbox", login_url="https://test.salesforce.com",
                                                  status="connected")
    conn_b = SalesforceConnection.objects.create(tenant=tenant_b, name="Prod", login_url="https://login.salesforce.com",
                                                 status="connected", is_default=True)
    user = user_get_or_create(username="bench-viewer", email="viewer@bench.example", password="x-bench-pass-123")
    membership_set(tenant=tenant_a, user=user, role="viewer")

    load_s = load_rows(args.rows, [(tenant_a.pk, conn_a.pk, 0.8), (tenant_a.pk, conn_a2.pk, 0.1), (tenant_b.pk, conn_b.pk, 0.1)], is_pg)
    print(f"Loaded {args.rows:,} rows in {load_s:.1f} s ({args.rows / load_s:,.0f} rows/s, {'COPY' if is_pg else 'executemany'})\n")

    tenant_rows = SyncLog.objects.filter(tenant=tenant_a).count()
    depth = int(tenant_rows * args.depth)
    # Setup only: the id at that depth (the one place an OFFSET is used, to find a cursor).
    deep_id = SyncLog.objects.filter(tenant=tenant_a).order_by("-id").values_list("id", flat=True)[depth]
    failed = LogFilters(result="failed")
    failed_code = LogFilters(result="failed", error_code="REQUIRED_FIELD_MISSING")
    failed_rows = sync_log_filtered(tenant=tenant_a, filters=failed).count()
    deep_failed_id = (sync_log_filtered(tenant=tenant_a, filters=failed).order_by("-id")
                      .values_list("id", flat=True)[failed_rows // 2])

    client = Client()
    client.force_login(user)
    logs_url = reverse("sync:logs")

    def page(**kw):
        return lambda: sync_log_page(tenant=tenant_a, **kw)

    def view(params):
        def get():
            response = client.get(logs_url, params)
            assert response.status_code == 200, response.status_code
        return get

    results: list[tuple[str, float, float, str]] = []

    def measure(label: str, fn, note: str = "") -> None:
        median, worst = timed(fn, args.repeat)
        results.append((label, median, worst, note))

    measure("newest page — selector", page())
    measure("newest page — whole view (HTML)", view({}))
    measure(f"keyset page at depth {depth:,} — selector", page(before=deep_id))
    measure(f"keyset page at depth {depth:,} — whole view", view({"before": deep_id}))
    measure("← Newer from that depth — selector", page(after=deep_id))
    measure("status=failed, newest — whole view", view({"result": "failed"}))
    measure("status=failed + code, newest — whole view", view({"result": "failed", "error_code": "REQUIRED_FIELD_MISSING"}))
    measure(f"status=failed keyset at depth {failed_rows // 2:,} — view", view({"result": "failed", "before": deep_failed_id}))
    measure("record type + id — whole view", view({"record_type": "opportunity", "record": "4242"}))
    measure("one day, 30 days ago — whole view", view({"date_from": _day(30), "date_to": _day(30)}))
    measure("one day, 58 days ago — whole view", view({"date_from": _day(58), "date_to": _day(58)}))
    measure("errors by cause (panel), no filter", lambda: log_selectors.error_groups(tenant=tenant_a))
    measure("errors by cause (panel), status=failed + code", lambda: log_selectors.error_groups(tenant=tenant_a, filters=failed_code))
    measure("last 7 days + failed — whole view", view({"date_from": _day(7), "result": "failed"}))
    measure("connection=Sandbox — whole view", view({"connection": conn_a2.pk}))

    offset_qs = SyncLog.objects.filter(tenant=tenant_a).select_related("connection").order_by("-id")
    measure(f"BASELINE: OFFSET {depth:,} LIMIT 50", lambda: list(offset_qs[depth:depth + 50]), "what keyset avoids")
    failed_offset = sync_log_filtered(tenant=tenant_a, filters=failed).order_by("-id")
    measure(f"BASELINE: status=failed OFFSET {failed_rows // 2:,}", lambda: list(failed_offset[failed_rows // 2: failed_rows // 2 + 50]))

    # CSV export of a filtered set, through the view (streamed, server-side cursor).
    export_rows = sync_log_filtered(tenant=tenant_a, filters=failed).count()
    with PeakRss() as rss:
        t = time.perf_counter()
        response = client.get(reverse("sync:logs_csv"), {"result": "failed"})
        size = lines = 0
        for part in response.streaming_content:
            size += len(part)
            lines += part.count(b"\n")
        export_s = time.perf_counter() - t
    assert lines == export_rows + 1, (lines, export_rows)

    print(f"{'measurement':<52} {'median ms':>10} {'max ms':>9}  note")
    print("-" * 92)
    for label, median, worst, note in results:
        flag = "" if median < 200 or label.startswith("BASELINE") else "  ← over 200 ms"
        print(f"{label:<52} {median:>10.1f} {worst:>9.1f}  {note}{flag}")
    print("-" * 92)
    print(f"CSV export status=failed: {export_rows:,} rows, {size / 1e6:.1f} MB in {export_s:.2f} s "
          f"= {export_rows / export_s:,.0f} rows/s; RSS {rss.start / 1e6:.0f} MB → peak {rss.peak / 1e6:.0f} MB "
          f"(+{(rss.peak - rss.start) / 1e6:.1f} MB)")
    print(f"Tenant A rows: {tenant_rows:,}; failed: {failed_rows:,}")

    if is_pg:
        print("\nPostgreSQL plans (EXPLAIN ANALYZE):")
        plans = {
            "newest page": sync_log_filtered(tenant=tenant_a).order_by("-id")[:51],
            "keyset deep page": sync_log_filtered(tenant=tenant_a).filter(id__lt=deep_id).order_by("-id")[:51],
            "status=failed + code": sync_log_filtered(tenant=tenant_a, filters=failed_code).order_by("-id")[:51],
            "OFFSET baseline": sync_log_filtered(tenant=tenant_a).order_by("-id")[depth:depth + 50],
        }
        for name, qs in plans.items():
            text = qs.explain(analyze=True)
            lines_ = text.splitlines()
            print(f"  {name}:")
            for line in lines_[:4] + [l for l in lines_ if "Execution Time" in l]:
                print(f"      {line.strip()[:120]}")
    return 0


def _day(days_ago: int) -> str:
    import datetime

    return (datetime.date.today() - datetime.timedelta(days=days_ago)).isoformat()


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cothon.settings")
    sys.exit(main())
