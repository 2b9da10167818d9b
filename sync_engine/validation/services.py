"""The daily validation: read every opportunity of the connection's object from Salesforce (one
Bulk API 2.0 query of the compared fields), compare each linked record with Cothon, repair by the
conflict rules, and write a drift report (kept RETENTION days).

Repairs:
- a field Cothon changed since the base (or a push-only field) → queued for the push through the
  outbox (`record_changes`, reconciliation priority, the changed columns named), so the push's
  conflict guard applies as for any edit;
- a field Salesforce changed, or both sides changed → the record goes through the pull's apply
  (`pull_apply`): its rules settle the conflict (Cothon's value queued back when it wins) or,
  with "flag conflicts for review" on, hold it as a SyncConflict;
- a linked record deleted in Salesforce (returned deleted, or not returned at all) → its link is
  marked "deleted in Salesforce", as the push and the pull do; the Cothon record stays.
Nothing is ever deleted or unlinked. The last repair depends on a record's absence, so it is made
only after a complete read: a truncated or failed read (a failed job, fewer rows than the job
processed, an error mid-stream, the governor refusing) marks nothing, and the report says so."""

from __future__ import annotations

import datetime
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.salesforce.errors import ErrorKind, SalesforceError
from integrations.sync_settings import describe_get, settings_current
from sync_engine import wakeups
from sync_engine.call_counts import add_calls, call_failed
from sync_engine.governor import get_governor
from sync_engine.models import (
    LinkStatus,
    SyncDirection,
    SyncLink,
    SyncLog,
    SyncResult,
    SyncRun,
    SyncRunKind,
    SyncRunStatus,
)
from sync_engine.outbox import Change, record_changes
from sync_engine.pull.apply import pull_apply
from sync_engine.validation import compare, reader
from sync_engine.validation.models import DriftKind, DriftReport, ReportStatus
from sync_engine.vocabulary import Event, Origin, Priority, RecordType

logger = logging.getLogger(__name__)

TASK = "sync_engine.validation.run"
QUEUE = "default"  # the background worker: never in the way of real-time pushes
RETENTION = datetime.timedelta(days=30)
CALL_KIND = "validation"
APPLY_BATCH = 2000  # records repaired at a time (the pull's page)
# A report still "running" after this had its worker killed: a new validation may start.
STALLED_AFTER = datetime.timedelta(hours=2)


# --- start -------------------------------------------------------------------------------------

@transaction.atomic
def validation_start(*, connection: SalesforceConnection, actor=None, enqueue: bool = True) -> DriftReport:
    """Queue a validation of the connection (the schedule, "Validate now", the API); the task is
    sent when the transaction commits. A validation already running is refused."""
    if connection.status != ConnectionStatus.CONNECTED:
        raise ValidationError(f"The connection “{connection.name}” is {connection.get_status_display().lower()}: "
                              "reconnect it before validating.")
    now = timezone.now()
    running = DriftReport.objects.select_for_update().filter(connection=connection, status=ReportStatus.RUNNING)
    for report in running:
        if report.created_at > now - STALLED_AFTER:
            raise ValidationError("A validation of this connection is already running; its report shows here when it ends.")
        _finish(report, ReportStatus.FAILED, "The worker running this validation stopped; nothing was repaired after that.")
    run = SyncRun.objects.create(tenant=connection.tenant, connection=connection, kind=SyncRunKind.VALIDATION,
                                 requested_by=actor, message="Daily validation: comparing both sides.")
    report = DriftReport.objects.create(tenant=connection.tenant, connection=connection, run=run, requested_by=actor,
                                        sobject=_sobject(settings_current(connection=connection)))
    if enqueue:
        transaction.on_commit(lambda: wakeups.send_named(TASK, args=[report.pk], queue=QUEUE))
    return report


def drift_reports_purge(*, now: datetime.datetime | None = None) -> int:
    """Reports older than RETENTION are deleted (their runs stay in the run history)."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = DriftReport.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- the run -----------------------------------------------------------------------------------

class _Calls:
    """Counts the run's Salesforce calls and feeds the governor what each response says."""

    def __init__(self, connection_id: int) -> None:
        self.connection_id = connection_id
        self.count = 0
        self.failed = 0
        self.governor = get_governor()

    def __call__(self, record) -> None:
        self.count += 1
        self.failed += call_failed(record)
        if record.usage is not None:
            self.governor.observe(self.connection_id, record.usage.used, record.usage.allowance)


