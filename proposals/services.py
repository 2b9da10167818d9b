"""Writes for proposals and for contacts (the quotes' people). Quotes: proposals/quote_services.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from cothon.models import Tenant
from opportunities.models import Contact, Opportunity
from opportunities.numbers import PROPOSAL_SECTIONS_MAX
from proposals.models import Proposal, ProposalSection, ProposalStatus
from proposals.pdf import render_pdf
# Quotes live in proposals/quote_services.py and quote_custom_fields.py; these names stay
# importable from here too (the demo, the inbound Salesforce sync).
from proposals.quote_custom_fields import quote_custom_values_clean  # noqa: F401
from proposals.quote_services import (  # noqa: F401
    DUPLICATE_QUOTE_NUMBER_MESSAGE,
    quote_create,
    quote_create_with_lines,
    quote_delete,
    quote_line_add,
    quote_line_remove,
    quote_line_update,
    quote_lines_reorder,
    quote_person_create,
    quote_update,
)
from sync_engine.vocabulary import Event, RecordType
from sync_engine.outbox import record_change

DEFAULT_SECTIONS = ("Executive Summary", "Technical Approach", "Team", "Pricing")


def _assert_tenant(instance, tenant: Tenant) -> None:
    if instance.tenant_id != tenant.pk:
        raise PermissionError(f"{type(instance).__name__} {instance.pk} does not belong to tenant {tenant.pk}")


@transaction.atomic
def proposal_create(*, tenant: Tenant, opportunity: Opportunity, title: str, created_by: AbstractBaseUser | None = None,
                    sections: Iterable[Mapping[str, str]] | None = None) -> Proposal:
    _assert_tenant(opportunity, tenant)
    proposal = Proposal(tenant=tenant, opportunity=opportunity, title=title, created_by=created_by)
    proposal.full_clean()
    proposal.save()
    chosen = list(sections) if sections is not None else [{"title": t, "body": ""} for t in DEFAULT_SECTIONS]
    _check_section_count(chosen)
    for position, section in enumerate(chosen):
        item = ProposalSection(tenant=tenant, proposal=proposal, title=section["title"], body=section.get("body", ""), position=position)
        item.full_clean(exclude=["proposal"])
        item.save()
    return proposal


def _check_section_count(sections: list) -> None:
    # A section's position is a small integer column; the forms stop at the same number.
    if len(sections) > PROPOSAL_SECTIONS_MAX:
        raise ValidationError({"sections": [f"A proposal can have at most {PROPOSAL_SECTIONS_MAX} sections."]})


@transaction.atomic
def proposal_generate(*, tenant: Tenant, proposal: Proposal) -> Proposal:
    """Render the proposal to PDF, mark it ready for review, and queue the "Proposal Generated"
    task and document upload for Salesforce."""
    _assert_tenant(proposal, tenant)
    sections = list(proposal.sections.all())
    if not sections:
        raise ValidationError({"sections": ["A proposal needs at least one section before it can be generated."]})
    html = render_to_string("proposals/proposal_pdf.html", {"proposal": proposal, "sections": sections,
                                                           "opportunity": proposal.opportunity})
    pdf_bytes = render_pdf(html)
    proposal.document.save(f"{slugify(proposal.title)[:60] or 'proposal'}.pdf", ContentFile(pdf_bytes), save=False)
    proposal.generated_at = timezone.now()
    proposal.status = ProposalStatus.READY
    proposal.save()
    record_change(tenant=tenant, record_type=RecordType.PROPOSAL, record_id=proposal.pk, event=Event.GENERATED,
                  changed_fields=["document", "status", "generated_at"])
    return proposal


# --- appended for the REST API ---------------------------------------------------------------

PROPOSAL_FIELDS = ("title", "status")


@transaction.atomic
def proposal_update(*, tenant: Tenant, proposal: Proposal, data: Mapping[str, Any],
                    sections: Iterable[Mapping[str, str]] | None = None) -> Proposal:
    """Change a proposal's title/status; when `sections` is given, it replaces all sections
    (in the given order). A generated document is kept: regenerate to refresh it."""
    _assert_tenant(proposal, tenant)
    unknown = set(data) - set(PROPOSAL_FIELDS)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    if sections is not None:
        sections = list(sections)
        _check_section_count(sections)
    submitted = data.get("status") == ProposalStatus.SUBMITTED and proposal.status != ProposalStatus.SUBMITTED
    for name, value in data.items():
        setattr(proposal, name, value)
    proposal.full_clean(exclude=["document"])
    proposal.save()
    if submitted:
        # Salesforce gets a completed "Proposal submitted" Task on the opportunity.
        record_change(tenant=tenant, record_type=RecordType.PROPOSAL, record_id=proposal.pk, event=Event.SUBMITTED,
                      changed_fields=["status"])
    if sections is not None:
        proposal.sections.all().delete()
        for position, section in enumerate(sections):
            item = ProposalSection(tenant=tenant, proposal=proposal, title=section["title"],
                                   body=section.get("body", ""), position=position)
            item.full_clean(exclude=["proposal"])
            item.save()
    return proposal


# --- contacts: the seed's "people" a quote is addressed to ----------------------------------
# Creating one is opportunities.services.contact_create (the pull uses it too); changing and
# deleting live here, next to the quotes that use them. Contacts are recorded in the sync
# outbox like every record, though not pushed (sync_engine/handlers/contact.py says why).

CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "job_title", "department")


@transaction.atomic
def contact_update(*, tenant: Tenant, contact: Contact, data: Mapping[str, Any]) -> Contact:
    _assert_tenant(contact, tenant)
    unknown = set(data) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    department = data.get("department")
    if department is not None:
        _assert_tenant(department, tenant)
    changed = [name for name, value in data.items() if getattr(contact, name) != value]
    for name, value in data.items():
        setattr(contact, name, value.strip() if isinstance(value, str) else value)
    contact.full_clean()
    contact.save()
    if changed:
        record_change(tenant=tenant, record_type=RecordType.CONTACT, record_id=contact.pk, event=Event.UPDATED,
                      changed_fields=changed)
    return contact


@transaction.atomic
def contact_delete(*, tenant: Tenant, contact: Contact) -> None:
    """Delete a person: quotes addressed to them keep their other fields (person becomes empty,
    the free-text contact name is filled in so the quote still says who it was for); their
    opportunity contact roles go with them."""
    _assert_tenant(contact, tenant)
    contact.quotes.filter(contact_name="").update(contact_name=str(contact)[:255])
    contact.delete()
