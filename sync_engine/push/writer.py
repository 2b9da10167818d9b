"""Write a list of records of one sObject in as few calls as possible.

Linked records (we know their Salesforce Id) are updated by Id — so a record deleted in
Salesforce answers ENTITY_IS_DELETED instead of being silently re-created. Unlinked records are
upserted by external id, so a retry after a crash finds the record it created and never
duplicates it. Both go through sObject Collections, 200 records a call, per-record results: a
failed record never blocks the rest of its batch."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from integrations.mapping.common import TOO_LONG
from integrations.salesforce.errors import ErrorKind, SalesforceError
from sync_engine.models import LinkStatus, MatchedBy, OutboxEntry, SyncResult
from sync_engine.push.context import PushContext

CHUNK = 200


@dataclass
class Item:
    record_type: str
    record_id: int
    label: str
    fields: dict[str, Any]
    entries: list[OutboxEntry] = field(default_factory=list)
    external_id_field: str | None = None
    salesforce_id: str = ""  # known link
    result_id: str = ""
    error: SalesforceError | None = None
    matched_by: str = ""  # set when found by a lookup (e.g. title + close date) before writing
    # Sent with the write but not the record's values (the attempt's push token): never part of
    # the link's base or pushed hash.
    stamp: dict[str, Any] = field(default_factory=dict)


class BatchAborted(Exception):
    """A call-level error (quota, auth, outage) stops the batch; entries go back to the queue."""

    def __init__(self, error: SalesforceError) -> None:
        super().__init__(str(error))
        self.error = error


def _record_error(item: dict) -> SalesforceError:
    errors = item.get("errors") or [{}]
    first = errors[0]
    return SalesforceError(first.get("statusCode", "UNKNOWN"), first.get("message", ""), fields=first.get("fields") or [])


def refuse(ctx: PushContext, sobject: str, item: Item, errors: list[tuple[str, str]]) -> None:
    """A payload Salesforce would refuse or we would have to cut (VALUE_TOO_LONG): the record
    is not sent; it fails with the reason, logged like any per-record error."""
    item.error = SalesforceError(TOO_LONG, " ".join(message for _, message in errors), fields=[name for name, _ in errors])
    ctx.log(entry=item.entries[0] if item.entries else None, sobject=sobject, operation="refuse", result=SyncResult.FAILED,
            record_type=item.record_type, record_id=item.record_id, label=item.label, salesforce_id=item.salesforce_id,
            error=item.error)


def write(ctx: PushContext, sobject: str, items: list[Item], *, then: Callable[[list[Item]], None] | None = None) -> None:
    """Send the items; fill result_id / error on each; log every attempt. Items that already
    carry an error (refused before sending) are not sent.

    `then` (usually `settle`) receives every item exactly once, as soon as its result is known:
    a Bulk job's items when that job is done — so its links are written while Salesforce runs
    the next job — and everything else at the end. Items of a call-level error (BatchAborted)
    are not passed on: they go back to the queue."""
    refused = [i for i in items if i.error is not None]
    items = [i for i in items if i.error is None]
    linked = [i for i in items if i.salesforce_id]
    upserts = [i for i in items if not i.salesforce_id and i.external_id_field]
    creates = [i for i in items if not i.salesforce_id and not i.external_id_field]
    if ctx.bulk_threshold and len(linked) + len(upserts) >= ctx.bulk_threshold:
        from sync_engine.push.bulk import bulk_write

        try:
            if linked:
                bulk_write(ctx, sobject, linked, operation="update", key_field="Id", then=then)
            for ext_field in sorted({i.external_id_field for i in upserts}):
                bulk_write(ctx, sobject, [i for i in upserts if i.external_id_field == ext_field], operation="upsert",
                           key_field=ext_field, then=then)
        except SalesforceError as exc:
            for item in linked + upserts:
                if not item.result_id:
                    item.error = item.error or exc
            raise BatchAborted(exc) from exc
        linked, upserts = [], []
    for start in range(0, len(linked), CHUNK):
        chunk = linked[start:start + CHUNK]
        records = [{"attributes": {"type": sobject}, "Id": i.salesforce_id, **sent_fields(i)} for i in chunk]
        _apply(ctx, sobject, chunk, "update", lambda: ctx.client.collections_update(records))
    by_field: dict[str, list[Item]] = {}
    for item in upserts:
        by_field.setdefault(item.external_id_field, []).append(item)
    for ext_field, group in by_field.items():
        for start in range(0, len(group), CHUNK):
            chunk = group[start:start + CHUNK]
            records = [sent_fields(i) for i in chunk]
            _apply(ctx, sobject, chunk, "upsert", lambda: ctx.client.collections_upsert(sobject, ext_field, records))
    for start in range(0, len(creates), CHUNK):
        chunk = creates[start:start + CHUNK]
        records = [{"attributes": {"type": sobject}, **sent_fields(i)} for i in chunk]
        _apply(ctx, sobject, chunk, "create", lambda: ctx.client.collections_create(records))
    if then is not None:
        then(refused + linked + upserts + creates)
    ctx.landed_at = time.monotonic()


def write_and_settle(ctx: PushContext, sobject: str, items: list[Item], *, matched_by: str = MatchedBy.EXTERNAL_ID) -> None:
    """`write`, each result settled on its link and outbox rows as soon as it is known."""
    write(ctx, sobject, items, then=lambda done: settle(ctx, sobject, done, matched_by=matched_by))


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if not k.startswith("@")}


def sent_fields(item: Item) -> dict[str, Any]:
    """What goes to Salesforce for the item: its fields (not the "@" notes) and its stamp."""
    return {**_plain(item.fields), **item.stamp} if item.stamp else _plain(item.fields)


def _apply(ctx: PushContext, sobject: str, chunk: list[Item], operation: str, call) -> None:
    started = time.monotonic()
    calls_before = ctx.calls
    try:
        results = call()
    except SalesforceError as exc:
        if exc.kind in (ErrorKind.QUOTA, ErrorKind.AUTH) or exc.kind is ErrorKind.RETRYABLE:
            for item in chunk:
                item.error = exc
            raise BatchAborted(exc) from exc
        # A malformed request (400 for the whole call) fails each record with the reason.
        results = [{"success": False, "errors": [{"statusCode": exc.code, "message": exc.message, "fields": exc.fields}]}] * len(chunk)
    duration = int((time.monotonic() - started) * 1000 / max(1, len(chunk)))
    calls = ctx.calls - calls_before
    for index, (item, result) in enumerate(zip(chunk, results)):
        if result.get("success"):
            item.result_id = result.get("id", item.salesforce_id)
            ctx.log(entry=item.entries[0] if item.entries else None, sobject=sobject, operation=operation,
                    result=SyncResult.SUCCESS, record_type=item.record_type, record_id=item.record_id, label=item.label,
                    salesforce_id=item.result_id, api_calls=calls if index == 0 else 0, duration_ms=duration)
        else:
            item.error = _record_error(result)
            retry = item.error.kind is ErrorKind.RETRYABLE
            ctx.log(entry=item.entries[0] if item.entries else None, sobject=sobject, operation=operation,
                    result=SyncResult.RETRYING if retry else SyncResult.FAILED, record_type=item.record_type,
                    record_id=item.record_id, label=item.label, salesforce_id=item.salesforce_id, error=item.error,
                    api_calls=calls if index == 0 else 0, duration_ms=duration)


def settle(ctx: PushContext, sobject: str, items: list[Item], *, matched_by: str = MatchedBy.EXTERNAL_ID) -> None:
    """Record each item's result on its link and outbox entries (a few queries per batch)."""
    from sync_engine.links import links_record_results

    successes, failures = [], []
    for item in items:
        if item.result_id and item.error is None:
            successes.append((item.record_type, item.record_id, item.result_id, item.fields,
                              item.matched_by or ("" if item.salesforce_id else matched_by)))
            for entry in item.entries:
                ctx.outcome(entry).done = True
        elif item.error is not None:
            if item.error.kind is ErrorKind.RETRYABLE:
                for entry in item.entries:
                    ctx.outcome(entry).retry = True
                continue
            deleted = item.error.code == "ENTITY_IS_DELETED"
            failures.append((item.record_type, item.record_id, item.error,
                             LinkStatus.DELETED_IN_SALESFORCE if deleted else LinkStatus.FAILED))
            for entry in item.entries:
                ctx.outcome(entry).failed = True
    links_record_results(tenant_id=ctx.connection.tenant_id, connection_id=ctx.connection.pk, sobject=sobject,
                         successes=successes, failures=failures)
