"""`make run`'s appointments: the demo org's connection of Maple Bid Partners gets the improveit
360 query and mappings (through the settings page's own checks), its users are linked to the
demo org's Staff records by e-mail, and the first pull brings each rep's past and coming week,
today included."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from cothon.models import Tenant
from demo.appointments import seed_appointments
from integrations import connections as svc
from integrations.models import Environment, SalesforceUserLink
from opportunities.models import Appointment
from sync_engine.appointments.models import AppointmentSettings

pytestmark = pytest.mark.django_db


def test_the_demo_sets_up_and_pulls_every_reps_appointments_around_today(emulator_reset):
    call_command("seed_demo", opportunities=0)
    maple = Tenant.objects.get(slug="maple")
    admin = maple.memberships.get(role="admin").user
    creds = emulator_reset.demo
    connection = svc.connection_create(tenant=maple, name="Emulator demo org", environment=Environment.CUSTOM,
                                       login_url=emulator_reset.instance_url, client_id=creds["client_id"],
                                       client_secret=creds["client_secret"], ca_bundle_path=emulator_reset.ca_bundle, actor=admin)
    connection = svc.connection_connect_client_credentials(connection=connection, actor=admin)

    line = seed_appointments(connection=connection)
    again = seed_appointments(connection=connection)  # idempotent: same appointments, nothing new

    assert "3 reps linked" in line and "3 reps linked" in again
    assert AppointmentSettings.objects.get(connection=connection).enabled
    assert set(SalesforceUserLink.objects.filter(connection=connection).exclude(unique_identifier="").values_list(
        "user__username", flat=True)) == {"maple-admin", "maple-bidmanager", "maple-viewer"}
    staff_ids = set(SalesforceUserLink.objects.filter(connection=connection).values_list("unique_identifier", flat=True))
    rows = [r for r in emulator_reset.client.records("demo", "i360__Appointment__c") if r["i360__Staff__c"] in staff_ids]
    assert Appointment.objects.filter(tenant=maple).count() == len(rows) > 30
    jordan = maple.memberships.get(user__username="maple-bidmanager").user
    toronto = zoneinfo.ZoneInfo("America/Toronto")
    today = timezone.now().astimezone(toronto).date()
    mine = list(Appointment.objects.filter(assigned_to=jordan))
    assert sum(1 for a in mine if a.starts_at.astimezone(toronto).date() == today) == 4  # demo.yaml: Jordan's busy day
    days = {a.starts_at.astimezone(toronto).date() for a in mine}  # the past and the coming week
    assert min(days) <= today - datetime.timedelta(days=5) and max(days) >= today + datetime.timedelta(days=5)
    assert all("Product interest:" in a.notes for a in mine)
