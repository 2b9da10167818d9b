"""What the Sync health page and the health API read about one connection, beyond its status
(sync_engine.health decides that): the queue by priority, the last success of each schedule,
latency percentiles both ways, errors by Salesforce code, and the API usage projection.

Every read is a bounded number of aggregate queries, whatever the volume of logs: latency is
counted per bucket in one conditional aggregate (works on PostgreSQL and SQLite alike), so a
percentile is "≤ the bucket's upper bound", never computed row by row in Python."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import models
from django.utils import timezone

from integrations.models import SalesforceConnection
from integrations.salesforce.errors import error_meaning
from sync_engine.health import FAILED_RESULTS, ConnectionHealth, connection_health, percent_used
from sync_engine.models import (ApiCallBucket, ChangeRecord, ConflictStatus, OutboxEntry, OutboxState, SyncConflict,
                                SyncDirection, SyncLog, SyncResult, SyncRun, SyncRunKind, SyncRunStatus)
from sync_engine.vocabulary import Priority

# --- queue by priority -----------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    priority: int
    label: str
    count: int


@dataclass(frozen=True)
class QueueDepth:
    rows: list[QueueRow]
    total: int
    oldest_at: datetime.datetime | None


def queue_by_priority(*, connection: SalesforceConnection) -> QueueDepth:
    """Pending and claimed outbox rows plus changes not fanned out yet (as connection_sync_state
    counts the queue), by priority; every priority listed, empty ones as 0. Two queries."""
    counts: dict[int, int] = {}
    oldest: list[datetime.datetime] = []
    outbox = (OutboxEntry.objects.filter(tenant_id=connection.tenant_id, connection=connection,
                                         state__in=(OutboxState.PENDING, OutboxState.CLAIMED))
              .values_list("priority").annotate(n=models.Count("id"), oldest=models.Min("created_at")).order_by())
    unsent = (ChangeRecord.objects.filter(tenant_id=connection.tenant_id).exclude(origin_connection_id=connection.pk)
              .values_list("priority").annotate(n=models.Count("id"), oldest=models.Min("created_at")).order_by())
    for priority, n, at in [*outbox, *unsent]:
        counts[priority] = counts.get(priority, 0) + n
        oldest.append(at)
    rows = [QueueRow(int(p), p.label, counts.get(int(p), 0)) for p in Priority]
    return QueueDepth(rows, sum(counts.values()), min(oldest) if oldest else None)


# --- last success per schedule ---------------------------------------------------------------

# Runs that ended with everything or most things done; a failed or cancelled one is no success.
SUCCESS_RUN_STATUSES = (SyncRunStatus.SUCCEEDED, SyncRunStatus.FINISHED_WITH_ERRORS)
# Real-time pushes are the log rows of no background run (manual record syncs count too: they
# go through the same real-time lane).
BACKGROUND_KINDS = (SyncRunKind.FULL, SyncRunKind.INCREMENTAL, SyncRunKind.RECONCILIATION, SyncRunKind.VALIDATION)
# A schedule is overdue when its last success is older than its interval times this (a run
# takes time and the beat ticks every minute) …
OVERDUE_FACTOR = 2
# … and real time, which has no interval, is never overdue: it runs when something changes.


@dataclass(frozen=True)
class ScheduleRow:
    key: str
    label: str
    last_success_at: datetime.datetime | None
    interval: datetime.timedelta | None  # None: no fixed schedule (real time)
    overdue: bool
    note: str = ""


def _overdue(at: datetime.datetime | None, interval: datetime.timedelta | None, now: datetime.datetime,
             expected: bool, since: datetime.datetime | None = None) -> bool:
    """Older than OVERDUE_FACTOR intervals; "never" counts from `since` (when the schedule
    could first have run), so a connection made a minute ago is not overdue yet."""
    if interval is None or not expected:
        return False
    return now - (at or since or now - 2 * OVERDUE_FACTOR * interval) > OVERDUE_FACTOR * interval


def last_success_per_schedule(*, connection: SalesforceConnection, now: datetime.datetime | None = None) -> list[ScheduleRow]:
    """Real-time push, incremental sync (push), incremental pull, reconciliation and daily
    validation: when each last succeeded, and whether that is overdue against the connection's
    frequencies. Five queries (the settings read included)."""
    from integrations.models import ConnectionStatus
    from integrations.settings_schema import SyncSettings
    from sync_engine.pull.models import PullWatermark

    now = now or timezone.now()
    runs = SyncRun.objects.filter(tenant_id=connection.tenant_id, connection=connection, status__in=SUCCESS_RUN_STATUSES)
    last = runs.aggregate(**{kind: models.Max("finished_at", filter=models.Q(kind=kind))
                             for kind in (SyncRunKind.FULL, SyncRunKind.INCREMENTAL, SyncRunKind.RECONCILIATION,
                                          SyncRunKind.VALIDATION)})
    # The newest real-time success: walk the connection's log from its newest row (index
    # connection, -id) and stop at the first match.
    realtime = (SyncLog.objects.filter(connection=connection, direction=SyncDirection.PUSH, result=SyncResult.SUCCESS)
                .filter(models.Q(run__isnull=True) | ~models.Q(run__kind__in=BACKGROUND_KINDS))
                .order_by("-id").values_list("created_at", flat=True).first())
    pulled = PullWatermark.objects.filter(connection=connection, last_result="succeeded").aggregate(
        at=models.Max("last_finished_at"))["at"]
    try:
        # Read only: a connection without a settings version yet has the defaults (a GET page
        # must not create one, as sync_settings_for would).
        version = connection.settings_versions.first()
        config = SyncSettings.from_dict(version.data if version is not None else None)
        freq, pushes, pulls = config.frequencies, config.pushes, config.pulls
    except Exception:  # noqa: BLE001 - unreadable settings must not hide the page; no schedule to judge then
        freq, pushes, pulls = None, True, True
    running = connection.status == ConnectionStatus.CONNECTED
    # The scheduler starts incremental syncs, reconciliations and validations only after the
    # first full sync, so before it "never" is expected, not overdue.
    scheduled = running and last[SyncRunKind.FULL] is not None
    first_note = "" if last[SyncRunKind.FULL] is not None else " · starts after the first full sync"
    incremental = freq.incremental_interval if freq else None
    reconcile = datetime.timedelta(minutes=freq.reconciliation_minutes) if freq else None
    daily = datetime.timedelta(days=1) if freq else None
    return [
        ScheduleRow("realtime", "Real time (save → Salesforce)", realtime, None, False,
                    "Runs when a record changes." if pushes else "Push is off for this connection."),
        ScheduleRow("incremental", "Incremental sync", last[SyncRunKind.INCREMENTAL], incremental,
                    _overdue(last[SyncRunKind.INCREMENTAL], incremental, now, scheduled and pushes, last[SyncRunKind.FULL]),
                    (f"Every {freq.incremental_minutes} min" if freq else "") + first_note),
        ScheduleRow("pull", "Incremental pull (Salesforce → Cothon)", pulled, incremental,
                    _overdue(pulled, incremental, now, running and pulls, connection.connected_at),
                    (f"Every {freq.incremental_minutes} min" if freq else "") if pulls else "Pull is off for this connection."),
        ScheduleRow("reconciliation", "Reconciliation", last[SyncRunKind.RECONCILIATION], reconcile,
                    _overdue(last[SyncRunKind.RECONCILIATION], reconcile, now, scheduled, last[SyncRunKind.FULL]),
                    (f"Every {freq.reconciliation_minutes} min" if freq else "") + first_note),
        ScheduleRow("validation", "Daily validation", last[SyncRunKind.VALIDATION], daily,
                    _overdue(last[SyncRunKind.VALIDATION], daily, now, scheduled, last[SyncRunKind.FULL]),
                    (f"Daily at {freq.daily_full_at}" if freq else "") + first_note),
    ]


# --- latency ---------------------------------------------------------------------------------

# Upper bounds of the latency buckets, in seconds. A percentile is reported as "≤ bound".
LATENCY_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 24 * 3600)
LATENCY_WINDOWS = {"hour": datetime.timedelta(hours=1), "day": datetime.timedelta(days=1)}


@dataclass(frozen=True)
class Percentile:
    """A latency percentile from bucket counts: at most `seconds` (None: above the last bucket)."""
    seconds: int | None

    @property
    def text(self) -> str:
        if self.seconds is None:
            return f"> {_duration(LATENCY_BUCKETS[-1])}"
        return f"≤ {_duration(self.seconds)}"


@dataclass(frozen=True)
class Latency:
    direction: str
    window: str
    count: int
    p50: Percentile | None
    p95: Percentile | None


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def percentile_from_buckets(cumulative: list[int], total: int, fraction: float) -> Percentile | None:
    """The smallest bucket bound holding at least `fraction` of the rows (nearest rank)."""
    if not total:
        return None
    rank = max(1, math.ceil(fraction * total))
    for bound, n in zip(LATENCY_BUCKETS, cumulative):
        if n >= rank:
            return Percentile(bound)
    return Percentile(None)


def latency(*, connection: SalesforceConnection, now: datetime.datetime | None = None) -> list[Latency]:
    """p50 and p95 of created_at − queued_at of successful rows, push (save → Salesforce) and
    pull (Salesforce's SystemModstamp → Cothon), over the last hour and the last day. One query:
    a count per direction, window and bucket bound."""
    now = now or timezone.now()
    rows = SyncLog.objects.filter(tenant_id=connection.tenant_id, connection=connection, result=SyncResult.SUCCESS,
                                  queued_at__isnull=False, created_at__gte=now - LATENCY_WINDOWS["day"], created_at__lte=now)
    aggregates = {}
    for direction in (SyncDirection.PUSH, SyncDirection.PULL):
        for window, span in LATENCY_WINDOWS.items():
            base = models.Q(direction=direction, created_at__gte=now - span)
            aggregates[f"{direction}_{window}"] = models.Count("id", filter=base)
            for bound in LATENCY_BUCKETS:
                aggregates[f"{direction}_{window}_{bound}"] = models.Count("id", filter=base & models.Q(
                    created_at__lte=models.F("queued_at") + datetime.timedelta(seconds=bound)))
    counts = rows.aggregate(**aggregates)
    found = []
    for direction in (SyncDirection.PUSH, SyncDirection.PULL):
        for window in LATENCY_WINDOWS:
            total = counts[f"{direction}_{window}"]
            cumulative = [counts[f"{direction}_{window}_{bound}"] for bound in LATENCY_BUCKETS]
            found.append(Latency(str(direction), window, total, percentile_from_buckets(cumulative, total, 0.5),
                                 percentile_from_buckets(cumulative, total, 0.95)))
    return found


# --- errors by code --------------------------------------------------------------------------

ERROR_WINDOWS = {"day": datetime.timedelta(hours=24), "week": datetime.timedelta(days=7)}


@dataclass(frozen=True)
class ErrorCodeRow:
    code: str
    last_day: int
    last_week: int
    meaning: str
    fix: str


def errors_by_code(*, connection: SalesforceConnection, now: datetime.datetime | None = None,
                   limit: int = 50) -> list[ErrorCodeRow]:
    """Failed attempts (failed and retrying) by Salesforce error code over 24 hours and 7 days,
    most frequent this week first, with each code's meaning and fix. One query."""
    now = now or timezone.now()
    rows = (SyncLog.objects.filter(tenant_id=connection.tenant_id, connection=connection, result__in=FAILED_RESULTS,
                                   created_at__gt=now - ERROR_WINDOWS["week"], created_at__lte=now)
            .exclude(error_code="").values_list("error_code")
            .annotate(week=models.Count("id"), day=models.Count("id", filter=models.Q(created_at__gt=now - ERROR_WINDOWS["day"])))
            .order_by("-week", "error_code")[:limit])
    found = []
    for code, week, day in rows:
        meaning, fix = error_meaning(code)
        found.append(ErrorCodeRow(code, day, week, meaning, fix))
    return found


# --- API usage projection --------------------------------------------------------------------

# The pace is the calls of the last few hours (ApiCallBucket, every kind of work)…
PACE_HOURS = 3
# …and the allowance is assumed to reset at midnight Pacific (the seed's words). Salesforce
# really counts a rolling 24 hours, so calls older than a day also drop out meanwhile: the
# projection is an upper bound.
RESET_ZONE = ZoneInfo("America/Los_Angeles")


@dataclass(frozen=True)
class UsageProjection:
    used: int | None
    allowance: int | None
    pace_per_hour: float
    reset_at: datetime.datetime
    projected: int | None  # calls used by the reset at the current pace
    runs_out_at: datetime.datetime | None  # when the allowance is spent at this pace, if before the reset

    @property
    def percent(self) -> int | None:
        return percent_used(self.used, self.allowance)

    @property
    def projected_percent(self) -> int | None:
        if self.projected is None or not self.allowance:
            return None
        return 100 * self.projected // self.allowance

    @property
    def runs_out(self) -> bool:
        return self.runs_out_at is not None


def next_reset(now: datetime.datetime) -> datetime.datetime:
    """The next midnight in the Pacific time zone, as UTC."""
    local = now.astimezone(RESET_ZONE)
    midnight = datetime.datetime.combine(local.date() + datetime.timedelta(days=1), datetime.time(0), tzinfo=RESET_ZONE)
    return midnight.astimezone(datetime.UTC)


def usage_projection(*, connection: SalesforceConnection, used: int | None, allowance: int | None,
                     now: datetime.datetime | None = None) -> UsageProjection:
    """At the pace of the last PACE_HOURS hours, how many calls are used by the reset and whether
    the allowance runs out before it. One query."""
    now = now or timezone.now()
    since = now.replace(minute=0, second=0, microsecond=0) - datetime.timedelta(hours=PACE_HOURS - 1)
    calls = ApiCallBucket.objects.filter(connection=connection, hour__gte=since, hour__lte=now).aggregate(
        n=models.Sum("calls"))["n"] or 0
    elapsed_hours = max((now - since).total_seconds() / 3600, 1 / 60)
    pace = calls / elapsed_hours
    reset_at = next_reset(now)
    hours_left = (reset_at - now).total_seconds() / 3600
    projected = runs_out_at = None
    if used is not None:
        projected = int(round(used + pace * hours_left))
        if allowance:
            if used >= allowance:
                runs_out_at = now
            elif pace > 0:
                at = now + datetime.timedelta(hours=(allowance - used) / pace)
                runs_out_at = at if at < reset_at else None
    return UsageProjection(used, allowance, pace, reset_at, projected, runs_out_at)


# --- the whole page --------------------------------------------------------------------------


@dataclass
class HealthReport:
    connection: SalesforceConnection
    health: ConnectionHealth
    queue: QueueDepth
    schedules: list[ScheduleRow]
    latency: list[Latency]
    errors: list[ErrorCodeRow]
    usage: UsageProjection
    open_conflicts: int
    checked_at: datetime.datetime
    extra: dict = field(default_factory=dict)

    def latency_for(self, direction: str, window: str) -> Latency:
        return next(row for row in self.latency if row.direction == direction and row.window == window)

    @property
    def latency_table(self) -> list[dict]:
        return [{"direction": direction, "label": label, "hour": self.latency_for(direction, "hour"),
                 "day": self.latency_for(direction, "day")}
                for direction, label in ((SyncDirection.PUSH, "Save → Salesforce"), (SyncDirection.PULL, "Salesforce → Cothon"))]

    @property
    def errors_last_day(self) -> int:
        return sum(row.last_day for row in self.errors)

    @property
    def errors_last_week(self) -> int:
        return sum(row.last_week for row in self.errors)


def connection_health_report(*, connection: SalesforceConnection, now: datetime.datetime | None = None) -> HealthReport:
    """Everything the health page and the health API show, in a bounded number of queries."""
    now = now or timezone.now()
    health = connection_health(connection=connection, now=now)
    return HealthReport(
        connection=connection, health=health, queue=queue_by_priority(connection=connection),
        schedules=last_success_per_schedule(connection=connection, now=now), latency=latency(connection=connection, now=now),
        errors=errors_by_code(connection=connection, now=now),
        usage=usage_projection(connection=connection, used=health.usage_used, allowance=health.usage_allowance, now=now),
        open_conflicts=SyncConflict.objects.filter(tenant_id=connection.tenant_id, connection=connection,
                                                   status=ConflictStatus.OPEN).count(),
        checked_at=now)
