"""Sync engine services: the fan-out and push with rescheduling, Sync Now runs, manual record
sync, the catch-up after a reconnect, the sweeper and the deadline reminders.

Tasks import this module; it never imports tasks (wake-ups are sent by name, sync_engine.wakeups)."""

from __future__ import annotations

import datetime
import logging
import time

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from integrations.models import ConnectionEvent, ConnectionStatus, SalesforceConnection
from integrations.sync_settings import settings_current, sync_settings_for
from opportunities.models import BidAnalysis, BidAnalysisStatus, Comment, Department, Opportunity, OpportunityStatus, Requirement
from proposals.models import Proposal
from sync_engine import claim as queue, links, wakeups
from sync_engine.executor import MAX_CONCURRENT_PER_ORG, PushSummary, collections_batch_size, push_connection, run_finish
from sync_engine.fanout import await_burst, fan_out_pending, note_push_seconds, push_targets
from sync_engine.models import OutboxEntry, OutboxState, Priority, RecordType, SyncLink, SyncRun, SyncRunKind, SyncRunStatus
from sync_engine.outbox import record_change, upsert_pending
from sync_engine.rows import insert_selected
from sync_engine.validation.services import drift_reports_purge, validation_start
from sync_engine.vocabulary import Event

logger = logging.getLogger(__name__)
DEADLINE_DAYS = 3


# Batches per task before the task yields its worker: a 100,000-record run then takes turns
# with other connections' work in the queue instead of holding a worker until it is done.
BATCHES_PER_TURN = 5


def fan_out_and_push(*, tenant_id: int) -> int:
    """The real-time path of a save: wait briefly while a burst is still arriving, fan the
    tenant's recorded changes out to its connections, then push each connection's real-time
    rows in this same task (one hop from the save to Salesforce). Background-priority rows wake
    the connection's background lane. Returns how many changes were fanned out."""
    wakeups.fanout_started(tenant_id)
    if push_targets(tenant_id=tenant_id):
        await_burst(tenant_id=tenant_id)  # (a tenant with no connection has nothing to wait for)
    started = time.monotonic()
    result = fan_out_pending(tenant_id=tenant_id)
    landed: list[float] = []
    for connection_id, priority in sorted(result.touched.items()):
        if priority <= Priority.REALTIME:
            summary = push_and_reschedule(connection_id=connection_id, max_priority=Priority.REALTIME)
            if summary.first_landed_at is not None:
                landed.append(summary.first_landed_at)
        else:
            wakeups.wake_quietly([connection_id], priority)
    if landed:
        # What the next burst's oldest change must leave room for after its wait: from here
        # to its records being in Salesforce in every connection (links written), not to the end of the
        # bookkeeping after (log rows, queue rows, runs), which delays no record.
        note_push_seconds(max(landed) - started)
    return result.changes


def background_lanes(connection_id: int) -> int:
    """How many background lanes (tasks at once) a connection's runs may use: its concurrency
    cap with parallel sync on, else one."""
    connection = SalesforceConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return 1
    return MAX_CONCURRENT_PER_ORG if settings_current(connection=connection).get("parallel_sync") else 1


