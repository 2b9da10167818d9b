"""Opportunities, their completed analyses and the analyses' requirements."""

from __future__ import annotations

from integrations.mapping.payloads import MappingContext, opportunity_write
from integrations.salesforce.errors import SalesforceError
from opportunities.models import BidAnalysis, BidAnalysisStatus, Opportunity, Requirement
from sync_engine.links import links_for
from sync_engine.models import MatchedBy, OutboxEntry, RecordType, SyncResult
from integrations.salesforce.soql import soql_quote
from sync_engine.push.context import PushContext
from sync_engine.push.writer import Item, settle, write

ANALYSIS_STATUS = {"in_progress": "In Progress", "completed": "Complete"}
RECOMMENDATIONS = {"pursue": "Pursue", "pass": "Pass", "review": "Review Needed"}
REQUIREMENT_TYPE = {"mandatory": "Mandatory", "rated": "Rated"}
CAPABILITY = {"met": "Met", "partial": "Partial", "not_met": "Not Met", "unknown": "Unknown"}


def push_opportunities(ctx: PushContext, opportunities: list[Opportunity], entries: dict[int, list[OutboxEntry]]) -> dict[int, str]:
    """Returns {opportunity id: Salesforce Id} for the ones now in Salesforce."""
    sobject = ctx.settings.get("objects", {}).get("opportunity", "Opportunity")
    mapping = MappingContext(settings=ctx.settings, describe_fields=ctx.describe_fields, user_ids=ctx.user_ids, base_url=ctx.base_url)
    links = links_for(connection_id=ctx.connection.pk, record_type=RecordType.OPPORTUNITY, record_ids=[o.pk for o in opportunities], sobject=sobject)
    items, fallback = [], []
    for opportunity in opportunities:
        planned = opportunity_write(opportunity, mapping)
        if planned.operation == "skip":
            for entry in entries.get(opportunity.pk, []):
                ctx.outcome(entry).done = True
            ctx.log(entry=(entries.get(opportunity.pk) or [None])[0], sobject=sobject, operation="skip", result=SyncResult.SKIPPED,
                    record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk, label=opportunity.title,
                    error=SalesforceError("FILTERED", "; ".join(planned.notes)))
            continue
        fields = dict(planned.fields)
        account = fields.pop("AccountId", None)
        if isinstance(account, dict):
            account_id = ctx.account_ids.get(opportunity.department_id)
            if account_id:
                fields["AccountId"] = account_id
        link = links.get(opportunity.pk)
        item = Item(record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk, label=opportunity.title, fields=fields,
                    entries=entries.get(opportunity.pk, []), external_id_field=planned.external_id_field,
                    salesforce_id=link.salesforce_id if link else "")
        if not item.salesforce_id and not item.external_id_field:
            fallback.append((opportunity, item))
        items.append(item)
    _match_by_title_and_date(ctx, sobject, fallback)
    write(ctx, sobject, items)
    settle(ctx, sobject, items)
    return {item.record_id: item.result_id for item in items if item.result_id}


def _match_by_title_and_date(ctx: PushContext, sobject: str, pairs: list[tuple[Opportunity, Item]]) -> None:
    """The seed's fallback when there is no reference: exact Name + CloseDate."""
    for opportunity, item in pairs:
        name = item.fields.get("Name", opportunity.title)
        close = item.fields.get("CloseDate")
        where = f"Name = {soql_quote(name)}" + (f" AND CloseDate = {close}" if close else " AND CloseDate = null")
        records = ctx.client.query(f"SELECT Id FROM {sobject} WHERE {where} LIMIT 1")["records"]
        if records:
            item.salesforce_id = records[0]["Id"]
            item.matched_by = MatchedBy.TITLE_DATE


