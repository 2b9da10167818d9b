"""Documents → ContentVersions (Salesforce Files), as pure payload functions.

- A generated proposal document goes on the opportunity once per generation
  (FirstPublishLocationId links it at creation). File data cannot be updated or upserted, so
  each generation has its own key (Cothon_File_Key__c) and a file already there is never sent
  again.
- A quote PDF (Send to Salesforce) is ONE file on the opportunity: the first send creates it
  linked to the opportunity, every later send adds a version of the same ContentDocument
  (ContentDocumentId; Salesforce refuses FirstPublishLocationId on a new version). Each send's
  version has its own key, `quote_file_key_prefix(quote)` + the send's id, so a retried send can
  find the version it may already have uploaded, and every send finds the document by that
  prefix."""

from __future__ import annotations

import base64

from proposals.models import Proposal, Quote

KEY_FIELD = "Cothon_File_Key__c"


def content_version(*, title: str, file_name: str, data: bytes, key: str, parent_id: str = "",
                    document_id: str = "", reason: str = "") -> dict:
    """A ContentVersion create payload: a new file linked to `parent_id`, or a new version of
    the file `document_id` (exactly one of them)."""
    if bool(parent_id) == bool(document_id):
        raise ValueError("A ContentVersion is either a new file on a record or a new version of a file.")
    payload = {"Title": title[:255], "PathOnClient": file_name, "VersionData": base64.b64encode(data).decode(), KEY_FIELD: key}
    if document_id:
        payload["ContentDocumentId"] = document_id
        if reason:
            payload["ReasonForChange"] = reason[:1000]
    else:
        payload["FirstPublishLocationId"] = parent_id
    return payload


# --- generated proposal documents ----------------------------------------------------------------

def file_key(proposal: Proposal) -> str:
    stamp = int(proposal.generated_at.timestamp()) if proposal.generated_at else 0
    return f"proposal-{proposal.pk}-{stamp}"


def file_name(proposal: Proposal) -> str:
    return proposal.document.name.rsplit("/", 1)[-1]


def to_salesforce(proposal: Proposal, *, parent_id: str, data: bytes) -> dict:
    return content_version(title=proposal.title, file_name=file_name(proposal), data=data, key=file_key(proposal),
                           parent_id=parent_id)


# --- quote PDFs (Send to Salesforce) --------------------------------------------------------------

def quote_file_key_prefix(quote: Quote) -> str:
    """Every version of a quote's file has a key starting with this (no SOQL wildcard in it)."""
    return f"quote-{quote.pk}-send-"


def quote_file_key(quote: Quote, send_id: int) -> str:
    return f"{quote_file_key_prefix(quote)}{send_id}"


def quote_file_title(quote: Quote) -> str:
    return f"Quote {quote.number} — {quote.title}"


def quote_to_salesforce(quote: Quote, *, send_id: int, file_name: str, data: bytes, parent_id: str = "",
                        document_id: str = "") -> dict:
    """The quote PDF as the opportunity's file (first send) or its next version."""
    return content_version(title=quote_file_title(quote), file_name=file_name, data=data, key=quote_file_key(quote, send_id),
                           parent_id=parent_id, document_id=document_id,
                           reason=f"Sent again from Cothon (total {quote.currency} {quote.total:,.2f})")
