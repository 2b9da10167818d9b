"""Tenant-scoped reads for the sync-operations pages: sync logs (filters + keyset pagination),
runs and their progress, a manual record sync's outcome, and API usage per hour.

Every function takes the tenant and filters by it, so another tenant's id is indistinguishable
from none (404). The sync-log table is expected to reach millions of rows: pages use keyset
pagination on id (never OFFSET) over the indexes declared on SyncLog, and nothing counts the
whole table.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from cothon.models import Tenant
from integrations.models import SalesforceConnection
from sync_engine.models import (
    ApiCallBucket,
    LinkStatus,
    ChangeRecord,
    OutboxEntry,
    OutboxState,
    SyncDirection,
    SyncLink,
    SyncLog,
    SyncResult,
    SyncRun,
    SyncRunKind,
    SyncRunStatus,
)

LOG_PAGE_SIZE = 50
# The kinds shown as "runs" (Sync Now and schedules). Manual record runs are per-record and
# their outcome is read from the logs (record_run_state), so they stay out of run lists.
BACKGROUND_RUN_KINDS = (SyncRunKind.FULL, SyncRunKind.INCREMENTAL, SyncRunKind.RECONCILIATION, SyncRunKind.VALIDATION)
ACTIVE_RUN_STATUSES = (SyncRunStatus.QUEUED, SyncRunStatus.RUNNING)
USAGE_KINDS = ("realtime", "manual", "incremental", "reconciliation", "full")  # others (capacity checks) when present


# --- connections -----------------------------------------------------------------------------

def sync_connection_list(*, tenant: Tenant) -> QuerySet[SalesforceConnection]:
    return SalesforceConnection.objects.filter(tenant=tenant)


def sync_connection_get(*, tenant: Tenant, pk: Any) -> SalesforceConnection:
    return get_object_or_404(sync_connection_list(tenant=tenant), pk=pk)


# --- sync logs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LogFilters:
    """Validated filters of the sync-log page and its CSV export. Datetimes are aware bounds
    (the form turns the tenant's calendar days into them)."""

    created_from: datetime.datetime | None = None
    created_before: datetime.datetime | None = None
    result: str = ""
    record_type: str = ""
    record_id: int | None = None
    label: str = ""
    error_code: str = ""
    connection_id: int | None = None
    direction: str = ""

    @property
    def active(self) -> bool:
        return any(v not in (None, "") for v in self.__dict__.values())


def sync_log_filtered(*, tenant: Tenant, filters: LogFilters | None = None) -> QuerySet[SyncLog]:
    """The tenant's sync logs matching the filters, unordered. Each filter maps onto one of
    SyncLog's (tenant, …, -id) indexes, so PostgreSQL walks an index backwards and stops after
    a page instead of sorting the table."""
    filters = filters or LogFilters()
    qs = SyncLog.objects.filter(tenant=tenant)
    if filters.connection_id is not None:
        qs = qs.filter(connection_id=filters.connection_id)
    if filters.result:
        qs = qs.filter(result=filters.result)
    if filters.direction:
        qs = qs.filter(direction=filters.direction)
    if filters.error_code:
        qs = qs.filter(error_code=filters.error_code)
    if filters.record_type:
        qs = qs.filter(record_type=filters.record_type)
    if filters.record_id is not None:
        qs = qs.filter(record_id=filters.record_id)
    if filters.label:
        qs = qs.filter(record_label__icontains=filters.label)
    if filters.created_from is not None:
        qs = qs.filter(created_at__gte=filters.created_from)
    if filters.created_before is not None:
        qs = qs.filter(created_at__lt=filters.created_before)
    return qs


@dataclass
class LogPage:
    rows: list[SyncLog]
    has_older: bool
    has_newer: bool

    @property
    def older_cursor(self) -> int | None:
        return self.rows[-1].pk if self.rows and self.has_older else None

    @property
    def newer_cursor(self) -> int | None:
        return self.rows[0].pk if self.rows and self.has_newer else None


def sync_log_page(*, tenant: Tenant, filters: LogFilters | None = None, before: int | None = None,
                  after: int | None = None, size: int = LOG_PAGE_SIZE) -> LogPage:
    """One page of logs, newest first, by keyset on id.

    `before=<id>` gives the rows just older than that id ("Older →"), `after=<id>` the rows just
    newer ("← Newer"); neither gives the newest page. New rows get larger ids, so a cursor page
    never repeats or skips a row when logs are written meanwhile."""
    base = sync_log_filtered(tenant=tenant, filters=filters).select_related("connection")
    if after is not None:
        chunk = list(base.filter(id__gt=after).order_by("id")[: size + 1])
        has_newer = len(chunk) > size
        rows = list(reversed(chunk[:size]))
        # Past the newest row (a stale "← Newer" link): everything at or below the cursor is older.
        has_older = (base.filter(id__lt=rows[-1].pk) if rows else base.filter(id__lte=after)).exists()
        return LogPage(rows, has_older=has_older, has_newer=has_newer)
    qs = base.filter(id__lt=before) if before is not None else base
    chunk = list(qs.order_by("-id")[: size + 1])
    rows = chunk[:size]
    has_newer = before is not None and base.filter(id__gte=before).exists()
    return LogPage(rows, has_older=len(chunk) > size, has_newer=has_newer)


LOG_COUNT_CAP = 10_000


def sync_log_count(*, tenant: Tenant, filters: LogFilters | None = None, cap: int = LOG_COUNT_CAP) -> tuple[int, bool]:
    """How many rows match, counted up to `cap`: (count, more than cap). The count reads at
    most cap + 1 index entries, so a page over a million-row log stays fast and still says
    honestly how many rows there are ("more than 10,000")."""
    counted = sync_log_filtered(tenant=tenant, filters=filters).values("id")[: cap + 1].count()
    return (cap, True) if counted > cap else (counted, False)


def sync_log_export_rows(*, tenant: Tenant, filters: LogFilters | None = None, chunk_size: int = 2000):
    """Every matching row as a tuple, newest first, read through a server-side cursor (PostgreSQL)
    in chunks, so memory stays flat whatever the number of rows."""
    qs = sync_log_filtered(tenant=tenant, filters=filters).order_by("-id").values_list(
        "id", "created_at", "connection__name", "record_type", "record_id", "record_label", "sobject",
        "salesforce_id", "direction", "operation", "result", "error_code", "error_message", "hint", "retries",
        "duration_ms", "api_calls", "run_id", "queued_at", "attempts",
    )
    return qs.iterator(chunk_size=chunk_size)


def record_sync_history(*, tenant: Tenant, record_type: str, record_id: int, limit: int = 5) -> list[SyncLog]:
    """The latest log rows of one record (the record page's own sync history)."""
    return list(
        SyncLog.objects.filter(tenant=tenant, record_type=record_type, record_id=record_id)
        .select_related("connection", "actor").order_by("-id")[:limit]
    )


# --- runs ------------------------------------------------------------------------------------

def sync_run_get(*, tenant: Tenant, pk: Any, kinds: tuple[str, ...] | None = None) -> SyncRun:
    qs = SyncRun.objects.filter(tenant=tenant).select_related("connection", "requested_by")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return get_object_or_404(qs, pk=pk)


def sync_run_list(*, tenant: Tenant, connection: SalesforceConnection, limit: int = 10, finished_only: bool = False) -> list[SyncRun]:
    qs = SyncRun.objects.filter(tenant=tenant, connection=connection, kind__in=BACKGROUND_RUN_KINDS)
    if finished_only:
        qs = qs.exclude(status__in=ACTIVE_RUN_STATUSES)
    return list(qs.select_related("requested_by").order_by("-id")[:limit])


def sync_run_active(*, tenant: Tenant, connection: SalesforceConnection) -> SyncRun | None:
    return (SyncRun.objects.filter(tenant=tenant, connection=connection, kind__in=(SyncRunKind.FULL, SyncRunKind.INCREMENTAL),
                                   status__in=ACTIVE_RUN_STATUSES).order_by("-id").first())


def reconciliation_latest(*, tenant: Tenant, connection: SalesforceConnection) -> SyncRun | None:
    """The connection's most recent reconciliation (queued, running or finished)."""
    return (SyncRun.objects.filter(tenant=tenant, connection=connection, kind=SyncRunKind.RECONCILIATION)
            .order_by("-id").first())


def sync_run_elapsed(run: SyncRun, *, now: datetime.datetime | None = None) -> datetime.timedelta | None:
    if run.started_at is None:
        return None
    end = run.finished_at or now or timezone.now()
    return max(end - run.started_at, datetime.timedelta(0))


# --- a manual record sync's outcome ----------------------------------------------------------

# How long a record sync may stay queued with nobody picking it up before the page says so.
STALLED_AFTER = datetime.timedelta(seconds=45)


@dataclass
class RecordRunState:
    """What the Sync button's status area shows. `done` stops the polling."""

    state: str  # queued | running | retrying | paused | stalled | succeeded | failed | skipped
    done: bool
    log: SyncLog | None = None
    link: SyncLink | None = None
    outbox: OutboxEntry | None = None
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    # The error to show: the log row's, else the link's; the hint falls back to the catalogue.
    @property
    def error_code(self) -> str:
        return (self.log.error_code if self.log else "") or (self.link.last_error_code if self.link else "")

    @property
    def error_message(self) -> str:
        return (self.log.error_message if self.log else "") or (self.link.last_error_message if self.link else "")

    @property
    def error_hint(self) -> str:
        from integrations.salesforce.errors import HINTS

        hint = (self.log.hint if self.log else "") or (self.link.last_error_hint if self.link else "")
        return hint or HINTS.get(self.error_code, "")


@dataclass(frozen=True)
class ConnectionPause:
    expected_at: datetime.datetime  # when the org's capacity is expected back
    next_check_at: datetime.datetime  # the next /limits probe


def connection_pause(*, connection_id: int) -> ConnectionPause | None:
    """The governor's pause of this connection, if one is on (quota used up)."""
    from sync_engine.governor import get_governor

    try:
        status = get_governor().status(connection_id)
    except Exception:  # noqa: BLE001 - the governor's store being down must not break a page
        return None
    if not status.paused_until:
        return None
    as_dt = lambda epoch: datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)  # noqa: E731
    return ConnectionPause(as_dt(status.resume_estimate or status.paused_until), as_dt(status.paused_until))


