"""What a person decides for an opportunity whose Salesforce partner is gone (deleted in
Salesforce) — or that should simply stay out of one connection:

- **Re-link**: search the org's opportunities (title, reference, close date), pick one, link it.
- **Skip** / **Unskip**: stop syncing the record in this connection, reversibly.
- **Re-create**: forget the dead Salesforce id and push the record as new.

Services (writes). Each checks its input, writes the link through `sync_engine.links` (the owner
of link state), logs a SyncLog row naming its actor, and queues the push the normal way (an
outbox row, the worker woken on commit). Every Salesforce call goes through the client layer
(`integrations.connections.client_for`); user input reaches SOQL only escaped."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from integrations import selectors as integration_selectors
from integrations.connections import client_for
from integrations.mapping.opportunity_inbound import id18
from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.salesforce.soql import soql_like_contains, soql_quote
from integrations.sync_settings import describe_get
from opportunities.models import BidAnalysis, BidAnalysisStatus, Comment, Opportunity, Requirement
from proposals.models import Proposal
from sync_engine import links, wakeups
from sync_engine.models import LinkStatus, OutboxEntry, OutboxState, SyncDirection, SyncLink, SyncLog, SyncResult, SyncRun
from sync_engine.outbox import upsert_pending
from sync_engine.services import record_sync_now
from sync_engine.vocabulary import Event, Priority, RecordType

OPP = RecordType.OPPORTUNITY
SEARCH_LIMIT = 20
SALESFORCE_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
SOBJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")
# The opportunity fields a candidate shows, when the configured object has them.
SEARCH_FIELDS = ("Cothon_Ref__c", "CloseDate", "StageName", "Amount")


class PartnerActionError(ValidationError):
    """The action cannot be done as asked. `code` says why (the API answers it):
    not_connected, no_criteria, invalid_id, wrong_object, unknown_id, already_linked,
    not_deleted, skipped, not_skipped, unknown_action."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code=code)
        self.code = code

    @property
    def conflict(self) -> bool:
        """The request is well formed but the record's or connection's state refuses it (409)."""
        return self.code in ("not_connected", "already_linked", "not_deleted", "skipped", "not_skipped")


@dataclass(frozen=True)
class Candidate:
    """A Salesforce opportunity a record could be re-linked to."""

    salesforce_id: str
    name: str
    reference: str = ""
    close_date: str = ""
    stage: str = ""
    amount: Decimal | None = None
    account: str = ""
    linked_record_id: int | None = None  # the Cothon opportunity already linked to it, if any
    linked_title: str = ""


@dataclass
class BulkOutcome:
    done: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


def _require_connected(connection: SalesforceConnection) -> None:
    if connection.status != ConnectionStatus.CONNECTED:
        raise PartnerActionError(f"“{connection.name}” is {connection.get_status_display().lower()}; "
                                 "an admin must reconnect it first.", "not_connected")


def _sobject(connection: SalesforceConnection) -> str:
    sobject = integration_selectors.configured_sobject(connection=connection, record_type=OPP)
    if not SOBJECT_NAME.fullmatch(sobject or ""):  # the settings schema checks it; never paste anything else
        raise PartnerActionError(f"The configured opportunity object {sobject!r} is not a valid API name.", "invalid_settings")
    return sobject


def _who(actor: AbstractBaseUser | None) -> str:
    if actor is None:
        return "someone"
    return (actor.get_full_name() or actor.get_username()) if hasattr(actor, "get_full_name") else actor.get_username()


def _log(*, connection: SalesforceConnection, opportunity: Opportunity, operation: str, message: str,
         actor: AbstractBaseUser | None, salesforce_id: str = "", result: str = SyncResult.SUCCESS, sobject: str = "") -> None:
    SyncLog.objects.create(tenant_id=connection.tenant_id, connection=connection, record_type=OPP, record_id=opportunity.pk,
                           record_label=opportunity.title[:255], sobject=sobject, salesforce_id=salesforce_id,
                           direction=SyncDirection.PUSH, operation=operation, result=result, error_message=message,
                           actor=actor)


def _link(connection: SalesforceConnection, opportunity: Opportunity, sobject: str) -> SyncLink | None:
    return SyncLink.objects.filter(connection=connection, record_type=OPP, record_id=opportunity.pk, sobject=sobject).first()


# --- search ------------------------------------------------------------------------------------

