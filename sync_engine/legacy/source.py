"""What the matcher reads: the Cothon opportunities not linked in the connection, and the
connection's legacy Salesforce opportunities (no Cothon_Ref__c, not linked to any Cothon record).

The Salesforce side goes through the one client layer and selects only what scoring needs (Id,
Name, CloseDate, Amount, AccountId, Account.Name, StageName — those the object has). Paged SOQL
(2,000 rows a page, one call each) for a usual org; from `BULK_THRESHOLD` rows one Bulk API 2.0
query job (create, poll, one call per `BULK_CHUNK` rows) instead, as the incremental pull does."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from integrations.mapping.opportunity import EXTERNAL_ID_FIELD
from integrations.models import SalesforceConnection
from integrations.sync_settings import describe_get, sync_settings_for
from opportunities.models import Opportunity
from sync_engine.legacy.scoring import CothonSide, SalesforceSide
from sync_engine.models import SyncLink
from sync_engine.vocabulary import RecordType

BULK_THRESHOLD = 10000  # rows: below, paged SOQL (≤ 5 calls); from here, one Bulk 2.0 job
BULK_CHUNK = 50000
WANTED = ("Id", "Name", "CloseDate", "Amount", "AccountId", "StageName")


@dataclass
class SalesforceRead:
    records: list[SalesforceSide]
    read_with: str  # "soql" | "bulk"
    total: int


def opportunity_sobject(connection: SalesforceConnection) -> str:
    return sync_settings_for(connection=connection).objects.opportunity


def cothon_candidates(*, connection: SalesforceConnection) -> list[CothonSide]:
    """The tenant's opportunities with no Salesforce record in this connection (no link, or a
    link without an id: a push that failed), with their department's Account id in the org."""
    sobject = opportunity_sobject(connection)
    linked = SyncLink.objects.filter(connection=connection, record_type=RecordType.OPPORTUNITY, sobject=sobject).exclude(
        salesforce_id="").values("record_id")
    accounts = dict(SyncLink.objects.filter(connection=connection, record_type=RecordType.DEPARTMENT).exclude(
        salesforce_id="").values_list("record_id", "salesforce_id"))
    rows = (Opportunity.objects.filter(tenant_id=connection.tenant_id).exclude(pk__in=linked)
            .values_list("pk", "title", "closing_date", "value_min", "value_max", "department_id", "department__name")
            .order_by("pk"))
    return [CothonSide(id=pk, title=title, closing_date=closing, value_min=low, value_max=high,
                       department_name=department_name or "", account_id=accounts.get(department_id, "") if department_id else "")
            for pk, title, closing, low, high, department_id, department_name in rows.iterator(chunk_size=2000)]


def legacy_soql(sobject: str, describe: dict | None) -> str:
    available = {f["name"].lower() for f in (describe or {}).get("fields", [])}
    has = (lambda name: name.lower() in available) if describe else (lambda name: True)
    fields = [name for name in WANTED if name in ("Id", "Name") or has(name)]
    if "AccountId" in fields:
        fields.append("Account.Name")
    return f"SELECT {', '.join(fields)} FROM {sobject} WHERE {EXTERNAL_ID_FIELD} = null ORDER BY Id"


def read_legacy(*, connection: SalesforceConnection, client, on_progress: Callable[[int, str], None] | None = None) -> SalesforceRead:
    """Every legacy opportunity of the org not already linked in the connection, in Id order."""
    sobject = opportunity_sobject(connection)
    describe = describe_get(connection=connection, sobject=sobject, client=client)
    soql = legacy_soql(sobject, describe)
    page = client.call(lambda sf: sf.query(soql))
    total = int(page.get("totalSize") or 0)
    records: list[SalesforceSide] = []
    if total >= BULK_THRESHOLD:  # the first page is dropped: the job reads every row again
        read_with = "bulk"
        types = {f["name"].lower(): f.get("type", "") for f in (describe or {}).get("fields", [])}
        bulk_soql = soql.replace(" ORDER BY Id", "")
        results = client.call(lambda sf: getattr(sf.bulk2, sobject).query(bulk_soql, max_records=BULK_CHUNK, wait=1))
        while True:
            text = client.call(lambda sf: next(results, None))
            if text is None:
                break
            records.extend(_from_csv_row(row, types) for row in csv.DictReader(io.StringIO(text)))
            if on_progress:
                on_progress(len(records), read_with)
    else:
        read_with = "soql"
        while True:
            records.extend(_from_rest(r) for r in page.get("records", []))
            if on_progress:
                on_progress(len(records), read_with)
            if page.get("done", True):
                break
            next_url = page["nextRecordsUrl"]
            page = client.call(lambda sf: sf.query_more(next_url, identifier_is_url=True))
    linked = set(SyncLink.objects.filter(connection=connection, sobject=sobject).exclude(salesforce_id="")
                 .values_list("salesforce_id", flat=True))
    linked |= {i[:15] for i in linked}
    kept = sorted((r for r in records if r.id not in linked and r.id[:15] not in linked), key=lambda r: r.id)
    return SalesforceRead(records=kept, read_with=read_with, total=total)


def _date(value) -> datetime.date | None:
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _decimal(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _from_rest(record: dict) -> SalesforceSide:
    account = record.get("Account") or {}
    return SalesforceSide(id=record["Id"], name=record.get("Name") or "", close_date=_date(record.get("CloseDate")),
                          amount=_decimal(record.get("Amount")), account_id=record.get("AccountId") or "",
                          account_name=(account.get("Name") if isinstance(account, dict) else "") or "",
                          stage=record.get("StageName") or "")


def _from_csv_row(row: dict, types: dict) -> SalesforceSide:
    return SalesforceSide(id=row["Id"], name=row.get("Name") or "", close_date=_date(row.get("CloseDate")),
                          amount=_decimal(row.get("Amount")), account_id=row.get("AccountId") or "",
                          account_name=row.get("Account.Name") or "", stage=row.get("StageName") or "")