def push_analyses(ctx: PushContext, analyses: list[BidAnalysis], entries: dict[int, list[OutboxEntry]], opportunity_ids: dict[int, str]) -> dict[int, str]:
    sobject = ctx.settings.get("objects", {}).get("analysis", "Cothon_Analysis__c")
    links = links_for(connection_id=ctx.connection.pk, record_type=RecordType.ANALYSIS, record_ids=[a.pk for a in analyses], sobject=sobject)
    items = []
    for analysis in analyses:
        parent = opportunity_ids.get(analysis.opportunity_id)
        if analysis.status != BidAnalysisStatus.COMPLETED or not parent:
            for entry in entries.get(analysis.pk, []):
                # Not completed yet (nothing to send) or the opportunity is not in Salesforce yet
                # (it failed or is filtered out): retried when the opportunity syncs.
                outcome = ctx.outcome(entry)
                outcome.done = analysis.status != BidAnalysisStatus.COMPLETED
                outcome.retry = not outcome.done
            continue
        met = sum(1 for r in analysis.requirements.all() if r.capability_match == "met")
        fields = {
            "Name": f"Analysis — {analysis.opportunity.reference or analysis.opportunity.title}"[:80],
            "Cothon_Key__c": f"analysis-{analysis.pk}",
            "Cothon_Opportunity__c": parent,
            "Cothon_Compliance__c": analysis.compliance_score,
            "Cothon_Status__c": ANALYSIS_STATUS.get(analysis.status, "In Progress"),
            "Cothon_Summary__c": analysis.summary or None,
            "Cothon_Risks__c": analysis.risks or None,
            "Cothon_Opportunities__c": analysis.key_findings or None,
            "Cothon_Requirements_Total__c": len(analysis.requirements.all()),
            "Cothon_Requirements_Met__c": met,
            "Cothon_Analyzed_At__c": analysis.completed_at.isoformat(timespec="milliseconds") if analysis.completed_at else None,
        }
        recommendation = RECOMMENDATIONS.get((analysis.recommendation or "").split(" ")[0].lower())
        if recommendation:
            fields["Cothon_Recommendation__c"] = recommendation
        link = links.get(analysis.pk)
        items.append(Item(record_type=RecordType.ANALYSIS, record_id=analysis.pk, label=fields["Name"], fields=fields,
                          entries=entries.get(analysis.pk, []), external_id_field="Cothon_Key__c",
                          salesforce_id=link.salesforce_id if link else ""))
    write(ctx, sobject, items)
    settle(ctx, sobject, items, matched_by=MatchedBy.EXTERNAL_ID)
    return {item.record_id: item.result_id for item in items if item.result_id}


def push_requirements(ctx: PushContext, requirements: list[Requirement], entries: dict[int, list[OutboxEntry]], analysis_ids: dict[int, str]) -> None:
    sobject = ctx.settings.get("objects", {}).get("requirement", "Cothon_Requirement__c")
    links = links_for(connection_id=ctx.connection.pk, record_type=RecordType.REQUIREMENT, record_ids=[r.pk for r in requirements], sobject=sobject)
    items = []
    for position, requirement in enumerate(requirements):
        parent = analysis_ids.get(requirement.analysis_id)
        if not parent:
            for entry in entries.get(requirement.pk, []):
                ctx.outcome(entry).retry = True
            continue
        link = links.get(requirement.pk)
        fields = {
            "Cothon_Key__c": f"requirement-{requirement.pk}",
            "Cothon_Type__c": REQUIREMENT_TYPE[requirement.kind],
            "Cothon_Capability_Match__c": CAPABILITY.get(requirement.capability_match, "Unknown"),
            "Cothon_Text__c": requirement.text,
            "Cothon_Section__c": requirement.code or None,
            "Cothon_Points__c": float(requirement.weight) if requirement.weight is not None else None,
        }
        if not link:
            # Master-detail: the parent is set at creation and cannot be re-parented by update.
            fields["Cothon_Analysis__c"] = parent
        items.append(Item(record_type=RecordType.REQUIREMENT, record_id=requirement.pk, label=(requirement.code or requirement.text)[:80],
                          fields=fields, entries=entries.get(requirement.pk, []), external_id_field="Cothon_Key__c",
                          salesforce_id=link.salesforce_id if link else ""))
    write(ctx, sobject, items)
    settle(ctx, sobject, items)
