"""Proposal → its generated document as a file on the opportunity, the "Proposal Generated"
Task, and the completed "Proposal submitted" Task when it is marked submitted."""

from __future__ import annotations

from django.utils import timezone

from integrations.mapping.activity import Activity, proposal_generated, proposal_submitted
from proposals.models import Proposal, ProposalStatus
from sync_engine.handlers.base import Batch, Handler
from sync_engine.push.activities import push_proposal_file
from sync_engine.vocabulary import Event, RecordType


class ProposalHandler(Handler):
    record_type = RecordType.PROPOSAL
    triggers_activities = True
    parent = (RecordType.OPPORTUNITY, Proposal, "opportunity_id")

    def query(self, batch: Batch, record_ids: list[int]) -> list[Proposal]:
        return list(Proposal.objects.filter(tenant_id=batch.tenant_id, pk__in=record_ids)
                    .select_related("opportunity").prefetch_related("sections"))

    def push(self, batch: Batch, records: list[Proposal]) -> None:
        records = batch.drop_orphans(self.record_type, records, lambda p: p.opportunity_id, sobject="ContentVersion",
                                     label=lambda p: f"Proposal for {p.opportunity.title}")
        if not records:
            return
        parents = batch.parent_ids(RecordType.OPPORTUNITY, {p.opportunity_id for p in records}, batch.ctx.settings.objects.opportunity)
        for proposal in records:
            parent = parents.get(proposal.opportunity_id)
            if not parent:
                batch.settle(self.record_type, proposal.pk, retry=True)
                continue
            push_proposal_file(batch.ctx, proposal, parent)
            batch.settle(self.record_type, proposal.pk, done=True)

    def activities(self, batch: Batch, records: list[Proposal]) -> list[Activity]:
        planned = []
        now, zone = timezone.now(), batch.ctx.time_zone
        for proposal in records:
            entries = batch.entries_of(self.record_type, proposal.pk)
            events = {e.event for e in entries}
            # A later change merged into the pending row may have replaced the event; the
            # changed fields still say the status changed.
            status_changed = Event.SUBMITTED in events or any("status" in (e.changed_fields or []) for e in entries)
            if proposal.generated_at:
                planned.append(proposal_generated(proposal, batch.ctx.base_url, zone))
            if status_changed and proposal.status == ProposalStatus.SUBMITTED:
                planned.append(proposal_submitted(proposal.opportunity, now, zone, proposal=proposal, base_url=batch.ctx.base_url))
        return planned
