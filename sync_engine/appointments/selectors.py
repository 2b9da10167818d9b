"""Reads of the appointment pages, always scoped by tenant and by who is asking: a member sees
the appointments assigned to them, an admin everyone's (optionally one rep's). Anything else —
another tenant's appointment, another member's for a non-admin — does not exist (404)."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from cothon.models import Membership, Tenant
from integrations.models import SalesforceConnection
from opportunities.models import Appointment
from sync_engine.appointments.models import AppointmentPull, AppointmentSettings
from sync_engine.models import SyncLink
from sync_engine.vocabulary import RecordType


def appointment_list(*, tenant: Tenant, membership: Membership, rep_id: int | None = None,
                     starts_from: datetime.datetime | None = None,
                     starts_before: datetime.datetime | None = None) -> QuerySet[Appointment]:
    """The appointments `membership` may see, earliest first; `rep_id` narrows an admin's view to
    one rep (ignored for members: they only ever see their own)."""
    appointments = Appointment.objects.filter(tenant=tenant).select_related("assigned_to")
    if membership.has_role("admin"):
        if rep_id is not None:
            appointments = appointments.filter(assigned_to_id=rep_id)
    else:
        appointments = appointments.filter(assigned_to_id=membership.user_id)
    if starts_from is not None:
        appointments = appointments.filter(starts_at__gte=starts_from)
    if starts_before is not None:
        appointments = appointments.filter(starts_at__lt=starts_before)
    return appointments.order_by("starts_at", "id")


def appointment_get(*, tenant: Tenant, membership: Membership, pk: int) -> Appointment:
    """Raises Appointment.DoesNotExist for another tenant's or (non-admins) another member's."""
    return appointment_list(tenant=tenant, membership=membership).get(pk=pk)


def appointment_reps(*, tenant: Tenant) -> list:
    """Members of the tenant who have appointments, for an admin's rep filter."""
    ids = Appointment.objects.filter(tenant=tenant, assigned_to__isnull=False).values_list("assigned_to_id", flat=True).distinct()
    users = get_user_model().objects.filter(pk__in=list(ids), memberships__tenant=tenant)
    return sorted(users, key=lambda user: (user.get_full_name() or user.get_username()).lower())


def appointment_salesforce_link(*, tenant: Tenant, appointment: Appointment) -> SyncLink | None:
    """The Salesforce record the appointment was pulled from (its link in its connection)."""
    return (SyncLink.objects.filter(tenant=tenant, record_type=RecordType.APPOINTMENT, record_id=appointment.pk)
            .exclude(salesforce_id="").select_related("connection").order_by("-id").first())


def appointment_connections(*, tenant: Tenant) -> list[SalesforceConnection]:
    """The tenant's connections with appointments switched on (where a refresh can pull from)."""
    ids = AppointmentSettings.objects.filter(connection__tenant=tenant, enabled=True).exclude(soql="").values_list(
        "connection_id", flat=True)
    return list(SalesforceConnection.objects.filter(tenant=tenant, pk__in=list(ids)).order_by("-is_default", "name"))


def appointment_pull_latest(*, tenant: Tenant, connection: SalesforceConnection) -> AppointmentPull | None:
    return AppointmentPull.objects.filter(tenant=tenant, connection=connection).select_related("requested_by").first()


def appointment_pull_get(*, tenant: Tenant, pk: int) -> AppointmentPull:
    """Raises AppointmentPull.DoesNotExist for another tenant's pull."""
    return AppointmentPull.objects.select_related("connection", "requested_by").get(tenant=tenant, pk=pk)
