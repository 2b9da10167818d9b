"""Activities logged to Salesforce: the seed's tasks (analysis completed, proposal generated,
deadline approaching, status changes batched per window), notes for comments (or for every
activity when the admin prefers notes), and proposal documents as files.

Every create is idempotent: tasks upsert by Cothon_Activity_Key__c, notes are looked up by
parent and title before a create, files by Cothon_File_Key__c (decisions.md)."""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from integrations.salesforce.errors import SalesforceError
from opportunities.models import BidAnalysis, Comment, Opportunity
from proposals.models import Proposal
from sync_engine.models import OutboxEntry, RecordType, SyncResult
from integrations.salesforce.soql import soql_quote
from sync_engine.push.context import PushContext
from sync_engine.push.writer import Item, write


@dataclass
class Activity:
    key: str
    opportunity: Opportunity
    subject: str
    description: str
    status: str = "Completed"
    priority: str = "Normal"
    due: datetime.date | None = None
    entry: OutboxEntry | None = None
    record_type: str = RecordType.OPPORTUNITY
    record_id: int = 0


def activity_allowed(settings: dict, opportunity: Opportunity) -> bool:
    """The admin's thresholds: by value, by stage (status) and by type (category)."""
    rules = settings.get("activity") or {}
    if rules.get("mode", "tasks") == "off":
        return False
    if rules.get("min_value") not in (None, ""):
        top = opportunity.value_max if opportunity.value_max is not None else opportunity.value_min
        if top is None or top < Decimal(str(rules["min_value"])):
            return False
    if rules.get("stages") and opportunity.status not in rules["stages"]:
        return False
    if rules.get("types") and opportunity.category not in rules["types"]:
        return False
    return True


def analysis_completed(analysis: BidAnalysis) -> Activity:
    findings = [line.strip() for line in (analysis.key_findings or "").splitlines() if line.strip()]
    lines = [f"Compliance Score: {analysis.compliance_score if analysis.compliance_score is not None else '—'}%",
             f"Status: {analysis.opportunity.get_status_display()}", "Key Findings:"]
    lines += [f"- {f}" for f in findings] or ["- (none recorded)"]
    if analysis.recommendation:
        lines.append(f"- Team recommendation: {analysis.recommendation}")
    completed = timezone.localdate(analysis.completed_at) if analysis.completed_at else timezone.localdate()
    return Activity(key=f"analysis-completed-{analysis.pk}", opportunity=analysis.opportunity,
                    subject="Cothon: Bid Analysis Completed", description="\n".join(lines), due=completed,
                    record_type=RecordType.ANALYSIS, record_id=analysis.pk)


def proposal_generated(proposal: Proposal, base_url: str) -> Activity:
    sections = ", ".join(s.title for s in proposal.sections.all())
    generated = timezone.localdate(proposal.generated_at) if proposal.generated_at else timezone.localdate()
    description = (f"Proposal generated for {proposal.opportunity.title}\nSections: {sections}\n"
                   f"Status: {proposal.get_status_display()}\nLink: {base_url}/opportunities/{proposal.opportunity_id}/#proposal-{proposal.pk}")
    return Activity(key=f"proposal-generated-{proposal.pk}", opportunity=proposal.opportunity,
                    subject="Cothon: Proposal Generated", description=description, due=generated,
                    record_type=RecordType.PROPOSAL, record_id=proposal.pk)


def deadline_approaching(opportunity: Opportunity, today: datetime.date) -> Activity:
    days = (opportunity.closing_date - today).days
    assignee = opportunity.assignee.get_full_name() or opportunity.assignee.username if opportunity.assignee else "Unassigned"
    proposal = opportunity.proposals.order_by("-created_at").first()
    current = f"Proposal {proposal.get_status_display()}" if proposal else opportunity.get_status_display()
    description = (f"{opportunity.title} closes in {days} day{'s' if days != 1 else ''}\nCurrent Status: {current}\n"
                   f"Assigned To: {assignee}\nAction Required: Complete proposal and submit")
    return Activity(key=f"deadline-{opportunity.pk}-{opportunity.closing_date.isoformat()}", opportunity=opportunity,
                    subject="Cothon: Submission Deadline Approaching", description=description, status="Not Started",
                    priority="High", due=opportunity.closing_date, record_id=opportunity.pk)


def status_changed(opportunity: Opportunity, window_minutes: int, at: datetime.datetime) -> Activity:
    """Several status changes within one batch window share one task (same key)."""
    window = max(1, window_minutes) * 60
    bucket = int(at.timestamp()) // window
    return Activity(key=f"status-{opportunity.pk}-{bucket}", opportunity=opportunity,
                    subject=f"Cothon: Status changed to {opportunity.get_status_display()}",
                    description=f"{opportunity.title}\nStatus: {opportunity.get_status_display()} (as of {timezone.localtime(at):%Y-%m-%d %H:%M %Z})",
                    due=timezone.localdate(at), record_id=opportunity.pk)


