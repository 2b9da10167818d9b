"""Bid analysis → the configured analysis object (`Cothon_Analysis__c` by default), a child of
the opportunity object. Only a completed analysis is sent."""

from __future__ import annotations

from integrations.mapping.common import PlannedWrite, check_lengths, only_described, parent_field
from opportunities.models import BidAnalysis, BidAnalysisStatus

KEY_FIELD = "Cothon_Key__c"
PARENT_FIELD = "Cothon_Opportunity__c"
STATUS = {"in_progress": "In Progress", "completed": "Complete"}
RECOMMENDATIONS = {"pursue": "Pursue", "pass": "Pass", "review": "Review Needed"}


def ready(analysis: BidAnalysis) -> bool:
    return analysis.status == BidAnalysisStatus.COMPLETED


def external_key(analysis: BidAnalysis) -> str:
    return f"analysis-{analysis.pk}"


def to_salesforce(analysis: BidAnalysis, *, sobject: str, parent_sobject: str, parent_id: str | None,
                  describe_fields: dict[str, dict] | None = None) -> PlannedWrite:
    """`parent_id` is the opportunity's Salesforce Id (None in a preview before the first
    sync: the lookup is shown as a reference to the opportunity)."""
    requirements = list(analysis.requirements.all())
    opportunity = analysis.opportunity
    key = external_key(analysis)
    fields = {
        "Name": f"Analysis — {opportunity.reference or opportunity.title}"[:80],
        KEY_FIELD: key,
        parent_field(describe_fields, parent_sobject, PARENT_FIELD): parent_id or {"@opportunity": opportunity.pk},
        "Cothon_Compliance__c": analysis.compliance_score,
        "Cothon_Status__c": STATUS.get(analysis.status, "In Progress"),
        "Cothon_Summary__c": analysis.summary or None,
        "Cothon_Risks__c": analysis.risks or None,
        "Cothon_Opportunities__c": analysis.key_findings or None,
        "Cothon_Requirements_Total__c": len(requirements),
        "Cothon_Requirements_Met__c": sum(1 for r in requirements if r.capability_match == "met"),
        "Cothon_Analyzed_At__c": analysis.completed_at.isoformat(timespec="milliseconds") if analysis.completed_at else None,
        # The first word of the team's recommendation picks the picklist value; none clears it.
        "Cothon_Recommendation__c": RECOMMENDATIONS.get((analysis.recommendation or "").split(" ")[0].lower()),
    }
    write = PlannedWrite(sobject=sobject, operation="upsert", external_id_field=KEY_FIELD, external_id=key,
                         fields=fields, label=fields["Name"],
                         notes=[f"Linked to the {parent_sobject}; {len(requirements)} requirement record(s) follow."])
    only_described(write, describe_fields, keep=(KEY_FIELD,))
    check_lengths(write, describe_fields)
    return write
