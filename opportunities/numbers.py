"""Bounds of every number a tenant can type, and a DecimalField whose stored values always read back.

Each bound is the smallest of three limits, so every value Cothon accepts can be stored, read
back and pushed:
- the column on PostgreSQL (numeric(16,2) holds 14 digits before the point; smallint 32,767);
- SQLite, which keeps decimals as 8-byte floats: only 15 significant digits survive, and
  Django's SQLite converter fails on a value that needs more (99,999,999,999,999.99 comes back
  as 1.00000000000000E+14 and overflows numeric(16,2) on the way out: every page listing it was
  a 500);
- the Salesforce field it maps to (Opportunity.Amount and Cothon_Max_Value__c are currency with
  precision 18, scale 2; Cothon_Points__c is a number with precision 8, scale 2), and the way it
  travels there: a JSON number, i.e. a double, exact to 15 significant digits.
So money has at most 13 digits before the point: 9,999,999,999,999.99.

docs/api.md lists the same bounds; tests/api/test_numeric_bounds.py checks them at both edges.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.functional import cached_property

MONEY_MAX = Decimal("9999999999999.99")
QUANTITY_MIN = Decimal("0.01")
QUANTITY_MAX = Decimal("9999999999.99")     # quantity is numeric(12,2)
UNIT_PRICE_MAX = Decimal("999999999999.99")  # unit price is numeric(14,2)
PERCENT_MAX = 100
WEIGHT_MAX = 10000                           # points of a rated requirement (Cothon_Points__c)
QUOTE_LINES_MAX = 500                        # a line's position is a smallint
PROPOSAL_SECTIONS_MAX = 50                   # likewise a section's position; the form's limit too

NEGATIVE_MONEY_MESSAGE = "Value cannot be negative."


def money_validators() -> list:
    return [MinValueValidator(Decimal("0"), message=NEGATIVE_MONEY_MESSAGE), MaxValueValidator(MONEY_MAX)]


def percent_validators() -> list:
    return [MinValueValidator(0), MaxValueValidator(PERCENT_MAX)]


def weight_validators() -> list:
    return [MinValueValidator(0), MaxValueValidator(WEIGHT_MAX)]


def quantity_validators() -> list:
    return [MinValueValidator(QUANTITY_MIN, message="Quantity must be greater than zero."), MaxValueValidator(QUANTITY_MAX)]


def unit_price_validators() -> list:
    return [MinValueValidator(Decimal("0")), MaxValueValidator(UNIT_PRICE_MAX)]


def money_text(value: Decimal) -> str:
    """9,999,999,999,999.99: how a bound is named in an error message."""
    return f"{value:,.2f}"


def exceeds_money(value: Decimal | None) -> bool:
    return value is not None and abs(value) > MONEY_MAX


# Enough digits for any 8-byte float quantized to cents (about 1.8e308): a stored value that is
# out of bounds (written before the bounds existed) still reads back instead of failing the page.
_READ_CONTEXT_PRECISION = 400


class ReadableDecimalField(models.DecimalField):
    """A DecimalField whose rows always load, even when a value exceeds its precision.

    On SQLite, Django quantizes each stored float with the field's `context` (precision =
    max_digits), which raises InvalidOperation for a value needing more digits. Only that read
    path uses a wider context here; writes are still checked by the validators and max_digits.
    """

    @cached_property
    def context(self) -> decimal.Context:
        return decimal.Context(prec=_READ_CONTEXT_PRECISION)

    def to_python(self, value):
        if isinstance(value, float):
            # As Django does, but rounded to the field's precision, not the wide read context.
            value = decimal.Context(prec=self.max_digits).create_decimal_from_float(value)
        return super().to_python(value)
