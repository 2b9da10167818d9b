"""A quote's totals from its lines: pure Decimal arithmetic, no database.

Rules (docs/quotes-in-cothon.md, "Totals"):
- a line's gross is quantity × unit price, rounded to the cent;
- its discount is gross × discount % and its tax is (gross − discount) × tax %, each rounded
  half-up to the cent on the line (what the PDF and Salesforce show per line adds up);
- the quote's subtotal, discount total and tax total are the sums of the lines' rounded values,
  and total = subtotal − discount total + tax total. Nothing is ever a float.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from opportunities.numbers import MONEY_MAX, exceeds_money, money_text
from proposals.models import QuoteLineItem

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class QuoteTotals:
    subtotal: Decimal = ZERO
    discount_total: Decimal = ZERO
    tax_total: Decimal = ZERO
    total: Decimal = ZERO

    def as_fields(self) -> dict[str, Decimal]:
        return {"subtotal": self.subtotal, "discount_total": self.discount_total, "tax_total": self.tax_total,
                "total": self.total}


def totals_of(lines: Iterable[QuoteLineItem]) -> QuoteTotals:
    subtotal = discount = tax = ZERO
    for line in lines:
        subtotal += line.gross
        discount += line.discount
        tax += line.tax
    return QuoteTotals(subtotal=subtotal, discount_total=discount, tax_total=tax, total=subtotal - discount + tax)


def check_line_amount(line: QuoteLineItem) -> None:
    """A line whose numbers each fit their column may still multiply past what money can hold."""
    if exceeds_money(line.gross):
        raise ValidationError({"amount": [
            f"Quantity × unit price is {money_text(line.gross)}; a line can be at most {money_text(MONEY_MAX)}."]})


def check_totals(totals: QuoteTotals, *, verb: str = "With this line") -> None:
    """Every stored total must fit a money column (and Salesforce's Amount)."""
    for name, value in (("total", totals.total), ("subtotal", totals.subtotal)):
        if exceeds_money(value):
            raise ValidationError({"total": [
                f"{verb} the quote {'total' if name == 'total' else 'subtotal'} would be {money_text(value)}; "
                f"a quote can total at most {money_text(MONEY_MAX)}."]})
