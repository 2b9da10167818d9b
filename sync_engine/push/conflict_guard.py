"""The conflict rules on push: before Cothon's values update a linked record, the fields that
could be in conflict are read from Salesforce — one query a batch, and only when some field
could be — so a change Salesforce made since the base (one the pull has not brought in yet) is
never overwritten by a value that should lose.

The read: one query by Id for up to 300 records (a collections batch is at most 200); a larger
batch (Bulk-sized background runs) reads instead what changed in Salesforce since the incremental
pull's watermark, in one query (`_read`).

A field could be in conflict when the link has a base for it, the pull applies it (a field the
pull never reads is Cothon's to send), and either its rule may keep Salesforce's value (not
"Cothon wins"), or review is on (no rule decides: a "Cothon wins" field changed on both sides is
held too), or Cothon's value is the base's (Cothon did not change it: a whole-record push
re-sends it). For each such field whose Salesforce value differs from the base and from the one
being sent:

- Cothon did not change it (Cothon = base): Salesforce changed it alone — it is not sent, and
  Salesforce's value is applied to Cothon;
- with "flag conflicts for review" on: not sent, and held (a SyncConflict row);
- "Salesforce wins": not sent, Salesforce's value applied;
- "Last write wins" (Stage by default): Cothon's own time for the field
  (`Opportunity.field_changed_at`) against Salesforce's time for the record (LastModifiedDate,
  SystemModstamp when absent) — Cothon later: sent, overwriting the earlier Salesforce change;
  Salesforce later (or equal, or Cothon's time unknown: `conflicts.winner`): not sent, and
  Salesforce's value applied to Cothon, so the later write wins on both sides;
- "Cothon wins": sent.

Applying and holding go through the pull's own apply (`pull_apply_fields`) with the values just
read, so the push and the pull decide a conflict the same way, and the fields' base moves as it
would on a pull. Whole-record pushes (created and then re-sent, Sync Now, scheduled runs, a
record's Sync button) are guarded like partial ones; a record with no partner has nothing to
guard."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from integrations.mapping import conflicts
from integrations.mapping.opportunity_inbound import COTHON_ONLY, comparable, id18
from integrations.salesforce.soql import soql_quote
from sync_engine.attempts import LINK_COLUMNS, attempts_settle, push_token_field
from sync_engine.models import SyncLink
from sync_engine.pull.incremental import read_from
from sync_engine.pull.models import PullWatermark
from sync_engine.push.context import PushContext
from sync_engine.push.writer import Item
from sync_engine.vocabulary import RecordType

# Ids in one IN list: the query's URL stays under Salesforce's 16 KB (as the contact roles' read).
CHUNK = 300
TIME_FIELDS = ("LastModifiedDate", "SystemModstamp", "LastModifiedById")


@dataclass
class GuardResult:
    """What the guard kept from Salesforce: record id → the fields not sent, and the values it
    read that Cothon takes (partial records for the pull's apply)."""

    held_back: dict[int, list[str]] = field(default_factory=dict)
    to_apply: list[dict[str, Any]] = field(default_factory=list)
    queried: bool = False
    # The linked items' links (record id → link, LINK_COLUMNS only), for marking the write.
    links: dict[int, SyncLink] = field(default_factory=dict)


def candidate_fields(ctx: PushContext, fields: dict[str, Any], base: dict[str, Any]) -> list[str]:
    """The fields of one payload that could be in conflict (see the module's docstring)."""
    settings = ctx.settings
    if not settings.pulls or not base:
        return []
    pulled = {m.sf_field for m in settings.active_mappings if m.cothon_field not in COTHON_ONLY and settings.pulls_field(m.sf_field)}
    out = []
    for name, value in fields.items():
        if name not in pulled or name not in base:
            continue
        # With review on no rule decides, so a "Cothon wins" field Cothon changed could be a
        # conflict to hold as well: it is read too (the price of review: a query a batch).
        if (settings.flag_conflicts_for_review or settings.conflict_rule(name) != conflicts.COTHON_WINS
                or comparable(name, value) == comparable(name, base[name])):
            out.append(name)
    return out


def guard_items(ctx: PushContext, sobject: str, items: list[Item], *, changed_at: dict[int, dict[str, str]]) -> GuardResult:
    """Check the linked items' fields that could be in conflict against Salesforce (one query
    for up to CHUNK records; none when no field could be) and remove the ones Salesforce's
    value should keep. `changed_at`: record id → `Opportunity.field_changed_at`."""
    result = GuardResult()
    linked = [item for item in items if item.salesforce_id]
    if not linked:
        return result
    links = result.links = {link.record_id: link for link in SyncLink.objects.filter(
        connection_id=ctx.connection.pk, record_type=RecordType.OPPORTUNITY, sobject=sobject,
        record_id__in=[i.record_id for i in linked]).only(*LINK_COLUMNS)}
    wanted: dict[int, list[str]] = {}
    # A write whose result was never recorded (its worker died): the record is read whatever the
    # rules, with what that write sent, to tell whether it landed (sync_engine/attempts.py).
    unsettled: dict[int, set[str]] = {}
    for item in linked:
        link = links.get(item.record_id)
        if link is not None and link.inflight_values is not None:
            unsettled[item.record_id] = {n for n in [*link.inflight_values, *item.fields] if not n.startswith("@")}
            continue
        names = candidate_fields(ctx, item.fields, _base(links, item.record_id))
        if names:
            wanted[item.record_id] = names
    if not wanted and not unsettled:
        return result
    checked = [item for item in linked if item.record_id in wanted or item.record_id in unsettled]
    token = push_token_field(ctx.describe_fields) if unsettled else ""
    columns = sorted({n for names in [*wanted.values(), *unsettled.values()] for n in names} - set(TIME_FIELDS)
                     | ({token} if token else set()))
    current = {id18(row["Id"]): row for row in _read(ctx, sobject, checked, columns)}
    result.queried = True
    if unsettled:
        attempts_settle((links[item.record_id], current[id18(item.salesforce_id)]) for item in checked
                        if item.record_id in unsettled and id18(item.salesforce_id) in current)
        for item in checked:
            if item.record_id in unsettled:
                wanted[item.record_id] = candidate_fields(ctx, item.fields, _base(links, item.record_id))
    cothon_fields = {m.sf_field: m.cothon_field for m in ctx.settings.active_mappings}
    review = ctx.settings.flag_conflicts_for_review
    for item in checked:
        row = current.get(id18(item.salesforce_id))
        if row is None:
            continue  # gone from Salesforce: the write says so
        base = _base(links, item.record_id)
        taken: dict[str, Any] = {}
        for name in wanted.get(item.record_id, []):
            if name not in row:
                continue
            theirs, agreed, ours = comparable(name, row[name]), comparable(name, base[name]), comparable(name, item.fields.get(name))
            if theirs in (agreed, ours):
                continue  # Salesforce did not change it, or holds what is sent
            if ours != agreed and not review:
                rule = ctx.settings.conflict_rule(name)
                cothon_at = conflicts.cothon_field_time(changed_at.get(item.record_id),
                                                        conflicts.cothon_sources(cothon_fields.get(name, "")))
                if conflicts.winner(rule, cothon_at, conflicts.salesforce_time(row)) == conflicts.COTHON:
                    continue  # Cothon's change is the one to keep: Salesforce's is overwritten
            item.fields.pop(name, None)
            result.held_back.setdefault(item.record_id, []).append(name)
            taken[name] = row[name]
        if taken:
            # No SystemModstamp: the pull's own read of this record must still find it new
            # (it applies the fields this partial record does not carry).
            result.to_apply.append({"attributes": {"type": sobject}, "Id": row["Id"],
                                    "LastModifiedDate": row.get("LastModifiedDate") or row.get("SystemModstamp"),
                                    "LastModifiedById": row.get("LastModifiedById"), **taken})
    return result


def _base(links: dict[int, SyncLink], record_id: int) -> dict[str, Any]:
    link = links.get(record_id)
    return (link.base_snapshot or {}) if link is not None else {}


def _read(ctx: PushContext, sobject: str, items: list[Item], columns: list[str]) -> Iterator[dict]:
    """The items' Salesforce records (the columns, who changed them and when). Up to CHUNK
    records: one query by Id. More (a Bulk-sized background batch): when the incremental pull
    has a watermark for the object, one query for what changed in Salesforce since the pull
    applied (its next cycle's start: a change before it was applied or held by the pull, so
    Cothon holds it or the field is held) — one call a 2,000 changed records, however large
    the batch; else by Id, CHUNK a query."""
    select = f"SELECT Id, {', '.join([*TIME_FIELDS, *columns])} FROM {sobject}"
    since = _pulled_until(ctx, sobject) if len(items) > CHUNK else None
    if since is not None:
        wanted = {id18(i.salesforce_id) for i in items}
        stamp = since.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        yield from (row for row in ctx.client.query_all_iter(f"{select} WHERE SystemModstamp >= {stamp}")
                    if id18(row["Id"]) in wanted)
        return
    for start in range(0, len(items), CHUNK):
        ids = ", ".join(soql_quote(i.salesforce_id) for i in items[start:start + CHUNK])
        yield from ctx.client.query_all_iter(f"{select} WHERE Id IN ({ids})")


def _pulled_until(ctx: PushContext, sobject: str) -> datetime.datetime | None:
    """Where the next incremental pull of the object starts reading (None: never pulled)."""
    mark = PullWatermark.objects.filter(connection_id=ctx.connection.pk, sobject=sobject).first()
    return read_from(mark) if mark is not None else None
