"""A connection's health: status and reasons, the error-rate jump and API usage anomalies,
decided from hand-made log rows and call buckets."""

import datetime

import pytest
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from sync_engine.governor import get_governor
from sync_engine.health import HealthStatus, ReasonCode, connection_health, error_rate, usage_anomalies
from sync_engine.models import ApiCallBucket, LinkStatus, OutboxEntry, SyncLink, SyncLog, SyncResult

NOW = datetime.datetime(2026, 12, 6, 15, 30, tzinfo=datetime.UTC)


@pytest.fixture
def connection(alice, fresh_governor_state):
    return SalesforceConnection.objects.create(tenant=alice.tenant, name="Production", login_url="https://login.salesforce.com",
                                               status=ConnectionStatus.CONNECTED)


def _logs(connection, *, at: datetime.datetime, success: int = 0, failed: int = 0, retrying: int = 0, paused: int = 0):
    rows = ([SyncResult.SUCCESS] * success + [SyncResult.FAILED] * failed + [SyncResult.RETRYING] * retrying
            + [SyncResult.PAUSED] * paused)
    made = SyncLog.objects.bulk_create([SyncLog(tenant_id=connection.tenant_id, connection=connection, operation="upsert",
                                                result=result) for result in rows])
    SyncLog.objects.filter(pk__in=[row.pk for row in made]).update(created_at=at)


def _calls(connection, hours: dict[datetime.datetime, int]):
    ApiCallBucket.objects.bulk_create([ApiCallBucket(connection=connection, hour=hour, kind="realtime", calls=n)
                                       for hour, n in hours.items()])


def test_a_quiet_connected_connection_is_healthy(connection):
    health = connection_health(connection=connection, now=NOW)
    assert (health.status, health.reasons, health.label) == (HealthStatus.HEALTHY, [], "Connected")


def test_error_rate_counts_attempts_of_the_last_hour_only_and_not_pauses(connection):
    _logs(connection, at=NOW - datetime.timedelta(minutes=10), success=6, failed=3, retrying=1, paused=4)
    _logs(connection, at=NOW - datetime.timedelta(minutes=61), failed=9)
    rate = error_rate(connection=connection, now=NOW)
    assert (rate.attempts, rate.failed, rate.rate) == (10, 4, 0.4)
    assert (rate.baseline_attempts, rate.baseline_failed) == (9, 9)


def test_a_jump_above_the_weeks_normal_is_a_warning(connection):
    _logs(connection, at=NOW - datetime.timedelta(days=2), success=95, failed=5)  # a 5% week
    _logs(connection, at=NOW - datetime.timedelta(minutes=5), success=14, failed=6)  # 30% now
    health = connection_health(connection=connection, now=NOW)
    assert health.status == HealthStatus.WARNING
    assert [r.code for r in health.reasons] == [ReasonCode.ERROR_RATE_JUMP]
    assert "30%" in health.reasons[0].text and "5%" in health.reasons[0].text


def test_the_same_rate_is_no_jump_when_it_is_the_connections_normal(connection):
    _logs(connection, at=NOW - datetime.timedelta(days=2), success=70, failed=30)
    _logs(connection, at=NOW - datetime.timedelta(minutes=5), success=14, failed=6)
    assert connection_health(connection=connection, now=NOW).status == HealthStatus.HEALTHY


def test_a_few_failures_of_one_record_are_no_jump(connection):
    _logs(connection, at=NOW - datetime.timedelta(minutes=5), failed=4)
    assert not error_rate(connection=connection, now=NOW).jumped


def test_most_attempts_failing_is_an_error(connection):
    _logs(connection, at=NOW - datetime.timedelta(minutes=5), success=4, failed=6)
    health = connection_health(connection=connection, now=NOW)
    assert health.status == HealthStatus.ERROR
    assert health.reasons[0].code == ReasonCode.ERROR_RATE_HIGH and "6 of 10" in health.reasons[0].text


def test_needs_reconnect_outranks_everything_and_says_what_salesforce_said(connection):
    connection.status, connection.last_error_message = ConnectionStatus.NEEDS_RECONNECT, "expired access/refresh token"
    connection.save()
    _logs(connection, at=NOW - datetime.timedelta(minutes=5), failed=10)
    health = connection_health(connection=connection, now=NOW)
    assert health.status == HealthStatus.NEEDS_RECONNECT
    assert [r.code for r in health.reasons] == [ReasonCode.NEEDS_RECONNECT, ReasonCode.ERROR_RATE_HIGH]
    assert "expired access/refresh token" in health.reasons[0].text and "Reconnect" in health.reasons[0].fix


