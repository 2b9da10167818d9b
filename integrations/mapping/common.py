"""What every payload module shares: the planned write, the mapping context, and the rules
for values Salesforce cannot take as they are (too long, empty, dates).

Pure functions only: no database, no API call. The push engine and the dry run both call the
payload modules, so what an admin previews is what is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from integrations.settings_schema import SyncSettings

ELLIPSIS = "…"
TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "combobox", "encryptedstring"})
TOO_LONG = "VALUE_TOO_LONG"
TOO_LONG_HINT = ("Shorten the text in Cothon (or widen the Salesforce field) and sync again: the record is not sent "
                 "rather than cut.")


@dataclass
class PlannedWrite:
    sobject: str
    operation: str  # upsert | create | update | skip
    external_id_field: str | None
    external_id: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (field, reason)
    notes: list[str] = field(default_factory=list)
    label: str = ""
    # (field, message): values Salesforce would refuse or we would have to cut. A write with
    # errors is not sent; the record fails with VALUE_TOO_LONG and the message.
    errors: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class MappingContext:
    settings: SyncSettings
    describe_fields: dict[str, dict] | None = None  # the opportunity object: lower-case name -> describe field
    user_ids: dict[int, str] = field(default_factory=dict)  # Cothon user id -> Salesforce User Id
    base_url: str = ""
    time_zone: str = ""  # the tenant's zone: dates the product writes follow it
    # What the payload functions work out once per context (e.g. the opportunity mapping plan).
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def field_length(describe_fields: dict[str, dict] | None, name: str, default: int | None = None) -> int | None:
    """The describe's length of a text field (None: not a length-limited text field)."""
    described = (describe_fields or {}).get(name.lower())
    if described is None:
        return default
    if described.get("type") not in TEXT_TYPES:
        return None
    return described.get("length") or default


def check_length(write: PlannedWrite, name: str, value: Any, limit: int | None) -> None:
    """Refuse, never cut: a value longer than its Salesforce field is an error on the record."""
    if limit and isinstance(value, str) and len(value) > limit:
        message = (f"{name} is {len(value):,} characters; the Salesforce field holds {limit:,}. "
                   "The record is not sent rather than cut.")
        write.errors.append((name, message))
        write.notes.append(f"Refused: {message}")


def check_lengths(write: PlannedWrite, describe_fields: dict[str, dict] | None) -> None:
    for name, value in write.fields.items():
        check_length(write, name, value, field_length(describe_fields, name))


def only_described(write: PlannedWrite, describe_fields: dict[str, dict] | None, *, keep: tuple[str, ...] = ()) -> None:
    """Drop the fields the org does not have (a custom object with fewer fields), saying so.
    Without a describe (not connected) everything stays."""
    if describe_fields is None:
        return
    for name in list(write.fields):
        if name in keep:
            continue
        described = describe_fields.get(name.lower())
        if described is None:
            write.fields.pop(name)
            write.skipped.append((name, "Field not in the org (or hidden from the integration user)."))
        elif described.get("name") and described["name"] != name:
            write.fields[described["name"]] = write.fields.pop(name)


def parent_field(describe_fields: dict[str, dict] | None, parent_sobject: str, default: str) -> str:
    """The child's lookup to its parent object. The default name when it points at the parent
    (or without a describe); otherwise the one reference field that does, so a configured
    custom parent object works without renaming anything."""
    if describe_fields is None:
        return default
    described = describe_fields.get(default.lower())
    if described is not None and parent_sobject in (described.get("referenceTo") or []):
        return described["name"]
    candidates = [f["name"] for f in describe_fields.values()
                  if f.get("type") == "reference" and parent_sobject in (f.get("referenceTo") or [])
                  and f.get("createable", True)]
    return candidates[0] if len(candidates) == 1 else default