def salesforce_opportunity_search(*, connection: SalesforceConnection, title: str = "", reference: str = "",
                                  close_date: datetime.date | None = None, client=None) -> list[Candidate]:
    """The org's opportunities (the configured object) whose name contains `title`, whose
    Cothon_Ref__c is `reference` and whose CloseDate is `close_date` — the criteria given, all
    of them — at most SEARCH_LIMIT, each with the Cothon opportunity already linked to it in
    this connection. One SOQL query; the values are escaped, never pasted."""
    _require_connected(connection)
    title, reference = (title or "").strip()[:255], (reference or "").strip()[:80]
    if not (title or reference or close_date):
        raise PartnerActionError("Enter a title, a reference or a close date to search for.", "no_criteria")
    sobject = _sobject(connection)
    described = {f["name"].lower() for f in (describe_get(connection=connection, sobject=sobject) or {}).get("fields", [])}
    has = (lambda name: name.lower() in described) if described else (lambda name: True)
    columns = ["Id", "Name", *[name for name in SEARCH_FIELDS if has(name)]] + (["Account.Name"] if has("AccountId") else [])
    where = []
    if title:
        where.append(f"Name LIKE {soql_like_contains(title)}")
    if reference:
        if not has("Cothon_Ref__c"):
            raise PartnerActionError(f"{sobject} has no Cothon_Ref__c field: search by title or close date.", "no_criteria")
        where.append(f"Cothon_Ref__c = {soql_quote(reference)}")
    if close_date:
        if not has("CloseDate"):
            raise PartnerActionError(f"{sobject} has no CloseDate field: search by title or reference.", "no_criteria")
        where.append(f"CloseDate = {close_date.isoformat()}")
    soql = f"SELECT {', '.join(columns)} FROM {sobject} WHERE {' AND '.join(where)} ORDER BY Name LIMIT {SEARCH_LIMIT}"
    records = (client or client_for(connection)).query(soql).get("records", [])
    ids = [id18(r.get("Id")) for r in records]
    linked = dict(SyncLink.objects.filter(connection=connection, record_type=OPP, sobject=sobject, salesforce_id__in=ids)
                  .values_list("salesforce_id", "record_id"))
    titles = dict(Opportunity.objects.filter(tenant_id=connection.tenant_id, pk__in=linked.values()).values_list("pk", "title"))
    candidates = []
    for record, sf_id in zip(records, ids):
        amount = record.get("Amount")
        record_id = linked.get(sf_id)
        candidates.append(Candidate(
            salesforce_id=sf_id, name=record.get("Name") or "", reference=record.get("Cothon_Ref__c") or "",
            close_date=record.get("CloseDate") or "", stage=record.get("StageName") or "",
            amount=Decimal(str(amount)) if amount is not None else None,
            account=((record.get("Account") or {}).get("Name") or "") if isinstance(record.get("Account"), dict) else "",
            linked_record_id=record_id, linked_title=titles.get(record_id, "") if record_id else ""))
    return candidates


# --- re-link -----------------------------------------------------------------------------------

def opportunity_relink(*, connection: SalesforceConnection, opportunity: Opportunity, salesforce_id: str,
                       actor: AbstractBaseUser | None, client=None) -> SyncRun:
    """Link the opportunity to another Salesforce record of the configured object and push it
    at manual priority, so both sides agree (Cothon's values go out). Refused: an id that is
    not an id, one of another object, one the org does not have (or deleted), one already
    linked to another Cothon opportunity in this connection, and a skipped record (unskip
    it first). Returns the manual run whose progress the record's panel shows."""
    _require_connected(connection)
    raw = (salesforce_id or "").strip()
    if not SALESFORCE_ID.fullmatch(raw):
        raise PartnerActionError(f"“{raw[:40]}” is not a Salesforce record id (15 or 18 letters and digits).", "invalid_id")
    sobject = _sobject(connection)
    prefix = (describe_get(connection=connection, sobject=sobject) or {}).get("keyPrefix") or ""
    if prefix and raw[:3] != prefix:
        raise PartnerActionError(f"{raw} is not a {sobject} record: {sobject} ids start with {prefix}.", "wrong_object")
    sf_id = id18(raw)
    # Read outside the transaction: no row stays locked while Salesforce answers.
    found = (client or client_for(connection)).query(f"SELECT Id, Name FROM {sobject} WHERE Id = {soql_quote(sf_id)}")
    if not found.get("records"):
        raise PartnerActionError(f"{sobject} {raw} does not exist in {connection.name} (or it was deleted).", "unknown_id")
    name = found["records"][0].get("Name") or ""
    with transaction.atomic():
        # One re-link at a time per connection: two people cannot both link one Salesforce record.
        SalesforceConnection.objects.select_for_update().filter(pk=connection.pk).first()
        old = _link(connection, opportunity, sobject)
        if old is not None and old.status == LinkStatus.SKIPPED:
            raise PartnerActionError("This record is skipped in this connection: unskip it before re-linking.", "skipped")
        taken = (SyncLink.objects.filter(connection=connection, record_type=OPP, sobject=sobject, salesforce_id=sf_id)
                 .exclude(record_id=opportunity.pk).first())
        if taken is not None:
            other = Opportunity.objects.filter(tenant_id=connection.tenant_id, pk=taken.record_id).values_list("title", flat=True).first()
            raise PartnerActionError(f"{sobject} {sf_id} is already linked to “{other or f'opportunity #{taken.record_id}'}” "
                                     f"in {connection.name}; one Salesforce record is linked to one Cothon record.",
                                     "already_linked")
        links.link_relink(connection=connection, record_type=OPP, record_id=opportunity.pk, sobject=sobject, salesforce_id=sf_id)
        _queue_children(connection, opportunity.pk, Priority.MANUAL, new_parent=True)
        was = f" (was {old.salesforce_id})" if old is not None and old.salesforce_id and old.salesforce_id != sf_id else ""
        _log(connection=connection, opportunity=opportunity, operation="relink", actor=actor, salesforce_id=sf_id, sobject=sobject,
             message=f"Re-linked by {_who(actor)} to {sobject} {sf_id} “{name}”{was}; Cothon's values are sent to it.")
        return record_sync_now(connection=connection, record_type=OPP, record_id=opportunity.pk, actor=actor)


