"""The handler interface: one handler per record type owns everything the push does with
that type's records.

A push batch runs in three phases (sync_engine/handlers/registry.py, `push_records`):

1. **load** — every handler loads its records from the batch's outbox rows, scoped to the
   tenant. A record deleted in Cothon since it was queued has nothing to send: its rows are
   done.
2. **push** — handlers run in parent-before-child order. Each builds its payloads with the
   pure functions of `integrations/mapping/<type>.py`, asks the batch for its parents'
   Salesforce Ids (`Batch.parent_ids`: this batch's results first, then the links), writes
   through `sync_engine.push.writer` and settles its rows (`ctx.outcome(entry)`: done,
   failed, or retry — e.g. when the parent is not in Salesforce yet). What it wrote is
   published with `Batch.publish` for the children that follow.
3. **activities** — each handler proposes the Tasks its records trigger (`activities`); they
   are written together, one upsert call for the batch. Until then the triggering rows are
   `followup_pending`, so an aborted batch never loses a Task.

A handler may leave rows unsettled only if they need nothing: the registry settles those as
done. Rows of a record type no handler knows are failed with UNSUPPORTED_RECORD_TYPE."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from integrations.mapping.activity import Activity
from integrations.salesforce.errors import SalesforceError
from sync_engine.links import linked_salesforce_ids, opportunities_without_partner
from sync_engine.models import LinkStatus, OutboxEntry, SyncLink, SyncResult
from sync_engine.push.context import PushContext
from sync_engine.vocabulary import RecordType

PARENT_SKIPPED = "PARENT_SKIPPED"
PARENT_DELETED = "PARENT_DELETED_IN_SALESFORCE"


@dataclass
class Batch:
    """One push batch: its context, its rows by record type and id, what each handler loaded,
    and the Salesforce Ids known so far (record type -> {Cothon id: Salesforce Id})."""

    ctx: PushContext
    entries: dict[str, dict[int, list[OutboxEntry]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    records: dict[str, list[Any]] = field(default_factory=dict)
    salesforce_ids: dict[str, dict[int, str]] = field(default_factory=lambda: defaultdict(dict))
    # Opportunity id → its link, for the opportunities asked about that are skipped or deleted
    # in Salesforce (read once a batch, after the opportunities were pushed).
    _without_partner: dict[int, SyncLink | None] = field(default_factory=dict)

    @classmethod
    def of(cls, ctx: PushContext, entries: list[OutboxEntry]) -> Batch:
        batch = cls(ctx=ctx)
        for entry in entries:
            batch.entries[entry.record_type][entry.record_id].append(entry)
        return batch

    @property
    def tenant_id(self) -> int:
        return self.ctx.connection.tenant_id

    def entries_of(self, record_type: str, record_id: int) -> list[OutboxEntry]:
        return self.entries.get(record_type, {}).get(record_id, [])

    def publish(self, record_type: str, ids: dict[int, str]) -> None:
        self.salesforce_ids[record_type].update(ids)

    def parent_ids(self, record_type: str, record_ids: set[int], sobject: str) -> dict[int, str]:
        """Salesforce Ids of parent records: written in this batch, else from their links."""
        known = self.salesforce_ids[record_type]
        missing = {i for i in record_ids if i not in known}
        if missing:
            known.update(linked_salesforce_ids(connection_id=self.ctx.connection.pk, record_type=record_type,
                                               record_ids=missing, sobject=sobject))
        return {i: known[i] for i in record_ids if i in known}

    def opportunities_without_partner(self, opportunity_ids: set[int]) -> dict[int, SyncLink]:
        """Of these opportunities, those skipped in this connection or deleted in Salesforce and
        not written by this batch: their children have no parent in Salesforce. One query for
        the ids not asked about yet in this batch."""
        written = self.salesforce_ids[RecordType.OPPORTUNITY]
        unknown = {i for i in opportunity_ids if i not in self._without_partner and i not in written}
        if unknown:
            found = opportunities_without_partner(connection_id=self.ctx.connection.pk, record_ids=unknown,
                                                  sobject=self.ctx.settings.objects.opportunity)
            self._without_partner.update({i: found.get(i) for i in unknown})
        return {i: link for i in opportunity_ids if i not in written and (link := self._without_partner.get(i)) is not None}

    def drop_orphans(self, record_type: str, records: list[Any], opportunity_of: Callable[[Any], int], *, sobject: str,
                     label: Callable[[Any], str]) -> list[Any]:
        """The records whose opportunity can take children; the others (it is skipped, or
        deleted in Salesforce) are settled done with a "skipped" log row saying why and when
        they go out — not a failure: nothing is retried until the opportunity is unskipped,
        re-linked or re-created, which queues them again."""
        blocked = self.opportunities_without_partner({opportunity_of(r) for r in records})
        if not blocked:
            return records
        kept = []
        for record in records:
            link = blocked.get(opportunity_of(record))
            if link is None:
                kept.append(record)
                continue
            self.settle(record_type, record.pk, done=True)
            self.ctx.log(entry=(self.entries_of(record_type, record.pk) or [None])[0], sobject=sobject, operation="skip",
                         result=SyncResult.SKIPPED, record_type=record_type, record_id=record.pk, label=label(record),
                         error=orphan_error(link))
        return kept

    def settle(self, record_type: str, record_id: int, *, done: bool = False, failed: bool = False, retry: bool = False) -> None:
        for entry in self.entries_of(record_type, record_id):
            outcome = self.ctx.outcome(entry)
            outcome.done, outcome.failed, outcome.retry = done, failed, retry


def orphan_error(link: SyncLink) -> SalesforceError:
    """Why a child of this opportunity is not sent (its log row's code and message)."""
    if link.status == LinkStatus.SKIPPED:
        who = link.skipped_by.get_username() if link.skipped_by_id and link.skipped_by else "someone"
        return SalesforceError(PARENT_SKIPPED, f"Not sent: its opportunity (#{link.record_id}) is skipped in this connection "
                                               f"by {who}. It is sent when the opportunity is unskipped.")
    return SalesforceError(PARENT_DELETED, f"Not sent: its opportunity (#{link.record_id}) was deleted in Salesforce "
                                           f"({link.salesforce_id}). It is sent when the opportunity is re-linked or re-created.")


class Handler:
    """Subclass per record type; register it in registry.py at its place in the order."""

    record_type: ClassVar[str]
    # Rows of this type stay unsettled until the batch's activities are written (it may trigger one).
    triggers_activities: ClassVar[bool] = False
    # The record its Salesforce record hangs under: (that record's type, this type's model, the
    # field holding its id). With parallel sync a row waits only while its own parent is in a
    # batch in flight (sync_engine/claim.py); a type that names none waits for every earlier type.
    parent: ClassVar[tuple[str, type, str] | None] = None

    def load(self, batch: Batch, record_ids: list[int]) -> list[Any]:
        """This batch's records of the type, tenant-scoped; rows of records that are gone are done."""
        records = self.query(batch, record_ids)
        present = {r.pk for r in records}
        for record_id in record_ids:
            if record_id not in present:
                batch.settle(self.record_type, record_id, done=True)
        return records

    def query(self, batch: Batch, record_ids: list[int]) -> list[Any]:
        raise NotImplementedError

    def push(self, batch: Batch, records: list[Any]) -> None:
        raise NotImplementedError

    def activities(self, batch: Batch, records: list[Any]) -> list[Activity]:
        return []
