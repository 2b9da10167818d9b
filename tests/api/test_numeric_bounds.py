"""Every number a tenant types has bounds that its column (PostgreSQL and SQLite) and its
Salesforce field can hold (opportunities/numbers.py): the largest value is accepted and reads
back exactly, one cent or one point more is a 400 on the field, and a refused write leaves
nothing behind. Rows stored before the bounds existed still load, and can be repaired."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from opportunities.models import Opportunity, Requirement
from opportunities.numbers import MONEY_MAX, QUANTITY_MAX, UNIT_PRICE_MAX, WEIGHT_MAX
from proposals.models import Quote, QuoteLineItem
from tests.api.conftest import API, errors_of

pytestmark = pytest.mark.django_db

OPPORTUNITIES = f"{API}/opportunities/"
QUOTES = f"{API}/quotes/"
# The value of issue #15: it fitted numeric(16,2), so it was accepted, and then every page that
# listed it was a 500 on SQLite.
ISSUE_VALUE = "99999999999999.99"


def _opportunity(api, **fields):
    return api.post(OPPORTUNITIES, {"title": "Bounds", **fields}, format="json")


# --- opportunities: value_min / value_max ------------------------------------------------------

@pytest.mark.parametrize("field", ["value_min", "value_max"])
def test_the_largest_value_is_accepted_and_reads_back_exactly(alice_api, field):
    response = _opportunity(alice_api, **{field: str(MONEY_MAX)})
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]

    assert alice_api.get(f"{OPPORTUNITIES}{pk}/").json()[field] == "9999999999999.99"
    listed = alice_api.get(OPPORTUNITIES).json()["results"]
    assert [o[field] for o in listed if o["id"] == pk] == ["9999999999999.99"]
    assert getattr(Opportunity.objects.get(pk=pk), field) == MONEY_MAX


@pytest.mark.parametrize("value", ["10000000000000", "10000000000000.00", ISSUE_VALUE, "1e20"])
@pytest.mark.parametrize("field", ["value_min", "value_max"])
def test_a_value_beyond_the_bound_is_a_field_error_and_saves_nothing(alice_api, field, value):
    before = Opportunity.objects.count()
    errors = errors_of(_opportunity(alice_api, **{field: value}))
    assert list(errors) == [field]
    assert Opportunity.objects.count() == before


def test_a_patch_beyond_the_bound_is_refused_and_the_record_is_unchanged(alice_api, alice, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    response = alice_api.patch(f"{OPPORTUNITIES}{opportunity.pk}/", {"value_max": ISSUE_VALUE}, format="json")
    assert list(errors_of(response)) == ["value_max"]
    opportunity.refresh_from_db()
    assert opportunity.value_max == Decimal("250000")


def test_the_schema_states_the_value_bound(alice_api):
    schema = alice_api.get("/api/schema/?format=json").json()
    value_min = schema["components"]["schemas"]["OpportunityRequest"]["properties"]["value_min"]
    # 13 digits before the point, 2 after: the pattern of numeric(15,2).
    assert value_min["pattern"] == r"^-?\d{0,13}(?:\.\d{0,2})?$"


# --- analyses and requirements -----------------------------------------------------------------

@pytest.mark.parametrize("weight, ok", [(0, True), (WEIGHT_MAX, True), (WEIGHT_MAX + 1, False), (40000, False), (-1, False)])
def test_a_requirement_weight_is_0_to_10000_points(alice_api, alice_records, weight, ok):
    url = f"{API}/analyses/{alice_records.analysis.pk}/requirements/"
    before = Requirement.objects.count()
    response = alice_api.post(url, {"text": "Rated: approach", "kind": "rated", "weight": weight}, format="json")
    if ok:
        assert response.status_code == 201, response.json()
        assert response.json()["weight"] == weight
    else:
        assert list(errors_of(response)) == ["weight"]
        assert Requirement.objects.count() == before


@pytest.mark.parametrize("score, ok", [(100, True), (101, False), (-1, False), (40000, False)])
def test_an_analysis_compliance_score_is_a_percentage(alice_api, alice_records, score, ok):
    response = alice_api.patch(f"{API}/analyses/{alice_records.analysis.pk}/", {"compliance_score": score}, format="json")
    if ok:
        assert response.status_code == 200, response.json()
    else:
        assert list(errors_of(response)) == ["compliance_score"]


# --- quotes: lines, amounts and totals ---------------------------------------------------------

def _quote(api, *lines):
    return api.post(QUOTES, {"title": "Bounds", "line_items": list(lines)}, format="json")


def test_a_line_at_the_largest_quantity_and_price_that_fit_a_total_is_accepted(alice_api):
    # 1 × 999,999,999,999.99 and 10 × 899,999,999,999.99: a total of 9,999,999,999,999.89.
    response = _quote(alice_api, {"description": "Top price", "quantity": "1", "unit_price": str(UNIT_PRICE_MAX)},
                      {"description": "Ten", "quantity": "10", "unit_price": "899999999999.99"})
    assert response.status_code == 201, response.json()
    quote = alice_api.get(f"{QUOTES}{response.json()['id']}/").json()
    assert quote["total"] == "9999999999999.89"
    assert [line["amount"] for line in quote["line_items"]] == ["999999999999.99", "8999999999999.90"]


@pytest.mark.parametrize("line, field", [
    ({"quantity": str(QUANTITY_MAX + Decimal("0.01"))}, "quantity"),
    ({"unit_price": str(UNIT_PRICE_MAX + Decimal("0.01"))}, "unit_price"),
    ({"unit_price": "-1"}, "unit_price"),
    ({"quantity": "0"}, "quantity"),
])
def test_a_line_beyond_its_column_is_refused_on_its_field(alice_api, line, field):
    before = (Quote.objects.count(), QuoteLineItem.objects.count())
    errors = errors_of(_quote(alice_api, {"description": "Bad", **line}))
    assert list(errors) == ["line_items"] and errors["line_items"][0].startswith(f"Line 1, {field}: ")
    assert (Quote.objects.count(), QuoteLineItem.objects.count()) == before


def test_a_line_whose_amount_overflows_is_refused_and_nothing_is_saved(alice_api):
    before = (Quote.objects.count(), QuoteLineItem.objects.count())
    # Each number fits its column; their product (about 10^22) fits no amount.
    errors = errors_of(_quote(alice_api, {"description": "Fine", "quantity": "1", "unit_price": "5"},
                              {"description": "Huge", "quantity": str(QUANTITY_MAX), "unit_price": str(UNIT_PRICE_MAX)}))
    assert errors == {"line_items": [
        "Line 2, amount: Quantity × unit price is 9,999,999,999,989,900,000,000.00; a line can be at most 9,999,999,999,999.99."]}
    assert (Quote.objects.count(), QuoteLineItem.objects.count()) == before


def test_a_quote_whose_total_overflows_is_refused_and_nothing_is_saved(alice_api):
    before = (Quote.objects.count(), QuoteLineItem.objects.count())
    line = {"description": "Half", "quantity": "6", "unit_price": "900000000000"}  # 5,400,000,000,000.00
    errors = errors_of(_quote(alice_api, line, line))
    assert errors == {"line_items": [
        "Line 2, total: With this line the quote total would be 10,800,000,000,000.00; "
        "a quote can total at most 9,999,999,999,999.99."]}
    assert (Quote.objects.count(), QuoteLineItem.objects.count()) == before
    assert alice_api.get(QUOTES).status_code == 200


def test_adding_a_line_that_overflows_the_total_leaves_the_quote_as_it_was(alice_api, alice_records):
    quote = alice_records.quote
    lines_before, total_before = quote.line_items.count(), Quote.objects.get(pk=quote.pk).total
    response = alice_api.post(f"{QUOTES}{quote.pk}/line-items/",
                              {"description": "Too much", "quantity": "10", "unit_price": str(UNIT_PRICE_MAX)}, format="json")
    assert list(errors_of(response)) == ["total"]
    assert quote.line_items.count() == lines_before
    assert Quote.objects.get(pk=quote.pk).total == total_before
    assert alice_api.get(f"{QUOTES}{quote.pk}/").status_code == 200


# --- rows stored before the bounds existed -----------------------------------------------------

@pytest.fixture
def legacy_opportunity(alice, opportunity_factory):
    """An opportunity whose values were accepted before the bounds (written around the services,
    as the old code let them through)."""
    opportunity = opportunity_factory(alice.tenant, title="Legacy giant", reference="LEGACY-1")
    Opportunity.objects.filter(pk=opportunity.pk).update(value_min=Decimal(ISSUE_VALUE), value_max=Decimal(ISSUE_VALUE))
    return opportunity


def test_an_out_of_range_row_does_not_break_the_api(alice_api, legacy_opportunity):
    listed = alice_api.get(OPPORTUNITIES)
    assert listed.status_code == 200
    detail = alice_api.get(f"{OPPORTUNITIES}{legacy_opportunity.pk}/")
    assert detail.status_code == 200
    # PostgreSQL kept every digit; SQLite kept 15 significant ones (a float), rounded up.
    assert detail.json()["value_max"] in (ISSUE_VALUE, "100000000000000.00")


def test_an_out_of_range_row_does_not_break_the_pages(web_as, alice, legacy_opportunity):
    client = web_as(alice.member)
    for name in ("opportunities:list", "opportunities:detail", "opportunities:edit"):
        args = [] if name == "opportunities:list" else [legacy_opportunity.pk]
        response = client.get(reverse(name, args=args))
        assert response.status_code == 200, name
        assert "Legacy giant" in response.content.decode()


def test_an_out_of_range_row_can_be_repaired_with_patch(alice_api, legacy_opportunity):
    url = f"{OPPORTUNITIES}{legacy_opportunity.pk}/"
    # Any other change names the values to fix (400, not 500)...
    assert set(errors_of(alice_api.patch(url, {"title": "Renamed"}, format="json"))) == {"value_min", "value_max"}
    # ...and fixing them saves.
    response = alice_api.patch(url, {"value_min": "100000", "value_max": "250000"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["value_min"], response.json()["value_max"]) == ("100000.00", "250000.00")


def test_an_out_of_range_row_can_be_deleted(alice_api, legacy_opportunity):
    assert alice_api.delete(f"{OPPORTUNITIES}{legacy_opportunity.pk}/").status_code == 204
    assert not Opportunity.objects.filter(pk=legacy_opportunity.pk).exists()


def test_an_out_of_range_row_does_not_break_the_dry_run(web_as, alice, legacy_opportunity):
    from integrations import connections as svc

    connection = svc.connection_create(tenant=alice.tenant, name="Production", client_id="APPKEY123",
                                       client_secret="s3cret-app", actor=alice.admin)
    response = web_as(alice.admin).get(reverse("integrations:dry_run", args=[connection.pk]),
                                       {"opportunity": legacy_opportunity.pk})
    assert response.status_code == 200
    assert "LEGACY-1" in response.content.decode()


def test_an_out_of_range_quote_total_does_not_break_the_quote_list(alice_api, alice_records):
    Quote.objects.filter(pk=alice_records.quote.pk).update(total=Decimal(ISSUE_VALUE))
    assert alice_api.get(QUOTES).status_code == 200
    assert alice_api.get(f"{QUOTES}{alice_records.quote.pk}/").status_code == 200


# --- counts stored in small-integer positions ---------------------------------------------------

def test_a_quote_takes_at_most_500_lines(alice_api, alice, alice_records):
    quote = alice_records.quote
    QuoteLineItem.objects.bulk_create([QuoteLineItem(tenant=alice.tenant, quote=quote, description=f"Line {n}",
                                                     quantity=1, unit_price=0, position=n) for n in range(1, 500)])
    assert quote.line_items.count() == 500
    response = alice_api.post(f"{QUOTES}{quote.pk}/line-items/", {"description": "One more"}, format="json")
    assert errors_of(response) == {"line_items": ["A quote can have at most 500 lines."]}
    assert quote.line_items.count() == 500


@pytest.mark.parametrize("method", ["post", "put"])
def test_a_proposal_takes_at_most_50_sections(alice_api, alice_records, method):
    from proposals.models import Proposal, ProposalSection

    sections = [{"title": f"Section {n}", "body": ""} for n in range(51)]
    before = (Proposal.objects.count(), ProposalSection.objects.count())
    if method == "post":
        response = alice_api.post(f"{API}/proposals/", {"opportunity": alice_records.opportunity.pk, "title": "Long",
                                                        "sections": sections}, format="json")
    else:
        response = alice_api.put(f"{API}/proposals/{alice_records.proposal.pk}/",
                                 {"title": "Long", "status": "draft", "sections": sections}, format="json")
    assert list(errors_of(response)) == ["sections"]
    assert (Proposal.objects.count(), ProposalSection.objects.count()) == before


def test_the_services_refuse_more_than_50_sections_too(alice, alice_records):
    from django.core.exceptions import ValidationError

    from proposals.services import proposal_create, proposal_update

    sections = [{"title": f"Section {n}"} for n in range(51)]
    with pytest.raises(ValidationError):
        proposal_create(tenant=alice.tenant, opportunity=alice_records.opportunity, title="Long", sections=sections)
    with pytest.raises(ValidationError):
        proposal_update(tenant=alice.tenant, proposal=alice_records.proposal, data={"title": "Changed"}, sections=sections)
    alice_records.proposal.refresh_from_db()
    assert alice_records.proposal.title != "Changed"