def push_and_reschedule(*, connection_id: int, max_priority: int | None, lane: str | None = None) -> PushSummary:
    """A worker's turn on one connection lane: push what is pending, then ask for the one next
    wake-up the outcome calls for (more work, a retry after backoff, the end of a pause).

    With parallel sync on, a background turn wakes the connection's idle background lanes
    whenever more than a batch is waiting — when it starts and after each batch — so up to the
    org's cap of workers push one run at once, each claiming its own batches. After each batch
    matters: a lane that found only children whose parents were still in flight ended its turn,
    and the batch that just landed may have been those parents."""
    lane = lane or wakeups.lane_for(max_priority if max_priority is not None else Priority.FULL)
    wakeups.started(connection_id, lane)
    spread = None
    if lane != wakeups.REALTIME:
        lanes = background_lanes(connection_id)
        if lanes > 1:
            def spread() -> None:
                _spread_background(connection_id, lane, lanes)

            spread()
    summary = push_connection(connection_id=connection_id, max_priority=max_priority, max_batches=BATCHES_PER_TURN,
                              after_batch=spread)
    manual_runs_settle(connection_id=connection_id)
    runs_settle(connection_id=connection_id)
    extra_lane = lane not in (wakeups.REALTIME, wakeups.BACKGROUND)
    if summary.batches >= BATCHES_PER_TURN and not summary.stopped_because:
        # More may be pending: back of the queue, so other tenants' work runs in between.
        wakeups.wake(connection_id, lane)
    elif extra_lane and summary.stopped_because == "busy":
        pass  # the org's slots are all in use by its other lanes: they carry on
    elif summary.retry_in_seconds is not None and summary.stopped_because not in ("cancelled", "needs reconnect"):
        wakeups.wake(connection_id, lane, delay=max(1.0, min(summary.retry_in_seconds, 3600.0)))
    return summary


def _spread_background(connection_id: int, lane: str, lanes: int) -> None:
    """Wake the connection's other background lanes that have no wake-up pending, when more
    than a batch is waiting (less is one lane's work). Runs after every batch: while all lanes
    are busy it costs one query."""
    pending = wakeups.pending(connection_id)
    idle = [other for other in map(wakeups.background_lane, range(lanes)) if other != lane and other not in pending]
    if not idle:
        return
    batch = collections_batch_size()
    waiting = OutboxEntry.objects.filter(connection_id=connection_id, state=OutboxState.PENDING, priority__gt=Priority.REALTIME,
                                         available_at__lte=timezone.now())[:batch + 1].count()
    if waiting <= batch:
        return
    for other in idle:
        wakeups.wake(connection_id, other, only_if_idle=True)


def runs_settle(*, connection_id: int | None = None) -> int:
    """Finish Sync Now / scheduled runs whose rows have all left the queue, whoever pushed them,
    and fail (with the reason, rows kept queued) runs that cannot go on. No run stays "running"
    without work that some worker will do. Returns how many runs ended."""
    runs = SyncRun.objects.filter(status__in=[SyncRunStatus.QUEUED, SyncRunStatus.RUNNING],
                                  kind__in=[SyncRunKind.FULL, SyncRunKind.INCREMENTAL]).select_related("connection")
    if connection_id is not None:
        runs = runs.filter(connection_id=connection_id)
    ended = 0
    for run in runs:
        open_rows = OutboxEntry.objects.filter(run=run, state__in=[OutboxState.PENDING, OutboxState.CLAIMED])
        if run.cancel_requested and not open_rows.filter(state=OutboxState.CLAIMED).exists():
            run_finish(run.pk)
            ended += 1
        elif not open_rows.exists():
            run_finish(run.pk)
            ended += 1
        elif run.connection.status != ConnectionStatus.CONNECTED:
            left = open_rows.count()
            SyncRun.objects.filter(pk=run.pk).update(
                status=SyncRunStatus.FAILED, finished_at=timezone.now(),
                message=f"The connection is {run.connection.get_status_display().lower()}: {left} record(s) stay queued "
                        "and go out once an admin reconnects it.")
            ended += 1
    return ended


# --- Sync Now and manual record sync ------------------------------------------------------

def _queue_records(connection: SalesforceConnection, record_type: str, records: QuerySet, priority: int, run: SyncRun,
                   event: str = Event.SYNC) -> None:
    """Queue many records for a run, in two statements whatever their number (the queueing is
    the one step of a run no worker can share, so it must be short). A record that already has
    a pending row keeps it (its changes are not lost) and that row joins the run, so the run
    counts every record it queued whichever task pushes it."""
    now = timezone.now()
    insert_selected(OutboxEntry, {
        "tenant_id": connection.tenant_id, "connection_id": connection.pk, "record_type": record_type, "run_id": run.pk,
        "event": event, "changed_fields": [], "priority": priority, "state": OutboxState.PENDING, "attempts": 0,
        "available_at": now, "lease_owner": "", "created_at": now, "updated_at": now}, "record_id", records)
    OutboxEntry.objects.filter(connection=connection, record_type=record_type, state=OutboxState.PENDING, run__isnull=True,
                               record_id__in=records.values("pk")).update(run=run)


