"""What the push's conflict guard costs (sync_engine/push/conflict_guard.py): Salesforce calls and
time of pushing Cothon edits of linked records, and of a Sync Now full run re-sending them whole,
with the guard and without it (the code before it: a no-op guard), back to back in one run, and
against a naive guard reading each record before its write (one query per record, projected).

    python benchmarks/conflict_guard.py --records 1000 [--bulk-threshold 500]

Prints figures; asserts nothing. The machine's load average is printed with them."""

from __future__ import annotations

import argparse
import datetime
import os
import time
from decimal import Decimal

from _harness import Emulator, connect_bench_org, setup_django, table, teardown_django


def _calls(emu) -> dict[str, int]:
    """The emulator's own count of the calls it answered, by endpoint (what Salesforce would bill)."""
    return {c["endpoint"]: c["count"] for c in emu.client.counters("demo")["counters"]}


def _measured(emu, work) -> tuple[int, str, float]:
    """Run `work`; the calls it made (total, by endpoint) and its time."""
    emu.client.reset_counters()
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    calls = _calls(emu)
    return sum(calls.values()), ", ".join(f"{k} {n}" for k, n in sorted(calls.items(), key=lambda kv: -kv[1])), seconds


def _drain(connection) -> None:
    from sync_engine.executor import push_connection
    from sync_engine.fanout import fan_out_pending

    fan_out_pending()
    while push_connection(connection_id=connection.pk).batches:
        pass


def _edit_all(tenant, ids: list[int], text: str) -> None:
    from opportunities import services
    from opportunities.models import Opportunity

    for opportunity in Opportunity.objects.filter(pk__in=ids):
        services.opportunity_update(tenant=tenant, opportunity=opportunity, data={"description": f"{text} {opportunity.pk}"})


def _full_run(connection) -> None:
    from sync_engine.services import sync_now_start, sync_run_execute_inline

    sync_run_execute_inline(run=sync_now_start(connection=connection, kind="full", actor=None, enqueue=False))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--bulk-threshold", type=int, default=0, help="set the connection's Bulk threshold (0: keep 2,000)")
    args = parser.parse_args()
    backend = setup_django("guard")
    emu = Emulator()
    try:
        from integrations.sync_settings import settings_current, settings_save
        from opportunities import services
        from sync_engine.handlers import opportunity as handler
        from sync_engine.models import SyncLink
        from sync_engine.pull.incremental import pull_incremental
        from sync_engine.push.conflict_guard import GuardResult

        tenant, connection = connect_bench_org(emu)
        if args.bulk_threshold:
            data = dict(settings_current(connection=connection))
            data["bulk_threshold"] = args.bulk_threshold
            settings_save(connection=connection, data=data, actor=None, against_org=False)
        close = datetime.date.today() + datetime.timedelta(days=60)
        ids = [services.opportunity_create(tenant=tenant, title=f"Guarded opportunity {i}", reference=f"GUARD-{i:06d}",
                                           description="Agreed", status="identified", closing_date=close,
                                           value_min=Decimal(100000 + i)).pk for i in range(args.records)]
        _drain(connection)
        linked = SyncLink.objects.filter(connection=connection, record_type="opportunity").exclude(salesforce_id="").count()
        if linked != args.records:
            raise SystemExit(f"Only {linked} of {args.records} opportunities reached Salesforce: see the sync log.")
        pull_incremental(connection_id=connection.pk)  # the bases agreed, the pull's watermark set
        real = handler.guard_items
        rows, detail = [], []
        for label, guard in (("with the guard", real), ("without (before it)", lambda *a, **k: GuardResult())):
            handler.guard_items = guard
            _edit_all(tenant, ids, label)
            edits, edits_by, edit_seconds = _measured(emu, lambda: _drain(connection))
            full, full_by, full_seconds = _measured(emu, lambda: _full_run(connection))
            rows.append((label, edits, f"{edit_seconds:.1f}s", full, f"{full_seconds:.1f}s"))
            detail.append(f"  {label}: edits {edits_by}; full {full_by}")
        handler.guard_items = real
        rows.append(("naive: read each record first (projected)", rows[1][1] + args.records, "", rows[1][3] + args.records, ""))
        print(f"Backend: {backend}; load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f}")
        print(f"{args.records:,} linked opportunities"
              f"{' (Bulk threshold ' + str(args.bulk_threshold) + ')' if args.bulk_threshold else ''}, every description edited:")
        print(table(rows, ("push", "edits: API calls", "edits: time", "Sync Now full: API calls", "full: time")))
        print("Calls by endpoint (emulator's count):")
        print("\n".join(detail))
    finally:
        emu.stop()
        teardown_django()


if __name__ == "__main__":
    main()
