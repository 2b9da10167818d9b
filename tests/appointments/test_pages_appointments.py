"""The Appointments pages: a member sees their own appointments (list, day, week, each one's page
with its notes and Salesforce link), an admin everyone's with a rep filter; another member's
appointment is a 404 for a member, another tenant's for everyone; Refresh appointments queues a
pull whose progress the page polls; bad input gets a clear message."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from opportunities.models import Appointment
from sync_engine import wakeups
from sync_engine.appointments import tasks
from sync_engine.appointments.models import AppointmentPull, AppointmentSettings, PullStatus, PullTrigger
from sync_engine.models import LinkStatus, SyncLink

pytestmark = pytest.mark.django_db
UTC = datetime.UTC


def _connection(tenant, enabled=True) -> SalesforceConnection:
    connection = SalesforceConnection.objects.create(tenant=tenant, name="Production", login_url="https://login.salesforce.com",
                                                     instance_url="https://acme.my.salesforce.com", status=ConnectionStatus.CONNECTED,
                                                     is_default=True)
    AppointmentSettings.objects.create(connection=connection, enabled=enabled, soql="SELECT Id FROM i360__Appointment__c",
                                       field_mappings=[])
    return connection


def _appointment(tenant, user, name, starts_at, connection=None, sf_id="", **extra) -> Appointment:
    appointment = Appointment.objects.create(tenant=tenant, assigned_to=user, customer_name=name, starts_at=starts_at,
                                             duration_minutes=60, connection_id=connection.pk if connection else None, **extra)
    if sf_id:
        SyncLink.objects.create(tenant=tenant, connection=connection, record_type="appointment", record_id=appointment.pk,
                                sobject="i360__Appointment__c", salesforce_id=sf_id, status=LinkStatus.SYNCED)
    return appointment


@pytest.fixture
def booked(alice, bob):
    """Today 10:00 in the tenant's zone: the member's and the admin's appointments; bob's one."""
    zone = zoneinfo.ZoneInfo(alice.tenant.time_zone)
    ten = datetime.datetime.combine(timezone.now().astimezone(zone).date(), datetime.time(10, 0), tzinfo=zone)
    connection = _connection(alice.tenant)
    mine = _appointment(alice.tenant, alice.member, "Jordan Homeowner", ten, connection, "a0P5g0SD0000008EGA",
                        address="12 Elm Street, Ottawa", phone="613-555-0101", notes="Gate code 4412.\n\nEstimate: $12,500.00",
                        source_fields={"i360__Estimate__c": {"title": "Estimate", "type": "currency", "value": "$12,500.00",
                                                             "in_notes": True}})
    theirs = _appointment(alice.tenant, alice.admin, "Casey Client", ten + datetime.timedelta(hours=3), connection,
                          "a0P5g0SD0000009EGA")
    bobs = _appointment(bob.tenant, bob.member, "Bob's Customer", ten)
    return {"mine": mine, "theirs": theirs, "bobs": bobs, "connection": connection, "ten": ten}


@pytest.mark.parametrize("view", ["day", "week", "list"])
def test_a_member_sees_only_their_own_appointments_in_every_view(alice, booked, web_as, view):
    page = web_as(alice.member).get(f"/appointments/?view={view}").content.decode()
    assert "Jordan Homeowner" in page and "Casey Client" not in page and "Bob&#x27;s Customer" not in page
    assert "Your appointments" in page


@pytest.mark.parametrize("view", ["day", "week", "list"])
def test_an_admin_sees_everyones_and_can_narrow_to_one_rep(alice, booked, web_as, view):
    client = web_as(alice.admin)
    everyone = client.get(f"/appointments/?view={view}").content.decode()
    assert "Jordan Homeowner" in everyone and "Casey Client" in everyone and "Bob" not in everyone
    one = client.get(f"/appointments/?view={view}&rep={alice.member.pk}").content.decode()
    assert "Jordan Homeowner" in one and "Casey Client" not in one


def test_an_admins_day_has_one_column_per_rep(alice, booked, web_as):
    page = web_as(alice.admin).get("/appointments/").content.decode()
    assert page.count('class="appt-col-head') == 2
    assert "alice-member" in page and "alice-admin" in page  # the reps' names head the columns


def test_the_day_view_places_an_appointment_at_its_time_and_length(alice, booked, web_as):
    page = web_as(alice.member).get("/appointments/").content.decode()
    # 10:00 is 3 hours after the first row (7:00), 4 rows an hour, after the header row: row 14; 60 minutes: 4 rows.
    assert f'style="grid-column: 2; grid-row: 14 / span 4;" data-appointment="{booked["mine"].pk}"' in page


def test_a_member_cannot_filter_by_another_rep(alice, booked, web_as):
    page = web_as(alice.member).get(f"/appointments/?rep={alice.admin.pk}").content.decode()
    assert "Jordan Homeowner" in page and "Casey Client" not in page


def test_an_appointments_page_shows_its_notes_fields_and_salesforce_link(alice, booked, web_as):
    page = web_as(alice.member).get(f"/appointments/{booked['mine'].pk}/").content.decode()
    assert "Gate code 4412." in page and "$12,500.00" in page and "12 Elm Street, Ottawa" in page
    assert "https://acme.my.salesforce.com/lightning/r/i360__Appointment__c/a0P5g0SD0000008EGA/view" in page


def test_another_members_appointment_is_a_404_for_a_member_but_not_for_an_admin(alice, booked, web_as):
    assert web_as(alice.member).get(f"/appointments/{booked['theirs'].pk}/").status_code == 404
    assert web_as(alice.viewer).get(f"/appointments/{booked['mine'].pk}/").status_code == 404
    assert web_as(alice.admin).get(f"/appointments/{booked['mine'].pk}/").status_code == 200


def test_another_tenants_appointment_and_pull_are_404(alice, bob, booked, web_as):
    pull = AppointmentPull.objects.create(tenant=alice.tenant, connection=booked["connection"], trigger=PullTrigger.MANUAL)
    client = web_as(bob.admin)
    assert client.get(f"/appointments/{booked['mine'].pk}/").status_code == 404
    assert client.get(f"/appointments/pulls/{pull.pk}/").status_code == 404
    assert client.post("/appointments/refresh/", {"connection": booked["connection"].pk}).status_code == 404
    assert not AppointmentPull.objects.filter(tenant=bob.tenant).exists()
    assert web_as(alice.admin).get(f"/appointments/{booked['bobs'].pk}/").status_code == 404


@pytest.mark.parametrize(("query", "message"), [
    ("date=2026-13-40", "is not a date from 1900 to 2999 (use YYYY-MM-DD); showing today"),
    ("date=tomorrow", "is not a date from 1900 to 2999 (use YYYY-MM-DD); showing today"),
    ("date=9999-12-31&view=week", "is not a date from 1900 to 2999"),
    ("date=0001-01-01", "is not a date from 1900 to 2999"),
])
def test_a_bad_date_says_so_and_shows_today(alice, booked, web_as, query, message):
    page = web_as(alice.member).get(f"/appointments/?{query}").content.decode()
    assert message in page and "Jordan Homeowner" in page


def test_an_unknown_rep_or_view_falls_back_with_a_message(alice, booked, web_as):
    client = web_as(alice.admin)
    page = client.get("/appointments/?rep=abc").content.decode()
    assert "That rep has no appointments here" in page and "Casey Client" in page
    assert client.get("/appointments/?view=year").status_code == 200


def test_moving_to_another_day_shows_that_days_appointments(alice, booked, web_as):
    tomorrow = (booked["ten"] + datetime.timedelta(days=1)).date().isoformat()
    page = web_as(alice.member).get(f"/appointments/?date={tomorrow}").content.decode()
    assert "Jordan Homeowner" not in page and "No appointments on this day." in page


def test_refresh_queues_a_pull_the_page_polls_until_it_is_done(alice, booked, web_as, monkeypatch,
                                                                django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(wakeups, "send_named", lambda name, *, args, queue: sent.append((name, args)))
    client = web_as(alice.member)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/appointments/refresh/", {"next": "/appointments/?view=week"}, HTTP_HX_REQUEST="true")

    pull = AppointmentPull.objects.get()
    assert response.status_code == 200 and f'hx-get="/appointments/pulls/{pull.pk}/?was=active"' in response.content.decode()
    assert sent == [("sync_engine.appointments.pull", [pull.pk])] and pull.requested_by == alice.member
    AppointmentPull.objects.filter(pk=pull.pk).update(status=PullStatus.SUCCEEDED, created=3, finished_at=timezone.now())
    done = client.get(f"/appointments/pulls/{pull.pk}/?was=active", HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true" and "3 new" in done.content.decode()


def test_refresh_without_appointments_switched_on_says_so_and_queues_nothing(alice, web_as, monkeypatch):
    sent = []
    monkeypatch.setattr(wakeups, "send_named", lambda name, *, args, queue: sent.append(name))
    _connection(alice.tenant, enabled=False)
    response = web_as(alice.member).post("/appointments/refresh/", follow=True)
    assert "Appointments are not switched on" in response.content.decode()
    assert not AppointmentPull.objects.exists() and sent == []


def test_refresh_of_an_unknown_connection_is_a_404(alice, booked, web_as):
    assert web_as(alice.member).post("/appointments/refresh/", {"connection": "nope"}).status_code == 404
    assert not AppointmentPull.objects.exists()


def test_the_refresh_task_runs_the_queued_pull(alice, booked, monkeypatch):
    """The worker's side: the task loads the pull by id and runs it (here: no member is linked)."""
    pull = AppointmentPull.objects.create(tenant=alice.tenant, connection=booked["connection"], trigger=PullTrigger.MANUAL)
    tasks.appointment_pull(pull.pk)
    pull.refresh_from_db()
    assert pull.status == PullStatus.SUCCEEDED and "No member has a unique identifier" in pull.message