def record_run_state(*, tenant: Tenant, run: SyncRun, sobject: str | None = None, now: datetime.datetime | None = None) -> RecordRunState:
    """Decide, read-only, whether a manual record sync has reached a result.

    The executor does not update MANUAL_RECORD runs: a run is finished when the record's open
    outbox rows (pending or claimed) are gone and a log row of the record was written after the
    run started. A row left in the "failed" state is a permanent failure. A log row that says
    "retrying" or "paused" with the row back in the queue is progress, not a result.

    `sobject` (the record's own object, preferred among its log rows and links) defaults to the
    one the connection's settings name for the record type; "" prefers none."""
    now = now or timezone.now()
    if sobject is None:
        from integrations.sync_settings import sync_settings_for

        sobject = sync_settings_for(connection=run.connection).objects.for_record_type(run.record_type)
    started = run.started_at or run.created_at
    record = dict(record_type=run.record_type, record_id=run.record_id)
    outbox_rows = list(OutboxEntry.objects.filter(tenant=tenant, connection_id=run.connection_id, **record)
                       .filter(Q(state__in=(OutboxState.PENDING, OutboxState.CLAIMED))
                               | Q(state=OutboxState.FAILED, updated_at__gte=started))
                       .order_by("-id"))
    logs = SyncLog.objects.filter(tenant=tenant, connection_id=run.connection_id, created_at__gte=started, **record)
    if run.finished_at is not None:
        # Settled (manual_runs_settle): its result is the last attempt before it ended; later
        # rows and logs are later changes of the record, not this sync.
        logs = logs.filter(created_at__lte=run.finished_at)
        outbox_rows = [r for r in outbox_rows if r.state == OutboxState.FAILED and r.updated_at <= run.finished_at]
    else:
        # A row queued after this sync's outcome was logged belongs to a later edit of the
        # record: it must not turn a finished sync back into "Still queued".
        concluded = (logs.filter(result__in=(SyncResult.SUCCESS, SyncResult.SKIPPED, SyncResult.FAILED))
                     .order_by("id").values_list("created_at", flat=True).first())
        if concluded is not None:
            outbox_rows = [r for r in outbox_rows if r.created_at <= concluded]
    open_row = next((r for r in outbox_rows if r.state in (OutboxState.PENDING, OutboxState.CLAIMED)), None)
    failed_row = next((r for r in outbox_rows if r.state == OutboxState.FAILED), None)
    if sobject:
        # The record's own object first (an opportunity's sync also logs its Account).
        log = logs.filter(sobject=sobject).order_by("-id").first() or logs.order_by("-id").first()
    else:
        log = logs.order_by("-id").first()
    links = SyncLink.objects.filter(tenant=tenant, connection_id=run.connection_id, **record).select_related("connection")
    link = (links.filter(sobject=sobject).first() if sobject else None) or links.order_by("-updated_at").first()

    if open_row is not None:
        far_away = open_row.available_at > now + datetime.timedelta(minutes=5)
        pause = connection_pause(connection_id=run.connection_id)
        if pause is not None or (log is not None and log.result == SyncResult.PAUSED) or (far_away and open_row.attempts == 0):
            return RecordRunState("paused", False, log, link, open_row,
                                  "Salesforce's API limit for this org is used up; the sync is queued and runs when capacity returns.",
                                  {"resume_at": pause.expected_at if pause is not None else open_row.available_at})
        if log is not None and log.result == SyncResult.RETRYING:
            return RecordRunState("retrying", False, log, link, open_row,
                                  "Salesforce answered with a temporary error; Cothon retries automatically.",
                                  {"retry_at": open_row.available_at})
        if open_row.state == OutboxState.CLAIMED:
            return RecordRunState("running", False, log, link, open_row, "Sending to Salesforce…")
        if now - started > STALLED_AFTER:
            return RecordRunState("stalled", False, log, link, open_row,
                                  "Still queued: the sync workers have not picked it up yet. It stays queued and is sent when they run.")
        return RecordRunState("queued", False, log, link, open_row, "Queued…")

    if failed_row is not None and (log is None or log.result != SyncResult.SUCCESS):
        return RecordRunState("failed", True, log, link, failed_row, "The record could not be synced.")
    if log is not None:
        if log.result == SyncResult.SUCCESS:
            return RecordRunState("succeeded", True, log, link, None, "Synced to Salesforce.")
        if log.result == SyncResult.SKIPPED:
            return RecordRunState("skipped", True, log, link, None, log.error_message or "Skipped: nothing to send for this record.")
        if log.result == SyncResult.FAILED:
            return RecordRunState("failed", True, log, link, None, "The record could not be synced.")
        # retrying/paused with no open row left: the row was dropped (e.g. the record was deleted).
        return RecordRunState("failed", True, log, link, None, "The sync stopped before it reached a result.")
    # No open row and no log since the start: the executor had nothing to write (unchanged or
    # a kind it does not push). The link tells whether the record is in Salesforce.
    if link is not None and link.status == LinkStatus.SYNCED:
        return RecordRunState("succeeded", True, None, link, None, "Salesforce already has the current values.")
    if link is not None and link.status == LinkStatus.FAILED:
        return RecordRunState("failed", True, None, link, None, "The record could not be synced.")
    return RecordRunState("skipped", True, None, link, None, "Nothing was sent for this record.")