def validation_run(*, report_id: int, method: str = "bulk") -> DriftReport:
    """Run a queued validation to its report. `method` "soql" reads with paged queries instead of
    one Bulk API job (the fallback; the benchmark's baseline)."""
    report = DriftReport.objects.select_related("connection", "connection__tenant", "run").get(pk=report_id)
    if report.status != ReportStatus.RUNNING or report.finished_at is not None:
        return report
    connection = report.connection
    now = timezone.now()
    drift_reports_purge(now=now)
    DriftReport.objects.filter(pk=report.pk).update(started_at=now)
    report.started_at = now
    if report.run_id:
        SyncRun.objects.filter(pk=report.run_id).update(status=SyncRunStatus.RUNNING, started_at=now)
    if connection.status != ConnectionStatus.CONNECTED:
        return _finish(report, ReportStatus.FAILED, f"The connection is {connection.get_status_display().lower()}: nothing was read.")
    admission = get_governor().admit(connection.pk, Priority.FULL)
    if not admission.allowed:
        return _finish(report, ReportStatus.FAILED,
                       f"The API-limit governor refused the read ({admission.reason or 'API limit'}): nothing was read or repaired.")
    calls = _Calls(connection.pk)
    try:
        return _validate(report, connection, calls, method)
    except Exception as exc:
        logger.exception("Validation %s of connection %s failed", report.pk, connection.pk)
        if isinstance(exc, SalesforceError) and exc.kind is ErrorKind.QUOTA:
            get_governor().pause(connection.pk, 3600.0)
        report.api_calls = calls.count
        return _finish(report, ReportStatus.FAILED, f"The validation stopped on an error ({exc}); links the read did not reach "
                                                    "were not checked and nothing was marked deleted.")
    finally:
        _account_calls(connection.pk, calls.count, calls.failed)


def _validate(report: DriftReport, connection: SalesforceConnection, calls: _Calls, method: str) -> DriftReport:
    from integrations.connections import client_for

    data = settings_current(connection=connection)
    sobject = _sobject(data)
    client = client_for(connection, on_call=calls)
    describe = describe_get(connection=connection, sobject=sobject, client=client)
    if describe is None:
        return _finish(report, ReportStatus.FAILED, f"{sobject} is not visible to the integration user: nothing was read.")
    types = {f["name"].lower(): f.get("type", "") for f in describe.get("fields", [])}
    cmp = compare.comparison_for(connection, data, sobject)
    tally = compare.Tally()
    repairs = {"queued_for_push": 0, "applied_from_salesforce": 0, "conflicts_settled": 0, "conflicts_held": 0,
               "marked_deleted_in_salesforce": 0}
    state = reader.ReadState()
    # Records to apply from Salesforce are gathered over chunks and applied a pull page at a
    # time: the apply's own calls (contact roles) are per batch, not per chunk read.
    pending = compare.ChunkPlan()
    for chunk in reader.read_records(client, sobject=sobject, fields=compare.read_fields(data, describe), types=types,
                                     state=state, method=method):
        plan = compare.compare_chunk(cmp, chunk, tally)
        pending.push.update(plan.push)
        pending.pull.extend(plan.pull)
        if len(pending.push) >= APPLY_BATCH or len(pending.pull) >= APPLY_BATCH:
            _repair_fields(connection, data, client, pending, repairs)
            pending = compare.ChunkPlan()
    _repair_fields(connection, data, client, pending, repairs)
    if state.complete:
        _mark_missing(connection, sobject, tally, repairs)
    report.read_method, report.rows_read, report.rows_expected = state.method, state.rows, state.expected
    report.records_compared, report.records_with_differences = tally.compared, tally.records_with_differences
    report.missing_in_salesforce = tally.counts[DriftKind.MISSING_IN_SALESFORCE]
    report.missing_in_cothon = tally.counts[DriftKind.MISSING_IN_COTHON]
    report.field_differences = tally.counts[DriftKind.FIELD_DIFFERENCE]
    report.orphans = tally.counts[DriftKind.ORPHAN]
    report.examples, report.repairs, report.api_calls = tally.examples, repairs, calls.count
    if state.complete:
        return _finish(report, ReportStatus.COMPLETE, " ".join(state.notes))
    reason = (f"{state.reason} Nothing that depends on a record being absent was acted on: no link was marked deleted, "
              "and links the read did not reach were not checked. Field differences of the rows read were repaired.")
    return _finish(report, ReportStatus.TRUNCATED, " ".join([reason, *state.notes]))


def _repair_fields(connection: SalesforceConnection, data: dict, client, plan: compare.ChunkPlan, repairs: dict) -> None:
    """One chunk's repairs: Cothon's values queued for the push, Salesforce's applied by the pull
    (its rules, its review)."""
    if plan.push:
        with transaction.atomic():
            repairs["queued_for_push"] += record_changes(
                tenant=connection.tenant, priority=Priority.RECONCILIATION, origin=Origin.COTHON,
                changes=[Change(RecordType.OPPORTUNITY, record_id, Event.UPDATED, sorted(fields))
                         for record_id, fields in sorted(plan.push.items())])
    if plan.pull:
        # The pull skips a record it has seen at this SystemModstamp (the incremental's overlap
        # window); these differ although seen, so the stamp seen is forgotten (the apply sets it again).
        SyncLink.objects.filter(connection=connection, record_type=RecordType.OPPORTUNITY, sobject=_sobject(data),
                                salesforce_id__in=[r["Id"] for r in plan.pull]).update(salesforce_modstamp=None)
        summary = pull_apply(connection=connection, sobject_records=plan.pull, client_factory=lambda: client,
                             source="validation", settings=data)
        repairs["applied_from_salesforce"] += summary.applied
        repairs["conflicts_settled"] += summary.conflicts_settled
        repairs["conflicts_held"] += summary.conflicts_held


