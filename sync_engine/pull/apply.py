"""pull_apply: Salesforce Opportunity records in, Cothon opportunities updated or imported.

For each record: a record deleted in Salesforce marks its link "deleted in Salesforce" (the
Cothon record stays); a record already seen at this SystemModstamp is skipped silently (the
incremental's overlap window and Outbound Message replays); a record whose mapped values are
what we last pushed or agreed on is our own echo — nothing is written, nothing is pushed; the
rest go through `opportunity_from_salesforce` and the opportunities services with
`origin=salesforce`, so the change is never pushed back to this org (other push-enabled orgs
still get it). Unlinked records are imported only where the connection's import setting is on
and they pass its import filter.

Every applied, skipped or failed record is a SyncLog row with direction "pull"; echoes and
not-imported records are counted in one row per call (a commercial pipeline must not write a
log row per record per cycle)."""

from __future__ import annotations

import copy
import datetime
import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.mapping.conflicts import cothon_sources, parse_time, salesforce_time
from integrations.mapping.opportunity_inbound import (
    InboundContext,
    comparable,
    id18,
    opportunity_from_salesforce,
    parse_datetime,
    pulled_mappings,
)
from integrations.models import SalesforceConnection
from integrations.salesforce.errors import SalesforceError
from integrations.salesforce.soql import soql_quote
from integrations.sync_settings import settings_current
from opportunities import services as opportunity_services
from opportunities.models import Department, Opportunity
from sync_engine.attempts import attempts_settle
from sync_engine.call_counts import add_calls, call_failed
from sync_engine.metric_totals import add_totals, log_totals
from sync_engine.conflicts.selectors import held_fields
from sync_engine.conflicts.services import Held, conflicts_hold, conflicts_supersede
from sync_engine.links import drop_skipped_records, values_hash
from sync_engine.outbox import Change, record_changes
from sync_engine.rows import update_rows
from sync_engine.pull.contact_roles import contact_roles_pull, roles_read
from sync_engine.models import LinkStatus, MatchedBy, SyncDirection, SyncLink, SyncLog, SyncResult
from sync_engine.vocabulary import Event, Origin, RecordType

logger = logging.getLogger(__name__)

CALL_KIND = "pull"
APPLY_CHUNK = 2000  # linked records a batch (a query page): its queries do not grow with it
IMPORT_CHUNK = 100


