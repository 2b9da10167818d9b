"""Object metadata: describes built from real captured describes plus the org definition.

Standard objects whose real describe ships in ``standard_objects/`` (Account, Contact,
Opportunity, Event, Lead, Case, OpportunityContactRole) keep every standard field exactly as a
real org describes it; the capturing org's own custom fields are dropped and the org
definition's custom fields are added. Objects without a captured describe (Task, Note,
Attachment, Content*, User, Profile, Organization, RecordType) and custom objects are built in
the same shape. ``FieldMeta``/``ObjectMeta`` are the compact runtime view that validation,
storage and SOQL use; the describe dict is what the API returns.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import ids
from .orgdef import ObjectSpec, OrgDef, Profile

STANDARD_DIR = Path(__file__).with_name("standard_objects")
CAPTURED = ("Account", "Contact", "Opportunity", "Event", "Lead", "Case", "OpportunityContactRole")
HAND_BUILT = (
    "Task",
    "Note",
    "Attachment",
    "ContentVersion",
    "ContentDocument",
    "ContentDocumentLink",
    "User",
    "Profile",
    "Organization",
    "RecordType",
)
# Placeholders in cached describe JSON, replaced per response (the version and the host vary).
VERSION_PH = "vxx.0"
HOST_PH = "https://orgname.my.salesforce.com"

SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
    "base64": "xsd:base64Binary",
    "address": "urn:address",
}
DEFAULT_LENGTHS = {"email": 80, "phone": 40, "url": 255, "picklist": 255, "multipicklist": 4099,
                   "string": 255, "textarea": 255, "combobox": 255, "reference": 18, "id": 18}
NUMERIC = {"int", "double", "currency", "percent"}
TEXTUAL = {"string", "textarea", "picklist", "multipicklist", "email", "phone", "url", "combobox",
           "encryptedstring"}


@lru_cache(maxsize=None)
def _captured(name: str) -> dict[str, Any]:
    text = (STANDARD_DIR / f"{name}.json").read_text(encoding="utf-8")
    # Captures name their own API version and host; turn both into our placeholders.
    text = re.sub(r"/services/data/v(?:\d+\.0|xx\.0)/", f"/services/data/{VERSION_PH}/", text)
    text = re.sub(r"https://[A-Za-z0-9.-]+\.(?:salesforce|force)\.com", HOST_PH, text)
    return json.loads(text)


def _template_field() -> dict[str, Any]:
    base = next(f for f in _captured("Account")["fields"] if f["name"] == "Name")
    return copy.deepcopy(base)


def make_field(name: str, ftype: str, label: str, **opts: Any) -> dict[str, Any]:
    """A describe field dict with every key real describes carry, filled for `ftype`."""
    fld = _template_field()
    length = opts.pop("length", DEFAULT_LENGTHS.get(ftype, 0))
    if ftype in TEXTUAL or ftype in ("id", "reference"):
        byte_length = length * 3 if ftype not in ("id", "reference") else 18
    else:
        length, byte_length = 0, 0
    long_text = opts.pop("long", False)
    fld.update(
        name=name,
        label=label,
        type=ftype,
        soapType=SOAP_TYPES.get(ftype, "xsd:string"),
        length=length,
        byteLength=byte_length,
        custom=name.endswith("__c"),
        nameField=False,
        nillable=True,
        createable=True,
        updateable=True,
        defaultedOnCreate=False,
        permissionable=name.endswith("__c"),
        compoundFieldName=None,
        extraTypeInfo=None,
        precision=0,
        scale=0,
        digits=0,
        idLookup=False,
        unique=False,
        externalId=False,
        picklistValues=[],
        restrictedPicklist=False,
        referenceTo=[],
        relationshipName=None,
        cascadeDelete=False,
        aggregatable=True,
        filterable=True,
        groupable=True,
        sortable=True,
        caseSensitive=False,
        polymorphicForeignKey=False,
        writeRequiresMasterRead=False,
        defaultValue=None,
        autoNumber=False,
        calculated=False,
        htmlFormatted=False,
        searchPrefilterable=False,
    )
    if ftype == "textarea":
        fld.update(extraTypeInfo="plaintextarea", filterable=not long_text and length <= 255,
                   groupable=False, sortable=not long_text and length <= 255,
                   aggregatable=not long_text and length <= 255)
        if length > 255:
            fld.update(filterable=False, sortable=False, aggregatable=False)
    if ftype in ("double", "currency", "percent"):
        fld.update(precision=opts.pop("precision", 18), scale=opts.pop("scale", 0), groupable=False)
    if ftype == "int":
        fld.update(digits=opts.pop("digits", 9))
    if ftype in ("datetime", "base64", "address"):
        fld.update(groupable=False)
    if ftype in ("base64", "address"):
        fld.update(filterable=False, sortable=False, aggregatable=False)
    if ftype == "boolean":
        fld.update(nillable=False, defaultedOnCreate=True, defaultValue=opts.pop("default", False),
                   aggregatable=False)
    if ftype in ("picklist", "multipicklist", "combobox"):
        values = opts.pop("values", [])
        default = opts.pop("default", None)
        fld["picklistValues"] = picklist_values(values, default)
        fld["restrictedPicklist"] = bool(opts.pop("restricted", False))
        if default is not None:
            fld["defaultedOnCreate"] = True
    if ftype == "reference":
        refs = opts.pop("reference_to", [])
        fld["referenceTo"] = list(refs if isinstance(refs, (list, tuple)) else [refs])
        fld["relationshipName"] = opts.pop("relationship_name", None)
        fld["polymorphicForeignKey"] = len(fld["referenceTo"]) > 1
        fld["searchPrefilterable"] = True
    if ftype == "id":
        fld.update(nillable=False, createable=False, updateable=False, defaultedOnCreate=True,
                   idLookup=True, label=label)
    for key, value in opts.items():
        fld[key] = value
    return fld


def picklist_values(values: list[str], default: str | None = None) -> list[dict[str, Any]]:
    return [
        {"active": True, "defaultValue": v == default, "label": v, "validFor": None, "value": v}
        for v in values
    ]


def _system_fields(owner: bool = True) -> list[dict[str, Any]]:
    ro = {"createable": False, "updateable": False, "nillable": False, "defaultedOnCreate": True}
    out = [
        make_field("IsDeleted", "boolean", "Deleted", createable=False, updateable=False),
        make_field("CreatedDate", "datetime", "Created Date", **ro),
        make_field("CreatedById", "reference", "Created By ID", reference_to=["User"],
                   relationship_name="CreatedBy", **ro),
        make_field("LastModifiedDate", "datetime", "Last Modified Date", **ro),
        make_field("LastModifiedById", "reference", "Last Modified By ID", reference_to=["User"],
                   relationship_name="LastModifiedBy", **ro),
        make_field("SystemModstamp", "datetime", "System Modstamp", **ro),
    ]
    if owner:
        out.append(make_field("OwnerId", "reference", "Owner ID", reference_to=["User"],
                              relationship_name="Owner", nillable=False, defaultedOnCreate=True))
    return out


def _object_shell(name: str, label: str, plural: str, prefix: str, custom: bool,
                  **flags: Any) -> dict[str, Any]:
    """Top-level describe keys, in the captured describes' shape."""
    shell = {k: copy.deepcopy(v) for k, v in _captured("Account").items()
             if k not in ("fields", "childRelationships")}
    shell.update(
        name=name, label=label, labelPlural=plural, keyPrefix=prefix, custom=custom,
        actionOverrides=[], namedLayoutInfos=[], supportedScopes=[
            {"label": "All " + plural.lower(), "name": "everything"},
            {"label": "My " + plural.lower(), "name": "mine"},
        ],
        recordTypeInfos=[{
            "active": True, "available": True, "defaultRecordTypeMapping": True,
            "developerName": "Master", "master": True, "name": "Master",
            "recordTypeId": "012000000000000AAA",
            "urls": {"layout": f"/services/data/{VERSION_PH}/sobjects/{name}/describe/layouts/012000000000000AAA"},
        }],
        urls=_urls(name, prefix), mergeable=False, feedEnabled=False, mruEnabled=custom,
        customSetting=False, deepCloneable=False, hasSubtypes=False, isSubtype=False,
    )
    shell.update(flags)
    return shell


