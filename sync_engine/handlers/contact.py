"""Contacts are recorded in the outbox (the pull associates Salesforce Contacts with Cothon
contacts later) but not pushed: each row is settled as skipped, with the reason on the log —
a deliberate no-op, unlike a record type without a handler, which fails."""

from __future__ import annotations

from integrations.salesforce.errors import ErrorKind, SalesforceError
from opportunities.models import Contact
from sync_engine.handlers.base import Batch, Handler
from sync_engine.models import SyncResult
from sync_engine.vocabulary import RecordType

NOT_PUSHED = "Contacts are not sent to Salesforce: only opportunities, their Accounts, analyses and activities are."


class ContactHandler(Handler):
    record_type = RecordType.CONTACT

    def query(self, batch: Batch, record_ids: list[int]) -> list[Contact]:
        return list(Contact.objects.filter(tenant_id=batch.tenant_id, pk__in=record_ids))

    def push(self, batch: Batch, records: list[Contact]) -> None:
        for contact in records:
            entries = batch.entries_of(self.record_type, contact.pk)
            batch.settle(self.record_type, contact.pk, done=True)
            batch.ctx.log(entry=(entries or [None])[0], sobject="Contact", operation="skip", result=SyncResult.SKIPPED,
                          record_type=self.record_type, record_id=contact.pk, label=str(contact)[:255],
                          error=SalesforceError("NOT_PUSHED", NOT_PUSHED, kind=ErrorKind.PERMANENT))
