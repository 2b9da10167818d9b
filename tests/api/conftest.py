"""Fixtures of the API tests: token clients per role, and one record of every kind in a tenant."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

API = "/api/v1"


@pytest.fixture
def alice_api(alice, api_as):
    """alice's bid manager (member role) over a token."""
    return api_as(alice.member_membership)


@pytest.fixture
def bob_api(bob, api_as):
    """bob's bid manager (member role): may write, but only in bob's tenant."""
    return api_as(bob.member_membership)


@dataclass
class Records:
    department: object
    opportunity: object
    analysis: object
    requirement: object
    comment: object
    proposal: object
    quote: object
    # Issue 18: a quote's line, a custom quote field and a contact (person).
    quote_line: object = None
    custom_field: object = None
    contact: object = None


def make_records(world, department_factory, opportunity_factory) -> Records:
    from opportunities.services import analysis_create, comment_create, requirement_add
    from proposals.services import quote_create_with_lines, proposal_create

    tenant = world.tenant
    department = department_factory(tenant, f"Department of {tenant.slug}")
    opportunity = opportunity_factory(tenant, department=department, reference=f"{tenant.slug.upper()}-001")
    analysis = analysis_create(tenant=tenant, opportunity=opportunity, summary="Fits our profile.")
    requirement = requirement_add(tenant=tenant, analysis=analysis, text="ISO 9001 certified", kind="mandatory")
    comment = comment_create(tenant=tenant, opportunity=opportunity, author=world.member, body="Looks promising.")
    proposal = proposal_create(tenant=tenant, opportunity=opportunity, title=f"Proposal of {tenant.slug}")
    quote = quote_create_with_lines(
        tenant=tenant, title=f"Quote of {tenant.slug}", opportunity=opportunity,
        line_items=[{"description": "Hosting", "quantity": 2, "unit_price": 100}],
    )
    from opportunities.services import contact_create
    from proposals.quote_custom_fields import quote_custom_field_create

    custom_field = quote_custom_field_create(tenant=tenant, label="PO number", field_type="text")
    contact = contact_create(tenant=tenant, first_name="Pat", last_name=f"Buyer of {tenant.slug}", department=department)
    return Records(department, opportunity, analysis, requirement, comment, proposal, quote,
                   quote_line=quote.line_items.get(), custom_field=custom_field, contact=contact)


@pytest.fixture
def alice_records(alice, department_factory, opportunity_factory) -> Records:
    return make_records(alice, department_factory, opportunity_factory)


@pytest.fixture
def bob_records(bob, department_factory, opportunity_factory) -> Records:
    return make_records(bob, department_factory, opportunity_factory)


def errors_of(response) -> dict:
    """The field errors of a validation failure, after checking the error shape."""
    assert response.status_code == 400, (response.status_code, getattr(response, "data", response.content))
    body = response.json()
    assert body["detail"] == "Validation failed.", body
    return body["errors"]


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Generated PDFs go to a throwaway folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


