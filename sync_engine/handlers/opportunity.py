"""Opportunity → the configured opportunity object; its assignee as Owner and/or opportunity
team member; the Tasks its changes trigger (status changed, deadline approaching, submitted)."""

from __future__ import annotations

from cothon.bulk import ids_in
from django.utils import timezone

from integrations.mapping import opportunity as mapping, team_member
from integrations.mapping.activity import Activity, deadline_approaching, proposal_submitted, status_changed
from integrations.mapping.common import MappingContext
from integrations.salesforce.errors import SalesforceError
from integrations.salesforce.soql import soql_quote
from opportunities.models import Opportunity, OpportunityStatus
from sync_engine.conflicts.selectors import held_fields
from sync_engine.handlers.base import Batch, Handler
from sync_engine.legacy.selectors import held_opportunity_ids
from sync_engine.attempts import attempts_mark, new_token, push_token_field
from sync_engine.links import linked_salesforce_ids
from sync_engine.models import MatchedBy, SyncLink, SyncResult
from sync_engine.pull.apply import pull_apply_fields
from sync_engine.push.conflict_guard import guard_items
from sync_engine.push.context import PushContext
from sync_engine.push.writer import Item, refuse, write, write_and_settle
from sync_engine.vocabulary import Event, RecordType


HELD_CODE = "LEGACY_REVIEW"
HELD_MESSAGE = ("Waiting for Match Legacy Records: a legacy Salesforce opportunity may be this record. "
                "Accept or reject the proposal; the record is pushed then.")