def record_run_active(*, tenant: Tenant, record_type: str, record_id: int,
                      within: datetime.timedelta = datetime.timedelta(minutes=30)) -> SyncRun | None:
    """The latest manual sync of this record started recently, if any (a reload of the page
    during a sync resumes the progress display)."""
    return (SyncRun.objects.filter(tenant=tenant, kind=SyncRunKind.MANUAL_RECORD, record_type=record_type,
                                   record_id=record_id, created_at__gte=timezone.now() - within)
            .order_by("-id").first())


# --- API usage -------------------------------------------------------------------------------

@dataclass
class UsageChart:
    hours: list[datetime.datetime]  # bucket starts, oldest first (aware, UTC)
    series: dict[str, list[int]]    # kind -> calls per hour, aligned with hours
    totals: dict[str, int]
    peak: int
    total: int


def api_usage_by_hour(*, tenant: Tenant, connection: SalesforceConnection, hours: int = 24,
                      now: datetime.datetime | None = None) -> UsageChart:
    """API calls per hour and kind over the last `hours` hours (the current hour included)."""
    now = now or timezone.now()
    end = now.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)
    start = end - datetime.timedelta(hours=hours - 1)
    slots = [start + datetime.timedelta(hours=i) for i in range(hours)]
    index = {slot: i for i, slot in enumerate(slots)}
    kinds = list(USAGE_KINDS)
    rows = (ApiCallBucket.objects.filter(connection__tenant=tenant, connection=connection, hour__gte=start)
            .values("hour", "kind").annotate(n=Sum("calls")))
    series: dict[str, list[int]] = defaultdict(lambda: [0] * hours)
    for row in rows:
        hour = row["hour"].astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)
        if hour in index:
            if row["kind"] not in kinds:
                kinds.append(row["kind"])
            series[row["kind"]][index[hour]] += row["n"] or 0
    ordered = {kind: series[kind] for kind in kinds}
    per_hour = [sum(ordered[k][i] for k in kinds) for i in range(hours)]
    totals = {kind: sum(values) for kind, values in ordered.items()}
    return UsageChart(slots, ordered, totals, max(per_hour, default=0), sum(per_hour))


