"""When appointments are pulled: on the incremental schedule (beat, every minute, each connection
with appointments on every `incremental_minutes`) and on demand (Refresh appointments: a task
whose progress the page polls); one pull per connection at a time; large queries page with
queryMore."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from opportunities.models import Appointment
from sync_engine import wakeups
from sync_engine.appointments import tasks
from sync_engine.appointments.models import AppointmentPull, PullStatus, PullTrigger
from sync_engine.appointments.runs import appointment_pull_start, scheduled_appointment_pulls
from tests.appointments.pull_fixtures import appointment_org_fixture  # noqa: F401 - the appointment_org fixture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent(monkeypatch):
    """The tasks sent to the broker (no worker in these tests: they run them themselves)."""
    calls: list[tuple[str, list]] = []
    monkeypatch.setattr(wakeups, "send_named", lambda name, *, args, queue: calls.append((name, args)))
    return calls


def test_the_schedule_starts_a_pull_when_due_and_not_again_within_the_interval(appointment_org, sent):
    now = timezone.now()
    first = scheduled_appointment_pulls(now=now)
    assert len(first) == 1 and sent == [("sync_engine.appointments.pull", first)]
    assert AppointmentPull.objects.get(pk=first[0]).trigger == PullTrigger.SCHEDULED

    assert scheduled_appointment_pulls(now=now) == []  # still queued: not a second one
    tasks.appointment_pull(first[0])  # the worker's part
    assert AppointmentPull.objects.get(pk=first[0]).status == PullStatus.SUCCEEDED
    assert Appointment.objects.count() > 0

    assert scheduled_appointment_pulls(now=now + datetime.timedelta(minutes=14)) == []
    again = scheduled_appointment_pulls(now=now + datetime.timedelta(minutes=16))  # default incremental_minutes: 15
    assert len(again) == 1 and again[0] != first[0]


def test_the_schedule_skips_connections_with_appointments_off(appointment_org, sent):
    appointment_org.settings.enabled = False
    appointment_org.settings.save()
    assert scheduled_appointment_pulls() == [] and sent == []


def test_a_lost_task_is_sent_again_by_the_schedule(appointment_org, sent):
    with transaction.atomic():
        run = appointment_pull_start(connection=appointment_org.connection)
    AppointmentPull.objects.filter(pk=run.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=5))
    sent.clear()

    assert scheduled_appointment_pulls() == [run.pk]
    assert sent == [("sync_engine.appointments.pull", [run.pk])]


def test_a_second_refresh_joins_the_pull_already_queued(appointment_org, sent, alice):
    with transaction.atomic():
        first = appointment_pull_start(connection=appointment_org.connection, actor=alice.member)
    with transaction.atomic():
        second = appointment_pull_start(connection=appointment_org.connection, actor=alice.admin)
    assert first.pk == second.pk and len(sent) == 1
    assert first.requested_by == alice.member and first.trigger == PullTrigger.MANUAL


def test_a_refresh_of_a_switched_off_connection_is_refused_and_nothing_is_queued(appointment_org, sent):
    appointment_org.settings.enabled = False
    appointment_org.settings.save()
    with pytest.raises(ValidationError, match="not switched on"):
        appointment_pull_start(connection=appointment_org.connection)
    assert not AppointmentPull.objects.exists() and sent == []


def test_a_pull_another_worker_holds_is_not_run_twice(appointment_org, sent):
    with transaction.atomic():
        run = appointment_pull_start(connection=appointment_org.connection)
    AppointmentPull.objects.filter(pk=run.pk).update(status=PullStatus.RUNNING, lease_until=timezone.now() + datetime.timedelta(minutes=5))

    tasks.appointment_pull(run.pk)

    assert AppointmentPull.objects.get(pk=run.pk).status == PullStatus.RUNNING and not Appointment.objects.exists()


def test_a_query_of_more_than_one_page_is_read_with_query_more(appointment_org, emulator_reset, alice):
    """2,000 rows a page: 2,150 appointments of one rep cost two calls and make 2,150 appointments, once."""
    sf = emulator_reset.sf(token=emulator_reset.token("demo", "admin@cothon-demo.example.com"))
    staff = appointment_org.staff["Jordan Singh"]
    start = timezone.now() + datetime.timedelta(days=1)
    existing = len(appointment_org.records_of(emulator_reset, "Jordan Singh"))
    for batch in range(0, 2150 - existing, 200):
        records = [{"attributes": {"type": "i360__Appointment__c"}, "i360__Customer_Name__c": f"Bulk Customer {batch + n}",
                    "i360__Staff__c": staff, "i360__Start__c": (start + datetime.timedelta(minutes=batch + n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "i360__Duration__c": 60}
                   for n in range(min(200, 2150 - existing - batch))]
        results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
        assert all(r["success"] for r in results)
    from integrations.models import SalesforceUserLink
    SalesforceUserLink.objects.filter(connection=appointment_org.connection, user=alice.admin).delete()  # one member only

    run = AppointmentPull.objects.create(tenant_id=alice.tenant.pk, connection=appointment_org.connection, trigger=PullTrigger.MANUAL)
    tasks.appointment_pull(run.pk)
    run.refresh_from_db()

    assert run.status == PullStatus.SUCCEEDED, run.member_errors
    assert (run.api_calls, run.created) == (2, 2150)
    assert Appointment.objects.filter(assigned_to=alice.member).count() == 2150
