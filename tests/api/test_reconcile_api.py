"""Reconcile now, through the API and the Sync Now page: admin only, tenant-scoped, one at a time."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.sync_settings import settings_ensure_initial
from sync_engine import wakeups
from sync_engine.models import SyncRun, SyncRunKind, SyncRunStatus
from tests.api.conftest import API

pytestmark = pytest.mark.django_db


def _connection(world, status=ConnectionStatus.CONNECTED) -> SalesforceConnection:
    connection = SalesforceConnection.objects.create(tenant=world.tenant, name="Prod", login_url="https://login.salesforce.com",
                                                     status=status, is_default=True)
    settings_ensure_initial(connection=connection)
    return connection


@pytest.fixture
def sent(monkeypatch) -> list:
    calls: list = []
    monkeypatch.setattr(wakeups, "send_named", lambda name, *, args, queue: calls.append((name, args, queue)))
    return calls


def test_an_admin_queues_a_reconciliation_and_gets_the_run(alice, api_as, sent, django_capture_on_commit_callbacks):
    conn = _connection(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(alice.admin_membership).post(f"{API}/connections/{conn.pk}/reconciliations/", {}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    run = SyncRun.objects.get(pk=body["id"])
    assert (run.kind, run.status, run.requested_by) == (SyncRunKind.RECONCILIATION, SyncRunStatus.QUEUED, alice.admin)
    assert body["kind"] == "reconciliation" and body["counts"] == {} and body["requested_by"] == alice.admin.username
    assert sent == [("sync_engine.reconciliation_run", [run.pk], "default")]


def test_a_second_request_while_one_is_open_is_409(alice, api_as, sent):
    conn = _connection(alice)
    client = api_as(alice.admin_membership)
    assert client.post(f"{API}/connections/{conn.pk}/reconciliations/").status_code == 201
    response = client.post(f"{API}/connections/{conn.pk}/reconciliations/")
    assert response.status_code == 409 and response.json()["code"] == "reconciliation_running"
    assert SyncRun.objects.count() == 1


def test_a_disconnected_connection_is_409(alice, api_as, sent):
    conn = _connection(alice, status=ConnectionStatus.NEEDS_RECONNECT)
    response = api_as(alice.admin_membership).post(f"{API}/connections/{conn.pk}/reconciliations/")
    assert response.status_code == 409 and response.json()["code"] == "not_connected"
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("body", [{"window": "24h"}, {"kind": "full"}, ["reconcile"], "now"])
def test_a_body_with_options_or_not_an_object_is_400(alice, api_as, sent, body):
    conn = _connection(alice)
    response = api_as(alice.admin_membership).post(f"{API}/connections/{conn.pk}/reconciliations/", body, format="json")
    assert response.status_code == 400, response.content
    assert not SyncRun.objects.exists()


def test_malformed_json_is_400(alice, api_as, sent):
    conn = _connection(alice)
    response = api_as(alice.admin_membership).post(f"{API}/connections/{conn.pk}/reconciliations/", "{not json",
                                                    content_type="application/json")
    assert response.status_code == 400 and not SyncRun.objects.exists()


def test_another_tenants_connection_is_404_and_nothing_is_queued(alice, bob, api_as, web_as, sent):
    conn = _connection(alice)
    assert api_as(bob.admin_membership).post(f"{API}/connections/{conn.pk}/reconciliations/").status_code == 404
    assert web_as(bob.admin).post(reverse("sync:reconcile", args=[conn.pk])).status_code == 404
    assert api_as(alice.admin_membership).post(f"{API}/connections/abc/reconciliations/").status_code == 404
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_below_admin_it_is_403(alice, api_as, web_as, sent, role):
    conn = _connection(alice)
    assert api_as(getattr(alice, f"{role}_membership")).post(f"{API}/connections/{conn.pk}/reconciliations/").status_code == 403
    assert web_as(getattr(alice, role)).post(reverse("sync:reconcile", args=[conn.pk])).status_code == 403
    assert not SyncRun.objects.exists()


def test_the_sync_now_page_button_queues_one_and_shows_the_last_run(alice, web_as, sent):
    conn = _connection(alice)
    client = web_as(alice.admin)
    page = client.get(reverse("sync:sync_now", args=[conn.pk])).content.decode()
    assert "Reconcile now" in page and "Never run" in page
    response = client.post(reverse("sync:reconcile", args=[conn.pk]), follow=True)
    assert "Reconciliation queued" in response.content.decode()
    assert SyncRun.objects.filter(connection=conn, kind="reconciliation", requested_by=alice.admin).count() == 1
    # While it is queued the button is disabled, and a second post says why.
    again = client.post(reverse("sync:reconcile", args=[conn.pk]), follow=True).content.decode()
    assert "already queued or running" in again and SyncRun.objects.count() == 1
    SyncRun.objects.update(status=SyncRunStatus.SUCCEEDED, message="Since 2026-12-06 10:00 UTC. Cothon: 3 changed record(s) "
                                                                   "examined, 1 re-queued.")
    page = client.get(reverse("sync:sync_now", args=[conn.pk])).content.decode()
    assert "1 re-queued" in page
    assert client.get(reverse("sync:reconcile", args=[conn.pk])).status_code == 405


def test_a_reconciliations_log_row_reads_well_in_the_sync_logs(alice, web_as):
    from sync_engine.models import SyncLog

    conn = _connection(alice)
    run = SyncRun.objects.create(tenant=alice.tenant, connection=conn, kind="reconciliation", status="deferred")
    SyncLog.objects.create(tenant=alice.tenant, connection=conn, run=run, operation="reconcile", direction="pull",
                           result="paused", record_label="Reconciliation", error_code="DEFERRED",
                           error_message="Deferred: the org is paused. Nothing was read or queued.")
    html = web_as(alice.viewer).get(reverse("sync:logs")).content.decode()
    assert "Reconciliation" in html and "Nothing was read or queued" in html