# --- skip / unskip -----------------------------------------------------------------------------

def opportunity_skip(*, connection: SalesforceConnection, opportunity: Opportunity, actor: AbstractBaseUser | None) -> bool:
    """Stop syncing the opportunity in this connection: its queued rows are dropped and it is
    neither pushed nor pulled until someone unskips it. False when it was skipped already."""
    sobject = _sobject(connection)
    with transaction.atomic():
        link = _link(connection, opportunity, sobject)
        if link is not None and link.status == LinkStatus.SKIPPED:
            return False
        link = links.link_skip(connection=connection, record_type=OPP, record_id=opportunity.pk, sobject=sobject, actor=actor)
        OutboxEntry.objects.filter(connection=connection, record_type=OPP, record_id=opportunity.pk,
                                   state=OutboxState.PENDING).delete()
        _log(connection=connection, opportunity=opportunity, operation="skip", actor=actor, result=SyncResult.SKIPPED,
             salesforce_id=link.salesforce_id, sobject=sobject,
             message=f"Skipped by {_who(actor)}: no longer synced with {connection.name} until someone unskips it.")
    return True


def opportunity_unskip(*, connection: SalesforceConnection, opportunity: Opportunity, actor: AbstractBaseUser | None) -> SyncLink | None:
    """Sync the opportunity again: its link gets back the status it had, and unless that is
    "deleted in Salesforce" (nothing to send to) it is queued, so changes made while it was
    skipped go out. Returns the link left (None when the skip was all it had)."""
    sobject = _sobject(connection)
    with transaction.atomic():
        link = _link(connection, opportunity, sobject)
        if link is None or link.status != LinkStatus.SKIPPED:
            raise PartnerActionError("This record is not skipped in this connection.", "not_skipped")
        left = links.link_unskip(link=link)
        _log(connection=connection, opportunity=opportunity, operation="unskip", actor=actor, sobject=sobject,
             salesforce_id=left.salesforce_id if left else "",
             message=f"Unskipped by {_who(actor)}: synced with {connection.name} again.")
        if left is None or left.status != LinkStatus.DELETED_IN_SALESFORCE:
            _queue(connection, opportunity.pk)
            _queue_children(connection, opportunity.pk, Priority.REALTIME, new_parent=False)
    return left


def _queue(connection: SalesforceConnection, record_id: int, priority: int = Priority.REALTIME) -> None:
    """The normal path: the record's pending row (merged if there is one), the lane woken on commit."""
    if connection.status == ConnectionStatus.DISCONNECTED:
        return  # a disconnected connection takes no rows; its reconnect catches up
    upsert_pending(connection, OPP, record_id, Event.SYNC, [], priority, timezone.now())
    wakeups.wake_on_commit([connection.pk], priority)


