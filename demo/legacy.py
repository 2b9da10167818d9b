"""The demo's legacy records: opportunities someone typed into the demo org by hand before
Cothon was connected (no Cothon_Ref__c), and the same six tenders as Cothon has them, so Settings
› Integrations › Salesforce › Legacy records has something to review on `make run`.

Written after the first full sync, through the normal paths: the Cothon side with the
opportunities services, the Salesforce side through the connection's client (sObject
Collections), then Match Legacy Records runs once, in this process. Its proposals hold the six
Cothon opportunities' pushes until someone decides, so the workers never create a second
Salesforce opportunity beside the legacy one. Idempotent: an existing pair is left alone."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from integrations.connections import client_for
from integrations.models import SalesforceConnection
from integrations.salesforce.soql import soql_quote
from opportunities.models import Opportunity
from opportunities.services import department_get_or_create, opportunity_create
from sync_engine.legacy.services import legacy_match_run, legacy_match_start


@dataclass(frozen=True)
class LegacyPair:
    reference: str
    title: str            # in Cothon
    department: str
    value_min: int
    value_max: int
    closing_in_days: int
    sf_name: str          # in the demo org, typed differently
    sf_close_shift: int   # days after Cothon's closing date
    sf_amount: int
    sf_stage: str


PAIRS = (
    LegacyPair("9F028-260114/A", "Satellite communication terminals for Canadian Space Agency — Ottawa HQ", "Canadian Space Agency",
               850_000, 1_200_000, 45, "Satellite communications terminals - Canadian Space Agency (Ottawa)", 2, 1_000_000, "Qualification"),
    LegacyPair("23483-260221/B", "Wildfire detection sensor network for Natural Resources Canada", "Natural Resources Canada",
               500_000, 750_000, 30, "NRCan - Wildfire detection sensor network", 0, 640_000, "Prospecting"),
    LegacyPair("B8607-260305/A", "Passport office renovation for Immigration, Refugees and Citizenship Canada — Quebec region offices",
               "Immigration, Refugees and Citizenship Canada", 2_400_000, 3_600_000, 60,
               "Passport office renovations, IRCC Quebec region", -2, 3_000_000, "Proposal"),
    LegacyPair("F7013-260118/C", "Coast guard radar maintenance for Fisheries and Oceans Canada — the Atlantic region",
               "Fisheries and Oceans Canada", 400_000, 600_000, 20, "Coast Guard radar maintenance (Atlantic) - DFO", 1, 500_000,
               "Qualification"),
    LegacyPair("1000288213/A", "Payroll system support services for Canada Revenue Agency", "Canada Revenue Agency",
               1_500_000, 2_250_000, 75, "CRA payroll system support services FY2027", 0, 1_900_000, "Prospecting"),
    LegacyPair("5P420-260042/A", "Indigenous language translation services for Parks Canada", "Parks Canada",
               120_000, 180_000, 15, "Indigenous languages translation – Parks Canada", -1, 150_000, "Negotiation"),
)
# Typed in Salesforce too, but not these tenders: one close enough to be proposed (to reject),
# one that is not proposed at all.
DECOYS = (
    ("Coast Guard radar maintenance (Pacific) - DFO", "Fisheries and Oceans Canada", 35, 700_000, "Prospecting"),
    ("Payroll system support services - Statistics Canada", "Statistics Canada", 200, 90_000, "Closed Lost"),
)


def seed_legacy_records(*, connection: SalesforceConnection) -> str:
    """Create what is missing of the demo's legacy pairs and run the matcher once. Returns a line
    for the console."""
    tenant = connection.tenant
    if Opportunity.objects.filter(tenant=tenant, reference=PAIRS[0].reference).exists():
        return "legacy records already in place"
    today = timezone.localdate()
    member = tenant.memberships.filter(role="member").first()
    client = client_for(connection)
    names = sorted({p.department for p in PAIRS} | {d[1] for d in DECOYS})
    found = client.query(f"SELECT Id, Name FROM Account WHERE Name IN ({', '.join(soql_quote(n) for n in names)})")["records"]
    accounts = {r["Name"]: r["Id"] for r in found}
    existing = {r["Name"] for r in client.query_all_iter(
        "SELECT Name FROM Opportunity WHERE Cothon_Ref__c = null")}
    records = []
    for pair in PAIRS:
        closing = today + datetime.timedelta(days=pair.closing_in_days)
        if pair.sf_name not in existing:
            records.append(_sf_record(pair.sf_name, closing + datetime.timedelta(days=pair.sf_close_shift), pair.sf_amount,
                                      pair.sf_stage, accounts.get(pair.department)))
    for name, department, days, amount, stage in DECOYS:
        if name not in existing:
            records.append(_sf_record(name, today + datetime.timedelta(days=days), amount, stage, accounts.get(department)))
    if records:
        results = client.collections_create(records, all_or_none=True)
        failed = [r for r in results if not r.get("success")]
        if failed:
            return f"legacy records not created in Salesforce: {failed[0].get('errors')}"
    with transaction.atomic():
        for pair in PAIRS:
            opportunity_create(
                tenant=tenant, created_by=member.user if member else None, title=pair.title, reference=pair.reference,
                value_min=Decimal(pair.value_min), value_max=Decimal(pair.value_max),
                closing_date=today + datetime.timedelta(days=pair.closing_in_days),
                department=department_get_or_create(tenant=tenant, name=pair.department), status="identified",
                category="services", procurement_method="rfp",
                description="Also tracked in Salesforce since before Cothon was connected (see Legacy records).")
        job = legacy_match_start(connection=connection)
    job = legacy_match_run(job_id=job.pk) or job
    job.refresh_from_db()
    return f"{len(PAIRS)} legacy opportunities in the org; Match Legacy Records: {job.message or job.get_status_display()}"


def _sf_record(name: str, close: datetime.date, amount: int, stage: str, account_id: str | None) -> dict:
    record = {"attributes": {"type": "Opportunity"}, "Name": name, "CloseDate": close.isoformat(), "Amount": amount,
              "StageName": stage}
    if account_id:
        record["AccountId"] = account_id
    return record