def incremental_since(*, connection: SalesforceConnection) -> datetime.datetime | None:
    """Where an incremental run picks up: the moment the last completed full or incremental run
    chose its records (its created_at — the selection runs right after the row is written).

    Only those kinds count: a manual Sync of one record covers that record alone, and its run
    must not hide other records' changes. created_at, not started_at: a run that had nothing to
    send never starts, and a run that waited in the queue must not skip records changed while
    it waited. None (send everything) when no run completed yet."""
    return (SyncRun.objects.filter(connection=connection, kind__in=[SyncRunKind.FULL, SyncRunKind.INCREMENTAL],
                                   status__in=[SyncRunStatus.SUCCEEDED, SyncRunStatus.FINISHED_WITH_ERRORS])
            .order_by("-created_at", "-id").values_list("created_at", flat=True).first())


def _queue_changed_records(connection: SalesforceConnection, run: SyncRun, priority: int, since: datetime.datetime | None,
                           *, activities: bool = False) -> None:
    """Queue the records a run pushes: every one, or those changed since `since`. With
    `activities`, comments and generated proposals too (they are otherwise only pushed in real
    time, so a catch-up must not miss them)."""
    tenant = connection.tenant

    def changed(qs):
        return qs.filter(updated_at__gte=since) if since else qs

    _queue_records(connection, RecordType.DEPARTMENT, changed(Department.objects.filter(tenant=tenant)), priority, run)
    _queue_records(connection, RecordType.OPPORTUNITY, changed(Opportunity.objects.filter(tenant=tenant)), priority, run)
    _queue_records(connection, RecordType.ANALYSIS, changed(BidAnalysis.objects.filter(tenant=tenant, status=BidAnalysisStatus.COMPLETED)), priority, run)
    _queue_records(connection, RecordType.REQUIREMENT, changed(Requirement.objects.filter(tenant=tenant, analysis__status=BidAnalysisStatus.COMPLETED)), priority, run)
    if activities:
        _queue_records(connection, RecordType.COMMENT, changed(Comment.objects.filter(tenant=tenant)), priority, run)
        _queue_records(connection, RecordType.PROPOSAL, changed(Proposal.objects.filter(tenant=tenant, generated_at__isnull=False)), priority, run)


def sync_now_start(*, connection: SalesforceConnection, kind: str, actor: AbstractBaseUser | None, enqueue: bool = True) -> SyncRun:
    """Settings › Sync Now: queue every record (full) or what changed since the last run
    (incremental) at background priority, with a run row for the progress bar."""
    if connection.status != ConnectionStatus.CONNECTED:
        raise ValidationError("The connection is not connected; reconnect it before syncing.")
    if kind not in (SyncRunKind.FULL, SyncRunKind.INCREMENTAL):
        raise ValidationError(f"Unknown sync kind {kind!r}: choose full or incremental.")
    if SyncRun.objects.filter(connection=connection, status__in=[SyncRunStatus.QUEUED, SyncRunStatus.RUNNING],
                              kind__in=[SyncRunKind.FULL, SyncRunKind.INCREMENTAL]).exists():
        raise ValidationError("A sync is already running for this connection; cancel it or wait for it to finish.")
    tenant = connection.tenant
    priority = Priority.FULL if kind == SyncRunKind.FULL else Priority.INCREMENTAL
    since = incremental_since(connection=connection) if kind == SyncRunKind.INCREMENTAL else None
    run = SyncRun.objects.create(tenant=tenant, connection=connection, kind=kind, requested_by=actor)
    # Salesforce ids kept while the tenant had no default connection become its links now.
    links.held_links_adopt(connection=connection)
    _queue_changed_records(connection, run, priority, since)
    total = OutboxEntry.objects.filter(run=run).count()
    SyncRun.objects.filter(pk=run.pk).update(total=total)
    run.total = total
    if total == 0:
        # Nothing to send: it started and ended now (the run list says "under 1 s", not "—").
        SyncRun.objects.filter(pk=run.pk).update(started_at=timezone.now())
        run_finish(run.pk)
    elif enqueue:
        wakeups.wake_on_commit([connection.pk], priority)
    return run


