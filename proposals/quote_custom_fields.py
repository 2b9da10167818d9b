"""Custom quote fields: the tenant's definitions (create, update, delete) and the one check of
their values, `quote_custom_values_clean`, which the quote services, the API and the inbound
Salesforce sync (sync_engine/quotes) all call.

Stored values (Quote.custom_values, by key): text → str; number → a decimal string ("1250.5",
exact, never a float); checkbox → true/false; drop-down list → one of its options.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from cothon.models import Tenant
from opportunities.numbers import MONEY_MAX, money_text
from proposals.models import CustomFieldType, Quote, QuoteCustomField

CUSTOM_FIELDS_MAX = 50
OPTIONS_MAX = 100
OPTION_LENGTH_MAX = 100
TEXT_VALUE_MAX = 1000
NUMBER_DECIMALS_MAX = 4
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off"}


def _assert_tenant(instance, tenant: Tenant) -> None:
    if instance.tenant_id != tenant.pk:
        raise PermissionError(f"{type(instance).__name__} {instance.pk} does not belong to tenant {tenant.pk}")


def _clean_options(field_type: str, options: Any) -> list[str]:
    if field_type != CustomFieldType.DROPDOWN:
        if options:
            raise ValidationError({"options": ["Only a drop-down list has options."]})
        return []
    if not isinstance(options, (list, tuple)):
        raise ValidationError({"options": ["Give the options as a list of texts."]})
    cleaned: list[str] = []
    for option in options:
        if not isinstance(option, str):
            raise ValidationError({"options": ["Each option must be a text."]})
        option = option.strip()
        if not option:
            continue
        if len(option) > OPTION_LENGTH_MAX:
            raise ValidationError({"options": [f"An option can be at most {OPTION_LENGTH_MAX} characters."]})
        if option in cleaned:
            raise ValidationError({"options": [f"“{option}” is listed twice."]})
        cleaned.append(option)
    if not cleaned:
        raise ValidationError({"options": ["A drop-down list needs at least one option."]})
    if len(cleaned) > OPTIONS_MAX:
        raise ValidationError({"options": [f"A drop-down list can have at most {OPTIONS_MAX} options."]})
    return cleaned


def _key_from(label: str) -> str:
    key = slugify(label).replace("-", "_")[:60]
    return key if key and key[0].isalpha() else f"field_{key}"[:60]


def _quotes_with_value(tenant: Tenant, key: str) -> list[Quote]:
    return list(Quote.objects.filter(tenant=tenant, custom_values__has_key=key).only("pk", "custom_values"))


def quotes_with_value_count(*, tenant: Tenant, field: QuoteCustomField) -> int:
    return Quote.objects.filter(tenant=tenant, custom_values__has_key=field.key).count()


@transaction.atomic
def quote_custom_field_create(*, tenant: Tenant, label: str, field_type: str, key: str = "",
                              options: Iterable[str] = ()) -> QuoteCustomField:
    label = (label or "").strip()
    key = (key or "").strip() or _key_from(label)
    if not KEY_PATTERN.match(key):
        raise ValidationError({"key": ["Use lower-case letters, digits and _ (starting with a letter), at most 60."]})
    if QuoteCustomField.objects.filter(tenant=tenant, key=key).exists():
        raise ValidationError({"key": [f"Another custom quote field already has the key “{key}”."]})
    count = QuoteCustomField.objects.filter(tenant=tenant).count()
    if count >= CUSTOM_FIELDS_MAX:
        raise ValidationError({"label": [f"An organization can have at most {CUSTOM_FIELDS_MAX} custom quote fields."]})
    if field_type not in CustomFieldType.values:
        raise ValidationError({"field_type": [f"Choose one of: {', '.join(CustomFieldType.values)}."]})
    field = QuoteCustomField(tenant=tenant, label=label, key=key, field_type=field_type,
                             options=_clean_options(field_type, list(options or [])), position=count)
    field.full_clean()
    field.save()
    return field


@transaction.atomic
def quote_custom_field_update(*, tenant: Tenant, field: QuoteCustomField, label: str | None = None,
                              options: Iterable[str] | None = None, position: int | None = None) -> QuoteCustomField:
    """The key and type stay (stored values and Salesforce field mappings use them). An option
    that quotes hold cannot be removed: those quotes would no longer pass their own check."""
    _assert_tenant(field, tenant)
    if label is not None:
        field.label = label.strip()
    if options is not None:
        cleaned = _clean_options(field.field_type, list(options))
        removed = set(field.options) - set(cleaned)
        in_use = sorted({str(q.custom_values.get(field.key)) for q in _quotes_with_value(tenant, field.key)} & removed)
        if in_use:
            raise ValidationError({"options": [
                f"Quotes use {', '.join(f'“{o}”' for o in in_use)}: change their value before removing the option."]})
        field.options = cleaned
    if position is not None:
        field.position = position
    field.full_clean()
    field.save()
    return field


@transaction.atomic
def quote_custom_field_delete(*, tenant: Tenant, field: QuoteCustomField) -> int:
    """Delete the definition and its values on every quote; returns how many quotes had one."""
    _assert_tenant(field, tenant)
    quotes = _quotes_with_value(tenant, field.key)
    for quote in quotes:
        quote.custom_values.pop(field.key, None)
    Quote.objects.bulk_update(quotes, ["custom_values"])
    field.delete()
    return len(quotes)


# --- values --------------------------------------------------------------------------------

def _clean_number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValidationError("Enter a number.")
    try:
        number = Decimal(str(value).strip().replace(",", "")) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValidationError("Enter a number.") from None
    if not number.is_finite():
        raise ValidationError("Enter a number.")
    if abs(number) > MONEY_MAX:
        raise ValidationError(f"A number can be at most {money_text(MONEY_MAX)} (either sign).")
    if number != number.quantize(Decimal(1).scaleb(-NUMBER_DECIMALS_MAX), rounding="ROUND_DOWN"):
        raise ValidationError(f"A number can have at most {NUMBER_DECIMALS_MAX} decimals.")
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _clean_checkbox(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValidationError("Enter true or false.")


def _clean_value(field: QuoteCustomField, value: Any) -> Any:
    if field.field_type == CustomFieldType.NUMBER:
        return _clean_number(value)
    if field.field_type == CustomFieldType.CHECKBOX:
        return _clean_checkbox(value)
    if not isinstance(value, (str, int, Decimal)) or isinstance(value, bool):
        raise ValidationError("Enter a text.")
    text = str(value).strip()
    if field.field_type == CustomFieldType.DROPDOWN:
        if text not in field.options:
            raise ValidationError(f"“{text[:100]}” is not an option; choose one of: {', '.join(field.options)}.")
        return text
    if len(text) > TEXT_VALUE_MAX:
        raise ValidationError(f"A text can be at most {TEXT_VALUE_MAX} characters.")
    return text


def quote_custom_values_clean(*, tenant: Tenant, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check values of the tenant's custom quote fields by their type and return them cleaned.

    `values` maps field keys to values; None or "" means "no value" and comes back as None (the
    caller removes the key). Any bad value raises ValidationError keyed by the field key (an
    unknown key too), all of them at once; nothing is written here."""
    if not isinstance(values, Mapping):
        raise ValidationError({"custom_values": ["Give custom values as an object of field key → value."]})
    fields = {f.key: f for f in QuoteCustomField.objects.filter(tenant=tenant, key__in=[str(k) for k in values])}
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, value in values.items():
        field = fields.get(str(key))
        if field is None:
            errors[str(key)[:60]] = ["No custom quote field has this key."]
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            cleaned[field.key] = None
            continue
        try:
            cleaned[field.key] = _clean_value(field, value)
        except ValidationError as exc:
            errors[field.key] = exc.messages
    if errors:
        raise ValidationError(errors)
    return cleaned


def merged_custom_values(current: Mapping[str, Any], cleaned: Mapping[str, Any]) -> dict[str, Any]:
    """The quote's values after applying cleaned ones (None removes a value)."""
    merged = dict(current or {})
    for key, value in cleaned.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
