"""Fixtures of the appointment flow's tests.

Configuration and pull: in fixtures.py, so the browser tests can use them too.
Routing and results: an appointment of alice's pulled from an i360__Appointment__c record created
in the emulator's demo org (the pull itself is tested elsewhere: here the appointment and its
SyncLink are made directly), and routing rules."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from opportunities.models import Appointment
from sync_engine.appointments import results as results_service
from sync_engine.appointments.models import RoutingKind, RoutingRule
from sync_engine.models import LinkStatus, SyncLink
from tests.appointments import results_fixtures
from tests.appointments.fixtures import (  # noqa: F401
    _no_cached_member_sessions,
    admin_connected,
    admin_sf,
    rep_login,
    riley_staff_id,
)


def make_appointment(tenant, connection, emulator, *, customer="Larry Leap", assigned_to=None) -> tuple[Appointment, str]:
    """An i360__Appointment__c in the emulator and the Cothon appointment linked to it."""
    sf = emulator.sf(token=emulator.token("demo", "admin@cothon-demo.example.com"))
    record_id = sf.i360__Appointment__c.create({
        "i360__Customer_Name__c": customer, "i360__Street__c": "12 Elm Street", "i360__City__c": "Ottawa",
        "i360__Customer_Phone__c": "613-555-0101", "i360__Customer_Email__c": "larry@example.com",
        "i360__Start__c": "2030-05-23T15:00:00.000+0000", "i360__Duration__c": 90})["id"]
    appointment = Appointment.objects.create(
        tenant=tenant, connection_id=connection.pk if connection else None, customer_name=customer,
        address="12 Elm Street, Ottawa", phone="613-555-0101", email="larry@example.com",
        starts_at=datetime.datetime(2030, 5, 23, 15, 0, tzinfo=datetime.UTC), duration_minutes=90, assigned_to=assigned_to)
    if connection is not None:
        SyncLink.objects.create(tenant=tenant, connection=connection, record_type="appointment", record_id=appointment.pk,
                                sobject="i360__Appointment__c", salesforce_id=record_id, status=LinkStatus.SYNCED,
                                last_synced_at=timezone.now())
    return appointment, record_id


@pytest.fixture
def appointment(alice, connected, emulator_reset):
    """(alice's appointment assigned to her member, its Salesforce record id)."""
    return make_appointment(alice.tenant, connected, emulator_reset, assigned_to=alice.member)


def rule(connection, kind=RoutingKind.CONTRACT, **fields) -> RoutingRule:
    defaults = {"enabled": True, "file_name_template": "%customerName% Contract %date%.pdf",
                "backup_recipients": ["office@alice.example", "backup@alice.example"]}
    defaults.update(fields)
    return RoutingRule.objects.update_or_create(connection=connection, kind=kind, defaults=defaults)[0]


@pytest.fixture
def contract_rule(connected):
    return rule(connected)


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Routed files are written under MEDIA_ROOT: a folder of the test's own."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


# Results (tests/appointments/test_results_*.py): the improveit 360 Results rule on alice's org.
@pytest.fixture
def results_rule(connected) -> RoutingRule:
    return rule(connected, kind=RoutingKind.RESULTS, note_title="Appointment results", object_class="i360__Appointment__c",
                file_name_template="%customerName% Results %date%.pdf", sale_pickers=results_fixtures.SALE_PICKERS,
                no_sale_pickers=results_fixtures.NO_SALE_PICKERS)


@pytest.fixture
def enqueued(monkeypatch, django_capture_on_commit_callbacks):
    """The ResultSend ids queued for the worker after commit (no broker in these tests: they run
    the worker's part themselves). Commits of the test's own transaction are captured and run."""
    sent: list[int] = []
    monkeypatch.setattr(results_service, "_enqueue", sent.append)

    class Queue(list):
        def __call__(self, service, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                answer = service(**kwargs)
            self[:] = sent
            return answer

    return Queue()
