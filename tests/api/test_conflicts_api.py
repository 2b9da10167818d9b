"""The conflicts API: the review queue and its resolve action (issue 17)."""

from __future__ import annotations

import pytest

from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.sync_settings import settings_ensure_initial
from opportunities.models import Opportunity
from sync_engine.models import ChangeRecord, SyncConflict, SyncLink
from tests.api.conftest import API


def _conflict(world, opportunity_factory, *, field="Description", cothon="Ours", salesforce="Theirs") -> SyncConflict:
    connection = SalesforceConnection.objects.filter(tenant=world.tenant).first() or SalesforceConnection.objects.create(
        tenant=world.tenant, name="Prod", login_url="https://login.salesforce.com", status=ConnectionStatus.CONNECTED,
        is_default=True)
    settings_ensure_initial(connection=connection)
    opportunity = opportunity_factory(world.tenant, description=cothon)
    link = SyncLink.objects.create(tenant=world.tenant, connection=connection, record_type="opportunity",
                                   record_id=opportunity.pk, sobject="Opportunity", salesforce_id=f"006{opportunity.pk:015d}",
                                   status="synced", base_snapshot={field: "Agreed"})
    return SyncConflict.objects.create(tenant=world.tenant, connection=connection, link=link, record_type="opportunity",
                                       record_id=opportunity.pk, record_label=opportunity.title, sf_field=field,
                                       cothon_field="description", rule="last_write_wins", base_value="Agreed",
                                       cothon_value=cothon, salesforce_value=salesforce, salesforce_changed_by="005000000000001AAA")


@pytest.fixture
def admin_api(alice, api_as):
    return api_as(alice.admin_membership)


def test_the_resource_names_who_changed_cothons_side(alice, alice_api, opportunity_factory):
    conflict = _conflict(alice, opportunity_factory)
    assert alice_api.get(f"{API}/sync-conflicts/{conflict.pk}/").json()["cothon_changed_by"] is None
    SyncConflict.objects.filter(pk=conflict.pk).update(cothon_changed_by=alice.member)
    assert alice_api.get(f"{API}/sync-conflicts/{conflict.pk}/").json()["cothon_changed_by"] == alice.member.get_username()


def test_members_read_the_queue_with_all_three_values(alice, alice_api, opportunity_factory):
    conflict = _conflict(alice, opportunity_factory)
    body = alice_api.get(f"{API}/sync-conflicts/").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["id"], row["sf_field"], row["base_value"], row["cothon_value"], row["salesforce_value"], row["status"]) == (
        conflict.pk, "Description", "Agreed", "Ours", "Theirs", "open")
    assert alice_api.get(f"{API}/sync-conflicts/{conflict.pk}/").json()["record_id"] == conflict.record_id


def test_filters_narrow_the_queue(alice, alice_api, opportunity_factory):
    first = _conflict(alice, opportunity_factory)
    _conflict(alice, opportunity_factory, field="StageName")
    assert [r["id"] for r in alice_api.get(f"{API}/sync-conflicts/?field=description").json()["results"]] == [first.pk]
    assert alice_api.get(f"{API}/sync-conflicts/?record={first.record_id}").json()["count"] == 1
    assert alice_api.get(f"{API}/sync-conflicts/?status=resolved").json()["count"] == 0
    assert alice_api.get(f"{API}/sync-conflicts/?status=all").json()["count"] == 2
    assert alice_api.get(f"{API}/sync-conflicts/?status=closed").status_code == 400
    assert alice_api.get(f"{API}/sync-conflicts/?record=abc").status_code == 400