def _queue_children(connection: SalesforceConnection, opportunity_id: int, priority: int, *, new_parent: bool) -> None:
    """Queue what hangs under the opportunity in Salesforce — completed analyses and their
    requirements, comments (Notes), proposals (files, Tasks) — so what was not sent while it
    was skipped or deleted in Salesforce goes out now (each is looked up or upserted by its key:
    sending one again duplicates nothing). `new_parent`: re-linked or re-created, the children's
    old Salesforce records hung under the old parent, so their ids are forgotten."""
    if connection.status == ConnectionStatus.DISCONNECTED:
        return
    tenant_id = connection.tenant_id
    analyses = list(BidAnalysis.objects.filter(tenant_id=tenant_id, opportunity_id=opportunity_id,
                                               status=BidAnalysisStatus.COMPLETED).values_list("pk", flat=True))
    children = {
        RecordType.ANALYSIS: analyses,
        RecordType.REQUIREMENT: list(Requirement.objects.filter(tenant_id=tenant_id, analysis_id__in=analyses)
                                     .values_list("pk", flat=True)) if analyses else [],
        RecordType.COMMENT: list(Comment.objects.filter(tenant_id=tenant_id, opportunity_id=opportunity_id).values_list("pk", flat=True)),
        RecordType.PROPOSAL: list(Proposal.objects.filter(tenant_id=tenant_id, opportunity_id=opportunity_id)
                                  .values_list("pk", flat=True)),
    }
    if new_parent:
        for record_type in (RecordType.ANALYSIS, RecordType.REQUIREMENT):
            links.links_forget_children(connection_id=connection.pk, record_type=record_type, record_ids=children[record_type])
    now = timezone.now()
    for record_type, ids in children.items():
        for record_id in ids:
            upsert_pending(connection, record_type, record_id, Event.SYNC, [], priority, now)
    if any(children.values()):
        wakeups.wake_on_commit([connection.pk], priority)


# --- re-create ---------------------------------------------------------------------------------

def _forget_partner(connection: SalesforceConnection, opportunity: Opportunity, actor, sobject: str) -> None:
    link = _link(connection, opportunity, sobject)
    if link is None or link.status != LinkStatus.DELETED_IN_SALESFORCE:
        state = "skipped: unskip it first" if link is not None and link.status == LinkStatus.SKIPPED else "not deleted in Salesforce"
        raise PartnerActionError(f"Re-create is for records deleted in Salesforce; this one is {state}.",
                                 "skipped" if link is not None and link.status == LinkStatus.SKIPPED else "not_deleted")
    dead = link.salesforce_id
    links.link_forget_partner(link=link)
    _log(connection=connection, opportunity=opportunity, operation="recreate", actor=actor, sobject=sobject, salesforce_id=dead,
         message=f"Re-created by {_who(actor)}: {dead} was deleted in Salesforce; the record is sent as new.")


def opportunity_recreate(*, connection: SalesforceConnection, opportunity: Opportunity, actor: AbstractBaseUser | None) -> SyncRun:
    """Push an opportunity deleted in Salesforce as a new record: the dead id is forgotten and a
    manual sync upserts it by its reference (a retry never duplicates) and links the result."""
    _require_connected(connection)
    sobject = _sobject(connection)
    with transaction.atomic():
        SyncLink.objects.select_for_update().filter(connection=connection, record_type=OPP, record_id=opportunity.pk).first()
        _forget_partner(connection, opportunity, actor, sobject)
        _queue_children(connection, opportunity.pk, Priority.MANUAL, new_parent=True)
        return record_sync_now(connection=connection, record_type=OPP, record_id=opportunity.pk, actor=actor)


# --- many at once ------------------------------------------------------------------------------

BULK_ACTIONS = ("skip", "unskip", "recreate")


def opportunities_bulk_action(*, connection: SalesforceConnection, action: str, opportunity_ids: list[int],
                              actor: AbstractBaseUser | None) -> BulkOutcome:
    """Skip, unskip or re-create many opportunities of the connection's tenant. Each record is
    decided alone: one refused (not deleted in Salesforce, not skipped, not found) never stops
    the others. Re-created records are queued at manual priority with one wake-up."""
    if action not in BULK_ACTIONS:
        raise PartnerActionError(f"Unknown action {action[:40]!r}: choose skip, unskip or re-create.", "unknown_action")
    if action == "recreate":
        _require_connected(connection)
    outcome = BulkOutcome()
    wanted = sorted({int(i) for i in opportunity_ids})
    found = {o.pk: o for o in Opportunity.objects.filter(tenant_id=connection.tenant_id, pk__in=wanted)}
    sobject = _sobject(connection)
    for pk in wanted:
        opportunity = found.get(pk)
        if opportunity is None:
            outcome.refused[pk] = "No such opportunity in this organization."
            continue
        try:
            with transaction.atomic():
                if action == "skip":
                    (outcome.done if opportunity_skip(connection=connection, opportunity=opportunity, actor=actor)
                     else outcome.unchanged).append(pk)
                elif action == "unskip":
                    opportunity_unskip(connection=connection, opportunity=opportunity, actor=actor)
                    outcome.done.append(pk)
                else:
                    _forget_partner(connection, opportunity, actor, sobject)
                    upsert_pending(connection, OPP, pk, Event.SYNC, [], Priority.MANUAL, timezone.now())
                    _queue_children(connection, pk, Priority.MANUAL, new_parent=True)
                    outcome.done.append(pk)
        except PartnerActionError as exc:
            outcome.refused[pk] = exc.messages[0]
    if action == "recreate" and outcome.done:
        wakeups.wake_on_commit([connection.pk], Priority.MANUAL)
    return outcome
