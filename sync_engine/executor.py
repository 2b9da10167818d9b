"""The push executor: claim outbox rows of one connection, push them, record the outcome.

Order inside a batch (parents before children): one handler per record type, in the registry's
order (sync_engine/handlers/registry.py): Accounts (departments) → opportunities → analyses →
requirements → Notes / files, then the Tasks they trigger. Errors are handled by
class: per-record permanent errors fail that record only; retryable ones back off; a quota
error pauses the connection in the governor; an auth error (after one refresh) marks the
connection "needs reconnect". Nothing is lost: unfinished rows always return to the queue."""

from __future__ import annotations

import datetime
import logging
import math
import os
import socket
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from django.conf import settings as django_settings
from django.db.models import Case, F, Min, Q, Value, When
from django.utils import timezone

from integrations.connections import client_for, connection_mark_needs_reconnect
from integrations.sync_settings import user_ids_for
from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.salesforce.client import CallRecord
from integrations.salesforce.errors import ErrorKind, SalesforceError
from integrations.settings_schema import SyncSettings
from integrations.sync_settings import sync_settings_for
from sync_engine import claim as queue, wakeups
from sync_engine.fanout import fan_out_pending
from sync_engine.call_counts import add_calls
from sync_engine.metric_totals import add_pause
from sync_engine.governor import get_governor
from sync_engine.heartbeat import lease_heartbeat
from sync_engine.models import ApiCallBucket, OutboxEntry, Priority, SyncLog, SyncResult, SyncRun, SyncRunStatus
from sync_engine.handlers.registry import push_records
from sync_engine.push.context import PushContext
from sync_engine.push.writer import BatchAborted

logger = logging.getLogger(__name__)

BATCH_SIZE = 200  # sObject Collections take at most 200 records a call
BULK_BATCH_SIZE = 5_000  # bounds memory: a 100,000-record run stays well under 300 MB
MAX_CONCURRENT_PER_ORG = 4
KIND_BY_PRIORITY = {Priority.MANUAL: "manual", Priority.REALTIME: "realtime", Priority.INCREMENTAL: "incremental",
                    Priority.RECONCILIATION: "reconciliation", Priority.FULL: "full"}


@dataclass
class _Turn:
    """What one call of push_connection reads once and reuses for each of its batches (a turn
    is a few seconds; the next turn reads afresh): the runs its rows belong to, each record
    type's planned batch size, the user mapping and the object's describe. Each is a database
    round trip a batch no longer makes — on a loaded machine every round trip waits for the
    database process to be scheduled, and two workers of one org make twice as many."""

    runs: dict[int, SyncRun | None] = field(default_factory=dict)
    plans: dict[tuple[int, str], tuple[int, int]] = field(default_factory=dict)
    user_ids: dict[int, str] | None = None
    describes: dict[str, dict[str, dict] | None] = field(default_factory=dict)
    progressed: bool = False