def _urls(name: str, prefix: str) -> dict[str, str]:
    base = f"/services/data/{VERSION_PH}/sobjects/{name}"
    return {
        "compactLayouts": f"{base}/describe/compactLayouts",
        "rowTemplate": f"{base}/{{ID}}",
        "approvalLayouts": f"{base}/describe/approvalLayouts",
        "uiDetailTemplate": f"{HOST_PH}/{{ID}}",
        "uiEditTemplate": f"{HOST_PH}/{{ID}}/e",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "listviews": f"{base}/listviews",
        "describe": f"{base}/describe",
        "uiNewRecord": f"{HOST_PH}/{prefix}/e",
        "quickActions": f"{base}/quickActions",
        "layouts": f"{base}/describe/layouts",
        "sobject": base,
    }


def child_rel(child: str, fld: str, rel: str | None, cascade: bool) -> dict[str, Any]:
    return {"cascadeDelete": cascade, "childSObject": child, "deprecatedAndHidden": False,
            "field": fld, "junctionIdListNames": [], "junctionReferenceTo": [],
            "relationshipName": rel, "restrictedDelete": False}


ACTIVITY_CHILDREN = [
    child_rel("Attachment", "ParentId", "Attachments", True),
    child_rel("ContentDocumentLink", "LinkedEntityId", "ContentDocumentLinks", True),
    child_rel("Event", "WhatId", "Events", True),
    child_rel("Note", "ParentId", "Notes", True),
    child_rel("Task", "WhatId", "Tasks", True),
]

