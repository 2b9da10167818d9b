"""Salesforce's own describe shapes, kept apart from the org-specific schema built on them.

Describes must match a real org's key for key, which takes large tables and hand-written field
lists that never depend on the org definition; keeping them here lets ``metadata.py`` stay the
org-definition-driven part (custom objects and fields, overrides) and the runtime view.
"""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import ids
from .editions import ALL_EDITIONS

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
    "OpportunityTeamMember",
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
                    values=list(ALL_EDITIONS), **ro),
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
    elif name == "OpportunityTeamMember":
        # Opportunity teams (Setup › Opportunity Team Settings switched on): a user on the
        # opportunity's team with a role and an access level. No owner: the opportunity's owner
        # controls access; one member per user and opportunity.
        fields = [id_field,
                  F("OpportunityId", "reference", "Opportunity ID", reference_to=["Opportunity"],
                    relationship_name="Opportunity", nillable=False, updateable=False),
                  F("UserId", "reference", "User ID", reference_to=["User"], relationship_name="User",
                    nillable=False, updateable=False),
                  F("Name", "string", "Name", length=121, nameField=True, **ro),
                  F("TeamMemberRole", "picklist", "Team Role", length=40,
                    values=["Account Manager", "Bid Manager", "Channel Manager", "Executive Sponsor",
                            "Lead Qualifier", "Pre-Sales Consultant", "Sales Manager", "Sales Rep",
                            "Other"]),
                  F("OpportunityAccessLevel", "picklist", "Opportunity Access", length=40,
                    values=["Read", "Edit", "All"], default="Read"),
                  F("PhotoUrl", "url", "Photo", length=1024, **ro),
                  F("Title", "string", "Title", length=80, **ro),
                  *_system_fields(owner=False)]
        flags = {"searchable": False}
    else:  # pragma: no cover - HAND_BUILT is closed
        raise KeyError(name)
    plural = {"ContentDocument": "Content Documents", "ContentVersion": "Content Versions",
              "OpportunityTeamMember": "Opportunity Team Members",
              "ContentDocumentLink": "Content Document Links"}.get(name, name + "s")
    label = {"ContentDocument": "Content Document", "ContentVersion": "Content Version",
             "ContentDocumentLink": "Content Document Link", "RecordType": "Record Type",
             "OpportunityTeamMember": "Opportunity Team Member"}.get(name, name)
    desc = _object_shell(name, label, plural, prefix, False, **flags)
    desc["fields"] = fields
    desc["childRelationships"] = children + (
        [child_rel("Attachment", "ParentId", "Attachments", True)] if name in ("User",) else [])
    return desc