# Records changed this long before the disconnect are queued again on reconnect too: a clock
# step or an edit committing during the disconnect must not be missed (a re-push is harmless).
RECONNECT_OVERLAP = datetime.timedelta(seconds=5)


def catch_up_after_reconnect(*, connection: SalesforceConnection) -> SyncRun | None:
    """A disconnected connection receives no outbox rows, so after a reconnect the records
    changed since the disconnect are queued as an incremental run ("sync resumes where it
    stopped"), and both lanes are woken for rows kept from before. Returns the run, if any."""
    disconnected_at = (ConnectionEvent.objects.filter(connection=connection, kind="disconnected").order_by("-created_at")
                       .values_list("created_at", flat=True).first())
    run = None
    if disconnected_at is not None:
        with transaction.atomic():
            # A run left over from before the disconnect takes the records; else a new one.
            run = (SyncRun.objects.select_for_update().filter(
                connection=connection, status__in=[SyncRunStatus.QUEUED, SyncRunStatus.RUNNING],
                kind__in=[SyncRunKind.FULL, SyncRunKind.INCREMENTAL]).first()
                or SyncRun.objects.create(tenant=connection.tenant, connection=connection, kind=SyncRunKind.INCREMENTAL,
                                          message="Catching up on changes made while the connection was disconnected."))
            _queue_changed_records(connection, run, Priority.INCREMENTAL, disconnected_at - RECONNECT_OVERLAP, activities=True)
            total = OutboxEntry.objects.filter(run=run).count()
            SyncRun.objects.filter(pk=run.pk).update(total=total)
            if total == 0:
                run_finish(run.pk)
    wakeups.wake_quietly([connection.pk], Priority.REALTIME)
    wakeups.wake_quietly([connection.pk], Priority.INCREMENTAL)
    if run is not None:
        run.refresh_from_db()
    return run


def sync_run_execute_inline(*, run: SyncRun) -> SyncRun:
    """Run a queued Sync Now in this process (demo setup, management commands)."""
    SyncRun.objects.filter(pk=run.pk).update(status=SyncRunStatus.RUNNING, started_at=timezone.now())
    summary = push_connection(connection_id=run.connection_id, run_id=run.pk)
    if summary.stopped_because:
        SyncRun.objects.filter(pk=run.pk).update(message=summary.stopped_because)
    # Finished when its rows are settled; rows held back (a pause) stay queued and the workers
    # finish the run (runs_settle).
    runs_settle(connection_id=run.connection_id)
    run.refresh_from_db()
    return run


def sync_run_cancel(*, run: SyncRun) -> None:
    """A flag the executor checks between batches. The run's queued rows that only exist for
    it are dropped; rows that also carry a real change stay queued, no longer counted by it."""
    SyncRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    OutboxEntry.objects.filter(run=run, state=OutboxState.PENDING, event=Event.SYNC).delete()
    OutboxEntry.objects.filter(run=run, state=OutboxState.PENDING).update(run=None)
    if run.status == SyncRunStatus.QUEUED or not OutboxEntry.objects.filter(run=run, state=OutboxState.CLAIMED).exists():
        run_finish(run.pk)


