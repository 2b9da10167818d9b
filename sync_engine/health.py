"""A connection's health, in the words of the 000 seed's troubleshooting: Connected (healthy),
Warning, Paused (API limit), Needs reconnect or Error — each with the reasons why.

Read-only and tenant-scoped through the connection. The health page, the health API, the alerts
and the metrics all decide from this one module, so they never disagree about a connection.

The two signals the seed asks ops to watch are computed here from what Cothon already records:
- **Error rate** (`error_rate`): failed attempts among the sync log's attempts (push and pull)
  of the last hour, against the connection's own rate over the seven days before. A jump is a
  rate well above that baseline with enough failures that it is not one bad record.
- **API usage anomalies** (`usage_anomalies`): an hour, or the last 24 hours, whose calls
  (ApiCallBucket, every kind of work) are far above the connection's normal for that length
  of time over the previous seven days. Without a day of history nothing is flagged: a new
  connection's first full sync is not an anomaly."""

from __future__ import annotations

import datetime
import statistics
from dataclasses import dataclass, field

from django.db import models
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from sync_engine.models import ApiCallBucket, LinkStatus, OutboxEntry, OutboxState, SyncLink, SyncLog, SyncResult

# Results that are an attempt to sync something (a pause or a skip is not).
ATTEMPT_RESULTS = (SyncResult.SUCCESS, SyncResult.FAILED, SyncResult.RETRYING)
FAILED_RESULTS = (SyncResult.FAILED, SyncResult.RETRYING)

ERROR_RATE_WINDOW = datetime.timedelta(hours=1)
BASELINE_WINDOW = datetime.timedelta(days=7)
# A jump needs this many failures in the window (one bad record retried a few times is not one)…
JUMP_MIN_FAILURES = 5
# …a rate at least this high…
JUMP_MIN_RATE = 0.2
# …and this many times the connection's normal rate.
JUMP_FACTOR = 3.0
# At or above this rate (with enough attempts) the connection is in Error, not Warning.
ERROR_RATE = 0.5

USAGE_WARNING_PERCENT = 80
# An hour is anomalous above max(HOUR_MIN_CALLS, HOUR_FACTOR × the mean hour, mean + 4 σ);
# the last 24 hours above max(DAY_MIN_CALLS, DAY_FACTOR × the mean day).
HOUR_MIN_CALLS = 100
HOUR_FACTOR = 3.0
DAY_MIN_CALLS = 1000
DAY_FACTOR = 2.0
# A change waiting longer than this while nothing is paused is a backlog worth a warning.
BACKLOG_WARNING = datetime.timedelta(minutes=15)


