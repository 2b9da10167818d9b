"""A reconciliation run: queued (by the schedule or "Reconcile now"), then executed by a thin
task on the background queue.

The run asks the governor for admission at reconciliation priority; refused (the allowance is
low, the org paused), it ends "deferred" without a call — nothing is lost, the next run's
window reaches back to the last completed one (`window.py`). Admitted, it reads the org's side
when the connection pulls and looks at Cothon's side when it pushes, and ends with its counts
(`SyncRun.counts`) and a one-line message the Sync pages show."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.salesforce.errors import ErrorKind, SalesforceError
from integrations.sync_settings import settings_current, sync_settings_for
from sync_engine import wakeups
from sync_engine.call_counts import add_calls, call_failed
from sync_engine.governor import get_governor
from sync_engine.models import SyncDirection, SyncLog, SyncResult, SyncRun, SyncRunKind, SyncRunStatus
from sync_engine.reconcile.cothon import CothonSide, cothon_reconcile
from sync_engine.reconcile.salesforce import SalesforceSide, salesforce_reconcile
from sync_engine.reconcile.window import window_start
from sync_engine.vocabulary import Priority

logger = logging.getLogger(__name__)

TASK = "sync_engine.reconciliation_run"
CALL_KIND = "reconciliation"  # the API usage chart's bucket
OPEN = (SyncRunStatus.QUEUED, SyncRunStatus.RUNNING)


def reconciliation_open(*, connection: SalesforceConnection) -> SyncRun | None:
    return (SyncRun.objects.filter(connection=connection, kind=SyncRunKind.RECONCILIATION, status__in=OPEN)
            .order_by("-id").first())


def reconciliation_request(*, connection: SalesforceConnection, actor=None, message: str = "") -> SyncRun:
    """Queue one reconciliation of the connection ("Reconcile now", or the schedule) and send
    its task once the caller's transaction commits. One at a time per connection."""
    if connection.status != ConnectionStatus.CONNECTED:
        raise ValidationError(f"“{connection.name}” is {connection.get_status_display().lower()}; reconnect it before reconciling.")
    if reconciliation_open(connection=connection) is not None:
        raise ValidationError("A reconciliation of this connection is already queued or running.")
    run = SyncRun.objects.create(tenant_id=connection.tenant_id, connection=connection, kind=SyncRunKind.RECONCILIATION,
                                 requested_by=actor, message=message)
    transaction.on_commit(lambda: wakeups.send_named(TASK, args=[run.pk], queue="default"))
    return run


def reconciliation_execute(*, run_id: int) -> SyncRun | None:
    """Run a queued reconciliation (the task). A run already taken by another worker, or
    finished, is left as it is."""
    now = timezone.now()
    if not SyncRun.objects.filter(pk=run_id, kind=SyncRunKind.RECONCILIATION, status=SyncRunStatus.QUEUED).update(
            status=SyncRunStatus.RUNNING, started_at=now):
        return None
    run = SyncRun.objects.select_related("connection__tenant").get(pk=run_id)
    connection = run.connection
    if connection.status != ConnectionStatus.CONNECTED:
        return _end(run, SyncRunStatus.FAILED, f"Not run: the connection is {connection.get_status_display().lower()}.", {})
    admission = get_governor().admit(connection.pk, Priority.RECONCILIATION)
    if not admission.allowed:
        return _end(run, SyncRunStatus.DEFERRED,
                    f"Deferred: {admission.reason or 'the API allowance is low'}. Nothing was read or queued; the next "
                    "reconciliation reads from the last completed one.", {"deferred": admission.kind or "limit"})
    config = sync_settings_for(connection=connection)
    data = settings_current(connection=connection)
    since = window_start(connection=connection, config=config, now=now, run_id=run.pk)
    calls = _Calls(connection)
    counts: dict[str, Any] = {"window_start": since.isoformat()}
    try:
        client = calls.client()
        theirs = salesforce_reconcile(connection=connection, settings=data, client=client, since=since) if config.pulls else None
        ours = cothon_reconcile(connection=connection, config=config, since=since, client=client) if config.pushes else None
    except SalesforceError as exc:
        if exc.kind is ErrorKind.QUOTA:
            get_governor().pause(connection.pk, 3600.0)
        calls.flush(run)
        return _end(run, SyncRunStatus.FAILED, f"Stopped: {exc.code}: {exc.message} The next reconciliation covers this window again.",
                    counts)
    except Exception:
        calls.flush(run)
        _end(run, SyncRunStatus.FAILED, "Stopped on an error; the next reconciliation covers this window again.", counts)
        raise
    calls.flush(run)
    counts.update(_counts(theirs, ours))
    failed = theirs.failed if theirs else 0
    return _end(run, SyncRunStatus.FINISHED_WITH_ERRORS if failed else SyncRunStatus.SUCCEEDED, describe(counts, since, theirs),
                counts, examined=counts["examined"], failed=failed)


