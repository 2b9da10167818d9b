"""Department → Account (the configured account object). Looked up by name first (existing
accounts are reused), through a per-connection cache refreshed hourly; created (upsert by
Cothon_Department_Key__c) when missing.

The key carries the organization (department_external_key). An Account written before that, with
the bare department key, is found by the same lookup query and updated by Id — its key is
rewritten — so the change of key format never creates a second Account."""

from __future__ import annotations

import datetime

from django.utils import timezone

from integrations.mapping import account as mapping
from integrations.salesforce.errors import SalesforceError
from integrations.mapping.opportunity_inbound import id18
from integrations.salesforce.soql import soql_quote
from integrations.settings_schema import conflict_rule_for
from opportunities.models import Department
from sync_engine.conflicts.selectors import held_fields
from sync_engine.handlers.base import Batch, Handler
from sync_engine.links import links_for
from sync_engine.models import AccountCacheEntry, MatchedBy
from sync_engine.pull.accounts import accounts_apply, accounts_pulled
from sync_engine.push.context import PushContext
from sync_engine.push.writer import Item, write_and_settle
from sync_engine.vocabulary import RecordType

CACHE_TTL = datetime.timedelta(hours=1)
GUARD_CHUNK = 300  # Ids in one IN list: the query's URL stays under Salesforce's 16 KB


class DepartmentHandler(Handler):
    record_type = RecordType.DEPARTMENT

    def query(self, batch: Batch, record_ids: list[int]) -> list[Department]:
        return list(Department.objects.filter(tenant_id=batch.tenant_id, pk__in=record_ids))

    def push(self, batch: Batch, records: list[Department]) -> None:
        # The departments of this batch's opportunities too: their Accounts are the parents.
        wanted = {o.department_id for o in batch.records.get(RecordType.OPPORTUNITY, []) if o.department_id}
        wanted -= {d.pk for d in records}
        departments = records + list(Department.objects.filter(tenant_id=batch.tenant_id, pk__in=wanted))
        resolve_accounts(batch.ctx, departments, changed={d.pk for d in records}, entries=batch.entries.get(self.record_type, {}))
        batch.publish(self.record_type, batch.ctx.account_ids)


def _lookup(ctx: PushContext, sobject: str, chunk: list[Department]) -> list[dict]:
    """Accounts named like the departments, or keyed with their legacy (bare) key. An org without
    the key field (custom fields not installed) still gets the name lookup; its writes then say
    what is missing, record by record, as before."""
    names = ", ".join(soql_quote(d.name) for d in chunk)
    old_keys = ", ".join(soql_quote(d.key) for d in chunk)
    try:
        return list(ctx.client.query_all_iter(f"SELECT Id, Name, {mapping.KEY_FIELD} FROM {sobject} "
                                              f"WHERE Name IN ({names}) OR {mapping.KEY_FIELD} IN ({old_keys})"))
    except SalesforceError as exc:
        if exc.code != "INVALID_FIELD":
            raise
        return list(ctx.client.query_all_iter(f"SELECT Id, Name FROM {sobject} WHERE Name IN ({names})"))


