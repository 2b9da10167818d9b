"""The drift reports API (/api/v1/drift-reports/): read only, tenant-scoped, admins only, and
"Validate now" (issue 17)."""

from __future__ import annotations

import pytest

from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.sync_settings import settings_ensure_initial
from sync_engine.models import SyncRun
from sync_engine.validation.models import DriftReport
from tests.api.conftest import API


def _connection(world) -> SalesforceConnection:
    connection = SalesforceConnection.objects.filter(tenant=world.tenant).first() or SalesforceConnection.objects.create(
        tenant=world.tenant, name="Prod", login_url="https://login.salesforce.com", status=ConnectionStatus.CONNECTED,
        is_default=True)
    settings_ensure_initial(connection=connection)
    return connection


def _report(world, **values) -> DriftReport:
    defaults = {"status": "complete", "records_compared": 120, "field_differences": 3, "missing_in_salesforce": 1,
                "missing_in_cothon": 0, "orphans": 2, "api_calls": 5,
                "examples": {"field_difference": [{"record_id": 1, "salesforce_id": "006000000000001AAA", "field": "Description",
                                                   "cothon": "Ours", "salesforce": "Theirs", "changed_by": "Salesforce"}]}}
    return DriftReport.objects.create(tenant=world.tenant, connection=_connection(world), **{**defaults, **values})


@pytest.fixture
def admin_api(alice, api_as):
    return api_as(alice.admin_membership)


def test_admins_list_and_read_reports_with_counts_by_kind(alice, admin_api):
    report = _report(alice)
    body = admin_api.get(f"{API}/drift-reports/").json()
    assert body["count"] == 1
    row = admin_api.get(f"{API}/drift-reports/{report.pk}/").json()
    assert row["counts"] == {"missing_in_salesforce": 1, "missing_in_cothon": 0, "field_differences": 3, "orphans": 2}
    assert row["complete"] is True and row["examples"]["field_difference"][0]["field"] == "Description"
    assert admin_api.get(f"{API}/drift-reports/?connection={report.connection_id}").json()["count"] == 1
    assert admin_api.get(f"{API}/drift-reports/?connection={report.connection_id + 999}").json()["count"] == 0


def test_another_tenants_report_is_a_404_and_absent_from_the_list(alice, bob, admin_api):
    theirs = _report(bob)
    assert admin_api.get(f"{API}/drift-reports/{theirs.pk}/").status_code == 404
    assert admin_api.get(f"{API}/drift-reports/").json()["count"] == 0
    response = admin_api.post(f"{API}/drift-reports/", {"connection": theirs.connection_id}, format="json")
    assert response.status_code == 404
    assert not DriftReport.objects.filter(connection=theirs.connection, status="running").exists()


def test_validate_now_queues_a_validation_and_a_second_is_a_409(alice, admin_api, django_capture_on_commit_callbacks):
    connection = _connection(alice)
    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = admin_api.post(f"{API}/drift-reports/", {"connection": connection.pk}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "running" and len(sent) == 1
    assert SyncRun.objects.get(pk=response.json()["run"]).kind == "validation"
    again = admin_api.post(f"{API}/drift-reports/", {"connection": connection.pk}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "not_startable"


@pytest.mark.parametrize("body", [{}, {"connection": "x"}, {"connection": 0}, {"connection": None}, {"connection": [1]}])
def test_bad_input_is_a_400_and_starts_nothing(alice, admin_api, body):
    _connection(alice)
    assert admin_api.post(f"{API}/drift-reports/", body, format="json").status_code == 400
    assert not DriftReport.objects.exists()


def test_a_bad_filter_is_a_400(alice, admin_api):
    assert admin_api.get(f"{API}/drift-reports/?connection=abc").status_code == 400


def test_members_cannot_read_or_start(alice, alice_api):
    report = _report(alice)
    assert alice_api.get(f"{API}/drift-reports/{report.pk}/").status_code == 403
    assert alice_api.post(f"{API}/drift-reports/", {"connection": report.connection_id}, format="json").status_code == 403
