"""Synchronize now (the 001 seed): what the flow cannot send.

A flow fires when an opportunity *changes* to meet the trigger, so one created already at the
trigger stage never reaches Cothon on its own. Synchronize now queries the org for the
opportunities at the trigger stage meeting the settings' conditions (SOQL from the describe's
field names and typed literals — never pasted input) and makes the quote of each that has none
(sync_engine.quotes.inbound: one per opportunity, ever, so it is idempotent). With
Opportunity → Quote off it syncs contacts only: every Salesforce Contact becomes a person
(matched by link, e-mail, name within the company; created when missing).

A run is a QuoteSync row (progress and counts, read by the page); its thin task runs on the
background queue; the sweeper re-sends a queued run's task that was lost and a running one's
whose worker stopped beating (what was done is found, not done again)."""

from __future__ import annotations

import datetime
import decimal
import logging
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.mapping.opportunity_inbound import id18
from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.salesforce.errors import SalesforceError
from integrations.salesforce.soql import soql_quote
from integrations.sync_settings import describe_get
from sync_engine import wakeups
from sync_engine.models import SyncResult
from sync_engine.pull.accounts import account_object
from sync_engine.pull.apply import PullContext, pull_context
from sync_engine.quotes import inbound, records
from sync_engine.quotes.models import QuoteSettings, QuoteSync, QuoteSyncMode, QuoteSyncStatus
from sync_engine.vocabulary import RecordType

logger = logging.getLogger(__name__)

TASK = "sync_engine.quotes.synchronize_now"
OPERATORS = ("=", ">", "<", "<=", ">=")
NUMBER_TYPES = ("double", "currency", "percent", "int", "long")
LOST_AFTER = datetime.timedelta(seconds=60)  # queued this long, or no heartbeat this long: task again
PROGRESS_EVERY = 10  # records between two progress writes


# --- the query ---------------------------------------------------------------------------------

def condition_literal(*, field: dict, value: Any) -> str:
    """A SOQL literal of `value` for a field of this describe type; ValidationError when the
    value cannot be one (text → quoted and escaped; numbers, dates, booleans checked)."""
    kind = field.get("type", "")
    text = "" if value is None else str(value).strip()
    if kind in NUMBER_TYPES:
        try:
            number = decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise ValidationError(f"{field['name']}: “{value}” is not a number.") from None
        if not number.is_finite():
            raise ValidationError(f"{field['name']}: “{value}” is not a number.")
        return format(number, "f")
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValidationError(f"{field['name']}: “{value}” is not true or false.")
        return text.lower()
    if kind == "date":
        try:
            return datetime.date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValidationError(f"{field['name']}: “{value}” is not a date (YYYY-MM-DD).") from None
    if kind == "datetime":
        try:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"{field['name']}: “{value}” is not a date and time.") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return soql_quote(text)


def trigger_where(*, quote_settings: QuoteSettings, describe: dict | None) -> str:
    """The WHERE of the trigger: StageName = the stage AND every condition (AND-ed, as the
    flow's filters). ValidationError names a field or operator the org or Cothon refuses."""
    known = inbound.field_names(describe)
    if not quote_settings.trigger_stage:
        raise ValidationError("Choose the trigger stage in the quote settings first.")
    clauses = [f"StageName = {soql_quote(quote_settings.trigger_stage)}"]
    for condition in quote_settings.conditions or []:
        name, operator = str(condition.get("field") or ""), str(condition.get("operator") or "")
        field = known.get(name.lower())
        if field is None or not inbound._NAME.match(name):
            raise ValidationError(f"Condition on “{name}”: no such Opportunity field in this org.")
        if operator not in OPERATORS:
            raise ValidationError(f"Condition on {field['name']}: unknown operator “{operator}” (use = > < <= >=).")
        clauses.append(f"{field['name']} {operator} {condition_literal(field=field, value=condition.get('value'))}")
    return " AND ".join(clauses)


# --- starting and running ------------------------------------------------------------------------

def quote_sync_start(*, connection: SalesforceConnection, actor: AbstractBaseUser | None) -> QuoteSync:
    """Queue a Synchronize now of the connection (quotes, or contacts only when Opportunity →
    Quote is off). Refused while one is running, when not connected or with no trigger stage."""
    if connection.status != ConnectionStatus.CONNECTED:
        raise ValidationError("The connection is not connected; reconnect it before synchronizing.")
    quote_settings = QuoteSettings.objects.filter(connection=connection).first()
    if quote_settings is None:
        raise ValidationError("Save the quote settings of this connection first.")
    mode = QuoteSyncMode.QUOTES if quote_settings.opportunity_to_quote else QuoteSyncMode.CONTACTS
    if mode == QuoteSyncMode.QUOTES and not quote_settings.trigger_stage:
        raise ValidationError("Choose the trigger stage in the quote settings first.")
    with transaction.atomic():
        QuoteSettings.objects.select_for_update().filter(pk=quote_settings.pk).first()
        if QuoteSync.objects.filter(connection=connection, status__in=[QuoteSyncStatus.QUEUED, QuoteSyncStatus.RUNNING]).exists():
            raise ValidationError("A synchronization is already running for this connection.")
        run = QuoteSync.objects.create(connection=connection, mode=mode, requested_by=actor)
        transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    try:
        wakeups.send_named(TASK, args=[run_id], queue="default")
    except Exception:  # noqa: BLE001 - the run row exists: the sweeper sends it again
        logger.warning("Could not enqueue Synchronize now %s", run_id, exc_info=True)


