"""Comparing one chunk of Salesforce records with Cothon: the drift found and what repairing it
takes. Reads only (a few queries a chunk, whatever its size); the service writes.

Per Salesforce record:
- linked, not deleted, Cothon record present: each compared mapping's value as the push would
  send it (`outbound_value`) against Salesforce's, both normalized as the pull compares them.
  A difference is a field difference; the three-way detection against the link's base snapshot
  says who changed it, so the repair goes the rule's way (see `FieldPlan`).
- linked, Cothon record gone: missing in Cothon (deletes never propagate: reported only).
- linked and returned deleted (IsDeleted): missing in Salesforce (the link is marked "deleted in
  Salesforce" after a complete read only).
- not linked, carrying a Cothon_Ref__c no Cothon opportunity has: an orphan.
Links the read never returned are found after the read (`services`), from the ids seen here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from integrations.mapping import conflicts
from integrations.mapping.opportunity_inbound import (
    COTHON_ONLY,
    InboundContext,
    comparable,
    id18,
    outbound_value,
    pulls_field,
    pushes_field,
)
from opportunities.models import Opportunity
from sync_engine.models import LinkStatus, SyncLink
from sync_engine.validation.models import DriftKind
from sync_engine.vocabulary import RecordType

EXAMPLES_PER_KIND = 20
REFERENCE_FIELD = "Cothon_Ref__c"
NOT_COMPARED = (LinkStatus.SKIPPED, LinkStatus.UNLINKED)


def compared_mappings(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The mappings whose values must match on both sides: enabled, synced in at least one
    direction, and not written by Cothon for people to read (source, link, full title)."""
    return [m for m in settings.get("opportunity_mappings") or []
            if m.get("enabled") is not False and m["cothon_field"] not in COTHON_ONLY
            and (pulls_field(settings, m["sf_field"]) or pushes_field(settings, m["sf_field"]))]


def read_fields(settings: dict[str, Any], describe: dict | None) -> list[str]:
    """What the read selects: Id, IsDeleted, the record's times (a conflict's Salesforce side),
    the reference (orphans) and the compared fields the org has. Nothing else."""
    available = {f["name"].lower(): f["name"] for f in (describe or {}).get("fields", [])}
    has = (lambda name: name.lower() in available) if describe else (lambda name: True)
    fields = ["Id", "IsDeleted", "SystemModstamp"] + [n for n in ("LastModifiedDate", REFERENCE_FIELD) if has(n)]
    fields += [available.get(m["sf_field"].lower(), m["sf_field"]) for m in compared_mappings(settings) if has(m["sf_field"])]
    seen: set[str] = set()
    return [f for f in fields if not (f.lower() in seen or seen.add(f.lower()))]


@dataclass
class Tally:
    """What the whole run found, chunk by chunk (counts, a few examples per kind)."""

    counts: dict[str, int] = field(default_factory=lambda: {k.value: 0 for k in DriftKind})
    examples: dict[str, list[dict]] = field(default_factory=lambda: {k.value: [] for k in DriftKind})
    compared: int = 0
    records_with_differences: int = 0
    seen_links: set[int] = field(default_factory=set)  # link ids the read returned (deleted or not)
    # Links Salesforce returned deleted and not marked yet: marked only once the read is complete.
    returned_deleted: list[int] = field(default_factory=list)

    def found(self, kind: str, example: dict) -> None:
        self.counts[kind] += 1
        if len(self.examples[kind]) < EXAMPLES_PER_KIND:
            self.examples[kind].append(example)


@dataclass
class ChunkPlan:
    """The repairs one chunk calls for."""

    push: dict[int, set[str]] = field(default_factory=dict)  # opportunity id → Cothon columns to push
    pull: list[dict] = field(default_factory=list)  # Salesforce records to apply through the pull (rules, review)


@dataclass(frozen=True)
class Comparison:
    connection_id: int
    tenant_id: int
    sobject: str
    settings: dict[str, Any]
    mappings: list[dict[str, Any]]
    inbound: InboundContext


def comparison_for(connection, settings: dict[str, Any], sobject: str) -> Comparison:
    """The comparison's fixed inputs, read once: the user and department links the push's values
    are made of (no Salesforce call)."""
    users = {id18(sf_id): user_id for user_id, sf_id in
             connection.user_links.exclude(salesforce_user_id="").values_list("user_id", "salesforce_user_id")}
    department_accounts = {dept: id18(acc) for dept, acc in SyncLink.objects.filter(
        connection=connection, record_type=RecordType.DEPARTMENT).exclude(salesforce_id="").values_list("record_id", "salesforce_id")}
    inbound = InboundContext(settings=settings, users_by_salesforce_id=users, department_accounts=department_accounts,
                             integration_user_id=id18(connection.sf_user_id))
    return Comparison(connection_id=connection.pk, tenant_id=connection.tenant_id, sobject=sobject, settings=settings,
                      mappings=compared_mappings(settings), inbound=inbound)