_TASK_FROM_EVENT = ("Id", "WhoId", "WhatId", "Subject", "ActivityDate", "OwnerId", "Description",
                    "IsDeleted", "AccountId", "IsPrivate", "CreatedDate", "CreatedById",
                    "LastModifiedDate", "LastModifiedById", "SystemModstamp", "IsArchived",
                    "ReminderDateTime", "IsReminderSet", "RecurrenceActivityId", "IsRecurrence")


def _task() -> dict[str, Any]:
    event = _captured("Event")
    by_name = {f["name"]: f for f in event["fields"]}
    fields = []
    for fname in _TASK_FROM_EVENT:
        fld = copy.deepcopy(by_name[fname])
        fld["label"] = fld["label"].replace("Event", "Task") if fname == "Id" else fld["label"]
        if fname == "RecurrenceActivityId":
            fld["referenceTo"] = ["Task"]
        fields.append(fld)
    ins = fields.index(next(f for f in fields if f["name"] == "ActivityDate")) + 1
    fields[ins:ins] = [
        make_field("Status", "picklist", "Status", length=40, nillable=False, default="Not Started",
                   values=["Not Started", "In Progress", "Completed", "Waiting on someone else",
                           "Deferred"]),
        make_field("Priority", "picklist", "Priority", length=40, nillable=False, default="Normal",
                   values=["High", "Normal", "Low"]),
        make_field("IsHighPriority", "boolean", "High Priority", createable=False, updateable=False),
    ]
    fields += [
        make_field("IsClosed", "boolean", "Closed", createable=False, updateable=False),
        make_field("CallDurationInSeconds", "int", "Call Duration", digits=8),
        make_field("CallType", "picklist", "Call Type", length=40,
                   values=["Internal", "Inbound", "Outbound"]),
        make_field("CallDisposition", "string", "Call Result", length=255),
        make_field("CallObject", "string", "Call Object Identifier", length=255),
        make_field("TaskSubtype", "picklist", "Task Subtype", length=40, updateable=False,
                   values=["Task", "Email", "ListEmail", "Cadence", "Call"]),
        make_field("CompletedDateTime", "datetime", "Completed Date/Time", createable=False,
                   updateable=False),
    ]
    shell = {k: copy.deepcopy(v) for k, v in event.items() if k not in ("fields", "childRelationships")}
    shell.update(name="Task", label="Task", labelPlural="Tasks", keyPrefix="00T",
                 urls=_urls("Task", "00T"))
    shell["recordTypeInfos"] = _object_shell("Task", "Task", "Tasks", "00T", False)["recordTypeInfos"]
    shell["fields"] = fields
    shell["childRelationships"] = [
        child_rel("Attachment", "ParentId", "Attachments", True),
        child_rel("ContentDocumentLink", "LinkedEntityId", "ContentDocumentLinks", True),
        child_rel("Task", "RecurrenceActivityId", "RecurringTasks", True),
    ]
    return shell


