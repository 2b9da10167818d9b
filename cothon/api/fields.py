"""Serializer fields shared by the API's model serializers."""

from __future__ import annotations

import decimal

from django.db import models
from rest_framework import serializers


class ReadableDecimalField(serializers.DecimalField):
    """A DecimalField that can always show a stored value.

    DRF rounds output with a context of `max_digits` digits, so a value stored before the
    bounds existed (and wider than the field) made every list showing it a 500. Input is still
    checked against max_digits and the bounds first (validate_precision, min/max value), so the
    wider context changes nothing for what is accepted.
    """

    def quantize(self, value: decimal.Decimal) -> decimal.Decimal:
        if self.decimal_places is None:
            return value
        context = decimal.getcontext().copy()
        context.prec = max(self.max_digits or 0, 400)
        return value.quantize(decimal.Decimal(".1") ** self.decimal_places, rounding=self.rounding, context=context)


# ModelSerializer.serializer_field_mapping with every model DecimalField (and subclasses, by MRO)
# shown through ReadableDecimalField.
FIELD_MAPPING = {**serializers.ModelSerializer.serializer_field_mapping, models.DecimalField: ReadableDecimalField}
