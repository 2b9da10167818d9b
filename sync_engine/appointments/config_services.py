"""Workflow › CRM and Appointments: the admin's query and field mappings per connection, and
how a member's query and Salesforce client are chosen (the pull uses `appointment_query_for` and
`client_for_member`).

Sign-on modes (the SalesPro seed's words):
- **single sign-on** (`credential_mode = integration_user`): one integration user reads every
  appointment; the query filters a member's own with `:user_identifier`, bound to the member's
  unique identifier (their Staff record id) as a quoted SOQL literal.
- **multi-user sign-on** (`per_user`): each member's own username, password and security token;
  the query runs in the member's own session (`:user_identifier`, if used, is still bound)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from cothon.models import Membership
from integrations.connections import client_for
from integrations.member_logins import client_for_user_link
from integrations.models import CredentialMode, SalesforceConnection, SalesforceUserLink
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.ids import salesforce_id_problem
from integrations.salesforce.errors import SalesforceError
from integrations.salesforce.soql import soql_bind
from integrations.sync_settings import describe_get
from sync_engine.appointments.models import AppointmentSettings
from sync_engine.appointments.soql_check import SoqlCheck, check_soql, with_limit

USER_IDENTIFIER = "user_identifier"


class AppointmentSetupError(Exception):
    """Why a member's appointments cannot be read yet (settings missing, no identifier, no
    credentials). `code` is stable for callers; `message` says what an admin should do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _settings(connection: SalesforceConnection) -> AppointmentSettings:
    settings = AppointmentSettings.objects.filter(connection=connection).first()
    if settings is None or not settings.soql.strip():
        raise AppointmentSetupError("NO_QUERY", f"No appointment query is set for “{connection.name}”: "
                                                "an admin writes one in Workflow › CRM and Appointments.")
    return settings


def _member_link(connection: SalesforceConnection, member: AbstractBaseUser) -> SalesforceUserLink | None:
    if not Membership.objects.filter(tenant_id=connection.tenant_id, user_id=member.pk).exists():
        raise AppointmentSetupError("NOT_A_MEMBER", f"{member} is not a member of this organization.")
    return SalesforceUserLink.objects.filter(connection=connection, user_id=member.pk).first()


def uses_user_identifier(soql: str) -> bool:
    """Whether the query has the `:user_identifier` placeholder (outside string literals)."""
    try:
        soql_bind(soql, {USER_IDENTIFIER: ""})
    except ValueError:
        return False  # another placeholder: the query is refused on save anyway
    return soql_bind(soql, {USER_IDENTIFIER: "\x00"}) != soql_bind(soql, {USER_IDENTIFIER: ""})


def bind_query(soql: str, *, identifier: str, member_label: str) -> str:
    """The query with `:user_identifier` bound to a member's identifier, which must be a well-formed
    Salesforce id (checked again here: an identifier stored before validation never reaches SOQL)."""
    if not uses_user_identifier(soql):
        return soql_bind(soql, {})
    if not identifier:
        raise AppointmentSetupError("NO_IDENTIFIER", f"{member_label} has no unique identifier: the query filters by "
                                                     ":user_identifier. An admin enters it on the connection page (Users).")
    problem = salesforce_id_problem(identifier)
    if problem:
        raise AppointmentSetupError("BAD_IDENTIFIER", f"The unique identifier of {member_label} is not valid: {problem}")
    return soql_bind(soql, {USER_IDENTIFIER: identifier})


def appointment_query_for(*, connection: SalesforceConnection, member: AbstractBaseUser) -> str:
    """The connection's appointment query bound for one member.

    Raises AppointmentSetupError when no query is configured, the member is not in the
    connection's tenant, or the query filters by `:user_identifier` and the member has no valid
    identifier. In multi-user sign-on the member must also have credentials (see
    `client_for_member`), checked here too so a caller learns it before any call."""
    settings = _settings(connection)
    link = _member_link(connection, member)
    label = member.get_full_name() or member.get_username()
    if connection.credential_mode == CredentialMode.PER_USER:
        _require_credentials(link, label)
    return bind_query(settings.soql, identifier=(link.unique_identifier if link else ""), member_label=label)


