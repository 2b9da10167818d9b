"""A quote's company and person from Salesforce: an Account becomes a Cothon Department (the
001 seed's "company"), a Contact a Cothon Contact (its "person").

Matched before anything is created, so a second opportunity of the same Account, a replayed
message or a second Synchronize now finds what the first made:
- company: the Account's link in this connection, then `Cothon_Department_Key__c` (Accounts
  Cothon pushed carry it), then the name (case-insensitive); created when none matches, with
  the quote settings' owner as its related user;
- person: the Contact's link, then the e-mail address (case-insensitive), then first + last
  name within the company; created when none matches (same related user).
A match or a creation writes the link (`SyncLink`, status synced), so the next look-up is one
indexed read. Both are created with origin Salesforce: they are not sent back to that org."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from integrations.mapping.opportunity_inbound import id18
from integrations.models import SalesforceConnection
from opportunities import services as opportunity_services
from opportunities.models import Contact, Department
from sync_engine.models import LinkStatus, MatchedBy, SyncLink
from sync_engine.vocabulary import Origin, RecordType

DEPARTMENT_KEY_FIELD = "Cothon_Department_Key__c"
CONTACT_FIELDS = ("Id", "FirstName", "LastName", "Email", "Phone", "Title", "AccountId")


@dataclass
class Found:
    """A company or person and how it was found: linked, key, name, email, created."""

    record: Department | Contact | None
    how: str
    problem: str = ""


def _link(connection: SalesforceConnection, record_type: str, sobject: str, record_id: int, salesforce_id: str,
          matched_by: str) -> None:
    # ignore_conflicts: a record already linked (to another Salesforce record, or by a
    # concurrent worker a moment ago) keeps its link.
    SyncLink.objects.bulk_create([SyncLink(
        tenant_id=connection.tenant_id, connection=connection, record_type=record_type, record_id=record_id,
        sobject=sobject, salesforce_id=salesforce_id, matched_by=matched_by, status=LinkStatus.SYNCED,
        last_synced_at=timezone.now())], ignore_conflicts=True)


def _linked(connection: SalesforceConnection, record_type: str, sobject: str, salesforce_id: str) -> int | None:
    return (SyncLink.objects.filter(connection=connection, record_type=record_type, sobject=sobject,
                                    salesforce_id=salesforce_id).exclude(status=LinkStatus.SKIPPED)
            .values_list("record_id", flat=True).first())


def company_for_account(*, connection: SalesforceConnection, account_sobject: str, account_id: str | None,
                        account: dict[str, Any] | None, related_user: AbstractBaseUser | None) -> Found:
    """The department of an Account (matched, else created). No Account: no company."""
    if not account_id or not account:
        return Found(None, "none")
    account_id = id18(account_id)
    tenant = connection.tenant
    departments = Department.objects.filter(tenant=tenant)
    linked = _linked(connection, RecordType.DEPARTMENT, account_sobject, account_id)
    department = departments.filter(pk=linked).first() if linked else None
    how = "linked"
    if department is None and account.get(DEPARTMENT_KEY_FIELD):
        department, how = departments.filter(key=account[DEPARTMENT_KEY_FIELD]).first(), "key"
    name = (account.get("Name") or "").strip()[:255]
    if department is None and name:
        department, how = departments.filter(name__iexact=name).first(), "name"
    if department is None:
        if not name:
            return Found(None, "none", "The Account has no name.")
        try:
            with transaction.atomic():
                department = opportunity_services.department_create(
                    tenant=tenant, name=name, origin=Origin.SALESFORCE, origin_connection_id=connection.pk,
                    related_user=related_user)
        except ValidationError as exc:
            return Found(None, "none", f"The company “{name}” could not be created: {'; '.join(exc.messages)}")
        how = "created"
    if how != "linked":
        _link(connection, RecordType.DEPARTMENT, account_sobject, department.pk, account_id,
              MatchedBy.PULLED if how == "created" else MatchedBy.EXTERNAL_ID if how == "key" else "")
    return Found(department, how)


def person_for_contact(*, connection: SalesforceConnection, contact: dict[str, Any] | None,
                       company: Department | None, related_user: AbstractBaseUser | None) -> Found:
    """The Cothon contact of a Salesforce Contact (matched, else created)."""
    if not contact or not contact.get("Id"):
        return Found(None, "none")
    contact_id = id18(contact["Id"])
    people = Contact.objects.filter(tenant_id=connection.tenant_id)
    linked = _linked(connection, RecordType.CONTACT, "Contact", contact_id)
    person = people.filter(pk=linked).first() if linked else None
    if person is not None:
        return Found(person, "linked")
    email = (contact.get("Email") or "").strip()
    first, last = (contact.get("FirstName") or "").strip()[:80], (contact.get("LastName") or "").strip()[:80]
    how = ""
    if email:
        person, how = (people.annotate(lower_email=Lower("email")).filter(lower_email=email.lower())
                       .order_by("pk").first()), "email"
    if person is None and company is not None and last:
        person, how = (people.filter(department=company, first_name__iexact=first, last_name__iexact=last)
                       .order_by("pk").first()), "name"
    if person is None:
        if not last:
            return Found(None, "none", "The Contact has no last name.")
        try:
            with transaction.atomic():
                person = opportunity_services.contact_create(
                    tenant=connection.tenant, last_name=last, first_name=first, email=email[:254],
                    phone=(contact.get("Phone") or "")[:40], job_title=(contact.get("Title") or "")[:128],
                    department=company, related_user=related_user, origin=Origin.SALESFORCE,
                    origin_connection_id=connection.pk)
        except ValidationError as exc:
            return Found(None, "none", f"The person “{first} {last}”".replace("“ ", "“") +
                         f" could not be created: {'; '.join(exc.messages)}")
        how = "created"
    _link(connection, RecordType.CONTACT, "Contact", person.pk, contact_id,
          MatchedBy.PULLED if how == "created" else MatchedBy.EMAIL if how == "email" else "")
    return Found(person, how)


def primary_contact(opportunity: dict[str, Any]) -> dict[str, Any] | None:
    """The Contact of the opportunity's primary contact role (else its first role's)."""
    roles = ((opportunity.get("OpportunityContactRoles") or {}).get("records")) or []
    roles = sorted(roles, key=lambda role: not role.get("IsPrimary"))
    for role in roles:
        if role.get("Contact"):
            return role["Contact"]
    return None
