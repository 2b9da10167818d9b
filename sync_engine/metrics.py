"""Cothon's Prometheus metrics, read from the database at scrape time (docs/monitoring.md).

Web and worker processes are many and restart, so no process keeps counts in memory: gauges
are the current state (queue rows, the governor, watermarks, open conflicts), counters and
histograms the running totals of `MetricTotal` that each batch adds to. A scrape runs a fixed
handful of grouped queries whose cost follows the number of connections and queued rows,
never the size of the sync log (benchmarks/metrics.py).

Labels: connection_id and tenant_id (numbers) and fixed enums — never record data."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from integrations.models import SalesforceConnection
from sync_engine.governor import get_governor
from sync_engine.metric_totals import INF, LATENCY_BUCKETS
from sync_engine.models import ChangeRecord, ConflictStatus, MetricTotal, OutboxEntry, OutboxState, SyncConflict
from sync_engine.pull.models import PullWatermark

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CONN = ["connection_id", "tenant_id"]


class CothonCollector:
    """A prometheus_client collector: every `collect()` reads the database afresh."""

    def collect(self) -> Iterator[Metric]:
        started = time.monotonic()
        now = timezone.now()
        tenants = dict(SalesforceConnection.objects.values_list("pk", "tenant_id"))

        def conn(connection_id: int) -> list[str]:
            return [str(connection_id), str(tenants.get(connection_id, ""))]

        yield from _queue(now, conn)
        yield from _changes(now)
        yield from _governor(tenants, conn)
        yield from _pull_lag(now, conn)
        conflicts = GaugeMetricFamily("cothon_conflicts_open", "Conflicts held for review, not yet resolved.", labels=CONN)
        for connection_id, n in (SyncConflict.objects.filter(status=ConflictStatus.OPEN).values("connection_id")
                                 .annotate(n=Count("id")).values_list("connection_id", "n")):
            conflicts.add_metric(conn(connection_id), n)
        yield conflicts
        yield from _totals(conn)
        scrape = GaugeMetricFamily("cothon_metrics_scrape_duration_seconds", "How long this scrape's database reads took.")
        scrape.add_metric([], time.monotonic() - started)
        yield scrape


def _queue(now, conn) -> Iterator[Metric]:
    depth = GaugeMetricFamily("cothon_outbox_entries", "Outbox rows waiting (pending) or being pushed (claimed).",
                              labels=[*CONN, "priority", "state"])
    oldest = GaugeMetricFamily("cothon_outbox_oldest_pending_age_seconds",
                               "Age of the oldest pending outbox row of the connection.", labels=CONN)
    oldest_by_connection: dict[int, object] = {}
    rows = (OutboxEntry.objects.filter(state__in=[OutboxState.PENDING, OutboxState.CLAIMED])
            .values("connection_id", "priority", "state").annotate(n=Count("id"), oldest=Min("created_at"))
            .values_list("connection_id", "priority", "state", "n", "oldest"))
    for connection_id, priority, state, n, first in rows:
        depth.add_metric([*conn(connection_id), str(priority), state], n)
        if state == OutboxState.PENDING and (connection_id not in oldest_by_connection or first < oldest_by_connection[connection_id]):
            oldest_by_connection[connection_id] = first
    for connection_id, first in oldest_by_connection.items():
        oldest.add_metric(conn(connection_id), max(0.0, (now - first).total_seconds()))
    yield depth
    yield oldest


def _changes(now) -> Iterator[Metric]:
    waiting = GaugeMetricFamily("cothon_changes_not_fanned_out", "Recorded changes not yet turned into outbox rows.",
                                labels=["tenant_id"])
    oldest = GaugeMetricFamily("cothon_changes_oldest_age_seconds", "Age of the oldest change not yet fanned out.",
                               labels=["tenant_id"])
    for tenant_id, n, first in (ChangeRecord.objects.values("tenant_id").annotate(n=Count("id"), oldest=Min("created_at"))
                                .values_list("tenant_id", "n", "oldest")):
        waiting.add_metric([str(tenant_id)], n)
        oldest.add_metric([str(tenant_id)], max(0.0, (now - first).total_seconds()))
    yield waiting
    yield oldest


def _governor(tenants: dict[int, int], conn) -> Iterator[Metric]:
    paused = GaugeMetricFamily("cothon_governor_paused", "1 while the connection's API allowance is used up (quota pause).",
                               labels=CONN)
    used = GaugeMetricFamily("cothon_salesforce_api_usage_ratio", "The org's API calls used / allowance, as last reported.",
                             labels=CONN)
    governor = get_governor()
    ids = sorted(tenants)
    # The Redis governor answers for all connections in one round trip; the database one per row.
    statuses = governor.statuses(ids) if hasattr(governor, "statuses") else {i: governor.status(i) for i in ids}
    for connection_id in ids:
        status = statuses[connection_id]
        paused.add_metric(conn(connection_id), 1 if status.paused_until else 0)
        if status.used is not None and status.allowance:
            used.add_metric(conn(connection_id), status.used / status.allowance)
    yield paused
    yield used


def _pull_lag(now, conn) -> Iterator[Metric]:
    lag = GaugeMetricFamily("cothon_pull_lag_seconds",
                            "How far the incremental pull's watermark (its most behind object) is behind now.", labels=CONN)
    for connection_id, mark in (PullWatermark.objects.filter(watermark__isnull=False).values("connection_id")
                                .annotate(mark=Min("watermark")).values_list("connection_id", "mark")):
        lag.add_metric(conn(connection_id), max(0.0, (now - mark).total_seconds()))
    yield lag


def _totals(conn) -> Iterator[Metric]:
    calls = CounterMetricFamily("cothon_salesforce_api_calls", "Salesforce API calls by kind of work and result.",
                                labels=[*CONN, "kind", "result"])
    records = CounterMetricFamily("cothon_sync_records", "Records synced (log rows written) by direction and result.",
                                  labels=[*CONN, "direction", "result"])
    errors = CounterMetricFamily("cothon_sync_errors", "Failed records by direction and Salesforce error code (known codes, else other).",
                                 labels=[*CONN, "direction", "code"])
    pauses = CounterMetricFamily("cothon_governor_pauses", "Quota pauses: the org's API allowance ran out.", labels=CONN)
    latency = HistogramMetricFamily("cothon_sync_latency_seconds",
                                    "From a change (push: queued in Cothon; pull: SystemModstamp in Salesforce) to its log row.",
                                    labels=[*CONN, "direction"])
    buckets: dict[tuple[int, str], dict[str, list[float]]] = defaultdict(dict)
    for connection_id, series, labels, count, total in MetricTotal.objects.values_list(
            "connection_id", "series", "labels", "count", "total").order_by("connection_id", "series", "labels"):
        parts = labels.split("|")
        if series == "api_calls":
            calls.add_metric([*conn(connection_id), *parts], count)
        elif series == "records":
            records.add_metric([*conn(connection_id), *parts], count)
        elif series == "errors":
            errors.add_metric([*conn(connection_id), *parts], count)
        elif series == "pauses":
            pauses.add_metric(conn(connection_id), count)
        elif series == "latency":
            buckets[(connection_id, parts[0])][parts[1]] = [count, total]
    for (connection_id, direction), by_bound in buckets.items():
        cumulative, running, total = [], 0, 0.0
        for bound in [f"{b:g}" for b in LATENCY_BUCKETS] + [INF]:
            count, seconds = by_bound.get(bound, (0, 0.0))
            running += count
            total += seconds
            cumulative.append((bound, running))
        latency.add_metric([*conn(connection_id), direction], cumulative, sum_value=total)
    yield from (calls, records, errors, pauses, latency)


def render() -> bytes:
    """The exposition text of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CothonCollector())
    return generate_latest(registry)
