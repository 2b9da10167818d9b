"""A quote's Salesforce opportunity id is link state (sync_engine): /api/v1/quotes/ reads it from
the quote's link in the tenant's default connection, or from the id held while the tenant has
no default connection."""

from __future__ import annotations

from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from integrations.models import SalesforceConnection
from proposals.services import quote_create
from sync_engine.models import HeldLink, LinkStatus, RecordType, SyncLink
from tests.api.conftest import API

QUOTES = f"{API}/quotes/"


def _connection(tenant, name="Production", *, is_default=True):
    return SalesforceConnection.objects.create(tenant=tenant, name=name, login_url="https://login.salesforce.com",
                                               instance_url=f"https://{name.lower()}.my.salesforce.com",
                                               is_default=is_default)


def _link(connection, quote, salesforce_id):
    return SyncLink.objects.create(tenant=connection.tenant, connection=connection, record_type=RecordType.QUOTE,
                                   record_id=quote.pk, sobject="Opportunity", salesforce_id=salesforce_id,
                                   status=LinkStatus.SYNCED)


def test_a_quote_shows_the_salesforce_opportunity_of_its_link_in_the_default_connection(alice, alice_api):
    quote = quote_create(tenant=alice.tenant, title="Pricing")
    _link(_connection(alice.tenant), quote, "006000000000001AAA")
    _link(_connection(alice.tenant, "Sandbox", is_default=False), quote, "006000000000999AAA")

    assert alice_api.get(f"{QUOTES}{quote.pk}/").json()["salesforce_opportunity_id"] == "006000000000001AAA"
    assert alice_api.get(QUOTES).json()["results"][0]["salesforce_opportunity_id"] == "006000000000001AAA"


def test_a_quote_without_a_link_in_the_default_connection_has_an_empty_id(alice, alice_api):
    quote = quote_create(tenant=alice.tenant, title="Pricing")
    _link(_connection(alice.tenant, "Sandbox", is_default=False), quote, "006000000000999AAA")
    assert alice_api.get(f"{QUOTES}{quote.pk}/").json()["salesforce_opportunity_id"] == ""


def test_a_held_id_is_shown_while_the_tenant_has_no_default_connection(alice, alice_api):
    quote = quote_create(tenant=alice.tenant, title="Pricing")
    HeldLink.objects.create(tenant=alice.tenant, record_type=RecordType.QUOTE, record_id=quote.pk,
                            sobject="Opportunity", salesforce_id="006000000000HELDAA")
    assert alice_api.get(f"{QUOTES}{quote.pk}/").json()["salesforce_opportunity_id"] == "006000000000HELDAA"


def test_another_tenants_link_or_held_id_for_the_same_record_id_is_never_shown(alice, alice_api, bob):
    quote = quote_create(tenant=alice.tenant, title="Pricing")
    bobs = _connection(bob.tenant)
    SyncLink.objects.create(tenant=bob.tenant, connection=bobs, record_type=RecordType.QUOTE, record_id=quote.pk,
                            sobject="Opportunity", salesforce_id="006BOB00000000001")
    HeldLink.objects.create(tenant=bob.tenant, record_type=RecordType.QUOTE, record_id=quote.pk,
                            sobject="Opportunity", salesforce_id="006BOB00000000002")
    assert alice_api.get(f"{QUOTES}{quote.pk}/").json()["salesforce_opportunity_id"] == ""


def test_the_id_cannot_be_set_through_the_api(alice, alice_api):
    response = alice_api.post(QUOTES, {"title": "Pricing", "salesforce_opportunity_id": "006000000000001AAA"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["salesforce_opportunity_id"] == ""
    assert not SyncLink.objects.exists() and not HeldLink.objects.exists()


def test_the_salesforce_ids_of_a_page_cost_the_same_queries_whatever_its_size(alice, alice_api):
    default = _connection(alice.tenant)
    for n in range(8):
        _link(default, quote_create(tenant=alice.tenant, title=f"Pricing {n}"), f"0060000000000{n:02d}AAA")
    alice_api.get(QUOTES)  # token bookkeeping happens on the first call

    counts = []
    for page_size in (2, 8):
        with CaptureQueriesContext(db_connection) as queries:
            rows = alice_api.get(QUOTES, {"page_size": page_size}).json()["results"]
        assert all(row["salesforce_opportunity_id"].startswith("006") for row in rows)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
