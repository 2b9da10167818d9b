"""Bid analysis → the configured analysis object, child of the opportunity object; a
completed analysis also logs the "Bid Analysis Completed" Task."""

from __future__ import annotations

from django.db.models import Prefetch

from cothon.bulk import ids_in
from integrations.mapping import analysis as mapping
from integrations.mapping.activity import Activity, analysis_completed
from opportunities.models import BidAnalysis, Requirement
from sync_engine.handlers.base import Batch, Handler
from sync_engine.links import linked_salesforce_ids
from sync_engine.models import MatchedBy
from sync_engine.push.writer import Item, refuse, write_and_settle
from sync_engine.vocabulary import RecordType


class AnalysisHandler(Handler):
    record_type = RecordType.ANALYSIS
    triggers_activities = True
    parent = (RecordType.OPPORTUNITY, BidAnalysis, "opportunity_id")

    def query(self, batch: Batch, record_ids: list[int]) -> list[BidAnalysis]:
        # The payload only counts requirements (total, met): their texts stay in the database.
        counted = Requirement.objects.only("id", "analysis_id", "capability_match")
        return list(BidAnalysis.objects.filter(ids_in("id", record_ids), tenant_id=batch.tenant_id)
                    .select_related("opportunity").prefetch_related(Prefetch("requirements", queryset=counted)))

    def push(self, batch: Batch, records: list[BidAnalysis]) -> None:
        ctx = batch.ctx
        names = ctx.settings.objects
        sobject = names.analysis
        ready = [a for a in records if mapping.ready(a)]
        for analysis in records:
            if not mapping.ready(analysis):
                batch.settle(self.record_type, analysis.pk, done=True)  # not completed yet: nothing to send
        ready = batch.drop_orphans(self.record_type, ready, lambda a: a.opportunity_id, sobject=sobject,
                                   label=lambda a: f"Bid analysis of {a.opportunity.title}")
        if not ready:
            return
        parents = batch.parent_ids(RecordType.OPPORTUNITY, {a.opportunity_id for a in ready}, names.opportunity)
        describe = ctx.describe(sobject)
        linked = linked_salesforce_ids(connection_id=ctx.connection.pk, record_type=self.record_type, record_ids=[a.pk for a in ready], sobject=sobject)
        items = []
        for analysis in ready:
            parent = parents.get(analysis.opportunity_id)
            if not parent:
                # The opportunity is not in Salesforce yet (it failed or is filtered out): retried when it syncs.
                batch.settle(self.record_type, analysis.pk, retry=True)
                continue
            planned = mapping.to_salesforce(analysis, sobject=sobject, parent_sobject=names.opportunity, parent_id=parent,
                                            describe_fields=describe)
            salesforce_id = linked.get(analysis.pk, "")
            item = Item(record_type=self.record_type, record_id=analysis.pk, label=planned.label, fields=planned.fields,
                        entries=batch.entries_of(self.record_type, analysis.pk), external_id_field=planned.external_id_field,
                        salesforce_id=salesforce_id)
            if planned.errors:
                refuse(ctx, sobject, item, planned.errors)
            items.append(item)
        write_and_settle(ctx, sobject, items, matched_by=MatchedBy.EXTERNAL_ID)
        batch.publish(self.record_type, {item.record_id: item.result_id for item in items if item.result_id})

    def activities(self, batch: Batch, records: list[BidAnalysis]) -> list[Activity]:
        return [analysis_completed(a, batch.ctx.time_zone) for a in records if mapping.ready(a)]