# --- a record of the tenant --------------------------------------------------------------------

def _record_models() -> dict[str, type]:
    from opportunities.models import Appointment, BidAnalysis, Comment, Contact, Department, Opportunity, Requirement
    from proposals.models import Proposal, Quote
    from sync_engine.models import RecordType

    return {RecordType.DEPARTMENT: Department, RecordType.CONTACT: Contact, RecordType.OPPORTUNITY: Opportunity,
            RecordType.ANALYSIS: BidAnalysis, RecordType.REQUIREMENT: Requirement, RecordType.COMMENT: Comment,
            RecordType.PROPOSAL: Proposal, RecordType.QUOTE: Quote, RecordType.APPOINTMENT: Appointment}


def record_known_to_tenant(*, tenant: Tenant, record_type: str, record_id: int) -> bool:
    """The record is the tenant's, or was (a deleted record keeps its sync history). Another
    tenant's id — or an id of nothing — is not, so its pages answer 404 like every other route."""
    model = _record_models().get(record_type)
    if model is None or not 0 < record_id < 2 ** 63:
        return False
    return (model.objects.filter(tenant=tenant, pk=record_id).exists()
            or SyncLog.objects.filter(tenant=tenant, record_type=record_type, record_id=record_id).exists())


# --- one sync state per record and per connection ----------------------------------------------

class SyncState:
    """The states a record (or a connection) can be in, as the badge, the panel and the API say."""

    IN_SYNC = "in_sync"
    PENDING = "pending"
    SKIPPED = "skipped"
    FAILED = "failed"
    DELETED = "deleted_in_salesforce"
    CONFLICT = "conflict"  # a field changed on both sides is held for review (an open SyncConflict)
    NOT_SYNCED = "not_synced"

    LABELS = {IN_SYNC: "In sync", PENDING: "Pending", SKIPPED: "Skipped", FAILED: "Failed",
              DELETED: "Deleted in Salesforce", CONFLICT: "Conflict", NOT_SYNCED: "Not synced"}
    TONES = {IN_SYNC: "green", PENDING: "amber", SKIPPED: "slate", FAILED: "red", DELETED: "red", CONFLICT: "red",
             NOT_SYNCED: "slate"}
    ALL = tuple(LABELS)


