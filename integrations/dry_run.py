"""Dry run: exactly the Salesforce writes a sync of one opportunity would make, with no write.

Only reads happen (the org's describe, from the cache when fresh)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings as django_settings

from integrations.mapping.payloads import MappingContext, PlannedWrite, department_write, opportunity_write
from integrations.models import SalesforceConnection
from integrations.sync_settings import describe_get, settings_current
from opportunities.models import BidAnalysisStatus, Opportunity


@dataclass
class DryRun:
    writes: list[PlannedWrite] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def user_ids_for(connection: SalesforceConnection) -> dict[int, str]:
    return dict(connection.user_links.exclude(salesforce_user_id="").values_list("user_id", "salesforce_user_id"))


def dry_run(*, connection: SalesforceConnection, opportunity: Opportunity, settings_data: dict | None = None) -> DryRun:
    data = settings_data or settings_current(connection=connection)
    result = DryRun()
    describe = None
    if connection.status == "connected":
        payload = describe_get(connection=connection, sobject=data.get("objects", {}).get("opportunity", "Opportunity"))
        describe = {f["name"].lower(): f for f in (payload or {}).get("fields", [])}
    else:
        result.warnings.append("The connection is not connected: fields are not checked against the org.")
    ctx = MappingContext(settings=data, describe_fields=describe, user_ids=user_ids_for(connection),
                         base_url=django_settings.COTHON_BASE_URL)
    if opportunity.department_id:
        result.writes.append(department_write(opportunity.department))
    result.writes.append(opportunity_write(opportunity, ctx))
    analysis = opportunity.analyses.filter(status=BidAnalysisStatus.COMPLETED).first()
    if analysis is not None and result.writes[-1].operation != "skip":
        result.writes.append(PlannedWrite(
            sobject=data.get("objects", {}).get("analysis", "Cothon_Analysis__c"), operation="upsert",
            external_id_field="Cothon_Key__c", external_id=f"analysis-{analysis.pk}",
            fields={"Name": f"Analysis — {opportunity.reference}"[:80], "Cothon_Key__c": f"analysis-{analysis.pk}",
                    "Cothon_Compliance__c": analysis.compliance_score, "Cothon_Status__c": "Complete",
                    "Cothon_Summary__c": analysis.summary, "Cothon_Risks__c": analysis.risks},
            notes=[f"Linked to the Opportunity; {analysis.requirements.count()} Cothon_Requirement__c records follow (master-detail)."],
            label=f"Bid analysis #{analysis.pk}",
        ))
    return result
