"""/api/v1/analyses/: start, edit and complete a bid analysis; its requirements."""

from __future__ import annotations

import pytest

from opportunities.models import BidAnalysis, Requirement
from tests.api.conftest import API, errors_of

URL = f"{API}/analyses/"


@pytest.fixture
def opportunity(alice, opportunity_factory):
    return opportunity_factory(alice.tenant)


@pytest.fixture
def analysis(alice, opportunity):
    from opportunities.services import analysis_create

    return analysis_create(tenant=alice.tenant, opportunity=opportunity, summary="First pass")


def test_starting_an_analysis_marks_the_opportunity_in_progress(alice, alice_api, opportunity):
    response = alice_api.post(URL, {"opportunity": opportunity.pk, "summary": "Strong fit", "compliance_score": 70},
                              format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["summary"], body["requirements"], body["created_by"]) == (
        "in_progress", "Strong fit", [], alice.member.pk)
    opportunity.refresh_from_db()
    assert opportunity.analysis_status == "in_progress"


def test_an_analysis_needs_an_opportunity(alice, alice_api):
    assert errors_of(alice_api.post(URL, {"summary": "x"}, format="json")) == {"opportunity": ["This field is required."]}
    assert BidAnalysis.objects.count() == 0


def test_patch_and_put_edit_an_analysis_but_never_move_it(alice, alice_api, analysis, opportunity_factory):
    elsewhere = opportunity_factory(alice.tenant)
    response = alice_api.patch(f"{URL}{analysis.pk}/", {"risks": "Tight deadline", "opportunity": elsewhere.pk}, format="json")
    assert response.status_code == 200
    response = alice_api.put(f"{URL}{analysis.pk}/", {"summary": "Second pass", "recommendation": "Bid"}, format="json")
    assert response.status_code == 200
    analysis.refresh_from_db()
    assert (analysis.summary, analysis.risks, analysis.recommendation) == ("Second pass", "Tight deadline", "Bid")
    assert analysis.opportunity_id != elsewhere.pk


@pytest.mark.parametrize(
    "body, field",
    [({"compliance_score": 101}, "compliance_score"), ({"compliance_score": "high"}, "compliance_score"),
     ({"summary": "x" * 32001}, "summary"), ({"recommendation": "r" * 256}, "recommendation")],
)
def test_bad_analysis_fields_are_400s_and_write_nothing(alice, alice_api, analysis, body, field):
    assert field in errors_of(alice_api.patch(f"{URL}{analysis.pk}/", body, format="json"))
    analysis.refresh_from_db()
    assert (analysis.summary, analysis.compliance_score) == ("First pass", None)


def test_completing_rolls_the_compliance_score_up_to_the_opportunity(alice, alice_api, analysis, opportunity):
    response = alice_api.post(f"{URL}{analysis.pk}/complete/", {"compliance_score": 85, "recommendation": "Pursue"},
                              format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["compliance_score"]) == ("completed", 85)
    assert response.json()["completed_at"]
    opportunity.refresh_from_db()
    assert (opportunity.compliance_score, opportunity.analysis_status) == (85, "complete")
    assert opportunity.last_analyzed_at is not None
    shown = alice_api.get(f"{API}/opportunities/{opportunity.pk}/").json()
    assert (shown["compliance_score"], shown["analysis_status"]) == (85, "complete")


def test_completing_without_a_body_keeps_the_analysis_score(alice, alice_api, analysis, opportunity):
    alice_api.patch(f"{URL}{analysis.pk}/", {"compliance_score": 60}, format="json")
    assert alice_api.post(f"{URL}{analysis.pk}/complete/").status_code == 200
    opportunity.refresh_from_db()
    assert opportunity.compliance_score == 60


def test_completing_twice_is_a_400(alice, alice_api, analysis):
    alice_api.post(f"{URL}{analysis.pk}/complete/", {}, format="json")
    errors = errors_of(alice_api.post(f"{URL}{analysis.pk}/complete/", {}, format="json"))
    assert errors == {"status": ["This analysis is already completed."]}


def test_completing_with_a_bad_score_changes_nothing(alice, alice_api, analysis, opportunity):
    assert "compliance_score" in errors_of(alice_api.post(f"{URL}{analysis.pk}/complete/", {"compliance_score": 150},
                                                          format="json"))
    analysis.refresh_from_db()
    opportunity.refresh_from_db()
    assert (analysis.status, opportunity.analysis_status, opportunity.compliance_score) == ("in_progress", "in_progress", None)


def test_requirements_are_added_and_listed(alice, alice_api, analysis):
    url = f"{URL}{analysis.pk}/requirements/"
    response = alice_api.post(url, {"code": "M1", "text": "Security clearance", "kind": "mandatory",
                                    "capability_match": "met"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["analysis"] == analysis.pk
    alice_api.post(url, {"code": "R1", "text": "Experience", "kind": "rated", "weight": 20}, format="json")
    listed = alice_api.get(url).json()
    assert [row["code"] for row in listed["results"]] == ["M1", "R1"]
    assert [row["code"] for row in alice_api.get(f"{URL}{analysis.pk}/").json()["requirements"]] == ["M1", "R1"]


@pytest.mark.parametrize(
    "body, field",
    [({"text": "x"}, "kind"), ({"kind": "mandatory"}, "text"), ({"text": "x", "kind": "optional"}, "kind"),
     ({"text": "x", "kind": "rated", "weight": -1}, "weight"), ({"text": "x", "kind": "rated", "code": "C" * 31}, "code")],
)
def test_bad_requirements_are_400s(alice, alice_api, analysis, body, field):
    assert field in errors_of(alice_api.post(f"{URL}{analysis.pk}/requirements/", body, format="json"))
    assert Requirement.objects.count() == 0


def test_analyses_filter_by_opportunity_and_status(alice, alice_api, analysis, opportunity_factory):
    from opportunities.services import analysis_create

    other = analysis_create(tenant=alice.tenant, opportunity=opportunity_factory(alice.tenant))
    alice_api.post(f"{URL}{other.pk}/complete/", {}, format="json")
    assert [r["id"] for r in alice_api.get(URL, {"opportunity": analysis.opportunity_id}).json()["results"]] == [analysis.pk]
    assert [r["id"] for r in alice_api.get(URL, {"status": "completed"}).json()["results"]] == [other.pk]
