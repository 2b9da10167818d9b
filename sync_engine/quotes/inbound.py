"""Opportunities → quotes: read an opportunity with its Account and primary contact in one
query, and make its quote — once, ever.

A quote is created in status Scoping, titled after the opportunity, owned by the quote
settings' owner, for the Account's company and (Contact → Person on) the primary contact's
person (sync_engine.quotes.records), with the settings' field mappings applied; a mapped value
the quote cannot hold is skipped with a logged reason and the quote is still made. The
quote's SyncLink (record type "quote", the Opportunity's id) is written in the same
transaction: the constraint `link_unique_quote_sf_id` allows one per opportunity, and the
connection's QuoteSettings row is locked first, so concurrent workers, replayed messages,
retries and Synchronize now never make a second quote (the loser finds the link).

The stored Outbound Message notifications (sync_engine.quotes.receiver) are processed here by
a thin task on the real-time queue; the sweeper sends it again for rows left behind."""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from integrations.mapping.opportunity_inbound import id18
from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.salesforce.errors import SalesforceError
from integrations.salesforce.soql import soql_quote
from integrations.sync_settings import describe_get
from opportunities.models import Opportunity
from proposals.quote_custom_fields import quote_custom_values_clean
from proposals.quote_services import quote_create
from proposals.models import Quote, QuoteStatus
from sync_engine.models import LinkStatus, MatchedBy, SyncLink, SyncResult
from sync_engine.pull.accounts import account_object
from sync_engine.pull.apply import PullContext, pull_context
from sync_engine.quotes import records
from sync_engine.quotes.models import QuoteNotification, QuoteSettings
from sync_engine.quotes.receiver import enqueue_processing
from sync_engine.vocabulary import RecordType

logger = logging.getLogger(__name__)

SOBJECT = "Opportunity"
BASE_FIELDS = ("Id", "Name", "StageName", "Amount", "CloseDate", "AccountId")
QUOTE_TARGETS = ("title", "currency", "valid_until", "terms", "notes")
CUSTOM_PREFIX = "custom:"
IN_LIST_MAX = 200  # ids in one IN list: the query's URL stays well under Salesforce's 16 KB
PROCESS_BATCH = 200
STALE_AFTER = datetime.timedelta(seconds=20)
MAX_ATTEMPTS = 10
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass
class Outcome:
    result: str  # created | existing | failed
    quote: Quote | None = None
    message: str = ""
    notes: list[str] = field(default_factory=list)  # about the company and person
    skipped: list[str] = field(default_factory=list)  # mapped values the quote could not take


# --- reading -----------------------------------------------------------------------------------

def field_names(describe: dict | None) -> dict[str, dict]:
    """Lower-cased API name → the field's describe."""
    return {f["name"].lower(): f for f in (describe or {}).get("fields", [])}


def opportunity_select(*, connection: SalesforceConnection, quote_settings: QuoteSettings, contacts: bool) -> str:
    """SELECT … FROM Opportunity for a quote: the base fields, the mapped ones, the Account's
    name and department key, and (Contact → Person on) the contact roles' Contacts — one query.
    Field names come from the settings and are checked against the describe (never pasted raw)."""
    known = field_names(describe_get(connection=connection, sobject=SOBJECT))
    names = list(BASE_FIELDS)
    for mapping in quote_settings.field_mappings or []:
        name = str(mapping.get("sf_field") or "")
        if _NAME.match(name) and name.lower() in known and name.lower() not in {n.lower() for n in names}:
            names.append(known[name.lower()]["name"])
    account_known = field_names(describe_get(connection=connection, sobject="Account"))
    names.append("Account.Name")
    if records.DEPARTMENT_KEY_FIELD.lower() in account_known:
        names.append(f"Account.{records.DEPARTMENT_KEY_FIELD}")
    if contacts:
        contact_fields = ", ".join(f"Contact.{name}" for name in records.CONTACT_FIELDS)
        names.append(f"(SELECT IsPrimary, {contact_fields} FROM OpportunityContactRoles ORDER BY IsPrimary DESC)")
    return f"SELECT {', '.join(names)} FROM {SOBJECT}"


def opportunities_read(ctx: PullContext, quote_settings: QuoteSettings, ids: list[str]) -> dict[str, dict]:
    """Salesforce id (18) → the opportunity record with its Account and contact roles; one
    query per IN_LIST_MAX ids. Ids that are not there (deleted, not visible) are absent."""
    if not ids:
        return {}
    select = opportunity_select(connection=ctx.connection, quote_settings=quote_settings,
                                contacts=quote_settings.contact_to_person)
    found: dict[str, dict] = {}
    for start in range(0, len(ids), IN_LIST_MAX):
        chunk = ids[start:start + IN_LIST_MAX]
        soql = f"{select} WHERE Id IN ({', '.join(soql_quote(i) for i in chunk)})"
        for record in ctx.client().query_all_iter(soql):
            found[id18(record["Id"])] = record
    return found


