"""Object metadata: describes built from real captured describes plus the org definition.

Standard objects whose real describe ships in ``standard_objects/`` (Account, Contact,
Opportunity, Event, Lead, Case, OpportunityContactRole) keep every standard field exactly as a
real org describes it; the capturing org's own custom fields are dropped and the org
definition's custom fields are added. Objects without a captured describe (Task, Note,
Attachment, Content*, User, Profile, Organization, RecordType, OpportunityTeamMember) and custom objects are built in
the same shape. ``FieldMeta``/``ObjectMeta`` are the compact runtime view that validation,
storage and SOQL use; the describe dict is what the API returns.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from .describe_build import (
    ACTIVITY_CHILDREN,
    CAPTURED,
    HAND_BUILT,
    HOST_PH,
    VERSION_PH,
    _captured,
    _hand_built,
    _object_shell,
    _system_fields,
    _task,
    child_rel,
    make_field,
    picklist_values,
)
from .orgdef import ObjectSpec, OrgDef, Profile


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
        # Opportunity teams: the captured org had them off, so its describe lacks the child list.
        describes["Opportunity"]["childRelationships"].append(
            child_rel("OpportunityTeamMember", "OpportunityId", "OpportunityTeamMembers", True))
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
            # Only URLs the emulator answers (layouts, list views, quick actions: not emulated).
            desc["urls"] = {k: v for k, v in desc.get("urls", {}).items() if k in SERVED_URLS}
            desc["recordTypeInfos"] = [dict(rt, urls={}) for rt in desc.get("recordTypeInfos", [])]
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
                         if k in ("rowTemplate", "describe", "sobject")}
        return entry


SERVED_URLS = frozenset({"sobject", "describe", "rowTemplate", "uiDetailTemplate"})


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