@dataclass
class PushSummary:
    batches: int = 0
    succeeded: int = 0
    failed: int = 0
    retried: int = 0
    api_calls: int = 0
    stopped_because: str = ""
    retry_in_seconds: float | None = None
    # When the first batch's records were in Salesforce (time.monotonic()), for the real-time
    # coalescing's estimate of how long a push takes to land (sync_engine.fanout).
    first_landed_at: float | None = None


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def push_connection(*, connection_id: int, max_priority: int | None = None, run_id: int | None = None,
                    max_batches: int | None = None, after_batch: Callable[[], None] | None = None) -> PushSummary:
    """Push everything pending for one connection (up to `max_priority`), batch by batch;
    `after_batch` is called once each batch is settled and its request slot released.

    `run_id` is kept for callers that follow one run (cancel); every row counts towards its
    own run whichever call pushes it. Changes recorded for the tenant but not yet fanned out
    are fanned out first: they are pending too."""
    summary = PushSummary()
    tenant_id = SalesforceConnection.objects.filter(pk=connection_id).values_list("tenant_id", flat=True).first()
    if tenant_id is not None:
        fan_out_pending(tenant_id=tenant_id)
    governor = get_governor()
    owner = worker_id()
    lease_seconds = float(django_settings.COTHON_OUTBOX_LEASE_SECONDS)
    turn = _Turn()
    while max_batches is None or summary.batches < max_batches:
        # With its tenant: the batch's dates follow the tenant's time zone.
        connection = SalesforceConnection.objects.select_related("tenant").filter(pk=connection_id).first()
        if connection is None or connection.status != ConnectionStatus.CONNECTED:
            summary.stopped_because = "connection not usable"
            return summary
        if run_id and SyncRun.objects.filter(pk=run_id, cancel_requested=True).exists():
            summary.stopped_because = "cancelled"
            return summary
        next_work = _next_work(connection_id, max_priority)
        if next_work is None:
            return summary
        next_priority, next_type = next_work
        if governor.take_probe(connection_id) and not _probe_after_pause(connection, governor):
            summary.stopped_because = "API limit reached: paused"
            summary.retry_in_seconds = _pause_seconds_left(governor, connection_id)
            return summary
        admission = governor.admit(connection_id, next_priority)
        if not admission.allowed:
            if admission.kind == "limit":
                # Usage learned from our own calls only grows; only a fresh /limits reading can
                # tell that capacity is back. One probe per interval, never a refusal for good.
                governor.request_probe(connection_id)
                admission = replace(admission, wait_seconds=float(django_settings.COTHON_LIMITS_PROBE_SECONDS))
            summary.stopped_because, summary.retry_in_seconds = admission.reason, admission.wait_seconds
            return summary
        # Parallel sync off: one background request at a time per org. Manual and real-time
        # work always has one more slot, so a long run never holds back a user's change.
        data = sync_settings_for(connection=connection)
        parallel = data.parallel_sync
        cap = (MAX_CONCURRENT_PER_ORG if parallel else 1) + (1 if next_priority <= Priority.REALTIME else 0)
        slot = governor.acquire(connection_id, cap, lease_seconds=lease_seconds)
        if slot is None:
            summary.stopped_because = "busy"
            summary.retry_in_seconds = wakeups.note_busy(connection_id, wakeups.lane_for(next_priority))
            return summary
        claimed: list[OutboxEntry] = []

        def renew() -> None:
            governor.renew(connection_id, slot, lease_seconds)
            queue.renew(owner=owner, ids=[e.id for e in claimed])

        try:
            with lease_heartbeat(renew):
                limit, bulk_threshold = turn.plans.get((next_priority, next_type)) or _batch_plan(
                    connection, next_priority, data, record_type=next_type)
                if not bulk_threshold:
                    # An even split stays even as batches go (1,500: 188 each time): planned once a
                    # turn. A Bulk job's size is planned afresh (what is left may fall below it).
                    turn.plans[(next_priority, next_type)] = (limit, bulk_threshold)
                claimed.extend(queue.claim(connection_id=connection_id, owner=owner, limit=limit, max_priority=max_priority,
                                           sobject_of=data.objects.for_record_type))
                if not claimed:
                    return summary
                if not turn.progressed:
                    wakeups.note_progress(connection_id, wakeups.lane_for(next_priority))
                    turn.progressed = True
                _push_batch(connection, claimed, summary, governor, data, turn=turn,
                            bulk_threshold=bulk_threshold if len(claimed) >= bulk_threshold else 0)
                summary.batches += 1
        finally:
            governor.release(connection_id, slot)
        if summary.stopped_because:
            return summary
        if after_batch is not None:
            after_batch()
    return summary


def collections_batch_size() -> int:
    """Records a collections batch carries (at most 200; smaller when configured so)."""
    return max(1, min(BATCH_SIZE, int(django_settings.COTHON_PUSH_BATCH_SIZE)))


def _batch_plan(connection: SalesforceConnection, priority: int, data: SyncSettings, *,
                record_type: str | None = None) -> tuple[int, int]:
    """(claim size, bulk threshold) for the next batch (of `record_type`, else of the oldest
    pending row's type). Real-time work always goes by collections (a Bulk job's polling would
    break the latency goal); background runs with enough records of one type take a Bulk API
    2.0 job, which costs about six calls whatever its size."""
    batch_size = collections_batch_size()
    if priority < Priority.INCREMENTAL:
        return batch_size, 0
    threshold = data.bulk_threshold or 2000
    first = record_type or (
        OutboxEntry.objects.filter(connection=connection, state="pending", priority=priority, available_at__lte=timezone.now())
        .order_by("id").values_list("record_type", flat=True).first())
    pending = OutboxEntry.objects.filter(connection=connection, state="pending", priority=priority, record_type=first).count()
    if pending >= threshold:
        return min(pending, BULK_BATCH_SIZE), threshold
    if not pending:
        return batch_size, 0
    # The type's records in the fewest calls, split evenly (1,500 → 8 × 188, not 7 × 200 + 100):
    # lanes pushing one run in parallel then finish a type at about the same time, and its
    # children (which wait for it) start sooner.
    return math.ceil(pending / math.ceil(pending / batch_size)), 0


