"""Reads behind the sync-log page's "Errors by cause" panel and its Retry / Skip actions:
failed log rows grouped by cause, and the records that are still failing.

Tenant-scoped like every selector; all grouping happens in the database (GROUP BY), and the
number of groups and records read is bounded, so the panel costs the same on a million-row log.

**Cause.** A group is (connection, error code, hint). Salesforce's messages carry the record's
own values and ids ("invalid cross reference id: 001…", "Amount: value 123 out of range"), so
grouping by the message would make one group per record; the code with its fix hint is what a
person acts on once for many records. The group shows its latest message as an example.
(Normalising the message — ids and numbers stripped — would need a regular-expression replace,
which SQLite, the embedded stack's database, does not have.)

**Still failing.** A record is failing now when one of its failed push rows (in that
connection) has no later success or skip of the same record: a record that failed on Monday and
synced on Tuesday is not retried again. Only pushes are retried through the outbox; a failed pull
is read again by the next incremental pull."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import CharField, Count, Exists, Max, Min, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat

from cothon.models import Tenant
from sync_engine.models import OutboxEntry, OutboxState, SyncDirection, SyncLog, SyncResult
from sync_engine.selectors import LogFilters, sync_log_filtered

GROUP_LIMIT = 20
# The panel groups at most this many failed rows, the newest: on a log of millions a first page
# stays fast however many failures it holds; the panel says when it looked at fewer than all.
GROUP_SCAN = 2_000


@dataclass(frozen=True)
class ErrorGroup:
    """Failed rows of one cause in one connection (over the current filters)."""

    connection_id: int
    connection_name: str
    error_code: str
    hint: str
    rows: int  # failed rows
    records: int  # distinct records those rows are about
    failing: int  # of those records, the ones whose push is still failing
    first_seen: datetime.datetime
    last_seen: datetime.datetime
    example: str = ""  # the latest row's message
    queued: int = 0  # of the failing records, those queued again already (a retry, a later edit)

    @property
    def retryable(self) -> int:
        """What Retry would queue now."""
        return self.failing - self.queued

    @property
    def key(self) -> str:
        """The group as one form value: "<connection>|<code>|<hint>" (see GroupKey.parse)."""
        return GroupKey(self.connection_id, self.error_code, self.hint).encode()


@dataclass(frozen=True)
class GroupKey:
    connection_id: int
    error_code: str
    hint: str

    def encode(self) -> str:
        return f"{self.connection_id}|{self.error_code}|{self.hint}"

    @classmethod
    def parse(cls, value: str) -> GroupKey:
        """ValueError for anything that is not "<connection id>|<code>|<hint>"."""
        parts = (value or "").split("|", 2)
        if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 18 or len(parts[1]) > 80:
            raise ValueError("Not an error group.")
        return cls(int(parts[0]), parts[1], parts[2])


def _record_key():
    # Distinct records across record types: "opportunity:42".
    return Concat("record_type", Value(":"), Cast("record_id", CharField()), output_field=CharField())


def _resolved_later() -> Exists:
    """A later push row of the same record in the same connection that succeeded or skipped it."""
    return Exists(SyncLog.objects.filter(
        tenant_id=OuterRef("tenant_id"), record_type=OuterRef("record_type"), record_id=OuterRef("record_id"),
        connection_id=OuterRef("connection_id"), id__gt=OuterRef("id"), direction=SyncDirection.PUSH,
        result__in=(SyncResult.SUCCESS, SyncResult.SKIPPED)))


def failed_rows(*, tenant: Tenant, filters: LogFilters | None = None, group: GroupKey | None = None) -> QuerySet[SyncLog]:
    """The failed rows matching the filters (a status filter other than "failed" matches none)."""
    filters = filters or LogFilters()
    if filters.result and filters.result != SyncResult.FAILED:
        return SyncLog.objects.none()
    qs = sync_log_filtered(tenant=tenant, filters=filters).filter(result=SyncResult.FAILED)
    if group is not None:
        qs = qs.filter(connection_id=group.connection_id, error_code=group.error_code, hint=group.hint)
    return qs


def _queued_now() -> Exists:
    """The record has a queued (pending or in-progress) push in that connection."""
    return Exists(OutboxEntry.objects.filter(
        connection_id=OuterRef("connection_id"), record_type=OuterRef("record_type"), record_id=OuterRef("record_id"),
        state__in=(OutboxState.PENDING, OutboxState.CLAIMED)))


class GroupList(list):
    """The groups, and whether older failed rows were left out (`capped`: more than the scan)."""

    capped: bool = False


def error_groups(*, tenant: Tenant, filters: LogFilters | None = None, limit: int = GROUP_LIMIT,
                 scan: int = GROUP_SCAN) -> GroupList:
    """Failed rows grouped by (connection, code, hint), the most recently seen first, over the
    newest `scan` failed rows: three queries (the oldest id scanned, by the (tenant, result, -id)
    index; the groups; their example messages by the groups' latest row ids)."""
    still = Q(direction=SyncDirection.PUSH, record_id__isnull=False, resolved=False)
    scanned = failed_rows(tenant=tenant, filters=filters)
    # The first row left out, if any: the newest `scan` rows are those above it.
    left_out = scanned.order_by("-id").values_list("id", flat=True)[scan:scan + 1].first()
    capped = left_out is not None
    if capped:
        scanned = scanned.filter(id__gt=left_out)
    rows = list(scanned
                .annotate(resolved=_resolved_later(), queued_now=_queued_now(), rkey=_record_key())
                .values("connection_id", "connection__name", "error_code", "hint")
                .annotate(n=Count("id"), records=Count("rkey", distinct=True),
                          failing=Count("rkey", filter=still, distinct=True),
                          queued=Count("rkey", filter=still & Q(queued_now=True), distinct=True),
                          first=Min("created_at"), last=Max("created_at"), last_id=Max("id"))
                .order_by("-last_id")[:limit])
    examples = dict(SyncLog.objects.filter(tenant=tenant, pk__in=[r["last_id"] for r in rows]).values_list("pk", "error_message"))
    groups = GroupList(ErrorGroup(r["connection_id"], r["connection__name"], r["error_code"], r["hint"], r["n"], r["records"],
                                  r["failing"], r["first"], r["last"], examples.get(r["last_id"], ""), r["queued"]) for r in rows)
    groups.capped = capped
    return groups


@dataclass(frozen=True)
class FailingRecord:
    connection_id: int
    record_type: str
    record_id: int


def failing_records(*, tenant: Tenant, filters: LogFilters | None = None, group: GroupKey | None = None,
                    limit: int | None = None) -> Iterator[FailingRecord]:
    """Each record whose push is still failing (see the module docstring) and that has a
    failed row matching the filters (and group), once, oldest failure first; at most `limit`."""
    qs = (failed_rows(tenant=tenant, filters=filters, group=group)
          .filter(direction=SyncDirection.PUSH, record_id__isnull=False).exclude(record_type="")
          .annotate(resolved=_resolved_later()).filter(resolved=False)
          .values("connection_id", "record_type", "record_id").annotate(first=Min("id")).order_by("first"))
    if limit is not None:
        qs = qs[:limit]
    for row in qs.iterator(chunk_size=1000):
        yield FailingRecord(row["connection_id"], row["record_type"], row["record_id"])


def open_outbox_keys(*, tenant: Tenant, records: list[FailingRecord]) -> set[tuple[int, str, int]]:
    """Which of these records already have a queued (pending or in-progress) push."""
    if not records:
        return set()
    ids = {r.record_id for r in records}
    rows = (OutboxEntry.objects.filter(tenant=tenant, record_id__in=ids, state__in=(OutboxState.PENDING, OutboxState.CLAIMED))
            .values_list("connection_id", "record_type", "record_id"))
    wanted = {(r.connection_id, r.record_type, r.record_id) for r in records}
    return {row for row in rows if row in wanted}


def retry_preview(*, tenant: Tenant, filters: LogFilters | None = None, group: GroupKey | None = None,
                  limit: int) -> tuple[int, int]:
    """(records Retry would queue, records already queued) — what the confirmation says.
    Reads at most `limit` failing records."""
    records = list(failing_records(tenant=tenant, filters=filters, group=group, limit=limit))
    queued = 0
    for start in range(0, len(records), 500):
        queued += len(open_outbox_keys(tenant=tenant, records=records[start:start + 500]))
    return len(records) - queued, queued

