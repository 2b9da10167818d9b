"""The sync-log API: filtered keyset pages (no duplicates, no gaps), one row, errors by cause,
Retry / Skip of failed records (admin), the runs list and the open-conflict counts — roles,
bad input and tenant isolation."""

from __future__ import annotations

import datetime

import pytest

from integrations.models import SalesforceConnection
from sync_engine.models import OutboxEntry, SyncConflict, SyncLink, SyncLog, SyncRun
from tests.api.conftest import API

pytestmark = pytest.mark.django_db
HINT = "A field required in Salesforce has no value."


def _connection(world, name="Prod", **fields) -> SalesforceConnection:
    defaults = {"login_url": "https://login.salesforce.com", "instance_url": "https://alice.my.salesforce.com",
                "status": "connected", "is_default": True}
    defaults.update(fields)
    return SalesforceConnection.objects.create(tenant=world.tenant, name=name, **defaults)


def _log(connection, record_id, result="failed", **fields) -> SyncLog:
    data = {"record_type": "opportunity", "record_label": f"Record {record_id}", "sobject": "Opportunity",
            "operation": "upsert", "direction": "push"}
    if result == "failed":
        data.update(error_code="REQUIRED_FIELD_MISSING", hint=HINT, error_message="Required fields are missing: [CloseDate]")
    data.update(fields)
    return SyncLog.objects.create(tenant=connection.tenant, connection=connection, record_id=record_id, result=result, **data)


@pytest.fixture
def admin_api(alice, api_as):
    return api_as(alice.admin_membership)


@pytest.fixture
def viewer_api(alice, api_as):
    return api_as(alice.viewer_membership)


# --- list and one row ----------------------------------------------------------------------------

def test_keyset_pages_walk_every_row_once_newest_first(alice, viewer_api):
    prod = _connection(alice)
    logs = [_log(prod, i, result="success") for i in range(23)]
    seen, url, pages = [], f"{API}/sync-logs/?page_size=10", 0
    while url:
        response = viewer_api.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [row["id"] for row in body["results"]]
        url, pages = body["next"], pages + 1
        if pages == 1:
            _log(prod, 999, result="success")  # written meanwhile: never shifts the next pages
    assert pages == 3 and seen == sorted((log.pk for log in logs), reverse=True)
    assert "before=" in viewer_api.get(f"{API}/sync-logs/?page_size=10").json()["next"]


def test_the_list_takes_the_pages_filters(alice, viewer_api):
    prod, sandbox = _connection(alice), _connection(alice, "Sandbox", is_default=False)
    failed = _log(prod, 1)
    _log(prod, 2, result="success")
    pulled = _log(sandbox, 3, result="success", direction="pull")
    ids = lambda **params: [r["id"] for r in viewer_api.get(f"{API}/sync-logs/", params).json()["results"]]  # noqa: E731
    assert ids(result="failed") == [failed.pk]
    assert ids(direction="pull") == [pulled.pk]
    assert ids(connection=sandbox.pk) == [pulled.pk]
    assert ids(error_code="REQUIRED_FIELD_MISSING", record="1") == [failed.pk]
    assert ids(date_from="2001-01-01", date_to="2001-01-02") == []


def test_a_row_says_where_its_record_is_how_long_it_waited_and_which_attempt(alice, viewer_api, opportunity_factory):
    prod = _connection(alice)
    opportunity = opportunity_factory(alice.tenant)
    log = _log(prod, opportunity.pk, result="success", salesforce_id="006000000000001AAA", attempts=2)
    SyncLog.objects.filter(pk=log.pk).update(queued_at=log.created_at - datetime.timedelta(milliseconds=3200))
    body = viewer_api.get(f"{API}/sync-logs/{log.pk}/").json()
    assert body["record_url"] == f"http://testserver/opportunities/{opportunity.pk}/"
    assert body["salesforce_url"] == "https://alice.my.salesforce.com/lightning/r/Opportunity/006000000000001AAA/view"
    assert (body["latency_ms"], body["attempts"], body["connection_name"]) == (3200, 2, "Prod")