def compare_chunk(cmp: Comparison, records: list[dict], tally: Tally) -> ChunkPlan:
    """Compare one chunk; count what differs into `tally`; return its repairs."""
    plan = ChunkPlan()
    for record in records:
        record["Id"] = id18(record.get("Id"))
    ids = [r["Id"] for r in records if r["Id"]]
    links = {sf_id: (pk, record_id, status, base or {}) for pk, record_id, sf_id, status, base in SyncLink.objects.filter(
        connection_id=cmp.connection_id, record_type=RecordType.OPPORTUNITY, sobject=cmp.sobject, salesforce_id__in=ids,
    ).values_list("pk", "record_id", "salesforce_id", "status", "base_snapshot")}
    opportunities = Opportunity.objects.filter(tenant_id=cmp.tenant_id, pk__in=[v[1] for v in links.values()]).in_bulk()
    unlinked_refs = {str(r.get(REFERENCE_FIELD)).strip() for r in records
                     if r["Id"] not in links and r.get(REFERENCE_FIELD) and not _deleted(r)}
    known_refs = set(Opportunity.objects.filter(tenant_id=cmp.tenant_id, reference__in=unlinked_refs)
                     .values_list("reference", flat=True)) if unlinked_refs else set()
    for record in records:
        sf_id = record["Id"]
        link = links.get(sf_id)
        if link is None:
            reference = str(record.get(REFERENCE_FIELD) or "").strip()
            if reference and not _deleted(record) and reference not in known_refs:
                tally.found(DriftKind.ORPHAN, {"salesforce_id": sf_id, "reference": reference,
                                               "note": f"Carries Cothon reference “{reference}”, which no Cothon opportunity has."})
            continue
        link_id, record_id, status, base = link
        tally.seen_links.add(link_id)
        if status in NOT_COMPARED:
            continue
        opportunity = opportunities.get(record_id)
        if _deleted(record):
            if opportunity is None:
                tally.found(DriftKind.ORPHAN, {"record_id": record_id, "salesforce_id": sf_id,
                                               "note": "A link to nothing: deleted on both sides."})
                continue
            tally.found(DriftKind.MISSING_IN_SALESFORCE, {"record_id": record_id, "title": opportunity.title, "salesforce_id": sf_id,
                                                          "note": "Deleted in Salesforce (in its recycle bin)."})
            if status != LinkStatus.DELETED_IN_SALESFORCE:
                tally.returned_deleted.append(link_id)
            continue
        if opportunity is None:
            tally.found(DriftKind.MISSING_IN_COTHON, {"record_id": record_id, "salesforce_id": sf_id, "title": record.get("Name") or "",
                                                      "note": "The Cothon opportunity was deleted; the Salesforce record stays."})
            continue
        tally.compared += 1
        _compare_fields(cmp, record, opportunity, base, tally, plan)
    return plan


def _compare_fields(cmp: Comparison, record: dict, opportunity: Opportunity, base: dict, tally: Tally, plan: ChunkPlan) -> None:
    differing = False
    needs_pull = False
    for mapping in cmp.mappings:
        sf_field = mapping["sf_field"]
        if sf_field not in record:
            continue  # not in the org (not selected): nothing to compare
        ours = outbound_value(opportunity, mapping, cmp.inbound)
        ours = comparable(sf_field, ours)
        theirs = comparable(sf_field, record[sf_field])
        if ours == theirs:
            continue
        if sf_field == "OwnerId" and ours is None and theirs not in cmp.inbound.users_by_salesforce_id:
            # Neither side can carry it: the assignee has no Salesforce user (the push sends no
            # Owner) and Salesforce's owner no Cothon user (the pull keeps the assignee). The
            # user mapping's gap, listed on the connection page — not drift, and no repair.
            continue
        differing = True
        agreed = comparable(sf_field, base[sf_field]) if sf_field in base else conflicts.MISSING
        kind = conflicts.detect(agreed, ours, theirs)
        tally.found(DriftKind.FIELD_DIFFERENCE, {
            "record_id": opportunity.pk, "title": opportunity.title, "salesforce_id": record["Id"], "field": sf_field,
            "cothon": _shown(ours), "salesforce": _shown(theirs), "changed_by": _changed_by(kind)})
        pulls, pushes = pulls_field(cmp.settings, sf_field), pushes_field(cmp.settings, sf_field)
        if kind == conflicts.COTHON and pushes:
            plan.push.setdefault(opportunity.pk, set()).update(conflicts.cothon_sources(mapping["cothon_field"]))
        elif kind in (conflicts.SALESFORCE, conflicts.CONFLICT) and pulls:
            needs_pull = True  # the pull applies it, or settles / holds the conflict by its rule
        elif pushes:
            plan.push.setdefault(opportunity.pk, set()).update(conflicts.cothon_sources(mapping["cothon_field"]))
    if differing:
        tally.records_with_differences += 1
    if needs_pull:
        plan.pull.append(record)


def _changed_by(kind: str) -> str:
    return {conflicts.COTHON: "Cothon", conflicts.SALESFORCE: "Salesforce", conflicts.CONFLICT: "both"}.get(kind, "")


def _shown(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def _deleted(record: dict) -> bool:
    value = record.get("IsDeleted")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def missing_links(*, connection_id: int, sobject: str, seen: set[int], batch: int = 5000):
    """The connection's opportunity links the read did not return, in batches of
    (link id, record id, Salesforce id, status, whether the Cothon record exists)."""
    rows = (SyncLink.objects.filter(connection_id=connection_id, record_type=RecordType.OPPORTUNITY, sobject=sobject)
            .exclude(salesforce_id="").exclude(status__in=NOT_COMPARED)
            .values_list("pk", "record_id", "salesforce_id", "status").order_by("pk").iterator(chunk_size=batch))
    pending: list[tuple] = []
    for row in rows:
        if row[0] in seen:
            continue
        pending.append(row)
        if len(pending) >= batch:
            yield _with_presence(pending)
            pending = []
    if pending:
        yield _with_presence(pending)


def _with_presence(rows: list[tuple]) -> list[tuple]:
    present = set(Opportunity.objects.filter(pk__in=[r[1] for r in rows]).values_list("pk", flat=True))
    return [(*row, row[1] in present) for row in rows]