def push_activities(ctx: PushContext, activities: list[Activity], opportunity_ids: dict[int, str]) -> None:
    mode = (ctx.settings.get("activity") or {}).get("mode", "tasks")
    ready = []
    for activity in activities:
        parent = opportunity_ids.get(activity.opportunity.pk)
        if not parent or not activity_allowed(ctx.settings, activity.opportunity):
            continue
        ready.append((activity, parent))
    if not ready:
        return
    if mode == "notes":
        push_notes(ctx, [(a.key, a.subject, a.description, parent, a) for a, parent in ready])
        return
    items = []
    for activity, parent in ready:
        fields = {"Cothon_Activity_Key__c": activity.key, "Subject": activity.subject, "Description": activity.description,
                  "Status": activity.status, "Priority": activity.priority, "WhatId": parent,
                  "ActivityDate": activity.due.isoformat() if activity.due else None}
        owner = ctx.user_ids.get(activity.opportunity.assignee_id) if activity.opportunity.assignee_id else None
        if owner:
            fields["OwnerId"] = owner
        items.append(Item(record_type=activity.record_type, record_id=activity.record_id or activity.opportunity.pk,
                          label=activity.subject, fields=fields, external_id_field="Cothon_Activity_Key__c"))
    write(ctx, "Task", items)


def push_notes(ctx: PushContext, notes: list[tuple], ) -> None:
    """Notes have no custom fields: look each up by parent and title before creating it."""
    for key, title, body, parent, source in notes:
        title = title[:80]
        found = ctx.client.query(f"SELECT Id FROM Note WHERE ParentId = {soql_quote(parent)} AND Title = {soql_quote(title)} LIMIT 1")["records"]
        record_type = getattr(source, "record_type", RecordType.COMMENT)
        record_id = getattr(source, "record_id", 0) or getattr(source, "pk", 0)
        try:
            if found:
                ctx.client.rest("PATCH", f"sobjects/Note/{found[0]['Id']}", json={"Body": body})
                note_id, operation = found[0]["Id"], "update"
            else:
                note_id = ctx.client.rest("POST", "sobjects/Note", json={"ParentId": parent, "Title": title, "Body": body})["id"]
                operation = "create"
            ctx.log(entry=None, sobject="Note", operation=operation, result=SyncResult.SUCCESS, record_type=record_type,
                    record_id=record_id, label=title, salesforce_id=note_id)
        except SalesforceError as exc:
            ctx.log(entry=None, sobject="Note", operation="create", result=SyncResult.FAILED, record_type=record_type,
                    record_id=record_id, label=title, error=exc)
            if exc.retryable or exc.kind.value in ("quota", "auth"):
                raise


def push_comments(ctx: PushContext, comments: list[Comment], entries: dict[int, list[OutboxEntry]], opportunity_ids: dict[int, str]) -> None:
    notes = []
    for comment in comments:
        parent = opportunity_ids.get(comment.opportunity_id)
        if not parent:
            for entry in entries.get(comment.pk, []):
                ctx.outcome(entry).retry = True
            continue
        author = comment.author.get_full_name() or comment.author.username if comment.author else "someone"
        title = f"Cothon comment #{comment.pk} by {author}"
        notes.append((f"comment-{comment.pk}", title, comment.body, parent, comment))
        for entry in entries.get(comment.pk, []):
            ctx.outcome(entry).done = True
    push_notes(ctx, notes)


def push_proposal_file(ctx: PushContext, proposal: Proposal, parent: str) -> None:
    """Attach the generated document: ContentVersion linked at creation (FirstPublishLocationId),
    looked up by Cothon_File_Key__c first because file data cannot be updated or upserted."""
    if not proposal.document:
        return
    stamp = int(proposal.generated_at.timestamp()) if proposal.generated_at else 0
    key = f"proposal-{proposal.pk}-{stamp}"
    existing = ctx.client.query(f"SELECT Id FROM ContentVersion WHERE Cothon_File_Key__c = {soql_quote(key)} LIMIT 1")["records"]
    if existing:
        return
    with proposal.document.open("rb") as handle:
        data = base64.b64encode(handle.read()).decode()
    name = proposal.document.name.rsplit("/", 1)[-1]
    result = ctx.client.rest("POST", "sobjects/ContentVersion", json={
        "Title": proposal.title, "PathOnClient": name, "VersionData": data, "FirstPublishLocationId": parent,
        "Cothon_File_Key__c": key,
    })
    ctx.log(entry=None, sobject="ContentVersion", operation="create", result=SyncResult.SUCCESS, record_type=RecordType.PROPOSAL,
            record_id=proposal.pk, label=name, salesforce_id=result.get("id", ""))