@transaction.atomic
def record_sync_now(*, connection: SalesforceConnection, record_type: str, record_id: int, actor) -> SyncRun:
    """The Sync button on a record: manual priority, its own run for the inline result."""
    if connection.status != ConnectionStatus.CONNECTED:
        raise ValidationError(f"“{connection.name}” is {connection.get_status_display().lower()}; an admin must reconnect it.")
    run = SyncRun.objects.create(tenant=connection.tenant, connection=connection, kind=SyncRunKind.MANUAL_RECORD, total=1,
                                 requested_by=actor, record_type=record_type, record_id=record_id, status=SyncRunStatus.RUNNING,
                                 started_at=timezone.now())
    # One record: merge into its pending row if any, raising it to manual priority.
    upsert_pending(connection, record_type, record_id, Event.SYNC, [], Priority.MANUAL, timezone.now())
    wakeups.wake_on_commit([connection.pk], Priority.MANUAL)
    return run


def manual_runs_settle(*, connection_id: int) -> int:
    """Finish the Sync-button runs whose record has left the queue: succeeded when the last
    attempt succeeded, else finished with errors (the panel shows the error and its hint)."""
    from sync_engine.models import SyncLog

    finished = 0
    for run in SyncRun.objects.filter(connection_id=connection_id, kind=SyncRunKind.MANUAL_RECORD, status=SyncRunStatus.RUNNING):
        open_rows = OutboxEntry.objects.filter(connection_id=connection_id, record_type=run.record_type, record_id=run.record_id,
                                               state__in=[OutboxState.PENDING, OutboxState.CLAIMED]).exists()
        if open_rows:
            continue
        last = (SyncLog.objects.filter(connection_id=connection_id, record_type=run.record_type, record_id=run.record_id,
                                       created_at__gte=run.created_at).order_by("-id").values_list("result", flat=True).first())
        if last is None:
            continue
        ok = last in ("success", "skipped")
        SyncRun.objects.filter(pk=run.pk).update(status=SyncRunStatus.SUCCEEDED if ok else SyncRunStatus.FINISHED_WITH_ERRORS,
                                                 processed=1, succeeded=1 if ok else 0, failed=0 if ok else 1,
                                                 finished_at=timezone.now())
        finished += 1
    return finished


# --- housekeeping ---------------------------------------------------------------------------

def requeue_failed_after_settings_change() -> int:
    """Records that failed permanently are retried once an admin saves new settings (a fixed
    mapping, say): their failure predates the connection's newest settings version."""
    from django.db.models import OuterRef, Subquery

    from integrations.models import ConnectionSettingsVersion

    newest = ConnectionSettingsVersion.objects.filter(connection_id=OuterRef("connection_id")).order_by("-version").values("created_at")[:1]
    stale = list(OutboxEntry.objects.filter(state=OutboxState.FAILED).annotate(settings_at=Subquery(newest))
                 .filter(settings_at__gt=F("updated_at")))
    queue.release(stale, delay=datetime.timedelta(0), count_attempt=False)
    return len(stale)


# A change row this old was not fanned out by the real-time path (its wake-up was lost, or its
# worker was killed): the sweeper fans it out. Younger ones are left to the real-time task, so
# the sweeper never splits a burst that is being coalesced.
FANOUT_LEFT_BEHIND = datetime.timedelta(seconds=5)


def outbox_sweep() -> int:
    """Beat, every 15 s: recorded changes left behind fanned out, expired leases (a killed
    worker's rows) back to the queue, due or lost wake-ups sent, one wake-up for every
    connection with due work that has none pending, and runs whose rows are all settled
    finished. Asking for a wake-up that is already pending sends nothing, so the sweeper never
    piles up tasks (a held slot or a long pause included)."""
    fan_out_pending(older_than=FANOUT_LEFT_BEHIND)
    requeue_failed_after_settings_change()
    reclaimed = queue.reclaim_expired()
    wakeups.send_due()
    due = (OutboxEntry.objects.filter(state=OutboxState.PENDING, available_at__lte=timezone.now())
           .values_list("connection_id", "priority").distinct())
    realtime = sorted({c for c, p in due if p <= Priority.REALTIME})
    background = sorted({c for c, p in due if p > Priority.REALTIME})
    wakeups.wake_quietly(realtime, Priority.REALTIME, only_if_idle=True)
    wakeups.wake_quietly(background, Priority.INCREMENTAL, only_if_idle=True)
    runs_settle()
    return reclaimed