@dataclass(frozen=True)
class RecordSyncState:
    """One record's sync state in one connection. `since` is when the state began: the last
    successful exchange (in sync), the oldest unsent change (pending), the failure…"""

    state: str
    reason: str = ""
    since: datetime.datetime | None = None
    code: str = ""
    hint: str = ""
    action: str = ""
    link: SyncLink | None = None

    @property
    def label(self) -> str:
        return SyncState.LABELS[self.state]

    @property
    def tone(self) -> str:
        return SyncState.TONES[self.state]

    def age(self, now: datetime.datetime | None = None) -> datetime.timedelta | None:
        if self.since is None:
            return None
        return max((now or timezone.now()) - self.since, datetime.timedelta(0))


# Error codes whose fix is an admin's (reconnect, permissions, mapping), not another Sync click.
_ADMIN_FIX_CODES = {
    "INVALID_SESSION_ID": "Reconnect the connection in Settings › Integrations.",
    "invalid_grant": "Reconnect the connection in Settings › Integrations.",
    "invalid_client": "Check the connected app, then reconnect.",
    "INSUFFICIENT_ACCESS_OR_READONLY": "Ask a Salesforce admin to grant the integration user access, then sync again.",
    "INSUFFICIENT_ACCESS": "Ask a Salesforce admin to grant the integration user access, then sync again.",
    "INVALID_FIELD": "Fix the field mapping in Settings › Integrations; failed records are retried when settings are saved.",
    "INVALID_FIELD_FOR_INSERT_UPDATE": "Fix the field mapping in Settings › Integrations; failed records are retried when settings are saved.",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": "Fix the stage or picklist mapping in Settings › Integrations; failed records are retried when settings are saved.",
    "REQUIRED_FIELD_MISSING": "Map the required field in Settings › Integrations, or fill it in, then sync again.",
    "ENTITY_IS_LOCKED": "Complete the approval or recall it in Salesforce, then press Sync on the record.",
}
# Failures with their own plain-words state, in place of Salesforce's message.
LOCKED_REASON = "Locked by an approval process in Salesforce"
_FAILURE_REASONS = {"ENTITY_IS_LOCKED": LOCKED_REASON + ": the integration user cannot edit it until the approval ends."}


def _failure_action(code: str) -> str:
    return _ADMIN_FIX_CODES.get(code, "Fix what the hint says, then press Sync on the record.")


_PRIMARY_OBJECT_SETTING = {"opportunity": "opportunity", "analysis": "analysis"}


def _primary_links(links: list[SyncLink], record_type: str, objects: dict[str, str]) -> dict[int, SyncLink]:
    """The link that stands for each record: an opportunity's own object, not a side record."""
    configured = objects.get(_PRIMARY_OBJECT_SETTING.get(record_type, ""), "")
    chosen: dict[int, SyncLink] = {}
    for link in sorted(links, key=lambda lk: (lk.sobject == configured, lk.updated_at)):
        chosen[link.record_id] = link  # the configured object wins, else the newest
    return chosen


def _record_versions(*, tenant: Tenant, record_type: str, record_ids: list[int]) -> dict[int, datetime.datetime]:
    model = _record_models().get(record_type)
    if model is None or not hasattr(model, "updated_at"):
        return {}
    return dict(model.objects.filter(tenant=tenant, pk__in=record_ids).values_list("pk", "updated_at"))


