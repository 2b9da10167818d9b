"""A quote as a PDF: the document the bid team downloads and Send to Salesforce attaches to the
opportunity (the 001 seed's "quote PDF").

`render_quote_pdf(quote)` reads the quote, its lines, company (a Department: Salesforce's
Account) and person (a Contact) and renders templates/proposals/quote_pdf.html with weasyprint
(imported lazily by proposals.pdf: the system libraries are needed only when a PDF is made).
Amounts are the quote's stored totals, the same figures the page, the API and Salesforce's
Amount show; each line's figures come from the line's own properties."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from proposals.models import Quote, QuoteLineItem
from proposals.pdf import render_pdf


@dataclass(frozen=True)
class PdfLine:
    position: int
    kind: str
    description: str
    quantity: str
    unit: str
    unit_price: str
    discount_percent: str
    tax_percent: str
    amount: str


def money(value: Decimal | None) -> str:
    """12,345.60 (the currency code is printed once, in the headers and the total)."""
    return f"{(value or Decimal('0')):,.2f}"


def _number(value: Decimal) -> str:
    """A quantity or a percentage without trailing zeros: 2, 1.5, 13."""
    return f"{value.normalize():f}"


def _line(position: int, line: QuoteLineItem) -> PdfLine:
    return PdfLine(position=position, kind=line.get_kind_display(), description=line.description,
                   quantity=_number(line.quantity), unit=line.unit, unit_price=money(line.unit_price),
                   discount_percent=f"{_number(line.discount_percent)}%" if line.discount_percent else "—",
                   tax_percent=f"{_number(line.tax_percent)}%" if line.tax_percent else "—",
                   amount=money(line.amount))


def quote_pdf_filename(quote: Quote) -> str:
    """q-00012-bridge-inspection.pdf: the download's name and the Salesforce file's."""
    title = slugify(quote.title)[:60].rstrip("-")
    return f"{slugify(quote.number) or quote.pk}-{title or 'quote'}.pdf"


def quote_pdf_context(quote: Quote) -> dict:
    """What the template prints, every figure already formatted."""
    tenant = quote.tenant
    zone = ZoneInfo(tenant.time_zone or "UTC")
    issued = timezone.localtime(quote.created_at or timezone.now(), zone).date()
    lines = [_line(position, line) for position, line in enumerate(quote.line_items.all(), start=1)]
    company = quote.company
    person = quote.person
    owner = quote.owner
    return {
        "quote": quote,
        "tenant_name": tenant.name,
        "issued": issued,
        "valid_until": quote.valid_until,
        "currency": quote.currency,
        "company_name": company.name if company else quote.company_name,
        "company_acronym": company.acronym if company else "",
        "person_name": str(person) if person else quote.contact_name,
        "person_title": person.job_title if person else "",
        "person_email": person.email if person else "",
        "person_phone": person.phone if person else "",
        "owner_name": (owner.get_full_name() or owner.get_username()) if owner else "",
        "owner_email": owner.email if owner else "",
        "opportunity": quote.opportunity,
        "lines": lines,
        "subtotal": money(quote.subtotal),
        "discount_total": money(quote.discount_total),
        "has_discount": bool(quote.discount_total),
        "tax_total": money(quote.tax_total),
        "total": money(quote.total),
    }


def render_quote_pdf(quote: Quote) -> bytes:
    """The quote as PDF bytes. Raises proposals.pdf.PdfRenderingUnavailable when the server
    lacks weasyprint's system libraries."""
    return render_pdf(render_to_string("proposals/quote_pdf.html", quote_pdf_context(quote)))
