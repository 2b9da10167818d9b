"""The API of a record whose Salesforce partner was deleted: search, re-link, skip, unskip,
re-create (members, one record) and the bulk action (admins), with bad input and other
tenants refused."""

from __future__ import annotations

import pytest

from sync_engine.executor import push_connection
from sync_engine.models import LinkStatus, SyncLink, SyncLog
from tests.api.conftest import API
from tests.conftest import salesforce_opportunity


def _url(opportunity, action: str = "") -> str:
    return f"{API}/opportunities/{opportunity.pk}/salesforce/" + (f"{action}/" if action else "")


@pytest.fixture
def member_api(alice, api_as):
    return api_as(alice.member_membership)


def test_a_member_searches_and_relinks_over_the_api(alice, member_api, emulator_reset, deleted_in_salesforce):
    opportunity, dead = deleted_in_salesforce
    target = salesforce_opportunity(emulator_reset)
    found = member_api.get(_url(opportunity, "candidates"), {"title": "ottawa", "close_date": "2031-05-14"})
    assert found.status_code == 200, found.content
    assert [c["salesforce_id"] for c in found.json()] == [target] and found.json()[0]["linked_record_id"] is None
    response = member_api.post(_url(opportunity, "relink"), {"salesforce_id": target}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["salesforce_id"] == target and body["status"] == "pending" and body["matched_by"] == "relinked" and body["run"]
    assert SyncLog.objects.get(operation="relink").actor == alice.member


@pytest.mark.parametrize("bad, status, code", [("nope", 400, "invalid_id"), ("001000000000001AAA", 400, "wrong_object"),
                                               ("006000000000999AAA", 400, "unknown_id")])
def test_relink_answers_what_is_wrong_with_the_id(member_api, deleted_in_salesforce, bad, status, code):
    opportunity, _ = deleted_in_salesforce
    response = member_api.post(_url(opportunity, "relink"), {"salesforce_id": bad}, format="json")
    assert response.status_code == status and response.json()["code"] == code, response.content


def test_relink_to_a_record_linked_elsewhere_is_a_conflict(alice, connected, member_api, deleted_in_salesforce, opportunity_factory):
    opportunity, _ = deleted_in_salesforce
    other = opportunity_factory(alice.tenant)
    push_connection(connection_id=connected.pk)
    taken = SyncLink.objects.get(record_type="opportunity", record_id=other.pk).salesforce_id
    response = member_api.post(_url(opportunity, "relink"), {"salesforce_id": taken}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "already_linked"


def test_search_without_criteria_is_a_bad_request(member_api, deleted_in_salesforce):
    response = member_api.get(_url(deleted_in_salesforce[0], "candidates"))
    assert response.status_code == 400 and response.json()["code"] == "no_criteria"
    assert member_api.get(_url(deleted_in_salesforce[0], "candidates"), {"close_date": "31/05"}).status_code == 400


def test_skip_unskip_and_recreate_over_the_api(alice, member_api, deleted_in_salesforce):
    opportunity, dead = deleted_in_salesforce
    skipped = member_api.post(_url(opportunity, "skip")).json()
    assert skipped["status"] == "skipped" and skipped["skipped_by"] == alice.member.get_username()
    assert member_api.post(_url(opportunity, "recreate")).json()["code"] == "skipped"
    assert member_api.post(_url(opportunity, "unskip")).json()["status"] == LinkStatus.DELETED_IN_SALESFORCE
    assert member_api.post(_url(opportunity, "unskip")).status_code == 409
    recreated = member_api.post(_url(opportunity, "recreate"))
    assert recreated.status_code == 200 and recreated.json()["salesforce_id"] == "" and recreated.json()["run"]
    assert member_api.get(_url(opportunity)).json()["status"] == "pending"


def test_a_viewer_reads_the_link_but_cannot_act(alice, api_as, deleted_in_salesforce):
    viewer = api_as(alice.viewer_membership)
    opportunity, _ = deleted_in_salesforce
    assert viewer.get(_url(opportunity)).json()["status"] == LinkStatus.DELETED_IN_SALESFORCE
    for action in ("skip", "unskip", "recreate", "relink"):
        assert viewer.post(_url(opportunity, action), {"salesforce_id": "x"}, format="json").status_code == 403
    assert viewer.get(_url(opportunity, "candidates"), {"title": "x"}).status_code == 403


def test_another_tenant_gets_404_for_every_action(bob, api_as, deleted_in_salesforce, connected):
    bob_api = api_as(bob.member_membership)
    opportunity, _ = deleted_in_salesforce
    assert bob_api.get(_url(opportunity)).status_code == 404
    assert bob_api.get(_url(opportunity, "candidates"), {"title": "Bridge"}).status_code == 404
    for action in ("skip", "unskip", "recreate", "relink"):
        assert bob_api.post(_url(opportunity, action), {"salesforce_id": "006000000000001AAA"}, format="json").status_code == 404
    bob_admin = api_as(bob.admin_membership)
    response = bob_admin.post(f"{API}/connections/{connected.pk}/partner-gone/",
                              {"action": "skip", "opportunity_ids": [opportunity.pk]}, format="json")
    assert response.status_code == 404
    assert SyncLink.objects.get(record_id=opportunity.pk).status == LinkStatus.DELETED_IN_SALESFORCE


def test_bulk_action_is_for_admins(alice, api_as, connected, deleted_in_salesforce):
    opportunity, _ = deleted_in_salesforce
    body = {"action": "recreate", "opportunity_ids": [opportunity.pk, 987654]}
    url = f"{API}/connections/{connected.pk}/partner-gone/"
    assert api_as(alice.member_membership).post(url, body, format="json").status_code == 403
    response = api_as(alice.admin_membership).post(url, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["done"] == [opportunity.pk] and "987654" in response.json()["refused"]
    assert api_as(alice.admin_membership).post(url, {"action": "delete", "opportunity_ids": [1]}, format="json").status_code == 400


def test_the_actions_are_in_the_openapi_schema(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for action in ("candidates", "relink", "skip", "unskip", "recreate"):
        assert f"/api/v1/opportunities/{{id}}/salesforce/{action}/" in paths
    assert "/api/v1/connections/{id}/partner-gone/" in paths
