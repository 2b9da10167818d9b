"""Dashboard benchmark: N opportunities in one tenant (and as many in another, never counted).
Times every Dashboard figure computed by the selectors (opportunities/dashboard.py: aggregation
in the database) against a naive baseline that loads every opportunity into Python and adds them
up there, in the same run; prints time and queries of both and checks they agree.

    .venv/bin/python benchmarks/dashboard.py [--opportunities 20000] [--repeat 5]

Runs against PostgreSQL when reachable (prints which)."""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
import sys
import time
import zoneinfo
from decimal import Decimal

from _harness import setup_django, table, teardown_django

STATUSES = ["identified", "analyzing", "pursuing", "submitted", "won", "lost"]
CATEGORIES = ["goods", "services", "construction", "it", "professional"]


def seed(tenant, departments, n: int, rng: random.Random, today: datetime.date) -> None:
    from opportunities.models import Opportunity

    rows = []
    for i in range(n):
        low = Decimal(rng.choice((0, 25, 75, 120, 250, 400, 900, 2400))) * 1000 if rng.random() > 0.1 else None
        high = (low or Decimal(50_000)) * Decimal(rng.choice(("1.0", "1.5", "2.0"))) if rng.random() > 0.1 else None
        changed = datetime.datetime.combine(today - datetime.timedelta(days=rng.randint(0, 500)), datetime.time(12),
                                            tzinfo=datetime.UTC)
        rows.append(Opportunity(
            tenant=tenant, title=f"Opportunity {i}", reference=f"{tenant.slug}-{i:06d}", status=rng.choice(STATUSES),
            category=rng.choice(CATEGORIES), department=rng.choice(departments + [None]),
            closing_date=today + datetime.timedelta(days=rng.randint(-400, 200)) if rng.random() > 0.05 else None,
            value_min=low, value_max=high, compliance_score=rng.randint(0, 100) if rng.random() > 0.2 else None,
            field_changed_at={"status": changed.isoformat(timespec="milliseconds")} if rng.random() > 0.3 else {}))
    Opportunity.objects.bulk_create(rows, batch_size=2000)


def naive(tenant, zone, today):
    """The baseline: every opportunity as a Python object, every figure added up in Python."""
    from opportunities import dashboard as d
    from opportunities.models import Opportunity

    def value(o):
        if o.value_min is not None and o.value_max is not None:
            return (o.value_min + o.value_max) / 2
        return o.value_min if o.value_min is not None else o.value_max

    funnel = {s: [0, Decimal(0)] for s in STATUSES}
    buckets = [0] * len(d.COMPLIANCE_BUCKETS)
    unscored, active_scores, departments, closing = 0, [], {}, []
    q_start, q_end = d.quarter_of(today)
    w_start, months = d.win_rate_window(today)
    wins = {m: [0, 0] for m in months}
    for o in Opportunity.objects.filter(tenant=tenant).select_related("department"):
        v = value(o)
        funnel[o.status][0] += 1
        funnel[o.status][1] += v or 0
        if o.compliance_score is None:
            unscored += 1
        else:
            for i, (_, low, high) in enumerate(d.COMPLIANCE_BUCKETS):
                if low <= o.compliance_score <= high:
                    buckets[i] += 1
            if o.status in d.ACTIVE_STATUSES:
                active_scores.append(o.compliance_score)
        if o.department is not None:
            entry = departments.setdefault(o.department_id, [o.department.name, 0, Decimal(0)])
            entry[1] += 1
            entry[2] += v or 0
        if o.closing_date and q_start <= o.closing_date <= q_end:
            closing.append(o)
        if o.status in ("won", "lost"):
            stamp = (o.field_changed_at or {}).get("status")
            closed = (datetime.datetime.fromisoformat(stamp).astimezone(zone).date() if stamp else o.closing_date)
            if closed and w_start <= closed <= today:
                wins[closed.replace(day=1)][0 if o.status == "won" else 1] += 1
    top = sorted(((name, total) for pk, (name, _, total) in departments.items() if total > 0),
                 key=lambda r: (-r[1], r[0]))[:d.TOP_DEPARTMENTS]
    return {"funnel": [(s, funnel[s][0], funnel[s][1].quantize(Decimal("0.01"))) for s in STATUSES],
            "buckets": buckets, "unscored": unscored,
            "average": round(statistics.fmean(active_scores), 1) if active_scores else None,
            "top": [(name, total.quantize(Decimal("0.01"))) for name, total in top],
            "closing": len(closing), "wins": [tuple(wins[m]) for m in months]}


def selectors(tenant, zone, today):
    from opportunities import dashboard as d

    f = d.dashboard_figures(tenant=tenant, filters=d.DashboardFilters(), zone=zone, today=today)
    stages = [*f.funnel.stages, f.funnel.lost]
    return {"funnel": sorted(((s.status, s.count, s.total_value) for s in stages), key=lambda r: STATUSES.index(r[0])),
            "buckets": [b.count for b in f.compliance.buckets], "unscored": f.compliance.unscored,
            "average": f.compliance.active_average,
            "top": [(r.name, r.total_value) for r in f.departments],
            "closing": f.closing_count, "wins": [(m.won, m.lost) for m in f.win_rate.months]}


def measure(fn, repeat: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, result, queries = [], None, 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - start)
        queries = len(captured)
    return result, statistics.median(times), min(times), queries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    backend = setup_django("dashboard")
    try:
        return run(args, backend)
    finally:
        teardown_django()


def run(args, backend: str) -> int:
    from cothon.tenancy.services import tenant_create
    from opportunities.models import Department

    rng = random.Random(20261206)
    zone = zoneinfo.ZoneInfo("America/Toronto")
    today = datetime.date.today()
    tenants = [tenant_create(name="Bench A", slug="bench-a"), tenant_create(name="Bench B", slug="bench-b")]
    start = time.perf_counter()
    for tenant in tenants:
        departments = [Department.objects.create(tenant=tenant, name=f"Department {i:02d}", key=f"dept-{i:02d}") for i in range(40)]
        seed(tenant, departments, args.opportunities, rng, today)
    print(f"Dashboard benchmark — {backend}")
    print(f"{args.opportunities:,} opportunities in the measured tenant (+{args.opportunities:,} in another), "
          f"seeded in {time.perf_counter() - start:.1f} s; median and best of {args.repeat} runs\n")
    tenant = tenants[0]
    fast, fast_median, fast_best, fast_queries = measure(lambda: selectors(tenant, zone, today), args.repeat)
    slow, slow_median, slow_best, slow_queries = measure(lambda: naive(tenant, zone, today), args.repeat)
    print(table([("selectors (database aggregation)", f"{fast_median * 1000:.1f}", f"{fast_best * 1000:.1f}", fast_queries),
                 ("naive (all rows into Python)", f"{slow_median * 1000:.1f}", f"{slow_best * 1000:.1f}", slow_queries)],
                ("all figures by", "median ms", "best ms", "queries")))
    print(f"\nspeed-up (median): {slow_median / fast_median:.1f}×")
    agree = fast == slow
    print(f"figures agree: {'yes' if agree else 'NO'}")
    if not agree:
        for key in fast:
            if fast[key] != slow[key]:
                print(f"  {key}: selectors {fast[key]!r}\n  {' ' * len(key)}  naive     {slow[key]!r}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
