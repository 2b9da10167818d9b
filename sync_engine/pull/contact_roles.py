"""Contact roles: an opportunity's OpportunityContactRole rows become its Cothon contacts.

Read for the opportunities a pull applied (changed, imported or re-read), never for echoes or
records already seen: one query per applied page — an `IN` list of ids for up to IN_LIST_MAX
opportunities (an Outbound Message batch), else a semi-join on the page's SystemModstamp range,
so the query stays short whatever the page size. Each Contact is matched to a Cothon contact by
its link in this connection, then by e-mail (case-insensitive); a Contact matching none is
created where the connection imports records from Salesforce (`import_new`), else counted and
left out. The opportunity's contacts pulled from this connection then become what Salesforce
holds (`opportunity_contacts_set_from_salesforce`): added, role and primary flag updated,
removed when the role is gone. Contact roles exist on the standard Opportunity object only.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from integrations.mapping import contact_role as mapping
from integrations.mapping.opportunity_inbound import id18, parse_datetime
from integrations.salesforce.errors import ErrorKind, SalesforceError
from integrations.salesforce.soql import soql_quote
from opportunities import services as opportunity_services
from opportunities.models import Contact, Department
from sync_engine.models import LinkStatus, MatchedBy, SyncLink, SyncResult
from sync_engine.vocabulary import Origin, RecordType

IN_LIST_MAX = 300  # ids in one IN list: the query's URL stays under Salesforce's 16 KB


def roles_read(ctx) -> bool:
    """Contact roles exist on the standard Opportunity object only."""
    return ctx.sobject == "Opportunity"


def contact_roles_pull(ctx, applied: dict[str, int], records: list[dict[str, Any]], summary, *, create_contacts: bool) -> None:
    """The contact roles of the opportunities `applied` (Salesforce id → Cothon id) into Cothon;
    `create_contacts`: a Contact matching no Cothon contact is created (the connection imports)."""
    if not applied or not roles_read(ctx):
        return
    try:
        rows = _read(ctx, applied, records)
    except SalesforceError as exc:
        if exc.kind is not ErrorKind.PERMANENT:
            raise  # the page is read again (applying is idempotent)
        summary.warnings.append(f"Contact roles not read: {exc.code}: {exc.message}")
        ctx.log(operation="skip", result=SyncResult.SKIPPED, record_type=RecordType.CONTACT, sobject=mapping.SOBJECT,
                label="Contact roles", code=exc.code[:80],
                message=f"The opportunities' contact roles could not be read ({exc.message}); their contacts are not updated.")
        return
    roles = [mapping.from_salesforce(row) for row in rows if id18(row.get("OpportunityId")) in applied]
    contacts, not_found = _contacts_for(ctx, [r for r in roles if r.contact_id], create_contacts)
    by_opportunity: dict[int, list[opportunity_services.ContactRole]] = {pk: [] for pk in applied.values()}
    for role in roles:
        contact_pk = contacts.get(role.contact_id)
        if contact_pk is None:
            continue
        by_opportunity[applied[role.opportunity_id]].append(opportunity_services.ContactRole(
            contact_id=contact_pk, role=role.role, is_primary=role.is_primary, salesforce_role_id=role.salesforce_id))
    written = opportunity_services.opportunity_contacts_set_from_salesforce(
        tenant=ctx.connection.tenant, opportunity_roles=by_opportunity, connection_id=ctx.connection.pk)
    summary.contact_roles += written
    if written:
        ctx.log(operation="update", result=SyncResult.SUCCESS, record_type=RecordType.CONTACT, sobject=mapping.SOBJECT,
                label=f"Contacts of {len(by_opportunity)} opportunit{'y' if len(by_opportunity) == 1 else 'ies'}",
                message=f"{written} contact role(s) added, changed or removed from Salesforce.")
    if not_found:
        ctx.log(operation="not imported", result=SyncResult.SKIPPED, record_type=RecordType.CONTACT, sobject="Contact",
                code="NOT_IMPORTED", label=f"{len(not_found)} Salesforce contact(s) not in Cothon",
                message="Not associated with their opportunities: no Cothon contact has their link or e-mail address, and this "
                        "connection does not import records from Salesforce (Import new records).")


def _read(ctx, applied: dict[str, int], records: list[dict[str, Any]]) -> list[dict]:
    fields = ", ".join(mapping.FIELDS)
    ids = sorted(applied)
    if len(ids) <= IN_LIST_MAX:
        where = f"OpportunityId IN ({', '.join(soql_quote(i) for i in ids)})"
    else:
        stamps = [s for s in (parse_datetime(r.get("SystemModstamp") or "") for r in records if id18(r.get("Id")) in applied) if s]
        low = min(stamps).replace(microsecond=0)
        high = max(stamps).replace(microsecond=0) + datetime.timedelta(seconds=1)
        where = (f"OpportunityId IN (SELECT Id FROM Opportunity WHERE SystemModstamp >= {_literal(low)} "
                 f"AND SystemModstamp <= {_literal(high)})")
    return list(ctx.client().query_all_iter(f"SELECT {fields} FROM {mapping.SOBJECT} WHERE {where}"))


def _literal(value: datetime.datetime) -> str:
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _contacts_for(ctx, roles: list, creating: bool) -> tuple[dict[str, int], set[str]]:
    """Salesforce Contact id → Cothon contact id: by link, then e-mail, then created (where the
    connection imports). Returns the map and the Contacts left unmatched."""
    connection, tenant_id = ctx.connection, ctx.connection.tenant_id
    wanted = {r.contact_id: r for r in roles}
    linked = dict(SyncLink.objects.filter(connection=connection, record_type=RecordType.CONTACT, sobject="Contact",
                                          salesforce_id__in=list(wanted)).values_list("salesforce_id", "record_id"))
    existing = set(Contact.objects.filter(tenant_id=tenant_id, pk__in=list(linked.values())).values_list("pk", flat=True))
    found = {sf_id: pk for sf_id, pk in linked.items() if pk in existing}
    stale = {sf_id for sf_id in linked if sf_id not in found}  # linked to a contact deleted in Cothon
    missing = [wanted[sf_id] for sf_id in wanted if sf_id not in found]
    emails = {r.contact["email"].lower() for r in missing if r.contact.get("email")}
    by_email: dict[str, int] = {}
    for pk, email in Contact.objects.filter(tenant_id=tenant_id).annotate(lower_email=Lower("email")) \
            .filter(lower_email__in=emails).order_by("pk").values_list("pk", "lower_email"):
        by_email.setdefault(email, pk)
    new_links: list[tuple[str, int, str]] = []
    not_found: set[str] = set()
    departments = _departments(ctx, [r.contact.get("account_id") for r in missing]) if creating else {}
    for role in missing:
        email = (role.contact.get("email") or "").lower()
        if email and email in by_email:
            found[role.contact_id] = by_email[email]
            new_links.append((role.contact_id, by_email[email], MatchedBy.EMAIL))
        elif creating and role.contact.get("last_name"):
            contact = _create(ctx, role, departments)
            if contact is None:
                not_found.add(role.contact_id)
                continue
            found[role.contact_id] = contact.pk
            if email:
                by_email[email] = contact.pk
            new_links.append((role.contact_id, contact.pk, MatchedBy.PULLED))
        else:
            not_found.add(role.contact_id)
    if stale:
        SyncLink.objects.filter(connection=connection, record_type=RecordType.CONTACT, sobject="Contact", salesforce_id__in=stale).delete()
    now = timezone.now()
    # One statement. A contact already linked (to another Salesforce Contact with its e-mail, or
    # by a concurrent pull a moment ago) keeps its link.
    SyncLink.objects.bulk_create([
        SyncLink(tenant_id=tenant_id, connection=connection, record_type=RecordType.CONTACT, record_id=pk, sobject="Contact",
                 salesforce_id=sf_id, matched_by=matched_by, status=LinkStatus.SYNCED, last_synced_at=now)
        for sf_id, pk, matched_by in new_links], ignore_conflicts=True)
    return found, not_found


def _departments(ctx, account_ids: list[str | None]) -> dict[str, int]:
    """Account id → department id, for the contacts created (linked Accounts only: no call)."""
    wanted = {id18(a) for a in account_ids if a}
    if not wanted:
        return {}
    return {sf_id: pk for pk, sf_id in SyncLink.objects.filter(
        connection=ctx.connection, record_type=RecordType.DEPARTMENT, salesforce_id__in=wanted).values_list("record_id", "salesforce_id")}


def _create(ctx, role, departments: dict[str, int]) -> Contact | None:
    data = dict(role.contact)
    account_id = id18(data.pop("account_id", None))
    department = Department.objects.filter(tenant_id=ctx.connection.tenant_id, pk=departments.get(account_id)).first() \
        if account_id in departments else None
    try:
        with transaction.atomic():
            return opportunity_services.contact_create(tenant=ctx.connection.tenant, department=department, origin=Origin.SALESFORCE,
                                                       origin_connection_id=ctx.connection.pk, **data)
    except ValidationError as exc:
        ctx.log(operation="create", result=SyncResult.FAILED, record_type=RecordType.CONTACT, sobject="Contact",
                salesforce_id=role.contact_id, label=f"{data.get('first_name', '')} {data.get('last_name', '')}".strip(),
                code="INVALID_VALUE", message="; ".join(exc.messages),
                hint="Fix the Contact in Salesforce; it is associated the next time its opportunity changes.")
        return None