def _mark_missing(connection: SalesforceConnection, sobject: str, tally: compare.Tally, repairs: dict) -> None:
    """After a complete read only: links the read did not return are missing in Salesforce (their
    Cothon record present) or links to nothing (both gone); those and the links Salesforce returned
    deleted are marked "deleted in Salesforce". Nothing is unlinked."""
    to_mark = list(tally.returned_deleted)
    for rows in compare.missing_links(connection_id=connection.pk, sobject=sobject, seen=tally.seen_links):
        for link_id, record_id, sf_id, status, present in rows:
            if present:
                tally.found(DriftKind.MISSING_IN_SALESFORCE, {"record_id": record_id, "salesforce_id": sf_id,
                                                              "note": "Not in Salesforce (deleted and emptied from its recycle bin)."})
                if status != LinkStatus.DELETED_IN_SALESFORCE:
                    to_mark.append(link_id)
            else:
                tally.found(DriftKind.ORPHAN, {"record_id": record_id, "salesforce_id": sf_id,
                                               "note": "A link to nothing: gone on both sides."})
    _fill_titles(tally)
    for start in range(0, len(to_mark), 2000):
        batch = to_mark[start:start + 2000]
        with transaction.atomic():
            links = list(SyncLink.objects.filter(pk__in=batch).exclude(status=LinkStatus.DELETED_IN_SALESFORCE)
                         .values_list("pk", "record_id", "salesforce_id"))
            SyncLink.objects.filter(pk__in=[pk for pk, _r, _s in links]).update(
                status=LinkStatus.DELETED_IN_SALESFORCE, updated_at=timezone.now())
            SyncLog.objects.bulk_create([SyncLog(
                tenant_id=connection.tenant_id, connection_id=connection.pk, direction=SyncDirection.PULL,
                record_type=RecordType.OPPORTUNITY, record_id=record_id, sobject=sobject, salesforce_id=sf_id,
                operation="validation", result=SyncResult.SUCCESS, error_code="DELETED_IN_SALESFORCE",
                error_message="Daily validation: not in Salesforce. The Cothon opportunity stays and no longer syncs with "
                              "this record (re-link, re-create or skip it).")
                for _pk, record_id, sf_id in links], batch_size=500)
            repairs["marked_deleted_in_salesforce"] += len(links)


def _fill_titles(tally: compare.Tally) -> None:
    """The Cothon titles of the examples found after the read (one query)."""
    from opportunities.models import Opportunity

    wanted = {e["record_id"] for examples in tally.examples.values() for e in examples if e.get("record_id") and not e.get("title")}
    titles = dict(Opportunity.objects.filter(pk__in=wanted).values_list("pk", "title")) if wanted else {}
    for examples in tally.examples.values():
        for example in examples:
            if example.get("record_id") in titles and not example.get("title"):
                example["title"] = titles[example["record_id"]]


def _finish(report: DriftReport, status: str, reason: str) -> DriftReport:
    now = timezone.now()
    report.status, report.reason, report.finished_at = status, reason.strip(), now
    report.save()
    if report.run_id:
        run_status = {ReportStatus.COMPLETE: SyncRunStatus.SUCCEEDED, ReportStatus.TRUNCATED: SyncRunStatus.FINISHED_WITH_ERRORS
                      }.get(status, SyncRunStatus.FAILED)
        SyncRun.objects.filter(pk=report.run_id).update(
            status=run_status, finished_at=now, api_calls=report.api_calls, total=report.records_compared,
            processed=report.records_compared, succeeded=report.records_compared, failed=0, message=_run_message(report))
    return report


def _run_message(report: DriftReport) -> str:
    if report.status == ReportStatus.FAILED:
        return f"Validation failed: {report.reason}"
    counts = (f"{report.records_compared:,} compared; {report.field_differences:,} field difference(s), "
              f"{report.missing_in_salesforce:,} missing in Salesforce, {report.missing_in_cothon:,} missing in Cothon, "
              f"{report.orphans:,} orphan(s).")
    return counts if report.status == ReportStatus.COMPLETE else f"Truncated read: {counts}"


def _account_calls(connection_id: int, calls: int, failed: int = 0) -> None:
    if not calls:
        return
    add_calls(connection_id=connection_id, kind=CALL_KIND, calls=calls, failed=failed)


def _sobject(data: dict) -> str:
    return (data.get("objects") or {}).get("opportunity", "Opportunity")
