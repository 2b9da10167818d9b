"""What Cothon needs in the org, and installing it through the Tooling API.

The list mirrors the 000 seed's field table, the idempotency keys of decisions.md and the two
custom objects. "Install custom fields" creates what is missing (Tooling API `CustomObject` and
`CustomField`); whatever the org refuses is listed for an admin to create by hand."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from integrations.models import SalesforceConnection
from integrations.salesforce.errors import SalesforceError
from integrations.settings_schema import SalesforceObjects


@dataclass(frozen=True)
class FieldSpec:
    sobject: str
    name: str
    label: str
    metadata: dict[str, Any]

    @property
    def full_name(self) -> str:
        return f"{self.sobject}.{self.name}"

    def describe_line(self) -> str:
        kind = self.metadata["type"]
        extra = []
        if "length" in self.metadata:
            extra.append(str(self.metadata["length"]))
        if self.metadata.get("externalId"):
            extra.append("External ID")
        if self.metadata.get("unique"):
            extra.append("Unique")
        if kind == "Picklist":
            extra.append("values: " + ", ".join(v["fullName"] for v in self.metadata["valueSet"]["valueSetDefinition"]["value"]))
        if "referenceTo" in self.metadata:
            extra.append(f"to {self.metadata['referenceTo']}")
        return f"{self.full_name} — {self.label} ({kind}{', ' + ', '.join(extra) if extra else ''})"


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    label: str
    plural_label: str
    name_field: dict[str, Any]
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)


def _text(obj: str, name: str, label: str, length: int, **flags: Any) -> FieldSpec:
    return FieldSpec(obj, name, label, {"type": "Text", "label": label, "length": length, **flags})


def _picklist(obj: str, name: str, label: str, values: list[str], restricted: bool = True) -> FieldSpec:
    return FieldSpec(obj, name, label, {
        "type": "Picklist", "label": label,
        "valueSet": {"restricted": restricted, "valueSetDefinition": {"sorted": False, "value": [{"fullName": v, "default": False, "label": v} for v in values]}},
    })


def _number(obj: str, name: str, label: str, kind: str, precision: int, scale: int) -> FieldSpec:
    return FieldSpec(obj, name, label, {"type": kind, "label": label, "precision": precision, "scale": scale})


def _long_text(obj: str, name: str, label: str) -> FieldSpec:
    return FieldSpec(obj, name, label, {"type": "LongTextArea", "label": label, "length": 32768, "visibleLines": 5})


OPPORTUNITY_FIELDS = (
    _text("Opportunity", "Cothon_Ref__c", "Cothon Reference", 50, externalId=True, unique=True),
    _text("Opportunity", "Cothon_Full_Title__c", "Full Title", 255),
    _number("Opportunity", "Cothon_Max_Value__c", "Maximum Value", "Currency", 18, 2),
    _picklist("Opportunity", "Cothon_Method__c", "Procurement Method", ["RFP", "RFQ", "Standing Offer", "Supply Arrangement", "Task Authorization"]),
    _text("Opportunity", "Cothon_Location__c", "Location", 100),
    # Carried by each push's write: tells whether a write whose worker died landed (docs/conflicts.md).
    _text("Opportunity", "Cothon_Push_Token__c", "Cothon Push Token", 32),
    _text("Opportunity", "Cothon_UNSPSC__c", "UNSPSC Code", 20),
    _number("Opportunity", "Cothon_Compliance__c", "Compliance Score", "Percent", 3, 0),
    _picklist("Opportunity", "Cothon_Pursuit__c", "Pursuit Decision", ["Pursue", "Pass", "Review Needed"]),
    _picklist("Opportunity", "Cothon_Analysis_Status__c", "Analysis Status", ["Not Started", "In Progress", "Complete"]),
    FieldSpec("Opportunity", "Cothon_Last_Analysis__c", "Last Analyzed", {"type": "DateTime", "label": "Last Analyzed"}),
    _text("Opportunity", "Cothon_Source__c", "Source", 100),
    FieldSpec("Opportunity", "Cothon_Url__c", "Cothon URL", {"type": "Url", "label": "Cothon URL"}),
)
KEY_FIELDS = (
    _text("Account", "Cothon_Department_Key__c", "Cothon Department Key", 100, externalId=True, unique=True),
    _text("Activity", "Cothon_Activity_Key__c", "Cothon Activity Key", 100, externalId=True, unique=True),
    _text("ContentVersion", "Cothon_File_Key__c", "Cothon File Key", 100, externalId=True),
)
ANALYSIS_OBJECT = ObjectSpec(
    "Cothon_Analysis__c", "Cothon Analysis", "Cothon Analyses", {"type": "Text", "label": "Analysis Name"},
    (
        FieldSpec("Cothon_Analysis__c", "Cothon_Opportunity__c", "Opportunity", {
            "type": "Lookup", "label": "Opportunity", "referenceTo": "Opportunity",
            "relationshipName": "Cothon_Analyses", "deleteConstraint": "SetNull"}),
        _text("Cothon_Analysis__c", "Cothon_Key__c", "Cothon Key", 80, externalId=True, unique=True),
        _number("Cothon_Analysis__c", "Cothon_Compliance__c", "Compliance Score", "Percent", 5, 2),
        _picklist("Cothon_Analysis__c", "Cothon_Status__c", "Status", ["Not Started", "In Progress", "Complete"], restricted=False),
        _picklist("Cothon_Analysis__c", "Cothon_Recommendation__c", "Recommendation", ["Pursue", "Pass", "Review Needed"], restricted=False),
        _long_text("Cothon_Analysis__c", "Cothon_Summary__c", "Summary"),
        _long_text("Cothon_Analysis__c", "Cothon_Risks__c", "Risks"),
        _long_text("Cothon_Analysis__c", "Cothon_Opportunities__c", "Opportunities"),
        _number("Cothon_Analysis__c", "Cothon_Requirements_Total__c", "Requirements Total", "Number", 6, 0),
        _number("Cothon_Analysis__c", "Cothon_Requirements_Met__c", "Requirements Met", "Number", 6, 0),
        FieldSpec("Cothon_Analysis__c", "Cothon_Analyzed_At__c", "Analyzed At", {"type": "DateTime", "label": "Analyzed At"}),
    ),
)
REQUIREMENT_OBJECT = ObjectSpec(
    "Cothon_Requirement__c", "Cothon Requirement", "Cothon Requirements",
    {"type": "AutoNumber", "label": "Requirement Number", "displayFormat": "REQ-{000000}"},
    (
        FieldSpec("Cothon_Requirement__c", "Cothon_Analysis__c", "Analysis", {
            "type": "MasterDetail", "label": "Analysis", "referenceTo": "Cothon_Analysis__c",
            "relationshipName": "Cothon_Requirements"}),
        _text("Cothon_Requirement__c", "Cothon_Key__c", "Cothon Key", 80, externalId=True, unique=True),
        _picklist("Cothon_Requirement__c", "Cothon_Type__c", "Type", ["Mandatory", "Rated"]),
        _picklist("Cothon_Requirement__c", "Cothon_Capability_Match__c", "Capability Match", ["Met", "Partial", "Not Met", "Unknown"], restricted=False),
        _long_text("Cothon_Requirement__c", "Cothon_Text__c", "Requirement Text"),
        _text("Cothon_Requirement__c", "Cothon_Section__c", "Section", 80),
        _number("Cothon_Requirement__c", "Cothon_Order__c", "Order", "Number", 6, 0),
        _number("Cothon_Requirement__c", "Cothon_Points__c", "Points", "Number", 8, 2),
    ),
)
CUSTOM_OBJECTS = (ANALYSIS_OBJECT, REQUIREMENT_OBJECT)
STANDARD_OBJECT_FIELDS = OPPORTUNITY_FIELDS + KEY_FIELDS


def _renamer(objects: SalesforceObjects):
    """Default object name → the one these settings configure (a custom object may replace one)."""
    default = SalesforceObjects()
    names = {getattr(default, key): getattr(objects, key) for key in ("opportunity", "account", "analysis", "requirement")}
    return lambda name: names.get(name, name)


def _retarget_field(spec: FieldSpec, rename) -> FieldSpec:
    metadata = spec.metadata
    if "referenceTo" in metadata:
        metadata = {**metadata, "referenceTo": rename(metadata["referenceTo"])}
    return replace(spec, sobject=rename(spec.sobject), metadata=metadata)


def specs_for(objects: SalesforceObjects) -> tuple[tuple[FieldSpec, ...], tuple[ObjectSpec, ...]]:
    """(fields on existing objects, custom objects) for the objects a connection's settings name:
    the opportunity fields go to the configured opportunity object, the lookups point at it."""
    rename = _renamer(objects)
    standard = tuple(_retarget_field(f, rename) for f in STANDARD_OBJECT_FIELDS)
    custom = tuple(replace(o, name=rename(o.name), fields=tuple(_retarget_field(f, rename) for f in o.fields))
                   for o in CUSTOM_OBJECTS)
    return standard, custom


def connection_specs(*, connection: SalesforceConnection) -> tuple[tuple[FieldSpec, ...], tuple[ObjectSpec, ...]]:
    from integrations.sync_settings import sync_settings_for

    return specs_for(sync_settings_for(connection=connection).objects)


@dataclass
class InstallPlan:
    missing_objects: list[ObjectSpec] = field(default_factory=list)
    missing_fields: list[FieldSpec] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing_objects and not self.missing_fields


@dataclass
class InstallResult:
    created: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (full name, why) — create by hand
    plan: InstallPlan | None = None


def _described_names(connection: SalesforceConnection, sobject: str) -> set[str] | None:
    from integrations.sync_settings import describe_get

    # Task and Event carry Activity's custom fields: look at Task.
    payload = describe_get(connection=connection, sobject="Task" if sobject == "Activity" else sobject,
                           max_age=__import__("datetime").timedelta(0))
    if payload is None:
        return None
    return {f["name"] for f in payload.get("fields", [])}


def install_plan(*, connection: SalesforceConnection) -> InstallPlan:
    """What is missing in the org (reads describes: one call per object), for the objects the
    connection's settings name."""
    plan = InstallPlan()
    standard, custom = connection_specs(connection=connection)
    for sobject in sorted({f.sobject for f in standard}):
        names = _described_names(connection, sobject) or set()
        plan.missing_fields.extend(f for f in standard if f.sobject == sobject and f.name not in names)
    for obj in custom:
        names = _described_names(connection, obj.name)
        if names is None:
            plan.missing_objects.append(obj)
            plan.missing_fields.extend(obj.fields)
        else:
            plan.missing_fields.extend(f for f in obj.fields if f.name not in names)
    return plan