def _hand_built(name: str, parents: list[str]) -> dict[str, Any]:
    """Describes for standard objects no captured describe exists for."""
    F = make_field
    ro = {"createable": False, "updateable": False}
    prefix = ids.STANDARD_PREFIXES[name]
    id_field = F("Id", "id", f"{name} ID")
    children: list[dict[str, Any]] = []
    flags: dict[str, Any] = {}
    if name == "Note":
        fields = [id_field, F("IsDeleted", "boolean", "Deleted", **ro),
                  F("ParentId", "reference", "Parent ID", reference_to=parents,
                    relationship_name="Parent", nillable=False, updateable=False),
                  F("Title", "string", "Title", length=80, nillable=False, nameField=True),
                  F("IsPrivate", "boolean", "Private"),
                  F("Body", "textarea", "Body", length=32000, long=True),
                  *_system_fields()]
        flags = {"feedEnabled": False, "searchable": False}
    elif name == "Attachment":
        fields = [id_field, F("IsDeleted", "boolean", "Deleted", **ro),
                  F("ParentId", "reference", "Parent ID", reference_to=parents,
                    relationship_name="Parent", nillable=False, updateable=False),
                  F("Name", "string", "File Name", length=255, nillable=False, nameField=True),
                  F("IsPrivate", "boolean", "Private"),
                  F("ContentType", "string", "Content Type", length=120),
                  F("BodyLength", "int", "Body Length", digits=18, **ro),
                  F("Body", "base64", "Body", nillable=False, length=0),
                  F("Description", "textarea", "Description", length=500),
                  *_system_fields()]
        flags = {"searchable": False}
    elif name == "ContentVersion":
        fields = [id_field,
                  F("ContentDocumentId", "reference", "ContentDocument ID",
                    reference_to=["ContentDocument"], relationship_name="ContentDocument",
                    updateable=False),
                  F("IsLatest", "boolean", "Is Latest", **ro),
                  F("ContentUrl", "url", "Content URL", length=1300),
                  F("VersionNumber", "string", "Version Number", length=20, **ro),
                  F("Title", "string", "Title", length=255, nillable=False, nameField=True),
                  F("Description", "textarea", "Description", length=1000),
                  F("ReasonForChange", "string", "Reason For Change", length=1000),
                  F("PathOnClient", "string", "Path On Client", length=500, updateable=False),
                  F("FirstPublishLocationId", "reference", "First Publish Location ID",
                    reference_to=parents, relationship_name="FirstPublishLocation",
                    updateable=False),
                  F("Origin", "picklist", "Content Origin", length=40, values=["C", "H"],
                    default="C", updateable=False),
                  F("ContentLocation", "picklist", "Content Location", length=40,
                    values=["S", "E", "L"], default="S", updateable=False),
                  F("SharingOption", "picklist", "Prevent others from sharing and unsharing",
                    length=40, values=["A", "R"], default="A"),
                  F("SharingPrivacy", "picklist", "File Privacy on Records", length=40,
                    values=["N", "P"], default="N"),
                  F("FileType", "string", "File Type", length=20, **ro),
                  F("FileExtension", "string", "File Extension", length=40, **ro),
                  F("PublishStatus", "picklist", "Publish Status", length=40,
                    values=["U", "P", "R"], **ro),
                  F("ContentSize", "int", "Size", digits=9, **ro),
                  F("Checksum", "string", "Checksum", length=50, **ro),
                  F("VersionData", "base64", "Version Data", length=0),
                  F("IsDeleted", "boolean", "Deleted", **ro),
                  *_system_fields()]
        flags = {"deletable": False}
    elif name == "ContentDocument":
        fields = [id_field, *_system_fields(), F("IsDeleted", "boolean", "Deleted", **ro),
                  F("IsArchived", "boolean", "Is Archived", **ro),
                  F("Title", "string", "Title", length=255, nillable=False, nameField=True,
                    createable=False),
                  F("PublishStatus", "picklist", "Publish Status", length=40,
                    values=["U", "P", "R"], **ro),
                  F("LatestPublishedVersionId", "reference", "Latest Published Version ID",
                    reference_to=["ContentVersion"], relationship_name="LatestPublishedVersion",
                    **ro),
                  F("Description", "textarea", "Description", length=1000, createable=False),
                  F("ContentSize", "int", "Size", digits=9, **ro),
                  F("FileType", "string", "File Type", length=20, **ro),
                  F("FileExtension", "string", "File Extension", length=40, **ro),
                  F("ContentModifiedDate", "datetime", "Content Modified Date", **ro)]
        flags = {"createable": False}
        children = [
            child_rel("ContentDocumentLink", "ContentDocumentId", "ContentDocumentLinks", True),
            child_rel("ContentVersion", "ContentDocumentId", "ContentVersions", True),
        ]
    elif name == "ContentDocumentLink":
        fields = [id_field,
                  F("LinkedEntityId", "reference", "Linked Entity ID", reference_to=parents,
                    relationship_name="LinkedEntity", nillable=False, updateable=False),
                  F("ContentDocumentId", "reference", "ContentDocument ID",
                    reference_to=["ContentDocument"], relationship_name="ContentDocument",
                    nillable=False, updateable=False),
                  F("IsDeleted", "boolean", "Deleted", **ro),
                  F("SystemModstamp", "datetime", "System Modstamp", nillable=False,
                    defaultedOnCreate=True, **ro),
                  F("ShareType", "picklist", "Share Type", length=40, values=["V", "C", "I"],
                    default="V"),
                  F("Visibility", "picklist", "Visibility", length=40,
                    values=["AllUsers", "InternalUsers", "SharedUsers"], default="AllUsers")]
        flags = {"searchable": False, "layoutable": False}
    elif name == "User":
        fields = [id_field,
                  F("Username", "string", "Username", length=80, nillable=False, unique=True,
                    idLookup=True),
                  F("LastName", "string", "Last Name", length=80, nillable=False),
                  F("FirstName", "string", "First Name", length=40),
                  F("Name", "string", "Full Name", length=121, nillable=False, nameField=True,
                    **ro),
                  F("CompanyName", "string", "Company Name", length=80),
                  F("Department", "string", "Department", length=80),
                  F("Title", "string", "Title", length=80),
                  F("Email", "email", "Email", length=128, nillable=False),
                  F("Phone", "phone", "Phone"),
                  F("Alias", "string", "Alias", length=8, nillable=False),
                  F("CommunityNickname", "string", "Nickname", length=40),
                  F("IsActive", "boolean", "Active", default=True),
                  F("TimeZoneSidKey", "picklist", "Time Zone", length=40, nillable=False,
                    values=["America/Toronto", "America/Los_Angeles", "America/Chicago",
                            "America/New_York", "GMT"]),
                  F("LocaleSidKey", "picklist", "Locale", length=40, nillable=False,
                    values=["en_CA", "en_US", "fr_CA"]),
                  F("EmailEncodingKey", "picklist", "Email Encoding", length=40, nillable=False,
                    values=["UTF-8", "ISO-8859-1"]),
                  F("ProfileId", "reference", "Profile ID", reference_to=["Profile"],
                    relationship_name="Profile", nillable=False),
                  F("UserType", "picklist", "User Type", length=40, values=["Standard"], **ro),
                  F("LanguageLocaleKey", "picklist", "Language", length=40, nillable=False,
                    values=["en_US", "fr"]),
                  F("ManagerId", "reference", "Manager ID", reference_to=["User"],
                    relationship_name="Manager"),
                  F("LastLoginDate", "datetime", "Last Login", **ro),
                  *_system_fields(owner=False)]
        flags = {"deletable": False}
    elif name == "Profile":
        fields = [id_field, F("Name", "string", "Name", length=255, nillable=False,
                               nameField=True),
                  F("UserType", "picklist", "User Type", length=40, values=["Standard"], **ro),
                  F("Description", "string", "Description", length=255),
                  F("PermissionsApiEnabled", "boolean", "API Enabled"),
                  F("PermissionsViewAllData", "boolean", "View All Data"),
                  F("PermissionsModifyAllData", "boolean", "Modify All Data"),
                  *_system_fields(owner=False)]
        flags = {"createable": False, "deletable": False, "updateable": False}
    elif name == "Organization":
        fields = [id_field, F("Name", "string", "Name", length=80, nillable=False,
                               nameField=True),
                  F("Division", "string", "Division", length=80),
                  F("Street", "textarea", "Street", length=255),
                  F("City", "string", "City", length=40),
                  F("State", "string", "State/Province", length=80),
                  F("PostalCode", "string", "Zip/Postal Code", length=20),
                  F("Country", "string", "Country", length=80),
                  F("Phone", "phone", "Phone"),
                  F("PrimaryContact", "string", "Primary Contact", length=80),
                  F("DefaultLocaleSidKey", "picklist", "Locale", length=40,
                    values=["en_CA", "en_US", "fr_CA"]),
                  F("TimeZoneSidKey", "picklist", "Time Zone", length=40,
                    values=["America/Toronto", "America/Los_Angeles", "GMT"]),
                  F("LanguageLocaleKey", "picklist", "Language", length=40, values=["en_US", "fr"]),
                  F("FiscalYearStartMonth", "int", "Fiscal Year Starts In", digits=9, **ro),
                  F("OrganizationType", "picklist", "Edition", length=40,
                    values=["Developer Edition", "Enterprise Edition", "Unlimited Edition",
                            "Professional Edition"], **ro),
                  F("NamespacePrefix", "string", "Namespace Prefix", length=15, **ro),
                  F("InstanceName", "string", "Instance Name", length=5, **ro),
                  F("IsSandbox", "boolean", "Is Sandbox", **ro),
                  F("TrialExpirationDate", "datetime", "Trial Expiration Date", **ro),
                  F("IsReadOnly", "boolean", "Is Read Only", **ro),
                  *_system_fields(owner=False)]
        for fld in fields:
            fld["createable"] = False
        flags = {"createable": False, "deletable": False, "updateable": False}
    elif name == "RecordType":
        fields = [id_field, F("Name", "string", "Name", length=80, nillable=False,
                               nameField=True),
                  F("DeveloperName", "string", "Record Type Name", length=80, nillable=False),
                  F("NamespacePrefix", "string", "Namespace Prefix", length=15, **ro),
                  F("Description", "string", "Description", length=255),
                  F("SobjectType", "picklist", "SObject Type Name", length=40, nillable=False,
                    values=["Account", "Contact", "Opportunity", "Lead", "Case"]),
                  F("IsActive", "boolean", "Active"),
                  *_system_fields(owner=False)]
        flags = {"createable": False, "deletable": False, "updateable": False}
    else:  # pragma: no cover - HAND_BUILT is closed
        raise KeyError(name)
    plural = {"ContentDocument": "Content Documents", "ContentVersion": "Content Versions",
              "ContentDocumentLink": "Content Document Links"}.get(name, name + "s")
    label = {"ContentDocument": "Content Document", "ContentVersion": "Content Version",
             "ContentDocumentLink": "Content Document Link", "RecordType": "Record Type"}.get(name, name)
    desc = _object_shell(name, label, plural, prefix, False, **flags)
    desc["fields"] = fields
    desc["childRelationships"] = children + (
        [child_rel("Attachment", "ParentId", "Attachments", True)] if name in ("User",) else [])
    return desc


