"""Writers for what hangs off a record in Salesforce: Tasks (upserted by
Cothon_Activity_Key__c), Notes (looked up by parent and title before a create: Notes have no
custom fields) and files (ContentVersion, looked up by Cothon_File_Key__c: file data cannot be
updated or upserted). Payloads come from integrations/mapping/activity.py, note.py, file.py."""

from __future__ import annotations

from dataclasses import dataclass

from integrations.mapping import activity as activity_mapping, file as file_mapping, note as note_mapping
from integrations.mapping.common import field_length
from integrations.salesforce.errors import ErrorKind, SalesforceError
from integrations.salesforce.soql import soql_quote
from proposals.models import Proposal
from sync_engine.models import SyncResult
from sync_engine.push.context import PushContext
from sync_engine.push.writer import Item, refuse, write
from sync_engine.vocabulary import RecordType


@dataclass
class NoteSource:
    """Which Cothon record a Note is logged against."""

    record_type: str
    record_id: int


def push_activities(ctx: PushContext, activities: list[activity_mapping.Activity], opportunity_ids: dict[int, str]) -> None:
    """Tasks (or Notes, when the admin prefers notes) on each activity's opportunity. An
    activity whose opportunity is not in Salesforce, or below the admin's thresholds, is not sent."""
    mode = ctx.settings.activity.mode
    ready = [(a, opportunity_ids[a.opportunity.pk]) for a in activities
             if opportunity_ids.get(a.opportunity.pk) and activity_allowed(ctx, a)]
    if not ready:
        return
    if mode == "notes":
        push_notes(ctx, [(a.subject, a.description, parent, NoteSource(a.record_type, a.record_id or a.opportunity.pk))
                         for a, parent in ready])
        return
    limit = field_length(ctx.describe("Task"), "Description", default=32_000)
    items = []
    for activity, parent in ready:
        owner = ctx.user_ids.get(activity.opportunity.assignee_id) if activity.opportunity.assignee_id else None
        item = Item(record_type=activity.record_type, record_id=activity.record_id or activity.opportunity.pk, label=activity.subject,
                    fields=activity_mapping.to_salesforce(activity, parent_id=parent, owner_id=owner),
                    external_id_field=activity_mapping.KEY_FIELD)
        if limit and len(activity.description) > limit:
            refuse(ctx, "Task", item, [("Description", f"The Task's description is {len(activity.description):,} characters; "
                                                      f"Salesforce holds {limit:,}. The Task is not sent rather than cut.")])
        items.append(item)
    write(ctx, "Task", items)


def activity_allowed(ctx: PushContext, activity: activity_mapping.Activity) -> bool:
    return activity_mapping.activity_allowed(ctx.settings.activity, activity.opportunity)


def push_notes(ctx: PushContext, notes: list[tuple[str, str, str, NoteSource]]) -> None:
    """(title, body, parent Id, source) each; a body longer than Note.Body is split into
    numbered Notes "(1/3)" …, logged as such."""
    limit = field_length(ctx.describe("Note"), "Body", default=note_mapping.BODY_LENGTH)
    for title, body, parent, source in notes:
        parts = note_mapping.to_salesforce(title, body, body_length=limit)
        for part in parts:
            _write_note(ctx, part, parent, source, split=len(parts))


def _write_note(ctx: PushContext, part: note_mapping.NotePart, parent: str, source: NoteSource, *, split: int) -> None:
    label = part.title
    try:
        found = ctx.client.query(f"SELECT Id FROM Note WHERE ParentId = {soql_quote(parent)} AND Title = {soql_quote(part.title)} LIMIT 1")["records"]
        if found:
            ctx.client.rest("PATCH", f"sobjects/Note/{found[0]['Id']}", json={"Body": part.body})
            note_id, operation = found[0]["Id"], "update"
        else:
            note_id = ctx.client.rest("POST", "sobjects/Note", json={"ParentId": parent, "Title": part.title, "Body": part.body})["id"]
            operation = "create"
        # A split says so on every part's log row: which part, and why.
        message = (f"Longer than a Note's body: sent as {split} Notes, numbered in the title." if split > 1 else "")
        ctx.log(entry=None, sobject="Note", operation=operation, result=SyncResult.SUCCESS, record_type=source.record_type,
                record_id=source.record_id, label=label, salesforce_id=note_id, message=message)
    except SalesforceError as exc:
        ctx.log(entry=None, sobject="Note", operation="create", result=SyncResult.FAILED, record_type=source.record_type,
                record_id=source.record_id, label=label, error=exc)
        if exc.retryable or exc.kind in (ErrorKind.QUOTA, ErrorKind.AUTH):
            raise


def push_proposal_file(ctx: PushContext, proposal: Proposal, parent: str) -> None:
    """Attach the generated document once per generation."""
    if not proposal.document:
        return
    key = file_mapping.file_key(proposal)
    existing = ctx.client.query(f"SELECT Id FROM ContentVersion WHERE {file_mapping.KEY_FIELD} = {soql_quote(key)} LIMIT 1")["records"]
    if existing:
        return
    with proposal.document.open("rb") as handle:
        data = handle.read()
    result = ctx.client.rest("POST", "sobjects/ContentVersion", json=file_mapping.to_salesforce(proposal, parent_id=parent, data=data))
    ctx.log(entry=None, sobject="ContentVersion", operation="create", result=SyncResult.SUCCESS, record_type=RecordType.PROPOSAL,
            record_id=proposal.pk, label=file_mapping.file_name(proposal), salesforce_id=result.get("id", ""))