def deadline_reminders_queue(*, today: datetime.date | None = None) -> int:
    """Opportunities closing within 3 days and not yet submitted get an open high-priority
    "Submission Deadline Approaching" task (idempotent by key, so running hourly is safe)."""

    from zoneinfo import ZoneInfo

    # Each organization's own today (its time zone), not the server's: ±1 day covers every zone.
    now = timezone.now()
    server_today = today or timezone.localdate()
    open_statuses = [OpportunityStatus.IDENTIFIED, OpportunityStatus.ANALYZING, OpportunityStatus.PURSUING]
    count = 0
    one_day = datetime.timedelta(days=1)
    for opportunity in Opportunity.objects.filter(status__in=open_statuses, closing_date__gte=server_today - one_day,
                                                  closing_date__lte=server_today + datetime.timedelta(days=DEADLINE_DAYS) + one_day
                                                  ).select_related("tenant"):
        try:
            local_today = today or now.astimezone(ZoneInfo(opportunity.tenant.time_zone or "UTC")).date()
        except (KeyError, ValueError):
            local_today = server_today
        if not local_today <= opportunity.closing_date <= local_today + datetime.timedelta(days=DEADLINE_DAYS):
            continue
        with transaction.atomic():
            record_change(tenant=opportunity.tenant, record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk,
                          event=Event.DEADLINE, changed_fields=["@deadline"], priority=Priority.REALTIME)
        count += 1
    return count


def first_full_sync_done(connection: SalesforceConnection) -> bool:
    """Whether the connection has completed a full sync. The scheduler never starts the first
    one: an admin does (Sync Now, the API) or the demo setup, once mappings are checked, so a
    new connection never floods an org the minute it is connected."""
    return SyncRun.objects.filter(connection=connection, kind=SyncRunKind.FULL,
                                  status__in=[SyncRunStatus.SUCCEEDED, SyncRunStatus.FINISHED_WITH_ERRORS]).exists()


DAILY_PUSH_MESSAGE = ("Daily push of what the validation does not compare: departments, completed analyses, requirements, "
                      "opportunities not linked in this org yet and those changed since the last run.")


def daily_push_start(*, connection: SalesforceConnection) -> SyncRun:
    """The push half of the daily run (the validation is the other half): every department,
    completed analysis and requirement, the opportunities with no link in this org (never pushed,
    or whose first push failed) and the opportunities changed since the last run. Linked
    opportunities are not re-sent whole: the validation compares them and queues only what
    differs, by the conflict rules (a whole-record push would overwrite Salesforce's changes)."""
    from django.db.models import Q

    if SyncRun.objects.filter(connection=connection, status__in=[SyncRunStatus.QUEUED, SyncRunStatus.RUNNING],
                              kind__in=[SyncRunKind.FULL, SyncRunKind.INCREMENTAL]).exists():
        raise ValidationError("A sync is already running for this connection.")
    tenant = connection.tenant
    since = incremental_since(connection=connection)
    run = SyncRun.objects.create(tenant=tenant, connection=connection, kind=SyncRunKind.FULL, message=DAILY_PUSH_MESSAGE)
    links.held_links_adopt(connection=connection)
    sobject = sync_settings_for(connection=connection).objects.opportunity
    linked = SyncLink.objects.filter(connection=connection, record_type=RecordType.OPPORTUNITY, sobject=sobject).exclude(
        salesforce_id="").values("record_id")
    opportunities = Opportunity.objects.filter(tenant=tenant).filter(~Q(pk__in=linked) | (Q(updated_at__gte=since) if since else Q()))
    _queue_records(connection, RecordType.DEPARTMENT, Department.objects.filter(tenant=tenant), Priority.FULL, run)
    _queue_records(connection, RecordType.OPPORTUNITY, opportunities, Priority.FULL, run)
    _queue_records(connection, RecordType.ANALYSIS, BidAnalysis.objects.filter(tenant=tenant, status=BidAnalysisStatus.COMPLETED),
                   Priority.FULL, run)
    _queue_records(connection, RecordType.REQUIREMENT, Requirement.objects.filter(
        tenant=tenant, analysis__status=BidAnalysisStatus.COMPLETED), Priority.FULL, run)
    total = OutboxEntry.objects.filter(run=run).count()
    SyncRun.objects.filter(pk=run.pk).update(total=total)
    run.total = total
    if total == 0:
        SyncRun.objects.filter(pk=run.pk).update(started_at=timezone.now())
        run_finish(run.pk)
    else:
        wakeups.wake_on_commit([connection.pk], Priority.FULL)
    return run


