"""Writing a connection's quote settings (Settings › Integrations › Salesforce › Quotes).

`quote_settings_save` checks everything against the org's describe of Opportunity and the
tenant's own records before anything is stored: the trigger stage must be one of the org's
StageName values, each condition must name a filterable field with an operator that suits its
type and a value that parses as that type, the owner must be a member of this tenant, and each
field mapping must carry a Salesforce type the Cothon field can hold. One bad input refuses the
whole save (ValidationError keyed by the input, e.g. "conditions.1.value"); nothing is written.

A saved change then sets up the org (sync_engine.quotes.automation) — synchronously, like
installing custom fields: it is an admin's deliberate action and its result (or the org's
refusal) is shown on the page the save returns to."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from cothon.models import Membership, Role, Tenant
from integrations.mapping.suggest import picklist_values
from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.sync_settings import describe_get
from proposals.models import CustomFieldType
from proposals.selectors import quote_custom_field_list
from sync_engine.quotes.automation import OPPORTUNITY, BOOLEAN_TYPES, DATE_TYPES, NUMBER_TYPES, TEXT_TYPES, automation_apply
from sync_engine.quotes.models import ConditionOperator, QuoteSettings

MAX_CONDITIONS = 10
MAX_MAPPINGS = 30
MAX_VALUE_LENGTH = 255

ORDERING_OPERATORS = {ConditionOperator.GREATER, ConditionOperator.LESS, ConditionOperator.LESS_OR_EQUAL,
                      ConditionOperator.GREATER_OR_EQUAL}

# The quote's own fields a Salesforce field may fill: (label, kind). Kinds are checked below.
QUOTE_TARGETS: dict[str, tuple[str, str]] = {
    "title": ("Title", "text"),
    "currency": ("Currency", "currency"),
    "valid_until": ("Valid until", "date"),
    "terms": ("Terms", "text"),
    "notes": ("Notes", "text"),
}
CUSTOM_PREFIX = "custom:"
# Which Salesforce types each kind of Cothon field can hold. Text holds any single value.
ACCEPTED_TYPES: dict[str, set[str]] = {
    "text": TEXT_TYPES | NUMBER_TYPES | DATE_TYPES | BOOLEAN_TYPES,
    "currency": {"picklist", "combobox", "string"},
    "date": DATE_TYPES,
    CustomFieldType.NUMBER: NUMBER_TYPES,
    CustomFieldType.CHECKBOX: BOOLEAN_TYPES,
    CustomFieldType.DROPDOWN: {"picklist", "combobox"},
}
KIND_WORDS = {"text": "text", "currency": "a currency code (a picklist or text field)", "date": "a date",
              CustomFieldType.NUMBER: "a number", CustomFieldType.CHECKBOX: "a checkbox (true/false)",
              CustomFieldType.DROPDOWN: "a drop-down list (a picklist field)"}


@dataclass(frozen=True)
class MappingTarget:
    value: str  # "notes" or "custom:<key>"
    label: str
    kind: str  # text | currency | date | number | checkbox | dropdown
    options: tuple[str, ...] = ()


def quote_settings_for(*, connection: SalesforceConnection) -> QuoteSettings:
    """The connection's quote settings; unsaved defaults when it has none yet."""
    return QuoteSettings.objects.filter(connection=connection).select_related("owner").first() or \
        QuoteSettings(connection=connection)


def opportunity_describe(*, connection: SalesforceConnection) -> dict | None:
    """The org's describe of Opportunity (cached), or None when it cannot be read."""
    if connection.status != ConnectionStatus.CONNECTED:
        return None
    return describe_get(connection=connection, sobject=OPPORTUNITY)


def mapping_targets(*, tenant: Tenant) -> list[MappingTarget]:
    """Every Cothon field a Salesforce field can be mapped to: the quote's own, then the
    tenant's custom quote fields."""
    targets = [MappingTarget(value, label, kind) for value, (label, kind) in QUOTE_TARGETS.items()]
    for custom in quote_custom_field_list(tenant=tenant):
        targets.append(MappingTarget(f"{CUSTOM_PREFIX}{custom.key}", custom.label, custom.field_type,
                                     tuple(str(o) for o in custom.options or [])))
    return targets


