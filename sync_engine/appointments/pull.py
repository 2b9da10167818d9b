"""The appointment pull (seed 002): the admin's query, run once per member, becomes that
member's appointments.

For each member who can be pulled for — single sign-on: a unique identifier (their Staff record
id) bound to `:user_identifier`; multi-user sign-on: their own Salesforce credentials and session
— the bound query runs through the client layer, one call per page of 2,000 rows (queryMore for
the next). Each row is mapped by the connection's field mappings (`convert.py`) and upserted
through the appointment's SyncLink: one appointment per Salesforce record whatever the number
of pulls, assigned to the member whose query returned it.

An appointment the member's query no longer returns (cancelled, reassigned, moved out of the
query's window, deleted in Salesforce) is handled once every page of that member's query was
read: one that already started is kept as history; an upcoming one the rep has not worked on
(no result, no routed file) is removed; one with results or files is kept and stays with the
rep. Reassigned to another member, it is simply taken over by that member's pull (same record,
same appointment)."""

from __future__ import annotations

import datetime
import logging
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.mapping.opportunity_inbound import id18
from integrations.models import ConnectionStatus, CredentialMode, SalesforceConnection, SalesforceUserLink
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.errors import SalesforceError
from integrations.salesforce.soql import PlaceholderError
from opportunities.models import Appointment
from sync_engine.appointments.convert import ConversionError, appointment_values
from sync_engine.appointments.config_services import AppointmentSetupError, appointment_query_for, client_for_member
from sync_engine.appointments.models import AppointmentPull, AppointmentSettings, PullStatus, PullTrigger
from sync_engine.governor import get_governor
from sync_engine.models import LinkStatus, SyncLink
from sync_engine.vocabulary import Priority, RecordType

logger = logging.getLogger(__name__)

LEASE = datetime.timedelta(minutes=10)
_WRITTEN_FIELDS = ("customer_name", "address", "phone", "email", "starts_at", "duration_minutes", "notes", "result",
                   "result_reason")


@dataclass
class MemberResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    rows_failed: int = 0
    api_calls: int = 0
    errors: list[str] = field(default_factory=list)


def query_sobject(soql: str) -> str:
    """The object a query reads (its FROM), outside string literals."""
    outside = re.sub(r"'(?:\\.|[^'\\])*'", "''", soql)
    match = re.search(r"\bFROM\s+([A-Za-z][A-Za-z0-9_]*)", outside, re.IGNORECASE)
    return match.group(1) if match else ""


def members_to_pull(*, connection: SalesforceConnection) -> list:
    """The tenant's members whose appointments can be pulled in this connection: with a unique
    identifier (single sign-on) or a username and password (multi-user), by name."""
    links = SalesforceUserLink.objects.filter(connection=connection, user__memberships__tenant_id=connection.tenant_id)
    if connection.credential_mode == CredentialMode.PER_USER:
        links = links.exclude(username="").exclude(password_encrypted=b"")
    else:
        links = links.exclude(unique_identifier="")
    members = [link.user for link in links.select_related("user").distinct()]
    return sorted(members, key=lambda user: (user.get_full_name() or user.get_username()).lower())


def _pages(client: SalesforceClient, soql: str) -> Iterator[list[dict[str, Any]]]:
    """The query's records page by page: one call for the first, one queryMore per next page."""
    page = client.query(soql)
    while True:
        yield page.get("records", [])
        if page.get("done", True) or not page.get("nextRecordsUrl"):
            return
        next_url = page["nextRecordsUrl"]
        page = client.call(lambda sf: sf.query_more(next_url, identifier_is_url=True))