def scheduled_syncs(*, now: datetime.datetime | None = None) -> list[SyncRun]:
    """Beat, every minute: each connection's incremental run every N minutes, and its daily run
    at the configured time in the tenant's time zone (settings › frequencies): the validation
    (`sync_engine.validation`: compares every linked opportunity with Salesforce, repairs by the
    rules, writes the drift report) plus, when the connection pushes, the daily push of what the
    validation does not compare (`daily_push_start`). A connection is scheduled only after its
    first full sync (first_full_sync_done). Drift reports past their 30 days are purged here too."""
    from zoneinfo import ZoneInfo

    now = now or timezone.now()
    drift_reports_purge(now=now)
    started: list[SyncRun] = []
    for connection in SalesforceConnection.objects.filter(status=ConnectionStatus.CONNECTED).select_related("tenant"):
        if not first_full_sync_done(connection):
            continue
        config = sync_settings_for(connection=connection)
        freq = config.frequencies
        local = now.astimezone(ZoneInfo(connection.tenant.time_zone))
        at = freq.daily_full_time
        due_daily = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
        if local >= due_daily and _first_full_sync_at(connection) < due_daily and not SyncRun.objects.filter(
                connection=connection, kind=SyncRunKind.VALIDATION, created_at__gte=due_daily).exists():
            started.extend(_daily_runs_start(connection, pushes=config.pushes))
            continue
        if not config.pushes:
            continue
        last = (SyncRun.objects.filter(connection=connection, kind__in=[SyncRunKind.FULL, SyncRunKind.INCREMENTAL])
                .order_by("-created_at").values_list("created_at", flat=True).first())
        if last is None or now - last >= freq.incremental_interval:
            try:
                with transaction.atomic():
                    started.append(sync_now_start(connection=connection, kind=SyncRunKind.INCREMENTAL, actor=None))
            except ValidationError:
                continue  # a run is already going: the next minute will look again
    return started


def _first_full_sync_at(connection: SalesforceConnection) -> datetime.datetime:
    """When the connection's first completed full sync started: a connection first synced after
    today's daily time has its first daily run tomorrow, not minutes after its first sync."""
    return (SyncRun.objects.filter(connection=connection, kind=SyncRunKind.FULL,
                                   status__in=[SyncRunStatus.SUCCEEDED, SyncRunStatus.FINISHED_WITH_ERRORS])
            .order_by("created_at").values_list("created_at", flat=True).first())


def _daily_runs_start(connection: SalesforceConnection, *, pushes: bool) -> list[SyncRun]:
    started: list[SyncRun] = []
    try:
        with transaction.atomic():
            report = validation_start(connection=connection)
            started.append(report.run)
    except ValidationError:
        pass  # a validation is still running (a long one): today's is covered by it
    if pushes:
        try:
            with transaction.atomic():
                started.append(daily_push_start(connection=connection))
        except ValidationError:
            pass  # a push run is going: its records go out with it; tomorrow's daily push follows
    return started