def owner_choices(*, tenant: Tenant):
    """Members who may author quotes: admins and members (viewers cannot write)."""
    return Membership.objects.filter(tenant=tenant, role__in=[Role.ADMIN, Role.MEMBER]).select_related("user") \
        .order_by("user__first_name", "user__last_name", "user__username")


def quote_settings_clean(*, tenant: Tenant, connection: SalesforceConnection, data: dict[str, Any],
                         describe: dict | None) -> dict[str, Any]:
    """The settings as stored, or ValidationError({input key: [message]}) listing every problem."""
    errors: dict[str, list[str]] = {}

    def fail(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    if not describe:
        raise ValidationError({"__all__": ["Cothon cannot read the org's Opportunity object: connect the org (or "
                                           "reconnect it) and try again. Nothing was saved."]})
    fields = {f["name"].lower(): f for f in describe.get("fields", [])}
    to_quote = bool(data.get("opportunity_to_quote"))
    stage = str(data.get("trigger_stage") or "").strip()
    stages = picklist_values(describe, "StageName")
    if stage and stage not in stages:
        fail("trigger_stage", f"“{stage[:80]}” is not a stage of this org. Choose one of: {', '.join(stages)}.")
    elif to_quote and not stage:
        fail("trigger_stage", "Choose the stage that turns an opportunity into a quote.")

    conditions = _clean_conditions(data.get("conditions") or [], fields, fail)
    mappings = _clean_mappings(data.get("field_mappings") or [], fields, mapping_targets(tenant=tenant), fail)

    owner = None
    raw_owner = data.get("owner_id")
    if raw_owner not in (None, ""):
        membership = owner_choices(tenant=tenant).filter(user_id=_int_or_none(raw_owner)).first()
        if membership is None:
            fail("owner", "Choose a member of this organization (an admin or member) as the owner.")
        else:
            owner = membership.user
    elif to_quote:
        fail("owner", "Choose who authors the quotes synced from Salesforce.")
    if errors:
        raise ValidationError(errors)
    return {"opportunity_to_quote": to_quote, "contact_to_person": bool(data.get("contact_to_person")),
            "trigger_stage": stage, "conditions": conditions, "owner": owner, "sync_back": bool(data.get("sync_back")),
            "field_mappings": mappings}


def quote_settings_save(*, tenant: Tenant, connection: SalesforceConnection, data: dict[str, Any], actor,
                        apply_automation: bool = True) -> QuoteSettings:
    """Validate and store the connection's quote settings, then set up (or switch off) the
    org's flow and outbound message. Raises ValidationError with nothing written."""
    if connection.tenant_id != tenant.pk:
        raise ValidationError({"__all__": ["No such connection."]})
    cleaned = quote_settings_clean(tenant=tenant, connection=connection, data=data,
                                   describe=opportunity_describe(connection=connection))
    with transaction.atomic():
        settings, _ = QuoteSettings.objects.select_for_update().get_or_create(connection=connection)
        for name, value in cleaned.items():
            setattr(settings, name, value)
        settings.updated_by = actor
        settings.save()
    if apply_automation:
        automation_apply(connection=connection, actor=actor)
        settings.refresh_from_db()
    return settings


def _clean_conditions(rows: list[dict], fields: dict[str, dict], fail) -> list[dict[str, str]]:
    if len(rows) > MAX_CONDITIONS:
        fail("conditions", f"At most {MAX_CONDITIONS} conditions.")
        return []
    cleaned = []
    for index, row in enumerate(rows):
        key = f"conditions.{index}"
        name = str(row.get("field") or "").strip()
        operator = str(row.get("operator") or "").strip()
        value = str(row.get("value") if row.get("value") is not None else "").strip()
        field = fields.get(name.lower())
        if field is None:
            fail(f"{key}.field", f"“{name[:80]}” is not a field of this org's Opportunity." if name else "Choose a field.")
            continue
        sf_type = field.get("type", "")
        if not field.get("filterable", True) or sf_type not in TEXT_TYPES | NUMBER_TYPES | BOOLEAN_TYPES | {"date"}:
            fail(f"{key}.field", f"{field['name']} ({sf_type}) cannot be used in a flow condition: choose a text, "
                                 "picklist, number, checkbox or date field.")
            continue
        if operator not in ConditionOperator.values:
            fail(f"{key}.operator", "Choose =, >, <, <= or >=.")
            continue
        if operator in ORDERING_OPERATORS and sf_type not in NUMBER_TYPES:
            fail(f"{key}.operator", f"{field['name']} is a {sf_type} field: {operator} compares numbers only. "
                                    "Use = for text, picklist, checkbox and date fields.")
            continue
        parsed = _parse_condition_value(field, value)
        if isinstance(parsed, ValueError):
            fail(f"{key}.value", str(parsed))
            continue
        cleaned.append({"field": field["name"], "operator": operator, "value": parsed})
    return cleaned


def _parse_condition_value(field: dict, value: str) -> str | ValueError:
    """The value as stored (a canonical string), or the reason it does not fit the field."""
    sf_type, name = field.get("type", ""), field["name"]
    if not value:
        return ValueError(f"Enter the value {name} is compared with.")
    if len(value) > MAX_VALUE_LENGTH:
        return ValueError(f"At most {MAX_VALUE_LENGTH} characters.")
    if sf_type in NUMBER_TYPES:
        try:
            number = Decimal(value.replace(",", ""))
        except InvalidOperation:
            return ValueError(f"{name} is a number field: “{value[:40]}” is not a number (e.g. 10000 or 2500.50).")
        if not number.is_finite() or abs(number) >= Decimal("1e18"):
            return ValueError(f"“{value[:40]}” is not a usable number.")
        return format(number.normalize(), "f") if number == number.to_integral_value() else format(number, "f")
    if sf_type in BOOLEAN_TYPES:
        lowered = value.lower()
        if lowered not in ("true", "false"):
            return ValueError(f"{name} is a checkbox: enter true or false.")
        return lowered
    if sf_type == "date":
        try:
            return datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            return ValueError(f"{name} is a date: enter it as YYYY-MM-DD.")
    if sf_type == "picklist":
        values = [v["value"] for v in field.get("picklistValues") or [] if v.get("active", True)]
        if values and value not in values:
            return ValueError(f"“{value[:80]}” is not a value of {name}. Choose one of: {', '.join(values)}.")
    return value


def _clean_mappings(rows: list[dict], fields: dict[str, dict], targets: list[MappingTarget], fail) -> list[dict[str, str]]:
    if len(rows) > MAX_MAPPINGS:
        fail("field_mappings", f"At most {MAX_MAPPINGS} field mappings.")
        return []
    by_value = {t.value: t for t in targets}
    cleaned: list[dict[str, str]] = []
    used: set[str] = set()
    for index, row in enumerate(rows):
        key = f"field_mappings.{index}"
        name = str(row.get("sf_field") or "").strip()
        target = by_value.get(str(row.get("target") or "").strip())
        field = fields.get(name.lower())
        if field is None:
            fail(f"{key}.sf_field", f"“{name[:80]}” is not a field of this org's Opportunity." if name else "Choose a Salesforce field.")
            continue
        if target is None:
            fail(f"{key}.target", "Choose a quote field or a custom quote field.")
            continue
        if target.value in used:
            fail(f"{key}.target", f"{target.label} is already filled by another mapping.")
            continue
        sf_type = field.get("type", "")
        if sf_type not in ACCEPTED_TYPES[target.kind]:
            fail(f"{key}.target", f"{field['name']} is a {sf_type} field; {target.label} holds {KIND_WORDS[target.kind]}.")
            continue
        if target.kind == CustomFieldType.DROPDOWN and sf_type == "picklist":
            missing = [v["value"] for v in field.get("picklistValues") or []
                       if v.get("active", True) and v["value"] not in target.options]
            if missing:
                fail(f"{key}.target", f"{target.label} has no option for {', '.join(missing[:8])} (values of "
                                      f"{field['name']}): add them to the drop-down list or map another field.")
                continue
        used.add(target.value)
        cleaned.append({"sf_field": field["name"], "target": target.value})
    return cleaned


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