@dataclass
class PullSummary:
    seen: int = 0
    applied: int = 0
    created: int = 0
    echoes: int = 0
    unchanged: int = 0
    already_seen: int = 0
    not_imported: int = 0
    skipped: int = 0
    deleted: int = 0
    failed: int = 0
    api_calls: int = 0
    contact_roles: int = 0  # opportunity contacts added, changed or removed
    conflicts_settled: int = 0  # fields changed on both sides, settled by their rule
    conflicts_held: int = 0  # fields changed on both sides, held for review
    warnings: list[str] = field(default_factory=list)
    # Salesforce ids of applied opportunities whose contact roles the caller reads later
    # (`pull_apply(contact_roles=False)`: the real-time pull coalesces them).
    roles_pending: set[str] = field(default_factory=set)

    def add(self, other: "PullSummary") -> None:
        for name in ("seen", "applied", "created", "echoes", "unchanged", "already_seen", "not_imported", "skipped",
                     "deleted", "failed", "api_calls", "contact_roles", "conflicts_settled", "conflicts_held"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.warnings.extend(other.warnings)
        self.roles_pending |= other.roles_pending


@dataclass
class PullContext:
    """One pull call's connection, settings, lazily made client and log rows."""

    connection: SalesforceConnection
    settings: dict[str, Any]
    client_factory: Callable[[], Any] | None = None
    source: str = "incremental"
    logs: list[SyncLog] = field(default_factory=list)
    calls: int = 0
    failed_calls: int = 0
    # Salesforce id → Cothon opportunity id of the records applied (their contact roles follow).
    applied: dict[str, int] = field(default_factory=dict)
    # Cothon ids of the records read that had a conflict open for review (review on only).
    holding: set[int] = field(default_factory=set)
    _client: Any = None
    _labels: dict[str, str] | None = None

    @property
    def sobject(self) -> str:
        return (self.settings.get("objects") or {}).get("opportunity", "Opportunity")

    def field_labels(self) -> dict[str, str]:
        """API name → label from the cached describe (no call): extended data shows labels."""
        if self._labels is None:
            from integrations.models import DescribeCache

            payload = (DescribeCache.objects.filter(connection=self.connection, sobject=self.sobject)
                       .values_list("payload", flat=True).first()) or {}
            self._labels = {f["name"]: f.get("label") or f["name"] for f in payload.get("fields", [])}
        return self._labels

    def client(self):
        if self._client is None:
            if self.client_factory is None:
                raise SalesforceError("NO_CLIENT", "This pull has no Salesforce client.")
            self._client = self.client_factory()
        return self._client

    def on_call(self, record) -> None:
        self.calls += 1
        self.failed_calls += call_failed(record)

    def log(self, *, operation: str, result: str, opportunity: Opportunity | None = None, salesforce_id: str = "",
            label: str = "", code: str = "", message: str = "", hint: str = "", record_type: str = RecordType.OPPORTUNITY,
            record_id: int | None = None, sobject: str = "", record: dict | None = None) -> None:
        self.logs.append(SyncLog(
            # The Salesforce change's own time: Salesforce → Cothon latency is created_at - queued_at.
            queued_at=_changed_in_salesforce_at(record) if record is not None else None,
            tenant_id=self.connection.tenant_id, connection_id=self.connection.pk, direction=SyncDirection.PULL,
            record_type=record_type, record_id=opportunity.pk if opportunity else record_id,
            record_label=(label or (opportunity.title if opportunity else ""))[:255], sobject=sobject or self.sobject,
            salesforce_id=salesforce_id, operation=operation[:20], result=result, error_code=code[:80],
            error_message=message[:4000], hint=hint))

    def flush(self) -> None:
        totals = None
        if self.logs:
            if self.calls and not any(row.api_calls for row in self.logs):
                self.logs[0].api_calls = min(self.calls, 32767)
            SyncLog.objects.bulk_create(self.logs, batch_size=500)
            # bulk_create leaves auto_now_add's created_at on the objects: the Prometheus totals
            # of these rows (docs/monitoring.md), written with the calls'.
            totals = log_totals((row.connection_id, row.direction, row.result, row.error_code, row.created_at, row.queued_at)
                                for row in self.logs)
            self.logs = []
        if self.calls:
            add_calls(connection_id=self.connection.pk, kind=CALL_KIND, calls=self.calls, failed=self.failed_calls, totals=totals)
            self.calls = 0
            self.failed_calls = 0
        else:
            add_totals(totals)


def pull_context(*, connection: SalesforceConnection, settings: dict[str, Any] | None, source: str,
                 client_factory=None) -> PullContext:
    """The context of one apply call: the connection's settings (read once unless given) and a
    client made on first use whose calls are counted on the context."""
    data = settings if settings is not None else settings_current(connection=connection)
    holder: list = []
    ctx = PullContext(connection=connection, settings=data, source=source,
                      client_factory=client_factory or client_factory_for(connection, holder))
    holder.append(ctx)
    return ctx


def client_factory_for(connection: SalesforceConnection, ctx_holder: list) -> Callable[[], Any]:
    """A client made on first use, its calls counted on the context and fed to the governor."""
    def make():
        from integrations.connections import client_for
        from sync_engine.governor import get_governor

        governor = get_governor()

        def on_call(record) -> None:
            ctx_holder[0].on_call(record)
            if record.usage is not None:
                governor.observe(connection.pk, record.usage.used, record.usage.allowance)
        return client_for(connection, on_call=on_call)
    return make


def import_enabled(settings: dict[str, Any]) -> bool:
    """Opportunities created in Salesforce come into Cothon only where this is on: by default
    for pull-only connections, not for bidirectional or hybrid ones (decisions.md)."""
    direction = settings.get("direction", "bidirectional")
    if direction == "push":
        return False
    return bool(settings.get("import_new", direction == "pull"))


def import_refusal(record: dict[str, Any], settings: dict[str, Any]) -> str:
    """Why an unlinked record is not imported ("" when it is)."""
    if not import_enabled(settings):
        return "import of opportunities created in Salesforce is off for this connection"
    rule = settings.get("import_filter") or {}
    stages = rule.get("stages") or []
    if stages and record.get("StageName") not in stages:
        return f"stage “{record.get('StageName')}” is not in the import filter"
    if rule.get("require_cothon_ref") and not record.get("Cothon_Ref__c"):
        return "it has no Cothon reference (Cothon_Ref__c) and the import filter requires one"
    return ""


# --- the service ------------------------------------------------------------------------------

def pull_apply(*, connection: SalesforceConnection, sobject_records: list[dict[str, Any]], client_factory=None,
               source: str = "incremental", settings: dict[str, Any] | None = None, contact_roles: bool = True) -> PullSummary:
    """Apply pulled Opportunity records of one connection. Raises only for infrastructure
    errors (database, a Salesforce call that failed): the caller then keeps its watermark or
    its notification unprocessed and tries again. `contact_roles=False`: the applied
    opportunities' contact roles are not read here; their Salesforce ids are in
    `summary.roles_pending` for the caller to read later."""
    ctx = pull_context(connection=connection, settings=settings, source=source, client_factory=client_factory)
    data = ctx.settings
    summary = PullSummary(seen=len(sobject_records))
    # A record someone skipped in this connection is never applied (sync_engine.partner_actions).
    sobject_records, summary.skipped = drop_skipped_records(connection=connection, sobject=ctx.sobject, records=sobject_records)
    if data.get("direction", "bidirectional") == "push" or not sobject_records:
        summary.skipped += len(sobject_records)
        return summary  # push-only never writes Cothon
    try:
        _apply_records(ctx, sobject_records, summary)
        if contact_roles:
            contact_roles_pull(ctx, ctx.applied, sobject_records, summary, create_contacts=import_enabled(data))
        elif roles_read(ctx):
            summary.roles_pending |= set(ctx.applied)
    finally:
        summary.api_calls += ctx.calls
        ctx.flush()
    return summary


def pull_apply_fields(*, connection: SalesforceConnection, records: list[dict[str, Any]], client_factory=None,
                      settings: dict[str, Any] | None = None, source: str = "push guard") -> PullSummary:
    """Apply some fields of linked records, read by the push's conflict guard, as a pull would:
    the same rules (applied, kept, or held for review), logs and base. Partial records: no
    SystemModstamp (the next pull still reads the whole record), no contact roles read."""
    ctx = pull_context(connection=connection, settings=settings, source=source, client_factory=client_factory)
    summary = PullSummary(seen=len(records))
    records, summary.skipped = drop_skipped_records(connection=connection, sobject=ctx.sobject, records=records)
    if ctx.settings.get("direction", "bidirectional") == "push" or not records:
        return summary
    try:
        _apply_records(ctx, records, summary)
    finally:
        summary.api_calls += ctx.calls
        ctx.flush()
    return summary


def _apply_records(ctx: PullContext, records: list[dict[str, Any]], summary: PullSummary) -> None:
    connection = ctx.connection
    for record in records:
        record["Id"] = id18(record.get("Id"))
    ids = [r["Id"] for r in records if r.get("Id")]
    links = {link.salesforce_id: link for link in SyncLink.objects.filter(
        connection=connection, record_type=RecordType.OPPORTUNITY, sobject=ctx.sobject, salesforce_id__in=ids)}
    # A push write whose result was never recorded (its worker died) is settled against what
    # Salesforce holds before anything is compared with the base (one statement, only then).
    by_id = {r["Id"]: r for r in records}
    attempts_settle((link, by_id[sf_id]) for sf_id, link in links.items() if link.inflight_values is not None)
    opportunities = Opportunity.objects.filter(tenant_id=connection.tenant_id, pk__in=[link.record_id for link in links.values()])
    current = {o.pk: o for o in opportunities.select_related("department")}
    mappings = pulled_mappings(ctx.settings)
    # A record with a conflict held for review is never an echo: Salesforce going back to the
    # base (what an echo looks like) settles the conflict and lets Cothon's value out.
    if ctx.settings.get("flag_conflicts_for_review") and current:
        ctx.holding |= set(held_fields(connection_id=connection.pk, record_ids=list(current)))
    work: list[tuple[dict, SyncLink | None, Opportunity | None]] = []
    echoed: list[SyncLink] = []
    not_imported: dict[str, int] = {}
    for record in records:
        link = links.get(record["Id"])
        if _is_deleted(record):
            if link is not None:
                _mark_deleted(ctx, link, current.get(link.record_id), record, summary)
            continue
        stamp = parse_datetime(record.get("SystemModstamp") or "")
        if link is not None and stamp is not None and link.salesforce_modstamp and stamp <= link.salesforce_modstamp:
            summary.already_seen += 1
            continue
        if link is None:
            refusal = import_refusal(record, ctx.settings)
            if refusal:
                not_imported[refusal] = not_imported.get(refusal, 0) + 1
                continue
            matched = _match_by_reference(ctx, record, links)
            if matched is not None:
                link, opportunity = matched
                current[opportunity.pk] = opportunity
        opportunity = current.get(link.record_id) if link is not None else None
        if link is not None and opportunity is None:
            summary.skipped += 1
            ctx.log(operation="skip", result=SyncResult.SKIPPED, salesforce_id=record["Id"], label=record.get("Name") or "",
                    code="DELETED_IN_COTHON", message="The Cothon opportunity of this record was deleted: it is not re-created.")
            continue
        if link is not None and link.record_id not in ctx.holding and _is_echo(link, record, mappings):
            summary.echoes += 1
            if stamp is not None and (link.salesforce_modstamp is None or stamp > link.salesforce_modstamp):
                link.salesforce_modstamp = stamp
                echoed.append(link)
            continue
        work.append((record, link, opportunity))
    # Echoes write nothing but the stamp seen (so the overlap window skips them next time): one statement.
    update_rows(SyncLink, echoed, ["salesforce_modstamp"])
    for refusal, count in not_imported.items():
        summary.not_imported += count
        ctx.log(operation="not imported", result=SyncResult.SKIPPED, code="NOT_IMPORTED",
                label=f"{count} Salesforce opportunit{'y' if count == 1 else 'ies'} not linked to Cothon",
                message=f"Not imported: {refusal}.")
    if not work:
        return
    inbound = _inbound_context(ctx, [r for r, _l, _o in work])
    updates = [item for item in work if item[2] is not None]
    # Linked records: a page at a time, in a fixed number of queries (the rows are locked for
    # the fraction of a second the page's statements take).
    for start in range(0, len(updates), APPLY_CHUNK):
        _apply_updates(ctx, inbound, updates[start:start + APPLY_CHUNK], summary)
    imports = [item for item in work if item[2] is None]
    # Imports (rare: a new Salesforce opportunity) one by one, a savepoint each.
    for start in range(0, len(imports), IMPORT_CHUNK):
        with transaction.atomic():
            for record, link, _opportunity in imports[start:start + IMPORT_CHUNK]:
                _apply_one(ctx, inbound, record, link, None, summary)


def _apply_updates(ctx: PullContext, inbound: InboundContext, items: list[tuple[dict, SyncLink, Opportunity]],
                   summary: PullSummary) -> None:
    """Apply linked records in one transaction through the batch service. A write the database
    refuses although the checks passed (a reference another user took a moment ago, a
    department deleted meanwhile) rolls the batch back and applies it record by record, each
    refused record alone."""
    before_logs, before = len(ctx.logs), copy.deepcopy(summary)
    try:
        with transaction.atomic():
            _apply_batch(ctx, inbound, items, summary)
        return
    except IntegrityError:
        logger.info("Pull batch of connection %s refused by the database; applying it record by record", ctx.connection.pk,
                    exc_info=True)
    del ctx.logs[before_logs:]
    for name, value in vars(before).items():
        setattr(summary, name, value)
    with transaction.atomic():
        fresh = _locked(items)
        for record, link, opportunity in items:
            if opportunity.pk in fresh:
                _apply_one(ctx, inbound, record, link, fresh[opportunity.pk], summary)


def _locked(items: list[tuple[dict, SyncLink, Opportunity]]) -> dict[int, Opportunity]:
    """The opportunities locked and read afresh: the changes are computed from the values they
    will replace. One deleted in Cothon a moment ago is absent."""
    return {o.pk: o for o in Opportunity.objects.select_for_update(of=("self",)).filter(pk__in=[o.pk for _r, _l, o in items])}


def _apply_batch(ctx: PullContext, inbound: InboundContext, items: list[tuple[dict, SyncLink, Opportunity]],
                 summary: PullSummary) -> None:
    """What `_apply_one` does for each linked record, in a fixed number of queries: the lock,
    departments and users, the batch service (references, UPDATE, change records), extended
    data, links. Logs are written by the caller's flush."""
    fresh = _locked(items)
    pending: list[tuple[dict, SyncLink, Opportunity, Any]] = []
    for record, link, opportunity in items:
        current = fresh.get(opportunity.pk)
        if current is None:
            continue  # deleted in Cothon a moment ago
        result = opportunity_from_salesforce(record, current, inbound, base=link.base_snapshot or {})
        summary.warnings.extend(result.warnings)
        pending.append((record, link, current, result))
    instances = _instances_for([result.changes for *_rest, result in pending])
    tenant = ctx.connection.tenant
    # A pulled change happened when Salesforce says: that is its fields' change time in Cothon.
    times = {current.pk: salesforce_time(record) for record, _l, current, _r in pending}
    apply = partial(opportunity_services.opportunities_apply_from_salesforce, tenant=tenant, origin=Origin.SALESFORCE,
                    origin_connection_id=ctx.connection.pk, changed_at={k: v for k, v in times.items() if v})
    first = apply(updates=[(current, instances(result.changes)) for _r, _l, current, result in pending if result.changes])
    failed: dict[int, ValidationError] = {}
    retry = []
    for _record, _link, current, result in pending:
        exc = first.errors.get(current.pk)
        if exc is None:
            continue
        # A value Cothon refuses (a reference another opportunity uses, say) is left out with
        # its reason and the rest applied; an error on no changed field fails the record.
        bad = set(getattr(exc, "message_dict", {}) or {})
        if not bad or not (bad & set(result.changes)):
            failed[current.pk] = exc
            continue
        result.skipped.extend(_drop(ctx, result, bad, exc))
        retry.append((current, instances(result.changes)))
    second = apply(updates=retry) if retry else opportunity_services.BatchUpdateResult()
    failed.update(second.errors)
    saved = {**first.saved, **second.saved}
    extras: list[Opportunity] = []
    links: list[SyncLink] = []
    settled: list[tuple[dict, SyncLink, Opportunity, Any]] = []
    for record, link, current, result in pending:
        if current.pk in failed:
            summary.failed += 1
            ctx.log(operation="update", result=SyncResult.FAILED, opportunity=current, salesforce_id=record["Id"],
                    label=record.get("Name") or "", code="INVALID_VALUE", message=_messages(failed[current.pk]), record=record,
                    hint="Fix the value in Salesforce (or the mapping); the next change is pulled again.")
            continue
        opportunity = saved.get(current.pk, current)
        extra = _extra_for(ctx, opportunity, result)
        if extra is not None:
            opportunity.salesforce_extra = extra
            extras.append(opportunity)
        links.append(_settled(link, result, parse_datetime(record.get("SystemModstamp") or "")))
        settled.append((record, link, opportunity, result))
        ctx.applied[record["Id"]] = opportunity.pk
        _count_and_log(ctx, record, opportunity, result, "update" if result.changes else "unchanged", summary)
    update_rows(Opportunity, extras, ["salesforce_extra"])
    update_rows(SyncLink, links, ["base_snapshot", "salesforce_modstamp", "last_synced_at", "status", "updated_at"])
    _after_conflicts(ctx, settled, summary)


def _after_conflicts(ctx: PullContext, settled: list[tuple[dict, SyncLink, Opportunity, Any]], summary: PullSummary) -> None:
    """Conflicts of applied records: held ones open (or refresh) a SyncConflict; fields whose
    rule kept Cothon's value are queued for the push (origin cothon), so Salesforce converges.
    Nothing when the page had none (the page's query count stays fixed: at most two more)."""
    held = [Held(link=link, opportunity=opportunity, record=record, conflict=conflict)
            for record, link, opportunity, result in settled for conflict in result.held]
    summary.conflicts_held += len(held)
    conflicts_hold(connection=ctx.connection, held=held)
    if ctx.settings.get("flag_conflicts_for_review"):
        _supersede(ctx, settled)
    push = [Change(RecordType.OPPORTUNITY, opportunity.pk, Event.UPDATED, sorted(result.push_back))
            for _record, _link, opportunity, result in settled if result.push_back]
    summary.conflicts_settled += sum(len(result.settled) for *_rest, result in settled)
    record_changes(tenant=ctx.connection.tenant, changes=push, origin=Origin.COTHON)


def _supersede(ctx: PullContext, settled: list[tuple[dict, SyncLink, Opportunity, Any]]) -> None:
    """Open conflicts on fields this pull found no longer changed on both sides (one side went
    back to the base, or both now agree) are settled by that later change; where Cothon's value
    is the one left standing, it is queued for the push (the push held it back while the
    conflict was open). One query for a page with such records (`ctx.holding`), none otherwise."""
    compared = {opportunity.pk: result for _record, _link, opportunity, result in settled
                if result.compared and opportunity.pk in ctx.holding}
    if not compared:
        return
    closed = conflicts_supersede(connection=ctx.connection, fields={pk: r.compared for pk, r in compared.items()})
    for record_id, sf_field in closed:
        result = compared[record_id]
        if sf_field in result.cothon_kept:
            mapped = next((m["cothon_field"] for m in ctx.settings.get("opportunity_mappings") or [] if m["sf_field"] == sf_field), "")
            if mapped:
                result.push_back.update(cothon_sources(mapped))


def _instances_for(changes: list[dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """`_instances` for a batch: the departments and users all the changes name, two queries."""
    department_ids = {c["department"] for c in changes if c.get("department") is not None}
    user_ids = {c["assignee"] for c in changes if c.get("assignee") is not None}
    departments = Department.objects.in_bulk(department_ids) if department_ids else {}
    users = get_user_model().objects.in_bulk(user_ids) if user_ids else {}

    def instances(data: dict[str, Any]) -> dict[str, Any]:
        out = dict(data)
        if out.get("department") is not None:
            if out["department"] not in departments:
                raise Department.DoesNotExist(f"Department {out['department']} does not exist.")
            out["department"] = departments[out["department"]]
        if out.get("assignee") is not None:
            if out["assignee"] not in users:
                raise get_user_model().DoesNotExist(f"User {out['assignee']} does not exist.")
            out["assignee"] = users[out["assignee"]]
        return out
    return instances


def _is_deleted(record: dict[str, Any]) -> bool:
    value = record.get("IsDeleted")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _is_echo(link: SyncLink, record: dict[str, Any], mappings: list[dict]) -> bool:
    """Our own write coming back: the mapped values hash to what we last pushed, or every mapped
    field equals the base snapshot (the values both sides agreed on last)."""
    base = link.base_snapshot or {}
    if not base:
        return False
    names = [m["sf_field"] for m in mappings if m["sf_field"] in record]
    if not names:
        return True
    pulled = {name: comparable(name, record[name]) for name in names}
    if link.pushed_hash:
        pushed_keys = [k for k in base if k in record]
        if pushed_keys and values_hash({k: record[k] for k in pushed_keys}) == link.pushed_hash and \
                all(pulled[n] is None for n in names if n not in base):
            return True
    return all(pulled[name] == comparable(name, base.get(name)) for name in names)


def _mark_deleted(ctx: PullContext, link: SyncLink, opportunity: Opportunity | None, record: dict, summary: PullSummary) -> None:
    summary.deleted += 1
    if link.status == LinkStatus.DELETED_IN_SALESFORCE:
        return
    SyncLink.objects.filter(pk=link.pk).update(status=LinkStatus.DELETED_IN_SALESFORCE, updated_at=timezone.now(),
                                               salesforce_modstamp=parse_datetime(record.get("SystemModstamp") or "") or link.salesforce_modstamp)
    ctx.log(operation="deleted", result=SyncResult.SUCCESS, opportunity=opportunity, salesforce_id=link.salesforce_id,
            code="DELETED_IN_SALESFORCE",
            message="Deleted in Salesforce: the Cothon opportunity stays and no longer syncs with this record.")


def _match_by_reference(ctx: PullContext, record: dict, links: dict[str, SyncLink]) -> tuple[SyncLink, Opportunity] | None:
    """An unlinked record carrying the reference of a Cothon opportunity that has no link in this
    connection yet is that opportunity (the push's external id): link instead of duplicating."""
    reference = (record.get("Cothon_Ref__c") or "").strip()
    if not reference:
        return None
    opportunity = Opportunity.objects.filter(tenant_id=ctx.connection.tenant_id, reference=reference).select_related("department").first()
    if opportunity is None or SyncLink.objects.filter(connection=ctx.connection, record_type=RecordType.OPPORTUNITY,
                                                      record_id=opportunity.pk, sobject=ctx.sobject).exists():
        return None
    link = SyncLink.objects.create(tenant_id=ctx.connection.tenant_id, connection=ctx.connection, record_type=RecordType.OPPORTUNITY,
                                   record_id=opportunity.pk, sobject=ctx.sobject, salesforce_id=record["Id"],
                                   matched_by=MatchedBy.EXTERNAL_ID, status=LinkStatus.SYNCED)
    links[record["Id"]] = link
    return link, opportunity


# --- users and departments ----------------------------------------------------------------------

def _inbound_context(ctx: PullContext, records: list[dict]) -> InboundContext:
    users = {id18(sf_id): user_id for user_id, sf_id in
             ctx.connection.user_links.exclude(salesforce_user_id="").values_list("user_id", "salesforce_user_id")}
    names = {}
    for record in records:
        owner = record.get("Owner")
        if isinstance(owner, dict) and owner.get("Name") and record.get("OwnerId"):
            names[id18(record["OwnerId"])] = owner["Name"]
    department_accounts = dict(SyncLink.objects.filter(connection=ctx.connection, record_type=RecordType.DEPARTMENT)
                               .exclude(salesforce_id="").values_list("record_id", "salesforce_id"))
    inverse = {id18(acc): dept for dept, acc in department_accounts.items()}
    wanted = {id18(r.get("AccountId")) for r in records if r.get("AccountId")} - set(inverse)
    account_departments: dict[str, int | None] = dict(inverse)
    if wanted:
        account_departments.update(_departments_for_accounts(ctx, wanted, records))
        for account_id, department_id in account_departments.items():
            if department_id is not None:
                department_accounts.setdefault(department_id, account_id)
    return InboundContext(settings=ctx.settings, users_by_salesforce_id=users, user_names=names,
                          account_departments=account_departments, department_accounts=department_accounts,
                          integration_user_id=id18(ctx.connection.sf_user_id))


def _departments_for_accounts(ctx: PullContext, account_ids: set[str], records: list[dict]) -> dict[str, int | None]:
    """Account → department: by Cothon_Department_Key__c, then by name; a department is created
    (and linked to the Account) only because an opportunity being applied needs it."""
    info: dict[str, dict] = {}
    for record in records:
        account = record.get("Account")
        if isinstance(account, dict) and record.get("AccountId") and account.get("Name"):
            info[id18(record["AccountId"])] = account
    missing = sorted(account_ids - set(info))
    if missing:
        info.update(_read_accounts(ctx, missing))
    tenant_id = ctx.connection.tenant_id
    found: dict[str, int | None] = {}
    for account_id in account_ids:
        account = info.get(account_id)
        if not account:
            found[account_id] = None
            continue
        department = _department_for(tenant_id, account)
        if department is None:
            department = opportunity_services.department_create(
                tenant=ctx.connection.tenant, name=_free_department_name(tenant_id, account["Name"]),
                origin=Origin.SALESFORCE, origin_connection_id=ctx.connection.pk)
        SyncLink.objects.get_or_create(
            connection=ctx.connection, record_type=RecordType.DEPARTMENT, record_id=department.pk, sobject="Account",
            defaults={"tenant_id": tenant_id, "salesforce_id": account_id, "matched_by": MatchedBy.PULLED,
                      "status": LinkStatus.SYNCED, "base_snapshot": {"Name": account["Name"]}, "last_synced_at": timezone.now()})
        found[account_id] = department.pk
    return found


def _read_accounts(ctx: PullContext, account_ids: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for start in range(0, len(account_ids), 200):
        chunk = ", ".join(soql_quote(a) for a in account_ids[start:start + 200])
        try:
            rows = list(ctx.client().query_all_iter(f"SELECT Id, Name, Cothon_Department_Key__c FROM Account WHERE Id IN ({chunk})"))
        except SalesforceError as exc:
            if exc.code != "INVALID_FIELD":
                raise
            rows = list(ctx.client().query_all_iter(f"SELECT Id, Name FROM Account WHERE Id IN ({chunk})"))
        for row in rows:
            out[id18(row["Id"])] = row
    return out


def _department_for(tenant_id: int, account: dict) -> Department | None:
    key = account.get("Cothon_Department_Key__c") or ""
    if key:
        prefix, _, bare = key.partition(".")
        if prefix == f"t{tenant_id}" and bare:
            department = Department.objects.filter(tenant_id=tenant_id, key=bare).first()
            if department is not None:
                return department
    return Department.objects.filter(tenant_id=tenant_id, name__iexact=(account.get("Name") or "").strip()).first()


def _free_department_name(tenant_id: int, name: str) -> str:
    return (name or "Salesforce account").strip()[:255]


# --- applying one record ------------------------------------------------------------------------

def _apply_one(ctx: PullContext, inbound: InboundContext, record: dict, link: SyncLink | None, opportunity: Opportunity | None,
               summary: PullSummary) -> None:
    stamp = parse_datetime(record.get("SystemModstamp") or "")
    base = (link.base_snapshot or {}) if link is not None else {}
    result = opportunity_from_salesforce(record, opportunity, inbound, base=base)
    summary.warnings.extend(result.warnings)
    try:
        with transaction.atomic():
            if opportunity is None:
                opportunity = _import(ctx, record, result)
                summary.created += 1
                operation = "create"
            else:
                changes = _instances(result.changes)
                dropped = _update_with_retry(ctx, opportunity, changes, result, salesforce_time(record))
                if dropped:
                    result.skipped.extend(dropped)
                operation = "update" if result.changes else "unchanged"
            _store_extra(ctx, opportunity, result)
            link = _settle_link(ctx, link, opportunity, record, result, stamp)
            _after_conflicts(ctx, [(record, link, opportunity, result)], summary)
    except ValidationError as exc:
        summary.failed += 1
        ctx.log(operation="create" if opportunity is None else "update", result=SyncResult.FAILED, opportunity=opportunity,
                salesforce_id=record["Id"], label=record.get("Name") or "", code="INVALID_VALUE", record=record,
                message=_messages(exc), hint="Fix the value in Salesforce (or the mapping); the next change is pulled again.")
        return
    ctx.applied[record["Id"]] = opportunity.pk
    _count_and_log(ctx, record, opportunity, result, operation, summary)


def _changed_in_salesforce_at(record: dict) -> datetime.datetime | None:
    """SystemModstamp (any change, automation's included), else LastModifiedDate."""
    return parse_time(record.get("SystemModstamp")) or salesforce_time(record)


def _count_and_log(ctx: PullContext, record: dict, opportunity: Opportunity, result, operation: str,
                   summary: PullSummary) -> None:
    if operation == "unchanged":
        summary.unchanged += 1
    else:
        summary.applied += 1
    if operation != "unchanged" or result.skipped:
        ctx.log(operation=operation, result=SyncResult.SUCCESS, opportunity=opportunity, salesforce_id=record["Id"],
                code="FIELDS_SKIPPED" if result.skipped else "", record=record,
                message="; ".join(part for part in (
                    ("Changed: " + ", ".join(sorted(result.changes))) if result.changes else "",
                    ("Not applied: " + result.reasons) if result.skipped else "") if part))


def _instances(changes: dict[str, Any]) -> dict[str, Any]:
    """Department and assignee ids → the instances the opportunities services take."""
    out = dict(changes)
    if "department" in out and out["department"] is not None:
        out["department"] = Department.objects.get(pk=out["department"])
    if "assignee" in out and out["assignee"] is not None:
        out["assignee"] = get_user_model().objects.get(pk=out["assignee"])
    return out


def _update_with_retry(ctx: PullContext, opportunity: Opportunity, changes: dict[str, Any], result,
                       changed_at: datetime.datetime | None = None) -> list[tuple[str, str]]:
    """Apply; a value Cothon refuses (a reference another opportunity uses, say) is left out
    with its reason and the rest applied."""
    if not changes:
        return []
    try:
        # opportunity_update is atomic itself: a refused value rolls back to here.
        opportunity_services.opportunity_update(tenant=ctx.connection.tenant, opportunity=opportunity, data=changes,
                                                origin=Origin.SALESFORCE, origin_connection_id=ctx.connection.pk,
                                                changed_at=changed_at)
    except ValidationError as exc:
        bad = set(getattr(exc, "message_dict", {}) or {})
        if not bad or not (bad & set(changes)):
            raise
        dropped = _drop(ctx, result, bad, exc)
        for name in bad:
            changes.pop(name, None)
        fresh = Opportunity.objects.get(pk=opportunity.pk)
        opportunity_services.opportunity_update(tenant=ctx.connection.tenant, opportunity=fresh, data=changes,
                                                origin=Origin.SALESFORCE, origin_connection_id=ctx.connection.pk,
                                                changed_at=changed_at)
        return dropped
    return []


def _drop(ctx: PullContext, result, bad: set[str], exc: ValidationError) -> list[tuple[str, str]]:
    """Leave the refused fields out of the result's changes and agreed values; their reasons."""
    dropped = [(name, _messages(exc)) for name in sorted(bad & set(result.changes))]
    for name in bad:
        result.changes.pop(name, None)
        for sf_field in list(result.agreed):
            if _cothon_name(ctx.settings, sf_field) == name:
                result.agreed.pop(sf_field)
    return dropped


def _cothon_name(settings: dict, sf_field: str) -> str:
    for mapping in settings.get("opportunity_mappings") or []:
        if mapping["sf_field"] == sf_field:
            return "value_min" if mapping["cothon_field"] == "value" else mapping["cothon_field"]
    return ""


def _import(ctx: PullContext, record: dict, result) -> Opportunity:
    data = _instances(result.changes)
    if not data.get("title"):
        data["title"] = (record.get("Name") or "Salesforce opportunity")[:255]
    return opportunity_services.opportunity_create(tenant=ctx.connection.tenant, origin=Origin.SALESFORCE,
                                                   origin_connection_id=ctx.connection.pk, **data)


def _store_extra(ctx: PullContext, opportunity: Opportunity, result) -> None:
    extra = _extra_for(ctx, opportunity, result)
    if extra is not None:
        Opportunity.objects.filter(pk=opportunity.pk).update(salesforce_extra=extra)
        opportunity.salesforce_extra = extra


def _extra_for(ctx: PullContext, opportunity: Opportunity, result) -> dict | None:
    """Extended data: the custom fields no mapping reads, and the pull's warnings, per
    connection. The opportunity's new `salesforce_extra`, or None when nothing is new."""
    key = str(ctx.connection.pk)
    extra = dict(opportunity.salesforce_extra or {})
    fields = {**(extra.get(key) or {}).get("fields", {}), **result.extra}
    labels = ctx.field_labels() if fields else {}
    entry = {"org": ctx.connection.name, "fields": fields, "labels": {name: labels.get(name, name) for name in fields},
             "warnings": result.warnings, "unmapped_owner": result.unmapped_owner,
             "notes": result.notes or (extra.get(key) or {}).get("notes", [])}
    previous = {k: v for k, v in (extra.get(key) or {}).items() if k != "pulled_at"}
    if previous == entry or (not previous and not fields and not result.warnings and not result.notes):
        return None  # nothing new to show (most records: no custom fields, no warning)
    entry["pulled_at"] = timezone.now().isoformat(timespec="seconds")
    extra[key] = entry
    return extra


def _settle_link(ctx: PullContext, link: SyncLink | None, opportunity: Opportunity, record: dict, result,
                 stamp: datetime.datetime | None) -> SyncLink:
    """The base snapshot takes the fields both sides now hold (applied or already equal) and
    Salesforce's value of a conflict settled for Cothon (its push-back is then Cothon's change
    alone) — never another skipped field — with the SystemModstamp seen."""
    now = timezone.now()
    if link is None:
        return SyncLink.objects.create(
            tenant_id=ctx.connection.tenant_id, connection=ctx.connection, record_type=RecordType.OPPORTUNITY,
            record_id=opportunity.pk, sobject=ctx.sobject, salesforce_id=record["Id"], matched_by=MatchedBy.PULLED,
            status=LinkStatus.SYNCED, base_snapshot=dict(result.agreed), salesforce_modstamp=stamp, last_synced_at=now)
    _settled(link, result, stamp, now)
    link.save(update_fields=["base_snapshot", "salesforce_modstamp", "last_synced_at", "status", "updated_at"])
    return link


def _settled(link: SyncLink, result, stamp: datetime.datetime | None, now: datetime.datetime | None = None) -> SyncLink:
    """The link's new state in memory (saved by the caller, alone or in bulk)."""
    now = now or timezone.now()
    snapshot = dict(link.base_snapshot or {})
    snapshot.update(result.agreed)
    snapshot.update(result.seen)
    link.base_snapshot = snapshot
    link.salesforce_modstamp = stamp or link.salesforce_modstamp
    link.last_synced_at = now
    link.updated_at = now  # bulk_update does not touch auto_now fields itself
    if link.status in (LinkStatus.DELETED_IN_SALESFORCE, LinkStatus.PENDING):
        link.status = LinkStatus.SYNCED  # undeleted in Salesforce, or first seen from there
    return link


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return "; ".join(exc.messages)
