"""Activities logged on the opportunity in Salesforce: the seed's Tasks (analysis completed,
proposal generated, proposal submitted, deadline approaching, status changes batched per
window). Each has a stable key (Cothon_Activity_Key__c), so writing it twice never duplicates.

Dates follow the tenant's time zone: "closes in 2 days" is counted from the tenant's today."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from integrations.settings_schema import ActivitySettings
from opportunities.models import BidAnalysis, Opportunity
from proposals.models import Proposal
from sync_engine.vocabulary import RecordType

KEY_FIELD = "Cothon_Activity_Key__c"


@dataclass
class Activity:
    key: str
    opportunity: Opportunity
    subject: str
    description: str
    status: str = "Completed"
    priority: str = "Normal"
    due: datetime.date | None = None
    record_type: str = RecordType.OPPORTUNITY  # the Cothon record that triggered it
    record_id: int = 0


def activity_allowed(rules: ActivitySettings, opportunity: Opportunity) -> bool:
    """The admin's thresholds: by value, by stage (status) and by type (category)."""
    if rules.mode == "off":
        return False
    if rules.min_value is not None:
        top = opportunity.value_max if opportunity.value_max is not None else opportunity.value_min
        if top is None or top < rules.min_value:
            return False
    if rules.stages and opportunity.status not in rules.stages:
        return False
    if rules.types and opportunity.category not in rules.types:
        return False
    return True


def _local_date(at: datetime.datetime | None, zone: ZoneInfo) -> datetime.date:
    return (at or datetime.datetime.now(datetime.timezone.utc)).astimezone(zone).date()


def analysis_completed(analysis: BidAnalysis, zone: ZoneInfo) -> Activity:
    findings = [line.strip() for line in (analysis.key_findings or "").splitlines() if line.strip()]
    lines = [f"Compliance Score: {analysis.compliance_score if analysis.compliance_score is not None else '—'}%",
             f"Status: {analysis.opportunity.get_status_display()}", "Key Findings:"]
    lines += [f"- {f}" for f in findings] or ["- (none recorded)"]
    if analysis.recommendation:
        lines.append(f"- Team recommendation: {analysis.recommendation}")
    return Activity(key=f"analysis-completed-{analysis.pk}", opportunity=analysis.opportunity,
                    subject="Cothon: Bid Analysis Completed", description="\n".join(lines),
                    due=_local_date(analysis.completed_at, zone), record_type=RecordType.ANALYSIS, record_id=analysis.pk)


def proposal_generated(proposal: Proposal, base_url: str, zone: ZoneInfo) -> Activity:
    sections = ", ".join(s.title for s in proposal.sections.all())
    description = (f"Proposal generated for {proposal.opportunity.title}\nSections: {sections}\n"
                   f"Status: {proposal.get_status_display()}\nLink: {base_url}/opportunities/{proposal.opportunity_id}/#proposal-{proposal.pk}")
    return Activity(key=f"proposal-generated-{proposal.pk}", opportunity=proposal.opportunity,
                    subject="Cothon: Proposal Generated", description=description,
                    due=_local_date(proposal.generated_at, zone), record_type=RecordType.PROPOSAL, record_id=proposal.pk)


def proposal_submitted(opportunity: Opportunity, at: datetime.datetime, zone: ZoneInfo, *, proposal: Proposal | None = None,
                       base_url: str = "") -> Activity:
    """One completed Task per opportunity (the key has no proposal id): marking the proposal
    submitted and moving the opportunity to Submitted log the same submission once."""
    name = f"“{proposal.title}”" if proposal is not None else "The proposal"
    description = (f"{name} for {opportunity.title} was submitted.\n"
                   f"Submitted on: {at.astimezone(zone):%Y-%m-%d %H:%M %Z}\n"
                   f"Link: {base_url}/opportunities/{opportunity.pk}/")
    return Activity(key=f"submitted-{opportunity.pk}", opportunity=opportunity, subject="Cothon: Proposal submitted",
                    description=description, due=_local_date(at, zone),
                    record_type=RecordType.PROPOSAL if proposal is not None else RecordType.OPPORTUNITY,
                    record_id=proposal.pk if proposal is not None else opportunity.pk)


def days_until(closing: datetime.date, now: datetime.datetime, zone: ZoneInfo) -> int:
    """Whole days from the tenant's today to the closing date (not UTC's today)."""
    return (closing - now.astimezone(zone).date()).days


def deadline_approaching(opportunity: Opportunity, now: datetime.datetime, zone: ZoneInfo) -> Activity:
    days = days_until(opportunity.closing_date, now, zone)
    assignee = opportunity.assignee.get_full_name() or opportunity.assignee.username if opportunity.assignee else "Unassigned"
    proposal = opportunity.proposals.order_by("-created_at").first()
    current = f"Proposal {proposal.get_status_display()}" if proposal else opportunity.get_status_display()
    description = (f"{opportunity.title} closes in {days} day{'s' if days != 1 else ''}\nCurrent Status: {current}\n"
                   f"Assigned To: {assignee}\nAction Required: Complete proposal and submit")
    return Activity(key=f"deadline-{opportunity.pk}-{opportunity.closing_date.isoformat()}", opportunity=opportunity,
                    subject="Cothon: Submission Deadline Approaching", description=description, status="Not Started",
                    priority="High", due=opportunity.closing_date, record_id=opportunity.pk)


def status_changed(opportunity: Opportunity, window_minutes: int, at: datetime.datetime, zone: ZoneInfo) -> Activity:
    """Several status changes within one batch window share one task (same key)."""
    window = max(1, window_minutes) * 60
    bucket = int(at.timestamp()) // window
    return Activity(key=f"status-{opportunity.pk}-{bucket}", opportunity=opportunity,
                    subject=f"Cothon: Status changed to {opportunity.get_status_display()}",
                    description=f"{opportunity.title}\nStatus: {opportunity.get_status_display()} (as of {at.astimezone(zone):%Y-%m-%d %H:%M %Z})",
                    due=_local_date(at, zone), record_id=opportunity.pk)


def to_salesforce(activity: Activity, *, parent_id: str, owner_id: str | None = None) -> dict:
    """The Task, upserted by Cothon_Activity_Key__c."""
    fields = {KEY_FIELD: activity.key, "Subject": activity.subject, "Description": activity.description,
              "Status": activity.status, "Priority": activity.priority, "WhatId": parent_id,
              "ActivityDate": activity.due.isoformat() if activity.due else None}
    if owner_id:
        fields["OwnerId"] = owner_id
    return fields
