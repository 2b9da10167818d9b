"""Three-way conflict detection and the conflict rules, as pure functions (no database, no call).

Each linked record keeps a base snapshot: the value of each Salesforce field both sides last
agreed on. Comparing a field's base with Cothon's current value (as the push would send it) and
Salesforce's current value (as pulled) says who changed it since:

- neither, or both to the same value: nothing to decide ("unchanged", "agreed");
- one side only: that side's value flows to the other ("cothon", "salesforce");
- both, to different values: a conflict, settled by the field's rule — or held for a person to
  decide when the connection flags conflicts for review.

Salesforce keeps no per-field modification times (without Field History Tracking, which the
integration does not read), so "last write wins" compares Cothon's time for the field
(`Opportunity.field_changed_at`) with the record's LastModifiedDate (SystemModstamp when absent):
a Salesforce change of another field of the same record counts as a change of this one.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

UNCHANGED = "unchanged"
AGREED = "agreed"
COTHON = "cothon"
SALESFORCE = "salesforce"
CONFLICT = "conflict"

COTHON_WINS = "cothon_wins"
SALESFORCE_WINS = "salesforce_wins"
LAST_WRITE_WINS = "last_write_wins"

_MISSING = object()


@dataclass(frozen=True)
class HeldConflict:
    """A field changed on both sides, held for a person: values in Salesforce's terms."""

    sf_field: str
    cothon_field: str
    base: Any
    cothon: Any
    salesforce: Any
    cothon_changed_at: datetime.datetime | None
    salesforce_changed_at: datetime.datetime | None
    rule: str
    cothon_changed_by: int | None = None  # the user id of Cothon's latest change of the field, if recorded


def detect(base: Any, cothon: Any, salesforce: Any) -> str:
    """Who changed a field since the base. Values are compared normalized (the caller's job).
    `base` may be `MISSING` (no agreed value yet: the first pull of a link made without one);
    then a difference counts as Salesforce's change, as before conflicts were detected."""
    if cothon == salesforce:
        return UNCHANGED if base is not _MISSING and base == cothon else AGREED
    if base is _MISSING:
        return SALESFORCE
    if salesforce == base:
        return COTHON
    if cothon == base:
        return SALESFORCE
    return CONFLICT


MISSING = _MISSING


def winner(rule: str, cothon_at: datetime.datetime | None, salesforce_at: datetime.datetime | None) -> str:
    """The side whose value a conflicting field takes. Last write wins: the later time; a side
    with no known time loses to one with a time; equal or both unknown: Salesforce (its value is
    the one in hand, and taking it never needs a write back)."""
    if rule == COTHON_WINS:
        return COTHON
    if rule == SALESFORCE_WINS:
        return SALESFORCE
    if cothon_at is not None and (salesforce_at is None or cothon_at > salesforce_at):
        return COTHON
    return SALESFORCE


def cothon_field_time(changed_at: dict[str, str] | None, cothon_fields: tuple[str, ...] | list[str]) -> datetime.datetime | None:
    """The latest time any of these Cothon fields changed (Amount reads value_min and value_max)."""
    times = [parse_time((changed_at or {}).get(name)) for name in cothon_fields]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def cothon_field_author(changed_at: dict[str, str] | None, changed_by: dict[str, Any] | None,
                        cothon_fields: tuple[str, ...] | list[str]) -> int | None:
    """Who made the latest change of these Cothon fields (`Opportunity.field_changed_by`): a
    user id, or None (not recorded, pulled from Salesforce, or made by no one signed in)."""
    known = [(t, name) for name in cothon_fields if (t := parse_time((changed_at or {}).get(name))) is not None]
    if not known:
        return None
    author = (changed_by or {}).get(max(known)[1])
    return author if isinstance(author, int) and not isinstance(author, bool) else None


def parse_time(text: Any) -> datetime.datetime | None:
    if isinstance(text, datetime.datetime):
        return text if text.tzinfo else text.replace(tzinfo=datetime.timezone.utc)
    if not isinstance(text, str) or not text:
        return None
    candidate = text.replace("Z", "+00:00")
    if len(candidate) >= 5 and candidate[-5] in "+-" and candidate[-3] != ":":
        candidate = candidate[:-2] + ":" + candidate[-2:]
    try:
        parsed = datetime.datetime.fromisoformat(candidate)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def salesforce_time(record: dict[str, Any]) -> datetime.datetime | None:
    """When the record was last changed by someone: LastModifiedDate, else SystemModstamp."""
    return parse_time(record.get("LastModifiedDate")) or parse_time(record.get("SystemModstamp"))


def cothon_sources(cothon_field: str) -> tuple[str, ...]:
    """The Opportunity columns a mapped Cothon field is made of (its change times, its push)."""
    if cothon_field == "value":
        return ("value_min", "value_max")
    return (cothon_field,)
