"""Pull benchmark: an incremental pull of N records changed in Salesforce (API calls against the
ceil(N / 2,000) floor, records/s, peak RSS), real-time pull latency p50/p95 over Salesforce
edits (Outbound Message → receiver → real worker → Cothon), and an idle cycle of many
connections (API calls per connection, scheduler CPU).

    .venv/bin/python benchmarks/pull.py [--records 10000] [--latency-samples 200] [--idle-connections 1000]

Runs against PostgreSQL + Redis when reachable (prints which) and a private emulator."""

from __future__ import annotations

import argparse
import math
import statistics
import threading
import time

from _harness import connect_bench_org, Emulator, peak_rss_mb, setup_django, table, teardown_django


def seed_linked(connection, emu: Emulator, n: int) -> list[tuple[int, str]]:
    """N Cothon opportunities pushed to Salesforce by the push engine (so links, base snapshots
    and pushed hashes are real). Returns [(opportunity id, Salesforce id)]."""
    import datetime
    from decimal import Decimal

    from opportunities.models import Opportunity
    from sync_engine.models import SyncLink
    from sync_engine.services import sync_now_start, sync_run_execute_inline

    today = datetime.date.today()
    for start in range(0, n, 5000):
        Opportunity.objects.bulk_create([
            Opportunity(tenant=connection.tenant, title=f"Pull benchmark #{i}", reference=f"PULL-{i:06d}",
                        value_min=Decimal(100000 + i), value_max=Decimal(200000 + i), closing_date=today + datetime.timedelta(days=30),
                        status="identified", description="Cothon's text")
            for i in range(start, min(n, start + 5000))])
    run = sync_now_start(connection=connection, kind="full", actor=None, enqueue=False)
    run = sync_run_execute_inline(run=run)
    if run.status != "succeeded":
        raise RuntimeError(f"the full sync that seeds the benchmark ended {run.status}: {run.message}")
    return list(SyncLink.objects.filter(connection=connection, record_type="opportunity").values_list("record_id", "salesforce_id"))


def edit_in_salesforce(emu: Emulator, ids: list[str], text: str) -> None:
    """What a sales team's mass update does: Description and Stage of every record, 200 a call."""
    session = emu_session(emu)
    url = f"{emu.client.instance_url}/services/data/v59.0/composite/sobjects"
    for start in range(0, len(ids), 200):
        records = [{"attributes": {"type": "Opportunity"}, "Id": sf_id, "Description": text, "StageName": "Qualification"}
                   for sf_id in ids[start:start + 200]]
        response = session.patch(url, json={"allOrNone": False, "records": records})
        response.raise_for_status()


def emu_session(emu: Emulator):
    import requests

    session = requests.Session()
    session.trust_env = False
    session.verify = emu.client.ca_bundle
    session.headers["Authorization"] = f"Bearer {emu.client.mint_token('demo')['access_token']}"
    return session


def serve_cothon() -> tuple[str, object]:
    """Cothon's WSGI app on a free loopback port, in threads (the receiver must be reachable)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(WSGIHandler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def pull_calls(connection) -> int:
    from sync_engine.models import ApiCallBucket

    return sum(ApiCallBucket.objects.filter(connection=connection, kind="pull").values_list("calls", flat=True))


def latency(connection, emu: Emulator, links: list[tuple[int, str]], samples: int, debounce: int | None = None,
            base_server: tuple[str, object] | None = None) -> tuple[list[float], int]:
    """Edits in Salesforce one after the other, each waited for in Cothon. Returns the
    latencies and the API calls the real-time pull made for them, the contact-role reads that
    follow included. `debounce`: COTHON_CONTACT_ROLES_DEBOUNCE_SECONDS of the worker (0: each
    batch reads its contact roles, the behaviour before they were coalesced)."""
    from opportunities.models import Opportunity
    from sync_engine.pull.models import InboundNotification
    from tests.sync_engine.workers import Worker

    env = {} if debounce is None else {"COTHON_CONTACT_ROLES_DEBOUNCE_SECONDS": str(debounce)}
    worker = Worker(queues="realtime", extra_env=env).start()
    session = emu_session(emu)
    url = f"{emu.client.instance_url}/services/data/v59.0/sobjects/Opportunity"
    results = []
    calls_before = pull_calls(connection)
    try:
        for i, (record_id, sf_id) in enumerate(links[:samples]):
            text = f"Real-time edit {i}"
            started = time.perf_counter()
            session.patch(f"{url}/{sf_id}", json={"Description": text}).raise_for_status()
            while Opportunity.objects.filter(pk=record_id).values_list("description", flat=True).first() != text:
                if time.perf_counter() - started > 30:
                    raise RuntimeError(f"edit not in Cothon after 30 s; worker log:\n{worker.log()[-2000:]}")
                time.sleep(0.01)
            results.append(time.perf_counter() - started)
        # The coalesced contact-role read lands a few seconds after the last batch.
        deadline = time.perf_counter() + 60
        while InboundNotification.objects.filter(contact_roles_pending=True).exists():
            if time.perf_counter() > deadline:
                raise RuntimeError(f"contact roles still pending after 60 s; worker log:\n{worker.log()[-2000:]}")
            time.sleep(0.1)
    finally:
        worker.stop()
    return results, pull_calls(connection) - calls_before


def outbound_rule(connection, emu: Emulator):
    """The org's Outbound Message pointing at a receiver served here; returns the server."""
    from integrations.sync_settings import describe_get
    from sync_engine.pull.outbound import receiver_path
    from sync_engine.pull.rules import message_fields

    base, server = serve_cothon()
    response = emu.client.session.post(f"{emu.client.http_url}/_emulator/outbound/rules", timeout=30, json={
        "org": "demo", "name": "Cothon Sync", "object": "Opportunity", "criteria": {"field": "IsDeleted", "value": False},
        "evaluation": "created_and_every_edit", "endpoint_url": base + receiver_path(connection),
        "fields": message_fields(connection, describe=describe_get(connection=connection, sobject="Opportunity"))})
    response.raise_for_status()
    return server