def _require_credentials(link: SalesforceUserLink | None, label: str) -> SalesforceUserLink:
    if link is None or not link.username or not link.password_encrypted:
        raise AppointmentSetupError("NO_CREDENTIALS", f"{label} has no Salesforce username and password: the connection uses "
                                                      "multi-user sign-on. An admin enters them on the connection page (Users).")
    return link


def client_for_member(*, connection: SalesforceConnection, member: AbstractBaseUser) -> SalesforceClient:
    """The client a member's appointments are read with: the member's own session in multi-user
    sign-on, the connection's (integration user's) client in single sign-on. Raises
    AppointmentSetupError (no credentials) or SalesforceError (login refused, connection not
    usable)."""
    if connection.credential_mode == CredentialMode.PER_USER:
        link = _require_credentials(_member_link(connection, member), member.get_full_name() or member.get_username())
        return client_for_user_link(link)
    _member_link(connection, member)
    return client_for(connection)


# --- the query and its field mappings (Workflow › CRM and Appointments) --------------------------

# Cothon Appointment fields a Salesforce field can fill. "address" may be mapped several times
# (street, city, state, zip): the pull joins the parts in mapping order with ", ". An empty target
# only shows the value in the appointment's notes.
TARGETS: dict[str, str] = {
    "salesforce_id": "Salesforce record id",
    "customer_name": "Customer name",
    "address": "Address",
    "phone": "Phone",
    "email": "E-mail",
    "starts_at": "Date and time",
    "duration_minutes": "Duration (minutes)",
    "result": "Result",
    "result_reason": "Result reason",
    "notes": "Notes",
    "": "— Notes only —",
}
ESSENTIAL_TARGETS = ("customer_name", "address", "phone", "email", "starts_at", "salesforce_id")
REPEATABLE_TARGETS = frozenset({"address", "notes", ""})
SF_TYPES: dict[str, str] = {
    "id": "Id", "string": "Text", "textarea": "Text area", "picklist": "Picklist", "email": "Email", "phone": "Phone",
    "reference": "Lookup (reference)", "boolean": "Checkbox", "int": "Number (integer)", "double": "Number",
    "currency": "Currency", "date": "Date", "datetime": "Date/time",
}
_TEXTISH = {"string", "textarea", "picklist", "email", "phone", "url", "combobox", "multipicklist", "id", "reference", "encryptedstring"}
_NUMERIC = {"int", "double", "currency", "percent"}
# Which Salesforce data types each target accepts (the pull converts by the mapping's type).
_TARGET_TYPES: dict[str, set[str]] = {
    "salesforce_id": {"id"}, "starts_at": {"datetime", "date"}, "duration_minutes": {"int", "double", "currency"},
    "email": {"email", "string"}, "phone": {"phone", "string"},
}
TITLE_MAX = 80


def _describe_accepts(describe_type: str, chosen: str) -> bool:
    if describe_type == chosen:
        return True
    if describe_type in _TEXTISH and chosen in ("string", "textarea") and describe_type not in ("id",):
        return True
    return describe_type in _NUMERIC and chosen in _NUMERIC