def _next_work(connection_id: int, max_priority: int | None) -> tuple[int, str] | None:
    """(priority, record type) of the row the next claim starts from (the claim's own order)."""
    qs = OutboxEntry.objects.filter(connection_id=connection_id, state="pending", available_at__lte=timezone.now())
    if max_priority is not None:
        qs = qs.filter(priority__lte=max_priority)
    return qs.order_by("priority", "id").values_list("priority", "record_type").first()


def _context(connection: SalesforceConnection, run: SyncRun | None, kind: str, governor, data: SyncSettings,
             turn: _Turn | None = None) -> PushContext:
    ctx_holder: dict = {}

    def on_call(record: CallRecord) -> None:
        ctx_holder["ctx"].on_call(record)
        if record.usage is not None:
            governor.observe(connection.pk, record.usage.used, record.usage.allowance)

    turn = turn or _Turn()
    client = client_for(connection, on_call=on_call)
    if turn.user_ids is None:
        turn.user_ids = user_ids_for(connection)
    ctx = PushContext(connection=connection, client=client, settings=data, describe_fields=None,
                      user_ids=turn.user_ids, base_url=django_settings.COTHON_BASE_URL, call_kind=kind, run=run,
                      describes=turn.describes)
    ctx_holder["ctx"] = ctx
    ctx.describe_fields = ctx.describe(data.objects.opportunity)
    return ctx


def _batch_run(entries: list[OutboxEntry], turn: _Turn | None = None) -> SyncRun | None:
    """The run a batch's API calls are counted towards: the one most of its rows belong to."""
    counts = Counter(e.run_id for e in entries if e.run_id)
    if not counts:
        return None
    run_id = counts.most_common(1)[0][0]
    runs = turn.runs if turn is not None else {}
    if run_id not in runs:
        runs[run_id] = SyncRun.objects.filter(pk=run_id).first()
    return runs[run_id]


def _push_batch(connection: SalesforceConnection, entries: list[OutboxEntry], summary: PushSummary,
                governor, data: SyncSettings, *, bulk_threshold: int = 0, turn: _Turn | None = None) -> None:
    kind = KIND_BY_PRIORITY.get(Priority(min(e.priority for e in entries)), "realtime")
    try:
        ctx = _context(connection, _batch_run(entries, turn), kind, governor, data, turn)
        ctx.bulk_threshold = bulk_threshold
    except SalesforceError as exc:
        _abort(connection, entries, exc, summary, governor)
        return
    try:
        _push_records(ctx, entries)
    except (BatchAborted, SalesforceError) as exc:
        # Records already settled (pushed, or failed for good) keep their outcome; the rest go
        # back to the queue as the error class says. A record whose own write landed but whose
        # follow-up (the "Status changed" Task, a file) did not is not settled: it goes back
        # with its changed fields, so the follow-up is not lost (every write is idempotent).
        def settled(e: OutboxEntry) -> bool:
            outcome = ctx.outcome(e)
            return outcome.failed or (outcome.done and not outcome.followup_pending)

        _abort(connection, [e for e in entries if not settled(e)], exc.error if isinstance(exc, BatchAborted) else exc,
               summary, governor, ctx=ctx)
        _settle_outcomes(ctx, [e for e in entries if settled(e)], summary)
        return
    summary.api_calls += ctx.calls
    if summary.first_landed_at is None:
        summary.first_landed_at = ctx.landed_at
    run_calls = ctx.flush(count_run=False)
    _settle_outcomes(ctx, entries, summary, run_calls=run_calls)