def idle_cycle(template, count: int) -> tuple[float, float, float]:
    """`count` connections sharing the benchmark org's session (created directly: connecting
    each would only measure the token endpoint), one warm-up cycle, then one measured idle cycle.
    Returns (API calls per connection, scheduler CPU seconds, pull wall seconds)."""
    import datetime

    from django.db.models import Sum
    from django.utils import timezone

    from integrations.models import SalesforceConnection
    from integrations.sync_settings import settings_ensure_initial
    from sync_engine.models import ApiCallBucket
    from sync_engine.pull.incremental import pull_incremental
    from sync_engine.pull.schedule import pulls_due

    fields = {f.name: getattr(template, f.name) for f in SalesforceConnection._meta.concrete_fields
              if f.name not in ("id", "name", "is_default", "created_at", "updated_at")}
    made = SalesforceConnection.objects.bulk_create([
        SalesforceConnection(**{**fields, "name": f"Idle {i}", "is_default": False}) for i in range(count)])
    for connection in made:
        settings_ensure_initial(connection=connection)
    ids = [c.pk for c in made]
    # As after their first cycle: a watermark past every change (nothing new since) and the
    # describe cached — set directly, so the set-up does not read the org 1,000 times.
    from integrations.models import DescribeCache
    from sync_engine.pull.incremental import OVERLAP
    from sync_engine.pull.models import PullWatermark

    cached = DescribeCache.objects.filter(connection=template, sobject="Opportunity").first()
    DescribeCache.objects.bulk_create([DescribeCache(connection_id=i, sobject="Opportunity", payload=cached.payload,
                                                     fetched_at=cached.fetched_at) for i in ids])
    # Each with a department linked to an Account, as in real use: the cycle reads both objects
    # (Opportunity and Account, one composite call) — the idle cost that matters.
    from opportunities.services import department_create
    from sync_engine.models import LinkStatus, SyncLink

    department = department_create(tenant=template.tenant, name="Idle benchmark department")
    SyncLink.objects.bulk_create([SyncLink(tenant_id=template.tenant_id, connection_id=i, record_type="department",
                                           record_id=department.pk, sobject="Account", salesforce_id="001000000000001AAA",
                                           status=LinkStatus.SYNCED, base_snapshot={"Name": department.name}) for i in ids])
    PullWatermark.objects.bulk_create([PullWatermark(connection_id=i, sobject=sobject, watermark=timezone.now() + OVERLAP)
                                       for i in ids for sobject in ("Opportunity", "Account")])

    def calls() -> int:
        return ApiCallBucket.objects.filter(connection_id__in=ids, kind="pull").aggregate(n=Sum("calls"))["n"] or 0

    before = calls()
    cpu = time.process_time()
    due = pulls_due(now=timezone.now() + datetime.timedelta(hours=1))
    scheduler_cpu = time.process_time() - cpu
    started = time.perf_counter()
    for connection_id in due:
        if connection_id in ids:
            pull_incremental(connection_id=connection_id)
    wall = time.perf_counter() - started
    return (calls() - before) / count, scheduler_cpu, wall