def _counts(theirs: SalesforceSide | None, ours: CothonSide | None) -> dict[str, Any]:
    out: dict[str, Any] = {"examined": 0, "requeued": 0, "applied": 0}
    if theirs is not None:
        out["salesforce"] = {"examined": theirs.examined, "applied": theirs.applied, "deleted": theirs.deleted,
                             "echoes": theirs.opportunities.echoes + theirs.accounts.echoes,
                             "already_seen": theirs.opportunities.already_seen + theirs.accounts.already_seen,
                             "conflicts_settled": theirs.opportunities.conflicts_settled,
                             "conflicts_held": theirs.opportunities.conflicts_held, "failed": theirs.failed,
                             "pages": theirs.pages}
        out["examined"] += theirs.examined
        out["applied"] = theirs.applied
    if ours is not None:
        out["cothon"] = {"examined": ours.examined, "requeued": ours.requeued, "waiting": ours.waiting,
                         "left_alone": ours.left_alone, "by_type": ours.by_type}
        out["examined"] += ours.examined
        out["requeued"] = ours.requeued
    return out


def describe(counts: dict[str, Any], since, theirs: SalesforceSide | None) -> str:
    parts = []
    sf = counts.get("salesforce")
    if sf is not None:
        text = f"Salesforce: {sf['examined']} changed record(s) read, {sf['applied']} applied"
        if sf["deleted"]:
            text += f", {sf['deleted']} deleted in Salesforce"
        if sf["conflicts_settled"]:
            text += f", {sf['conflicts_settled']} conflicting field(s) settled by their rule"
        if sf["conflicts_held"]:
            text += f", {sf['conflicts_held']} conflict(s) held for review"
        if sf["failed"]:
            text += f", {sf['failed']} failed"
        parts.append(text)
    ours = counts.get("cothon")
    if ours is not None:
        text = f"Cothon: {ours['examined']} changed record(s) examined, {ours['requeued']} re-queued"
        if ours["waiting"]:
            text += f", {ours['waiting']} already queued"
        parts.append(text)
    warnings = theirs.warnings if theirs else []
    return f"Since {since:%Y-%m-%d %H:%M} UTC. " + ". ".join(parts) + "." + "".join(f" {w}." for w in warnings)


_LOG_RESULTS = {SyncRunStatus.SUCCEEDED: SyncResult.SUCCESS, SyncRunStatus.FINISHED_WITH_ERRORS: SyncResult.FAILED,
                SyncRunStatus.FAILED: SyncResult.FAILED, SyncRunStatus.DEFERRED: SyncResult.PAUSED}


def _end(run: SyncRun, status: str, message: str, counts: dict[str, Any], *, examined: int = 0, failed: int = 0) -> SyncRun:
    SyncRun.objects.filter(pk=run.pk).update(status=status, message=message[:4000], counts=counts, total=examined,
                                             processed=examined, succeeded=max(examined - failed, 0), failed=failed,
                                             finished_at=timezone.now())
    run.refresh_from_db()
    # One row in the sync logs per run (the records it applied or re-queued have their own).
    SyncLog.objects.create(tenant_id=run.tenant_id, connection_id=run.connection_id, run=run, operation="reconcile",
                           direction=SyncDirection.PULL if "salesforce" in counts else SyncDirection.PUSH,
                           result=_LOG_RESULTS.get(status, SyncResult.SUCCESS), record_label="Reconciliation",
                           error_code="DEFERRED" if status == SyncRunStatus.DEFERRED else "", error_message=message[:4000],
                           api_calls=min(run.api_calls, 32767))
    return run


class _Calls:
    """The run's client: every call counted on the run, the API usage chart (kind
    "reconciliation") and the governor."""

    def __init__(self, connection: SalesforceConnection) -> None:
        self.connection = connection
        self.count = 0
        self.failed = 0

    def client(self):
        from integrations.connections import client_for

        governor = get_governor()

        def on_call(record) -> None:
            self.count += 1
            self.failed += call_failed(record)
            if record.usage is not None:
                governor.observe(self.connection.pk, record.usage.used, record.usage.allowance)
        return client_for(self.connection, on_call=on_call)

    def flush(self, run: SyncRun) -> None:
        if not self.count:
            return
        SyncRun.objects.filter(pk=run.pk).update(api_calls=F("api_calls") + self.count)
        add_calls(connection_id=self.connection.pk, kind=CALL_KIND, calls=self.count, failed=self.failed)
        self.count = self.failed = 0
