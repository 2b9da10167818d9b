"""The incremental pull: what changed in Salesforce since the watermark, page by page.

One `queryAll` on SystemModstamp (from the watermark, moved back by an overlap window as far
as needed so a record committed late with an earlier stamp is not missed — `read_from`), ordered by SystemModstamp, selecting only
the mapped fields plus the org's unmapped custom fields (extended data). queryAll also returns
records deleted since (IsDeleted = true, their SystemModstamp moves at deletion), so deletions
cost no extra call. The linked Accounts (department names) are pulled the same way with their
own watermark; both first pages come in one composite call, so an idle cycle costs exactly one
call per connection.
(Records purged from the recycle bin before a cycle sees them are not reported; reconciliation's
queryAll does not return them either.) Salesforce answers in pages of 2,000 rows; each page is applied and
only then is the watermark moved to its highest SystemModstamp — a worker killed mid-page leaves
the watermark where it was and the page is read again (applying is idempotent).
When many pages are left, one Bulk API 2.0 queryAll job reads the rest (`_bulk_rest`).
"""

from __future__ import annotations

import csv
import datetime
import io
import logging
from dataclasses import dataclass, field
from urllib.parse import quote

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.mapping.opportunity_inbound import COTHON_ONLY, parse_datetime, pulled_mappings
from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.salesforce.errors import ErrorKind, SalesforceError
from integrations.sync_settings import describe_get, settings_current
from sync_engine.attempts import PUSH_TOKEN_FIELD
from sync_engine.governor import get_governor
from sync_engine.models import Priority
from sync_engine.pull.apply import PullContext, PullSummary, client_factory_for, pull_apply
from sync_engine.pull.accounts import account_fields, account_object, accounts_apply, accounts_linked, accounts_pulled
from sync_engine.pull.models import PullWatermark

logger = logging.getLogger(__name__)

OVERLAP = datetime.timedelta(minutes=2)
LEASE = datetime.timedelta(minutes=10)
PAGE_SIZE = 2000  # Salesforce's query page; the emulator's too
# A Bulk API 2.0 query costs about three calls (create, poll, one result chunk per BULK_CHUNK
# rows) against one queryMore call per 2,000 rows: worth it from four pages left.
BULK_QUERY_MIN_REMAINING = 8000
BULK_CHUNK = 10000


@dataclass
class IncrementalResult:
    summary: PullSummary  # the opportunity object's records (and every API call of the cycle)
    pages: int = 0
    stopped_because: str = ""
    accounts: PullSummary = field(default_factory=PullSummary)  # the Account object's records


def pull_directions() -> tuple[str, ...]:
    return ("bidirectional", "pull", "hybrid")


def select_fields(settings: dict, describe: dict | None) -> list[str]:
    """Id, SystemModstamp, IsDeleted, who changed the record last and when (a conflict's
    Salesforce side), the pulled mapped fields the org has, the push's token (Cothon_Push_Token__c,
    when the org has it), the owner's and account's names (no extra call to name them), and the
    org's custom fields no mapping reads."""
    available = {f["name"].lower(): f["name"] for f in (describe or {}).get("fields", [])}
    has = (lambda name: name.lower() in available) if describe else (lambda name: True)
    fields = ["Id", "SystemModstamp", "IsDeleted"] + [n for n in ("LastModifiedDate", "LastModifiedById") if has(n)]
    for mapping in pulled_mappings(settings):
        name = mapping["sf_field"]
        if has(name):
            fields.append(available.get(name.lower(), name))
    # Whether a push write whose worker died landed (sync_engine/attempts.py); never extended data.
    if PUSH_TOKEN_FIELD.lower() in available:
        fields.append(available[PUSH_TOKEN_FIELD.lower()])
    if "OwnerId" in fields:
        fields.append("Owner.Name")
    if "AccountId" in fields:
        fields += ["Account.Name", "Account.Cothon_Department_Key__c"]
    mapped = {m["sf_field"].lower() for m in settings.get("opportunity_mappings") or []}
    cothon_only = {m["sf_field"].lower() for m in settings.get("opportunity_mappings") or [] if m["cothon_field"] in COTHON_ONLY}
    for key, name in sorted(available.items()):
        if key.endswith("__c") and key not in mapped and key not in cothon_only:
            fields.append(name)
    seen: set[str] = set()
    return [f for f in fields if not (f.lower() in seen or seen.add(f.lower()))]


