"""Writes for proposals and quotes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from cothon.models import Tenant
from opportunities.models import Opportunity
from opportunities.numbers import MONEY_MAX, PROPOSAL_SECTIONS_MAX, QUOTE_LINES_MAX, exceeds_money, money_text
from proposals.models import Proposal, ProposalSection, ProposalStatus, Quote, QuoteLineItem
from proposals.pdf import render_pdf
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


def _next_quote_number(tenant: Tenant) -> str:
    count = Quote.objects.filter(tenant=tenant).count() + 1
    number = f"Q-{count:05d}"
    while Quote.objects.filter(tenant=tenant, number=number).exists():
        count += 1
        number = f"Q-{count:05d}"
    return number


@transaction.atomic
def quote_create(*, tenant: Tenant, title: str, opportunity: Opportunity | None = None, **data: Any) -> Quote:
    if opportunity is not None:
        _assert_tenant(opportunity, tenant)
    quote = Quote(tenant=tenant, title=title, opportunity=opportunity, number=data.pop("number", None) or _next_quote_number(tenant), **data)
    quote.full_clean()
    quote.save()
    return quote


@transaction.atomic
def quote_line_add(*, tenant: Tenant, quote: Quote, description: str, quantity: Decimal, unit_price: Decimal) -> QuoteLineItem:
    """Append a line and recompute the quote's total. Every bound, the line's amount and the new
    total are checked before anything is written (a refused line leaves the quote as it was)."""
    _assert_tenant(quote, tenant)
    lines = list(quote.line_items.all())
    if len(lines) >= QUOTE_LINES_MAX:
        raise ValidationError({"line_items": [f"A quote can have at most {QUOTE_LINES_MAX} lines."]})
    item = QuoteLineItem(tenant=tenant, quote=quote, description=description, quantity=quantity, unit_price=unit_price,
                         position=len(lines))
    item.full_clean(exclude=["quote"])
    if item.quantity <= 0:
        raise ValidationError({"quantity": ["Quantity must be greater than zero."]})
    if exceeds_money(item.amount):
        raise ValidationError({"amount": [
            f"Quantity × unit price is {money_text(item.amount)}; a line can be at most {money_text(MONEY_MAX)}."]})
    total = _quote_total([*lines, item])
    if exceeds_money(total):
        raise ValidationError({"total": [
            f"With this line the quote total would be {money_text(total)}; a quote can total at most {money_text(MONEY_MAX)}."]})
    item.save()
    quote.total = total
    quote.save(update_fields=["total", "updated_at"])
    return item


def _quote_total(lines: list[QuoteLineItem]) -> Decimal:
    # Summed in Python, exactly: SQLite would add the products as floats.
    return sum((line.amount for line in lines), Decimal("0")).quantize(Decimal("0.01"))


# --- appended for the REST API ---------------------------------------------------------------

PROPOSAL_FIELDS = ("title", "status")
DUPLICATE_QUOTE_NUMBER_MESSAGE = "Another quote in this organization already has this number."


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


@transaction.atomic
def quote_create_with_lines(*, tenant: Tenant, title: str, opportunity: Opportunity | None = None,
                            line_items: Iterable[Mapping[str, Any]] = (), **data: Any) -> Quote:
    """Create a quote and its line items in one transaction (all or nothing).

    A duplicate number is reported on `number`; a bad line on `line_items` with its position.
    """
    number = (data.get("number") or "").strip()
    if number and Quote.objects.filter(tenant=tenant, number=number).exists():
        raise ValidationError({"number": [DUPLICATE_QUOTE_NUMBER_MESSAGE]})
    quote = quote_create(tenant=tenant, title=title, opportunity=opportunity, **data)
    for index, line in enumerate(line_items, start=1):
        try:
            quote_line_add(tenant=tenant, quote=quote, description=line["description"],
                           quantity=line.get("quantity", Decimal("1")), unit_price=line.get("unit_price", Decimal("0")))
        except ValidationError as exc:
            messages = [f"Line {index}, {field}: {message}" for field, msgs in exc.message_dict.items() for message in msgs]
            raise ValidationError({"line_items": messages}) from exc
    return quote
