"""Dry run: exactly the Salesforce writes a sync of one opportunity would make, with no write.

Built from the same payload functions the push sends (integrations/mapping/<record type>.py),
with the same describes and the same parent Ids (from the links). Only reads happen (the org's
describes, from the cache when fresh)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings as django_settings

from integrations.mapping import account, analysis as analysis_mapping, opportunity as opportunity_mapping
from integrations.mapping import requirement as requirement_mapping
from integrations.mapping.common import MappingContext, PlannedWrite
from integrations.models import SalesforceConnection
from integrations.settings_schema import SyncSettings
from integrations.sync_settings import describe_fields_for, sync_settings_for, user_ids_for
from opportunities.models import BidAnalysisStatus, Opportunity
from sync_engine.links import links_for
from sync_engine.vocabulary import RecordType


@dataclass
class DryRun:
    writes: list[PlannedWrite] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # What happens to an opportunity someone creates in Salesforce (the import setting).
    import_rule: str = ""


def import_rule_text(settings: SyncSettings) -> str:
    """The connection's import setting in one sentence, as the pull applies it."""
    if not settings.pulls:
        return "Opportunities created in Salesforce are not imported: this connection only sends Cothon's changes."
    if not settings.import_new:
        return ("Opportunities created in Salesforce are not imported (the import setting is off); "
                "changes to opportunities already linked still come back.")
    conditions = []
    if settings.import_filter.stages:
        conditions.append("their stage is " + ", ".join(f"“{s}”" for s in settings.import_filter.stages))
    if settings.import_filter.require_cothon_ref:
        conditions.append("they have a Cothon reference (Cothon_Ref__c)")
    when = " when " + " and ".join(conditions) if conditions else ", whatever their stage"
    return f"Opportunities created in Salesforce become Cothon opportunities{when}."


def dry_run(*, connection: SalesforceConnection, opportunity: Opportunity, settings: SyncSettings | None = None) -> DryRun:
    settings = settings or sync_settings_for(connection=connection)
    names = settings.objects
    result = DryRun(import_rule=import_rule_text(settings))
    connected = connection.status == "connected"

    def describe(sobject: str) -> dict[str, dict] | None:
        return describe_fields_for(connection, sobject) if connected else None

    if not connected:
        result.warnings.append("The connection is not connected: fields are not checked against the org.")
    ctx = MappingContext(settings=settings, describe_fields=describe(names.opportunity), user_ids=user_ids_for(connection),
                         base_url=django_settings.COTHON_BASE_URL)
    if opportunity.department_id:
        result.writes.append(account.to_salesforce(opportunity.department, sobject=names.account))

    def linked(record_type: str, record_id: int, sobject: str) -> str:
        link = links_for(connection_id=connection.pk, record_type=record_type, record_ids=[record_id], sobject=sobject).get(record_id)
        return link.salesforce_id if link else ""

    opportunity_id = linked(RecordType.OPPORTUNITY, opportunity.pk, names.opportunity)
    planned = opportunity_mapping.to_salesforce(opportunity, ctx, linked=bool(opportunity_id))
    result.writes.append(planned)
    analysis = opportunity.analyses.filter(status=BidAnalysisStatus.COMPLETED).prefetch_related("requirements").first()
    if analysis is None or planned.operation == "skip":
        return result
    result.writes.append(analysis_mapping.to_salesforce(analysis, sobject=names.analysis, parent_sobject=names.opportunity,
                                                        parent_id=opportunity_id or None,
                                                        describe_fields=describe(names.analysis)))
    analysis_id = linked(RecordType.ANALYSIS, analysis.pk, names.analysis)
    requirement_fields = describe(names.requirement)
    requirement_links = links_for(connection_id=connection.pk, record_type=RecordType.REQUIREMENT,
                                  record_ids=[r.pk for r in analysis.requirements.all()], sobject=names.requirement)
    for requirement in analysis.requirements.all():
        link = requirement_links.get(requirement.pk)
        result.writes.append(requirement_mapping.to_salesforce(
            requirement, sobject=names.requirement, parent_sobject=names.analysis, parent_id=analysis_id or None,
            linked=bool(link and link.salesforce_id), describe_fields=requirement_fields))
    return result