class OpportunityHandler(Handler):
    record_type = RecordType.OPPORTUNITY
    triggers_activities = True
    parent = (RecordType.DEPARTMENT, Opportunity, "department_id")

    def query(self, batch: Batch, record_ids: list[int]) -> list[Opportunity]:
        return list(Opportunity.objects.filter(ids_in("id", record_ids), tenant_id=batch.tenant_id).select_related("department", "assignee"))

    def push(self, batch: Batch, records: list[Opportunity]) -> None:
        ctx = batch.ctx
        sobject = ctx.settings.objects.opportunity
        context = MappingContext(settings=ctx.settings, describe_fields=ctx.describe_fields, user_ids=ctx.user_ids,
                                 base_url=ctx.base_url)
        linked = linked_salesforce_ids(connection_id=ctx.connection.pk, record_type=self.record_type, record_ids=[o.pk for o in records], sobject=sobject)
        # Fields held for review are not sent until someone resolves them (one query a batch).
        held = held_fields(connection_id=ctx.connection.pk, record_ids=list(linked)) if linked else {}
        # Match Legacy Records: a record with an open proposal waits for the review, else
        # its first push would create a duplicate of the legacy opportunity proposed for it.
        awaiting_review = held_opportunity_ids(connection_id=ctx.connection.pk,
                                               record_ids=[o.pk for o in records if o.pk not in linked])
        items, fallback, refused = [], [], []
        untouched: dict[int, str] = {}
        for opportunity in records:
            entries = batch.entries_of(self.record_type, opportunity.pk)
            salesforce_id = linked.get(opportunity.pk, "")
            if opportunity.pk in awaiting_review:
                batch.settle(self.record_type, opportunity.pk, done=True)
                ctx.log(entry=(entries or [None])[0], sobject=sobject, operation="skip", result=SyncResult.SKIPPED,
                        record_type=self.record_type, record_id=opportunity.pk, label=opportunity.title,
                        error=SalesforceError(HELD_CODE, HELD_MESSAGE))
                continue
            planned = mapping.to_salesforce(opportunity, context, linked=bool(salesforce_id))
            if planned.operation == "skip":
                batch.settle(self.record_type, opportunity.pk, done=True)
                ctx.log(entry=(entries or [None])[0], sobject=sobject, operation="skip", result=SyncResult.SKIPPED,
                        record_type=self.record_type, record_id=opportunity.pk, label=opportunity.title,
                        error=SalesforceError("FILTERED", "; ".join(planned.notes)))
                continue
            fields = dict(planned.fields)
            if isinstance(fields.get("AccountId"), dict):
                account_id = ctx.account_ids.get(opportunity.department_id)
                if account_id:
                    fields["AccountId"] = account_id
                else:
                    fields.pop("AccountId")  # the Account failed: the rest still goes out
            item = Item(record_type=self.record_type, record_id=opportunity.pk, label=opportunity.title, fields=fields,
                        entries=entries, external_id_field=planned.external_id_field,
                        salesforce_id=salesforce_id)
            if item.salesforce_id:
                fields.pop("RecordTypeId", None)  # set on create only: an existing record keeps its type
                only = _fields_changed_in_cothon(ctx, entries)
                kept = held.get(opportunity.pk, set())
                if only is not None or kept:
                    for name in [n for n in fields if (only is not None and n.lower() not in only) or n.lower() in kept]:
                        del fields[name]
                    if not fields and not planned.errors:
                        # Nothing mapped changed (a deadline reminder, an unmapped field): no
                        # write; the Tasks it triggers still find their parent.
                        untouched[opportunity.pk] = item.salesforce_id
                        continue
            if planned.errors:
                refused.append((item, planned.errors))
            elif not item.salesforce_id and not item.external_id_field:
                fallback.append((opportunity, item))
            items.append(item)
        # The conflict rules before a linked record is written, partial or whole: a field
        # Salesforce changed since the base whose value should win is not sent, and Cothon takes it.
        refusing = {id(item) for item, _errors in refused}
        links = _guard(ctx, sobject, items, [i for i in items if id(i) not in refusing], untouched,
                       changed_at={o.pk: o.field_changed_at for o in records})
        for item, errors in refused:
            refuse(ctx, sobject, item, errors)
        _match_by_title_and_date(ctx, sobject, fallback)
        _mark_attempt(ctx, items, links)
        write_and_settle(ctx, sobject, items)
        for record_id in untouched:
            batch.settle(self.record_type, record_id, done=True)
        written = {item.record_id: item.result_id for item in items if item.result_id}
        present = {**untouched, **written}
        batch.publish(self.record_type, present)
        _add_team_members(batch, [o for o in records if o.pk in present], present)

    def activities(self, batch: Batch, records: list[Opportunity]) -> list[Activity]:
        window = batch.ctx.settings.activity.batch_window_minutes
        now, zone = timezone.now(), batch.ctx.time_zone
        planned = []
        for opportunity in records:
            entries = batch.entries_of(self.record_type, opportunity.pk)
            changed = set().union(*(e.changed_fields for e in entries))
            events = {e.event for e in entries}
            if "status" in changed and Event.CREATED not in events:
                planned.append(status_changed(opportunity, window, now, zone))
            if "@deadline" in changed and opportunity.closing_date:
                planned.append(deadline_approaching(opportunity, now, zone))
            if opportunity.status == OpportunityStatus.SUBMITTED and ("status" in changed or Event.SUBMITTED in events):
                planned.append(proposal_submitted(opportunity, now, zone, base_url=batch.ctx.base_url))
        return planned


def _guard(ctx: PushContext, sobject: str, items: list[Item], sendable: list[Item], untouched: dict[int, str], *,
           changed_at: dict[int, dict[str, str]]) -> dict[int, SyncLink]:
    """Apply the conflict guard to the items about to be sent; what Salesforce's value keeps is
    applied to Cothon as a pull would; an item left with nothing to send is not written.
    Returns the linked items' links (read by the guard)."""
    guarded = guard_items(ctx, sobject, sendable, changed_at=changed_at)
    if guarded.to_apply:
        pull_apply_fields(connection=ctx.connection, records=guarded.to_apply, client_factory=lambda: ctx.client,
                          settings=ctx.settings.to_dict())
    for item in [i for i in items if i.record_id in guarded.held_back and not i.fields]:
        items.remove(item)
        untouched[item.record_id] = item.salesforce_id
    return guarded.links