def test_bad_filters_are_a_400_naming_each_field(alice, viewer_api):
    _connection(alice)
    response = viewer_api.get(f"{API}/sync-logs/", {"date_from": "yesterday", "result": "exploded", "direction": "sideways"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"date_from", "result", "direction"}
    for name, value in (("before", "abc"), ("after", "0"), ("connection", "-1"), ("page_size", "0")):
        response = viewer_api.get(f"{API}/sync-logs/", {name: value})
        assert response.status_code == 400 and list(response.json()["errors"]) == [name], (name, value)
    assert viewer_api.get(f"{API}/sync-logs/", {"page_size": "500"}).status_code == 400
    assert viewer_api.get(f"{API}/sync-logs/groups/", {"error_code": "not a code!"}).status_code == 400


def test_another_tenants_rows_and_connections_are_404(alice, bob, api_as):
    alices = _connection(alice)
    log = _log(alices, 1)
    bobs = api_as(bob.admin_membership)
    _connection(bob)
    assert bobs.get(f"{API}/sync-logs/{log.pk}/").status_code == 404
    assert bobs.get(f"{API}/sync-logs/").json()["results"] == []
    # As a read filter another organization's connection matches nothing; named by an action, it is a 404.
    assert bobs.get(f"{API}/sync-logs/", {"connection": alices.pk}).json()["results"] == []
    assert bobs.get(f"{API}/sync-logs/groups/", {"connection": alices.pk}).json() == {"capped": False, "results": []}
    assert bobs.post(f"{API}/sync-logs/retry-failed/", {"connection": str(alices.pk)}, format="json").status_code == 404
    assert bobs.post(f"{API}/sync-logs/retry-failed/", {"group": f"{alices.pk}|REQUIRED_FIELD_MISSING|{HINT}"},
                     format="json").status_code == 404
    assert bobs.post(f"{API}/sync-logs/{log.pk}/skip/").status_code == 404
    assert bobs.get(f"{API}/sync-runs/", {"connection": alices.pk}).json()["results"] == []
    assert not OutboxEntry.objects.exists()


# --- groups, retry, skip ---------------------------------------------------------------------------

def test_groups_answer_the_counts_and_a_key_that_retries_that_group(alice, admin_api):
    prod = _connection(alice)
    _log(prod, 1)
    _log(prod, 1)
    _log(prod, 2, error_code="UNABLE_TO_LOCK_ROW", hint="Locked.")
    groups = admin_api.get(f"{API}/sync-logs/groups/").json()["results"]
    required = next(g for g in groups if g["error_code"] == "REQUIRED_FIELD_MISSING")
    assert (required["rows"], required["records"], required["failing"], required["connection"]) == (2, 1, 1, prod.pk)
    response = admin_api.post(f"{API}/sync-logs/retry-failed/", {"group": required["key"]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"queued": 1, "already_queued": 0, "not_queued": 0}
    assert list(OutboxEntry.objects.values_list("record_id", flat=True)) == [1]
    again = admin_api.post(f"{API}/sync-logs/retry-failed/", {"group": required["key"]}, format="json").json()
    assert again == {"queued": 0, "already_queued": 1, "not_queued": 0}
    everything = admin_api.post(f"{API}/sync-logs/retry-failed/", {}, format="json").json()
    assert everything == {"queued": 1, "already_queued": 1, "not_queued": 0}
    assert SyncLog.objects.filter(operation="retry", actor=alice.admin).count() == 2


def test_retry_takes_the_filters_in_its_body(alice, admin_api):
    prod, sandbox = _connection(alice), _connection(alice, "Sandbox", is_default=False)
    _log(prod, 1)
    _log(sandbox, 2)
    body = admin_api.post(f"{API}/sync-logs/retry-failed/", {"connection": str(sandbox.pk)}, format="json").json()
    assert body["queued"] == 1 and list(OutboxEntry.objects.values_list("connection_id", flat=True)) == [sandbox.pk]


def test_retry_with_bad_input_is_a_400_and_queues_nothing(alice, admin_api):
    _connection(alice)
    _log(alice_connection := SalesforceConnection.objects.get(tenant=alice.tenant), 1)
    for body in ({"group": "nonsense"}, {"date_to": "31/12/2030"}, {"result": "exploded"}, {"colour": "red"}):
        response = admin_api.post(f"{API}/sync-logs/retry-failed/", body, format="json")
        assert response.status_code == 400, body
        assert response.json()["errors"], body
    assert not OutboxEntry.objects.filter(connection=alice_connection).exists()


def test_viewers_and_members_read_but_cannot_retry_or_skip(alice, viewer_api, alice_api):
    prod = _connection(alice)
    log = _log(prod, 1)
    for client in (viewer_api, alice_api):
        assert client.get(f"{API}/sync-logs/").status_code == 200
        assert client.get(f"{API}/sync-logs/groups/").status_code == 200
        assert client.post(f"{API}/sync-logs/retry-failed/", {}, format="json").status_code == 403
        assert client.post(f"{API}/sync-logs/skip-failed/", {}, format="json").status_code == 403
        assert client.post(f"{API}/sync-logs/{log.pk}/skip/").status_code == 403
    assert not OutboxEntry.objects.exists() and not SyncLink.objects.exists()


def test_skip_of_a_row_and_of_the_failing_records(alice, admin_api, opportunity_factory):
    prod = _connection(alice)
    first, second = opportunity_factory(alice.tenant), opportunity_factory(alice.tenant)
    log = _log(prod, first.pk)
    _log(prod, second.pk)
    department = _log(prod, 55, record_type="department")
    response = admin_api.post(f"{API}/sync-logs/{log.pk}/skip/")
    assert response.status_code == 200 and response.json()["skipped"] is True
    assert admin_api.post(f"{API}/sync-logs/{department.pk}/skip/").json()["code"] == "not_skippable"
    body = admin_api.post(f"{API}/sync-logs/skip-failed/", {}, format="json").json()
    assert body["skipped"] == [second.pk] and body["not_skippable"] == 1
    assert SyncLink.objects.filter(status="skipped").count() == 2


# --- runs and conflicts ----------------------------------------------------------------------------

def test_runs_list_filters_by_connection_kind_and_status(alice, bob, viewer_api):
    prod, sandbox = _connection(alice), _connection(alice, "Sandbox", is_default=False)
    full = SyncRun.objects.create(tenant=alice.tenant, connection=prod, kind="full", status="succeeded")
    SyncRun.objects.create(tenant=alice.tenant, connection=prod, kind="incremental", status="failed")
    other = SyncRun.objects.create(tenant=alice.tenant, connection=sandbox, kind="full", status="succeeded")
    SyncRun.objects.create(tenant=bob.tenant, connection=_connection(bob), kind="full", status="succeeded")
    ids = lambda **params: [r["id"] for r in viewer_api.get(f"{API}/sync-runs/", params).json()["results"]]  # noqa: E731
    assert len(ids()) == 3
    assert ids(kind="full", status="succeeded") == [other.pk, full.pk]
    assert ids(connection=prod.pk, kind="full") == [full.pk]
    response = viewer_api.get(f"{API}/sync-runs/", {"kind": "sometimes", "status": "x", "connection": "abc"})
    assert response.status_code == 400


def test_conflict_counts_are_open_conflicts_by_connection_and_record_type(alice, bob, viewer_api, api_as):
    prod = _connection(alice)
    link = SyncLink.objects.create(tenant=alice.tenant, connection=prod, record_type="opportunity", record_id=1,
                                   sobject="Opportunity", salesforce_id="006000000000001AAA")
    for field, status in (("Amount", "open"), ("CloseDate", "open"), ("StageName", "resolved")):
        SyncConflict.objects.create(tenant=alice.tenant, connection=prod, link=link, record_type="opportunity", record_id=1,
                                    sf_field=field, cothon_field=field.lower(), status=status)
    body = viewer_api.get(f"{API}/sync-conflicts/counts/").json()
    assert body == {"results": [{"connection": prod.pk, "connection_name": "Prod", "record_type": "opportunity", "open": 2}]}
    assert viewer_api.get(f"{API}/sync-conflicts/counts/", {"connection": prod.pk + 1000}).json() == {"results": []}
    assert viewer_api.get(f"{API}/sync-conflicts/counts/", {"connection": "x"}).status_code == 400
    assert api_as(bob.viewer_membership).get(f"{API}/sync-conflicts/counts/").json() == {"results": []}