def _zone(connection: SalesforceConnection) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(connection.tenant.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def appointments_pull_member(*, connection: SalesforceConnection, settings: AppointmentSettings, member) -> MemberResult:
    """Pull one member's appointments (see the module docstring). A member who cannot be pulled
    for, or whose query fails, gets an error in the result and nothing of theirs is removed."""
    result = MemberResult()
    try:
        soql = appointment_query_for(connection=connection, member=member)
        client = client_for_member(connection=connection, member=member)
    except AppointmentSetupError as exc:
        result.errors.append(exc.message)
        return result
    except PlaceholderError as exc:
        result.errors.append(str(exc))
        return result
    except SalesforceError as exc:
        result.errors.append(f"Salesforce refused the sign-on ({exc.code}: {exc.message})")
        return result
    sobject = query_sobject(soql)
    zone = _zone(connection)
    seen: set[str] = set()
    try:
        for records in _pages(client, soql):
            result.api_calls += 1
            _apply_page(connection, member, settings.field_mappings, sobject, zone, records, seen, result)
    except SalesforceError as exc:
        result.errors.append(f"The query failed ({exc.code}: {exc.message})")
        return result
    result.removed = _remove_missing(connection, member, sobject, seen)
    return result


@transaction.atomic
def _apply_page(connection, member, mappings, sobject, zone, records, seen: set[str], result: MemberResult) -> None:
    rows: dict[str, tuple[dict[str, Any], dict]] = {}
    for record in records:
        try:
            values, record_id, source = appointment_values(record, mappings, zone)
        except ConversionError as exc:
            result.rows_failed += 1
            if len(result.errors) < 5:
                result.errors.append(f"Record {record.get('Id', '?')}: {exc}")
            continue
        if not record_id:
            result.rows_failed += 1
            continue
        sf_id = id18(record_id)
        seen.add(sf_id)
        rows[sf_id] = (values, source)
    if not rows:
        return
    links = {link.salesforce_id: link for link in SyncLink.objects.select_for_update().filter(
        connection=connection, record_type=RecordType.APPOINTMENT, sobject=sobject, salesforce_id__in=list(rows))}
    appointments = Appointment.objects.in_bulk([link.record_id for link in links.values()])
    now = timezone.now()
    for sf_id, (values, source) in rows.items():
        link = links.get(sf_id)
        appointment = appointments.get(link.record_id) if link else None
        if appointment is None or appointment.tenant_id != connection.tenant_id:
            appointment = Appointment.objects.create(tenant_id=connection.tenant_id, connection_id=connection.pk,
                                                     assigned_to=member, source_fields=source,
                                                     customer_name=values.get("customer_name") or "(no name)",
                                                     **{k: v for k, v in values.items() if k != "customer_name" and v is not None})
            SyncLink.objects.update_or_create(
                connection=connection, record_type=RecordType.APPOINTMENT, sobject=sobject, salesforce_id=sf_id,
                defaults={"tenant_id": connection.tenant_id, "record_id": appointment.pk, "status": LinkStatus.SYNCED,
                          "last_synced_at": now, "last_error_code": "", "last_error_message": ""})
            result.created += 1
            continue
        changed = _assign(appointment, values, source, member)
        if changed:
            appointment.save(update_fields=[*changed, "updated_at"])
            result.updated += 1
        else:
            result.unchanged += 1
        SyncLink.objects.filter(pk=link.pk).update(last_synced_at=now, status=LinkStatus.SYNCED)


def _assign(appointment: Appointment, values: dict[str, Any], source: dict, member) -> list[str]:
    """Set the pulled values; the names of the fields that changed."""
    changed = []
    for name in _WRITTEN_FIELDS:
        if name not in values:
            continue
        new = values[name]
        if new is None:
            new = None if name in ("starts_at", "duration_minutes") else ""
        if name == "customer_name" and not new:
            new = "(no name)"
        if getattr(appointment, name) != new:
            setattr(appointment, name, new)
            changed.append(name)
    if appointment.source_fields != source:
        appointment.source_fields = source
        changed.append("source_fields")
    if appointment.assigned_to_id != member.pk:
        appointment.assigned_to = member
        changed.append("assigned_to")
    return changed


@transaction.atomic
def _remove_missing(connection, member, sobject: str, seen: set[str]) -> int:
    """The member's appointments of this connection their query no longer returns: upcoming ones
    without results or routed files go (with their link); started or worked-on ones stay."""
    linked = dict(SyncLink.objects.filter(connection=connection, record_type=RecordType.APPOINTMENT, sobject=sobject)
                  .exclude(salesforce_id__in=list(seen)).values_list("record_id", "salesforce_id"))
    if not linked:
        return 0
    gone = (Appointment.objects.filter(tenant_id=connection.tenant_id, pk__in=list(linked), assigned_to=member)
            .filter(Q(starts_at__isnull=True) | Q(starts_at__gte=timezone.now()))
            .filter(resulted_at__isnull=True, sale__isnull=True, routed_files__isnull=True))
    ids = list(gone.values_list("pk", flat=True))
    if not ids:
        return 0
    SyncLink.objects.filter(connection=connection, record_type=RecordType.APPOINTMENT, record_id__in=ids).delete()
    Appointment.objects.filter(pk__in=ids).delete()
    return len(ids)


def _claim(pull_id: int) -> AppointmentPull | None:
    now = timezone.now()
    claimed = AppointmentPull.objects.filter(pk=pull_id, status__in=[PullStatus.QUEUED, PullStatus.RUNNING]).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)).update(status=PullStatus.RUNNING, lease_until=now + LEASE,
                                                                   started_at=now)
    return AppointmentPull.objects.select_related("connection__tenant").get(pk=pull_id) if claimed else None