def test_an_admin_resolves_and_the_value_goes_to_cothon_and_out(alice, admin_api, opportunity_factory):
    conflict = _conflict(alice, opportunity_factory)
    response = admin_api.post(f"{API}/sync-conflicts/{conflict.pk}/resolve/", {"choice": "keep_salesforce"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()[0]["status"] == "resolved" and response.json()[0]["resolved_by"] == alice.admin.username
    assert Opportunity.objects.get(pk=conflict.record_id).description == "Theirs"
    assert ChangeRecord.objects.filter(record_id=conflict.record_id, origin="cothon", fields__contains=["description"]).exists()
    assert SyncLink.objects.get(pk=conflict.link_id).base_snapshot["Description"] == "Theirs"


def test_many_are_resolved_at_once_with_an_entered_value(alice, admin_api, opportunity_factory):
    rows = [_conflict(alice, opportunity_factory) for _ in range(3)]
    response = admin_api.post(f"{API}/sync-conflicts/resolve/", {"conflict_ids": [r.pk for r in rows], "choice": "value",
                                                                "value": "Agreed by both"}, format="json")
    assert response.status_code == 200, response.content
    assert set(Opportunity.objects.filter(pk__in=[r.record_id for r in rows]).values_list("description", flat=True)) == {"Agreed by both"}
    assert not SyncConflict.objects.filter(status="open").exists()


def test_another_tenants_conflict_is_a_404_and_changes_nothing(alice, bob, api_as, admin_api, opportunity_factory):
    theirs = _conflict(bob, opportunity_factory)
    assert admin_api.get(f"{API}/sync-conflicts/{theirs.pk}/").status_code == 404
    assert admin_api.post(f"{API}/sync-conflicts/{theirs.pk}/resolve/", {"choice": "keep_cothon"}, format="json").status_code == 404
    ours = _conflict(alice, opportunity_factory)
    mixed = admin_api.post(f"{API}/sync-conflicts/resolve/", {"conflict_ids": [ours.pk, theirs.pk], "choice": "keep_cothon"},
                           format="json")
    assert mixed.status_code == 404
    assert SyncConflict.objects.filter(status="open").count() == 2
    assert admin_api.get(f"{API}/sync-conflicts/").json()["count"] == 1


@pytest.mark.parametrize("body", [{}, {"choice": "coin_toss"}, {"choice": "value"}, {"choice": None},
                                  {"choice": ["keep_cothon"]}, {"conflict_ids": [], "choice": "keep_cothon"},
                                  {"conflict_ids": ["x"], "choice": "keep_cothon"}])
def test_bad_input_is_a_400_and_resolves_nothing(alice, admin_api, opportunity_factory, body):
    conflict = _conflict(alice, opportunity_factory)
    if "conflict_ids" not in body:
        body = {**body, "conflict_ids": [conflict.pk]}
    response = admin_api.post(f"{API}/sync-conflicts/resolve/", body, format="json")
    assert response.status_code == 400, response.content
    assert SyncConflict.objects.get().status == "open"


def test_a_resolved_conflict_cannot_be_resolved_again(alice, admin_api, opportunity_factory):
    conflict = _conflict(alice, opportunity_factory)
    url = f"{API}/sync-conflicts/{conflict.pk}/resolve/"
    assert admin_api.post(url, {"choice": "keep_cothon"}, format="json").status_code == 200
    assert admin_api.post(url, {"choice": "keep_salesforce"}, format="json").status_code == 400
    assert Opportunity.objects.get(pk=conflict.record_id).description == "Ours"


def test_members_cannot_resolve(alice, alice_api, opportunity_factory):
    conflict = _conflict(alice, opportunity_factory)
    assert alice_api.post(f"{API}/sync-conflicts/{conflict.pk}/resolve/", {"choice": "keep_cothon"}, format="json").status_code == 403


def test_a_record_with_an_open_conflict_is_in_the_conflict_state_until_resolved(alice, admin_api, opportunity_factory):
    from sync_engine.selectors import SyncState, record_sync_state

    conflict = _conflict(alice, opportunity_factory)
    state = record_sync_state(tenant=alice.tenant, record_type="opportunity", record_id=conflict.record_id,
                              connection=conflict.connection)
    assert state.state == SyncState.CONFLICT and "Description" in state.reason
    admin_api.post(f"{API}/sync-conflicts/{conflict.pk}/resolve/", {"choice": "keep_cothon"}, format="json")
    state = record_sync_state(tenant=alice.tenant, record_type="opportunity", record_id=conflict.record_id,
                              connection=conflict.connection)
    assert state.state != SyncState.CONFLICT


@pytest.mark.parametrize("value", ["bad\x00text", {"a": 1}, [1, 2]])
def test_an_unusable_entered_value_is_a_400(alice, admin_api, opportunity_factory, value):
    conflict = _conflict(alice, opportunity_factory)
    response = admin_api.post(f"{API}/sync-conflicts/{conflict.pk}/resolve/", {"choice": "value", "value": value}, format="json")
    assert response.status_code == 400 and "value" in response.json()["errors"]
    assert SyncConflict.objects.get().status == "open"