def percent_used(used: int | None, allowance: int | None) -> int | None:
    """The share of the allowance used, floored: "100%" only when it really is spent (Salesforce
    counts refused calls too, so `used` may read above the allowance)."""
    if used is None or not allowance:
        return None
    return min(100, 100 * used // allowance)


class HealthStatus(models.TextChoices):
    HEALTHY = "healthy", "Connected"
    WARNING = "warning", "Warning"
    PAUSED = "paused", "Paused (API limit)"
    NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
    ERROR = "error", "Error"


# Worst first: the status of a connection is its worst reason's.
_SEVERITY = [HealthStatus.NEEDS_RECONNECT, HealthStatus.ERROR, HealthStatus.PAUSED, HealthStatus.WARNING, HealthStatus.HEALTHY]


class ReasonCode(models.TextChoices):
    NOT_CONNECTED = "not_connected", "Not connected"
    NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
    QUOTA_PAUSED = "quota_paused", "Paused by the API limit"
    ERROR_RATE_HIGH = "error_rate_high", "Most attempts fail"
    ERROR_RATE_JUMP = "error_rate_jump", "Error rate up"
    USAGE_HIGH = "usage_high", "API usage high"
    USAGE_ANOMALY = "usage_anomaly", "API usage anomaly"
    BACKLOG = "backlog", "Changes waiting"
    RECORDS_FAILING = "records_failing", "Records failing"


@dataclass(frozen=True)
class Reason:
    code: str
    status: str
    text: str
    fix: str = ""


@dataclass(frozen=True)
class ErrorRate:
    window_start: datetime.datetime
    attempts: int
    failed: int
    baseline_attempts: int
    baseline_failed: int

    @property
    def rate(self) -> float:
        return self.failed / self.attempts if self.attempts else 0.0

    @property
    def baseline_rate(self) -> float:
        return self.baseline_failed / self.baseline_attempts if self.baseline_attempts else 0.0

    @property
    def high(self) -> bool:
        """Most attempts fail: the connection is in Error."""
        return self.failed >= JUMP_MIN_FAILURES and self.rate >= ERROR_RATE

    @property
    def jumped(self) -> bool:
        return (self.failed >= JUMP_MIN_FAILURES and self.rate >= JUMP_MIN_RATE
                and self.rate >= JUMP_FACTOR * self.baseline_rate)


@dataclass(frozen=True)
class UsageAnomaly:
    period: str  # "hour" or "day" (the last 24 hours)
    start: datetime.datetime
    calls: int
    normal: float  # the mean calls of such a period over the baseline
    threshold: float

    @property
    def factor(self) -> float:
        return self.calls / self.normal if self.normal else float("inf")


@dataclass
class ConnectionHealth:
    connection_id: int
    status: str
    reasons: list[Reason]
    checked_at: datetime.datetime
    error_rate: ErrorRate
    anomalies: list[UsageAnomaly] = field(default_factory=list)
    paused_until: datetime.datetime | None = None  # when the org's capacity is expected back
    usage_used: int | None = None
    usage_allowance: int | None = None
    queue_depth: int = 0
    oldest_pending_at: datetime.datetime | None = None
    records_failing: int = 0

    @property
    def label(self) -> str:
        return HealthStatus(self.status).label

    @property
    def usage_percent(self) -> int | None:
        return percent_used(self.usage_used, self.usage_allowance)

    @property
    def reason_codes(self) -> set[str]:
        return {reason.code for reason in self.reasons}


def error_rate(*, connection: SalesforceConnection, now: datetime.datetime | None = None) -> ErrorRate:
    """Attempts and failures of the last hour and of the seven days before (two aggregates)."""
    now = now or timezone.now()
    start = now - ERROR_RATE_WINDOW
    base_start = start - BASELINE_WINDOW
    rows = SyncLog.objects.filter(tenant_id=connection.tenant_id, connection=connection, result__in=ATTEMPT_RESULTS)
    recent = rows.filter(created_at__gte=start, created_at__lte=now).aggregate(
        attempts=models.Count("id"), failed=models.Count("id", filter=models.Q(result__in=FAILED_RESULTS)))
    base = rows.filter(created_at__gte=base_start, created_at__lt=start).aggregate(
        attempts=models.Count("id"), failed=models.Count("id", filter=models.Q(result__in=FAILED_RESULTS)))
    return ErrorRate(window_start=start, attempts=recent["attempts"], failed=recent["failed"],
                     baseline_attempts=base["attempts"], baseline_failed=base["failed"])


def hourly_calls(*, connection: SalesforceConnection, since: datetime.datetime) -> dict[datetime.datetime, int]:
    """Calls per hour (every kind of work) from `since`; hours without calls are absent."""
    return dict(ApiCallBucket.objects.filter(connection=connection, hour__gte=since)
                .values_list("hour").annotate(n=models.Sum("calls")).order_by())


def usage_anomalies(*, connection: SalesforceConnection, now: datetime.datetime | None = None) -> list[UsageAnomaly]:
    """Hours of the last 24 whose calls jump far above the connection's normal hour, and the
    last 24 hours if they are far above its normal day (one query)."""
    now = now or timezone.now()
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    day_start = this_hour - datetime.timedelta(hours=23)
    base_start = day_start - BASELINE_WINDOW
    calls = hourly_calls(connection=connection, since=base_start)
    if not calls:
        return []
    first = min(calls)
    if first > day_start - datetime.timedelta(days=1):
        return []  # less than a day of history before the last 24 hours: no normal to compare with
    # Every hour of the baseline counts, idle ones as 0, from the first hour with calls.
    base_hours = []
    at = max(first, base_start)
    while at < day_start:
        base_hours.append(calls.get(at, 0))
        at += datetime.timedelta(hours=1)
    mean_hour = statistics.fmean(base_hours)
    spread = statistics.pstdev(base_hours) if len(base_hours) > 1 else 0.0
    hour_threshold = max(HOUR_MIN_CALLS, HOUR_FACTOR * mean_hour, mean_hour + 4 * spread)
    found = []
    for offset in range(24):
        hour = day_start + datetime.timedelta(hours=offset)
        n = calls.get(hour, 0)
        if n > hour_threshold:
            found.append(UsageAnomaly("hour", hour, n, mean_hour, hour_threshold))
    mean_day = mean_hour * 24
    day_threshold = max(DAY_MIN_CALLS, DAY_FACTOR * mean_day)
    day_total = sum(n for hour, n in calls.items() if hour >= day_start)
    if day_total > day_threshold:
        found.append(UsageAnomaly("day", day_start, day_total, mean_day, day_threshold))
    return found


def connection_health(*, connection: SalesforceConnection, now: datetime.datetime | None = None) -> ConnectionHealth:
    """The connection's status and every reason for it, worst first."""
    from sync_engine.governor import get_governor
    from sync_engine.selectors import connection_pause

    now = now or timezone.now()
    reasons: list[Reason] = []
    if connection.status == ConnectionStatus.NEEDS_RECONNECT:
        detail = f" Salesforce said: {connection.last_error_message}" if connection.last_error_message else ""
        reasons.append(Reason(ReasonCode.NEEDS_RECONNECT, HealthStatus.NEEDS_RECONNECT,
                              f"Salesforce no longer accepts Cothon's sign-in.{detail}",
                              "An admin clicks Reconnect in Settings › Integrations; queued changes go out then."))
    elif connection.status != ConnectionStatus.CONNECTED:
        reasons.append(Reason(ReasonCode.NOT_CONNECTED, HealthStatus.NEEDS_RECONNECT,
                              f"The connection is {connection.get_status_display().lower()}: nothing is sent or pulled.",
                              "An admin connects it in Settings › Integrations."))

    pause = connection_pause(connection_id=connection.pk)
    if pause is not None:
        reasons.append(Reason(ReasonCode.QUOTA_PAUSED, HealthStatus.PAUSED,
                              "The org's daily API allowance is used up: changes stay queued.",
                              "Nothing to do: sync resumes when capacity is back, manual and real-time changes first. "
                              "To use fewer calls, see the API usage page."))

    rate = error_rate(connection=connection, now=now)
    if rate.high:
        reasons.append(Reason(ReasonCode.ERROR_RATE_HIGH, HealthStatus.ERROR,
                              f"{rate.failed} of {rate.attempts} attempts in the last hour failed ({rate.rate:.0%}).",
                              "Open the errors grouped by cause in the sync logs: each group names its fix."))
    elif rate.jumped:
        reasons.append(Reason(ReasonCode.ERROR_RATE_JUMP, HealthStatus.WARNING,
                              f"Error rate up: {rate.rate:.0%} of attempts failed in the last hour, against "
                              f"{rate.baseline_rate:.0%} over the week before.",
                              "Open the errors grouped by cause in the sync logs."))

    try:
        governor = get_governor().status(connection.pk)
        used = governor.used if governor.used is not None else connection.api_usage_used
        allowance = governor.allowance if governor.allowance is not None else connection.api_usage_max
    except Exception:  # noqa: BLE001 - the governor's store being down must not hide the rest
        used, allowance = connection.api_usage_used, connection.api_usage_max
    if pause is None and used is not None and allowance and 100 * used >= USAGE_WARNING_PERCENT * allowance:
        reasons.append(Reason(ReasonCode.USAGE_HIGH, HealthStatus.WARNING,
                              f"API usage high: {used:,} of {allowance:,} calls of the last 24 hours "
                              f"({percent_used(used, allowance)}%).",
                              "Sync less often or filter what is synced; the last 10% are kept for manual and real-time changes."))

    anomalies = usage_anomalies(connection=connection, now=now)
    for anomaly in anomalies:
        when = "the last 24 hours" if anomaly.period == "day" else f"the hour from {timezone.localtime(anomaly.start):%H:00}"
        reasons.append(Reason(ReasonCode.USAGE_ANOMALY, HealthStatus.WARNING,
                              f"API usage anomaly: {anomaly.calls:,} calls in {when}, against a normal "
                              f"{anomaly.normal:,.0f}.",
                              "Check the API usage page for the kind of work behind it, and the integration user's "
                              "recent activity in Salesforce (Setup › Users › Login History)."))

    queue = OutboxEntry.objects.filter(tenant_id=connection.tenant_id, connection=connection,
                                       state__in=(OutboxState.PENDING, OutboxState.CLAIMED)).aggregate(
        n=models.Count("id"), oldest=models.Min("created_at"))
    quiet = pause is None and all(reason.status == HealthStatus.WARNING for reason in reasons)  # else the reason is known
    if quiet and queue["oldest"] and now - queue["oldest"] > BACKLOG_WARNING:
        waited = int((now - queue["oldest"]).total_seconds() // 60)
        reasons.append(Reason(ReasonCode.BACKLOG, HealthStatus.WARNING,
                              f"{queue['n']:,} change{'s' if queue['n'] != 1 else ''} queued; the oldest has waited {waited} min.",
                              "Check that the workers run (/readyz) and the sync logs for retries."))

    failing = SyncLink.objects.filter(tenant_id=connection.tenant_id, connection=connection, status=LinkStatus.FAILED).count()
    if failing:
        reasons.append(Reason(ReasonCode.RECORDS_FAILING, HealthStatus.WARNING,
                              f"{failing:,} record{'s' if failing != 1 else ''} could not be synced.",
                              "Open the sync logs' failures: retry them once fixed, or skip those that should not sync."))

    reasons.sort(key=lambda reason: _SEVERITY.index(HealthStatus(reason.status)))
    status = reasons[0].status if reasons else HealthStatus.HEALTHY
    return ConnectionHealth(connection_id=connection.pk, status=str(status), reasons=reasons, checked_at=now,
                            error_rate=rate, anomalies=anomalies, paused_until=pause.expected_at if pause else None,
                            usage_used=used, usage_allowance=allowance, queue_depth=queue["n"],
                            oldest_pending_at=queue["oldest"], records_failing=failing)
