"""Realistic demo content: two bid-team tenants and ~50 Canadian government opportunities each.

Deterministic (seeded random) and idempotent: running it again adds nothing that exists.
Everything is written through the services, so the demo exercises the same paths as users.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from demo.accounts import DEMO_PASSWORD, DEMO_TENANTS, DemoTenant
from cothon.models import Tenant
from cothon.tenancy.services import membership_set, tenant_create, user_get_or_create
from opportunities.models import Opportunity
from opportunities.services import (
    analysis_complete,
    analysis_create,
    comment_create,
    department_get_or_create,
    opportunity_create,
    requirement_add,
)
from proposals.services import proposal_create, quote_create, quote_line_add

DEPARTMENTS = (
    ("Department of National Defence", "DND"), ("Shared Services Canada", "SSC"),
    ("Public Services and Procurement Canada", "PSPC"), ("Health Canada", "HC"), ("Transport Canada", "TC"),
    ("Environment and Climate Change Canada", "ECCC"), ("Canada Revenue Agency", "CRA"),
    ("Employment and Social Development Canada", "ESDC"), ("Fisheries and Oceans Canada", "DFO"),
    ("Royal Canadian Mounted Police", "RCMP"), ("Statistics Canada", "StatCan"), ("Natural Resources Canada", "NRCan"),
    ("Parks Canada", "PC"), ("Canadian Space Agency", "CSA"), ("Immigration, Refugees and Citizenship Canada", "IRCC"),
)

SUBJECTS = (
    ("Cloud hosting and managed services for", "it", "43233200"),
    ("Cybersecurity assessment and penetration testing for", "it", "81111800"),
    ("Enterprise data analytics platform for", "it", "43232300"),
    ("Network modernization and SD-WAN deployment for", "it", "43222600"),
    ("Help desk and end-user support services for", "professional", "81112200"),
    ("Bilingual translation services for", "professional", "82111900"),
    ("Change management and training for", "professional", "80111500"),
    ("Facility maintenance services for", "services", "72101500"),
    ("Snow removal and grounds keeping at", "services", "70111700"),
    ("Laboratory equipment supply for", "goods", "41100000"),
    ("Rugged laptops and mobile devices for", "goods", "43211500"),
    ("Marine vessel refit for", "construction", "25111900"),
    ("Building envelope rehabilitation for", "construction", "72151500"),
    ("Geospatial imaging services for", "professional", "81151600"),
    ("Records digitization and archiving for", "services", "80161500"),
    ("Contact centre modernization for", "it", "43232400"),
)

PLACES = ("Ottawa HQ", "the Atlantic region", "the Prairies region", "Northern operations", "the Pacific region",
          "the National Capital Region", "Quebec region offices", "the Ontario region")
PROVINCES = ("Ontario", "Quebec", "British Columbia", "Alberta", "Nova Scotia", "Manitoba", "Saskatchewan",
             "New Brunswick", "Newfoundland and Labrador", "Nunavut")
METHODS = ("rfp", "rfp", "rfp", "rfq", "standing_offer", "supply_arrangement", "task_authorization")
STATUSES = ("identified",) * 12 + ("analyzing",) * 10 + ("pursuing",) * 10 + ("submitted",) * 8 + ("won",) * 5 + ("lost",) * 5
REF_PREFIXES = ("W6369", "EN578", "24062", "W8486", "5X001", "EW702", "F5211", "T8080")

FINDINGS = (
    "Strong fit for technical requirements",
    "Concerns about pricing competitiveness",
    "Security clearance (Reliability) needed for all resources",
    "Incumbent advantage is significant",
    "Bilingual delivery capacity required in year one",
)
REQUIREMENTS = (
    ("M1", "mandatory", "Bidder must hold a valid Designated Organization Screening (DOS)."),
    ("M2", "mandatory", "Proposed resources must be bilingual (English and French) at level BBB."),
    ("M3", "mandatory", "Bidder must demonstrate three similar projects in the last five years."),
    ("R1", "rated", "Quality of the proposed methodology and work plan."),
    ("R2", "rated", "Experience of the proposed project manager."),
    ("R3", "rated", "Indigenous participation plan."),
)


def seed_demo(*, opportunities_per_tenant: int = 50) -> list[Tenant]:
    return [_seed_tenant(spec, index, opportunities_per_tenant) for index, spec in enumerate(DEMO_TENANTS)]


@transaction.atomic
def _seed_tenant(spec: DemoTenant, index: int, count: int) -> Tenant:
    tenant = Tenant.objects.filter(slug=spec.slug).first() or tenant_create(name=spec.name, slug=spec.slug, time_zone=spec.time_zone)
    users = {}
    for username, first, last, role in spec.people:
        user = user_get_or_create(username=username, email=f"{username}@{spec.slug}.example.com", password=DEMO_PASSWORD,
                                  first_name=first, last_name=last)
        membership_set(tenant=tenant, user=user, role=role)
        users[role] = user
    _seed_alerts(tenant, spec, users["admin"])
    if Opportunity.objects.filter(tenant=tenant).exists():
        return tenant

    rng = random.Random(2026 + index)
    today = timezone.localdate()
    departments = [department_get_or_create(tenant=tenant, name=name) for name, _ in DEPARTMENTS]
    for n in range(count):
        subject, category, unspsc = SUBJECTS[n % len(SUBJECTS)]
        department = departments[rng.randrange(len(departments))]
        status = STATUSES[(n * 11) % len(STATUSES)]  # 11 is coprime with 50: spreads statuses
        low = Decimal(rng.choice((75, 120, 250, 400, 650, 900, 1500, 2400, 4800))) * 1000
        closing = today + datetime.timedelta(days=rng.randint(-60, -5) if status in ("won", "lost", "submitted") else rng.randint(2, 120))
        opportunity = opportunity_create(
            tenant=tenant,
            created_by=users["member"],
            title=f"{subject} {department.name} — {rng.choice(PLACES)}",
            reference=f"{rng.choice(REF_PREFIXES)}-{rng.randint(210000, 269999)}/{chr(65 + rng.randint(0, 3))}",
            value_min=low,
            value_max=low * Decimal(rng.choice(("1.0", "1.5", "2.0", "2.5"))),
            closing_date=closing,
            department=department,
            status=status,
            category=category,
            procurement_method=rng.choice(METHODS),
            location=rng.choice(PROVINCES),
            unspsc_code=unspsc,
            win_probability=rng.choice((10, 20, 35, 50, 65, 80)),
            assignee=users["member"] if n % 3 else users["admin"],
            description=(
                f"{department.name} is seeking a qualified supplier. Solicitation issued on CanadaBuys. "
                "Bidders' conference scheduled two weeks after posting; questions close ten days before bid closing."
            ),
        )
        if status in ("analyzing", "pursuing", "submitted", "won", "lost"):
            _seed_analysis(tenant, opportunity, users["member"], rng, complete=status != "analyzing")
        if n % 4 == 0:
            comment_create(tenant=tenant, opportunity=opportunity, author=users["member"],
                           body="Bidders' conference notes uploaded; pricing team engaged.")
        if status in ("pursuing", "submitted") and n % 2 == 0:
            proposal_create(tenant=tenant, opportunity=opportunity, title=f"Proposal — {opportunity.reference}",
                            created_by=users["member"])
        if status in ("submitted", "won") and n % 3 == 0:
            quote = quote_create(tenant=tenant, opportunity=opportunity, title=f"Pricing for {opportunity.reference}",
                                 company_name=department.name, owner=users["admin"])
            quote_line_add(tenant=tenant, quote=quote, description="Project management", quantity=Decimal("120"), unit_price=Decimal("145.00"))
            quote_line_add(tenant=tenant, quote=quote, description="Senior consultant", quantity=Decimal("400"), unit_price=Decimal("165.00"))
    return tenant


def _seed_alerts(tenant: Tenant, spec: DemoTenant, admin) -> None:
    """Alerts on, to the ops mailbox: `make run`'s SMTP catcher takes them and the Outbox (demo)
    page shows them (docs/alerts.md). Left alone once an admin has saved settings."""
    from sync_engine.alerts.models import AlertSettings, all_kinds
    from sync_engine.alerts.services import alert_settings_save

    if not AlertSettings.objects.filter(tenant=tenant).exists():
        alert_settings_save(tenant=tenant, enabled=True, recipients=[f"ops@{spec.slug}.example.com"], webhook_url="",
                            kinds=list(all_kinds()), actor=admin)


def _seed_analysis(tenant, opportunity, author, rng: random.Random, *, complete: bool) -> None:
    findings = rng.sample(FINDINGS, 3)
    analysis = analysis_create(
        tenant=tenant, opportunity=opportunity, created_by=author,
        summary=f"Bid/no-bid analysis of {opportunity.reference}.",
        key_findings="\n".join(findings),
        risks="Tight timeline; pricing pressure from incumbents.",
    )
    for code, kind, text in REQUIREMENTS:
        requirement_add(tenant=tenant, analysis=analysis, code=code, kind=kind, text=text,
                        capability_match=rng.choice(("met", "met", "partial", "not_met")))
    if complete:
        analysis_complete(tenant=tenant, analysis=analysis, compliance_score=rng.randint(55, 96),
                          recommendation=rng.choice(("Pursue", "Pursue with cost review", "Pass")))
