"""Generated proposal document → a ContentVersion on the opportunity (FirstPublishLocationId
links it at creation). File data cannot be updated or upserted, so each generation has its own
key (Cothon_File_Key__c) and a file already there is never sent again."""

from __future__ import annotations

import base64

from proposals.models import Proposal

KEY_FIELD = "Cothon_File_Key__c"


def file_key(proposal: Proposal) -> str:
    stamp = int(proposal.generated_at.timestamp()) if proposal.generated_at else 0
    return f"proposal-{proposal.pk}-{stamp}"


def file_name(proposal: Proposal) -> str:
    return proposal.document.name.rsplit("/", 1)[-1]


def to_salesforce(proposal: Proposal, *, parent_id: str, data: bytes) -> dict:
    return {"Title": proposal.title[:255], "PathOnClient": file_name(proposal), "VersionData": base64.b64encode(data).decode(),
            "FirstPublishLocationId": parent_id, KEY_FIELD: file_key(proposal)}
