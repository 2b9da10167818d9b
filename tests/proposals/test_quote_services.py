"""proposals/quote_services.py and quote_totals.py: exact totals, every bound checked before
anything is written, lines reordered, the tenant's records only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from opportunities.numbers import QUANTITY_MAX, QUOTE_LINES_MAX, UNIT_PRICE_MAX
from opportunities.services import contact_create
from proposals import quote_services
from proposals.models import Quote, QuoteLineItem


def _state(quote: Quote) -> tuple:
    quote.refresh_from_db()
    lines = list(quote.line_items.values_list("description", "quantity", "unit_price", "discount_percent",
                                               "tax_percent", "position"))
    return (quote.subtotal, quote.discount_total, quote.tax_total, quote.total, lines)


@pytest.fixture
def quote(alice):
    return quote_services.quote_create(tenant=alice.tenant, title="Hosting")


def test_totals_are_exact_per_line_rounding_then_sums(alice, quote):
    # 3 × 33.33 = 99.99; 10% off = 9.999 → 10.00; net 89.99; 13% tax = 11.6987 → 11.70.
    quote_services.quote_line_add(tenant=alice.tenant, quote=quote, description="A", quantity=Decimal("3"),
                                  unit_price=Decimal("33.33"), discount_percent=Decimal("10"), tax_percent=Decimal("13"))
    # 0.1 × 0.1 would be 0.010000000000000002 in floats; here 0.01, with 5% tax 0.0005 → 0.00.
    quote_services.quote_line_add(tenant=alice.tenant, quote=quote, description="B", quantity=Decimal("0.1"),
                                  unit_price=Decimal("0.10"), tax_percent=Decimal("5"))
    quote.refresh_from_db()
    assert (quote.subtotal, quote.discount_total, quote.tax_total, quote.total) == (
        Decimal("100.00"), Decimal("10.00"), Decimal("11.70"), Decimal("101.70"))


def test_half_cents_round_up_on_each_line(alice, quote):
    # 0.05 × 10% = 0.005 → 0.01 (half-up, not banker's 0.00).
    quote_services.quote_line_add(tenant=alice.tenant, quote=quote, description="A", quantity=Decimal("1"),
                                  unit_price=Decimal("0.05"), discount_percent=Decimal("10"))
    quote.refresh_from_db()
    assert (quote.discount_total, quote.total) == (Decimal("0.01"), Decimal("0.04"))


def test_updating_and_removing_lines_recomputes_every_total(alice, quote):
    first = quote_services.quote_line_add(tenant=alice.tenant, quote=quote, description="A", quantity=Decimal("2"),
                                          unit_price=Decimal("50"))
    second = quote_services.quote_line_add(tenant=alice.tenant, quote=quote, description="B", unit_price=Decimal("10"))
    quote_services.quote_line_update(tenant=alice.tenant, line=first, data={"tax_percent": Decimal("15"),
                                                                             "discount_percent": Decimal("50")})
    quote.refresh_from_db()
    assert (quote.subtotal, quote.discount_total, quote.tax_total, quote.total) == (
        Decimal("110.00"), Decimal("50.00"), Decimal("7.50"), Decimal("67.50"))
    quote_services.quote_line_remove(tenant=alice.tenant, line=second)
    quote.refresh_from_db()
    assert (quote.subtotal, quote.total, quote.line_items.count()) == (Decimal("100.00"), Decimal("57.50"), 1)


def test_lines_are_reordered_only_with_every_id_once(alice, quote):
    lines = [quote_services.quote_line_add(tenant=alice.tenant, quote=quote, description=name) for name in "ABC"]
    quote_services.quote_lines_reorder(tenant=alice.tenant, quote=quote, line_ids=[lines[2].pk, lines[0].pk, lines[1].pk])
    assert list(quote.line_items.values_list("description", flat=True)) == ["C", "A", "B"]
    before = _state(quote)
    for bad in ([lines[0].pk, lines[1].pk], [lines[0].pk] * 3, [lines[0].pk, lines[1].pk, 999999]):
        with pytest.raises(ValidationError) as exc:
            quote_services.quote_lines_reorder(tenant=alice.tenant, quote=quote, line_ids=bad)
        assert exc.value.message_dict == {"order": ["Give every line id of this quote exactly once."]}
    assert _state(quote) == before


@pytest.mark.parametrize("fields, key", [
    ({"quantity": QUANTITY_MAX + Decimal("0.01")}, "quantity"),
    ({"quantity": Decimal("-1")}, "quantity"),
    ({"quantity": Decimal("0")}, "quantity"),
    ({"unit_price": UNIT_PRICE_MAX + Decimal("0.01")}, "unit_price"),
    ({"unit_price": Decimal("-0.01")}, "unit_price"),
    ({"discount_percent": Decimal("100.01")}, "discount_percent"),
    ({"discount_percent": Decimal("-5")}, "discount_percent"),
    ({"tax_percent": Decimal("1000")}, "tax_percent"),
    ({"tax_percent": Decimal("-0.5")}, "tax_percent"),
    ({"quantity": Decimal("1.234")}, "quantity"),
    ({"kind": "subscription"}, "kind"),
    ({"unit": "u" * 21}, "unit"),
    ({"quantity": QUANTITY_MAX, "unit_price": UNIT_PRICE_MAX}, "amount"),
])
def test_an_absurd_line_is_refused_on_its_field_and_nothing_changes(alice, quote, fields, key):
    quote_services.quote_line_add(tenant=alice.tenant, quote=quote, description="Kept", unit_price=Decimal("5"))
    before = _state(quote)
    with pytest.raises(ValidationError) as exc:
        quote_services.quote_line_add(tenant=alice.tenant, quote=quote, description="Bad", **fields)
    assert list(exc.value.message_dict) == [key]
    line = quote.line_items.get()
    with pytest.raises(ValidationError) as exc:
        quote_services.quote_line_update(tenant=alice.tenant, line=line, data=fields)
    assert list(exc.value.message_dict) == [key]
    assert _state(quote) == before


def test_a_change_that_would_overflow_the_total_is_refused(alice, quote):
    line = quote_services.quote_line_add(tenant=alice.tenant, quote=quote, description="A",
                                         quantity=Decimal("9"), unit_price=Decimal("900000000000"))
    before = _state(quote)
    with pytest.raises(ValidationError) as exc:
        quote_services.quote_line_add(tenant=alice.tenant, quote=quote, description="B",
                                      quantity=Decimal("3"), unit_price=Decimal("900000000000"))
    assert exc.value.message_dict == {"total": [
        "With this line the quote total would be 10,800,000,000,000.00; a quote can total at most 9,999,999,999,999.99."]}
    # 100 % tax doubles the total past the bound although every line fits.
    with pytest.raises(ValidationError) as exc:
        quote_services.quote_line_update(tenant=alice.tenant, line=line, data={"tax_percent": Decimal("100")})
    assert list(exc.value.message_dict) == ["total"]
    assert _state(quote) == before


def test_a_quote_with_too_many_lines_is_refused_whole(alice):
    lines = [{"description": f"Line {n}"} for n in range(QUOTE_LINES_MAX + 1)]
    with pytest.raises(ValidationError) as exc:
        quote_services.quote_create(tenant=alice.tenant, title="Huge", line_items=lines)
    assert exc.value.message_dict == {"line_items": [f"A quote can have at most {QUOTE_LINES_MAX} lines."]}
    assert (Quote.objects.count(), QuoteLineItem.objects.count()) == (0, 0)


def test_a_bad_line_in_a_new_quote_creates_nothing_and_names_the_line(alice):
    with pytest.raises(ValidationError) as exc:
        quote_services.quote_create(tenant=alice.tenant, title="Q", line_items=[
            {"description": "Fine"}, {"description": "Bad", "discount_percent": Decimal("150")}])
    assert exc.value.message_dict == {"line_items": [
        "Line 2, discount_percent: Ensure this value is less than or equal to 100."]}
    assert (Quote.objects.count(), QuoteLineItem.objects.count()) == (0, 0)


def test_quote_fields_are_checked_before_saving(alice, bob, quote, department_factory):
    before = _state(quote)
    for data, key in (({"currency": "dollars"}, "currency"), ({"status": "won"}, "status"), ({"title": ""}, "title"),
                      ({"title": "T" * 256}, "title"), ({"colour": "red"}, "colour")):
        with pytest.raises(ValidationError) as exc:
            quote_services.quote_update(tenant=alice.tenant, quote=quote, data=data)
        assert key in exc.value.message_dict, (data, exc.value.message_dict)
    other = department_factory(bob.tenant, "Bob's buyer")
    with pytest.raises(PermissionError):
        quote_services.quote_update(tenant=alice.tenant, quote=quote, data={"company": other})
    with pytest.raises(PermissionError):
        quote_services.quote_update(tenant=bob.tenant, quote=quote, data={"title": "Hijacked"})
    assert _state(quote) == before and Quote.objects.get(pk=quote.pk).title == "Hosting"


def test_a_person_of_another_company_is_refused(alice, quote, department_factory):
    ssc, dnd = department_factory(alice.tenant, "SSC"), department_factory(alice.tenant, "DND")
    pat = contact_create(tenant=alice.tenant, last_name="Smith", department=dnd)
    with pytest.raises(ValidationError) as exc:
        quote_services.quote_update(tenant=alice.tenant, quote=quote, data={"company": ssc, "person": pat})
    assert list(exc.value.message_dict) == ["person"]
    updated = quote_services.quote_update(tenant=alice.tenant, quote=quote, data={"company": dnd, "person": pat,
                                                                                    "currency": "usd"})
    assert (updated.company, updated.person, updated.currency) == (dnd, pat, "USD")


def test_numbers_are_unique_per_tenant(alice, bob, quote):
    other = quote_services.quote_create(tenant=alice.tenant, title="Second")
    assert (quote.number, other.number) == ("Q-00001", "Q-00002")
    with pytest.raises(ValidationError) as exc:
        quote_services.quote_update(tenant=alice.tenant, quote=other, data={"number": "Q-00001"})
    assert exc.value.message_dict == {"number": ["Another quote in this organization already has this number."]}
    assert quote_services.quote_create(tenant=bob.tenant, title="Bob's").number == "Q-00001"


def test_deleting_a_quote_deletes_its_lines(alice, quote):
    quote_services.quote_line_add(tenant=alice.tenant, quote=quote, description="A")
    quote_services.quote_delete(tenant=alice.tenant, quote=quote)
    assert (Quote.objects.count(), QuoteLineItem.objects.count()) == (0, 0)
