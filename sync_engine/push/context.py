"""State shared by one push batch: the client, settings, caches, and the log rows to write."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import F
from django.utils import timezone

from integrations.models import SalesforceConnection
from integrations.settings_schema import SyncSettings
from integrations.salesforce.client import CallRecord, SalesforceClient
from sync_engine.models import OutboxEntry, SyncDirection, SyncLog, SyncResult, SyncRun
from sync_engine.call_counts import add_calls, call_failed
from sync_engine.metric_totals import add_totals, log_totals
from sync_engine.rows import insert_rows

# The SyncLog columns a push writes, in the order of the tuples in PushContext.logs.
LOG_COLUMNS = ("tenant_id", "connection_id", "run_id", "created_at", "record_type", "record_id", "record_label", "sobject",
               "salesforce_id", "direction", "operation", "result", "error_code", "error_message", "hint", "retries",
               "duration_ms", "api_calls", "queued_at", "attempts")


@dataclass
class Outcome:
    """What happened to one outbox entry in this batch."""

    done: bool = False
    failed: bool = False
    retry: bool = False
    # Its own write landed, but a follow-up it triggers (a Task, a note, a file) has not yet:
    # if the batch aborts now, the entry goes back to the queue instead of being settled.
    followup_pending: bool = False


@dataclass
class PushContext:
    connection: SalesforceConnection
    client: SalesforceClient
    settings: SyncSettings
    describe_fields: dict[str, dict] | None
    user_ids: dict[int, str]
    base_url: str
    call_kind: str
    run: SyncRun | None = None
    bulk_threshold: int = 0  # > 0: write groups at least this large through Bulk API 2.0
    calls: int = 0
    failed_calls: int = 0
    logs: list[tuple] = field(default_factory=list)  # SyncLog rows (LOG_COLUMNS), written by flush()
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    account_ids: dict[int, str] = field(default_factory=dict)  # department id -> Account Id
    started: float = field(default_factory=time.monotonic)
    describes: dict[str, dict[str, dict] | None] = field(default_factory=dict)  # sobject -> its describe fields
    # When the batch's latest write was answered and settled on its links (time.monotonic()):
    # the moment its records count as in Salesforce, before the batch's log rows and queue rows.
    landed_at: float | None = None

    def describe(self, sobject: str) -> dict[str, dict] | None:
        """The object's describe fields (lower-case name -> field), from the connection's cache
        when fresh; {} when the object is not in the org."""
        if sobject not in self.describes:
            from integrations.sync_settings import describe_fields_for

            self.describes[sobject] = describe_fields_for(self.connection, sobject, client=self.client)
        return self.describes[sobject]

    @property
    def time_zone(self) -> ZoneInfo:
        """The tenant's zone: every date the push writes (Task due dates, "closes in N days")."""
        try:
            return ZoneInfo(self.connection.tenant.time_zone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    def on_call(self, record: CallRecord) -> None:
        self.calls += 1
        self.failed_calls += call_failed(record)

    def outcome(self, entry: OutboxEntry) -> Outcome:
        # Asked several times per row of a 5,000-row batch: no throwaway Outcome per question.
        outcome = self.outcomes.get(entry.id)
        if outcome is None:
            outcome = self.outcomes[entry.id] = Outcome()
        return outcome

    def log(self, *, entry: OutboxEntry | None, sobject: str, operation: str, result: str, record_type: str = "",
            record_id: int | None = None, label: str = "", salesforce_id: str = "", error=None, api_calls: int = 0,
            duration_ms: int = 0, message: str = "") -> None:
        run_id = entry.run_id if entry is not None and entry.run_id else (self.run.pk if self.run is not None else None)
        self.logs.append((
            self.connection.tenant_id, self.connection.pk, run_id, timezone.now(),
            record_type or (entry.record_type if entry else ""),
            record_id if record_id is not None else (entry.record_id if entry else None),
            label[:255], sobject, salesforce_id or "", SyncDirection.PUSH.value, operation, str(result),
            getattr(error, "code", "") or "", (getattr(error, "message", "") or message or "")[:4000],
            (getattr(error, "hint", "") or "") if error is not None and result != SyncResult.SUCCESS else "",
            entry.attempts if entry else 0, duration_ms, api_calls,
            entry.created_at if entry else None, entry.attempts + 1 if entry else 0,
        ))

    def flush(self, *, count_run: bool = True) -> int:
        """Write the batch's log rows and API-call count in a few statements. With
        `count_run=False` the run's share is not written but returned (the caller adds it in the
        statement that advances the run anyway)."""
        totals = None
        if self.logs:
            insert_rows(SyncLog, LOG_COLUMNS, self.logs)
            # The Prometheus totals of these rows (docs/monitoring.md), written with the calls'.
            totals = log_totals((row[1], row[9], row[11], row[12], row[3], row[18]) for row in self.logs)
            self.logs = []
        calls, self.calls = self.calls, 0
        failed, self.failed_calls = self.failed_calls, 0
        if not calls:
            add_totals(totals or {})
            return 0
        hour = timezone.now().replace(minute=0, second=0, microsecond=0)
        add_calls(connection_id=self.connection.pk, hour=hour, kind=self.call_kind, calls=calls, failed=failed, totals=totals)
        if self.run is None:
            return 0
        self.run.api_calls += calls
        if count_run:
            SyncRun.objects.filter(pk=self.run.pk).update(api_calls=F("api_calls") + calls)
            return 0
        return calls
