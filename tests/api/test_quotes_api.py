"""/api/v1/quotes/ (CRUD, nested line items, reorder), /api/v1/quote-custom-fields/ and
/api/v1/contacts/ (issue 18): exact totals, bad input refused with nothing written, roles, and
another tenant's ids answered like missing ones."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opportunities.models import Contact
from opportunities.numbers import QUOTE_LINES_MAX
from proposals.models import Quote, QuoteCustomField, QuoteLineItem
from tests.api.conftest import API, errors_of

QUOTES = f"{API}/quotes/"
FIELDS = f"{API}/quote-custom-fields/"
CONTACTS = f"{API}/contacts/"


@pytest.fixture
def quote_id(alice_api):
    response = alice_api.post(QUOTES, {"title": "Hosting", "line_items": [
        {"description": "Servers", "quantity": "3", "unit_price": "33.33", "discount_percent": "10", "tax_percent": "13"},
        {"description": "Setup", "kind": "product", "unit": "each", "unit_price": "100"}]}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _totals(body: dict) -> tuple:
    return body["subtotal"], body["discount_total"], body["tax_total"], body["total"]


def test_a_quote_carries_its_exact_totals_and_line_breakdown(alice_api, quote_id):
    body = alice_api.get(f"{QUOTES}{quote_id}/").json()
    assert _totals(body) == ("199.99", "10.00", "11.70", "201.69")
    first = body["line_items"][0]
    assert (first["gross"], first["discount"], first["amount"], first["tax"]) == ("99.99", "10.00", "89.99", "11.70")
    assert (body["line_items"][1]["kind"], body["line_items"][1]["unit"]) == ("product", "each")


def test_a_quote_is_patched_and_put_with_company_person_and_custom_values(alice, alice_api, quote_id, department_factory):
    company = department_factory(alice.tenant, "SSC")
    person = alice_api.post(CONTACTS, {"first_name": "Pat", "last_name": "Lee", "department": company.pk},
                            format="json").json()
    QuoteCustomField.objects.create(tenant=alice.tenant, label="Hours", key="hours", field_type="number")
    response = alice_api.patch(f"{QUOTES}{quote_id}/", {
        "company": company.pk, "person": person["id"], "valid_until": "2031-03-31", "status": "sent",
        "currency": "usd", "custom_values": {"hours": 12.5}}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["company"], body["person"], body["status"], body["currency"], body["custom_values"]) == (
        company.pk, person["id"], "sent", "USD", {"hours": "12.5"})
    assert _totals(body) == ("199.99", "10.00", "11.70", "201.69") and len(body["line_items"]) == 2
    put = alice_api.put(f"{QUOTES}{quote_id}/", {"title": "Renamed", "line_items": []}, format="json")
    assert put.status_code == 200, put.json()
    # Lines are not replaced by a PUT of the quote: they change through /line-items/.
    assert (put.json()["title"], len(put.json()["line_items"])) == ("Renamed", 2)


@pytest.mark.parametrize("body, field", [
    ({"currency": "dollars"}, "currency"),
    ({"status": "won"}, "status"),
    ({"title": ""}, "title"),
    ({"valid_until": "tomorrow"}, "valid_until"),
    ({"custom_values": {"nope": "1"}}, "custom_values"),
    ({"custom_values": "not an object"}, "custom_values"),
    ({"company": 987654321}, "company"),
    ({"person": "x"}, "person"),
])
def test_a_bad_quote_change_is_a_400_and_writes_nothing(alice_api, quote_id, body, field):
    before = Quote.objects.filter(pk=quote_id).values().get()
    assert field in errors_of(alice_api.patch(f"{QUOTES}{quote_id}/", body, format="json"))
    assert Quote.objects.filter(pk=quote_id).values().get() == before


def test_a_bad_custom_value_names_its_field(alice, alice_api, quote_id):
    QuoteCustomField.objects.create(tenant=alice.tenant, label="Hours", key="hours", field_type="number")
    errors = errors_of(alice_api.patch(f"{QUOTES}{quote_id}/", {"custom_values": {"hours": "lots"}}, format="json"))
    assert errors == {"custom_values": ["hours: Enter a number."]}


def test_line_items_are_read_changed_and_removed_one_by_one(alice_api, quote_id):
    lines = alice_api.get(f"{QUOTES}{quote_id}/line-items/").json()["results"]
    url = f"{QUOTES}{quote_id}/line-items/{lines[1]['id']}/"
    assert alice_api.get(url).json()["description"] == "Setup"
    patched = alice_api.patch(url, {"quantity": "2", "tax_percent": "5"}, format="json")
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["amount"], patched.json()["tax"], patched.json()["description"]) == ("200.00", "10.00", "Setup")
    assert _totals(alice_api.get(f"{QUOTES}{quote_id}/").json()) == ("299.99", "10.00", "21.70", "311.69")
    assert alice_api.put(url, {"description": "Install", "quantity": "1", "unit_price": "50"}, format="json").status_code == 200
    assert alice_api.get(f"{QUOTES}{quote_id}/").json()["total"] == "151.69"
    assert alice_api.delete(url).status_code == 204
    assert alice_api.get(url).status_code == 404
    assert _totals(alice_api.get(f"{QUOTES}{quote_id}/").json()) == ("99.99", "10.00", "11.70", "101.69")


@pytest.mark.parametrize("body, field", [
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "99999999999"}, "quantity"),
    ({"unit_price": "-1"}, "unit_price"),
    ({"unit_price": "1e20"}, "unit_price"),
    ({"discount_percent": "101"}, "discount_percent"),
    ({"tax_percent": "-1"}, "tax_percent"),
    ({"tax_percent": "NaN"}, "tax_percent"),
    ({"kind": "subscription"}, "kind"),
    ({"description": ""}, "description"),
    ({"quantity": "9999999999.99", "unit_price": "999999999999.99"}, "amount"),
])
def test_a_bad_line_change_is_a_400_and_the_totals_stay(alice_api, quote_id, body, field):
    line = alice_api.get(f"{QUOTES}{quote_id}/line-items/").json()["results"][0]
    before = (list(QuoteLineItem.objects.values()), Quote.objects.filter(pk=quote_id).values().get())
    assert field in errors_of(alice_api.patch(f"{QUOTES}{quote_id}/line-items/{line['id']}/", body, format="json"))
    assert field in errors_of(alice_api.post(f"{QUOTES}{quote_id}/line-items/", {"description": "x", **body},
                                             format="json")) or field == "description"
    assert (list(QuoteLineItem.objects.values()), Quote.objects.filter(pk=quote_id).values().get()) == before


def test_too_many_lines_in_a_new_quote_is_one_clear_error(alice_api):
    lines = [{"description": f"Line {n}"} for n in range(QUOTE_LINES_MAX + 1)]
    errors = errors_of(alice_api.post(QUOTES, {"title": "Huge", "line_items": lines}, format="json"))
    assert list(errors) == ["line_items"]
    assert (Quote.objects.count(), QuoteLineItem.objects.count()) == (0, 0)


def test_lines_are_reordered(alice_api, quote_id):
    ids = [line["id"] for line in alice_api.get(f"{QUOTES}{quote_id}/line-items/").json()["results"]]
    response = alice_api.post(f"{QUOTES}{quote_id}/line-items/reorder/", {"order": ids[::-1]}, format="json")
    assert response.status_code == 200, response.json()
    assert [(line["description"], line["position"]) for line in response.json()] == [("Setup", 0), ("Servers", 1)]
    assert errors_of(alice_api.post(f"{QUOTES}{quote_id}/line-items/reorder/", {"order": ids[:1]}, format="json")) == {
        "order": ["Give every line id of this quote exactly once."]}
    assert errors_of(alice_api.post(f"{QUOTES}{quote_id}/line-items/reorder/", {"order": "1,2"}, format="json"))


def test_another_tenants_line_cannot_be_named_under_your_quote(alice_api, bob_api, quote_id):
    bob_quote = bob_api.post(QUOTES, {"title": "Bob's", "line_items": [{"description": "Bob's line"}]}, format="json").json()
    bob_line = bob_quote["line_items"][0]["id"]
    assert alice_api.get(f"{QUOTES}{quote_id}/line-items/{bob_line}/").status_code == 404
    assert alice_api.delete(f"{QUOTES}{quote_id}/line-items/{bob_line}/").status_code == 404
    assert errors_of(alice_api.post(f"{QUOTES}{quote_id}/line-items/reorder/", {"order": [bob_line]}, format="json"))
    assert QuoteLineItem.objects.filter(pk=bob_line).exists()


# --- custom quote fields --------------------------------------------------------------------

def test_admins_manage_custom_fields_and_members_read_them(alice, api_as, alice_api):
    admin = api_as(alice.admin_membership)
    created = admin.post(FIELDS, {"label": "Contract vehicle", "field_type": "dropdown",
                                  "options": ["Standing offer", "Supply arrangement"]}, format="json")
    assert created.status_code == 201, created.json()
    field = created.json()
    assert (field["key"], field["position"]) == ("contract_vehicle", 0)
    assert alice_api.get(FIELDS).json()["results"][0]["label"] == "Contract vehicle"
    assert alice_api.post(FIELDS, {"label": "X", "field_type": "text"}, format="json").status_code == 403
    assert alice_api.delete(f"{FIELDS}{field['id']}/").status_code == 403
    patched = admin.patch(f"{FIELDS}{field['id']}/", {"label": "Vehicle", "key": "other", "field_type": "text"},
                          format="json")
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["label"], patched.json()["key"], patched.json()["field_type"]) == (
        "Vehicle", "contract_vehicle", "dropdown")
    assert admin.delete(f"{FIELDS}{field['id']}/").status_code == 204
    assert QuoteCustomField.objects.count() == 0


@pytest.mark.parametrize("body, field", [
    ({"label": "", "field_type": "text"}, "label"),
    ({"label": "X", "field_type": "colour"}, "field_type"),
    ({"label": "X", "field_type": "dropdown", "options": []}, "options"),
    ({"label": "X", "field_type": "dropdown", "options": "a,b"}, "options"),
    ({"label": "X", "field_type": "text", "key": "Bad Key"}, "key"),
])
def test_bad_custom_fields_are_400s_and_write_nothing(alice, api_as, body, field):
    assert field in errors_of(api_as(alice.admin_membership).post(FIELDS, body, format="json"))
    assert QuoteCustomField.objects.count() == 0


def test_another_tenants_custom_field_is_a_404_for_their_admin(alice_records, bob, api_as):
    bob_admin = api_as(bob.admin_membership)
    url = f"{FIELDS}{alice_records.custom_field.pk}/"
    assert [bob_admin.get(url).status_code, bob_admin.patch(url, {"label": "x"}, format="json").status_code,
            bob_admin.delete(url).status_code] == [404, 404, 404]
    assert QuoteCustomField.objects.get(pk=alice_records.custom_field.pk).label == "PO number"


# --- contacts (people) ----------------------------------------------------------------------

def test_contacts_are_created_changed_listed_and_deleted(alice, alice_api, department_factory):
    company = department_factory(alice.tenant, "SSC")
    created = alice_api.post(CONTACTS, {"first_name": "Pat", "last_name": "Lee", "email": "pat@example.gc.ca",
                                        "department": company.pk}, format="json")
    assert created.status_code == 201, created.json()
    contact = created.json()
    assert contact["name"] == "Pat Lee"
    patched = alice_api.patch(f"{CONTACTS}{contact['id']}/", {"job_title": "Buyer", "department": None}, format="json")
    assert (patched.json()["job_title"], patched.json()["department"]) == ("Buyer", None)
    assert [c["id"] for c in alice_api.get(CONTACTS, {"search": "lee"}).json()["results"]] == [contact["id"]]
    quote = alice_api.post(QUOTES, {"title": "For Pat", "person": contact["id"]}, format="json").json()
    assert alice_api.delete(f"{CONTACTS}{contact['id']}/").status_code == 204
    after = alice_api.get(f"{QUOTES}{quote['id']}/").json()
    assert (after["person"], after["contact_name"]) == (None, "Pat Lee")


@pytest.mark.parametrize("body, field", [
    ({"first_name": "No last name"}, "last_name"),
    ({"last_name": "L", "email": "not-an-email"}, "email"),
    ({"last_name": "L" * 81}, "last_name"),
    ({"last_name": "L", "department": 987654321}, "department"),
])
def test_bad_contacts_are_400s_and_write_nothing(alice_api, body, field):
    assert field in errors_of(alice_api.post(CONTACTS, body, format="json"))
    assert Contact.objects.count() == 0


def test_the_schema_documents_quotes_lines_fields_and_contacts(alice_api):
    paths = alice_api.get("/api/schema/?format=json").json()["paths"]
    assert set(paths["/api/v1/quotes/{id}/"]) >= {"get", "put", "patch", "delete"}
    assert set(paths["/api/v1/quotes/{id}/line-items/{line_pk}/"]) >= {"get", "put", "patch", "delete"}
    assert "post" in paths["/api/v1/quotes/{id}/line-items/reorder/"]
    assert set(paths["/api/v1/quote-custom-fields/{id}/"]) >= {"get", "patch", "delete"}
    assert set(paths["/api/v1/contacts/{id}/"]) >= {"get", "put", "patch", "delete"}


def test_a_quote_total_is_a_decimal_string_never_a_float(alice_api):
    body = alice_api.post(QUOTES, {"title": "Floats", "line_items": [
        {"description": "a", "quantity": "0.1", "unit_price": "0.10"},
        {"description": "b", "quantity": "0.2", "unit_price": "0.10"}]}, format="json").json()
    assert body["total"] == "0.03" and Quote.objects.get().total == Decimal("0.03")