def modstamp_query(sobject: str, fields: list[str], since: datetime.datetime | None) -> str:
    where = f" WHERE SystemModstamp >= {since.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')}" if since else ""
    return f"SELECT {', '.join(fields)} FROM {sobject}{where} ORDER BY SystemModstamp ASC"


def _claim(connection: SalesforceConnection, sobject: str) -> PullWatermark | None:
    """The watermark row with a lease, or None while another worker holds it."""
    now = timezone.now()
    try:
        with transaction.atomic():
            PullWatermark.objects.get_or_create(connection=connection, sobject=sobject)
    except IntegrityError:
        pass  # created by a concurrent pull a moment ago
    claimed = PullWatermark.objects.filter(connection=connection, sobject=sobject).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)).update(lease_until=now + LEASE, last_started_at=now)
    return PullWatermark.objects.get(connection=connection, sobject=sobject) if claimed else None


def pull_incremental(*, connection_id: int, sobject: str | None = None) -> IncrementalResult:
    """One incremental cycle of one connection: the opportunity object (Opportunity, or the
    configured one) and, when departments are linked, the Account object, each with its own
    watermark; their first pages come in one call."""
    summary = PullSummary()
    connection = SalesforceConnection.objects.filter(pk=connection_id).select_related("tenant").first()
    if connection is None or connection.status != ConnectionStatus.CONNECTED:
        return IncrementalResult(summary, stopped_because="connection not usable")
    data = settings_current(connection=connection)
    if data.get("direction", "bidirectional") not in pull_directions():
        return IncrementalResult(summary, stopped_because="push only: nothing is pulled")
    sobject = sobject or (data.get("objects") or {}).get("opportunity", "Opportunity")
    governor = get_governor()
    admission = governor.admit(connection.pk, Priority.INCREMENTAL)
    if not admission.allowed:
        return IncrementalResult(summary, stopped_because=admission.reason or "API limit")
    mark = _claim(connection, sobject)
    if mark is None:
        return IncrementalResult(summary, stopped_because="another pull of this connection is running")
    account_sobject = account_object(data)
    # The linked Accounts (department names) have their own watermark; no department linked,
    # nothing to read.
    account_mark = _claim(connection, account_sobject) if (
        accounts_pulled(data) and accounts_linked(connection, data) and account_sobject.lower() != sobject.lower()) else None
    result = IncrementalResult(summary)
    holder: list = []
    ctx = PullContext(connection=connection, settings=data, client_factory=client_factory_for(connection, holder))
    holder.append(ctx)
    account_summary = result.accounts
    try:
        client = ctx.client()
        describe = describe_get(connection=connection, sobject=sobject, client=client)
        query_started = timezone.now()
        fields = select_fields(data, describe)
        soql = modstamp_query(sobject, fields, read_from(mark))
        if account_mark is None:
            page, account_page = client.call(lambda sf: sf.query(soql, include_deleted=True)), None
        else:
            # Both objects' first pages in one composite call: an idle cycle still costs one call.
            page, account_page = first_pages(client, soql, modstamp_query(account_sobject, account_fields(), read_from(account_mark)),
                                              result)
        result.pages += _read(connection, data, client, mark, sobject, fields, describe, page, summary, pull_apply)
        if account_page is not None:
            result.pages += _read(connection, data, client, account_mark, account_sobject, account_fields(), None, account_page,
                                  account_summary, accounts_apply)
    except SalesforceError as exc:
        result.stopped_because = f"{exc.code}: {exc.message}"
        if exc.kind is ErrorKind.QUOTA:
            governor.pause(connection.pk, 3600.0)
        _finish(mark, "failed", result.stopped_because, ctx, summary)
        if account_mark is not None:
            _finish(account_mark, "failed", result.stopped_because, ctx, account_summary)
        return result
    except Exception:
        message = "The pull stopped on an error; it starts again from the last applied page."
        _finish(mark, "failed", message, ctx, summary)
        if account_mark is not None:
            _finish(account_mark, "failed", message, ctx, account_summary)
        raise
    summary.api_calls += ctx.calls
    ctx.flush()
    # Every page applied: records changed before this query started minus the overlap are in.
    PullWatermark.objects.filter(pk=mark.pk).update(queried_at=query_started)
    _finish(mark, "succeeded", _describe(summary), ctx, summary)
    if account_mark is not None:
        if account_page is not None:
            PullWatermark.objects.filter(pk=account_mark.pk).update(queried_at=query_started)
        _finish(account_mark, "succeeded" if account_page is not None else "failed",
                _describe(account_summary) if account_page is not None else result.stopped_because, ctx, account_summary)
    return result


