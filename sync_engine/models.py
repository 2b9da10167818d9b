"""The sync engine's tables: the outbox (what must be pushed) and the link state of every
synced record (what each side agreed on last)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from sync_engine.vocabulary import Event, Origin, Priority, RecordType  # noqa: F401 - re-exported

# Referred to by label, not imported: the outbox (a leaf the domain imports) must not pull in
# `integrations/` through its models.
TENANT = "cothon.Tenant"
CONNECTION = "integrations.SalesforceConnection"


class OutboxState(models.TextChoices):
    PENDING = "pending", "Pending"
    CLAIMED = "claimed", "In progress"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ChangeRecord(models.Model):
    """A change of one local record, as the domain recorded it: tenant-level intent, before it
    is known which connections it goes to.

    `record_change` writes it in the caller's transaction; the fan-out in the worker
    (`sync_engine.fanout`) turns it into one `OutboxEntry` per target connection and deletes it
    in the same transaction, so a change is either still here or already queued — never lost,
    never queued twice."""

    tenant = models.ForeignKey(TENANT, on_delete=models.CASCADE, related_name="+")
    record_type = models.CharField(max_length=20, choices=RecordType.choices)
    record_id = models.BigIntegerField()
    event = models.CharField(max_length=20, choices=Event.choices)
    fields = models.JSONField(default=list)
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.COTHON)
    # The connection a Salesforce change came from (never pushed back to it). A plain id: a
    # deleted connection leaves nothing to skip.
    origin_connection_id = models.BigIntegerField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.REALTIME)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "id"], name="change_tenant_idx"),
                   models.Index(fields=["created_at"], name="change_created_idx")]


class OutboxEntry(models.Model):
    """One pending push of one local record to one connection.

    Written by the fan-out of `ChangeRecord` rows (and by Sync Now / manual record syncs).
    Several changes of one record before it is pushed coalesce into this one row
    (changed_fields is the union).
    """

    tenant = models.ForeignKey(TENANT, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(CONNECTION, on_delete=models.CASCADE, related_name="outbox_entries")
    record_type = models.CharField(max_length=20, choices=RecordType.choices)
    record_id = models.BigIntegerField()
    event = models.CharField(max_length=40, help_text="What happened (sync_engine.vocabulary.Event).")
    changed_fields = models.JSONField(default=list)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.REALTIME)
    state = models.CharField(max_length=10, choices=OutboxState.choices, default=OutboxState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    available_at = models.DateTimeField(help_text="Not claimed before this time (backoff, governor pause).")
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # The Sync Now / scheduled run this row counts towards, whichever worker pushes it (a
    # sweeper-woken task included), so a run's progress and its end never depend on one task.
    run = models.ForeignKey("SyncRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # At most one open row per (connection, record): new changes merge into it.
            models.UniqueConstraint(
                fields=["connection", "record_type", "record_id"],
                condition=models.Q(state="pending"),
                name="outbox_one_pending_per_record",
            )
        ]
        indexes = [models.Index(fields=["state", "priority", "available_at", "id"], name="outbox_claim_idx"),
                   models.Index(fields=["run", "state"], name="outbox_run_idx")]


class LinkStatus(models.TextChoices):
    PENDING = "pending", "Waiting to sync"
    SYNCED = "synced", "Synced"
    FAILED = "failed", "Failed"
    DELETED_IN_SALESFORCE = "deleted_in_sf", "Deleted in Salesforce"
    UNLINKED = "unlinked", "Not linked"
    # Someone chose to stop syncing the record in this connection (reversible: Unskip). Never
    # pushed nor pulled while skipped; the status it had is kept in `status_before_skip`.
    SKIPPED = "skipped", "Skipped"


class MatchedBy(models.TextChoices):
    EXTERNAL_ID = "external_id", "External id"
    TITLE_DATE = "title_date", "Title + close date"
    LEGACY_REVIEW = "legacy_review", "Linked by review"
    PULLED = "pulled", "Created from Salesforce"
    EMAIL = "email", "E-mail address"
    RELINKED = "relinked", "Re-linked by hand"


class SyncLink(models.Model):
    """The link between one local record and its Salesforce record in one connection."""

    tenant = models.ForeignKey(TENANT, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(CONNECTION, on_delete=models.CASCADE, related_name="links")
    record_type = models.CharField(max_length=20, choices=RecordType.choices)
    record_id = models.BigIntegerField()
    sobject = models.CharField(max_length=80)
    salesforce_id = models.CharField(max_length=18, blank=True)
    matched_by = models.CharField(max_length=20, choices=MatchedBy.choices, blank=True)
    status = models.CharField(max_length=20, choices=LinkStatus.choices, default=LinkStatus.PENDING)
    pushed_hash = models.CharField(max_length=64, blank=True, help_text="Hash of the values last written (echo suppression).")
    base_snapshot = models.JSONField(default=dict, blank=True, help_text="Field values both sides agreed on last.")
    salesforce_modstamp = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error_code = models.CharField(max_length=80, blank=True)
    last_error_message = models.TextField(blank=True)
    last_error_hint = models.TextField(blank=True)
    skipped_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", db_index=False)
    skipped_at = models.DateTimeField(null=True, blank=True)
    # db_default: the push writes links with a raw multi-row INSERT that does not name this column.
    status_before_skip = models.CharField(max_length=20, blank=True, default="", db_default="",
                                          help_text="The status Unskip gives back.")
    # The write in flight (sync_engine/attempts.py): what a push is about to send to the linked
    # record, recorded before the call and cleared when its result is recorded. A worker killed
    # in between leaves it set; the next read of the record (push guard or pull) tells whether
    # that write landed, so the base does not stay behind it. The push's raw link upserts leave
    # these columns out: the row they propose carries the database defaults (NULL, ""), which is
    # how a recorded result clears the mark.
    inflight_values = models.JSONField(null=True, blank=True, help_text="Field values of a write sent but not yet recorded.")
    inflight_token = models.CharField(max_length=32, blank=True, default="", db_default="",
                                      help_text="The token that write carried in Cothon_Push_Token__c (when the org has it).")
    inflight_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "record_type", "record_id", "sobject"], name="link_unique_record"),
            # An appointment is pulled from one Salesforce record: never two appointments for it.
            models.UniqueConstraint(fields=["connection", "sobject", "salesforce_id"],
                                    condition=models.Q(record_type="appointment") & ~models.Q(salesforce_id=""),
                                    name="link_unique_appointment_sf_id"),
            # One quote per Salesforce opportunity, ever (the 001 seed): a replayed message, a
            # second stage change or Synchronize now finds this link and makes no second quote.
            models.UniqueConstraint(fields=["connection", "sobject", "salesforce_id"],
                                    condition=models.Q(record_type="quote") & ~models.Q(salesforce_id=""),
                                    name="link_unique_quote_sf_id"),
        ]
        indexes = [
            models.Index(fields=["connection", "salesforce_id"]),
            models.Index(fields=["tenant", "record_type", "record_id"]),
        ]

    @property
    def salesforce_url(self) -> str:
        return self.connection.record_url(self.sobject, self.salesforce_id) if self.salesforce_id else ""


class SyncDirection(models.TextChoices):
    PUSH = "push", "Cothon → Salesforce"
    PULL = "pull", "Salesforce → Cothon"


class SyncResult(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILED = "failed", "Failed"
    RETRYING = "retrying", "Will retry"
    SKIPPED = "skipped", "Skipped"
    PAUSED = "paused", "Paused (API limit)"


class SyncRunKind(models.TextChoices):
    REALTIME = "realtime", "Real-time"
    MANUAL_RECORD = "manual_record", "Manual sync of a record"
    FULL = "full", "Full sync"
    INCREMENTAL = "incremental", "Incremental sync"
    RECONCILIATION = "reconciliation", "Reconciliation"
    VALIDATION = "validation", "Daily validation"


class SyncRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Finished"
    FINISHED_WITH_ERRORS = "finished_with_errors", "Finished with errors"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    # A reconciliation the governor refused (API allowance low): nothing was read or queued;
    # the next one reads from the last completed one, so nothing is lost.
    DEFERRED = "deferred", "Deferred (API limit)"


class SyncRun(models.Model):
    """A manual or scheduled run with progress (Sync Now's progress bar reads this row).

    Cancel is a flag the executor checks between batches (decisions.md), not a task revoke."""

    tenant = models.ForeignKey(TENANT, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(CONNECTION, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=20, choices=SyncRunKind.choices)
    status = models.CharField(max_length=24, choices=SyncRunStatus.choices, default=SyncRunStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    message = models.TextField(blank=True)
    # What a reconciliation found, by side (examined, re-queued, applied, …; sync_engine.reconcile).
    counts = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    record_type = models.CharField(max_length=20, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["connection", "-id"])]

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 and self.finished_at else int(100 * self.processed / self.total) if self.total else 0


class SyncLog(models.Model):
    """One attempt to sync one record (or one call that synced none). Ops filter and export
    these; the table is expected to reach millions of rows, so reads use keyset pagination on
    id with the indexes below."""

    tenant = models.ForeignKey(TENANT, on_delete=models.CASCADE, related_name="+", db_index=False)
    connection = models.ForeignKey(CONNECTION, on_delete=models.CASCADE, related_name="logs", db_index=False)
    run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="logs", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    record_type = models.CharField(max_length=20, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)
    record_label = models.CharField(max_length=255, blank=True)
    sobject = models.CharField(max_length=80, blank=True)
    salesforce_id = models.CharField(max_length=18, blank=True)
    direction = models.CharField(max_length=4, choices=SyncDirection.choices, default=SyncDirection.PUSH)
    operation = models.CharField(max_length=20)
    result = models.CharField(max_length=10, choices=SyncResult.choices)
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)
    hint = models.TextField(blank=True)
    retries = models.PositiveSmallIntegerField(default=0)
    # When the change this row settles was waiting since: a push, the creation of its queue row
    # (the oldest change it carries); a pull, Salesforce's SystemModstamp of the record. Kept here
    # because the queue row is deleted when it finishes: latency (created_at - queued_at) and
    # retries stay measurable afterwards. Empty for rows no queued change led to (pause, resume).
    queued_at = models.DateTimeField(null=True, blank=True)
    # Which attempt at that change this was (1 = the first; retries = attempts - 1 for a push);
    # 0 for rows that are no attempt (a pull, an action a person took).
    attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveSmallIntegerField(default=0)
    # Who asked for it, for actions a person takes on a record (re-link, skip, re-create);
    # empty for what the workers do on their own.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              db_index=False)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-id"], name="synclog_tenant_id"),
            models.Index(fields=["tenant", "result", "-id"], name="synclog_tenant_result"),
            models.Index(fields=["tenant", "error_code", "-id"], name="synclog_tenant_code"),
            models.Index(fields=["tenant", "record_type", "record_id", "-id"], name="synclog_tenant_record"),
            models.Index(fields=["tenant", "created_at"], name="synclog_tenant_created"),
            models.Index(fields=["connection", "-id"], name="synclog_connection"),
        ]


class ApiCallBucket(models.Model):
    """API calls per connection, hour and kind (realtime, manual, incremental, …): the usage chart."""

    connection = models.ForeignKey(CONNECTION, on_delete=models.CASCADE, related_name="call_buckets")
    hour = models.DateTimeField()
    kind = models.CharField(max_length=20)
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "hour", "kind"], name="api_bucket_unique")]


class MetricTotal(models.Model):
    """Running totals for the Prometheus counters and histograms (docs/monitoring.md), added to
    by one upsert per batch beside the statements that write its log rows and call count, so the
    scrape reads a few hundred rows instead of the sync log, and the totals never go down
    (log rows are purged; a counter must not be).

    `series` names the metric (api_calls, latency, errors, records, pauses); `labels` its fixed label
    values joined with "|" — enums only (kind of work, direction, result, a known error code or
    "other", a histogram bucket's upper bound), never record data."""

    connection = models.ForeignKey(CONNECTION, on_delete=models.CASCADE, related_name="+")
    series = models.CharField(max_length=20)
    labels = models.CharField(max_length=120, blank=True)
    count = models.BigIntegerField(default=0)
    total = models.FloatField(default=0, help_text="Sum of the observed values (histograms: seconds).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "series", "labels"], name="metric_total_unique")]


class ProcessHeartbeat(models.Model):
    """When a worker (per node name, with the queues it consumes) or beat (its sweeper tick)
    was last seen: /readyz compares these with now. A killed process simply stops beating."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10)  # "worker" | "beat"
    queues = models.CharField(max_length=200, blank=True)
    last_seen = models.DateTimeField()


class AccountCacheEntry(models.Model):
    """Department name → Salesforce Account id, per connection (refreshed hourly)."""

    connection = models.ForeignKey(CONNECTION, on_delete=models.CASCADE, related_name="account_cache")
    name_key = models.CharField(max_length=255, help_text="Lower-cased account name.")
    salesforce_id = models.CharField(max_length=18)
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "name_key"], name="account_cache_unique")]


class GovernorState(models.Model):
    """The database backend of the governor (embedded stack): one row per connection."""

    connection = models.OneToOneField(CONNECTION, on_delete=models.CASCADE, related_name="governor_state")
    used = models.IntegerField(null=True, blank=True)
    allowance = models.IntegerField(null=True, blank=True)
    paused_until = models.FloatField(null=True, blank=True, help_text="Epoch seconds.")
    probe_pending = models.BooleanField(default=False, help_text="Check /limits once when the pause has run out.")
    resume_estimate = models.FloatField(null=True, blank=True, help_text="Epoch seconds: when the org's capacity is expected back (shown to users).")
    hour_started = models.FloatField(default=0)
    calls_this_hour = models.IntegerField(default=0)
    calls_last_hour = models.IntegerField(default=0)


class GovernorSlot(models.Model):
    """A request in flight against an org (concurrency cap), with a lease so a killed worker's
    slot frees itself."""

    connection = models.ForeignKey(CONNECTION, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=40, unique=True)
    expires_at = models.FloatField()


class WakeUp(models.Model):
    """The one pending wake-up task of a connection's lane (real-time or background), or of a
    tenant's fan-out (lane "fanout": turn its recorded changes into outbox rows and push them).

    Every path that wants a worker to look at a connection (a save, the sweeper, a retry after
    backoff, the end of a governor pause) goes through `sync_engine.wakeups`, which enqueues
    a task only when none is pending that would run as early — so a held slot or a long pause
    can never pile up broker messages. A row whose task is overdue by more than a grace period
    counts as lost (its worker died holding the message) and may be enqueued again."""

    connection = models.ForeignKey(CONNECTION, on_delete=models.CASCADE, related_name="+", null=True, blank=True)
    tenant = models.ForeignKey(TENANT, on_delete=models.CASCADE, related_name="+", null=True, blank=True)
    lane = models.CharField(max_length=10)
    due_at = models.DateTimeField(null=True, blank=True, help_text="When the pending task runs; empty: none pending.")
    enqueued = models.BooleanField(default=False, help_text="A broker message exists (else the sweeper sends it when due).")
    misses = models.PositiveSmallIntegerField(default=0, help_text="Consecutive wake-ups that found the org busy (backoff).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "lane"], name="wakeup_one_per_lane"),
            models.UniqueConstraint(fields=["tenant", "lane"], condition=models.Q(connection__isnull=True),
                                    name="wakeup_one_fanout_per_tenant"),
            models.CheckConstraint(condition=models.Q(connection__isnull=False) | models.Q(tenant__isnull=False),
                                   name="wakeup_has_a_target"),
        ]


class HeldLink(models.Model):
    """A record's Salesforce id that has no connection to belong to yet.

    Quotes and appointments used to store their Salesforce id on the record. Migration
    sync_engine 0004 turned each into a SyncLink of the tenant's default connection; a tenant
    without one at that moment keeps its ids here instead of losing them (a link cannot exist
    without its connection). The API shows a held id like a linked one, and the tenant's next
    Sync Now or scheduled run on its default connection turns them into links
    (`sync_engine.links.held_links_adopt`)."""

    tenant = models.ForeignKey("cothon.Tenant", on_delete=models.CASCADE, related_name="+")
    record_type = models.CharField(max_length=20, choices=RecordType.choices)
    record_id = models.BigIntegerField()
    sobject = models.CharField(max_length=80)
    salesforce_id = models.CharField(max_length=18)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "record_type", "record_id", "sobject"],
                                               name="heldlink_unique_record")]


class ConflictStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class ConflictResolution(models.TextChoices):
    KEEP_COTHON = "keep_cothon", "Kept Cothon's value"
    KEEP_SALESFORCE = "keep_salesforce", "Kept Salesforce's value"
    VALUE = "value", "Entered a value"
    # Nobody decided: a later change on one side made the sides agree or returned that side to
    # the base, so the field is no longer changed on both sides.
    SUPERSEDED = "superseded", "Settled by a later change"


class SyncConflict(models.Model):
    """A field changed on both sides since the link's base, held for a person to decide (the
    connection flags conflicts for review): until resolved, neither side's value of this field
    changes. Values are in Salesforce's terms (as the push would send Cothon's), so the three
    compare. One open conflict per (connection, record, field): a later change updates it."""

    tenant = models.ForeignKey(TENANT, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(CONNECTION, on_delete=models.CASCADE, related_name="conflicts")
    link = models.ForeignKey(SyncLink, on_delete=models.CASCADE, related_name="conflicts")
    record_type = models.CharField(max_length=20, choices=RecordType.choices)
    record_id = models.BigIntegerField()
    record_label = models.CharField(max_length=255, blank=True)
    sf_field = models.CharField(max_length=80)
    cothon_field = models.CharField(max_length=40)
    rule = models.CharField(max_length=20, blank=True, help_text="The field's rule when it was held (for the record).")
    base_value = models.JSONField(null=True, blank=True)
    cothon_value = models.JSONField(null=True, blank=True)
    cothon_changed_at = models.DateTimeField(null=True, blank=True)
    # From Opportunity.field_changed_by. No database constraint: the pull inserts held rows in
    # bulk with the id it read, and a user deleted meanwhile must not fail the pull's page.
    cothon_changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                          related_name="+", db_constraint=False,
                                          help_text="Who changed Cothon's side (null: not known, or pulled).")
    salesforce_value = models.JSONField(null=True, blank=True)
    salesforce_changed_at = models.DateTimeField(null=True, blank=True)
    salesforce_changed_by = models.CharField(max_length=18, blank=True, help_text="LastModifiedById of the record.")
    status = models.CharField(max_length=10, choices=ConflictStatus.choices, default=ConflictStatus.OPEN)
    resolution = models.CharField(max_length=20, choices=ConflictResolution.choices, blank=True)
    resolved_value = models.JSONField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "record_type", "record_id", "sf_field"],
                                    condition=models.Q(status="open"), name="conflict_one_open_per_field"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-id"], name="conflict_tenant_status"),
            models.Index(fields=["tenant", "record_type", "record_id"], name="conflict_tenant_record"),
        ]