def install_custom_fields(*, connection: SalesforceConnection) -> InstallResult:
    """Create the missing objects, then the missing fields, through the Tooling API."""
    from integrations.connections import client_for
    from integrations.sync_settings import describe_forget

    plan = install_plan(connection=connection)
    result = InstallResult(plan=plan)
    client = client_for(connection)
    failed_objects = set()
    for obj in plan.missing_objects:
        body = {"FullName": obj.name, "Metadata": {"label": obj.label, "pluralLabel": obj.plural_label,
                                                   "nameField": obj.name_field, "deploymentStatus": "Deployed",
                                                   "sharingModel": "ReadWrite"}}
        try:
            client.rest("POST", "tooling/sobjects/CustomObject", json=body)
            result.created.append(obj.name)
        except SalesforceError as exc:
            failed_objects.add(obj.name)
            result.failed.append((obj.name, f"{exc.code}: {exc.message}"))
    for spec in plan.missing_fields:
        if spec.sobject in failed_objects:
            result.failed.append((spec.full_name, f"its object {spec.sobject} could not be created"))
            continue
        try:
            client.rest("POST", "tooling/sobjects/CustomField", json={"FullName": spec.full_name, "Metadata": spec.metadata})
            result.created.append(spec.full_name)
        except SalesforceError as exc:
            result.failed.append((spec.full_name, f"{exc.code}: {exc.message}"))
    describe_forget(connection=connection)
    return result