def _settle_outcomes(ctx: PushContext, entries: list[OutboxEntry], summary: PushSummary, *, run_calls: int = 0) -> None:
    failed, retry, done = [], [], []
    for entry in entries:
        outcome = ctx.outcome(entry)
        # Everything neither failed nor to retry is done (the registry settles every row; a
        # record type without a handler is failed there, never silently done).
        (failed if outcome.failed else retry if outcome.retry else done).append(entry)
    queue.finish(done)
    queue.fail(failed)
    queue.release(retry)
    summary.succeeded += len(done)
    summary.failed += len(failed)
    summary.retried += len(retry)
    runs_count(done=done, failed=failed, calls={ctx.run.pk: run_calls} if run_calls and ctx.run is not None else None)


def runs_count(*, done: list[OutboxEntry], failed: list[OutboxEntry], calls: dict[int, int] | None = None) -> None:
    """Settled rows advance their own run, whichever task pushed them (a sweeper-woken one
    included); a queued run whose rows are moving is running. `calls`: API calls to add to a
    run's count in the same statement (run id → calls)."""
    calls = calls or {}
    per_run: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for entry in done:
        if entry.run_id:
            per_run[entry.run_id][0] += 1
    for entry in failed:
        if entry.run_id:
            per_run[entry.run_id][1] += 1
    now = timezone.now()
    queued = Q(status=SyncRunStatus.QUEUED)
    for run_id, (ok, bad) in per_run.items():
        # One statement: both CASEs read the row as it was, so a queued run starts here.
        SyncRun.objects.filter(pk=run_id).update(
            processed=F("processed") + ok + bad, succeeded=F("succeeded") + ok, failed=F("failed") + bad,
            api_calls=F("api_calls") + calls.get(run_id, 0),
            status=Case(When(queued, then=Value(SyncRunStatus.RUNNING.value)), default=F("status")),
            started_at=Case(When(queued, then=Value(now)), default=F("started_at")))
    for run_id, count in calls.items():
        if run_id not in per_run and count:
            SyncRun.objects.filter(pk=run_id).update(api_calls=F("api_calls") + count)


def _abort(connection, entries, error: SalesforceError, summary: PushSummary, governor, ctx: PushContext | None = None) -> None:
    if ctx is not None:
        summary.api_calls += ctx.calls
        ctx.flush()
    if error.kind is ErrorKind.QUOTA:
        pause = quota_pause(connection, governor, held=len(entries), error=error)
        queue.release(entries, delay=datetime.timedelta(seconds=pause), count_attempt=False)
        summary.stopped_because, summary.retry_in_seconds = "API limit reached: paused", pause
    elif error.kind is ErrorKind.AUTH:
        connection.refresh_from_db()
        if connection.status == ConnectionStatus.CONNECTED:
            connection_mark_needs_reconnect(connection=connection, error=error)
        queue.release(entries, delay=datetime.timedelta(0), count_attempt=False)
        summary.stopped_because = "needs reconnect"
    else:
        queue.release(entries)
        summary.retried += len(entries)
        summary.stopped_because = f"retryable error: {error.code}"
        # Rows merged into a newer pending row are gone; that row's own enqueue wakes a worker.
        soonest = OutboxEntry.objects.filter(id__in=[e.id for e in entries]).aggregate(at=Min("available_at"))["at"]
        summary.retry_in_seconds = max(0.0, (soonest - timezone.now()).total_seconds()) if soonest else None


def probe_interval() -> float:
    return float(django_settings.COTHON_LIMITS_PROBE_SECONDS)


