"""The Sync health page and its selectors: latency percentiles, errors by code, last success per
schedule and the usage projection from hand-made rows, then the page itself (every section,
viewers, another tenant's 404, the htmx partial, a bounded query count)."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.salesforce.errors import HINTS, MEANINGS, error_meaning
from sync_engine.governor import get_governor
from sync_engine.health_selectors import (errors_by_code, last_success_per_schedule, latency, next_reset,
                                          percentile_from_buckets, queue_by_priority, usage_projection)
from sync_engine.models import (ApiCallBucket, ChangeRecord, LinkStatus, OutboxEntry, SyncConflict, SyncLink, SyncLog,
                                SyncResult, SyncRun, SyncRunKind, SyncRunStatus)
from sync_engine.pull.models import PullWatermark
from sync_engine.vocabulary import Priority

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 6, 15, 30, tzinfo=datetime.UTC)


@pytest.fixture
def connection(alice):
    return SalesforceConnection.objects.create(tenant=alice.tenant, name="Production", login_url="https://login.salesforce.com",
                                               status=ConnectionStatus.CONNECTED, api_usage_used=1000, api_usage_max=5000)


def _log(connection, *, at, direction="push", result=SyncResult.SUCCESS, latency_s=None, code="", run=None):
    row = SyncLog.objects.create(tenant_id=connection.tenant_id, connection=connection, direction=direction, operation="upsert",
                                 result=result, error_code=code, run=run)
    queued = at - datetime.timedelta(seconds=latency_s) if latency_s is not None else None
    SyncLog.objects.filter(pk=row.pk).update(created_at=at, queued_at=queued)
    return row


# --- latency -----------------------------------------------------------------------------------

def test_percentiles_are_the_smallest_bucket_bound_holding_the_rank():
    # Buckets 1, 2, 5, 10 s…: 10 rows, 4 within 1 s, 9 within 5 s, all within 10 s.
    cumulative = [4, 4, 9, 10] + [10] * 10
    assert percentile_from_buckets(cumulative, 10, 0.5).seconds == 5
    assert percentile_from_buckets(cumulative, 10, 0.4).seconds == 1
    assert percentile_from_buckets(cumulative, 10, 0.95).seconds == 10
    assert percentile_from_buckets([0] * 14, 0, 0.5) is None
    above = percentile_from_buckets([0] * 14, 3, 0.5)
    assert above.seconds is None and above.text == "> 24 h"


def test_latency_both_ways_over_the_hour_and_the_day_from_queued_at(connection):
    # Push, last hour: 20 rows of 1 s, 1 of 40 s → p50 ≤ 1 s, p95 ≤ 1 s (rank 20 of 21); a 21st slow one moves p95.
    for _ in range(18):
        _log(connection, at=NOW - datetime.timedelta(minutes=5), latency_s=0.8)
    _log(connection, at=NOW - datetime.timedelta(minutes=5), latency_s=40)
    _log(connection, at=NOW - datetime.timedelta(minutes=5), latency_s=40)
    # Push, earlier today: slow ones, only in the day's figures.
    for _ in range(20):
        _log(connection, at=NOW - datetime.timedelta(hours=5), latency_s=250)
    # Pull: 3 rows of 7 s in the last hour.
    for _ in range(3):
        _log(connection, at=NOW - datetime.timedelta(minutes=30), direction="pull", latency_s=7)
    # Not counted: no queued_at, a failure, older than a day, another connection.
    _log(connection, at=NOW - datetime.timedelta(minutes=5))
    _log(connection, at=NOW - datetime.timedelta(minutes=5), result=SyncResult.FAILED, latency_s=3000)
    _log(connection, at=NOW - datetime.timedelta(hours=25), latency_s=3000)
    other = SalesforceConnection.objects.create(tenant=connection.tenant, name="Sandbox", login_url="https://test.salesforce.com")
    _log(other, at=NOW - datetime.timedelta(minutes=5), latency_s=3000)

    rows = {(r.direction, r.window): r for r in latency(connection=connection, now=NOW)}
    hour = rows[("push", "hour")]
    assert (hour.count, hour.p50.seconds, hour.p95.seconds) == (20, 1, 60)
    day = rows[("push", "day")]
    assert (day.count, day.p50.seconds, day.p95.seconds, day.p50.text) == (40, 60, 300, "≤ 1 min")
    assert (rows[("pull", "hour")].count, rows[("pull", "hour")].p50.seconds, rows[("pull", "day")].p95.text) == (3, 10, "≤ 10 s")


def test_latency_without_rows_is_empty_not_zero(connection):
    for row in latency(connection=connection, now=NOW):
        assert (row.count, row.p50, row.p95) == (0, None, None)


# --- errors by code ----------------------------------------------------------------------------

def test_errors_by_code_count_24_hours_and_7_days_at_their_boundaries(connection):
    _log(connection, at=NOW - datetime.timedelta(hours=23, minutes=59), result=SyncResult.FAILED, code="REQUIRED_FIELD_MISSING")
    _log(connection, at=NOW - datetime.timedelta(hours=24, minutes=1), result=SyncResult.FAILED, code="REQUIRED_FIELD_MISSING")
    _log(connection, at=NOW - datetime.timedelta(days=6, hours=23), result=SyncResult.RETRYING, code="UNABLE_TO_LOCK_ROW")
    _log(connection, at=NOW - datetime.timedelta(days=7, minutes=1), result=SyncResult.FAILED, code="UNABLE_TO_LOCK_ROW")
    _log(connection, at=NOW - datetime.timedelta(hours=1), result=SyncResult.SUCCESS, code="")
    _log(connection, at=NOW - datetime.timedelta(hours=1), result=SyncResult.SKIPPED, code="ENTITY_IS_DELETED")
    _log(connection, at=NOW - datetime.timedelta(hours=2), result=SyncResult.FAILED, code="STRING_TOO_LONG")
    rows = {r.code: r for r in errors_by_code(connection=connection, now=NOW)}
    assert set(rows) == {"REQUIRED_FIELD_MISSING", "UNABLE_TO_LOCK_ROW", "STRING_TOO_LONG"}
    assert (rows["REQUIRED_FIELD_MISSING"].last_day, rows["REQUIRED_FIELD_MISSING"].last_week) == (1, 2)
    assert (rows["UNABLE_TO_LOCK_ROW"].last_day, rows["UNABLE_TO_LOCK_ROW"].last_week) == (0, 1)
    assert (rows["REQUIRED_FIELD_MISSING"].meaning, rows["REQUIRED_FIELD_MISSING"].fix) == (
        "Required field not provided", "Add field mapping or make field optional")
    # A code the seed's table does not name: meaning and fix from the hint catalogue.
    assert rows["STRING_TOO_LONG"].meaning == "A value is longer than the Salesforce field allows."
    assert rows["STRING_TOO_LONG"].fix == "Shorten it or widen the field in Salesforce."


def test_every_seed_error_has_a_meaning_and_a_fix_and_unknown_codes_a_generic_fix():
    assert set(MEANINGS) == {"REQUIRED_FIELD_MISSING", "INVALID_CROSS_REFERENCE_KEY", "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                             "UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED", "INSUFFICIENT_ACCESS"}
    assert error_meaning("INSUFFICIENT_ACCESS") == ("User lacks permissions", "Grant permissions to integration user")
    assert error_meaning("NO_SUCH_CODE")[1].startswith("See the Salesforce error message")
    assert all(error_meaning(code)[1] for code in HINTS)


# --- queue and schedules -----------------------------------------------------------------------

def test_queue_by_priority_counts_outbox_and_changes_not_fanned_out(connection, alice):
    old = NOW - datetime.timedelta(hours=2)
    for n, (priority, state) in enumerate(((Priority.REALTIME, "pending"), (Priority.REALTIME, "claimed"),
                                           (Priority.FULL, "pending"), (Priority.INCREMENTAL, "done"))):
        OutboxEntry.objects.create(tenant=alice.tenant, connection=connection, record_type="opportunity", record_id=100 + n,
                                   event="updated", priority=priority, state=state, available_at=NOW)
    change = ChangeRecord.objects.create(tenant=alice.tenant, record_type="opportunity", record_id=200, event="updated",
                                         priority=Priority.MANUAL)
    ChangeRecord.objects.filter(pk=change.pk).update(created_at=old)
    depth = queue_by_priority(connection=connection)
    assert {r.label: r.count for r in depth.rows} == {"Manual": 1, "Real-time": 2, "Incremental": 0, "Reconciliation": 0,
                                                     "Full sync": 1}
    assert depth.total == 4 and depth.oldest_at == old


def test_last_success_per_schedule_with_never_and_overdue(connection, alice):
    from integrations.sync_settings import settings_ensure_initial

    settings_ensure_initial(connection=connection)
    def run(kind, status, finished):
        return SyncRun.objects.create(tenant=alice.tenant, connection=connection, kind=kind, status=status, finished_at=finished)
    run(SyncRunKind.INCREMENTAL, SyncRunStatus.SUCCEEDED, NOW - datetime.timedelta(minutes=10))
    run(SyncRunKind.INCREMENTAL, SyncRunStatus.FAILED, NOW - datetime.timedelta(minutes=1))  # not a success
    run(SyncRunKind.RECONCILIATION, SyncRunStatus.FINISHED_WITH_ERRORS, NOW - datetime.timedelta(hours=5))  # 60 min: overdue
    full = run(SyncRunKind.FULL, SyncRunStatus.SUCCEEDED, NOW - datetime.timedelta(days=3))
    _log(connection, at=NOW - datetime.timedelta(minutes=20))  # real time
    _log(connection, at=NOW - datetime.timedelta(minutes=2), run=full)  # part of a background run: not real time
    PullWatermark.objects.create(connection=connection, sobject="Opportunity", last_result="succeeded",
                                 last_finished_at=NOW - datetime.timedelta(minutes=7))
    PullWatermark.objects.create(connection=connection, sobject="Account", last_result="failed",
                                 last_finished_at=NOW - datetime.timedelta(minutes=1))
    rows = {r.key: r for r in last_success_per_schedule(connection=connection, now=NOW)}
    assert rows["incremental"].last_success_at == NOW - datetime.timedelta(minutes=10) and not rows["incremental"].overdue
    assert rows["realtime"].last_success_at == NOW - datetime.timedelta(minutes=20) and not rows["realtime"].overdue
    assert rows["pull"].last_success_at == NOW - datetime.timedelta(minutes=7) and not rows["pull"].overdue
    assert rows["reconciliation"].last_success_at == NOW - datetime.timedelta(hours=5) and rows["reconciliation"].overdue
    assert rows["validation"].last_success_at is None and rows["validation"].overdue
    assert rows["incremental"].interval == datetime.timedelta(minutes=15)


def test_before_the_first_full_sync_never_is_not_overdue(connection, alice):
    connection.connected_at = NOW - datetime.timedelta(minutes=10)
    connection.save()
    rows = {r.key: r for r in last_success_per_schedule(connection=connection, now=NOW)}
    assert not any(r.overdue for r in rows.values())
    assert "after the first full sync" in rows["validation"].note
    # The pull runs from the connection on: never pulled 2 hours after connecting is overdue.
    connection.connected_at = NOW - datetime.timedelta(hours=2)
    connection.save()
    rows = {r.key: r for r in last_success_per_schedule(connection=connection, now=NOW)}
    assert rows["pull"].overdue and not rows["validation"].overdue


def test_schedules_of_a_disconnected_connection_are_never_overdue(connection):
    connection.status = ConnectionStatus.DISCONNECTED
    connection.save()
    assert not any(r.overdue for r in last_success_per_schedule(connection=connection, now=NOW))


# --- usage projection --------------------------------------------------------------------------

def test_projection_at_the_pace_of_the_last_three_hours_to_midnight_pacific(connection):
    # 15:30 UTC = 07:30 Pacific (PST): the reset is 08:00 UTC tomorrow, 16.5 hours away.
    assert next_reset(NOW) == datetime.datetime(2026, 12, 7, 8, 0, tzinfo=datetime.UTC)
    hour = NOW.replace(minute=0)
    ApiCallBucket.objects.create(connection=connection, hour=hour, kind="realtime", calls=100)
    ApiCallBucket.objects.create(connection=connection, hour=hour - datetime.timedelta(hours=1), kind="full", calls=100)
    ApiCallBucket.objects.create(connection=connection, hour=hour - datetime.timedelta(hours=2), kind="realtime", calls=50)
    ApiCallBucket.objects.create(connection=connection, hour=hour - datetime.timedelta(hours=3), kind="realtime", calls=9999)
    # 250 calls over 2.5 hours: 100 an hour; 1,000 used + 100 × 16.5 = 2,650.
    p = usage_projection(connection=connection, used=1000, allowance=5000, now=NOW)
    assert (round(p.pace_per_hour), p.projected, p.runs_out, p.projected_percent) == (100, 2650, False, 53)
    # 4,000 used: 1,000 left at 100 an hour runs out in 10 hours, before the reset.
    p = usage_projection(connection=connection, used=4000, allowance=5000, now=NOW)
    assert p.projected == 5650 and p.runs_out_at == NOW + datetime.timedelta(hours=10)
    spent = usage_projection(connection=connection, used=5000, allowance=5000, now=NOW)
    assert spent.runs_out_at == NOW
    unknown = usage_projection(connection=connection, used=None, allowance=None, now=NOW)
    assert (unknown.projected, unknown.runs_out, unknown.percent) == (None, False, None)


# --- the page ----------------------------------------------------------------------------------

def _busy(connection, alice, record_id=1):
    now = timezone.now()
    for i in range(6):
        _log(connection, at=now - datetime.timedelta(minutes=5 + i), result=SyncResult.FAILED, code="REQUIRED_FIELD_MISSING")
    _log(connection, at=now - datetime.timedelta(minutes=3), latency_s=2)
    _log(connection, at=now - datetime.timedelta(minutes=3), direction="pull", latency_s=20)
    link = SyncLink.objects.create(tenant=alice.tenant, connection=connection, record_type="opportunity", record_id=record_id,
                                   sobject="Opportunity", status=LinkStatus.FAILED)
    SyncConflict.objects.create(tenant=alice.tenant, connection=connection, link=link, record_type="opportunity", record_id=record_id,
                                sf_field="StageName", cothon_field="stage")
    ApiCallBucket.objects.create(connection=connection, hour=now.replace(minute=0, second=0, microsecond=0),
                                 kind=f"realtime{record_id}", calls=30)


def test_the_page_shows_every_section_to_a_viewer(web_as, alice, connection):
    _busy(connection, alice)
    response = web_as(alice.viewer).get(reverse("sync:health", args=[connection.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Sync health", "Status", "Queue by priority", "Last success per schedule", "Latency", "Save → Salesforce",
                 "Salesforce → Cothon", "Errors by Salesforce code", "Required field not provided",
                 "Add field mapping or make field optional", "API usage today", "midnight Pacific", "Open conflicts",
                 "Records failing", "Anomalies", "Daily validation", "Incremental pull", 'hx-trigger="every 10s"', "Updated"):
        assert text in html, text
    assert 'data-health="error"' in html  # 6 of 8 attempts failed in the last hour
    assert f"{reverse('sync:logs')}?connection={connection.pk}&amp;error_code=REQUIRED_FIELD_MISSING" in html
    assert f"{reverse('sync:logs')}?connection={connection.pk}&amp;result=failed" in html
    assert reverse("integrations:conflicts", args=[connection.pk]) not in html  # the conflicts page is an admin's
    assert reverse("integrations:conflicts", args=[connection.pk]) in web_as(alice.admin).get(
        reverse("sync:health", args=[connection.pk])).content.decode()


def test_the_htmx_request_gets_the_body_only(web_as, alice, connection):
    response = web_as(alice.viewer).get(reverse("sync:health", args=[connection.pk]), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith("<div id=\"sync-health\"")
    assert "<html" not in html and "Queue by priority" in html and "HX-Request" in response["Vary"]


def test_a_paused_connection_says_until_when(web_as, alice, connection):
    import time

    get_governor().pause(connection.pk, 300, resume_estimate=time.time() + 3600)
    html = web_as(alice.viewer).get(reverse("sync:health", args=[connection.pk])).content.decode()
    assert 'data-health="paused"' in html and "Paused until ~" in html and "daily API allowance is used up" in html


def test_another_tenants_connection_is_404(web_as, alice, bob, connection):
    assert web_as(bob.admin).get(reverse("sync:health", args=[connection.pk])).status_code == 404
    assert web_as(alice.viewer).get(reverse("sync:health", args=[999999])).status_code == 404


def test_the_page_is_get_only(web_as, alice, connection):
    assert web_as(alice.admin).post(reverse("sync:health", args=[connection.pk])).status_code == 405


def test_query_count_does_not_grow_with_the_data(web_as, alice, connection, django_assert_max_num_queries):
    client = web_as(alice.viewer)
    url = reverse("sync:health", args=[connection.pk])
    client.get(url)  # warm caches (session, tenant)
    with django_assert_max_num_queries(25) as few:  # 20 on PostgreSQL + Redis
        client.get(url)
    _busy(connection, alice)
    for n in range(2, 7):
        _busy(connection, alice, record_id=n)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


def test_the_overview_and_settings_show_health_and_link_the_page(web_as, alice, connection):
    _busy(connection, alice)
    html = web_as(alice.viewer).get(reverse("sync:index")).content.decode()
    assert reverse("sync:health", args=[connection.pk]) in html and 'data-health="error"' in html
    assert "of 8 attempts in the last hour failed" in html  # the top reason
    html = web_as(alice.admin).get(reverse("integrations:index")).content.decode()
    assert 'data-health="error"' in html and "of 8 attempts in the last hour failed" in html
    html = web_as(alice.admin).get(reverse("integrations:connection", args=[connection.pk])).content.decode()
    assert 'data-health="error"' in html and reverse("sync:health", args=[connection.pk]) in html
    html = web_as(alice.viewer).get(reverse("sync:usage", args=[connection.pk])).content.decode()
    assert 'data-health="error"' in html and reverse("sync:health", args=[connection.pk]) in html



def test_reading_the_page_writes_nothing_not_even_default_settings(web_as, alice, connection):
    from integrations.models import ConnectionSettingsVersion

    assert web_as(alice.viewer).get(reverse("sync:health", args=[connection.pk])).status_code == 200
    assert not ConnectionSettingsVersion.objects.filter(connection=connection).exists()
    rows = {r.key: r for r in last_success_per_schedule(connection=connection, now=NOW)}
    assert rows["incremental"].interval == datetime.timedelta(minutes=15)  # the defaults