def mapping_problems(mappings: list[dict], *, check) -> tuple[list[dict[str, str]], list[str]]:
    """Each row's problems by column (title, sf_field, sf_type, target) and the problems of the
    whole list (an essential target unmapped, a target mapped twice). `check`: the query's
    SoqlCheck (its selected fields and, when checked against the org, their types)."""
    rows: list[dict[str, str]] = []
    seen_targets: dict[str, int] = {}
    for index, row in enumerate(mappings):
        errors: dict[str, str] = {}
        title, sf_field = str(row.get("title", "")).strip(), str(row.get("sf_field", "")).strip()
        sf_type, target = str(row.get("sf_type", "")), str(row.get("target", ""))
        if not title:
            errors["title"] = "Give the field a title."
        elif len(title) > TITLE_MAX:
            errors["title"] = f"At most {TITLE_MAX} characters."
        if not sf_field:
            errors["sf_field"] = "Enter the field's API name."
        elif check.parsed is not None and not check.parsed.selects(sf_field):
            errors["sf_field"] = f"{sf_field} is not selected by the query: add it to the SELECT list."
        if sf_type not in SF_TYPES:
            errors["sf_type"] = "Choose the Salesforce data type."
        elif sf_field.lower() in check.field_types and not _describe_accepts(check.field_types[sf_field.lower()], sf_type):
            errors["sf_type"] = f"{sf_field} is a {check.field_types[sf_field.lower()]} field in Salesforce, not {SF_TYPES[sf_type]}."
        elif target in _TARGET_TYPES and sf_type not in _TARGET_TYPES[target]:
            allowed = ", ".join(SF_TYPES[t] for t in sorted(_TARGET_TYPES[target]))
            errors["sf_type"] = f"{TARGETS[target]} takes {allowed}."
        if target not in TARGETS:
            errors["target"] = "Choose a Cothon field."
        elif target == "salesforce_id" and sf_field.lower() != "id":
            errors["target"] = "The record id is the query's Id field."
        elif target not in REPEATABLE_TARGETS and target in seen_targets:
            errors["target"] = f"{TARGETS[target]} is already mapped in row {seen_targets[target] + 1}."
        seen_targets.setdefault(target, index)
        rows.append(errors)
    missing = [TARGETS[t] for t in ESSENTIAL_TARGETS if t not in seen_targets]
    general = [f"Map the essentials: {', '.join(missing)} (SalesPro needs them for every appointment)."] if missing else []
    return rows, general


def improveit_defaults() -> tuple[str, list[dict]]:
    """"Setup for improveit 360": the default query on i360__Appointment__c (the member's own
    appointments from 30 days back) and its mappings. The admin may change both."""
    soql = (
        "SELECT Id, i360__Customer_Name__c, i360__Street__c, i360__City__c, i360__State__c, i360__Zip__c,\n"
        "       i360__Customer_Phone__c, i360__Customer_Email__c, i360__Start__c, i360__Duration__c,\n"
        "       i360__Staff__c, i360__Staff__r.Name\n"
        "FROM i360__Appointment__c\n"
        "WHERE i360__Staff__c = :user_identifier AND i360__Start__c >= LAST_N_DAYS:30\n"
        "ORDER BY i360__Start__c"
    )
    rows = [
        ("Record Id", "Id", "id", "salesforce_id", False),
        ("Customer", "i360__Customer_Name__c", "string", "customer_name", False),
        ("Street", "i360__Street__c", "string", "address", False),
        ("City", "i360__City__c", "string", "address", False),
        ("State", "i360__State__c", "string", "address", False),
        ("Zip", "i360__Zip__c", "string", "address", False),
        ("Phone", "i360__Customer_Phone__c", "phone", "phone", False),
        ("E-mail", "i360__Customer_Email__c", "email", "email", False),
        ("Start", "i360__Start__c", "datetime", "starts_at", False),
        ("Duration", "i360__Duration__c", "double", "duration_minutes", False),
        ("Sales rep", "i360__Staff__r.Name", "string", "", True),
    ]
    mappings = [{"title": t, "sf_field": f, "sf_type": ty, "target": tg, "show_in_notes": n} for t, f, ty, tg, n in rows]
    return soql, mappings


# --- checking and saving ---------------------------------------------------------------------------

@dataclass
class SettingsCheck:
    """Everything wrong with a posted query + mappings: the query's positioned problems, each
    mapping row's problems by column, and problems of the whole form."""

    check: SoqlCheck
    row_errors: list[dict[str, str]] = field(default_factory=list)
    general: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.check.ok and not any(self.row_errors) and not self.general


class AppointmentSettingsInvalid(Exception):
    def __init__(self, result: SettingsCheck) -> None:
        super().__init__("The appointment settings have problems; nothing was saved.")
        self.result = result


