"""Saving the routing rules (Workflow › Document Routing, Workflow › Results Routing,
Finance › Credit App Sending) and reading the org's picklist values for the results pickers.

A save validates everything first and writes nothing when anything is wrong: unknown
placeholders, bad backup e-mail addresses, an object class or picker field the org does not
have. The credit application's password is encrypted like every credential and never read back
into a page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from integrations.crypto import decrypt_token, encrypt_token
from integrations.models import SalesforceConnection
from integrations.salesforce.errors import SalesforceError
from integrations.sync_settings import describe_get
from sync_engine.appointments import placeholders
from sync_engine.appointments.models import RoutingKind, RoutingRule
from sync_engine.appointments.routing_selectors import routing_rule_for

MAX_RECIPIENTS = 20
MAX_PICKERS = 20
MAX_OPTIONS = 100
MIN_PASSWORD_LENGTH = 8
DEFAULT_TEMPLATES = {
    RoutingKind.CONTRACT: "%customerName% Contract %date%.pdf",
    RoutingKind.PROPOSAL: "%customerName% Proposal %date%.pdf",
    RoutingKind.CUSTOM_DOCUMENT: "%customerName% %documentTitle% %date%.pdf",
    RoutingKind.RESULTS: "%customerName% Results %date%.pdf",
    RoutingKind.CREDIT_APP: "%customerName% Credit Application %date%.pdf",
}
# Field types a picker's value can be written to.
PICKER_FIELD_TYPES = {"picklist", "multipicklist", "string", "textarea", "combobox"}


@dataclass
class RuleInput:
    """What a routing page (or a script) submits for one rule."""

    enabled: bool = False
    file_name_template: str = ""
    backup_recipients: list[str] = field(default_factory=list)
    # results
    note_title: str = ""
    object_class: str = ""
    sale_pickers: list[dict[str, Any]] = field(default_factory=list)
    no_sale_pickers: list[dict[str, Any]] = field(default_factory=list)
    # credit application
    disclosure: str = ""
    new_password: str = ""  # blank: keep the stored one


def _recipients(values: list[str], errors: dict[str, list[str]]) -> list[str]:
    cleaned: list[str] = []
    for raw in values:
        address = raw.strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            errors.setdefault("backup_recipients", []).append(f"“{address}” is not an e-mail address.")
            continue
        if address.lower() not in {a.lower() for a in cleaned}:
            cleaned.append(address)
    if len(cleaned) > MAX_RECIPIENTS:
        errors.setdefault("backup_recipients", []).append(f"At most {MAX_RECIPIENTS} backup recipients.")
    return cleaned


def _object_describe(connection: SalesforceConnection, sobject: str) -> dict | None:
    try:
        return describe_get(connection=connection, sobject=sobject)
    except SalesforceError as exc:
        raise ValidationError(f"Could not check {sobject} against Salesforce: {exc.message}", code="salesforce") from exc


def _pickers(rows: list[dict[str, Any]], section: str, fields: dict[str, dict] | None, object_class: str,
             errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    cleaned: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        title = str(row.get("title") or "").strip()
        sf_field = str(row.get("sf_field") or "").strip()
        options = [str(o).strip() for o in row.get("options") or [] if str(o).strip()]
        if not (title or sf_field or options):
            continue  # an empty row of the form
        where = f"{section} row {number}"
        problems = errors.setdefault(f"{section.lower().replace(' ', '_')}_pickers", [])
        if not title:
            problems.append(f"{where}: a title is required.")
        if not options:
            problems.append(f"{where}: give at least one option (or load them from Salesforce).")
        if len(options) > MAX_OPTIONS or any(len(o) > 255 for o in options):
            problems.append(f"{where}: at most {MAX_OPTIONS} options of up to 255 characters.")
        if not sf_field:
            problems.append(f"{where}: the Salesforce field is required.")
        elif fields is not None:
            described = fields.get(sf_field.lower())
            if described is None:
                problems.append(f"{where}: {object_class} has no field {sf_field}.")
            else:
                sf_field = described["name"]
                if not described.get("updateable"):
                    problems.append(f"{where}: {object_class}.{sf_field} cannot be written by the integration user.")
                elif described.get("type") not in PICKER_FIELD_TYPES:
                    problems.append(f"{where}: {object_class}.{sf_field} is a {described.get('type')} field; a picker "
                                    "writes to a picklist or text field.")
                elif described.get("restrictedPicklist"):
                    allowed = {v["value"] for v in described.get("picklistValues") or [] if v.get("active", True)}
                    extra = [o for o in options if o not in allowed]
                    if extra:
                        problems.append(f"{where}: not values of {sf_field}: {', '.join(extra)}.")
        cleaned.append({"title": title[:120], "options": list(dict.fromkeys(options)), "sf_field": sf_field,
                        "required": bool(row.get("required"))})
    if len(cleaned) > MAX_PICKERS:
        errors.setdefault(f"{section.lower().replace(' ', '_')}_pickers", []).append(f"At most {MAX_PICKERS} pickers.")
    return cleaned


def routing_rule_save(*, tenant, connection: SalesforceConnection, kind: str, data: RuleInput, actor) -> RoutingRule:
    """Validate and save one rule. Raises ValidationError (a dict of field → messages) and
    writes nothing when anything is wrong."""
    if connection.tenant_id != tenant.pk:
        raise ValidationError("Not this organization's connection.")
    if kind not in RoutingKind.values:
        raise ValidationError({"kind": [f"Unknown routing kind {kind!r}."]})
    rule = routing_rule_for(connection=connection, kind=kind)
    errors: dict[str, list[str]] = {}
    template = " ".join((data.file_name_template or "").split())
    try:
        placeholders.template_check(template)
    except ValidationError as exc:
        errors["file_name_template"] = exc.messages
    recipients = _recipients(data.backup_recipients, errors)
    if data.enabled and not template:
        errors.setdefault("file_name_template", []).append("A file name is required while the rule is on.")
    values: dict[str, Any] = {"enabled": data.enabled, "file_name_template": template, "backup_recipients": recipients}

    if kind == RoutingKind.RESULTS:
        object_class = data.object_class.strip()
        note_title = " ".join(data.note_title.split())
        if len(note_title) > 255:
            errors["note_title"] = ["At most 255 characters."]
        if data.enabled and not note_title:
            errors.setdefault("note_title", []).append("A note title is required while the rule is on.")
        fields = None
        if object_class:
            try:
                describe = _object_describe(connection, object_class)
            except ValidationError as exc:
                errors["object_class"] = exc.messages
                describe = None
            else:
                if describe is None:
                    errors["object_class"] = [f"The org has no object {object_class} (or the integration user cannot see it)."]
                else:
                    object_class = describe["name"]
                    fields = {f["name"].lower(): f for f in describe.get("fields", [])}
        elif data.enabled or data.sale_pickers or data.no_sale_pickers:
            errors["object_class"] = ["The object class is required (e.g. i360__Appointment__c)."]
        sale = _pickers(data.sale_pickers, "Sale", fields, object_class, errors)
        no_sale = _pickers(data.no_sale_pickers, "No sale", fields, object_class, errors)
        values.update(note_title=note_title, object_class=object_class, sale_pickers=sale, no_sale_pickers=no_sale)

    if kind == RoutingKind.CREDIT_APP:
        disclosure = (data.disclosure or "").strip()
        if len(disclosure) > 20000:
            errors["disclosure"] = ["At most 20,000 characters."]
        if data.enabled and not disclosure:
            errors["disclosure"] = ["The disclosure the customer reads before signing is required while the rule is on."]
        values["disclosure"] = disclosure
        if data.new_password:
            if len(data.new_password) < MIN_PASSWORD_LENGTH or len(data.new_password) > 128:
                errors["password"] = [f"The PDF password needs {MIN_PASSWORD_LENGTH} to 128 characters."]
            else:
                values["password_encrypted"] = encrypt_token(data.new_password)
        elif data.enabled and not credit_app_password(rule):
            errors["password"] = ["A password is required: the credit application PDF opens only with it."]

    errors = {k: v for k, v in errors.items() if v}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for name, value in values.items():
            setattr(rule, name, value)
        rule.updated_by = actor
        rule.save()
    return rule


def credit_app_password(rule: RoutingRule) -> str:
    """The stored PDF password (for encrypting a credit application only, never for a page)."""
    return decrypt_token(rule.password_encrypted) if rule.password_encrypted else ""


def picklist_values(*, connection: SalesforceConnection, sobject: str, sf_field: str) -> list[str]:
    """The active picklist values of a field (the "Load from Salesforce" of a picker row).
    Raises ValidationError with a message a person can act on."""
    sobject, sf_field = sobject.strip(), sf_field.strip()
    if not sobject or not sf_field:
        raise ValidationError("Enter the object class and the row's Salesforce field first.")
    describe = _object_describe(connection, sobject)
    if describe is None:
        raise ValidationError(f"The org has no object {sobject} (or the integration user cannot see it).")
    described = next((f for f in describe.get("fields", []) if f["name"].lower() == sf_field.lower()), None)
    if described is None:
        raise ValidationError(f"{sobject} has no field {sf_field}.")
    values = [v["value"] for v in described.get("picklistValues") or [] if v.get("active", True)]
    if not values:
        raise ValidationError(f"{sobject}.{described['name']} is a {described.get('type')} field without picklist values; "
                              "type the options.")
    return values
