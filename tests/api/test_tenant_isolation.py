"""bob's tokens must never reach alice's records: another tenant's id is a 404, exactly like an
id that does not exist, on every method and action; lists never include the other tenant."""

from __future__ import annotations

import pytest

from opportunities.models import BidAnalysis, Comment, Contact, Opportunity, Requirement
from proposals.models import Proposal, Quote, QuoteLineItem
from tests.api.conftest import API, errors_of

MISSING_ID = 987654321

# (url template, {method: body}) for every detail and action endpoint. Bodies are valid, so a
# 404 can only come from the lookup.
DETAIL_ENDPOINTS = [
    ("opportunities/{opportunity}/", {
        "get": None,
        "patch": {"title": "Hijacked"},
        "put": {"title": "Hijacked", "reference": "HIJACK-1"},
        "delete": None,
    }),
    ("opportunities/{opportunity}/comments/", {"get": None, "post": {"body": "Hijacked"}}),
    ("analyses/{analysis}/", {
        "get": None,
        "patch": {"summary": "Hijacked"},
        "put": {"summary": "Hijacked", "compliance_score": 1},
    }),
    ("analyses/{analysis}/complete/", {"post": {"compliance_score": 1}}),
    ("analyses/{analysis}/requirements/", {"get": None, "post": {"text": "Hijacked", "kind": "rated"}}),
    ("proposals/{proposal}/", {
        "get": None,
        "patch": {"title": "Hijacked"},
        "put": {"title": "Hijacked", "sections": []},
    }),
    ("proposals/{proposal}/generate/", {"post": None}),
    ("quotes/{quote}/", {
        "get": None,
        "patch": {"title": "Hijacked"},
        "put": {"title": "Hijacked"},
        "delete": None,
    }),
    ("quotes/{quote}/line-items/", {"get": None, "post": {"description": "Hijacked", "quantity": "1", "unit_price": "1"}}),
    ("quotes/{quote}/line-items/{quote_line}/", {
        "get": None,
        "patch": {"quantity": "9"},
        "put": {"description": "Hijacked", "quantity": "9", "unit_price": "9"},
        "delete": None,
    }),
    # Writes need the admin role (bob's member would be a 403 before any lookup): tested with
    # bob's admin in tests/api/test_quotes_api.py.
    ("quote-custom-fields/{custom_field}/", {"get": None}),
    ("contacts/{contact}/", {
        "get": None,
        "patch": {"last_name": "Hijacked"},
        "put": {"last_name": "Hijacked"},
        "delete": None,
    }),
    ("departments/{department}/", {
        "get": None,
        "patch": {"name": "Hijacked"},
        "put": {"name": "Hijacked"},
    }),
    ("comments/{comment}/", {"get": None}),
]

CASES = [(template, method, body) for template, methods in DETAIL_ENDPOINTS for method, body in methods.items()]
ALL_METHODS = ["get", "post", "put", "patch", "delete"]


def _ids(records) -> dict[str, int]:
    return {
        "opportunity": records.opportunity.pk, "analysis": records.analysis.pk, "proposal": records.proposal.pk,
        "quote": records.quote.pk, "department": records.department.pk, "comment": records.comment.pk,
        "quote_line": records.quote_line.pk, "custom_field": records.custom_field.pk, "contact": records.contact.pk,
    }


def _call(client, method: str, url: str, body):
    return getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)


@pytest.mark.parametrize("template, method, body", CASES, ids=[f"{m.upper()} {t}" for t, m, _ in CASES])
def test_another_tenants_record_is_404_and_left_untouched(template, method, body, alice_records, bob_api, bob_records):
    url = f"{API}/" + template.format(**_ids(alice_records))
    before = (
        Opportunity.objects.filter(pk=alice_records.opportunity.pk).values("title", "reference", "updated_at").first(),
        BidAnalysis.objects.filter(pk=alice_records.analysis.pk).values("summary", "status", "updated_at").first(),
        Proposal.objects.filter(pk=alice_records.proposal.pk).values("title", "status", "updated_at").first(),
        Comment.objects.count(), Requirement.objects.count(), QuoteLineItem.objects.count(),
        Quote.objects.filter(pk=alice_records.quote.pk).values("title", "total", "updated_at").first(),
        Contact.objects.filter(pk=alice_records.contact.pk).values("last_name", "updated_at").first(),
    )

    response = _call(bob_api, method, url, body)

    assert response.status_code == 404, (response.status_code, response.content)
    assert response.json()["code"] == "not_found"
    after = (
        Opportunity.objects.filter(pk=alice_records.opportunity.pk).values("title", "reference", "updated_at").first(),
        BidAnalysis.objects.filter(pk=alice_records.analysis.pk).values("summary", "status", "updated_at").first(),
        Proposal.objects.filter(pk=alice_records.proposal.pk).values("title", "status", "updated_at").first(),
        Comment.objects.count(), Requirement.objects.count(), QuoteLineItem.objects.count(),
        Quote.objects.filter(pk=alice_records.quote.pk).values("title", "total", "updated_at").first(),
        Contact.objects.filter(pk=alice_records.contact.pk).values("last_name", "updated_at").first(),
    )
    assert after == before