def record_sync_states(*, tenant: Tenant, record_type: str, record_ids: list[int], connection: SalesforceConnection | None,
                       versions: dict[int, datetime.datetime] | None = None,
                       now: datetime.datetime | None = None,
                       settings_data: dict | None = None,
                       links: list[SyncLink] | None = None) -> dict[int, RecordSyncState]:
    """The sync state of each record in one connection, computed from its link and the queue.

    A fixed number of queries whatever the number of records (links, open queue rows, the
    latest log row of records the link does not explain, the settings), so a list page costs
    no N+1. `versions` are the records' updated_at, `settings_data` the connection's settings
    (`settings_current`) and `links` the records' SyncLinks in this connection, when the caller
    has them loaded.

    "In sync" only when the link's last successful exchange is at or after the record's current
    version and nothing is queued; a change not yet sent is pending however old the link is.
    Records of another tenant are simply absent. No connection: {} (nothing to say)."""
    ids = sorted({int(i) for i in record_ids})
    if connection is None or connection.tenant_id != tenant.pk or not ids:
        return {}
    now = now or timezone.now()
    if versions is None:
        versions = _record_versions(tenant=tenant, record_type=record_type, record_ids=ids)
    else:
        versions = {pk: at for pk, at in versions.items() if pk in set(ids)}
    ids = [i for i in ids if i in versions] if versions else []
    if not ids:
        return {}
    from integrations.salesforce.errors import HINTS
    from integrations.sync_settings import settings_current

    if settings_data is None:
        settings_data = settings_current(connection=connection)
    scope = dict(tenant=tenant, connection=connection, record_type=record_type, record_id__in=ids)
    if links is None:
        links = list(SyncLink.objects.filter(**scope).select_related("skipped_by"))
    else:
        links = [lk for lk in links if lk.connection_id == connection.pk and lk.record_type == record_type and lk.record_id in set(ids)]
    links = _primary_links(links, record_type, settings_data.get("objects") or {})
    open_rows: dict[int, OutboxEntry] = {}
    for row in OutboxEntry.objects.filter(**scope, state__in=(OutboxState.PENDING, OutboxState.CLAIMED)).order_by("created_at"):
        open_rows.setdefault(row.record_id, row)  # the oldest open row: the age of the wait
    # A change recorded but not yet fanned out to connections (normally under a second) is
    # pending too: shown as a queued row of this connection unless it came from this org.
    for change in (ChangeRecord.objects.filter(tenant=tenant, record_type=record_type, record_id__in=ids)
                   .exclude(origin_connection_id=connection.pk).order_by("created_at")):
        open_rows.setdefault(change.record_id, OutboxEntry(
            state=OutboxState.PENDING, attempts=0, created_at=change.created_at, available_at=change.created_at))
    pull_only = settings_data.get("direction") == "pull"

    # Records neither queued nor explained by a current link: their latest log row tells
    # whether the last attempt was skipped (a filter) and why.
    unexplained = [i for i in ids if i not in open_rows and not (
        (link := links.get(i)) is not None and link.status in (LinkStatus.SYNCED, LinkStatus.FAILED, LinkStatus.DELETED_IN_SALESFORCE)
        and link.last_synced_at is not None and link.last_synced_at >= versions[i])]
    last_logs: dict[int, SyncLog] = {}
    if unexplained and not pull_only:
        latest_ids = (SyncLog.objects.filter(tenant=tenant, connection=connection, record_type=record_type,
                                             record_id__in=unexplained)
                      .values("record_id").annotate(last=models.Max("id")).values_list("last", flat=True))
        last_logs = {log.record_id: log for log in SyncLog.objects.filter(pk__in=list(latest_ids))}

    # A conflict belongs to a link: records without one (just created, say) cost no query.
    linked_ids = [i for i in ids if i in links]
    held = _held_conflicts(connection, record_type, linked_ids) if linked_ids else {}
    states: dict[int, RecordSyncState] = {}
    for record_id in ids:
        link, row, version = links.get(record_id), open_rows.get(record_id), versions[record_id]
        if record_id in held:
            fields, since = held[record_id]
            states[record_id] = RecordSyncState(
                SyncState.CONFLICT, f"Changed in Cothon and in Salesforce, held for review: {', '.join(fields)}.", since,
                action="Resolve it in Settings › Integrations › Salesforce › Conflicts (or the API); the rest still syncs.",
                link=link)
            continue
        states[record_id] = _one_state(link=link, row=row, version=version, log=last_logs.get(record_id),
                                       connection=connection, pull_only=pull_only, now=now, hints=HINTS)
    return states


def created_record_sync_states(*, tenant: Tenant, connection: SalesforceConnection | None,
                               created: dict[int, datetime.datetime],
                               now: datetime.datetime | None = None) -> dict[int, RecordSyncState]:
    """The sync state of records created in the caller's own request, with no query: the
    answer to an API create, which a burst of creates pays on every save.

    Exact, not a guess: a new record's id has never had a link or a queue row in any connection
    (ids are never reused: PostgreSQL sequences, SQLite AUTOINCREMENT), and its change was
    recorded in the transaction that created it, so it is pending since its creation — what
    `record_sync_states` computes from its four reads (settings, links, queue rows, recorded
    changes) in that case. `created`: record id → its created_at. No connection: {}."""
    if connection is None or connection.tenant_id != tenant.pk:
        return {}
    from integrations.salesforce.errors import HINTS

    now = now or timezone.now()
    return {record_id: _one_state(link=None, row=OutboxEntry(state=OutboxState.PENDING, attempts=0, created_at=at, available_at=at),
                                  version=at, log=None, connection=connection, pull_only=False, now=now, hints=HINTS)
            for record_id, at in created.items()}


def _held_conflicts(connection: SalesforceConnection, record_type: str,
                    ids: list[int]) -> dict[int, tuple[list[str], datetime.datetime]]:
    """Record id → (fields held for review, since when): one query."""
    from sync_engine.models import SyncConflict

    held: dict[int, tuple[list[str], datetime.datetime]] = {}
    for record_id, sf_field, created_at in (SyncConflict.objects.filter(
            connection=connection, record_type=record_type, record_id__in=ids, status="open")
            .order_by("created_at").values_list("record_id", "sf_field", "created_at")):
        fields, since = held.setdefault(record_id, ([], created_at))
        fields.append(sf_field)
    return held


