"""The settings editor's inputs for the single-valued settings: path, label, kind, section and
help in plain English. The editor (integrations/forms/settings.py) lays them out and reads them
back by kind; the tables (field mappings, stages, picklist maps, conflict rules) it builds itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from integrations.settings_schema.model import ACTIVITY_MODES, CONVERSIONS, DIRECTIONS, OWNER_MODES
from opportunities.models import Category, OpportunityStatus

DIRECTION_LABELS = {
    "bidirectional": "Bidirectional — changes sync both ways",
    "push": "Cothon → Salesforce (push only)",
    "pull": "Salesforce → Cothon (pull only)",
    "hybrid": "Hybrid — a direction per field",
}
CONVERSION_LABELS = {"midpoint": "Midpoint of min and max", "min": "Minimum", "max": "Maximum"}
ACTIVITY_LABELS = {"tasks": "Tasks", "notes": "Notes (less invasive)", "off": "Off"}
OWNER_LABELS = {
    "owner": "Update the Owner",
    "team_member": "Add as an Opportunity Team Member (the Owner stays)",
    "both": "Both: update the Owner and add as a team member",
}
MAP_TITLES = {
    "category_to_type": "Category → Type",
    "procurement_method": "Procurement method → Cothon_Method__c",
    "procurement_method_to_type": "Procurement method → Type (recommended)",
    "pursuit_decision": "Pursuit decision → Cothon_Pursuit__c",
    "analysis_status": "Analysis status → Cothon_Analysis_Status__c",
}
STATUS_CHOICES = tuple(OpportunityStatus.choices)
CATEGORY_CHOICES = tuple(Category.choices)


def map_title(name: str) -> str:
    return MAP_TITLES.get(name, name)


@dataclass(frozen=True)
class Section:
    id: str
    title: str


SECTIONS = (
    Section("direction", "Sync direction"),
    Section("mappings", "Field mappings"),
    Section("owner", "Assigned team member"),
    Section("stage_mapping", "Stage mapping"),
    Section("picklist_maps", "Picklist maps"),
    Section("import", "Records created or deleted in Salesforce"),
    Section("conflict_rules", "Conflict rule"),
    Section("filters", "Filters"),
    Section("frequencies", "Frequency"),
    Section("activity", "Activity logging"),
    Section("performance", "Performance"),
)
SECTION_TITLES = {s.id: s.title for s in SECTIONS}


@dataclass(frozen=True)
class EditorField:
    """One input of the editor. kind: radio, select, checkbox, checkboxes, number, amount, time,
    stage_list (the org's stages as checkboxes, or one name per line when not connected)."""

    path: str
    label: str
    kind: str
    section: str
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()

    def value_in(self, data: Mapping[str, Any]) -> Any:
        value: Any = data
        for part in self.path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value


def _choices(values: tuple[str, ...], labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((v, labels[v]) for v in values)


EDITOR_FIELDS: tuple[EditorField, ...] = (
    EditorField("direction", "Sync direction", "radio", "direction", choices=_choices(DIRECTIONS, DIRECTION_LABELS)),
    EditorField("value_conversion", "Value conversion", "select", "mappings",
                "Cothon keeps a value range (min–max); Salesforce's Amount holds one number.",
                _choices(CONVERSIONS, CONVERSION_LABELS)),
    EditorField("owner_mode", "When an opportunity is assigned in Cothon", "radio", "owner",
                "The Salesforce user comes from the user mapping of this connection.", _choices(OWNER_MODES, OWNER_LABELS)),
    EditorField("import_new", "Import opportunities created in Salesforce", "checkbox", "import",
                "When someone creates an opportunity in Salesforce, create it in Cothon too. Applies only when changes come "
                "from Salesforce (Bidirectional, Salesforce → Cothon or Hybrid). New connections start with it off, or on "
                "for Salesforce → Cothon."),
    EditorField("import_filter.stages", "Only opportunities in these stages", "stage_list", "import",
                "None chosen: any stage."),
    EditorField("import_filter.require_cothon_ref", "Only opportunities that have a Cothon reference", "checkbox", "import",
                "Import only records whose Cothon reference field (Cothon_Ref__c) is filled in."),
    EditorField("propagate_deletes", "Delete in Cothon what is deleted in Salesforce (not yet available)", "checkbox", "import",
                "Not yet available: whatever this says, an opportunity deleted in Salesforce stays in Cothon and is "
                "marked “deleted in Salesforce”."),
    EditorField("flag_conflicts_for_review", "Flag conflicts for review", "checkbox", "conflict_rules",
                "When both sides changed the same field, hold it (neither side changes) for an admin to resolve through the "
                "API (/api/v1/sync-conflicts/) instead of applying the rule."),
    EditorField("filters.min_value", "Minimum value (CAD)", "amount", "filters",
                "Only opportunities worth at least this much sync. Empty: no minimum."),
    EditorField("filters.statuses", "Statuses", "checkboxes", "filters", "None ticked: every status syncs.", STATUS_CHOICES),
    EditorField("filters.categories", "Categories", "checkboxes", "filters", "None ticked: every category syncs.", CATEGORY_CHOICES),
    EditorField("frequencies.incremental_minutes", "Incremental sync every (minutes)", "number", "frequencies",
                "5 to 1440 (15 by default)."),
    EditorField("frequencies.reconciliation_minutes", "Reconciliation every (minutes)", "number", "frequencies",
                "15 to 1440; catches missed updates."),
    EditorField("frequencies.daily_full_at", "Daily validation at", "time", "frequencies",
                "Your organization's time. Compares every linked opportunity with Salesforce and repairs differences by the "
                "conflict rules (Sync › Drift reports); the records it does not compare are pushed at the same time."),
    EditorField("activity.mode", "Log activities as", "radio", "activity", choices=_choices(ACTIVITY_MODES, ACTIVITY_LABELS)),
    EditorField("activity.batch_window_minutes", "Batch window (minutes)", "number", "activity",
                "Several changes within this window become one Task. 0 = one per change."),
    EditorField("activity.min_value", "Only for opportunities worth at least (CAD)", "amount", "activity", "Empty: any value."),
    EditorField("activity.stages", "Only for statuses", "checkboxes", "activity", "None ticked: every status.", STATUS_CHOICES),
    EditorField("activity.types", "Only for categories", "checkboxes", "activity", "None ticked: every category.", CATEGORY_CHOICES),
    EditorField("parallel_sync", "Parallel sync", "checkbox", "performance",
                "Sync several opportunities at once (more concurrent API requests)."),
    EditorField("bulk_threshold", "Bulk API threshold (records)", "number", "performance",
                "Background runs with at least this many records use Bulk API 2.0 (about six calls per job) instead of "
                "sObject Collections (one call per 200)."),
)
EDITOR_FIELDS_BY_PATH = {f.path: f for f in EDITOR_FIELDS}
TOP_LEVEL_INPUTS = {f.path for f in EDITOR_FIELDS if "." not in f.path}


def section_of(path: str) -> str | None:
    """The title of the editor section a setting's path belongs to."""
    if path in EDITOR_FIELDS_BY_PATH:
        return SECTION_TITLES[EDITOR_FIELDS_BY_PATH[path].section]
    head = path.split(".")[0].split("[")[0]
    if head == "picklist_reverse":
        return SECTION_TITLES["picklist_maps"]
    return SECTION_TITLES.get(head)