def test_a_quota_pause_is_paused_with_the_time_capacity_is_expected(connection):
    expected = timezone.now().timestamp() + 3600
    get_governor().pause(connection.pk, 300, resume_estimate=expected)
    health = connection_health(connection=connection)
    assert health.status == HealthStatus.PAUSED and health.reasons[0].code == ReasonCode.QUOTA_PAUSED
    assert abs(health.paused_until.timestamp() - expected) < 1


def test_usage_above_80_percent_is_a_warning(connection):
    get_governor().observe(connection.pk, 8_100, 10_000)
    health = connection_health(connection=connection, now=NOW)
    assert health.status == HealthStatus.WARNING and health.reasons[0].code == ReasonCode.USAGE_HIGH
    assert health.usage_percent == 81 and "8,100 of 10,000" in health.reasons[0].text


def _week_of(connection, per_hour: int, *, until: datetime.datetime):
    start = until - datetime.timedelta(days=8)
    hours = {}
    at = start
    while at < until:
        hours[at] = per_hour
        at += datetime.timedelta(hours=1)
    _calls(connection, hours)


def test_an_hour_far_above_normal_is_an_anomaly_and_a_normal_busy_hour_is_not(connection):
    this_hour = NOW.replace(minute=0)
    day_start = this_hour - datetime.timedelta(hours=23)
    _week_of(connection, 40, until=day_start)
    _calls(connection, {day_start + datetime.timedelta(hours=h): 40 for h in range(20)})
    _calls(connection, {day_start + datetime.timedelta(hours=20): 110, day_start + datetime.timedelta(hours=21): 900})
    anomalies = usage_anomalies(connection=connection, now=NOW)
    assert [(a.period, a.start, a.calls) for a in anomalies] == [("hour", day_start + datetime.timedelta(hours=21), 900)]
    assert anomalies[0].normal == 40
    health = connection_health(connection=connection, now=NOW)
    assert health.status == HealthStatus.WARNING and health.reasons[0].code == ReasonCode.USAGE_ANOMALY


def test_a_day_far_above_the_normal_day_is_an_anomaly(connection):
    this_hour = NOW.replace(minute=0)
    day_start = this_hour - datetime.timedelta(hours=23)
    _week_of(connection, 50, until=day_start)
    # 24 hours of 140: no single hour above max(100, 3 × 50, 50 + 0), the day 3,360 > 2 × 1,200.
    _calls(connection, {day_start + datetime.timedelta(hours=h): 140 for h in range(24)})
    assert [(a.period, a.calls, a.normal) for a in usage_anomalies(connection=connection, now=NOW)] == [("day", 3360, 1200)]


def test_no_anomaly_without_a_day_of_history(connection):
    this_hour = NOW.replace(minute=0)
    _calls(connection, {this_hour - datetime.timedelta(hours=h): 5000 for h in range(30)})
    assert usage_anomalies(connection=connection, now=NOW) == []


def test_failing_records_and_an_old_backlog_are_warnings(connection, alice):
    SyncLink.objects.create(tenant=alice.tenant, connection=connection, record_type="opportunity", record_id=1,
                            sobject="Opportunity", status=LinkStatus.FAILED)
    entry = OutboxEntry.objects.create(tenant=alice.tenant, connection=connection, record_type="opportunity", record_id=2,
                                       event="updated", available_at=NOW)
    OutboxEntry.objects.filter(pk=entry.pk).update(created_at=NOW - datetime.timedelta(minutes=20))
    health = connection_health(connection=connection, now=NOW)
    assert health.status == HealthStatus.WARNING
    assert health.reason_codes == {ReasonCode.BACKLOG, ReasonCode.RECORDS_FAILING}
    assert (health.queue_depth, health.records_failing) == (1, 1)


def test_another_tenants_logs_never_count(connection, bob):
    other = SalesforceConnection.objects.create(tenant=bob.tenant, name="B", login_url="https://login.salesforce.com",
                                                status=ConnectionStatus.CONNECTED)
    _logs(other, at=NOW - datetime.timedelta(minutes=5), failed=50)
    assert connection_health(connection=connection, now=NOW).status == HealthStatus.HEALTHY
    assert connection_health(connection=other, now=NOW).status == HealthStatus.ERROR
