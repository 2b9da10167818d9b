"""The handler registry: which record types the push knows, in parent-before-child order, and
the loop that pushes one batch through them (see base.py for the interface).

To add a record type (a quote, an appointment): write a Handler subclass in this package
(query / push / optional activities, payloads in integrations/mapping/<type>.py) and add it to
HANDLERS after its parents."""

from __future__ import annotations

import logging

from integrations.salesforce.errors import ErrorKind, SalesforceError
from sync_engine.handlers.analysis import AnalysisHandler
from sync_engine.handlers.base import Batch, Handler, orphan_error
from sync_engine.handlers.comment import CommentHandler
from sync_engine.handlers.contact import ContactHandler
from sync_engine.handlers.department import DepartmentHandler
from sync_engine.handlers.opportunity import OpportunityHandler
from sync_engine.handlers.proposal import ProposalHandler
from sync_engine.handlers.requirement import RequirementHandler
from sync_engine.links import skipped_records
from sync_engine.models import OutboxEntry, SyncResult
from sync_engine.push import activities
from sync_engine.push.context import PushContext
from sync_engine.vocabulary import RecordType

logger = logging.getLogger(__name__)

# Parent before child: Accounts → (contacts: not pushed) → opportunities → analyses → requirements → notes, files.
HANDLERS: dict[str, Handler] = {handler.record_type: handler for handler in (
    DepartmentHandler(), ContactHandler(), OpportunityHandler(), AnalysisHandler(), RequirementHandler(), CommentHandler(), ProposalHandler(),
)}
UNSUPPORTED = "UNSUPPORTED_RECORD_TYPE"


def handler_for(record_type: str) -> Handler | None:
    return HANDLERS.get(record_type)


def push_records(ctx: PushContext, entries: list[OutboxEntry]) -> None:
    """Push one claimed batch: load, push in order, then the activities the records trigger.
    Every row ends settled (done, failed or retry) unless a call-level error aborts the batch."""
    batch = Batch.of(ctx, entries)
    _settle_skipped(batch)
    _fail_unknown(batch)
    for record_type, handler in HANDLERS.items():
        batch.records[record_type] = handler.load(batch, list(batch.entries.get(record_type, {})))
        if handler.triggers_activities:
            # Not settled until its Tasks are written: an abort before then must not lose one.
            for rows in batch.entries.get(record_type, {}).values():
                for entry in rows:
                    ctx.outcome(entry).followup_pending = True
    for record_type, handler in HANDLERS.items():
        handler.push(batch, batch.records[record_type])
    planned = [a for record_type, handler in HANDLERS.items() for a in handler.activities(batch, batch.records[record_type])]
    planned = _drop_orphan_activities(batch, planned)
    if planned:
        opportunity_ids = batch.parent_ids(RecordType.OPPORTUNITY, {a.opportunity.pk for a in planned},
                                           ctx.settings.objects.opportunity)
        activities.push_activities(ctx, planned, opportunity_ids)
    for entry in entries:
        outcome = ctx.outcome(entry)
        outcome.followup_pending = False
        if not (outcome.done or outcome.failed or outcome.retry):
            outcome.done = True  # its handler had nothing to send (e.g. nothing changed that Salesforce holds)


def _drop_orphan_activities(batch: Batch, planned: list) -> list:
    """Tasks (or Notes) of an opportunity skipped in this connection or deleted in Salesforce
    are not sent: a "skipped" log row each says why (they would fail against the missing
    parent). The records that trigger them are queued again when the opportunity is unskipped,
    re-linked or re-created."""
    if not planned:
        return planned
    blocked = batch.opportunities_without_partner({a.opportunity.pk for a in planned})
    if not blocked:
        return planned
    for activity in [a for a in planned if a.opportunity.pk in blocked]:
        batch.ctx.log(entry=None, sobject="Task", operation="skip", result=SyncResult.SKIPPED, record_type=activity.record_type,
                      record_id=activity.record_id or activity.opportunity.pk, label=activity.subject,
                      error=orphan_error(blocked[activity.opportunity.pk]))
    return [a for a in planned if a.opportunity.pk not in blocked]


def _settle_skipped(batch: Batch) -> None:
    """Rows of records someone skipped in this connection are done without a call, each with a
    "skipped" log row saying who skipped it, and leave the batch. One query per batch."""
    ctx = batch.ctx
    keys = [(record_type, record_id) for record_type, by_id in batch.entries.items() for record_id in by_id]
    for (record_type, record_id), link in skipped_records(connection_id=ctx.connection.pk, keys=keys).items():
        rows = batch.entries[record_type].pop(record_id)
        for entry in rows:
            ctx.outcome(entry).done = True
        who = link.skipped_by.get_username() if link.skipped_by_id else "someone"
        when = f" on {link.skipped_at:%Y-%m-%d}" if link.skipped_at else ""
        ctx.log(entry=rows[0], sobject=link.sobject, operation="skip", result=SyncResult.SKIPPED, record_type=record_type,
                record_id=record_id, label=f"{record_type} #{record_id}", salesforce_id=link.salesforce_id,
                message=f"Not sent: skipped in this connection by {who}{when}.")


def _fail_unknown(batch: Batch) -> None:
    """Rows of a record type no handler pushes (quotes and appointments today, or garbage) fail
    visibly, with a log row each — never silently done."""
    ctx = batch.ctx
    for record_type, by_id in batch.entries.items():
        if record_type in HANDLERS:
            continue
        known = record_type in RecordType.values
        message = (f"Cothon does not send {RecordType(record_type).label.lower()} records to Salesforce yet."
                   if known else f"Unknown record type “{record_type[:40]}”: nothing in Cothon sends it to Salesforce.")
        logger.warning("push: %s row(s) of record type %r have no handler", sum(len(r) for r in by_id.values()), record_type)
        error = SalesforceError(UNSUPPORTED, message, kind=ErrorKind.PERMANENT)
        for record_id, rows in by_id.items():
            for entry in rows:
                ctx.outcome(entry).failed = True
            ctx.log(entry=rows[0], sobject="", operation="push", result=SyncResult.FAILED, record_type=record_type[:20],
                    record_id=record_id, label=f"{record_type} #{record_id}"[:255], error=error)
