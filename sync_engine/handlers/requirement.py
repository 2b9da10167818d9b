"""Requirement → the configured requirement object (master-detail child of the analysis)."""

from __future__ import annotations

from django.db.models import F

from cothon.bulk import ids_in
from integrations.mapping import requirement as mapping
from opportunities.models import Requirement
from sync_engine.handlers.base import Batch, Handler
from sync_engine.links import linked_salesforce_ids
from sync_engine.push.writer import Item, refuse, write_and_settle
from sync_engine.vocabulary import RecordType


class RequirementHandler(Handler):
    record_type = RecordType.REQUIREMENT
    parent = (RecordType.ANALYSIS, Requirement, "analysis_id")

    def query(self, batch: Batch, record_ids: list[int]) -> list[Requirement]:
        # Only the analysis id is needed (its Salesforce Id comes from the batch or the links):
        # no join, no analysis instance per requirement.
        # The analysis's opportunity id too (one join): a requirement of a skipped opportunity waits.
        return list(Requirement.objects.filter(ids_in("id", record_ids), tenant_id=batch.tenant_id)
                    .annotate(parent_opportunity_id=F("analysis__opportunity_id")))

    def push(self, batch: Batch, records: list[Requirement]) -> None:
        if not records:
            return
        ctx = batch.ctx
        names = ctx.settings.objects
        sobject = names.requirement
        records = batch.drop_orphans(self.record_type, records, lambda r: r.parent_opportunity_id, sobject=sobject,
                                     label=lambda r: (r.text or "Requirement")[:80])
        if not records:
            return
        parents = batch.parent_ids(RecordType.ANALYSIS, {r.analysis_id for r in records}, names.analysis)
        linked = linked_salesforce_ids(connection_id=ctx.connection.pk, record_type=self.record_type, record_ids=[r.pk for r in records], sobject=sobject)
        describe = ctx.describe(sobject)
        items = []
        for requirement in records:
            parent = parents.get(requirement.analysis_id)
            if not parent:
                batch.settle(self.record_type, requirement.pk, retry=True)  # the analysis is not in Salesforce yet
                continue
            salesforce_id = linked.get(requirement.pk, "")
            planned = mapping.to_salesforce(requirement, sobject=sobject, parent_sobject=names.analysis, parent_id=parent,
                                            linked=bool(salesforce_id), describe_fields=describe)
            item = Item(record_type=self.record_type, record_id=requirement.pk, label=planned.label, fields=planned.fields,
                        entries=batch.entries_of(self.record_type, requirement.pk), external_id_field=planned.external_id_field,
                        salesforce_id=salesforce_id)
            if planned.errors:
                refuse(ctx, sobject, item, planned.errors)
            items.append(item)
        write_and_settle(ctx, sobject, items)
        batch.publish(self.record_type, {item.record_id: item.result_id for item in items if item.result_id})
