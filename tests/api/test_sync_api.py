"""The Sync Now API: start, watch and cancel a sync without the browser (issue 15 #12)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from integrations import connections as svc
from integrations.models import ConnectionStatus, Environment, SalesforceConnection
from integrations.sync_settings import settings_ensure_initial
from sync_engine.models import OutboxEntry, SyncRun, SyncRunKind, SyncRunStatus
from sync_engine.services import push_and_reschedule
from tests.api.conftest import API


def _connection(world, name="Prod", status=ConnectionStatus.CONNECTED) -> SalesforceConnection:
    connection = SalesforceConnection.objects.create(tenant=world.tenant, name=name, login_url="https://login.salesforce.com",
                                                     status=status, is_default=True)
    settings_ensure_initial(connection=connection)
    return connection


@pytest.fixture
def admin_api(alice, api_as):
    return api_as(alice.admin_membership)


@pytest.fixture
def conn(alice):
    return _connection(alice)


def test_an_admin_starts_a_full_sync_and_gets_the_run(alice, admin_api, conn, opportunity_factory):
    opportunity_factory(alice.tenant)
    opportunity_factory(alice.tenant)
    response = admin_api.post(f"{API}/connections/{conn.pk}/sync-runs/", {"kind": "full"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    run = SyncRun.objects.get(pk=body["id"])
    assert (run.kind, run.connection_id, run.requested_by) == (SyncRunKind.FULL, conn.pk, alice.admin)
    assert body["kind"] == "full" and body["status"] == "queued" and body["total"] == 2 == run.total
    assert body["requested_by"] == alice.admin.username and body["connection"] == conn.pk
    assert set(body) >= {"status", "kind", "total", "processed", "succeeded", "failed", "api_calls", "started_at",
                         "finished_at", "error", "cancel_requested", "percent"}
    assert OutboxEntry.objects.filter(connection=conn).count() == 2  # merged with the pending create rows


def test_an_incremental_start_with_nothing_changed_finishes_at_once(alice, admin_api, conn):
    response = admin_api.post(f"{API}/connections/{conn.pk}/sync-runs/", {"kind": "incremental"}, format="json")
    assert response.status_code == 201
    assert response.json()["total"] == 0 and response.json()["status"] == "succeeded"


@pytest.mark.parametrize("body", [{"kind": "everything"}, {}, {"kind": ""}, {"kind": ["full"]}, {"kind": None},
                                  {"kind": "manual_record"}])
def test_a_bad_kind_is_400_with_a_field_error(admin_api, conn, body):
    response = admin_api.post(f"{API}/connections/{conn.pk}/sync-runs/", body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Validation failed." and "kind" in response.json()["errors"]
    assert not SyncRun.objects.exists()


def test_a_second_start_while_one_runs_is_409_and_says_so(admin_api, conn, alice, opportunity_factory):
    opportunity_factory(alice.tenant)
    assert admin_api.post(f"{API}/connections/{conn.pk}/sync-runs/", {"kind": "full"}, format="json").status_code == 201
    response = admin_api.post(f"{API}/connections/{conn.pk}/sync-runs/", {"kind": "incremental"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": "A sync is already running for this connection; cancel it or wait for it to finish.",
                               "code": "sync_running"}
    assert SyncRun.objects.count() == 1


@pytest.mark.parametrize("status", [ConnectionStatus.PENDING, ConnectionStatus.NEEDS_RECONNECT, ConnectionStatus.DISCONNECTED])
def test_a_connection_that_is_not_connected_is_409_with_the_reason(admin_api, conn, status):
    SalesforceConnection.objects.filter(pk=conn.pk).update(status=status)
    response = admin_api.post(f"{API}/connections/{conn.pk}/sync-runs/", {"kind": "full"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "not_connected" and "reconnect" in response.json()["detail"]
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_cannot_start_cancel_or_list(alice, api_as, conn, role):
    client = api_as(getattr(alice, f"{role}_membership"))
    run = SyncRun.objects.create(tenant=alice.tenant, connection=conn, kind=SyncRunKind.FULL, status=SyncRunStatus.RUNNING)
    assert client.post(f"{API}/connections/{conn.pk}/sync-runs/", {"kind": "full"}, format="json").status_code == 403
    assert client.post(f"{API}/sync-runs/{run.pk}/cancel/").status_code == 403
    response = client.get(f"{API}/connections/")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert client.get(f"{API}/connections/{conn.pk}/").status_code == 403
    # ... but every member reads a run's progress.
    assert client.get(f"{API}/sync-runs/{run.pk}/").json()["status"] == "running"
    run.refresh_from_db()
    assert not run.cancel_requested and SyncRun.objects.count() == 1


def test_another_tenants_connection_and_runs_are_404(alice, bob, api_as, conn):
    run = SyncRun.objects.create(tenant=alice.tenant, connection=conn, kind=SyncRunKind.FULL, status=SyncRunStatus.RUNNING)
    for membership in (bob.admin_membership, bob.viewer_membership):
        client = api_as(membership)
        assert client.get(f"{API}/sync-runs/{run.pk}/").status_code == 404
    client = api_as(bob.admin_membership)
    assert client.post(f"{API}/connections/{conn.pk}/sync-runs/", {"kind": "full"}, format="json").status_code == 404
    assert client.post(f"{API}/sync-runs/{run.pk}/cancel/").status_code == 404
    assert client.get(f"{API}/connections/{conn.pk}/").status_code == 404
    assert client.get(f"{API}/connections/").json()["results"] == []
    run.refresh_from_db()
    assert not run.cancel_requested and SyncRun.objects.count() == 1


@pytest.mark.parametrize("path", ["sync-runs/abc/", "sync-runs/99999999999999999999999/", "connections/1e3/"])
def test_non_numeric_or_huge_ids_are_404(admin_api, conn, path):
    assert admin_api.get(f"{API}/{path}").status_code == 404


def test_the_connection_list_shows_ids_and_first_sync_state(alice, admin_api, conn):
    body = admin_api.get(f"{API}/connections/").json()
    [row] = body["results"]
    assert row["id"] == conn.pk and row["status"] == "connected" and row["first_full_sync_done"] is False
    assert "access_token_encrypted" not in row and "client_secret_encrypted" not in row


def test_an_admin_cancels_a_queued_run(alice, admin_api, conn, opportunity_factory):
    opportunity_factory(alice.tenant)
    run_id = admin_api.post(f"{API}/connections/{conn.pk}/sync-runs/", {"kind": "full"}, format="json").json()["id"]
    response = admin_api.post(f"{API}/sync-runs/{run_id}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["cancel_requested"] is True
    assert not OutboxEntry.objects.filter(connection=conn, event="sync").exists()  # the run's rows are dropped
    # Cancelling a finished run answers it unchanged.
    assert admin_api.post(f"{API}/sync-runs/{run_id}/cancel/").json()["status"] == "cancelled"


def test_a_record_sync_run_is_readable_but_not_cancellable_here(alice, admin_api, conn):
    run = SyncRun.objects.create(tenant=alice.tenant, connection=conn, kind=SyncRunKind.MANUAL_RECORD, status=SyncRunStatus.RUNNING)
    response = admin_api.post(f"{API}/sync-runs/{run.pk}/cancel/")
    assert response.status_code == 409 and response.json()["code"] == "not_cancellable"


def test_the_api_is_in_the_schema_with_its_error_responses(db):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    start = schema["paths"]["/api/v1/connections/{id}/sync-runs/"]["post"]
    assert set(start["responses"]) >= {"201", "400", "401", "403", "404", "409"}
    assert start["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/SyncRunStartRequest")
    run = schema["paths"]["/api/v1/sync-runs/{id}/"]["get"]
    assert set(run["responses"]) >= {"200", "401", "403", "404"}
    assert set(schema["paths"]["/api/v1/sync-runs/{id}/cancel/"]["post"]["responses"]) >= {"200", "403", "404", "409"}
    assert "/api/v1/connections/" in schema["paths"]
    properties = schema["components"]["schemas"]["SyncRun"]["properties"]
    assert {"status", "kind", "total", "processed", "succeeded", "failed", "api_calls", "started_at", "finished_at",
            "error", "cancel_requested"} <= set(properties)
    assert properties["started_at"].get("nullable") is True and properties["requested_by"].get("nullable") is True


@pytest.fixture
def emulator_connection(alice, emulator_reset):
    creds = emulator_reset.demo
    connection = svc.connection_create(
        tenant=alice.tenant, name="Demo org", environment=Environment.CUSTOM, login_url=emulator_reset.instance_url,
        client_id=creds["client_id"], client_secret=creds["client_secret"], ca_bundle_path=emulator_reset.ca_bundle,
        actor=alice.admin)
    return svc.connection_connect_client_credentials(connection=connection, actor=alice.admin)


def test_a_full_sync_started_over_the_api_runs_to_the_end_and_reports_its_counts(
        alice, admin_api, emulator_connection, emulator_reset, opportunity_factory, department_factory):
    department = department_factory(alice.tenant, "Public Works")
    for n in range(3):
        opportunity_factory(alice.tenant, department=department, reference=f"API-{n}")
    run_id = admin_api.post(f"{API}/connections/{emulator_connection.pk}/sync-runs/", {"kind": "full"}, format="json").json()["id"]
    for _ in range(10):  # what the background worker does with the task the start enqueued
        push_and_reschedule(connection_id=emulator_connection.pk, max_priority=None)
        if SyncRun.objects.get(pk=run_id).status not in ("queued", "running"):
            break
    body = admin_api.get(f"{API}/sync-runs/{run_id}/").json()
    assert body["status"] == "succeeded", body
    assert body["total"] == 4 and body["processed"] == 4 and body["succeeded"] == 4 and body["failed"] == 0
    assert body["api_calls"] >= 2 and body["started_at"] and body["finished_at"] and body["error"] == ""
    refs = {r["Cothon_Ref__c"] for r in emulator_reset.sf().query_all(
        "SELECT Cothon_Ref__c FROM Opportunity WHERE Cothon_Ref__c LIKE 'API-%'")["records"]}
    assert refs == {"API-0", "API-1", "API-2"}