# --- mapping -----------------------------------------------------------------------------------

def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def mapped_values(*, tenant, mappings: list[dict], record: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The quote fields the settings' mappings give for one opportunity, and why any value was
    skipped. Built-in targets are checked here; custom ones by proposals' own validation."""
    values: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    problems: list[str] = []
    for mapping in mappings or []:
        source, target = str(mapping.get("sf_field") or ""), str(mapping.get("target") or "")
        if source not in record:
            continue  # not readable any more (deleted field): the settings page shows it
        value = record.get(source)
        if value is None or value == "":
            continue
        if target.startswith(CUSTOM_PREFIX):
            custom[target[len(CUSTOM_PREFIX):]] = value
        elif target == "valid_until":
            try:
                values[target] = datetime.date.fromisoformat(_text(value)[:10])
            except ValueError:
                problems.append(f"{source} → valid until: “{value}” is not a date.")
        elif target == "currency":
            code = _text(value).strip().upper()
            if re.fullmatch(r"[A-Z]{3}", code):
                values[target] = code
            else:
                problems.append(f"{source} → currency: “{value}” is not a three-letter currency code.")
        elif target in ("title", "terms", "notes"):
            limit = 255 if target == "title" else 20000
            text = _text(value)
            if len(text) > limit:
                problems.append(f"{source} → {target}: longer than {limit} characters; cut to fit.")
                text = text[:limit - 1] + "…"
            values[target] = text
        else:
            problems.append(f"{source} → {target}: not a quote field.")
    if custom:
        cleaned: dict[str, Any] = {}
        for key, value in custom.items():
            try:
                cleaned.update(quote_custom_values_clean(tenant=tenant, values={key: value}))
            except ValidationError as exc:
                problems.append(f"{key}: “{value}” skipped — {'; '.join(exc.messages)}")
        if cleaned:
            values["custom_values"] = cleaned
    return values, problems


# --- the quote ---------------------------------------------------------------------------------

def quote_for_opportunity(*, connection: SalesforceConnection, salesforce_id: str) -> Outcome | None:
    """The opportunity's quote when it has had one (None: never). A quote deleted in Cothon
    keeps its link: one quote per opportunity, ever, so it is not made again."""
    quote_id = (SyncLink.objects.filter(connection=connection, record_type=RecordType.QUOTE, sobject=SOBJECT,
                                        salesforce_id=id18(salesforce_id)).values_list("record_id", flat=True).first())
    if quote_id is None:
        return None
    quote = Quote.objects.filter(tenant_id=connection.tenant_id, pk=quote_id).first()
    if quote is None:
        return Outcome("existing", None, "Its quote was deleted in Cothon; an opportunity makes one quote, ever.")
    return Outcome("existing", quote, f"Already has quote {quote.number}: nothing done.")


def quoted_ids(*, connection: SalesforceConnection, salesforce_ids: list[str]) -> dict[str, int]:
    """Salesforce opportunity id → quote id, for those that already have their quote."""
    out: dict[str, int] = {}
    for start in range(0, len(salesforce_ids), 1000):
        out.update(SyncLink.objects.filter(
            connection=connection, record_type=RecordType.QUOTE, sobject=SOBJECT,
            salesforce_id__in=salesforce_ids[start:start + 1000]).values_list("salesforce_id", "record_id"))
    return out


def quote_from_opportunity(*, ctx: PullContext, quote_settings: QuoteSettings, record: dict[str, Any]) -> Outcome:
    """The opportunity's quote: created (with its company and person) unless it has one."""
    salesforce_id = id18(record["Id"])
    connection = ctx.connection
    try:
        with transaction.atomic():
            # One creator at a time per connection (PostgreSQL; SQLite's IMMEDIATE transactions
            # are serialized anyway): the link check below then sees the winner's link, and the
            # constraint stays the last guard.
            QuoteSettings.objects.select_for_update().filter(pk=quote_settings.pk).first()
            existing = quote_for_opportunity(connection=connection, salesforce_id=salesforce_id)
            if existing is not None:
                return existing  # another worker made it a moment ago (or long ago): not logged again
            outcome = _create(ctx, quote_settings, record, salesforce_id)
    except IntegrityError:
        existing = quote_for_opportunity(connection=connection, salesforce_id=salesforce_id)
        if existing is None:
            raise  # not the link (a quote number taken meanwhile): the caller retries later
        return existing
    except ValidationError as exc:
        outcome = Outcome("failed", message="; ".join(exc.messages))
    _log(ctx, outcome, record)
    return outcome


def _create(ctx: PullContext, quote_settings: QuoteSettings, record: dict[str, Any], salesforce_id: str) -> Outcome:
    connection, tenant = ctx.connection, ctx.connection.tenant
    owner = quote_settings.owner
    notes: list[str] = []
    company = records.company_for_account(connection=connection, account_sobject=account_object(ctx.settings),
                                          account_id=record.get("AccountId"), account=record.get("Account"),
                                          related_user=owner)
    if company.problem:
        notes.append(company.problem)
    person = records.Found(None, "off")
    if quote_settings.contact_to_person:
        person = records.person_for_contact(connection=connection, contact=records.primary_contact(record),
                                            company=company.record, related_user=owner)
        if person.problem:
            notes.append(person.problem)
        other_company = company.record is not None and person.record is not None \
            and person.record.department_id not in (None, company.record.pk)
        if other_company:
            # A quote's person works for its company (proposals refuses another): the Contact
            # moved to another Account, or two people share an e-mail address.
            notes.append(f"Person {person.record} works for another company; not set on the quote.")
            person = records.Found(None, "other company")
    values, problems = mapped_values(tenant=tenant, mappings=quote_settings.field_mappings, record=record)
    title = values.pop("title", None) or (record.get("Name") or f"Opportunity {salesforce_id}")[:255]
    opportunity_id = (SyncLink.objects.filter(connection=connection, record_type=RecordType.OPPORTUNITY,
                                              salesforce_id=salesforce_id).values_list("record_id", flat=True).first())
    opportunity = Opportunity.objects.filter(tenant=tenant, pk=opportunity_id).first() if opportunity_id else None
    quote = quote_create(
        tenant=tenant, title=title, opportunity=opportunity, status=QuoteStatus.SCOPING, owner=owner,
        company=company.record, person=person.record,
        company_name=company.record.name if company.record else ((record.get("Account") or {}).get("Name") or "")[:255],
        contact_name=str(person.record) if person.record else "", **values)
    SyncLink.objects.create(tenant_id=tenant.pk, connection=connection, record_type=RecordType.QUOTE, record_id=quote.pk,
                            sobject=SOBJECT, salesforce_id=salesforce_id, matched_by=MatchedBy.PULLED,
                            status=LinkStatus.SYNCED, last_synced_at=timezone.now())
    described = [f"Quote {quote.number} created in Scoping"]
    if company.record:
        described.append(f"company {company.record.name} ({_HOW[company.how]})")
    if person.record:
        described.append(f"person {person.record} ({_HOW[person.how]})")
    return Outcome("created", quote, "; ".join(described) + ".", notes, problems)


_HOW = {"linked": "linked", "key": "matched by department key", "name": "matched by name", "email": "matched by e-mail",
        "created": "created"}


def _log(ctx: PullContext, outcome: Outcome, record: dict[str, Any]) -> None:
    quote = outcome.quote
    label = f"{quote.number} {quote.title}" if quote else (record.get("Name") or "")
    if outcome.result == "created":
        message = " ".join([outcome.message, *outcome.notes])
        ctx.log(operation="create", result=SyncResult.SUCCESS, record_type=RecordType.QUOTE, record_id=quote.pk, label=label,
                salesforce_id=id18(record["Id"]), sobject=SOBJECT, message=message)
        # Written once the quote is committed (logged after the transaction, never for a rollback).
        for problem in outcome.skipped:
            ctx.log(operation="map", result=SyncResult.SKIPPED, record_type=RecordType.QUOTE, record_id=quote.pk, label=label,
                    salesforce_id=id18(record["Id"]), sobject=SOBJECT, code="INVALID_VALUE",
                    message=f"Mapped value not set: {problem}",
                    hint="Fix the value in Salesforce or the field mapping (Settings › Integrations › Salesforce › Quotes).")
    elif outcome.result == "existing":
        ctx.log(operation="skip", result=SyncResult.SKIPPED, record_type=RecordType.QUOTE, label=label,
                record_id=quote.pk if quote else None, salesforce_id=id18(record["Id"]), sobject=SOBJECT,
                code="ALREADY_QUOTED", message=outcome.message)
    else:
        ctx.log(operation="create", result=SyncResult.FAILED, record_type=RecordType.QUOTE, label=label,
                salesforce_id=id18(record["Id"]), sobject=SOBJECT, code="INVALID_VALUE", message=outcome.message,
                hint="Fix the opportunity in Salesforce, then Synchronize now.")


# --- stored notifications ------------------------------------------------------------------------

def quote_notifications_process(*, connection_id: int, limit: int = PROCESS_BATCH) -> int:
    """Make the quotes of the connection's unprocessed notifications, oldest first. A failed
    read leaves them for the sweeper (given up after MAX_ATTEMPTS). Returns how many rows
    were settled."""
    connection = SalesforceConnection.objects.filter(pk=connection_id).select_related("tenant").first()
    if connection is None or connection.status != ConnectionStatus.CONNECTED:
        return 0  # kept: processed once the connection is usable again
    done = 0
    while True:
        rows = list(QuoteNotification.objects.filter(connection=connection, processed_at__isnull=True).order_by("id")[:limit])
        if not rows:
            return done
        quote_settings = QuoteSettings.objects.filter(connection=connection).select_related("owner").first()
        if quote_settings is None or not quote_settings.opportunity_to_quote:
            _settle(rows, "ignored", "Opportunity → Quote is off for this connection.")
            done += len(rows)
            continue
        ours = [r for r in rows if r.sobject.lower() == SOBJECT.lower()]
        _settle([r for r in rows if r not in ours], "ignored", f"Not an {SOBJECT}.")
        by_id: dict[str, list[QuoteNotification]] = {}
        for row in ours:
            by_id.setdefault(id18(row.salesforce_id), []).append(row)
        ctx = pull_context(connection=connection, settings=None, source="quotes")
        for sf_id in quoted_ids(connection=connection, salesforce_ids=list(by_id)):
            # The flow fired again (the stage went back and forth) or Synchronize now made it.
            existing = quote_for_opportunity(connection=connection, salesforce_id=sf_id)
            _log(ctx, existing, {"Id": sf_id, "Name": (by_id[sf_id][-1].fields or {}).get("Name") or sf_id})
            _settle(by_id.pop(sf_id), "existing", existing.message, existing.quote.pk if existing.quote else None)
        try:
            found = opportunities_read(ctx, quote_settings, list(by_id))
        except SalesforceError as exc:
            logger.warning("Reading opportunities for quotes failed (connection %s)", connection_id, exc_info=True)
            _attempt_failed([r for group in by_id.values() for r in group], f"{exc.code}: {exc.message}")
            ctx.flush()
            return done
        for sf_id, group in by_id.items():
            record = found.get(sf_id)
            if record is None:
                ctx.log(operation="skip", result=SyncResult.SKIPPED, record_type=RecordType.QUOTE, salesforce_id=sf_id,
                        sobject=SOBJECT, label=(group[-1].fields or {}).get("Name") or sf_id, code="NOT_FOUND",
                        message="The opportunity is no longer in Salesforce (or not visible to the integration user): no quote.")
                _settle(group, "skipped", "Not found in Salesforce.")
                continue
            try:
                outcome = quote_from_opportunity(ctx=ctx, quote_settings=quote_settings, record=record)
            except Exception as exc:  # noqa: BLE001 - kept unprocessed: the sweeper retries it
                logger.warning("Making the quote of %s failed (connection %s)", sf_id, connection_id, exc_info=True)
                _attempt_failed(group, str(exc))
                continue
            _settle(group, outcome.result, outcome.message, outcome.quote.pk if outcome.quote else None)
        ctx.flush()
        done += len(rows)


def _attempt_failed(rows: list[QuoteNotification], message: str) -> None:
    """Kept for the sweeper's next try; given up after MAX_ATTEMPTS (Synchronize now still
    finds the opportunity)."""
    ids = [r.pk for r in rows]
    QuoteNotification.objects.filter(pk__in=ids).update(attempts=F("attempts") + 1, message=message[:2000])
    QuoteNotification.objects.filter(pk__in=ids, attempts__gte=MAX_ATTEMPTS).update(processed_at=timezone.now(), result="failed")


def _settle(rows: list[QuoteNotification], result: str, message: str, quote_id: int | None = None) -> None:
    if rows:
        QuoteNotification.objects.filter(pk__in=[r.pk for r in rows]).update(
            processed_at=timezone.now(), result=result, message=message[:2000], quote_id=quote_id)


def quote_notifications_sweep(*, now: datetime.datetime | None = None) -> list[int]:
    """Connected connections with notifications left unprocessed for a while: their task again."""
    now = now or timezone.now()
    connection_ids = sorted(set(QuoteNotification.objects.filter(
        processed_at__isnull=True, received_at__lte=now - STALE_AFTER,
        connection__status=ConnectionStatus.CONNECTED).values_list("connection_id", flat=True)))
    for connection_id in connection_ids:
        enqueue_processing(connection_id)
    return connection_ids
