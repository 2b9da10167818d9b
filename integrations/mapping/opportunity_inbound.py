"""Salesforce Opportunity → Cothon opportunity: the mapping back, as pure functions.

`opportunity_from_salesforce(record, current, ctx)` turns one pulled record (a query row or an
Outbound Message's fields) into the Cothon field changes to apply, the fields skipped with
their reason, warnings, the extended data (custom fields no mapping reads) and the values both
sides now agree on (the link's new base snapshot). It reads no database and makes no call:
departments and users are resolved by the caller into `InboundContext`. Documented field by
field in docs/pull.md.

A field is applied only when it changed in Salesforce: its pulled value differs from what
Cothon would send today (`outbound_value`) and from the link's base snapshot (the values both
sides agreed on last). A field that equals the base while Cothon's value differs was changed
in Cothon and not pushed yet: Cothon's value is kept. A field changed on both sides to
different values is a conflict (`integrations.mapping.conflicts`): with "flag conflicts for
review" on it is held (`InboundResult.held`: neither side changes); otherwise the field's rule
picks a side — Salesforce's value is applied, or Cothon's kept and named in
`InboundResult.push_back` so the caller queues it for the push.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from integrations.mapping import conflicts
from integrations.mapping.conflicts import HeldConflict
from integrations.mapping.catalog import OPPORTUNITY_FIELDS
from integrations.mapping.common import ELLIPSIS
from integrations.mapping.opportunity import amount_for
from integrations.settings_schema import conflict_rule_for
from opportunities.models import Opportunity

# Written by Cothon for Salesforce users to read; never pulled back.
COTHON_ONLY = frozenset({"source", "cothon_url", "full_title"})
# Salesforce's own fields are never "extended data", nor are these bookkeeping fields.
# Cothon_Push_Token__c: the push's attempt token (sync_engine/attempts.py).
_SYSTEM_FIELDS = frozenset({"id", "systemmodstamp", "isdeleted", "attributes", "lastmodifieddate", "createddate",
                            "cothon_push_token__c"})
_MISSING = object()
CENT = Decimal("0.01")


@dataclass(frozen=True)
class InboundContext:
    settings: dict[str, Any]
    users_by_salesforce_id: dict[str, int] = field(default_factory=dict)  # 18-char User Id -> Cothon user id
    user_names: dict[str, str] = field(default_factory=dict)  # 18-char User Id -> name, for warnings
    account_departments: dict[str, int | None] = field(default_factory=dict)  # 18-char Account Id -> department id
    department_accounts: dict[int, str] = field(default_factory=dict)  # department id -> Account Id (what the push sends)
    title_length: int = 120  # Opportunity.Name's length in the org (the push shortens titles to it)
    integration_user_id: str = ""  # the connection's own user: the owner of records Cothon created unassigned


@dataclass
class InboundResult:
    changes: dict[str, Any] = field(default_factory=dict)  # Cothon field -> new value
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (Salesforce field, reason)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # unmapped custom fields -> value
    agreed: dict[str, Any] = field(default_factory=dict)  # Salesforce field -> normalized value both sides now hold
    unmapped_owner: dict[str, str] | None = None  # {"id", "name"}: the Salesforce owner with no Cothon user
    notes: list[str] = field(default_factory=list)  # what a conversion did, shown on the record
    held: list["HeldConflict"] = field(default_factory=list)  # conflicts held for review (nothing applied)
    settled: list[tuple[str, str, str]] = field(default_factory=list)  # (Salesforce field, rule, winning side)
    push_back: set[str] = field(default_factory=set)  # Cothon columns kept by a rule: push them to converge
    # Salesforce field -> Salesforce's value of a conflict settled for Cothon: the base takes it,
    # so Cothon's value going out is Cothon's change alone (a retried push that reads the field
    # first still sends it; a Salesforce edit after this pull is a new conflict).
    seen: dict[str, Any] = field(default_factory=dict)
    # Salesforce fields compared and not in conflict now (no held field among them): an open
    # conflict on one of them is settled by this later change. `cothon_kept`: those of them only
    # Cothon changed since the base (Salesforce went back to it): Cothon's value must go out.
    compared: set[str] = field(default_factory=set)
    cothon_kept: set[str] = field(default_factory=set)

    @property
    def reasons(self) -> str:
        return "; ".join(f"{name}: {reason}" for name, reason in self.skipped)


# --- normalization: one comparable form for pulled, pushed and snapshot values -----------------

def normalize(value: Any) -> Any:
    """Numbers as float, datetimes as UTC ISO with milliseconds and Z, dates as YYYY-MM-DD,
    empty strings as None; Outbound Messages send every value as text, so text that reads as a
    datetime is normalized the same way (numbers arrive typed: the receiver converts them by
    the object's describe)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if isinstance(value, datetime.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
        return aware.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None:
            return normalize(parsed)
        return value
    return value


def comparable(sf_field: str, value: Any) -> Any:
    """The one form in which pulled, pushed, base and read values are compared: normalized, and
    Owner and Account ids in their 18-character form."""
    normalized = normalize(value)
    return (id18(normalized) or None) if sf_field in ("OwnerId", "AccountId") and normalized else normalized


def parse_datetime(text: str) -> datetime.datetime | None:
    """A Salesforce datetime (`2030-01-01T10:00:00.000+0000`, `…Z`), aware; None if not one."""
    if not isinstance(text, str) or len(text) < 19 or text[10] != "T":
        return None
    return conflicts.parse_time(text)


def parse_date(value: Any) -> datetime.date | None:
    """CloseDate as the calendar date Salesforce holds: never converted between time zones (a
    date has none). A datetime-looking text keeps its own date part, as written."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def to_decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None


def id18(salesforce_id: str | None) -> str:
    """The 18-character form of a Salesforce id (Outbound Messages and old data may carry 15)."""
    if not salesforce_id:
        return ""
    if len(salesforce_id) != 15:
        return salesforce_id
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for block in range(3):
        bits = sum(1 << i for i, ch in enumerate(salesforce_id[block * 5:block * 5 + 5]) if "A" <= ch <= "Z")
        suffix += alphabet[bits]
    return salesforce_id + suffix


# --- direction ----------------------------------------------------------------------------------

def pulls_field(settings: dict[str, Any], sf_field: str) -> bool:
    """Bidirectional and pull apply every mapped field; hybrid the fields set to "pull" or
    "both" (unset counts as both, as for the push); push-only never writes Cothon."""
    direction = settings.get("direction", "bidirectional")
    if direction == "hybrid":
        return (settings.get("field_directions") or {}).get(sf_field, "both") in ("pull", "both")
    return direction in ("bidirectional", "pull")


def pulled_mappings(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The mappings a pull reads, in table order (Amount before the maximum value)."""
    if settings.get("direction", "bidirectional") == "push":
        return []
    return [m for m in settings.get("opportunity_mappings") or []
            if m.get("enabled") is not False and m["cothon_field"] not in COTHON_ONLY and pulls_field(settings, m["sf_field"])]


# --- what Cothon would send today (the other side of each comparison) ---------------------------

def outbound_value(opportunity: Any, mapping: dict[str, Any], ctx: InboundContext) -> Any:
    """The normalized value the push would write for this mapping (None when it sends none)."""
    name = mapping["cothon_field"]
    settings = ctx.settings
    if name == "title":
        title = opportunity.title or ""
        limit = ctx.title_length
        return normalize(title if len(title) <= limit else title[: limit - 1].rstrip() + ELLIPSIS)
    if name == "value":
        return normalize(amount_for(opportunity, settings.get("value_conversion", "midpoint")))
    if name == "department":
        return ctx.department_accounts.get(opportunity.department_id) if opportunity.department_id else None
    if name == "status":
        return (settings.get("stage_mapping") or {}).get(opportunity.status)
    if name == "assignee":
        if opportunity.assignee_id is None:
            # Created by Cothon without an owner: Salesforce made the integration user the owner.
            return ctx.integration_user_id or None
        for sf_id, user_id in ctx.users_by_salesforce_id.items():
            if user_id == opportunity.assignee_id:
                return sf_id
        return None
    raw = getattr(opportunity, name, None)
    if raw in (None, ""):
        return None
    cothon = OPPORTUNITY_FIELDS.get(name)
    if cothon is not None and cothon.kind == "choice":
        picklist = (settings.get("picklist_maps") or {}).get(mapping.get("picklist_map") or "")
        return dict(cothon.choices).get(raw) if picklist is None else picklist.get(raw)
    return normalize(raw)


# --- the mapping back ---------------------------------------------------------------------------

def opportunity_from_salesforce(record: dict[str, Any], current: Any | None, ctx: InboundContext, *,
                                base: dict[str, Any] | None = None) -> InboundResult:
    """The Cothon changes for one pulled record. `current` is the linked opportunity (None: an
    import); `base` the link's base snapshot (Salesforce field -> value agreed on last)."""
    base = base or {}
    result = InboundResult()
    mappings = pulled_mappings(ctx.settings)
    mapped_names = {m["sf_field"].lower() for m in ctx.settings.get("opportunity_mappings") or []}
    working = _Working(current)
    for mapping in mappings:
        sf_field = mapping["sf_field"]
        raw = _field(record, sf_field)
        if raw is _MISSING:
            continue  # not selected (or not in this notification): nothing to say about it
        pulled = normalize(raw)
        if sf_field == "OwnerId" or sf_field == "AccountId":
            pulled = id18(pulled) or None
        if current is not None:
            ours = outbound_value(current, mapping, ctx)
            kind = conflicts.detect(_base_value(base, sf_field), ours, pulled)
            if kind != conflicts.CONFLICT:
                result.compared.add(sf_field)
            if kind in (conflicts.UNCHANGED, conflicts.AGREED):
                result.agreed[sf_field] = pulled
                continue
            if kind == conflicts.COTHON:
                result.cothon_kept.add(sf_field)
                result.skipped.append((sf_field, "Changed in Cothon since the last sync: Cothon's value is kept and sent with the next push."))
                continue
            if kind == conflicts.CONFLICT and pushes_field(ctx.settings, sf_field):
                if _resolve_conflict(record, current, mapping, base, ours, pulled, ctx, result):
                    continue  # held, or Cothon's value kept
        reason = _convert(mapping, pulled, working, ctx, result)
        if reason:
            result.skipped.append((sf_field, reason))
        else:
            result.agreed[sf_field] = pulled
    result.changes = working.changes()
    for key, value in record.items():
        if key.lower().endswith("__c") and key.lower() not in mapped_names and key.lower() not in _SYSTEM_FIELDS:
            result.extra[key] = value
    return result


def pushes_field(settings: dict[str, Any], sf_field: str) -> bool:
    """Does the push send this field? Only then can Cothon's value of a conflict win: a field
    the push never sends takes Salesforce's value (hybrid "pull" fields, pull-only)."""
    direction = settings.get("direction", "bidirectional")
    if direction == "hybrid":
        return (settings.get("field_directions") or {}).get(sf_field, "both") in ("push", "both")
    return direction in ("bidirectional", "push")


def _base_value(base: dict[str, Any], sf_field: str) -> Any:
    if sf_field not in base:
        return conflicts.MISSING
    return comparable(sf_field, base[sf_field])


def _resolve_conflict(record: dict[str, Any], current: Any, mapping: dict[str, Any], base: dict[str, Any], ours: Any,
                      pulled: Any, ctx: InboundContext, result: InboundResult) -> bool:
    """A field both sides changed: hold it, or apply its rule. True when Salesforce's value is
    not to be applied (held, or Cothon's kept)."""
    sf_field, cothon_field = mapping["sf_field"], mapping["cothon_field"]
    rule = conflict_rule_for(ctx.settings.get("conflict_rules") or {}, sf_field)
    sources = conflicts.cothon_sources(cothon_field)
    cothon_at = conflicts.cothon_field_time(getattr(current, "field_changed_at", None), sources)
    salesforce_at = conflicts.salesforce_time(record)
    if ctx.settings.get("flag_conflicts_for_review"):
        author = conflicts.cothon_field_author(getattr(current, "field_changed_at", None),
                                               getattr(current, "field_changed_by", None), sources)
        result.held.append(HeldConflict(sf_field=sf_field, cothon_field=cothon_field, base=_base_value(base, sf_field),
                                        cothon=ours, salesforce=pulled, cothon_changed_at=cothon_at,
                                        salesforce_changed_at=salesforce_at, rule=rule, cothon_changed_by=author))
        result.skipped.append((sf_field, "Changed on both sides: held for review (neither side changes until someone decides)."))
        return True
    side = conflicts.winner(rule, cothon_at, salesforce_at)
    result.settled.append((sf_field, rule, side))
    if side == conflicts.COTHON:
        result.push_back.update(conflicts.cothon_sources(cothon_field))
        result.seen[sf_field] = pulled
        result.skipped.append((sf_field, f"Changed on both sides: Cothon's value is kept ({rule.replace('_', ' ')}) "
                                         "and sent to Salesforce."))
        return True
    return False


def convert_salesforce_value(mapping: dict[str, Any], value: Any, current: Any, ctx: InboundContext) -> tuple[dict[str, Any], str]:
    """One Salesforce value in Cothon's terms, as the pull converts it: (Cothon changes, "") or
    ({}, reason). Resolving a held conflict uses it for Salesforce's value or an entered one."""
    working = _Working(current)
    pulled = normalize(value)
    if mapping["sf_field"] in ("OwnerId", "AccountId"):
        pulled = id18(pulled) or None
    reason = _convert(mapping, pulled, working, ctx, InboundResult())
    return ({}, reason) if reason else (working.changes(), "")


def _field(record: dict[str, Any], name: str) -> Any:
    if name in record:
        return record[name]
    lowered = name.lower()
    for key, value in record.items():
        if key.lower() == lowered:
            return value
    return _MISSING


class _Working:
    """Cothon's values as the conversion goes (Amount's new range feeds the maximum value)."""

    def __init__(self, current: Any | None) -> None:
        self.current = current
        self.values: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        return getattr(self.current, name if name not in ("department", "assignee") else f"{name}_id", None) if self.current else None

    def set(self, name: str, value: Any) -> None:
        self.values[name] = value

    def changes(self) -> dict[str, Any]:
        if self.current is None:
            return dict(self.values)
        return {k: v for k, v in self.values.items()
                if getattr(self.current, k if k not in ("department", "assignee") else f"{k}_id", None) != v}


def _convert(mapping: dict[str, Any], pulled: Any, working: _Working, ctx: InboundContext, result: InboundResult) -> str:
    """Set the Cothon value for one pulled field; return a reason when it cannot be."""
    name = mapping["cothon_field"]
    settings = ctx.settings
    if name == "title":
        if not pulled:
            return "Salesforce has no name: the title is kept."
        working.set("title", str(pulled)[:255])
        return ""
    if name == "value":
        low, high = value_range_for_amount(to_decimal(pulled), working.get("value_min"), working.get("value_max"),
                                           settings.get("value_conversion", "midpoint"))
        working.set("value_min", low)
        working.set("value_max", high)
        if pulled is not None:
            conversion = settings.get("value_conversion", "midpoint")
            shown = " – ".join(f"${v:,.2f}" for v in (low, high) if v is not None)
            result.notes.append(f"Salesforce Amount ${to_decimal(pulled):,.2f}: the value range became {shown} "
                                f"(its {'midpoint' if conversion == 'midpoint' else conversion + 'imum'} is the Amount).")
        return ""
    if name == "value_max":
        top = to_decimal(pulled)
        working.set("value_max", top)
        low = working.get("value_min")
        if top is not None and low is not None and low > top:
            working.set("value_min", top)  # a range never inverts: the minimum comes down to the maximum
        return ""
    if name == "closing_date":
        try:
            working.set("closing_date", parse_date(pulled))
        except ValueError:
            return f"“{pulled}” is not a date."
        return ""
    if name == "department":
        if pulled is None:
            working.set("department", None)
            return ""
        if pulled not in ctx.account_departments or ctx.account_departments[pulled] is None:
            return f"Account {pulled} has no Cothon department (it could not be read from Salesforce)."
        working.set("department", ctx.account_departments[pulled])
        return ""
    if name == "status":
        return _reverse_stage(pulled, working, settings)
    if name == "assignee":
        if pulled is None:
            return "No owner in Salesforce: the assignee is kept."
        user_id = ctx.users_by_salesforce_id.get(pulled)
        if user_id is None and pulled == ctx.integration_user_id:
            if working.current is None:
                return ""  # imported unassigned: its owner is the integration user, nobody in Cothon
            return "The owner is the integration user (nobody in Cothon): the assignee stays."
        if user_id is None:
            who = ctx.user_names.get(pulled)
            message = (f"Salesforce user {who} ({pulled})" if who else f"Salesforce user {pulled}") + \
                " has no Cothon user in this connection's user mapping: the assignee stays."
            result.warnings.append(message)
            result.unmapped_owner = {"id": pulled, "name": who or ""}
            return message
        working.set("assignee", user_id)
        return ""
    if name == "last_analyzed_at":
        if pulled is None:
            working.set(name, None)
            return ""
        parsed = parse_datetime(pulled)
        if parsed is None:
            return f"“{pulled}” is not a date and time."
        working.set(name, parsed)
        return ""
    cothon = OPPORTUNITY_FIELDS.get(name)
    if cothon is None:
        return "Not a field the pull can write."
    if cothon.kind == "choice":
        return _reverse_choice(name, mapping, pulled, working, settings)
    if name in ("compliance_score", "win_probability"):
        if pulled is None:
            working.set(name, None)
            return ""
        try:
            number = int(Decimal(str(pulled)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        except InvalidOperation:
            return f"“{pulled}” is not a number."
        working.set(name, number)
        return ""
    # Text fields: reference, location, UNSPSC code, description.
    working.set(name, "" if pulled is None else str(pulled))
    return ""


def value_range_for_amount(amount: Decimal | None, low: Decimal | None, high: Decimal | None,
                           conversion: str) -> tuple[Decimal | None, Decimal | None]:
    """The value range whose configured conversion equals `amount`, keeping the range's width.

    midpoint: the range is centred on Amount (if that would go below zero, it becomes 0 … 2 ×
    Amount, still centred); min: it starts at Amount; max: it ends at Amount (floored at 0).
    No maximum: the minimum becomes Amount; only a maximum: it becomes Amount. An empty Amount
    clears the range."""
    if amount is None:
        return None, None
    if low is None and high is None:
        return amount, None
    if high is None:
        return amount, None
    if low is None:
        return None, amount
    width = high - low
    if conversion == "min":
        return amount, amount + width
    if conversion == "max":
        return max(Decimal(0), amount - width), amount
    half = (width / 2).quantize(CENT, rounding=ROUND_HALF_UP)
    if amount - half < 0:
        return Decimal(0).quantize(CENT), (amount * 2).quantize(CENT)
    return (amount - half).quantize(CENT), (amount - half + width).quantize(CENT)


def _reverse_stage(stage: Any, working: _Working, settings: dict[str, Any]) -> str:
    if stage is None:
        return "No stage in Salesforce: the status is kept."
    statuses = [status for status, mapped in (settings.get("stage_mapping") or {}).items() if mapped == stage]
    if not statuses:
        return f"Stage “{stage}” is not in the stage mapping: the status is kept."
    if len(statuses) > 1:
        return f"Stage “{stage}” maps back to several statuses ({', '.join(statuses)}): the status is kept."
    working.set("status", statuses[0])
    return ""


def _reverse_choice(name: str, mapping: dict[str, Any], pulled: Any, working: _Working, settings: dict[str, Any]) -> str:
    """A picklist back to its Cothon value: the map reversed when one Cothon value has that
    Salesforce value; the declared reverse value (`picklist_reverse`) when several have it."""
    choices = dict(OPPORTUNITY_FIELDS[name].choices)
    if pulled is None:
        if not Opportunity._meta.get_field(name).blank:
            return "Empty in Salesforce; Cothon needs a value: the value is kept."
        working.set(name, "")
        return ""
    map_name = mapping.get("picklist_map") or ""
    picklist = (settings.get("picklist_maps") or {}).get(map_name) if map_name else None
    if picklist is None:  # the push sends the Cothon label
        candidates = [value for value, label in choices.items() if label == pulled]
    else:
        candidates = [value for value, mapped in picklist.items() if mapped == pulled]
    if len(candidates) > 1:
        declared = ((settings.get("picklist_reverse") or {}).get(map_name) or {}).get(pulled)
        if declared in choices:
            candidates = [declared]
        else:
            labels = ", ".join(choices.get(c, c) for c in candidates)
            return (f"“{pulled}” stands for several Cothon values ({labels}) and no reverse value is declared "
                    "for it: the value is kept.")
    if not candidates:
        return f"“{pulled}” has no Cothon value in the picklist mapping: the value is kept."
    working.set(name, candidates[0])
    return ""


def missing_reverse_values(settings: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """For settings validation: (map name, Salesforce value, Cothon values) for each Salesforce
    value several Cothon values map to, in a map a pulled mapping uses, with no declared reverse
    value in `picklist_reverse`. Such a value coming back from Salesforce is not applied."""
    problems = []
    reverse = settings.get("picklist_reverse") or {}
    used = {m.get("picklist_map") for m in pulled_mappings(settings) if m.get("picklist_map")}
    for map_name in sorted(used):
        picklist = (settings.get("picklist_maps") or {}).get(map_name) or {}
        shared: dict[str, list[str]] = {}
        for cothon_value, sf_value in picklist.items():
            if sf_value:
                shared.setdefault(sf_value, []).append(cothon_value)
        for sf_value, cothon_values in sorted(shared.items()):
            if len(cothon_values) > 1 and (reverse.get(map_name) or {}).get(sf_value) not in cothon_values:
                problems.append((map_name, sf_value, sorted(cothon_values)))
    return problems