def _one_state(*, link: SyncLink | None, row: OutboxEntry | None, version: datetime.datetime, log: SyncLog | None,
               connection: SalesforceConnection, pull_only: bool, now: datetime.datetime, hints: dict[str, str]) -> RecordSyncState:
    from integrations.models import ConnectionStatus

    S = SyncState
    if link is not None and link.status == LinkStatus.SKIPPED:
        # Before anything queued: a skipped record's rows are settled without being sent.
        return RecordSyncState(S.SKIPPED, skipped_reason(link), link.skipped_at or link.updated_at, link=link,
                               action="Unskip it to sync it with this connection again.")
    if link is not None and link.status == S.CONFLICT:
        return RecordSyncState(S.CONFLICT, "Cothon and Salesforce both changed this record.", link.updated_at, link=link)
    if link is not None and link.status == LinkStatus.DELETED_IN_SALESFORCE:
        return RecordSyncState(S.DELETED, "The record was deleted in Salesforce; Cothon no longer sends it.", link.updated_at,
                               code=link.last_error_code, hint=link.last_error_hint or hints.get("ENTITY_IS_DELETED", ""),
                               action="Re-link it to another Salesforce record, re-create it in Salesforce, or skip it.",
                               link=link)
    if row is not None:
        code = link.last_error_code if link is not None and row.attempts else ""
        if connection.status != ConnectionStatus.CONNECTED:
            reason = f"Queued: the connection is {connection.get_status_display().lower()}; it is sent once an admin reconnects it."
        elif row.state == OutboxState.CLAIMED:
            reason = "Being sent to Salesforce now."
        elif row.attempts and code:
            reason = f"Retrying after a temporary error ({code})."
        elif row.available_at > now + datetime.timedelta(seconds=5):
            reason = "Waiting for Salesforce API capacity; it stays queued."
        else:
            reason = "Queued to be sent to Salesforce."
        return RecordSyncState(S.PENDING, reason, row.created_at, code=code, link=link)
    if link is not None and link.status == LinkStatus.FAILED:
        code = link.last_error_code
        return RecordSyncState(S.FAILED, _FAILURE_REASONS.get(code) or link.last_error_message or "Salesforce refused the record.",
                               link.updated_at, code=code,
                               hint=link.last_error_hint or hints.get(code, ""), action=_failure_action(code), link=link)
    if pull_only:
        return RecordSyncState(S.SKIPPED, "This connection only brings changes from Salesforce into Cothon; nothing is sent.",
                               link=link)
    if log is not None and log.result == SyncResult.SKIPPED and (link is None or link.last_synced_at is None
                                                                 or log.created_at >= link.last_synced_at):
        return RecordSyncState(S.SKIPPED, log.error_message or "Not sent: the connection's filters leave it out.", log.created_at,
                               code=log.error_code, link=link)
    if link is not None and link.status == LinkStatus.SYNCED and link.last_synced_at is not None:
        if link.last_synced_at >= version:
            return RecordSyncState(S.IN_SYNC, "Salesforce has the current version.", link.last_synced_at, link=link)
        return RecordSyncState(S.PENDING, "Changed after the last sync and not queued; the next incremental sync sends it.",
                               version, link=link)
    if log is not None and log.result == SyncResult.FAILED:
        return RecordSyncState(S.FAILED, _FAILURE_REASONS.get(log.error_code) or log.error_message or "Salesforce refused the record.",
                               log.created_at,
                               code=log.error_code, hint=log.hint or hints.get(log.error_code, ""),
                               action=_failure_action(log.error_code), link=link)
    return RecordSyncState(S.NOT_SYNCED, "Not sent to Salesforce yet; the next full sync sends it.", link=link)


def skipped_reason(link: SyncLink) -> str:
    """"Skipped by <user> on <date>", the date in the current time zone (the tenant's, in a page)."""
    user = link.skipped_by
    who = (user.get_full_name() or user.get_username()) if user is not None else "someone"
    when = f" on {timezone.localtime(link.skipped_at):%b %-d, %Y}" if link.skipped_at else ""
    return f"Skipped by {who}{when}: Cothon neither sends nor receives its changes in this connection."


def record_sync_state(*, tenant: Tenant, record_type: str, record_id: int,
                      connection: SalesforceConnection | None) -> RecordSyncState | None:
    """One record's state (the record page)."""
    return record_sync_states(tenant=tenant, record_type=record_type, record_ids=[record_id], connection=connection).get(record_id)