def _custom_object(spec: ObjectSpec) -> dict[str, Any]:
    F = make_field
    name_spec = spec.name_field or {}
    if name_spec.get("auto_number"):
        name_field = F("Name", "string", name_spec.get("label", "Name"), length=80,
                       nameField=True, autoNumber=True, createable=False, updateable=False,
                       nillable=False, defaultedOnCreate=True, permissionable=False)
    else:
        name_field = F("Name", "string", name_spec.get("label", f"{spec.label} Name"),
                       length=int(name_spec.get("length", 80)), nameField=True, nillable=False,
                       permissionable=False)
    fields = [F("Id", "id", "Record ID"), *_system_fields(), name_field]
    # Move OwnerId first among system fields like real custom objects (order is cosmetic).
    fields.insert(1, fields.pop(next(i for i, f in enumerate(fields) if f["name"] == "OwnerId")))
    fields.insert(2, fields.pop(next(i for i, f in enumerate(fields) if f["name"] == "IsDeleted")))
    master = any(f.get("master_detail") for f in spec.fields.values())
    if master:
        # Master-detail children have no owner: the master's owner controls access.
        fields = [f for f in fields if f["name"] != "OwnerId"]
    fields.append(F("LastActivityDate", "date", "Last Activity Date", createable=False,
                    updateable=False))
    desc = _object_shell(spec.name, spec.label, spec.plural_label, spec.key_prefix, True,
                         feedEnabled=False, mergeable=False, searchable=True)
    desc["fields"] = fields
    desc["childRelationships"] = list(ACTIVITY_CHILDREN)
    return desc


