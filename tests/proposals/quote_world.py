"""A quote with lines of both kinds, a company (Department) and a person (Contact), for the PDF
and Send to Salesforce tests, made through the quote services (which keep the stored totals)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from opportunities.services import contact_create, department_create
from proposals.models import Quote
from proposals.quote_services import quote_create

LINES = (
    # kind, description, unit, quantity, unit price, discount %, tax %
    ("service", "Structural inspection of 14 highway bridges, field work and reporting", "day", "12", "1450.00", "10", "13"),
    ("service", "Load-rating analysis and engineering memo", "hour", "36.5", "185.00", "0", "13"),
    ("product", "Drone imagery kit rental (per bridge)", "each", "14", "95.00", "5", "13"),
)


def make_quote(tenant, *, owner=None, opportunity=None, title="Bridge inspection services — Ottawa region",
               company_name="Public Services and Procurement Canada", lines=LINES, **data) -> Quote:
    company = department_create(tenant=tenant, name=company_name, acronym="PSPC")
    person = contact_create(tenant=tenant, department=company, first_name="Morgan", last_name="Buyer",
                            email="morgan.buyer@example.com", phone="613-555-0199", job_title="Procurement Officer")
    defaults = {"currency": "CAD", "valid_until": datetime.date(2031, 3, 31), "owner": owner,
                "terms": "Payment net 30 days from invoice.\nPrices valid for 90 days.",
                "notes": "Includes travel within the National Capital Region."}
    defaults.update(data)
    items = [{"kind": kind, "description": text, "unit": unit, "quantity": Decimal(qty), "unit_price": Decimal(price),
              "discount_percent": Decimal(disc), "tax_percent": Decimal(tax)}
             for kind, text, unit, qty, price, disc, tax in lines]
    return quote_create(tenant=tenant, title=title, opportunity=opportunity, company=company, person=person,
                        line_items=items, **defaults)


def quote_from_salesforce(world, connection, emulator, *, sync_back: bool = True) -> tuple[Quote, str]:
    """A quote that came from an opportunity of the emulator's org (its link, as the inbound flow
    writes it), in a connection whose quote settings allow sending back (or not)."""
    from sync_engine.models import LinkStatus, RecordType, SyncLink
    from sync_engine.quotes.models import QuoteSettings
    from tests.conftest import salesforce_opportunity

    QuoteSettings.objects.create(connection=connection, sync_back=sync_back, opportunity_to_quote=True, owner=world.member)
    opportunity_id = salesforce_opportunity(emulator, name="Bridge inspection, Ottawa region")
    quote = make_quote(world.tenant, owner=world.member)
    SyncLink.objects.create(tenant=world.tenant, connection=connection, record_type=RecordType.QUOTE, record_id=quote.pk,
                            sobject="Opportunity", salesforce_id=opportunity_id, status=LinkStatus.SYNCED)
    return quote, opportunity_id
