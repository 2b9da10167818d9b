"""/api/v1/proposals/ and /api/v1/quotes/."""

from __future__ import annotations

from decimal import Decimal

import pytest

from proposals.models import Proposal, ProposalSection, Quote, QuoteLineItem
from tests.api.conftest import API, errors_of

PROPOSALS = f"{API}/proposals/"
QUOTES = f"{API}/quotes/"


@pytest.fixture
def opportunity(alice, opportunity_factory):
    return opportunity_factory(alice.tenant)


# --- proposals -----------------------------------------------------------------------------

def test_a_proposal_is_created_with_its_sections_in_order(alice, alice_api, opportunity):
    response = alice_api.post(PROPOSALS, {
        "opportunity": opportunity.pk, "title": "Our bid",
        "sections": [{"title": "Summary", "body": "We are great."}, {"title": "Price"}],
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [(s["title"], s["body"], s["position"]) for s in body["sections"]] == [("Summary", "We are great.", 0), ("Price", "", 1)]
    assert (body["status"], body["document"], body["created_by"]) == ("draft", None, alice.member.pk)


def test_a_proposal_without_sections_gets_the_default_outline(alice, alice_api, opportunity):
    body = alice_api.post(PROPOSALS, {"opportunity": opportunity.pk, "title": "Our bid"}, format="json").json()
    assert [s["title"] for s in body["sections"]] == ["Executive Summary", "Technical Approach", "Team", "Pricing"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"title": "No opportunity"}, "opportunity"),
        ({"opportunity": "{opp}"}, "title"),
        ({"opportunity": "{opp}", "title": "T" * 256}, "title"),
        ({"opportunity": "{opp}", "title": "T", "sections": [{"body": "no title"}]}, "sections"),
        ({"opportunity": "{opp}", "title": "T", "sections": "not a list"}, "sections"),
    ],
)
def test_bad_proposals_are_400s_and_write_nothing(alice, alice_api, opportunity, body, field):
    body = {k: opportunity.pk if v == "{opp}" else v for k, v in body.items()}
    assert field in errors_of(alice_api.post(PROPOSALS, body, format="json"))
    assert (Proposal.objects.count(), ProposalSection.objects.count()) == (0, 0)


def test_put_replaces_title_status_and_sections(alice, alice_api, opportunity):
    proposal_id = alice_api.post(PROPOSALS, {"opportunity": opportunity.pk, "title": "Draft"}, format="json").json()["id"]
    response = alice_api.put(f"{PROPOSALS}{proposal_id}/", {
        "title": "Final", "status": "ready", "sections": [{"title": "Only section", "body": "All of it"}],
    }, format="json")
    assert response.status_code == 200, response.json()
    assert [s["title"] for s in response.json()["sections"]] == ["Only section"]
    proposal = Proposal.objects.get(pk=proposal_id)
    assert (proposal.title, proposal.status, proposal.sections.count()) == ("Final", "ready", 1)


def test_patch_without_sections_keeps_them(alice, alice_api, opportunity):
    proposal_id = alice_api.post(PROPOSALS, {"opportunity": opportunity.pk, "title": "Draft"}, format="json").json()["id"]
    response = alice_api.patch(f"{PROPOSALS}{proposal_id}/", {"title": "Renamed"}, format="json")
    assert (response.json()["title"], len(response.json()["sections"])) == ("Renamed", 4)
    assert "status" in errors_of(alice_api.patch(f"{PROPOSALS}{proposal_id}/", {"status": "lost"}, format="json"))