def resolve_accounts(ctx: PushContext, departments: list[Department], *, changed: set[int] = frozenset(), entries=None) -> None:
    """Fill ctx.account_ids for the departments; push the ones that are new or `changed`."""
    entries = entries or {}
    if not departments:
        return
    sobject = ctx.settings.objects.account
    links = links_for(connection_id=ctx.connection.pk, record_type=RecordType.DEPARTMENT, record_ids=[d.pk for d in departments],
                      sobject=sobject)
    # A name held for review is not sent until someone resolves the conflict (one query, only
    # when a linked department changed).
    renamed = [d.pk for d in departments if d.pk in changed and links.get(d.pk) and links[d.pk].salesforce_id]
    held = held_fields(connection_id=ctx.connection.pk, record_ids=renamed, record_type=RecordType.DEPARTMENT) if renamed else {}
    kept = _guard_renames(ctx, sobject, [d for d in departments if d.pk in renamed and "name" not in held.get(d.pk, ())], links)
    unresolved = []
    for department in departments:
        link = links.get(department.pk)
        if link and link.salesforce_id and (department.pk not in changed or "name" in held.get(department.pk, ())
                                            or department.pk in kept):
            ctx.account_ids[department.pk] = link.salesforce_id
        else:
            unresolved.append(department)
    if not unresolved:
        return

    # 1. By name, from the cache, then with one query for the rest (which also finds Accounts
    # still carrying a legacy, organization-less key: same call, no extra API cost).
    fresh_after = timezone.now() - CACHE_TTL
    cache = {c.name_key: c.salesforce_id for c in AccountCacheEntry.objects.filter(
        connection=ctx.connection, name_key__in=[d.name.lower() for d in unresolved], refreshed_at__gte=fresh_after)}
    to_query = [d for d in unresolved if d.name.lower() not in cache and not (links.get(d.pk) and links[d.pk].salesforce_id)]
    legacy: dict[str, str] = {}
    for start in range(0, len(to_query), 100):
        chunk = to_query[start:start + 100]
        wanted = {d.name.lower() for d in chunk}
        for record in _lookup(ctx, sobject, chunk):
            if record.get(mapping.KEY_FIELD):
                legacy.setdefault(record[mapping.KEY_FIELD], record["Id"])
            key = record["Name"].lower()
            if key not in wanted:
                continue  # found by its legacy key only
            cache.setdefault(key, record["Id"])
            AccountCacheEntry.objects.update_or_create(connection=ctx.connection, name_key=key,
                                                       defaults={"salesforce_id": record["Id"], "refreshed_at": timezone.now()})

    # 2. Write: existing accounts are updated by Id (key set, so later lookups hit), new ones upserted.
    items = []
    for department in unresolved:
        known = ((links.get(department.pk).salesforce_id if links.get(department.pk) else "")
                 or cache.get(department.name.lower(), "") or legacy.get(department.key, ""))
        planned = mapping.to_salesforce(department, sobject=sobject)
        items.append(Item(record_type=RecordType.DEPARTMENT, record_id=department.pk, label=planned.label,
                          fields=planned.fields, entries=entries.get(department.pk, []),
                          external_id_field=planned.external_id_field, salesforce_id=known))
    write_and_settle(ctx, sobject, items, matched_by=MatchedBy.EXTERNAL_ID)
    for item in items:
        if item.result_id:
            ctx.account_ids[item.record_id] = item.result_id
            AccountCacheEntry.objects.update_or_create(connection=ctx.connection, name_key=item.label.lower(),
                                                       defaults={"salesforce_id": item.result_id, "refreshed_at": timezone.now()})


def _guard_renames(ctx: PushContext, sobject: str, departments: list[Department], links: dict) -> set[int]:
    """The push guard of department renames (as conflict_guard's for opportunities): before a
    rename goes out, the linked Accounts' names are read (one query per 300) and an Account
    renamed in Salesforce since the base is settled as the pull settles it — Cothon's name is
    sent only when its rule keeps Cothon's; otherwise Salesforce's name is applied to Cothon or
    the conflict held, and nothing is sent. Returns the departments whose name is not sent."""
    if not departments or not accounts_pulled({"direction": ctx.settings.direction,
                                               "field_directions": ctx.settings.field_directions}):
        return set()
    candidates = [d for d in departments if "Name" in (links[d.pk].base_snapshot or {})]
    if not candidates:
        return set()
    by_id = {id18(links[d.pk].salesforce_id): d for d in candidates}
    rule = conflict_rule_for(ctx.settings.conflict_rules, mapping.RULE_KEY)
    review = ctx.settings.flag_conflicts_for_review
    to_apply: list[dict] = []
    kept: set[int] = set()
    ids = list(by_id)
    for start in range(0, len(ids), GUARD_CHUNK):
        chunk = ", ".join(soql_quote(i) for i in ids[start:start + GUARD_CHUNK])
        for record in ctx.client.query_all_iter(f"SELECT Id, Name, LastModifiedDate, LastModifiedById FROM {sobject} "
                                                f"WHERE Id IN ({chunk})"):
            department = by_id[id18(record["Id"])]
            base = links[department.pk].base_snapshot or {}
            if record.get("Name") in (base.get("Name"), department.name):
                continue  # Salesforce did not rename it, or already holds Cothon's name
            decided = mapping.from_salesforce(record, department, base=base, rule=rule, review=review)
            if decided.push_back:
                continue  # Cothon's rename wins by the rule: it goes out now
            kept.add(department.pk)
            # No SystemModstamp: the pull's own later read of this Account still finds it new.
            to_apply.append({"attributes": {"type": sobject}, **record})
    if to_apply:
        accounts_apply(connection=ctx.connection, sobject_records=to_apply, source="push guard",
                       client_factory=lambda: ctx.client, settings=ctx.settings.to_dict())
    return kept
