"""Comment → a Note on the opportunity (several numbered Notes when it is longer than a Note)."""

from __future__ import annotations

from integrations.mapping import note as mapping
from opportunities.models import Comment
from sync_engine.handlers.base import Batch, Handler
from sync_engine.push.activities import NoteSource, push_notes
from sync_engine.vocabulary import RecordType


class CommentHandler(Handler):
    record_type = RecordType.COMMENT
    parent = (RecordType.OPPORTUNITY, Comment, "opportunity_id")

    def query(self, batch: Batch, record_ids: list[int]) -> list[Comment]:
        return list(Comment.objects.filter(tenant_id=batch.tenant_id, pk__in=record_ids).select_related("author"))

    def push(self, batch: Batch, records: list[Comment]) -> None:
        records = batch.drop_orphans(self.record_type, records, lambda c: c.opportunity_id, sobject="Note",
                                     label=mapping.comment_title)
        if not records:
            return
        parents = batch.parent_ids(RecordType.OPPORTUNITY, {c.opportunity_id for c in records}, batch.ctx.settings.objects.opportunity)
        notes = []
        for comment in records:
            parent = parents.get(comment.opportunity_id)
            if not parent:
                batch.settle(self.record_type, comment.pk, retry=True)  # the opportunity is not in Salesforce yet
                continue
            notes.append((mapping.comment_title(comment), comment.body, parent, NoteSource(self.record_type, comment.pk)))
            batch.settle(self.record_type, comment.pk, done=True)
        push_notes(batch.ctx, notes)
