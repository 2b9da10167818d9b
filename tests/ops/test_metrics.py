"""/metrics: Prometheus text for a bearer token only, read from the database at scrape time —
queue depth, API calls, latency both ways, errors, quota pauses, pull lag — with labels that
never carry record data."""

from __future__ import annotations

import datetime
import time

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from integrations.models import SalesforceConnection
from sync_engine.executor import push_connection
from sync_engine.fanout import fan_out_pending
from sync_engine.metric_totals import add_totals, error_label, log_totals
from sync_engine.models import MetricTotal, SyncLink, SyncLog
from sync_engine.pull.incremental import pull_incremental
from sync_engine.services import outbox_sweep, push_and_reschedule
from sync_engine.models import Priority

TOKEN = "s3cret-metrics-token-for-tests"
SECRET_TITLE = "Harbour dredging, secret bid 7731"


@pytest.fixture
def token(settings):
    settings.COTHON_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client) -> tuple[str, dict[tuple[str, frozenset], float]]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return text, samples


def value(samples, name: str, **labels) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    wanted = {k: str(v) for k, v in labels.items()}
    return sum(v for (n, ls), v in samples.items() if n == name and wanted.items() <= dict(ls).items())


def test_metrics_do_not_exist_without_a_configured_token(client, db, settings):
    settings.COTHON_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_metrics_refuse_a_missing_or_wrong_token(client, db, token):
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic " + TOKEN).status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x").status_code == 403
    for response in (missing, client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong")):
        assert b"cothon_" not in response.content


def test_metrics_answer_the_token_with_the_series(client, db, token):
    text, samples = scrape(client)
    for name, kind in (("cothon_outbox_entries", "gauge"), ("cothon_outbox_oldest_pending_age_seconds", "gauge"),
                       ("cothon_changes_not_fanned_out", "gauge"), ("cothon_governor_paused", "gauge"),
                       ("cothon_sync_latency_seconds", "histogram"), ("cothon_salesforce_api_calls_total", "counter"),
                       ("cothon_sync_records_total", "counter"), ("cothon_sync_errors_total", "counter"),
                       ("cothon_governor_pauses_total", "counter"), ("cothon_pull_lag_seconds", "gauge"),
                       ("cothon_conflicts_open", "gauge")):
        assert f"# TYPE {name} {kind}\n" in text, name


def test_a_push_shows_queue_depth_then_calls_records_and_latency_without_record_data(alice, connected, client, token,
                                                                                     opportunity_factory):
    opportunities = [opportunity_factory(alice.tenant, title=f"{SECRET_TITLE} #{i}") for i in range(3)]
    _, before = scrape(client)
    assert value(before, "cothon_changes_not_fanned_out", tenant_id=alice.tenant.pk) >= 3
    fan_out_pending()
    _, queued = scrape(client)
    assert value(queued, "cothon_outbox_entries", connection_id=connected.pk, state="pending", priority=int(Priority.REALTIME)) >= 3
    assert value(queued, "cothon_outbox_oldest_pending_age_seconds", connection_id=connected.pk) >= 0
    assert value(queued, "cothon_changes_not_fanned_out", tenant_id=alice.tenant.pk) == 0

    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 0
    text, samples = scrape(client)
    ids = dict(connection_id=connected.pk, tenant_id=alice.tenant.pk)
    assert value(samples, "cothon_outbox_entries", **ids) == 0
    assert value(samples, "cothon_salesforce_api_calls_total", result="ok", **ids) >= summary.api_calls > 0
    assert value(samples, "cothon_sync_records_total", direction="push", result="success", **ids) >= len(opportunities)
    count = value(samples, "cothon_sync_latency_seconds_count", direction="push", **ids)
    assert count >= len(opportunities)
    assert value(samples, "cothon_sync_latency_seconds_bucket", direction="push", le="+Inf", **ids) == count
    assert value(samples, "cothon_sync_latency_seconds_sum", direction="push", **ids) > 0
    # Labels and values hold ids and enums only: no title, no reference, no e-mail.
    assert SECRET_TITLE not in text and "Harbour" not in text
    assert opportunities[0].reference not in text and "@" not in text


def test_counters_survive_the_sync_log_being_purged(alice, connected, client, token, opportunity_factory):
    opportunity_factory(alice.tenant)
    push_connection(connection_id=connected.pk)
    _, first = scrape(client)
    records = value(first, "cothon_sync_records_total", connection_id=connected.pk)
    assert records >= 1
    SyncLog.objects.all().delete()
    _, second = scrape(client)
    assert value(second, "cothon_sync_records_total", connection_id=connected.pk) == records


def test_a_pull_shows_its_latency_from_salesforce_and_the_pull_lag(alice, connected, client, token, emulator_reset,
                                                                   opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    assert push_connection(connection_id=connected.pk).failed == 0
    pull_incremental(connection_id=connected.pk)  # our own push seen once: the next cycle reads changes only
    link = SyncLink.objects.get(connection=connected, record_type="opportunity", record_id=opportunity.pk)
    emulator_reset.sf().Opportunity.update(link.salesforce_id, {"Name": "Made in Salesforce"})
    assert pull_incremental(connection_id=connected.pk).summary.applied == 1
    text, samples = scrape(client)
    ids = dict(connection_id=connected.pk, tenant_id=alice.tenant.pk)
    assert value(samples, "cothon_sync_latency_seconds_count", direction="pull", **ids) >= 1
    assert value(samples, "cothon_salesforce_api_calls_total", kind="pull", result="ok", **ids) >= 2
    assert ("cothon_pull_lag_seconds", frozenset({"connection_id": str(connected.pk), "tenant_id": str(alice.tenant.pk)}.items())) in samples
    assert "Made in Salesforce" not in text


def test_a_quota_pause_is_counted_and_shown_until_capacity_returns(alice, connected, client, token, emulator_reset,
                                                                   opportunity_factory, settings):
    settings.COTHON_LIMITS_PROBE_SECONDS = 1
    opportunity_factory(alice.tenant, title=SECRET_TITLE)
    emulator_reset.client.set_limits("demo", allowance=5000, used=5000)
    assert "paused" in push_connection(connection_id=connected.pk).stopped_because
    text, samples = scrape(client)
    ids = dict(connection_id=connected.pk, tenant_id=alice.tenant.pk)
    assert value(samples, "cothon_governor_paused", **ids) == 1
    assert value(samples, "cothon_governor_pauses_total", **ids) == 1
    assert value(samples, "cothon_salesforce_api_usage_ratio", **ids) >= 1
    assert value(samples, "cothon_outbox_entries", state="pending", **ids) >= 1
    # Capacity returns: the rolling window moves on; the capacity check resumes the work.
    emulator_reset.client.advance_clock(25 * 3600)
    time.sleep(1.2)
    try:
        for _ in range(4):
            outbox_sweep()
            push_and_reschedule(connection_id=connected.pk, max_priority=None)
            if not SyncLog.objects.filter(connection=connected, operation="resume").exists():
                continue
            break
    finally:
        emulator_reset.client.reset_clock()
    assert SyncLog.objects.filter(connection=connected, operation="resume").exists()
    text, samples = scrape(client)
    assert value(samples, "cothon_governor_paused", **ids) == 0
    assert value(samples, "cothon_governor_pauses_total", **ids) == 1
    assert value(samples, "cothon_salesforce_api_calls_total", kind="limits_probe", **ids) >= 1
    assert SECRET_TITLE not in text


def test_error_codes_outside_the_catalogue_become_other(alice, db):
    connection = SalesforceConnection.objects.create(tenant=alice.tenant, name="Org")
    now = timezone.now()
    rows = [(connection.pk, "push", "failed", "REQUIRED_FIELD_MISSING", now, now - datetime.timedelta(seconds=3)),
            (connection.pk, "push", "failed", "Jane Doe <jane@example.org> bid", now, None),
            (connection.pk, "pull", "success", "", now, now - datetime.timedelta(days=3))]
    add_totals(log_totals(rows))
    add_totals(log_totals(rows))  # adds, in the database
    totals = {(t.series, t.labels): (t.count, t.total) for t in MetricTotal.objects.filter(connection=connection)}
    assert totals[("errors", "push|REQUIRED_FIELD_MISSING")][0] == 2
    assert totals[("errors", "push|other")][0] == 2
    assert totals[("latency", "push|5")] == (2, pytest.approx(6.0))
    assert totals[("latency", "pull|+Inf")][0] == 2
    assert not any("jane" in labels.lower() for _, labels in totals)
    assert error_label("INVALID_VALUE") == "INVALID_VALUE" and error_label("x\ny") == "other"


def test_a_scrape_runs_the_same_few_queries_for_one_connection_or_many(alice, bob, client, token, settings):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    if not settings.REDIS_URL:
        pytest.skip("the database governor reads one row per connection; the Redis one answers for all at once")
    SalesforceConnection.objects.create(tenant=alice.tenant, name="Org 1")
    with CaptureQueriesContext(db) as one:
        scrape(client)
    for i in range(2, 12):
        SalesforceConnection.objects.create(tenant=bob.tenant if i % 2 else alice.tenant, name=f"Org {i}")
    add_totals(log_totals([(c.pk, "push", "failed", "UNABLE_TO_LOCK_ROW", timezone.now(), timezone.now())
                           for c in SalesforceConnection.objects.all()]))
    with CaptureQueriesContext(db) as many:
        _, samples = scrape(client)
    assert len(many) == len(one) <= 12
    assert value(samples, "cothon_sync_errors_total", code="UNABLE_TO_LOCK_ROW") == 11
    assert value(samples, "cothon_governor_paused") == 0 and len({k for k in samples if k[0] == "cothon_governor_paused"}) == 11