def appointment_settings_check(*, connection: SalesforceConnection, soql: str, field_mappings: list[dict]) -> SettingsCheck:
    """Check the query (syntax, then object and fields against the org's describe, read as the
    integration user) and the mappings against it. Makes describe calls when not cached."""
    general: list[str] = []

    def describe(sobject: str) -> dict | None:
        return describe_get(connection=connection, sobject=sobject)
    try:
        check = check_soql(soql, describe=describe)
    except SalesforceError as exc:
        check = check_soql(soql)
        general.append(f"The query could not be checked against the org ({exc.code}): {exc.message}")
    if (check.parsed is not None and connection.credential_mode == CredentialMode.INTEGRATION_USER
            and not any(name == USER_IDENTIFIER for name, _ in check.parsed.placeholders)):
        general.append("With single sign-on the query must filter by :user_identifier (e.g. WHERE i360__Staff__c = "
                       ":user_identifier), or every member would get every appointment.")
    rows, mapping_general = mapping_problems(field_mappings, check=check)
    return SettingsCheck(check=check, row_errors=rows, general=general + mapping_general)


def _normalized(field_mappings: list[dict], check: SoqlCheck) -> list[dict]:
    spelled = {ref.path.lower(): ref.path for ref in (check.parsed.selected if check.parsed else [])}
    return [{"title": str(row.get("title", "")).strip(), "sf_field": spelled.get(str(row.get("sf_field", "")).strip().lower(), row.get("sf_field")),
             "sf_type": row.get("sf_type"), "target": row.get("target", ""), "show_in_notes": bool(row.get("show_in_notes"))}
            for row in field_mappings]


def appointment_settings_save(*, connection: SalesforceConnection, enabled: bool, soql: str, field_mappings: list[dict],
                              actor: AbstractBaseUser | None) -> AppointmentSettings:
    """Save Workflow › CRM and Appointments. Everything is checked first (see
    `appointment_settings_check`); any problem raises AppointmentSettingsInvalid and nothing is
    saved. Switching off with no query saves without checking."""
    soql = soql.strip()
    if enabled or soql or field_mappings:
        result = appointment_settings_check(connection=connection, soql=soql, field_mappings=field_mappings)
        if not result.ok:
            raise AppointmentSettingsInvalid(result)
        field_mappings = _normalized(field_mappings, result.check)
    with transaction.atomic():
        settings, _ = AppointmentSettings.objects.select_for_update().get_or_create(connection=connection)
        settings.enabled, settings.soql, settings.field_mappings, settings.updated_by = enabled, soql, field_mappings, actor
        settings.save()
    return settings


# --- Test query ------------------------------------------------------------------------------------

TEST_LIMIT = 10


@dataclass
class QueryPreview:
    soql: str  # as run: bound and limited
    columns: list[str]
    rows: list[list[str]]


def _cell(record: dict[str, Any], path: str) -> str:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = next((v for k, v in value.items() if k.lower() == part.lower()), None)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def appointment_query_test(*, connection: SalesforceConnection, member: AbstractBaseUser, soql: str) -> QueryPreview:
    """Run the (posted, unsaved) query as `member` with LIMIT 10: single sign-on binds the
    member's identifier and reads as the integration user, multi-user reads in the member's own
    session. Raises AppointmentSetupError (bad query, member not ready) or SalesforceError."""
    parsed_check = check_soql(soql)
    if not parsed_check.ok:
        raise AppointmentSetupError("BAD_QUERY", f"Fix the query first — {parsed_check.problems[0]}")
    link = _member_link(connection, member)
    label = member.get_full_name() or member.get_username()
    if connection.credential_mode == CredentialMode.PER_USER:
        _require_credentials(link, label)
    bound = bind_query(with_limit(soql.strip(), TEST_LIMIT), identifier=(link.unique_identifier if link else ""), member_label=label)
    client = client_for_member(connection=connection, member=member)
    records = client.query(bound).get("records", [])
    columns = [ref.path for ref in parsed_check.parsed.selected] if parsed_check.parsed else []
    return QueryPreview(soql=bound, columns=columns, rows=[[_cell(r, c) for c in columns] for r in records[:TEST_LIMIT]])