@dataclass(frozen=True)
class ConnectionSyncState:
    """A connection's one state: failed (not connected, or records failing), pending (queued
    changes, with the oldest one's age), else in sync."""

    state: str
    reason: str
    since: datetime.datetime | None = None
    queued: int = 0
    failed: int = 0
    code: str = ""
    hint: str = ""
    action: str = ""
    deleted: int = 0  # records whose Salesforce partner was deleted (re-link, skip or re-create them)
    skipped: int = 0  # records someone skipped in this connection (never sent nor received)

    @property
    def label(self) -> str:
        return SyncState.LABELS[self.state]

    @property
    def tone(self) -> str:
        return SyncState.TONES[self.state]


def connection_sync_state(*, tenant: Tenant, connection: SalesforceConnection) -> ConnectionSyncState:
    """Three aggregate queries over the queue and the links of one connection."""
    from integrations.models import ConnectionStatus

    S = SyncState
    rows = OutboxEntry.objects.filter(tenant=tenant, connection=connection)
    queue = rows.filter(state__in=(OutboxState.PENDING, OutboxState.CLAIMED)).aggregate(n=models.Count("id"), oldest=models.Min("created_at"))
    unsent = ChangeRecord.objects.filter(tenant=tenant).exclude(origin_connection_id=connection.pk).aggregate(
        n=models.Count("id"), oldest=models.Min("created_at"))
    if unsent["n"]:
        queue = {"n": queue["n"] + unsent["n"],
                 "oldest": min(at for at in (queue["oldest"], unsent["oldest"]) if at is not None)}
    failed_links = SyncLink.objects.filter(tenant=tenant, connection=connection, status=LinkStatus.FAILED)
    counts = dict(SyncLink.objects.filter(tenant=tenant, connection=connection,
                                          status__in=(LinkStatus.FAILED, LinkStatus.DELETED_IN_SALESFORCE, LinkStatus.SKIPPED))
                  .values_list("status").annotate(n=models.Count("id")).order_by())
    failed = counts.get(LinkStatus.FAILED, 0)
    gone = {"deleted": counts.get(LinkStatus.DELETED_IN_SALESFORCE, 0), "skipped": counts.get(LinkStatus.SKIPPED, 0)}
    if connection.status != ConnectionStatus.CONNECTED:
        return ConnectionSyncState(S.FAILED, f"The connection is {connection.get_status_display().lower()}: nothing is sent.",
                                   connection.updated_at, queue["n"], failed, connection.last_error_code,
                                   action="An admin reconnects it in Settings › Integrations; queued changes go out then.", **gone)
    if failed:
        latest = failed_links.order_by("-updated_at").first()
        return ConnectionSyncState(S.FAILED, f"{failed} record{'s' if failed != 1 else ''} could not be synced.",
                                   latest.updated_at if latest else None, queue["n"], failed,
                                   action="Open the sync log, filtered on failures, to see each error and its fix.", **gone)
    if queue["n"]:
        return ConnectionSyncState(S.PENDING, f"{queue['n']} change{'s' if queue['n'] != 1 else ''} queued.", queue["oldest"],
                                   queue["n"], 0, **gone)
    return ConnectionSyncState(S.IN_SYNC, "Nothing is waiting to be sent.", connection.last_success_at, **gone)


def record_pulled_since(*, tenant: Tenant, record_type: str, record_id: int, since: datetime.datetime) -> bool:
    """Whether a pull from Salesforce wrote this record at or after `since` (the live record
    page says where a change it shows came from)."""
    return SyncLog.objects.filter(tenant=tenant, record_type=record_type, record_id=record_id, direction=SyncDirection.PULL,
                                  result=SyncResult.SUCCESS, created_at__gte=since).exists()


# --- records whose Salesforce partner is gone, and skipped ones (the bulk page) ----------------

@dataclass(frozen=True)
class PartnerGoneRow:
    link: SyncLink
    title: str
    reference: str


PARTNER_GONE_LIMIT = 500


def partner_gone_records(*, tenant: Tenant, connection: SalesforceConnection,
                         limit: int = PARTNER_GONE_LIMIT) -> tuple[list[PartnerGoneRow], list[PartnerGoneRow]]:
    """The connection's opportunities deleted in Salesforce and those skipped, newest change
    first, with their titles: (deleted, skipped). Three queries."""
    from opportunities.models import Opportunity

    links = list(SyncLink.objects.filter(tenant=tenant, connection=connection, record_type="opportunity",
                                         status__in=(LinkStatus.DELETED_IN_SALESFORCE, LinkStatus.SKIPPED))
                 .select_related("skipped_by").order_by("-updated_at", "-id")[:limit])
    records = {pk: (title, reference) for pk, title, reference in Opportunity.objects.filter(
        tenant=tenant, pk__in=[link.record_id for link in links]).values_list("pk", "title", "reference")}
    rows = [PartnerGoneRow(link, *records[link.record_id]) for link in links if link.record_id in records]
    return ([r for r in rows if r.link.status == LinkStatus.DELETED_IN_SALESFORCE],
            [r for r in rows if r.link.status == LinkStatus.SKIPPED])
