"""The sync settings editor: every input mapped to a path of the settings JSON, so the
validator's Issue(path, message) errors land next to their inputs."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from integrations.forms.settings_post import (
    LOCKED_FIELDS,
    STATUSES,
    TOP_LEVEL_INPUTS,
    conflict_keys,
    parse_settings_post,
)
from integrations.mapping.catalog import OPPORTUNITY_FIELDS
from integrations.settings_schema import (
    CONFLICT_RULES,
    EDITOR_FIELDS,
    EDITOR_FIELDS_BY_PATH,
    FIELD_DIRECTIONS,
    Issue,
    SyncSettings,
    ambiguous_values,
    map_title,
    section_of,
)
from integrations.settings_schema.editor import MAP_TITLES

RULE_LABELS = {"cothon_wins": "Cothon wins", "salesforce_wins": "Salesforce wins", "last_write_wins": "Last write wins"}
FIELD_DIRECTION_LABELS = dict(zip(FIELD_DIRECTIONS, ("Cothon → Salesforce", "Salesforce → Cothon", "Both ways"), strict=True))


def input_id(path: str) -> str:
    return "s-" + re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")


@dataclass
class SField:
    """One input of the settings editor; errors/warnings come from the form by path."""

    form: SettingsForm
    path: str
    label: str
    value: Any = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    kind: str = "text"  # text, number, select, radio, checkbox, checkboxes, time, lines, hidden
    help: str = ""

    @property
    def id(self) -> str:
        return input_id(self.path)

    @property
    def errors(self) -> list[str]:
        return self.form.errors.get(self.path, [])

    @property
    def warnings(self) -> list[str]:
        return self.form.warnings.get(self.path, [])

    @property
    def options(self) -> list[dict[str, Any]]:
        selected = self.value if isinstance(self.value, list) else [self.value]
        return [{"value": v, "label": label, "selected": v in selected} for v, label in self.choices]


class SettingsForm:
    """Parses the posted editor into the settings JSON (the schema's, integrations/settings_schema)
    and lays the settings out as inputs named by their validation paths, so every Issue lands
    next to its input. It works on the JSON rather than the typed settings because a refused
    post is shown again exactly as typed."""

    def __init__(self, *, base: dict[str, Any], post: QueryDict | None = None, opportunity_describe: dict | None = None,
                 suggested_stages: dict[str, str] | None = None) -> None:
        self.base = copy.deepcopy(base)
        self.post = post
        self.describe = opportunity_describe
        self.errors: dict[str, list[str]] = {}
        self.warnings: dict[str, list[str]] = {}
        self.general_errors: list[Issue] = []
        self.error_summary: list[dict[str, Any]] = []
        self.posted_rows: list[dict[str, Any]] = []
        self.suggested_stages = suggested_stages or {}
        self.row_of_index: dict[int, int] = {}  # data index of a mapping -> display row
        if post is not None:
            parsed = parse_settings_post(self.base, post)
            self.data, self.posted_rows, self.row_of_index = parsed.data, parsed.posted_rows, parsed.row_of_index
        else:
            self.data = self.base
        if suggested_stages and post is None:
            self.data = copy.deepcopy(self.data)
            self.data["stage_mapping"] = {**self.data.get("stage_mapping", {}), **suggested_stages}
        if post is None:
            self.row_of_index = {i: i for i in range(len(self.data.get("opportunity_mappings") or []))}

    # -- org facts ---------------------------------------------------------------------------
    def _sf_fields(self) -> dict[str, dict]:
        return {f["name"].lower(): f for f in (self.describe or {}).get("fields", [])}

    def org_values(self, sf_field: str) -> list[str]:
        f = self._sf_fields().get(sf_field.lower())
        return [v["value"] for v in (f or {}).get("picklistValues") or [] if v.get("active", True)]

    @property
    def org_stages(self) -> list[str]:
        return self.org_values("StageName")

    # -- parsing -----------------------------------------------------------------------------
    def apply_type_from_method(self) -> None:
        """The seed's ready map: Type filled from the procurement method (not the category)."""
        for mapping in self.data["opportunity_mappings"]:
            if mapping.get("sf_field", "").lower() == "type":
                mapping["cothon_field"] = "procurement_method"
                mapping["picklist_map"] = "procurement_method_to_type"
                mapping.pop("enabled", None)
                return
        self.data["opportunity_mappings"].append(
            {"cothon_field": "procurement_method", "sf_field": "Type", "locked": False, "picklist_map": "procurement_method_to_type"})
        self.row_of_index[len(self.data["opportunity_mappings"]) - 1] = len(self.data["opportunity_mappings"]) - 1

    # -- issues ------------------------------------------------------------------------------
    def _display_path(self, path: str) -> str | None:
        match = re.fullmatch(r"opportunity_mappings\[(\d+)\]\.(\w+)", path)
        if match:
            row = self.row_of_index.get(int(match.group(1)))
            return f"opportunity_mappings[{row}].{match.group(2)}" if row is not None else None
        if path.startswith("field_directions."):
            sf = path.split(".", 1)[1]
            for index, mapping in enumerate(self.data.get("opportunity_mappings") or []):
                if mapping.get("sf_field") == sf and index in self.row_of_index:
                    return f"opportunity_mappings[{self.row_of_index[index]}].direction"
            return None
        if path in ("filters.statuses", "filters.categories") or "." in path or path in TOP_LEVEL_INPUTS:
            return path
        return None

    def add_issues(self, errors: list[Issue], warnings: list[Issue]) -> None:
        known = self._known_paths()
        for issue in errors:
            display = self._display_path(issue.path)
            if display in known:
                self.errors.setdefault(display, []).append(issue.message)
            else:
                self.general_errors.append(issue)
        for issue in warnings:
            display = self._display_path(issue.path)
            self.warnings.setdefault(display if display in known else "_general", []).append(issue.message)
        self.error_summary = [
            {"id": input_id(self._display_path(i.path) or ""), "label": self._label_for(self._display_path(i.path)),
             "message": i.message, "linked": self._display_path(i.path) in known}
            for i in errors
        ]

    @property
    def general_warnings(self) -> list[str]:
        return self.warnings.get("_general", [])

    def _label_for(self, path: str | None) -> str:
        for f in self.sections_flat():
            if f.path == path:
                break
        else:
            return "Settings"
        match = re.fullmatch(r"opportunity_mappings\[(\d+)\]\.\w+", path or "")
        if match:
            row = next((r for r in self.mapping_rows if r["row"] == int(match.group(1))), None)
            return f"Field mapping › {row['label'] if row else 'row ' + match.group(1)}"
        section = section_of(path or "")
        if (path or "").startswith("picklist_maps.") or (path or "").startswith("picklist_reverse."):
            section = f"Picklist map {map_title((path or '').split('.')[1])}"
        if section == f.label:
            return f.label
        return f"{section} › {f.label}" if section else f.label

    def _known_paths(self) -> set[str]:
        return {f.path for f in self.sections_flat()}

    # -- layout --------------------------------------------------------------------------------
    def sections_flat(self) -> list[SField]:
        fields = [self.field(f.path) for f in EDITOR_FIELDS]
        for row in self.mapping_rows:
            fields.extend([row["cothon_field"], row["sf_field"], row["picklist_map"], row["direction"]])
        fields.extend(self.stage_fields)
        for m in self.picklist_maps:
            fields.extend(r["field"] for r in m["rows"])
            fields.extend(r["field"] for r in m["reverse_rows"])
        fields.extend(self.conflict_fields)
        return fields

    def field(self, path: str) -> SField:
        """The input of a single-valued setting, as the schema's editor list describes it."""
        spec = EDITOR_FIELDS_BY_PATH[path]
        value = spec.value_in(self.data)
        kind, choices = spec.kind, list(spec.choices)
        if kind == "checkbox":
            value = bool(value)
        elif kind in ("checkboxes", "stage_list"):
            value = list(value) if isinstance(value, list | tuple) else []
        elif kind == "amount":
            kind, value = "text", "" if value is None else value
        if spec.kind == "stage_list":
            stages = self.org_stages
            if stages:
                kind = "checkboxes"
                choices = [(s, s) for s in stages] + [(v, f"{v} — not a stage of this org") for v in value if v not in stages]
            else:
                kind, value = "lines", "\n".join(value)
        return SField(self, path, spec.label, value, choices, kind, spec.help)

    def section_fields(self, section: str) -> list[SField]:
        return [self.field(f.path) for f in EDITOR_FIELDS if f.section == section]

    @property
    def direction(self) -> SField:
        return self.field("direction")

    @property
    def value_conversion(self) -> SField:
        return self.field("value_conversion")

    @property
    def flag_conflicts(self) -> SField:
        return self.field("flag_conflicts_for_review")

    @property
    def parallel_sync(self) -> SField:
        return self.field("parallel_sync")

    @property
    def bulk_threshold(self) -> SField:
        return self.field("bulk_threshold")

    @property
    def owner_mode(self) -> SField:
        return self.field("owner_mode")

    @property
    def import_fields(self) -> dict[str, SField]:
        return {f.path.split(".")[-1]: f for f in self.section_fields("import")}

    @property
    def opportunity_object(self) -> str:
        """The Salesforce object opportunities go to (the describe shown is of this one)."""
        objects = self.data.get("objects")
        name = objects.get("opportunity") if isinstance(objects, dict) else None
        return name if isinstance(name, str) and name else SyncSettings().objects.opportunity

    def _sf_field_choices(self, current: str, cothon_field: str) -> list[tuple[str, str]]:
        fields = (self.describe or {}).get("fields", [])
        if not fields:
            return []
        compatible = OPPORTUNITY_FIELDS[cothon_field].compatible_types if cothon_field in OPPORTUNITY_FIELDS else ()
        # The label people know, with the API name beside it (what the settings store).
        choices = [(f["name"], f"{f['label']} — {f['name']} ({f['type']})") for f in sorted(fields, key=lambda f: f["label"].lower())
                   if not compatible or f["type"] in compatible]
        if current and current.lower() not in {c[0].lower() for c in choices}:
            choices.insert(0, (current, f"{current} — not in this org or not compatible"))
        return [("", "Choose a field…")] + choices

    def _map_fits(self, name: str, cothon_field: str) -> bool:
        field_def = OPPORTUNITY_FIELDS.get(cothon_field)
        if not field_def or field_def.kind != "choice":
            return False
        keys = set((self.data.get("picklist_maps") or {}).get(name, {}))
        return bool(keys) and keys <= {v for v, _ in field_def.choices}

    @property
    def mapping_rows(self) -> list[dict[str, Any]]:
        rows = []
        mappings = self.data.get("opportunity_mappings") or []
        directions = self.data.get("field_directions") or {}
        by_row = {row: index for index, row in self.row_of_index.items()}
        posted = {r["row"]: r for r in getattr(self, "posted_rows", [])}
        total = max([*by_row, *posted, -1]) + 1
        cothon_choices = [("", "Choose…")] + [(f.name, f.label) for f in OPPORTUNITY_FIELDS.values()]
        for row in range(total):
            if row in by_row:
                m = mappings[by_row[row]]
                removed = False
            elif row in posted:
                m = posted[row]
                removed = posted[row]["removed"]
            else:
                continue
            prefix = f"opportunity_mappings[{row}]"
            cothon = m.get("cothon_field", "")
            maps = [("", "— none (Cothon's labels) —")] + [
                (name, MAP_TITLES.get(name, name)) for name in (self.data.get("picklist_maps") or {})
                if self._map_fits(name, cothon) or name == m.get("picklist_map")]
            rows.append({
                "row": row,
                "locked": bool(m.get("locked")),
                "removed": removed,
                "enabled": m.get("enabled", True) is not False,
                "label": OPPORTUNITY_FIELDS[cothon].label if cothon in OPPORTUNITY_FIELDS else cothon,
                "sf_label": (self._sf_fields().get((m.get("sf_field") or "").lower()) or {}).get("label", ""),
                "is_choice": cothon in OPPORTUNITY_FIELDS and OPPORTUNITY_FIELDS[cothon].kind == "choice",
                "is_status": cothon == "status",
                "cothon_field": SField(self, f"{prefix}.cothon_field", "Cothon field", cothon, cothon_choices, "select"),
                "sf_field": SField(self, f"{prefix}.sf_field", "Salesforce field", m.get("sf_field", ""),
                                   self._sf_field_choices(m.get("sf_field", ""), cothon), "select" if self.describe else "text"),
                "picklist_map": SField(self, f"{prefix}.picklist_map", "Picklist map", m.get("picklist_map") or "", maps, "select"),
                "direction": SField(self, f"{prefix}.direction", "Direction", directions.get(m.get("sf_field", ""), "both"),
                                    list(FIELD_DIRECTION_LABELS.items()), "select"),
            })
        return rows

    @property
    def new_row(self) -> dict[str, Any]:
        row = self.mapping_count
        prefix = f"opportunity_mappings[{row}]"
        return {
            "row": row,
            "cothon_field": SField(self, f"{prefix}.cothon_field", "Cothon field", "",
                                   [("", "Add a mapping…")] + [(f.name, f.label) for f in OPPORTUNITY_FIELDS.values() if f.name not in LOCKED_FIELDS], "select"),
            "sf_field": SField(self, f"{prefix}.sf_field", "Salesforce field", "", self._sf_field_choices("", ""),
                               "select" if self.describe else "text"),
        }

    @property
    def mapping_count(self) -> int:
        """Rows are numbered 0..count-1; the "add a mapping" row is number count."""
        rows = self.mapping_rows
        return rows[-1]["row"] + 1 if rows else 0

    @property
    def stage_fields(self) -> list[SField]:
        stages = self.org_stages
        current = self.data.get("stage_mapping") or {}
        result = []
        for status, label in STATUSES:
            value = current.get(status, "")
            choices: list[tuple[str, str]] = []
            if stages:
                choices = [("", "Choose a stage…")] + [(s, s) for s in stages]
                if value and value not in stages:
                    choices.insert(1, (value, f"{value} — not a stage of this org"))
            f = SField(self, f"stage_mapping.{status}", label, value, choices, "select" if stages else "text")
            f.suggested = status in self.suggested_stages  # type: ignore[attr-defined]
            result.append(f)
        return result

    def _map_target(self, name: str) -> tuple[str, str]:
        """(Cothon field, Salesforce field) a picklist map translates between."""
        for m in self.data.get("opportunity_mappings") or []:
            if m.get("picklist_map") == name:
                return m["cothon_field"], m["sf_field"]
        cothon = next((f.name for f in OPPORTUNITY_FIELDS.values() if self._map_fits(name, f.name)), "")
        target = name.rsplit("_to_", 1)[1].capitalize() if "_to_" in name else ""
        return cothon, target

    @property
    def picklist_maps(self) -> list[dict[str, Any]]:
        result = []
        for name, values in (self.data.get("picklist_maps") or {}).items():
            cothon, target = self._map_target(name)
            labels = dict(OPPORTUNITY_FIELDS[cothon].choices) if cothon in OPPORTUNITY_FIELDS else {}
            org = self.org_values(target) if target else []
            rows = []
            for key, value in values.items():
                choices: list[tuple[str, str]] = []
                if org:
                    choices = [("", "— leave unchanged —")] + [(v, v) for v in org]
                    if value and value not in org:
                        choices.insert(1, (value, f"{value} — not a value of this org"))
                rows.append({"key": key, "label": labels.get(key, key),
                             "field": SField(self, f"picklist_maps.{name}.{key}", labels.get(key, key), value, choices,
                                             "select" if org else "text")})
            used = any(m.get("picklist_map") == name for m in self.data.get("opportunity_mappings") or [])
            result.append({"name": name, "title": MAP_TITLES.get(name, name), "target": target,
                           "cothon_label": OPPORTUNITY_FIELDS[cothon].label if cothon in OPPORTUNITY_FIELDS else "",
                           "rows": rows, "used": used, "is_method_to_type": name == "procurement_method_to_type",
                           "reverse_rows": self._reverse_rows(name, values, labels)})
        return result

    def _reverse_rows(self, name: str, values: dict[str, str], labels: dict[str, str]) -> list[dict[str, Any]]:
        """One input per Salesforce value several Cothon values are sent as: which one it becomes
        when it comes back from Salesforce."""
        reverse = self.data.get("picklist_reverse") if isinstance(self.data.get("picklist_reverse"), dict) else {}
        declared = reverse.get(name) if isinstance(reverse.get(name), dict) else {}
        rows = []
        for sf_value, group in ambiguous_values(values).items():
            choices = [("", "Choose…")] + [(v, labels.get(v, v)) for v in group]
            label = f"“{sf_value}” from Salesforce becomes"
            rows.append({"sf_value": sf_value, "field": SField(self, f"picklist_reverse.{name}.{sf_value}", label,
                                                              declared.get(sf_value, ""), choices, "select")})
        return rows

    @property
    def conflict_fields(self) -> list[SField]:
        rules = self.data.get("conflict_rules") or {}
        result = []
        for key in conflict_keys(self.data):
            label = "Other custom fields (…__c)" if key == "custom_fields" else key
            default = "Custom fields rule" if key.endswith("__c") else "Last write wins (default)"
            result.append(SField(self, f"conflict_rules.{key}", label, rules.get(key, ""),
                                 [("", default)] + [(r, RULE_LABELS[r]) for r in CONFLICT_RULES], "select"))
        return result

    @property
    def filter_fields(self) -> dict[str, SField]:
        return {f.path.split(".")[-1]: f for f in self.section_fields("filters")}

    @property
    def frequency_fields(self) -> dict[str, SField]:
        return {f.path.split(".")[-1]: f for f in self.section_fields("frequencies")}

    @property
    def activity_fields(self) -> dict[str, SField]:
        return {f.path.split(".")[-1]: f for f in self.section_fields("activity")}

    @property
    def is_hybrid(self) -> bool:
        return self.data.get("direction") == "hybrid"

    @property
    def json_text(self) -> str:
        return json.dumps(self.data, indent=2, default=str)