def _claim(run_id: int) -> QuoteSync | None:
    """Take the run (queued, or running with a stale heartbeat); None when another has it."""
    now = timezone.now()
    taken = QuoteSync.objects.filter(pk=run_id).filter(
        Q(status=QuoteSyncStatus.QUEUED) | Q(status=QuoteSyncStatus.RUNNING, heartbeat_at__lt=now - LOST_AFTER)
    ).update(status=QuoteSyncStatus.RUNNING, heartbeat_at=now)
    if not taken:
        return None
    run = QuoteSync.objects.select_related("connection__tenant").get(pk=run_id)
    if run.started_at is None:
        QuoteSync.objects.filter(pk=run_id).update(started_at=now)
        run.started_at = now
    return run


def quote_sync_run(*, run_id: int) -> QuoteSync | None:
    """Run one Synchronize now to the end (the task's whole body)."""
    run = _claim(run_id)
    if run is None:
        return None
    connection = run.connection
    ctx = pull_context(connection=connection, settings=None, source="quotes")
    counts = {"total": 0, "processed": 0, "created": 0, "matched": 0, "existing": 0, "failed": 0}
    try:
        quote_settings = QuoteSettings.objects.select_related("owner").get(connection=connection)
        if connection.status != ConnectionStatus.CONNECTED:
            raise ValidationError("The connection is not connected; reconnect it before synchronizing.")
        if run.mode == QuoteSyncMode.QUOTES:
            _quotes(ctx, run, quote_settings, counts)
        else:
            _contacts(ctx, run, quote_settings, counts)
    except (SalesforceError, ValidationError, QuoteSettings.DoesNotExist) as exc:
        message = f"{exc.code}: {exc.message}" if isinstance(exc, SalesforceError) else (
            "; ".join(exc.messages) if isinstance(exc, ValidationError) else "The quote settings were deleted.")
        _finish(run, ctx, counts, QuoteSyncStatus.FAILED, message)
    else:
        status = QuoteSyncStatus.FINISHED_WITH_ERRORS if counts["failed"] else QuoteSyncStatus.SUCCEEDED
        _finish(run, ctx, counts, status, _summary(run.mode, counts))
    run.refresh_from_db()
    return run


def _summary(mode: str, counts: dict[str, int]) -> str:
    if mode == QuoteSyncMode.QUOTES:
        return (f"{counts['total']} opportunit{'y' if counts['total'] == 1 else 'ies'} at the trigger stage: "
                f"{counts['created']} quote(s) created, {counts['existing']} already had one, {counts['failed']} failed.")
    return (f"{counts['total']} contact(s) in Salesforce: {counts['created']} person(s) created, {counts['matched']} matched, "
            f"{counts['existing']} already linked, {counts['failed']} failed.")


def _progress(run: QuoteSync, ctx: PullContext, counts: dict[str, int], *, force: bool = False) -> None:
    if force or counts["processed"] % PROGRESS_EVERY == 0:
        run.api_calls += ctx.calls
        ctx.flush()  # log rows and call counts so far (a worker killed later keeps them)
        QuoteSync.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now(), api_calls=run.api_calls, **counts)


def _finish(run: QuoteSync, ctx: PullContext, counts: dict[str, int], status: str, message: str) -> None:
    run.api_calls += ctx.calls
    ctx.flush()
    now = timezone.now()
    QuoteSync.objects.filter(pk=run.pk).update(status=status, message=message[:2000], finished_at=now, heartbeat_at=now,
                                               api_calls=run.api_calls, **counts)


def opportunities_at_trigger(ctx: PullContext, quote_settings: QuoteSettings) -> list[dict]:
    """The org's opportunities at the trigger stage meeting the conditions, with what their
    quotes need (Account, contact roles, mapped fields): one query, paged."""
    describe = describe_get(connection=ctx.connection, sobject=inbound.SOBJECT)
    where = trigger_where(quote_settings=quote_settings, describe=describe)
    select = inbound.opportunity_select(connection=ctx.connection, quote_settings=quote_settings,
                                        contacts=quote_settings.contact_to_person)
    return list(ctx.client().query_all_iter(f"{select} WHERE {where} ORDER BY Id"))