def _mark_attempt(ctx: PushContext, items: list[Item], links: dict[int, SyncLink]) -> None:
    """Before the call: record on each linked record's link what is about to be sent, with the
    batch's token carried by the write when the org has the field (sync_engine/attempts.py), so
    a worker killed before the result is recorded does not leave the base behind Salesforce."""
    if not links:
        return
    token_field = push_token_field(ctx.describe_fields)
    token = new_token() if token_field else ""
    if attempts_mark(links=links, items=items, token=token) and token:
        for item in items:
            if item.salesforce_id and item.error is None and item.record_id in links:
                item.stamp = {token_field: token}


def _fields_changed_in_cothon(ctx: PushContext, entries) -> set[str] | None:
    """For an update made in Cothon, the Salesforce fields (lower case) its changed fields touch;
    None when the whole record goes (created, a Sync Now or scheduled run, a manual Sync, or a
    change that did not say which fields)."""
    if not entries or any(e.event not in (Event.UPDATED, Event.SUBMITTED, Event.DEADLINE) for e in entries):
        return None
    changed = set().union(*(e.changed_fields or [] for e in entries))
    if not changed:
        return None
    return mapping.changed_salesforce_fields(ctx.settings, changed)


def _match_by_title_and_date(ctx: PushContext, sobject: str, pairs: list[tuple[Opportunity, Item]]) -> None:
    """The fallback when there is no reference: exact Name + CloseDate."""
    for opportunity, item in pairs:
        name = item.fields.get("Name", opportunity.title)
        close = item.fields.get("CloseDate")
        where = f"Name = {soql_quote(name)}" + (f" AND CloseDate = {close}" if close else " AND CloseDate = null")
        records = ctx.client.query(f"SELECT Id FROM {sobject} WHERE {where} LIMIT 1")["records"]
        if records:
            item.salesforce_id = records[0]["Id"]
            item.matched_by = MatchedBy.TITLE_DATE


def _add_team_members(batch: Batch, opportunities: list[Opportunity], salesforce_ids: dict[int, str]) -> None:
    """Owner mode "team_member" or "both": the assignee's Salesforce user joins the team (role
    "Bid Manager") when the opportunity is new, re-sent in full, or its assignee changed.
    Looked up first (one query a batch), so a member is never added twice."""
    ctx = batch.ctx
    if mapping.owner_mode(ctx.settings) == "owner":
        return
    wanted: dict[str, str] = {}
    for opportunity in opportunities:
        user_id = ctx.user_ids.get(opportunity.assignee_id) if opportunity.assignee_id else None
        entries = batch.entries_of(RecordType.OPPORTUNITY, opportunity.pk)
        relevant = any(e.event in (Event.CREATED, Event.SYNC) or "assignee" in (e.changed_fields or []) for e in entries)
        if user_id and relevant:
            wanted[salesforce_ids[opportunity.pk]] = user_id
    if not wanted:
        return
    ids = ", ".join(soql_quote(i) for i in wanted)
    existing = {(r["OpportunityId"][:15], r["UserId"][:15]) for r in ctx.client.query_all_iter(
        f"SELECT OpportunityId, UserId FROM {team_member.SOBJECT} WHERE OpportunityId IN ({ids})")}
    by_id = {salesforce_ids[o.pk]: o for o in opportunities}
    items = [Item(record_type=RecordType.OPPORTUNITY, record_id=by_id[opp_id].pk, label=f"Team member on {by_id[opp_id].title}",
                  fields=team_member.to_salesforce(opportunity_id=opp_id, user_id=user_id))
             for opp_id, user_id in wanted.items() if (opp_id[:15], user_id[:15]) not in existing]
    write(ctx, team_member.SOBJECT, items)
