"""OpportunityContactRole → an opportunity's contact (the pull; contacts are not pushed).
ContactId → the contact (matched by the caller: link, then e-mail), Role → role, IsPrimary →
primary; the Contact's FirstName, LastName, Email, Phone, Title and AccountId are what a contact
created from Salesforce takes (docs/pull.md, field by field)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from integrations.mapping.opportunity_inbound import id18

SOBJECT = "OpportunityContactRole"
FIELDS = ["Id", "OpportunityId", "ContactId", "Role", "IsPrimary", "Contact.FirstName", "Contact.LastName", "Contact.Email",
          "Contact.Phone", "Contact.Title", "Contact.AccountId"]


@dataclass
class PulledRole:
    salesforce_id: str
    opportunity_id: str
    contact_id: str
    role: str
    is_primary: bool
    contact: dict[str, Any] = field(default_factory=dict)  # Cothon contact fields, for a contact created from Salesforce


def from_salesforce(row: dict[str, Any]) -> PulledRole:
    contact = row.get("Contact") if isinstance(row.get("Contact"), dict) else {}
    primary = row.get("IsPrimary")
    return PulledRole(
        salesforce_id=id18(row.get("Id")) or "", opportunity_id=id18(row.get("OpportunityId")) or "",
        contact_id=id18(row.get("ContactId")) or "", role=str(row.get("Role") or "")[:80],
        is_primary=primary is True or (isinstance(primary, str) and primary.lower() == "true"),
        contact={
            "first_name": (contact.get("FirstName") or "")[:80], "last_name": (contact.get("LastName") or "")[:80],
            "email": (contact.get("Email") or "").strip()[:254], "phone": (contact.get("Phone") or "")[:40],
            "job_title": (contact.get("Title") or "")[:128], "account_id": contact.get("AccountId") or None})
