"""From a pulled Salesforce row to an appointment's values: each mapped field converted by the
Salesforce data type the admin chose, then fitted to its Cothon field. Pure functions.

A value that does not fit its type (a "datetime" that is not one, an "int" with letters) raises
ConversionError naming the field: the pull then writes nothing of that row and says why,
instead of storing half an appointment."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.mapping.opportunity_inbound import parse_datetime

TEXT_TYPES = ("string", "picklist", "multipicklist", "email", "phone", "textarea", "url", "reference", "id")
NUMBER_TYPES = ("double", "currency", "percent", "int")
SF_TYPES = TEXT_TYPES + NUMBER_TYPES + ("date", "datetime", "boolean")

# Cothon fields a mapping can fill (config_services.TARGETS, where the admin picks them). Several
# mappings to `address` are joined (street, city, province, postal code) in mapping order;
# `salesforce_id` names the field holding the record's id (Id when no mapping names one).
_TEXT_LIMITS = {"customer_name": 255, "address": 500, "phone": 40, "email": 254, "result": 100, "result_reason": 255}


class ConversionError(ValueError):
    def __init__(self, field: str, sf_type: str, value: Any) -> None:
        self.field = field
        super().__init__(f"{field}: {value!r} is not a valid {sf_type}.")


def field_value(row: dict[str, Any], path: str) -> Any:
    """The value at an API name or a relationship path (`i360__Staff__r.Name`), case-insensitive
    as SOQL is; None when a relationship on the way is empty."""
    current: Any = row
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        key = next((k for k in current if k.lower() == part.lower()), None)
        current = current.get(key) if key is not None else None
    return current


def convert(value: Any, sf_type: str, *, field: str = "") -> Any:
    """The Python value of a Salesforce JSON value of `sf_type`: text types → str, numbers →
    Decimal (int → int), date → date, datetime → aware datetime, boolean → bool. Empty → None."""
    if value is None or value == "":
        return None
    if sf_type in TEXT_TYPES:
        if isinstance(value, (dict, list)):
            raise ConversionError(field, sf_type, value)
        return str(value).strip() if sf_type != "textarea" else str(value)
    if sf_type in NUMBER_TYPES:
        if isinstance(value, bool):
            raise ConversionError(field, sf_type, value)
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ConversionError(field, sf_type, value) from None
        if not number.is_finite():
            raise ConversionError(field, sf_type, value)
        if sf_type == "int":
            if number != number.to_integral_value():
                raise ConversionError(field, sf_type, value)
            return int(number)
        return number
    if sf_type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ConversionError(field, sf_type, value)
    if sf_type == "date":
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ConversionError(field, sf_type, value)
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise ConversionError(field, sf_type, value) from None
    if sf_type == "datetime":
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise ConversionError(field, sf_type, value)
        return parsed
    raise ConversionError(field, sf_type, value)


def display(value: Any, sf_type: str, zone: datetime.tzinfo) -> str:
    """How a converted value reads in the appointment's notes (dates in the tenant's zone)."""
    if value is None:
        return ""
    if sf_type == "boolean":
        return "Yes" if value else "No"
    if sf_type == "datetime":
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if sf_type == "date":
        return value.isoformat()
    if sf_type == "currency":
        return f"${value:,.2f}"
    if sf_type == "percent":
        return f"{value.normalize():f}%"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def appointment_values(row: dict[str, Any], mappings: list[dict[str, Any]], zone: datetime.tzinfo) -> tuple[dict[str, Any], str, dict]:
    """(Appointment field values, the Salesforce record id, source_fields) of one row.

    source_fields keeps every mapped field as pulled, by API name: {"title", "type", "value"
    (as displayed), "in_notes", "order" (the mapping's row: jsonb keeps no key order)}; the notes are the texts mapped to `notes` followed by one
    "Title: value" line per field marked "show in notes"."""
    values: dict[str, Any] = {}
    addresses: list[str] = []
    texts: list[str] = []  # mapped to `notes` (repeatable)
    note_lines: list[str] = []
    source: dict[str, Any] = {}
    record_id = ""
    for order, mapping in enumerate(mappings):
        sf_field, sf_type, target = mapping.get("sf_field", ""), mapping.get("sf_type", "string"), mapping.get("target", "")
        converted = convert(field_value(row, sf_field), sf_type, field=sf_field)
        shown = display(converted, sf_type, zone)
        source[sf_field] = {"title": mapping.get("title") or sf_field, "type": sf_type, "value": shown,
                            "in_notes": bool(mapping.get("show_in_notes")), "order": order}
        if mapping.get("show_in_notes") and shown:
            note_lines.append(f"{mapping.get('title') or sf_field}: {shown}")
        if target == "salesforce_id":
            record_id = shown
        elif target == "address":
            if shown:
                addresses.append(shown)
        elif target == "starts_at":
            values["starts_at"] = _as_datetime(converted, zone, sf_field, sf_type)
        elif target == "duration_minutes":
            values["duration_minutes"] = _as_minutes(converted, sf_field, sf_type)
        elif target == "notes":
            if shown:
                texts.append(shown)
        elif target in _TEXT_LIMITS:
            values[target] = shown[:_TEXT_LIMITS[target]]
    if any(m.get("target") == "address" for m in mappings):
        values["address"] = ", ".join(addresses)[:_TEXT_LIMITS["address"]]
    if any(m.get("target") == "notes" or m.get("show_in_notes") for m in mappings):
        values["notes"] = "\n\n".join([*texts, *(["\n".join(note_lines)] if note_lines else [])])
    return values, record_id or str(row.get("Id") or ""), source


def _as_datetime(value: Any, zone: datetime.tzinfo, field: str, sf_type: str) -> datetime.datetime | None:
    if value is None or isinstance(value, datetime.datetime):
        return value
    if isinstance(value, datetime.date):  # a date-only start: the start of that day where the tenant is
        return datetime.datetime.combine(value, datetime.time(0, 0), tzinfo=zone)
    raise ConversionError(field, f"{sf_type} (the start needs a date or a datetime)", value)


def _as_minutes(value: Any, field: str, sf_type: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value >= 0:
        return int(round(value))
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ConversionError(field, f"{sf_type} (the duration needs a number of minutes)", value)