def quota_pause(connection: SalesforceConnection, governor, *, held: int = 0, error: SalesforceError | None = None,
                log: bool = True) -> float:
    """The org's allowance is used up: no work until the next capacity check (a /limits probe
    every few minutes), and people see when capacity is expected back. Returns the seconds
    until the check."""
    estimate = _seconds_until_capacity(connection)
    pause = min(estimate, probe_interval())
    at = time.time()
    governor.pause(connection.pk, pause, resume_estimate=at + estimate)
    if log:
        status = governor.status(connection.pk)
        # Salesforce counts refused calls too, so usage may read above the allowance.
        usage = (f" ({min(status.used, status.allowance):,}/{status.allowance:,} calls)"
                 if status.used is not None and status.allowance else "")
        every = probe_interval()
        every_text = f"{int(every // 60)} min" if every >= 60 else f"{int(every)} s"
        expected = timezone.localtime(datetime.datetime.fromtimestamp(at + estimate, tz=datetime.timezone.utc))
        SyncLog.objects.create(
            tenant_id=connection.tenant_id, connection_id=connection.pk, operation="pause", result=SyncResult.PAUSED,
            error_code=getattr(error, "code", "") or "REQUEST_LIMIT_EXCEEDED",
            error_message=f"The org's daily API allowance is used up{usage}. {held} record(s) wait in the queue; capacity is "
                          f"expected back ~{expected:%H:%M %Z} and is checked every {every_text}.",
            hint="Nothing is lost: manual and real-time changes go first as soon as capacity returns.")
        add_pause(connection_id=connection.pk)
    return pause


def _pause_seconds_left(governor, connection_id: int) -> float:
    paused = governor.status(connection_id).paused_until
    return max(1.0, paused - time.time()) if paused else probe_interval()


def _count_probe(connection: SalesforceConnection, *, failed: bool = False) -> None:
    add_calls(connection_id=connection.pk, kind="limits_probe", calls=1, failed=int(failed))


def _seconds_until_capacity(connection: SalesforceConnection) -> float:
    """When will calls be possible again? Salesforce counts a rolling 24 hours (some orgs a
    daily reset): capacity returns as the calls of 24 hours ago age out. Our own calls of that
    hour are in ApiCallBucket, so the estimate is the end of the oldest hour in the window that
    had calls; without history, an hour. This is only what people are told: the capacity
    check (`_probe_after_pause`) runs every few minutes whatever the estimate says."""
    now = timezone.now()
    window_start = now - datetime.timedelta(hours=24)
    oldest = (ApiCallBucket.objects.filter(connection=connection, hour__gte=window_start - datetime.timedelta(hours=1), calls__gt=0)
              .order_by("hour").values_list("hour", flat=True).first())
    if oldest is None:
        return 3600.0
    returns_at = oldest + datetime.timedelta(hours=25)  # the whole hour has aged out of the window
    return float(min(max((returns_at - now).total_seconds(), 300.0), 24 * 3600.0))


def _probe_after_pause(connection: SalesforceConnection, governor) -> bool:
    """After a quota pause (or at the limit of a kind of work), ask /limits (one call, counted
    as "limits_probe") before sending work. True when capacity is back: the pause ends and the
    real-time lane is woken first; otherwise the pause is extended to the next check."""
    try:
        daily = client_for(connection).limits().get("DailyApiRequests", {})
    except SalesforceError as exc:
        _count_probe(connection, failed=True)
        if exc.kind is ErrorKind.QUOTA:
            quota_pause(connection, governor, log=False)
            return False
        raise
    _count_probe(connection)
    if "Max" in daily:
        governor.observe(connection.pk, daily["Max"] - daily.get("Remaining", 0), daily["Max"])
    if daily.get("Remaining", 1) <= 0:
        quota_pause(connection, governor, log=False)
        return False
    if governor.resume(connection.pk):
        SyncLog.objects.create(
            tenant_id=connection.tenant_id, connection_id=connection.pk, operation="resume", result=SyncResult.SUCCESS,
            error_message=f"API capacity is back ({daily.get('Remaining', 0):,} calls left): queued changes go out now, "
                          "manual and real-time first.")
        # Both lanes now, real-time first: held runs wake on capacity, not on unrelated traffic.
        wakeups.wake(connection.pk, wakeups.REALTIME)
        wakeups.wake(connection.pk, wakeups.BACKGROUND)
    return True


def _push_records(ctx: PushContext, entries: list[OutboxEntry]) -> None:
    """One handler per record type, parents first (sync_engine/handlers/registry.py)."""
    push_records(ctx, entries)


def run_finish(run_id: int) -> None:
    run = SyncRun.objects.get(pk=run_id)
    if run.cancel_requested:
        status = SyncRunStatus.CANCELLED
    elif run.failed:
        status = SyncRunStatus.FINISHED_WITH_ERRORS
    else:
        status = SyncRunStatus.SUCCEEDED
    SyncRun.objects.filter(pk=run_id).update(status=status, finished_at=timezone.now())