def test_generate_renders_the_pdf_and_marks_the_proposal_ready(alice, alice_api, opportunity):
    proposal_id = alice_api.post(PROPOSALS, {"opportunity": opportunity.pk, "title": "Our bid",
                                             "sections": [{"title": "Summary", "body": "Hello"}]}, format="json").json()["id"]
    response = alice_api.post(f"{PROPOSALS}{proposal_id}/generate/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ready" and body["generated_at"]
    assert body["document"] == f"http://testserver{PROPOSALS}{proposal_id}/document/"
    download = alice_api.get(body["document"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="our-bid.pdf"'
    assert b"".join(download.streaming_content)[:5] == b"%PDF-"


def test_the_document_is_a_404_until_generated_and_for_other_tenants(alice, alice_api, bob_api, opportunity):
    proposal_id = alice_api.post(PROPOSALS, {"opportunity": opportunity.pk, "title": "Draft"}, format="json").json()["id"]
    assert alice_api.get(f"{PROPOSALS}{proposal_id}/").json()["document"] is None
    assert alice_api.get(f"{PROPOSALS}{proposal_id}/document/").status_code == 404
    assert alice_api.post(f"{PROPOSALS}{proposal_id}/generate/").status_code == 200
    assert alice_api.get(f"{PROPOSALS}{proposal_id}/document/").status_code == 200
    assert bob_api.get(f"{PROPOSALS}{proposal_id}/document/").status_code == 404


def test_generate_without_sections_is_a_400(alice, alice_api, opportunity):
    proposal_id = alice_api.post(PROPOSALS, {"opportunity": opportunity.pk, "title": "Empty", "sections": []},
                                 format="json").json()["id"]
    errors = errors_of(alice_api.post(f"{PROPOSALS}{proposal_id}/generate/"))
    assert errors == {"sections": ["A proposal needs at least one section before it can be generated."]}
    proposal = Proposal.objects.get(pk=proposal_id)
    assert (proposal.status, proposal.document.name) == ("draft", "")


# --- quotes --------------------------------------------------------------------------------

def test_a_quote_is_created_with_line_items_and_its_total(alice, alice_api, opportunity):
    response = alice_api.post(QUOTES, {
        "title": "Hosting", "opportunity": opportunity.pk, "owner": alice.member.pk, "company_name": "SSC",
        "line_items": [{"description": "Servers", "quantity": "2", "unit_price": "1500.25"},
                       {"description": "Setup", "unit_price": "99.50"}],
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["number"], body["total"], body["currency"]) == ("Q-00001", "3100.00", "CAD")
    assert [(li["description"], li["amount"], li["position"]) for li in body["line_items"]] == [
        ("Servers", "3000.50", 0), ("Setup", "99.50", 1)]


def test_a_line_item_is_added_and_the_total_recomputed(alice, alice_api):
    quote_id = alice_api.post(QUOTES, {"title": "Hosting"}, format="json").json()["id"]
    response = alice_api.post(f"{QUOTES}{quote_id}/line-items/", {"description": "Support", "quantity": "3",
                                                                   "unit_price": "10"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["amount"] == "30.00"
    assert alice_api.get(f"{QUOTES}{quote_id}/").json()["total"] == "30.00"
    assert [li["description"] for li in alice_api.get(f"{QUOTES}{quote_id}/line-items/").json()["results"]] == ["Support"]


@pytest.mark.parametrize(
    "line, field",
    [({"description": "x", "quantity": "0"}, "quantity"), ({"description": "x", "quantity": "-2"}, "quantity"),
     ({"quantity": "1"}, "description"), ({"description": "x", "unit_price": "cheap"}, "unit_price"),
     ({"description": "d" * 501}, "description")],
)
def test_a_bad_line_item_is_a_400_and_the_total_stays(alice, alice_api, line, field):
    quote_id = alice_api.post(QUOTES, {"title": "Hosting"}, format="json").json()["id"]
    assert field in errors_of(alice_api.post(f"{QUOTES}{quote_id}/line-items/", line, format="json"))
    assert QuoteLineItem.objects.count() == 0
    assert Quote.objects.get(pk=quote_id).total == Decimal("0")


def test_a_bad_line_in_a_new_quote_creates_nothing(alice, alice_api):
    response = alice_api.post(QUOTES, {"title": "Hosting", "line_items": [
        {"description": "Fine", "quantity": "1"}, {"description": "Free lunch", "quantity": "0"}]}, format="json")
    assert errors_of(response) == {"line_items": ["Line 2, quantity: Quantity must be greater than zero."]}
    assert (Quote.objects.count(), QuoteLineItem.objects.count()) == (0, 0)


def test_a_duplicate_quote_number_is_a_400_on_number(alice, bob, alice_api, bob_api):
    assert alice_api.post(QUOTES, {"title": "A", "number": "Q-7"}, format="json").status_code == 201
    assert errors_of(alice_api.post(QUOTES, {"title": "B", "number": "Q-7"}, format="json")) == {
        "number": ["Another quote in this organization already has this number."]}
    assert bob_api.post(QUOTES, {"title": "B", "number": "Q-7"}, format="json").status_code == 201
    assert Quote.objects.filter(tenant=alice.tenant).count() == 1


def test_a_quote_owner_must_be_a_member(alice, bob, alice_api):
    errors = errors_of(alice_api.post(QUOTES, {"title": "A", "owner": bob.admin.pk}, format="json"))
    assert errors == {"owner": [f'Invalid pk "{bob.admin.pk}" - no member of this organization has this id.']}
    assert Quote.objects.count() == 0


def test_a_quote_is_edited_with_patch_and_deleted(alice, alice_api):
    # Editing and deleting arrived with issue 18 (before, both were 405); more in test_quotes_api.py.
    quote_id = alice_api.post(QUOTES, {"title": "A", "line_items": [{"description": "x", "unit_price": "5"}]},
                              format="json").json()["id"]
    response = alice_api.patch(f"{QUOTES}{quote_id}/", {"title": "B"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["title"], response.json()["total"]) == ("B", "5.00")
    assert alice_api.delete(f"{QUOTES}{quote_id}/").status_code == 204
    assert (Quote.objects.count(), QuoteLineItem.objects.count()) == (0, 0)