def test_the_nav_links_the_appointments_page(alice, web_as):
    page = web_as(alice.viewer).get("/appointments/").content.decode()
    assert 'href="/appointments/"' in page and "No appointments on this day." in page


HUGE = "99999999999999999999999"


@pytest.mark.parametrize("value", [HUGE, "-1", "abc", "\x00", "9999-12-31", "0001-01-01", "1e400", "%s" * 50, "x" * 5000])
@pytest.mark.parametrize("param", ["date", "rep", "view"])
def test_hostile_query_values_never_break_the_page(alice, booked, web_as, param, value):
    for view in ("day", "week", "list"):
        response = web_as(alice.admin).get("/appointments/", {"view": view, param: value})
        assert response.status_code == 200, (view, param, value)


@pytest.mark.parametrize("path", [f"/appointments/{HUGE}/", f"/appointments/pulls/{HUGE}/"])
def test_a_huge_id_in_an_appointment_url_is_a_404(alice, web_as, path):
    assert web_as(alice.member).get(path).status_code == 404


def test_a_refresh_with_a_foreign_next_goes_back_to_the_appointments(alice, booked, web_as, monkeypatch):
    monkeypatch.setattr(wakeups, "send_named", lambda name, *, args, queue: None)
    response = web_as(alice.member).post("/appointments/refresh/", {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/appointments/"


def test_the_appointment_page_offers_send_a_document_and_credit_application_to_members_only(alice, web_as):
    connection = _connection(alice.tenant)
    appointment = _appointment(alice.tenant, alice.member, "Larry Leap", timezone.now(), connection=connection)
    page = web_as(alice.member).get(f"/appointments/{appointment.pk}/").content.decode()
    assert f"/appointments/{appointment.pk}/send-document/" in page and f"/appointments/{appointment.pk}/credit-application/" in page
    Appointment.objects.filter(pk=appointment.pk).update(assigned_to=alice.viewer)
    page = web_as(alice.viewer).get(f"/appointments/{appointment.pk}/").content.decode()
    assert "send-document" not in page and "credit-application" not in page
