"""/api/v1/opportunities/: CRUD through the services, filters, pagination, validation, Salesforce state."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.models import SalesforceConnection
from opportunities.models import Opportunity
from sync_engine.models import LinkStatus, OutboxEntry, RecordType, SyncLink
from tests.api.conftest import API, errors_of
from sync_engine.fanout import fan_out_pending

URL = f"{API}/opportunities/"


TODAY = datetime.date.today()


def _count() -> int:
    return Opportunity.objects.count()


# --- create, read, update, delete ----------------------------------------------------------

def test_it_creates_an_opportunity_with_its_department_and_assignee(alice, alice_api, department_factory):
    department = department_factory(alice.tenant, "Health Canada")
    response = alice_api.post(URL, {
        "title": "Lab equipment", "reference": "H1-001", "value_min": "1000.50", "value_max": "2000",
        "closing_date": "2030-01-31", "department": department.pk, "assignee": alice.member.pk,
        "status": "pursuing", "category": "goods", "description": "Microscopes.",
    }, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["department"] == department.pk and body["department_name"] == "Health Canada"
    assert (body["value_min"], body["value_max"], body["closing_date"]) == ("1000.50", "2000.00", "2030-01-31")
    assert body["created_by"] == alice.member.pk
    assert body["salesforce"] is None
    saved = Opportunity.objects.get(pk=body["id"])
    assert (saved.tenant_id, saved.assignee_id, saved.status) == (alice.tenant.pk, alice.member.pk, "pursuing")


def test_it_retrieves_one_opportunity(alice, alice_api, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, title="Cloud")
    body = alice_api.get(f"{URL}{opportunity.pk}/").json()
    assert (body["id"], body["title"], body["reference"]) == (opportunity.pk, "Cloud", opportunity.reference)


def test_patch_changes_only_the_given_fields(alice, alice_api, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, title="Old", description="Keep me")
    response = alice_api.patch(f"{URL}{opportunity.pk}/", {"status": "submitted", "win_probability": 40}, format="json")
    assert response.status_code == 200, response.json()
    opportunity.refresh_from_db()
    assert (opportunity.status, opportunity.win_probability, opportunity.title, opportunity.description) == (
        "submitted", 40, "Old", "Keep me")
    # The token's user is recorded as the fields' author (a conflict names them).
    assert opportunity.field_changed_by["status"] == opportunity.field_changed_by["win_probability"] == alice.member.pk


def test_put_replaces_the_required_fields_and_needs_them(alice, alice_api, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    assert set(errors_of(alice_api.put(f"{URL}{opportunity.pk}/", {"reference": "NEW-1"}, format="json"))) == {"title"}
    response = alice_api.put(f"{URL}{opportunity.pk}/", {"title": "New", "reference": "NEW-1"}, format="json")
    assert response.status_code == 200
    opportunity.refresh_from_db()
    assert (opportunity.title, opportunity.reference) == ("New", "NEW-1")


def test_it_can_clear_the_department(alice, alice_api, opportunity_factory, department_factory):
    opportunity = opportunity_factory(alice.tenant, department=department_factory(alice.tenant))
    assert alice_api.patch(f"{URL}{opportunity.pk}/", {"department": None}, format="json").json()["department"] is None
    opportunity.refresh_from_db()
    assert opportunity.department_id is None


def test_delete_removes_the_opportunity(alice, alice_api, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    assert alice_api.delete(f"{URL}{opportunity.pk}/").status_code == 204
    assert not Opportunity.objects.filter(pk=opportunity.pk).exists()
    assert alice_api.get(f"{URL}{opportunity.pk}/").status_code == 404


def test_analysis_results_are_read_only(alice, alice_api, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    alice_api.patch(f"{URL}{opportunity.pk}/", {"compliance_score": 99, "analysis_status": "complete"}, format="json")
    opportunity.refresh_from_db()
    assert (opportunity.compliance_score, opportunity.analysis_status) == (None, "not_started")


def test_a_non_numeric_id_is_a_404_not_a_500(alice, alice_api):
    assert alice_api.get(f"{URL}abc/").status_code == 404
    assert alice_api.get(f"{URL}99999999999999999999/").status_code == 404


# --- list: pagination, filters, search, ordering -------------------------------------------

def test_the_list_is_paginated(alice, alice_api, opportunity_factory):
    for _ in range(5):
        opportunity_factory(alice.tenant)
    first = alice_api.get(URL, {"page_size": 2}).json()
    assert first["count"] == 5 and len(first["results"]) == 2 and first["previous"] is None
    assert "page=2" in first["next"]
    last = alice_api.get(URL, {"page_size": 2, "page": 3}).json()
    assert len(last["results"]) == 1 and last["next"] is None
    seen = {row["id"] for page in (1, 2, 3) for row in alice_api.get(URL, {"page_size": 2, "page": page}).json()["results"]}
    assert len(seen) == 5


def test_a_page_past_the_end_is_a_404(alice, alice_api, opportunity_factory):
    opportunity_factory(alice.tenant)
    assert alice_api.get(URL, {"page": 9}).status_code == 404


@pytest.fixture
def pipeline(alice, opportunity_factory, department_factory):
    health = department_factory(alice.tenant, "Health Canada")
    defence = department_factory(alice.tenant, "National Defence")
    return {
        "won": opportunity_factory(alice.tenant, title="Radar upkeep", status="won", department=defence,
                                   closing_date=TODAY + datetime.timedelta(days=5)),
        "lost": opportunity_factory(alice.tenant, title="Lab microscopes", status="lost", department=health,
                                    closing_date=TODAY + datetime.timedelta(days=15)),
        "pursuing": opportunity_factory(alice.tenant, title="Cloud hosting", status="pursuing", department=health,
                                        closing_date=TODAY + datetime.timedelta(days=25), reference="SSC-777"),
        "undated": opportunity_factory(alice.tenant, title="Translation", status="identified", closing_date=None),
        "health": health,
        "defence": defence,
    }


def _titles(response) -> set[str]:
    assert response.status_code == 200, response.json()
    return {row["title"] for row in response.json()["results"]}


def test_filter_by_several_statuses(alice_api, pipeline):
    assert _titles(alice_api.get(URL, {"status": ["won", "lost"]})) == {"Radar upkeep", "Lab microscopes"}
    assert _titles(alice_api.get(URL, {"status": "won,pursuing"})) == {"Radar upkeep", "Cloud hosting"}
    assert _titles(alice_api.get(URL, {"status": "won"})) == {"Radar upkeep"}


def test_filter_by_an_unknown_status_is_a_400_naming_the_parameter(alice_api, pipeline):
    assert "status" in errors_of(alice_api.get(URL, {"status": "bogus"}))


def test_filter_by_department(alice_api, pipeline):
    assert _titles(alice_api.get(URL, {"department": pipeline["health"].pk})) == {"Lab microscopes", "Cloud hosting"}


def test_filter_by_closing_date_range(alice_api, pipeline):
    after = (TODAY + datetime.timedelta(days=10)).isoformat()
    before = (TODAY + datetime.timedelta(days=20)).isoformat()
    assert _titles(alice_api.get(URL, {"closing_after": after})) == {"Lab microscopes", "Cloud hosting"}
    assert _titles(alice_api.get(URL, {"closing_before": before})) == {"Radar upkeep", "Lab microscopes"}
    assert _titles(alice_api.get(URL, {"closing_after": after, "closing_before": before})) == {"Lab microscopes"}
    assert "closing_after" in errors_of(alice_api.get(URL, {"closing_after": "next week"}))


def test_search_matches_title_reference_and_department(alice_api, pipeline):
    assert _titles(alice_api.get(URL, {"search": "radar"})) == {"Radar upkeep"}
    assert _titles(alice_api.get(URL, {"search": "ssc-777"})) == {"Cloud hosting"}
    assert _titles(alice_api.get(URL, {"search": "defence"})) == {"Radar upkeep"}


def test_ordering(alice_api, pipeline):
    rows = alice_api.get(URL, {"ordering": "closing_date", "status": "won,lost,pursuing"}).json()["results"]
    assert [row["title"] for row in rows] == ["Radar upkeep", "Lab microscopes", "Cloud hosting"]
    rows = alice_api.get(URL, {"ordering": "-title"}).json()["results"]
    assert [row["title"] for row in rows] == ["Translation", "Radar upkeep", "Lab microscopes", "Cloud hosting"]


# --- validation: clear 400s with field names, nothing written --------------------------------

VALID = {"title": "Cloud hosting", "reference": "W-1"}
TITLE_MAX = Opportunity._meta.get_field("title").max_length


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"title": None}, "title", "This field may not be null."),
        ({"title": ""}, "title", "This field may not be blank."),
        ({"value_min": "500", "value_max": "100"}, "value_max", "Maximum value must be greater than or equal to the minimum value."),
        ({"value_min": "-1"}, "value_min", "Value cannot be negative."),
        ({"status": "bogus"}, "status", '"bogus" is not a valid choice.'),
        ({"description": "x" * 32001}, "description", "Ensure this field has no more than 32000 characters."),
        ({"reference": "R" * 51}, "reference", "Ensure this field has no more than 50 characters."),
        ({"title": "T" * (TITLE_MAX + 1)}, "title", f"Ensure this field has no more than {TITLE_MAX} characters."),
        ({"value_min": "a lot"}, "value_min", "A valid number is required."),
        ({"closing_date": "next week"}, "closing_date", None),
        ({"win_probability": 101}, "win_probability", "Ensure this value is less than or equal to 100."),
        ({"win_probability": "high"}, "win_probability", "A valid integer is required."),
        ({"department": "abc"}, "department", "Incorrect type. Expected pk value, received str."),
        ({"department": 987654}, "department", 'Invalid pk "987654" - object does not exist.'),
        ({"title": {"nested": "object"}}, "title", "Not a valid string."),
        ({"status": ["won"]}, "status", None),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(alice, alice_api, changes, field, message):
    payload = {**VALID, **changes}
    response = alice_api.post(URL, payload, format="json")
    errors = errors_of(response)
    assert field in errors, errors
    if message:
        assert message in errors[field]
    assert _count() == 0


def test_a_missing_title_is_required(alice, alice_api):
    assert errors_of(alice_api.post(URL, {"reference": "W-1"}, format="json")) == {"title": ["This field is required."]}
    assert _count() == 0


def test_several_errors_are_reported_together(alice, alice_api):
    errors = errors_of(alice_api.post(URL, {"status": "bogus", "value_min": "x"}, format="json"))
    assert set(errors) == {"title", "status", "value_min"}


def test_a_reference_is_optional_and_several_blank_references_coexist(alice, alice_api):
    # Rare for government RFPs; Salesforce matching then falls back to title + close date.
    for title in ("Sole-source A", "Sole-source B"):
        response = alice_api.post(URL, {"title": title}, format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["reference"] == ""


def test_a_duplicate_reference_in_the_same_tenant_is_a_400_on_reference(alice, alice_api, opportunity_factory):
    opportunity_factory(alice.tenant, reference="W-1")
    errors = errors_of(alice_api.post(URL, VALID, format="json"))
    assert errors == {"reference": ["Another opportunity in this organization already uses this reference."]}
    assert _count() == 1


def test_the_same_reference_in_another_tenant_is_fine(alice, bob, bob_api, opportunity_factory):
    opportunity_factory(alice.tenant, reference="W-1")
    assert bob_api.post(URL, VALID, format="json").status_code == 201
    assert _count() == 2


def test_changing_to_a_taken_reference_is_refused(alice, alice_api, opportunity_factory):
    opportunity_factory(alice.tenant, reference="TAKEN")
    mine = opportunity_factory(alice.tenant, reference="MINE")
    assert "reference" in errors_of(alice_api.patch(f"{URL}{mine.pk}/", {"reference": "TAKEN"}, format="json"))
    mine.refresh_from_db()
    assert mine.reference == "MINE"
    # Saving an opportunity with its own reference is not a duplicate.
    assert alice_api.put(f"{URL}{mine.pk}/", {"title": "Same ref", "reference": "MINE"}, format="json").status_code == 200


def test_an_update_breaking_min_max_writes_nothing(alice, alice_api, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, value_min=100, value_max=200, title="Before")
    response = alice_api.patch(f"{URL}{opportunity.pk}/", {"title": "After", "value_min": "300"}, format="json")
    assert "value_max" in errors_of(response)
    opportunity.refresh_from_db()
    assert (opportunity.title, opportunity.value_min) == ("Before", Decimal("100"))


@pytest.mark.parametrize("body", ['{"title": "Broken', "{'title': 'single quotes'}", "not json at all"])
def test_malformed_json_is_a_clear_400(alice, alice_api, body):
    response = alice_api.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert response.json()["detail"].startswith("Malformed request body: JSON parse error")
    assert _count() == 0


def test_a_json_array_instead_of_an_object_is_a_400(alice, alice_api):
    errors = errors_of(alice_api.post(URL, [VALID], format="json"))
    assert errors == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    assert _count() == 0


def test_a_form_encoded_body_is_refused_with_415(alice, alice_api):
    response = alice_api.post(URL, VALID)  # multipart
    assert response.status_code == 415
    assert _count() == 0


# --- the Salesforce state of each opportunity ------------------------------------------------

def _connection(tenant, name="Production", *, is_default=True):
    return SalesforceConnection.objects.create(
        tenant=tenant, name=name, login_url="https://login.salesforce.com",
        instance_url=f"https://{name.lower()}.my.salesforce.com", is_default=is_default,
    )


def _link(connection, opportunity, **fields):
    defaults = {"sobject": "Opportunity", "salesforce_id": "006000000000001AAA", "status": LinkStatus.SYNCED}
    defaults.update(fields)
    return SyncLink.objects.create(tenant=connection.tenant, connection=connection, record_type=RecordType.OPPORTUNITY,
                                   record_id=opportunity.pk, **defaults)


def test_an_opportunity_shows_its_link_in_the_default_connection(alice, alice_api, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    default = _connection(alice.tenant)
    other = _connection(alice.tenant, "Sandbox", is_default=False)
    synced_at = datetime.datetime(2030, 5, 1, 12, 30, tzinfo=datetime.UTC)
    _link(default, opportunity, status=LinkStatus.FAILED, last_synced_at=synced_at,
          last_error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION", last_error_message="Close date is in the past")
    _link(other, opportunity, salesforce_id="006000000000999AAA")

    expected = {
        "connection": default.pk,
        "salesforce_id": "006000000000001AAA",
        "url": "https://production.my.salesforce.com/lightning/r/Opportunity/006000000000001AAA/view",
        "status": "failed",
        "last_synced_at": "2030-05-01T12:30:00Z",
        "last_error": "Close date is in the past",
    }
    assert alice_api.get(f"{URL}{opportunity.pk}/").json()["salesforce"] == expected
    assert alice_api.get(URL).json()["results"][0]["salesforce"] == expected


def test_salesforce_is_null_without_a_link_in_the_default_connection(alice, alice_api, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    _link(_connection(alice.tenant, "Sandbox", is_default=False), opportunity)
    assert alice_api.get(f"{URL}{opportunity.pk}/").json()["salesforce"] is None


def test_the_salesforce_state_costs_one_query_per_page(alice, alice_api, opportunity_factory):
    default = _connection(alice.tenant)
    for n in range(8):
        _link(default, opportunity_factory(alice.tenant), salesforce_id=f"0060000000000{n:02d}AAA")
    alice_api.get(URL)  # token bookkeeping happens on the first call

    counts = []
    for page_size in (2, 8):
        with CaptureQueriesContext(connection) as queries:
            response = alice_api.get(URL, {"page_size": page_size})
        assert all(row["salesforce"]["status"] == "synced" for row in response.json()["results"])
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# --- the sync state of each opportunity --------------------------------------------------------

def test_sync_state_says_in_sync_after_a_real_push_and_pending_after_an_edit(alice, alice_api, connected, opportunity_factory):
    from opportunities import services as opp_services
    from sync_engine.executor import push_connection

    opportunity = opportunity_factory(alice.tenant)
    body = alice_api.get(f"{URL}{opportunity.pk}/").json()["sync_state"]
    assert body["state"] == "pending" and body["label"] == "Pending" and body["age_seconds"] >= 0 and body["since"]

    push_connection(connection_id=connected.pk)
    body = alice_api.get(f"{URL}{opportunity.pk}/").json()["sync_state"]
    assert (body["state"], body["label"], body["code"], body["hint"]) == ("in_sync", "In sync", None, None)
    assert body["since"] == alice_api.get(f"{URL}{opportunity.pk}/").json()["salesforce"]["last_synced_at"]

    opp_services.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"description": "Edited"})
    rows = alice_api.get(URL).json()["results"]
    assert [r["sync_state"]["state"] for r in rows if r["id"] == opportunity.pk] == ["pending"]


def test_sync_state_of_a_failed_record_has_code_hint_and_action(alice, alice_api, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    from sync_engine.models import OutboxEntry
    fan_out_pending()
    OutboxEntry.objects.all().delete()
    _link(_connection(alice.tenant), opportunity, status=LinkStatus.FAILED, last_error_code="REQUIRED_FIELD_MISSING",
          last_error_message="Required fields are missing: [Region__c]")
    body = alice_api.get(f"{URL}{opportunity.pk}/").json()["sync_state"]
    assert body["state"] == "failed" and body["code"] == "REQUIRED_FIELD_MISSING"
    assert "Region__c" in body["reason"] and "field mapping" in body["hint"] and body["action"]


def test_sync_state_is_null_without_a_default_connection_and_ignores_other_tenants(alice, bob, alice_api, bob_api, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    assert alice_api.get(f"{URL}{opportunity.pk}/").json()["sync_state"] is None
    bobs = _connection(bob.tenant)
    _link(bobs, opportunity, status=LinkStatus.FAILED, last_error_code="X")  # a stray row naming Alice's id
    assert alice_api.get(f"{URL}{opportunity.pk}/").json()["sync_state"] is None
    assert bob_api.get(f"{URL}{opportunity.pk}/").status_code == 404


def test_sync_states_cost_a_fixed_number_of_queries_per_page(alice, alice_api, opportunity_factory):
    default = _connection(alice.tenant)
    for n in range(8):
        _link(default, opportunity_factory(alice.tenant), salesforce_id=f"0060000000000{n:02d}AAA",
              last_synced_at=datetime.datetime.now(datetime.UTC))
    fan_out_pending(); OutboxEntry.objects.all().delete()  # as if the saves were pushed
    alice_api.get(URL)
    counts = []
    for page_size in (2, 8):
        with CaptureQueriesContext(connection) as queries:
            response = alice_api.get(URL, {"page_size": page_size})
        assert all(row["sync_state"]["state"] == "in_sync" for row in response.json()["results"])
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_creating_an_opportunity_through_the_api_costs_a_fixed_number_of_queries(
        alice, alice_api, connected, department_factory, django_capture_on_commit_callbacks):
    """A burst of API creates is bounded by the queries of one save. Pinned: the token, the
    department, the reference check, the opportunity and its change record (one savepoint: the
    test's transaction wraps the service's), the response's default connection, and the
    wake-up already pending — no second validation pass, no foreign-key re-checks, no locked
    wake-up, and no read of settings, links, queued rows or recorded changes for the answer's
    sync state (a record just created is pending: see the next test)."""
    department = department_factory(alice.tenant, "Health Canada")

    def create(reference: str):
        return alice_api.post(URL, {"title": "Lab equipment", "reference": reference, "value_min": "1000",
                                    "value_max": "2000", "closing_date": "2030-01-31", "department": department.pk,
                                    "status": "identified"}, format="json")

    with django_capture_on_commit_callbacks(execute=True):
        assert create("Q-1").status_code == 201  # token bookkeeping; asks for the fan-out
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        response = create("Q-2")

    assert response.status_code == 201, response.json()
    assert response.json()["sync_state"]["state"] == "pending" and response.json()["salesforce"] is None
    assert len(queries) == 9, "\n".join(q["sql"][:120] for q in queries.captured_queries)


@pytest.mark.parametrize("status", ["connected", "needs_reconnect", "disconnected"])
def test_the_answer_to_a_create_has_the_sync_state_a_read_computes(alice, alice_api, department_factory, status):
    """The create's answer skips the reads of links and queue; it must say what they would."""
    connection_ = _connection(alice.tenant)
    SalesforceConnection.objects.filter(pk=connection_.pk).update(status=status)
    department = department_factory(alice.tenant, "Health Canada")
    response = alice_api.post(URL, {"title": "Lab equipment", "reference": "Q-1", "value_min": "1000", "value_max": "2000",
                                    "closing_date": "2030-01-31", "department": department.pk}, format="json")
    assert response.status_code == 201, response.json()

    created = response.json()["sync_state"]
    read = alice_api.get(f"{URL}{response.json()['id']}/").json()["sync_state"]
    assert created["state"] == read["state"] == "pending"
    assert (created["label"], created["reason"], created["code"], created["hint"], created["action"]) == (
        read["label"], read["reason"], read["code"], read["hint"], read["action"])
    since_created = datetime.datetime.fromisoformat(created["since"])
    since_read = datetime.datetime.fromisoformat(read["since"])
    assert abs((since_read - since_created).total_seconds()) < 1


def test_the_answer_to_a_create_has_no_sync_state_without_a_connection(alice, alice_api):
    response = alice_api.post(URL, {"title": "Lab equipment", "reference": "Q-1"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["sync_state"] is None and response.json()["salesforce"] is None
