"""Fixtures of the appointment pull tests (imported by the test_pull_* / test_pages_* modules):
alice's demo-org connection with the improveit 360 query and mappings of the demo, and her
member and admin linked to the demo org's Staff records of Jordan Singh and Amélie Tremblay."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from demo.appointments import IMPROVEIT_MAPPINGS, IMPROVEIT_QUERY
from integrations.user_links import user_link_set
from sync_engine.appointments.models import AppointmentSettings


@dataclass
class AppointmentOrg:
    connection: object
    settings: AppointmentSettings
    staff: dict[str, str]  # Staff Name -> Id

    def records_of(self, emulator, staff_name: str) -> list[dict]:
        """The org's appointments of one rep (what their query must bring)."""
        rows = emulator.client.records("demo", "i360__Appointment__c")
        return [r for r in rows if r.get("i360__Staff__c") == self.staff[staff_name]]


@pytest.fixture(name="appointment_org")
def appointment_org_fixture(alice, connected, emulator_reset) -> AppointmentOrg:
    settings = AppointmentSettings.objects.create(connection=connected, enabled=True, soql=IMPROVEIT_QUERY,
                                                  field_mappings=IMPROVEIT_MAPPINGS)
    staff = {row["Name"]: row["Id"] for row in emulator_reset.sf().query("SELECT Id, Name FROM i360__Staff__c")["records"]}
    user_link_set(connection=connected, user_id=alice.member.pk, unique_identifier=staff["Jordan Singh"])
    user_link_set(connection=connected, user_id=alice.admin.pk, unique_identifier=staff["Amélie Tremblay"])
    return AppointmentOrg(connected, settings, staff)