def first_pages(client, soql: str, account_soql: str, result: IncrementalResult) -> tuple[dict, dict | None]:
    """The first page of both queries through one composite call. The Account query failing
    (no access to Accounts, say) never stops the opportunities: its page is None, the reason
    kept on the result."""
    base = f"/services/data/v{client.api_version}/queryAll/?q="
    answer = client.rest("POST", "composite", json={"allOrNone": False, "compositeRequest": [
        {"method": "GET", "referenceId": "records", "url": base + quote(soql, safe="")},
        {"method": "GET", "referenceId": "accounts", "url": base + quote(account_soql, safe="")}]})
    pages = composite_pages(answer, ("records", "accounts"))
    if isinstance(pages[0], SalesforceError):
        raise pages[0]
    if isinstance(pages[1], SalesforceError):
        logger.warning("Account pull of this cycle skipped: %s", pages[1])
        result.stopped_because = f"Accounts not pulled: {pages[1].code}: {pages[1].message}"
        return pages[0], None
    return pages[0], pages[1]


def composite_pages(answer: dict | None, refs: tuple[str, ...]) -> list[dict | SalesforceError]:
    """Each subrequest's query page, or the SalesforceError it answered (a composite call
    succeeds as a whole while its subrequests fail one by one)."""
    parts = {part.get("referenceId"): part for part in (answer or {}).get("compositeResponse") or []}
    out: list[dict | SalesforceError] = []
    for ref in refs:
        part = parts.get(ref) or {}
        if int(part.get("httpStatusCode") or 500) < 400 and isinstance(part.get("body"), dict):
            out.append(part["body"])
            continue
        body = part.get("body")
        first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
        out.append(SalesforceError(str(first.get("errorCode") or "UNKNOWN"), str(first.get("message") or body or "No answer"),
                                   status=part.get("httpStatusCode")))
    return out


def _read(connection, data: dict, client, mark: PullWatermark, sobject: str, fields: list[str], describe: dict | None, page: dict,
          summary: PullSummary, apply) -> int:
    """Apply a query's pages from its first one, moving the watermark after each; the rest
    through one Bulk API 2.0 job when many pages are left. Returns the pages read."""
    pages = 0
    while True:
        records = [plain_record(r) for r in page.get("records", [])]
        _apply_page(connection, data, client, mark, records, summary, apply)
        pages += 1
        if page.get("done", True):
            return pages
        remaining = int(page.get("totalSize") or 0) - summary.seen
        if remaining >= BULK_QUERY_MIN_REMAINING:
            # Many more pages to come: one Bulk API 2.0 job reads them for a few calls.
            return pages + _bulk_rest(connection, data, client, mark, sobject, fields, describe, summary, apply)
        next_url = page["nextRecordsUrl"]
        page = client.call(lambda sf: sf.query_more(next_url, identifier_is_url=True, include_deleted=True))


def read_from(mark: PullWatermark) -> datetime.datetime | None:
    """Where a cycle starts reading: the watermark, moved back by the overlap window only as far
    as the last complete cycle's query time requires. A record committed late carries a stamp at
    most OVERLAP before its commit, so one not visible to that query has a stamp after
    `queried_at - OVERLAP`."""
    if mark.watermark is None:
        return None
    if mark.queried_at is None:
        return mark.watermark - OVERLAP
    return min(mark.watermark, mark.queried_at - OVERLAP)