@pytest.mark.parametrize("template, method, body", CASES, ids=[f"{m.upper()} {t}" for t, m, _ in CASES])
def test_the_owner_reaches_the_same_endpoints(template, method, body, alice_records, alice_api):
    # The other side of the test above: the 404s are not because the endpoints are broken.
    if method == "delete":
        body = None
    response = _call(alice_api, method, f"{API}/" + template.format(**_ids(alice_records)), body)
    assert response.status_code in (200, 201, 204), (response.status_code, response.content)


@pytest.mark.parametrize("template", [t for t, _ in DETAIL_ENDPOINTS])
@pytest.mark.parametrize("method", ALL_METHODS)
def test_another_tenants_id_answers_like_a_missing_id(template, method, alice_records, bob_api, bob_records):
    # Also for methods an endpoint does not allow (405): nothing tells bob that alice's id exists.
    body = {"title": "x"} if method in ("post", "put", "patch") else None
    foreign = _call(bob_api, method, f"{API}/" + template.format(**_ids(alice_records)), body)
    missing = _call(bob_api, method, f"{API}/" + template.format(**{k: MISSING_ID for k in _ids(alice_records)}), body)
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())


@pytest.mark.parametrize(
    "path, key",
    [
        ("opportunities/", "opportunity"), ("analyses/", "analysis"), ("proposals/", "proposal"),
        ("quotes/", "quote"), ("departments/", "department"), ("comments/", "comment"),
        ("quote-custom-fields/", "custom_field"), ("contacts/", "contact"),
    ],
)
def test_lists_contain_only_the_callers_tenant(path, key, alice_records, bob_records, bob_api):
    response = bob_api.get(f"{API}/{path}")
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {_ids(bob_records)[key]}


@pytest.mark.parametrize(
    "path",
    [
        "analyses/?opportunity={opportunity}", "proposals/?opportunity={opportunity}", "quotes/?opportunity={opportunity}",
        "comments/?opportunity={opportunity}", "opportunities/?department={department}",
        "quotes/?company={department}", "quotes/?person={contact}", "contacts/?department={department}",
    ],
)
def test_filtering_by_another_tenants_id_finds_nothing(path, alice_records, bob_records, bob_api):
    response = bob_api.get(f"{API}/" + path.format(**_ids(alice_records)))
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_search_never_finds_another_tenants_opportunity(alice_records, bob_records, bob_api):
    response = bob_api.get(f"{API}/opportunities/", {"search": "ALICE-001"})
    assert response.json()["count"] == 0


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("opportunities/", {"title": "T", "reference": "B-9", "department": "{department}"}, "department"),
        ("analyses/", {"opportunity": "{opportunity}"}, "opportunity"),
        ("proposals/", {"opportunity": "{opportunity}", "title": "P"}, "opportunity"),
        ("quotes/", {"title": "Q", "opportunity": "{opportunity}"}, "opportunity"),
        ("quotes/", {"title": "Q", "company": "{department}"}, "company"),
        ("quotes/", {"title": "Q", "person": "{contact}"}, "person"),
        ("contacts/", {"last_name": "L", "department": "{department}"}, "department"),
    ],
)
def test_another_tenants_id_in_a_foreign_key_is_a_400_that_leaks_nothing(path, body, field, alice_records, bob_api):
    ids = _ids(alice_records)
    payload = {k: (ids[v.strip("{}")] if isinstance(v, str) and v.startswith("{") else v) for k, v in body.items()}
    counts = (Opportunity.objects.count(), BidAnalysis.objects.count(), Proposal.objects.count())

    response = bob_api.post(f"{API}/{path}", payload, format="json")

    errors = errors_of(response)
    assert errors[field] == [f'Invalid pk "{payload[field]}" - object does not exist.']
    assert "alice" not in response.content.decode().lower()
    assert (Opportunity.objects.count(), BidAnalysis.objects.count(), Proposal.objects.count()) == counts


def test_a_user_of_another_tenant_cannot_be_assignee(alice, bob, alice_api):
    response = alice_api.post(f"{API}/opportunities/", {"title": "T", "reference": "R-1", "assignee": bob.member.pk},
                              format="json")
    assert errors_of(response)["assignee"] == [f'Invalid pk "{bob.member.pk}" - no member of this organization has this id.']
    assert not Opportunity.objects.filter(reference="R-1").exists()


def test_moving_an_opportunity_to_another_tenants_department_is_refused(alice_records, bob_records, bob_api):
    response = bob_api.patch(f"{API}/opportunities/{bob_records.opportunity.pk}/",
                             {"department": alice_records.department.pk}, format="json")
    assert "department" in errors_of(response)
    bob_records.opportunity.refresh_from_db()
    assert bob_records.opportunity.department_id == bob_records.department.pk