def custom_field(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    ftype = spec.get("type", "string")
    opts: dict[str, Any] = {}
    for key in ("length", "precision", "scale", "values", "restricted", "reference_to",
                "relationship_name", "long", "default"):
        if key in spec:
            opts[key] = spec[key]
    if ftype == "percent" and "precision" not in opts:
        opts["precision"] = 3
    fld = make_field(name, ftype, spec.get("label", name), **opts)
    fld["externalId"] = bool(spec.get("external_id"))
    fld["unique"] = bool(spec.get("unique"))
    fld["idLookup"] = fld["externalId"] or fld["unique"]
    fld["caseSensitive"] = bool(spec.get("case_sensitive", False))
    if spec.get("required"):
        fld["nillable"] = False
    if spec.get("master_detail"):
        fld.update(nillable=False, updateable=False, cascadeDelete=True,
                   writeRequiresMasterRead=False, permissionable=False)
    return fld


@dataclass(slots=True)
class FieldMeta:
    name: str
    type: str
    label: str
    length: int
    precision: int
    scale: int
    digits: int
    nillable: bool
    createable: bool
    updateable: bool
    defaulted: bool
    default_value: Any
    picklist: frozenset[str]
    picklist_default: str | None
    restricted: bool
    reference_to: tuple[str, ...]
    relationship_name: str | None
    unique: bool
    external_id: bool
    id_lookup: bool
    cascade_delete: bool
    custom: bool
    auto_number: str | None
    case_sensitive: bool
    filterable: bool
    sortable: bool
    groupable: bool

    @property
    def required_on_create(self) -> bool:
        return (not self.nillable and self.createable and not self.defaulted
                and self.type != "boolean")

    @classmethod
    def from_describe(cls, d: dict[str, Any], auto_number: str | None = None) -> "FieldMeta":
        values = [p["value"] for p in d.get("picklistValues") or [] if p.get("active")]
        default = next((p["value"] for p in d.get("picklistValues") or [] if p.get("defaultValue")),
                       None)
        return cls(
            name=d["name"], type=d["type"], label=d["label"], length=d.get("length") or 0,
            precision=d.get("precision") or 0, scale=d.get("scale") or 0,
            digits=d.get("digits") or 0, nillable=bool(d["nillable"]),
            createable=bool(d["createable"]), updateable=bool(d["updateable"]),
            defaulted=bool(d["defaultedOnCreate"]), default_value=d.get("defaultValue"),
            picklist=frozenset(values), picklist_default=default,
            restricted=bool(d.get("restrictedPicklist")),
            reference_to=tuple(d.get("referenceTo") or ()),
            relationship_name=d.get("relationshipName"), unique=bool(d.get("unique")),
            external_id=bool(d.get("externalId")), id_lookup=bool(d.get("idLookup")),
            cascade_delete=bool(d.get("cascadeDelete")), custom=bool(d.get("custom")),
            auto_number=auto_number, case_sensitive=bool(d.get("caseSensitive")),
            filterable=bool(d.get("filterable", True)), sortable=bool(d.get("sortable", True)),
            groupable=bool(d.get("groupable", True)),
        )


@dataclass
class ObjectMeta:
    name: str
    key_prefix: str
    custom: bool
    describe: dict[str, Any]
    fields: dict[str, FieldMeta]  # lower-case name -> meta
    children: list[dict[str, Any]] = field(default_factory=list)  # childRelationships
    name_field: str | None = None

    def field(self, name: str) -> FieldMeta | None:
        return self.fields.get(name.lower())


class OrgSchema:
    """All objects of one org, with per-profile describes cached as JSON text."""

    def __init__(self, org: OrgDef):
        self.org = org
        self.objects: dict[str, ObjectMeta] = {}
        self.by_prefix: dict[str, str] = {}
        self._json_cache: dict[tuple[str, str, str], str] = {}
        self._field_cache: dict[tuple[str, str, str], dict[str, FieldMeta]] = {}
        self._build()

    # -- construction -------------------------------------------------------------------
    def _build(self) -> None:
        org = self.org
        custom_specs = [s for s in org.objects.values() if s.custom]
        custom_names = [s.name for s in custom_specs]
        parents = sorted({"Account", "Contact", "Opportunity", "Lead", "Case", "User", "Task",
                          "Event", *custom_names})
        describes: dict[str, dict[str, Any]] = {}
        for name in CAPTURED:
            desc = copy.deepcopy(_captured(name))
            # The capturing org's own customisations are not part of Salesforce's standard
            # object: drop its custom fields and relationships to its custom objects.
            desc["fields"] = [f for f in desc["fields"]
                              if not f.get("custom") and not f["name"].endswith("__c")]
            desc["childRelationships"] = [
                c for c in desc["childRelationships"]
                if not c["childSObject"].endswith("__c") and not c["field"].endswith("__c")
            ]
            describes[name] = desc
        describes["Task"] = _task()
        for name in HAND_BUILT:
            if name != "Task":
                describes[name] = _hand_built(name, parents)
        for spec in custom_specs:
            describes[spec.name] = _custom_object(spec)
        auto_numbers: dict[tuple[str, str], str] = {}
        for spec in custom_specs:
            if spec.name_field.get("auto_number"):
                auto_numbers[(spec.name, "name")] = spec.name_field["auto_number"]
        # Polymorphic parents (WhatId, ParentId, ...) also point at custom objects.
        for obj in ("Task", "Event"):
            what = next(f for f in describes[obj]["fields"] if f["name"] == "WhatId")
            what["referenceTo"] = sorted(set(what["referenceTo"]) | set(custom_names))
        # Org definition fields: overrides of standard fields and new custom fields.
        for spec in org.objects.values():
            targets = ["Task", "Event"] if spec.name == "Activity" else [spec.name]
            for target in targets:
                desc = describes.get(target)
                if desc is None:
                    raise ValueError(f"{org.source}: unknown object {target}")
                by_name = {f["name"]: f for f in desc["fields"]}
                for fname, fspec in spec.fields.items():
                    if fname in by_name and not fname.endswith("__c"):
                        self._override(by_name[fname], fspec)
                    else:
                        new = custom_field(fname, fspec)
                        if fname in by_name:
                            desc["fields"][desc["fields"].index(by_name[fname])] = new
                        else:
                            desc["fields"].append(new)
                        self._link_child(describes, target, fname, fspec)
        for name, desc in describes.items():
            fields = {}
            name_field = None
            for d in desc["fields"]:
                meta = FieldMeta.from_describe(
                    d, auto_numbers.get((name, "name")) if d["name"] == "Name" else None)
                fields[d["name"].lower()] = meta
                if d.get("nameField"):
                    name_field = d["name"]
            self.objects[name.lower()] = ObjectMeta(
                name=name, key_prefix=desc["keyPrefix"], custom=name.endswith("__c"),
                describe=desc, fields=fields, children=desc["childRelationships"],
                name_field=name_field)
            self.by_prefix[desc["keyPrefix"]] = name

    @staticmethod
    def _override(fld: dict[str, Any], spec: dict[str, Any]) -> None:
        if "values" in spec:
            default = spec.get("default")
            fld["picklistValues"] = picklist_values(spec["values"], default)
        if "restricted" in spec:
            fld["restrictedPicklist"] = bool(spec["restricted"])
        if "length" in spec:
            fld["length"] = int(spec["length"])
            fld["byteLength"] = int(spec["length"]) * 3
        if "label" in spec:
            fld["label"] = spec["label"]
        if spec.get("required"):
            fld["nillable"] = False

    @staticmethod
    def _link_child(describes: dict[str, dict[str, Any]], child: str, fname: str,
                    spec: dict[str, Any]) -> None:
        if spec.get("type") != "reference":
            return
        refs = spec.get("reference_to")
        for parent in refs if isinstance(refs, list) else [refs]:
            if parent in describes:
                describes[parent]["childRelationships"].append(child_rel(
                    child, fname, spec.get("child_relationship_name"),
                    bool(spec.get("master_detail"))))

    # -- queries ------------------------------------------------------------------------
    def get(self, name: str) -> ObjectMeta | None:
        return self.objects.get(name.lower())

    def object_for_id(self, record_id: str) -> ObjectMeta | None:
        name = self.by_prefix.get(record_id[:3])
        return self.objects.get(name.lower()) if name else None

    def readable(self, profile: Profile, obj: ObjectMeta) -> bool:
        return "R" in profile.object_perms(obj.name)

    def field_access(self, profile: Profile, obj: ObjectMeta, fld: FieldMeta) -> str:
        # System and id fields are always readable when the object is; FLS applies to the rest.
        if fld.type == "id" or fld.name in SYSTEM_FIELDS or fld.name == obj.name_field:
            return "edit" if fld.createable or fld.updateable else "read"
        return profile.field_access(obj.name, fld.name)

    def visible_fields(self, profile: Profile, obj: ObjectMeta) -> dict[str, FieldMeta]:
        key = ("visible", obj.name, profile.name)
        cached = self._field_cache.get(key)
        if cached is None:
            cached = {k: f for k, f in obj.fields.items()
                      if self.field_access(profile, obj, f) != "none"}
            self._field_cache[key] = cached
        return cached

    def describe_json(self, profile: Profile, obj: ObjectMeta) -> str:
        """The describe as a user of `profile` sees it, with URL placeholders."""
        key = ("describe", obj.name, profile.name)
        cached = self._json_cache.get(key)
        if cached is None:
            desc = dict(obj.describe)
            perms = profile.object_perms(obj.name)
            fields = []
            for d in obj.describe["fields"]:
                meta = obj.fields[d["name"].lower()]
                access = self.field_access(profile, obj, meta)
                if access == "none":
                    continue
                if access == "read" and (d["createable"] or d["updateable"]):
                    d = dict(d, createable=False, updateable=False)
                fields.append(d)
            desc["fields"] = fields
            for flag, letter in (("createable", "C"), ("updateable", "E"), ("deletable", "D")):
                desc[flag] = bool(obj.describe.get(flag)) and letter in perms
            desc["childRelationships"] = [
                c for c in obj.children
                if (child := self.get(c["childSObject"])) is None or self.readable(profile, child)
            ]
            cached = json.dumps(desc)
            self._json_cache[key] = cached
        return cached

    def global_entry(self, profile: Profile, obj: ObjectMeta) -> dict[str, Any]:
        desc = json.loads(self.describe_json(profile, obj))
        keys = [k for k in GLOBAL_KEYS if k in desc]
        entry = {k: desc[k] for k in keys}
        entry["urls"] = {k: v for k, v in desc["urls"].items()
                         if k in ("compactLayouts", "rowTemplate", "approvalLayouts",
                                  "defaultValues", "listviews", "describe", "quickActions",
                                  "layouts", "sobject")}
        return entry


SYSTEM_FIELDS = frozenset({"Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate",
                           "LastModifiedById", "SystemModstamp", "OwnerId"})
GLOBAL_KEYS = ("activateable", "associateEntityType", "associateParentEntity", "createable",
               "custom", "customSetting", "deepCloneable", "deletable", "deprecatedAndHidden",
               "feedEnabled", "hasSubtypes", "isInterface", "isSubtype", "keyPrefix", "label",
               "labelPlural", "layoutable", "mergeable", "mruEnabled", "name", "queryable",
               "replicateable", "retrieveable", "searchable", "triggerable", "undeletable",
               "updateable", "urls")


def render(text: str, version: str, instance_url: str) -> str:
    """Fill the version/host placeholders of cached describe JSON."""
    return text.replace(VERSION_PH, f"v{version}").replace(HOST_PH, instance_url)