def _apply_page(connection, data: dict, client, mark: PullWatermark, records: list[dict], summary: PullSummary, apply) -> None:
    """Apply one page; only then move the watermark to its newest SystemModstamp."""
    page_summary = apply(connection=connection, sobject_records=records, settings=data,
                         client_factory=lambda: client, source="incremental")
    summary.add(page_summary)
    stamps = [parse_datetime(r.get("SystemModstamp") or "") for r in records]
    newest = max((s for s in stamps if s is not None), default=None)
    if newest is not None and (mark.watermark is None or newest > mark.watermark):
        PullWatermark.objects.filter(pk=mark.pk).update(watermark=newest)
        mark.watermark = newest


def _bulk_rest(connection, data: dict, client, mark: PullWatermark, sobject: str, fields: list[str], describe: dict | None,
               summary: PullSummary, apply=pull_apply) -> int:
    """The rest of a large pull through one Bulk API 2.0 queryAll job (create, poll, then one
    call per BULK_CHUNK rows) instead of a queryMore call per 2,000 rows. A Bulk job's rows are
    not ordered, so the watermark moves only once every chunk is applied; a crash re-reads the
    job (applying is idempotent)."""
    from sync_engine.pull.outbound import typed_fields

    soql = modstamp_query(sobject, fields, mark.watermark).replace(" ORDER BY SystemModstamp ASC", "")
    types = {f["name"].lower(): f.get("type", "") for f in (describe or {}).get("fields", [])}
    results = client.call(lambda sf: getattr(sf.bulk2, sobject).query_all(soql, max_records=BULK_CHUNK, wait=1))
    chunks = 0
    newest = None
    while True:
        text = client.call(lambda sf: next(results, None))
        if text is None:
            break
        chunks += 1
        records = [_nest(typed_fields(_nulls(row), types)) for row in csv.DictReader(io.StringIO(text))]
        summary.add(apply(connection=connection, sobject_records=records, settings=data,
                          client_factory=lambda: client, source="incremental"))
        stamps = [parse_datetime(r.get("SystemModstamp") or "") for r in records]
        newest = max([s for s in stamps if s is not None] + ([newest] if newest else []), default=None)
    if newest is not None and (mark.watermark is None or newest > mark.watermark):
        PullWatermark.objects.filter(pk=mark.pk).update(watermark=newest)
        mark.watermark = newest
    return chunks


def _nulls(row: dict) -> dict:
    return {k: (None if v == "" else v) for k, v in row.items()}


def _nest(row: dict) -> dict:
    """Bulk CSV columns `Owner.Name` → {"Owner": {"Name": …}}, as the REST query returns them."""
    out: dict = {}
    for key, value in row.items():
        head, dot, tail = key.partition(".")
        if dot:
            out.setdefault(head, {})[tail] = value
        else:
            out[key] = value
    return out


def plain_record(record: dict) -> dict:
    out = {k: v for k, v in record.items() if k != "attributes"}
    for key in ("Owner", "Account"):
        if isinstance(out.get(key), dict):
            out[key] = {k: v for k, v in out[key].items() if k != "attributes"}
    return out


def _finish(mark: PullWatermark, outcome: str, message: str, ctx: PullContext, summary: PullSummary) -> None:
    summary.api_calls += ctx.calls
    ctx.flush()
    with transaction.atomic():
        PullWatermark.objects.filter(pk=mark.pk).update(
            lease_until=None, last_finished_at=timezone.now(), last_result=outcome, last_message=message[:2000],
            last_api_calls=summary.api_calls, last_applied=summary.applied + summary.created)


def _describe(summary: PullSummary) -> str:
    parts = [f"{summary.seen} record(s) read", f"{summary.applied} updated", f"{summary.created} imported"]
    if summary.deleted:
        parts.append(f"{summary.deleted} deleted in Salesforce")
    if summary.echoes:
        parts.append(f"{summary.echoes} unchanged since our own push")
    if summary.contact_roles:
        parts.append(f"{summary.contact_roles} contact role(s) added, changed or removed")
    if summary.failed:
        parts.append(f"{summary.failed} failed")
    return ", ".join(parts) + "."