def _finish(run: AppointmentPull, status: str, message: str = "") -> AppointmentPull:
    run.status, run.finished_at, run.lease_until = status, timezone.now(), None
    if message:
        run.message = message
    run.save()
    return run


def appointments_pull_run(*, pull_id: int) -> AppointmentPull | None:
    """Run a queued pull (the task's service): every member in turn, progress saved after each.
    None when another worker holds it."""
    run = _claim(pull_id)
    if run is None:
        return None
    connection = run.connection
    settings = AppointmentSettings.objects.filter(connection=connection).first()
    if connection.status != ConnectionStatus.CONNECTED:
        return _finish(run, PullStatus.FAILED, f"The connection is {connection.get_status_display().lower()}; reconnect it first.")
    if settings is None or not settings.enabled or not settings.soql.strip():
        return _finish(run, PullStatus.FAILED, "Appointments are not switched on for this connection (Workflow › CRM and Appointments).")
    priority = Priority.MANUAL if run.trigger == PullTrigger.MANUAL else Priority.INCREMENTAL
    admission = get_governor().admit(connection.pk, priority)
    if not admission.allowed:
        return _finish(run, PullStatus.FAILED, f"Not run: {admission.reason or 'the API limit is reached'}.")
    members = members_to_pull(connection=connection)
    run.members_total = len(members)
    run.save(update_fields=["members_total"])
    if not members:
        return _finish(run, PullStatus.SUCCEEDED, "No member has a unique identifier or credentials for this connection yet.")
    for member in members:
        result = appointments_pull_member(connection=connection, settings=settings, member=member)
        run.members_done += 1
        for name in ("created", "updated", "unchanged", "removed", "rows_failed", "api_calls"):
            setattr(run, name, getattr(run, name) + getattr(result, name))
        if result.errors:
            run.member_errors = [*run.member_errors, {"member": member.get_full_name() or member.get_username(),
                                                      "message": "; ".join(result.errors)}]
        run.lease_until = timezone.now() + LEASE
        run.save()
    failed_everyone = len(run.member_errors) == len(members) and not (run.created or run.updated or run.unchanged)
    status = (PullStatus.FAILED if failed_everyone else
              PullStatus.FINISHED_WITH_ERRORS if run.member_errors or run.rows_failed else PullStatus.SUCCEEDED)
    return _finish(run, status)
