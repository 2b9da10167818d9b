"""The health API's serializers (GET /api/v1/connections/{id}/health/ and /connections/health/):
plain data out of sync_engine.health_selectors.HealthReport, for the OpenAPI schema too."""

from __future__ import annotations

from rest_framework import serializers

from sync_engine.health import HealthStatus
from sync_engine.health_selectors import HealthReport

# Plain strings in the schema (an enum named "status" would collide with the other statuses').
STATUSES = ", ".join(HealthStatus.values)


class HealthReasonSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="not_connected, needs_reconnect, quota_paused, error_rate_high, error_rate_jump, "
                                           "usage_high, usage_anomaly, backlog or records_failing.")
    status = serializers.CharField(help_text=f"The status this reason alone gives: {STATUSES}.")
    text = serializers.CharField()
    fix = serializers.CharField()


class ConnectionHealthSummarySerializer(serializers.Serializer):
    connection = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField(help_text=f"Its worst reason's status, healthy without any: {STATUSES}.")
    label = serializers.CharField(help_text="Connected, Warning, Paused (API limit), Needs reconnect or Error.")
    paused_until = serializers.DateTimeField(allow_null=True, help_text="When the org's API capacity is expected back.")
    reasons = HealthReasonSerializer(many=True, help_text="Worst first.")
    checked_at = serializers.DateTimeField()


class QueueRowSerializer(serializers.Serializer):
    priority = serializers.IntegerField(help_text="0 manual … 4 full sync (lower runs first).")
    label = serializers.CharField()
    count = serializers.IntegerField()


class ScheduleSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="realtime, incremental, pull, reconciliation or validation.")
    label = serializers.CharField()
    last_success_at = serializers.DateTimeField(allow_null=True, help_text="null: never.")
    interval_seconds = serializers.IntegerField(allow_null=True, help_text="null: no fixed schedule (real time).")
    overdue = serializers.BooleanField(help_text="The last success is older than twice the interval.")


class LatencyWindowSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Successful syncs with a known queue time in the window.")
    p50_seconds = serializers.IntegerField(allow_null=True, help_text="At most this many seconds (a bucket bound); null: "
                                                                      "no rows, or above 24 h when count > 0.")
    p95_seconds = serializers.IntegerField(allow_null=True)
    p50 = serializers.CharField(help_text="As shown, e.g. “≤ 5 s”; empty without rows.")
    p95 = serializers.CharField()


class LatencyDirectionSerializer(serializers.Serializer):
    hour = LatencyWindowSerializer()
    day = LatencyWindowSerializer()


class LatencySerializer(serializers.Serializer):
    push = LatencyDirectionSerializer(help_text="Save → Salesforce.")
    pull = LatencyDirectionSerializer(help_text="Salesforce (SystemModstamp) → Cothon.")


class ErrorCodeSerializer(serializers.Serializer):
    code = serializers.CharField()
    last_24h = serializers.IntegerField()
    last_7d = serializers.IntegerField()
    meaning = serializers.CharField()
    fix = serializers.CharField()


class UsageSerializer(serializers.Serializer):
    used = serializers.IntegerField(allow_null=True, help_text="Calls of the last 24 hours, as Salesforce last reported.")
    allowance = serializers.IntegerField(allow_null=True)
    percent = serializers.IntegerField(allow_null=True)
    pace_per_hour = serializers.FloatField(help_text="Calls an hour over the last 3 hours (every kind of work).")
    reset_at = serializers.DateTimeField(help_text="Assumed reset: the next midnight Pacific.")
    projected = serializers.IntegerField(allow_null=True, help_text="Calls used by the reset at this pace (an upper bound: "
                                                                    "Salesforce counts a rolling 24 hours).")
    runs_out = serializers.BooleanField()
    runs_out_at = serializers.DateTimeField(allow_null=True)
    anomalies = serializers.ListField(child=serializers.DictField(), help_text="{period: hour|day, start, calls, normal, threshold}.")


class ConnectionHealthSerializer(ConnectionHealthSummarySerializer):
    queue_total = serializers.IntegerField()
    queue = QueueRowSerializer(many=True)
    oldest_pending_at = serializers.DateTimeField(allow_null=True)
    schedules = ScheduleSerializer(many=True)
    latency = LatencySerializer()
    errors = ErrorCodeSerializer(many=True, help_text="By code, most frequent over 7 days first.")
    usage = UsageSerializer()
    open_conflicts = serializers.IntegerField()
    records_failing = serializers.IntegerField()


def health_summary(connection, health) -> dict:
    return {"connection": connection.pk, "name": connection.name, "status": health.status, "label": health.label,
            "paused_until": health.paused_until, "checked_at": health.checked_at,
            "reasons": [{"code": str(r.code), "status": str(r.status), "text": r.text, "fix": r.fix} for r in health.reasons]}


def _window(row) -> dict:
    return {"count": row.count, "p50_seconds": row.p50.seconds if row.p50 else None,
            "p95_seconds": row.p95.seconds if row.p95 else None,
            "p50": row.p50.text if row.p50 else "", "p95": row.p95.text if row.p95 else ""}


def health_detail(report: HealthReport) -> dict:
    health, usage = report.health, report.usage
    return {
        **health_summary(report.connection, health),
        "queue_total": report.queue.total, "oldest_pending_at": report.queue.oldest_at,
        "queue": [{"priority": r.priority, "label": r.label, "count": r.count} for r in report.queue.rows],
        "schedules": [{"key": s.key, "label": s.label, "last_success_at": s.last_success_at,
                       "interval_seconds": int(s.interval.total_seconds()) if s.interval else None, "overdue": s.overdue}
                      for s in report.schedules],
        "latency": {d: {w: _window(report.latency_for(d, w)) for w in ("hour", "day")} for d in ("push", "pull")},
        "errors": [{"code": e.code, "last_24h": e.last_day, "last_7d": e.last_week, "meaning": e.meaning, "fix": e.fix}
                   for e in report.errors],
        "usage": {"used": usage.used, "allowance": usage.allowance, "percent": usage.percent,
                  "pace_per_hour": round(usage.pace_per_hour, 1), "reset_at": usage.reset_at, "projected": usage.projected,
                  "runs_out": usage.runs_out, "runs_out_at": usage.runs_out_at,
                  "anomalies": [{"period": a.period, "start": a.start.isoformat(), "calls": a.calls, "normal": round(a.normal, 1),
                                 "threshold": round(a.threshold, 1)} for a in health.anomalies]},
        "open_conflicts": report.open_conflicts, "records_failing": health.records_failing,
    }
