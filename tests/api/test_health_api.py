"""The health API: GET /api/v1/connections/{id}/health/ (everything the Sync health page shows)
and GET /api/v1/connections/health/ (status and reasons of every connection). Viewer tokens
read it; another tenant's connection is a 404; writes are refused."""

from __future__ import annotations

import datetime
import time

import pytest
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from sync_engine.governor import get_governor
from sync_engine.models import SyncLog, SyncResult
from tests.api.conftest import API

pytestmark = pytest.mark.django_db


def _connection(world, name="Prod", **fields) -> SalesforceConnection:
    values = {"status": ConnectionStatus.CONNECTED, "api_usage_used": 1200, "api_usage_max": 5000, **fields}
    return SalesforceConnection.objects.create(tenant=world.tenant, name=name, login_url="https://login.salesforce.com", **values)


def _log(connection, *, minutes_ago: int, result=SyncResult.SUCCESS, code="", direction="push", latency_s=None):
    at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    row = SyncLog.objects.create(tenant_id=connection.tenant_id, connection=connection, operation="upsert", result=result,
                                 error_code=code, direction=direction)
    SyncLog.objects.filter(pk=row.pk).update(
        created_at=at, queued_at=at - datetime.timedelta(seconds=latency_s) if latency_s is not None else None)


def test_a_viewer_reads_a_connections_health(api_as, alice):
    connection = _connection(alice)
    for _ in range(3):
        _log(connection, minutes_ago=5, latency_s=4)
    _log(connection, minutes_ago=10, direction="pull", latency_s=50)
    _log(connection, minutes_ago=60 * 30, result=SyncResult.FAILED, code="INVALID_CROSS_REFERENCE_KEY")
    response = api_as(alice.viewer_membership).get(f"{API}/connections/{connection.pk}/health/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["connection"], body["status"], body["label"], body["reasons"]) == (connection.pk, "healthy", "Connected", [])
    assert [row["label"] for row in body["queue"]] == ["Manual", "Real-time", "Incremental", "Reconciliation", "Full sync"]
    assert body["queue_total"] == 0 and body["oldest_pending_at"] is None
    assert [s["key"] for s in body["schedules"]] == ["realtime", "incremental", "pull", "reconciliation", "validation"]
    assert body["latency"]["push"]["hour"] == {"count": 3, "p50_seconds": 5, "p95_seconds": 5, "p50": "≤ 5 s", "p95": "≤ 5 s"}
    assert body["latency"]["pull"]["day"]["p50_seconds"] == 60
    assert body["errors"] == [{"code": "INVALID_CROSS_REFERENCE_KEY", "last_24h": 0, "last_7d": 1,
                               "meaning": "Referenced record doesn't exist", "fix": "Ensure parent record (Account) exists first"}]
    assert body["usage"]["used"] == 1200 and body["usage"]["allowance"] == 5000 and body["usage"]["runs_out"] is False
    assert body["open_conflicts"] == 0 and body["records_failing"] == 0


def test_a_paused_connection_reports_paused_with_its_fix(api_as, alice):
    connection = _connection(alice)
    get_governor().pause(connection.pk, 300, resume_estimate=time.time() + 1800)
    body = api_as(alice.viewer_membership).get(f"{API}/connections/{connection.pk}/health/").json()
    assert body["status"] == "paused" and body["paused_until"]
    assert body["reasons"][0]["code"] == "quota_paused" and body["reasons"][0]["fix"]


def test_the_list_gives_every_connection_of_the_tenant_only(api_as, alice, bob):
    ok = _connection(alice, "Prod")
    broken = _connection(alice, "Sandbox", status=ConnectionStatus.NEEDS_RECONNECT, is_default=False)
    _connection(bob, "Bob's org")
    response = api_as(alice.viewer_membership).get(f"{API}/connections/health/")
    assert response.status_code == 200, response.content
    rows = {row["connection"]: row for row in response.json()}
    assert set(rows) == {ok.pk, broken.pk}
    assert rows[ok.pk]["status"] == "healthy"
    assert rows[broken.pk]["status"] == "needs_reconnect" and rows[broken.pk]["reasons"][0]["code"] == "needs_reconnect"
    assert "queue" not in rows[ok.pk]  # the list is status and reasons only


def test_the_list_filters_on_a_status_and_refuses_an_unknown_one(api_as, alice):
    _connection(alice, "Prod")
    broken = _connection(alice, "Sandbox", status=ConnectionStatus.NEEDS_RECONNECT, is_default=False)
    viewer = api_as(alice.viewer_membership)
    rows = viewer.get(f"{API}/connections/health/", {"status": "needs_reconnect"}).json()
    assert [row["connection"] for row in rows] == [broken.pk]
    assert viewer.get(f"{API}/connections/health/", {"status": "error"}).json() == []
    bad = viewer.get(f"{API}/connections/health/", {"status": "broken"})
    assert bad.status_code == 400 and "status" in bad.json()["errors"]


def test_another_tenants_connection_is_404(api_as, alice, bob):
    connection = _connection(alice)
    assert api_as(bob.admin_membership).get(f"{API}/connections/{connection.pk}/health/").status_code == 404
    assert api_as(alice.viewer_membership).get(f"{API}/connections/99999999/health/").status_code == 404
    assert api_as(alice.viewer_membership).get(f"{API}/connections/abc/health/").status_code == 404


def test_the_health_endpoints_are_read_only_and_the_rest_of_connections_stays_admin(api_as, alice):
    connection = _connection(alice)
    viewer = api_as(alice.viewer_membership)
    assert viewer.post(f"{API}/connections/{connection.pk}/health/", {}, format="json").status_code in (403, 405)
    assert viewer.post(f"{API}/connections/health/", {}, format="json").status_code in (403, 405)
    assert viewer.get(f"{API}/connections/{connection.pk}/").status_code == 403
    assert viewer.get(f"{API}/connections/").status_code == 403


def test_no_token_is_401(client, alice):
    connection = _connection(alice)
    assert client.get(f"{API}/connections/{connection.pk}/health/").status_code in (401, 403)


def test_the_endpoints_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert "get" in paths["/api/v1/connections/{id}/health/"] and "get" in paths["/api/v1/connections/health/"]
    detail = paths["/api/v1/connections/{id}/health/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    name = detail["$ref"].rsplit("/", 1)[-1]
    props = schema["components"]["schemas"][name]["properties"]
    for key in ("status", "reasons", "queue", "oldest_pending_at", "schedules", "latency", "errors", "usage", "open_conflicts",
                "records_failing"):
        assert key in props, key