class count_apply_queries:
    """Counts the database queries of each `pull_apply` call (one page) during the with block:
    appends (records, queries) to `pages`."""

    def __init__(self, pages: list[tuple[int, int]]):
        self.pages = pages

    def __enter__(self):
        from django.db import connection as db

        from sync_engine.pull import apply, incremental

        self.real = incremental.pull_apply
        counter = [0]

        def count(execute, sql, params, many, context):
            counter[0] += 1
            return execute(sql, params, many, context)

        def counted(*, sobject_records, **kwargs):
            counter[0] = 0
            with db.execute_wrapper(count):
                summary = self.real(sobject_records=sobject_records, **kwargs)
            self.pages.append((len(sobject_records), counter[0]))
            return summary

        incremental.pull_apply = counted
        self.apply = apply
        return self

    def __exit__(self, *exc):
        from sync_engine.pull import incremental

        incremental.pull_apply = self.real
        return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--idle-connections", type=int, default=1000)
    args = parser.parse_args()

    backend = setup_django("pull")
    emu = Emulator()
    try:
        from sync_engine.pull.incremental import pull_incremental

        print(f"Backend: {backend}; emulator: {emu.client.instance_url}")
        tenant, connection = connect_bench_org(emu)
        t0 = time.perf_counter()
        links = seed_linked(connection, emu, args.records)
        print(f"Seeded and pushed {len(links):,} opportunities in {time.perf_counter() - t0:.1f}s")
        pull_incremental(connection_id=connection.pk)  # our own push coming back: echoes, sets the watermark

        edit_in_salesforce(emu, [sf_id for _, sf_id in links], "Changed by the sales team")
        pages: list[tuple[int, int]] = []
        started = time.perf_counter()
        with count_apply_queries(pages):
            result = pull_incremental(connection_id=connection.pk)
        elapsed = time.perf_counter() - started
        floor = math.ceil(len(links) / 2000)
        s = result.summary
        print(f"\nIncremental pull of {len(links):,} records changed in Salesforce:")
        print(table([
            ("Cothon (queryAll pages; Bulk 2.0 job for the rest)", s.api_calls, f"{s.api_calls / floor:.2f}x",
             f"{s.seen / elapsed:,.0f}", f"{elapsed:.1f}s"),
            ("floor: ceil(N / 2,000)", floor, "1.00x", "", ""),
        ], ("approach", "API calls", "vs floor", "records/s", "time")))
        print(f"applied {s.applied:,}, echoes {s.echoes:,}, failed {s.failed:,}; peak RSS {peak_rss_mb():.0f} MB")
        print("Database queries per applied page (records: queries): "
              + ", ".join(f"{n:,}: {q:,}" for n, q in pages))
        idle = pull_incremental(connection_id=connection.pk)
        print(f"Next cycle, nothing changed: {idle.summary.api_calls} API call(s) (the burst's last two minutes are read "
              "again once: the overlap window)")
        # As 15 minutes later (the next scheduled cycle): the last query ran well after the burst.
        import datetime

        from django.utils import timezone

        from sync_engine.pull.models import PullWatermark

        PullWatermark.objects.filter(connection=connection).update(queried_at=timezone.now() + datetime.timedelta(minutes=15))
        steady = pull_incremental(connection_id=connection.pk)
        print(f"Idle cycle once a cycle has run after the burst: {steady.summary.api_calls} API call(s)")

        if args.latency_samples:
            import os

            server = outbound_rule(connection, emu)
            n = args.latency_samples
            rows = []
            try:
                # Back to back on the same machine: each batch reading its contact roles (the
                # behaviour before, debounce 0), then the coalesced read (the setting's default).
                for label, debounce, chunk in (("naive: contact roles read with each batch (debounce 0)", 0, links[:n]),
                                               ("coalesced contact-role read (debounce 5 s)", None, links[n:2 * n])):
                    samples, calls = latency(connection, emu, chunk, n, debounce=debounce)
                    samples.sort()
                    p95 = samples[max(0, math.ceil(0.95 * len(samples)) - 1)]
                    rows.append((label, calls, f"{statistics.median(samples) * 1000:.0f} ms", f"{p95 * 1000:.0f} ms",
                                 f"{samples[-1] * 1000:.0f} ms"))
            finally:
                server.shutdown()
            print(f"\nReal-time pull, {n} Salesforce edits one after the other (each waited for in Cothon), one real-time "
                  f"worker; load average {os.getloadavg()[0]:.1f}:")
            print(table(rows, ("contact roles", "API calls", "p50", "p95", "max")))

        if args.idle_connections:
            per_connection, scheduler_cpu, wall = idle_cycle(connection, args.idle_connections)
            print(f"\nIdle cycle of {args.idle_connections:,} connections: {per_connection:.2f} API calls per connection; "
                  f"scheduler CPU {scheduler_cpu:.2f}s; the pulls took {wall:.1f}s in one process")
    finally:
        emu.stop()
        teardown_django()


if __name__ == "__main__":
    main()