def _quotes(ctx: PullContext, run: QuoteSync, quote_settings: QuoteSettings, counts: dict[str, int]) -> None:
    found = opportunities_at_trigger(ctx, quote_settings)
    quoted = inbound.quoted_ids(connection=ctx.connection, salesforce_ids=[id18(r["Id"]) for r in found])
    counts["total"] = len(found)
    _progress(run, ctx, counts, force=True)
    for record in found:
        if id18(record["Id"]) in quoted:
            counts["existing"] += 1
        else:
            try:
                outcome = inbound.quote_from_opportunity(ctx=ctx, quote_settings=quote_settings, record=record)
            except Exception as exc:  # noqa: BLE001 - one record's failure does not stop the run
                logger.warning("Synchronize now %s: the quote of %s failed", run.pk, record.get("Id"), exc_info=True)
                outcome = inbound.Outcome("failed", message=f"Unexpected error: {exc}"[:500])
                inbound._log(ctx, outcome, record)
            counts[{"created": "created", "existing": "existing"}.get(outcome.result, "failed")] += 1
        counts["processed"] += 1
        _progress(run, ctx, counts)


def _contacts(ctx: PullContext, run: QuoteSync, quote_settings: QuoteSettings, counts: dict[str, int]) -> None:
    account_known = inbound.field_names(describe_get(connection=ctx.connection, sobject="Account"))
    names = [*records.CONTACT_FIELDS, "Account.Name"]
    if records.DEPARTMENT_KEY_FIELD.lower() in account_known:
        names.append(f"Account.{records.DEPARTMENT_KEY_FIELD}")
    total, found = _paged(ctx, f"SELECT {', '.join(names)} FROM Contact ORDER BY Id")
    counts["total"] = total
    _progress(run, ctx, counts, force=True)
    owner, account_sobject = quote_settings.owner, account_object(ctx.settings)
    for contact in found:  # streamed page by page: an org's every Contact is never held at once
        label = f"{contact.get('FirstName') or ''} {contact.get('LastName') or ''}".strip()
        try:
            with transaction.atomic():
                company = records.company_for_account(connection=ctx.connection, account_sobject=account_sobject,
                                                      account_id=contact.get("AccountId"), account=contact.get("Account"),
                                                      related_user=owner)
                person = records.person_for_contact(connection=ctx.connection, contact=contact, company=company.record,
                                                    related_user=owner)
        except Exception as exc:  # noqa: BLE001 - one record's failure does not stop the run
            logger.warning("Synchronize now %s: contact %s failed", run.pk, contact.get("Id"), exc_info=True)
            person = records.Found(None, "none", f"Unexpected error: {exc}"[:500])
        if person.record is None:
            counts["failed"] += 1
            ctx.log(operation="create", result=SyncResult.FAILED, record_type=RecordType.CONTACT, sobject="Contact",
                    salesforce_id=id18(contact["Id"]), label=label, code="INVALID_VALUE", message=person.problem,
                    hint="Fix the Contact in Salesforce, then Synchronize now.")
        elif person.how == "linked":
            counts["existing"] += 1
        else:
            counts["created" if person.how == "created" else "matched"] += 1
            ctx.log(operation="create" if person.how == "created" else "link", result=SyncResult.SUCCESS,
                    record_type=RecordType.CONTACT, record_id=person.record.pk, sobject="Contact",
                    salesforce_id=id18(contact["Id"]), label=label,
                    message=("Person created" if person.how == "created" else f"Matched by {person.how}")
                    + (f", company {company.record.name}" if company.record else "") + ".")
        counts["processed"] += 1
        _progress(run, ctx, counts)


def _paged(ctx: PullContext, soql: str) -> tuple[int, Iterator[dict]]:
    """The query's total (from its first page) and its records, one page at a time."""
    client = ctx.client()
    first = client.query(soql)

    def records() -> Iterator[dict]:
        page = first
        while True:
            yield from page.get("records", [])
            if page.get("done", True):
                return
            next_url = page["nextRecordsUrl"]
            page = client.call(lambda sf: sf.query_more(next_url, identifier_is_url=True))
    return int(first.get("totalSize") or 0), records()


def quote_syncs_sweep(*, now: datetime.datetime | None = None) -> list[int]:
    """Runs whose task was lost (queued a while) or whose worker died (no heartbeat)."""
    now = now or timezone.now()
    run_ids = list(QuoteSync.objects.filter(
        Q(status=QuoteSyncStatus.QUEUED, created_at__lt=now - LOST_AFTER)
        | Q(status=QuoteSyncStatus.RUNNING, heartbeat_at__lt=now - LOST_AFTER)).values_list("pk", flat=True))
    for run_id in run_ids:
        _enqueue(run_id)
    return run_ids
