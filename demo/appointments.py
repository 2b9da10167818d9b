"""The demo's appointments (seed 002): the demo org's connection gets the improveit 360 query and
field mappings, each demo user whose e-mail is on a Staff record gets that record's id as their
unique identifier (single sign-on), and a first pull runs, so `make run` shows appointments.

Idempotent: settings an admin already changed are left alone; identifiers are (re)linked."""

from __future__ import annotations

from django.db import transaction

from cothon.models import Membership
from integrations.connections import client_for
from integrations.models import SalesforceConnection, SalesforceUserLink
from integrations.user_links import user_link_set
from sync_engine.appointments.config_services import appointment_settings_save
from sync_engine.appointments.models import AppointmentSettings, PullStatus, PullTrigger
from sync_engine.appointments.pull import appointments_pull_run
from sync_engine.appointments.runs import appointment_pull_start

IMPROVEIT_QUERY = """SELECT Id, Name, i360__Customer_Name__c, i360__Street__c, i360__City__c, i360__State__c, i360__Zip__c,
       i360__Customer_Phone__c, i360__Customer_Email__c, i360__Start__c, i360__Duration__c,
       i360__Staff__c, i360__Staff__r.Name, i360__Product__c, i360__Estimate__c, i360__Confirmed__c,
       i360__Result__c, i360__Result_Reason__c, i360__Notes__c
FROM i360__Appointment__c
WHERE i360__Staff__c = :user_identifier AND i360__Start__c >= LAST_N_DAYS:14
ORDER BY i360__Start__c"""


def _row(title: str, sf_field: str, sf_type: str, target: str = "", show_in_notes: bool = False) -> dict:
    return {"title": title, "sf_field": sf_field, "sf_type": sf_type, "target": target, "show_in_notes": show_in_notes}


IMPROVEIT_MAPPINGS = [
    _row("Record", "Id", "id", "salesforce_id"),
    _row("Customer", "i360__Customer_Name__c", "string", "customer_name"),
    _row("Street", "i360__Street__c", "string", "address"),
    _row("City", "i360__City__c", "string", "address"),
    _row("Province", "i360__State__c", "string", "address"),
    _row("Postal code", "i360__Zip__c", "string", "address"),
    _row("Phone", "i360__Customer_Phone__c", "phone", "phone"),
    _row("E-mail", "i360__Customer_Email__c", "email", "email"),
    _row("Start", "i360__Start__c", "datetime", "starts_at"),
    _row("Duration (minutes)", "i360__Duration__c", "double", "duration_minutes"),
    _row("Appointment", "Name", "string", "", True),
    _row("Rep", "i360__Staff__r.Name", "string", ""),
    _row("Product interest", "i360__Product__c", "picklist", "", True),
    _row("Estimate", "i360__Estimate__c", "currency", "", True),
    _row("Confirmed", "i360__Confirmed__c", "boolean", "", True),
    _row("Lead result", "i360__Result__c", "picklist", "result"),
    _row("Result reason", "i360__Result_Reason__c", "picklist", "result_reason"),
    _row("Office notes", "i360__Notes__c", "textarea", "notes"),
]


def seed_appointments(*, connection: SalesforceConnection) -> str:
    """Set the connection up for appointments and pull them once; a line for the console."""
    admin = connection.tenant.memberships.filter(role="admin").select_related("user").first()
    settings = AppointmentSettings.objects.filter(connection=connection).first()
    created = settings is None
    if created:  # through the page's own checks (query against the org's describe, mappings, essentials)
        settings = appointment_settings_save(connection=connection, enabled=True, soql=IMPROVEIT_QUERY,
                                             field_mappings=IMPROVEIT_MAPPINGS, actor=admin.user if admin else None)
    staff = client_for(connection).query("SELECT Id, Name, i360__Email__c FROM i360__Staff__c")["records"]
    by_email = {(row.get("i360__Email__c") or "").lower(): row["Id"] for row in staff if row.get("i360__Email__c")}
    linked = 0
    for membership in Membership.objects.filter(tenant=connection.tenant).select_related("user"):
        staff_id = by_email.get(membership.user.email.lower())
        if staff_id:
            # The link may already map the user to a Salesforce User (OwnerId): keep that.
            existing = SalesforceUserLink.objects.filter(connection=connection, user_id=membership.user_id).first()
            user_link_set(connection=connection, user_id=membership.user_id, unique_identifier=staff_id,
                          salesforce_user_id=existing.salesforce_user_id if existing else "",
                          username=existing.username if existing else "")
            linked += 1
    if not settings.enabled:
        return f"appointments switched off by an admin; {linked} reps linked to their Staff records"
    with transaction.atomic():
        run = appointment_pull_start(connection=connection, trigger=PullTrigger.MANUAL)
    run = appointments_pull_run(pull_id=run.pk) or run
    outcome = "pulled" if run.status in (PullStatus.SUCCEEDED, PullStatus.FINISHED_WITH_ERRORS) else f"not pulled ({run.message})"
    return (f"appointments {'set up' if created else 'kept as configured'}; {linked} reps linked to their Staff records; "
            f"{run.created + run.updated + run.unchanged} appointments {outcome}")
