"""In a real browser against the emulator: a rep logs in, opens Appointments, refreshes them from
Salesforce (the progress is polled until the pull is done) and sees today's appointments in the
day view, then opens one. Screenshots in test-artifacts/appointments-day.png and
appointments-detail.png."""

from __future__ import annotations

import zoneinfo

import pytest
from django.utils import timezone

from sync_engine.appointments import runs
from sync_engine.appointments.models import AppointmentPull
from sync_engine.appointments.pull import appointments_pull_run
from tests.appointments.pull_fixtures import appointment_org_fixture  # noqa: F401 - the appointment_org fixture
# page, login, screenshot: the browser fixtures (tests/browser_fixtures.py, a root conftest plugin).

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def test_a_rep_refreshes_and_sees_todays_appointments_in_the_day_view(
        page, live_server, login, alice, appointment_org, emulator_reset, screenshot, monkeypatch):
    alice.tenant.time_zone = "America/Toronto"  # the demo org's zone: "today" is the same day on both sides
    alice.tenant.save()
    toronto = zoneinfo.ZoneInfo("America/Toronto")
    today = timezone.now().astimezone(toronto).date()
    todays = sorted((r for r in appointment_org.records_of(emulator_reset, "Jordan Singh")
                     if timezone.datetime.fromisoformat(r["i360__Start__c"].replace("+0000", "+00:00")).astimezone(toronto).date() == today),
                    key=lambda r: r["i360__Start__c"])
    assert len(todays) == 4
    sent: list[int] = []
    monkeypatch.setattr(runs, "_send", sent.append)  # the broker: the worker's part is done below

    login(page, alice.member)
    page.get_by_role("link", name="Appointments").click()
    page.get_by_text("Not pulled yet.").wait_for()
    assert page.locator(".appt-event").count() == 0
    page.get_by_role("button", name="Refresh appointments").click()
    page.locator(".appt-pull[data-status='queued']").wait_for()
    pull = AppointmentPull.objects.get()
    assert sent == [pull.pk]
    appointments_pull_run(pull_id=pull.pk)  # what the background worker does with the message

    # The polled progress sees the end and the page reloads with the day's appointments.
    page.locator(".appt-pull[data-status='succeeded']").wait_for()
    events = page.locator(".appt-event")
    events.first.wait_for()
    assert events.count() == 4
    names = [events.nth(n).locator(".appt-event-name").inner_text() for n in range(4)]
    assert names == [r["i360__Customer_Name__c"] for r in todays]
    assert page.locator(".appt-col-head.is-today").count() == 1
    assert "Your appointments" in page.locator(".page-header").inner_text()
    screenshot(page, "appointments-day")

    events.first.click()
    page.get_by_role("heading", name=todays[0]["i360__Customer_Name__c"]).wait_for()
    assert page.get_by_role("link", name="Open in Salesforce").get_attribute("href").endswith(f"{todays[0]['Id']}/view")
    assert todays[0]["i360__Notes__c"] in page.locator(".appt-notes").inner_text()
    screenshot(page, "appointments-detail")


def test_an_admin_sees_every_reps_day_in_columns_and_the_week(
        page, live_server, login, alice, appointment_org, emulator_reset, screenshot):
    alice.tenant.time_zone = "America/Toronto"
    alice.tenant.save()
    run = AppointmentPull.objects.create(tenant=alice.tenant, connection=appointment_org.connection, trigger="manual")
    appointments_pull_run(pull_id=run.pk)

    login(page, alice.admin)
    page.goto(f"{live_server.url}/appointments/")
    heads = page.locator(".appt-col-head")
    heads.first.wait_for()
    assert sorted(heads.all_inner_texts()) == ["alice-admin", "alice-member"]  # one column per rep with appointments today
    assert "Every rep’s appointments" in page.locator(".page-header").inner_text()
    screenshot(page, "appointments-admin-day")

    page.get_by_role("link", name="Week").click()
    page.locator(".appt-grid[data-view='week']").wait_for()
    assert page.locator(".appt-col-head").count() == 7
    week_events = page.locator(".appt-event").count()
    page.select_option("#appt-rep", label="alice-member")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**rep=*")
    assert 0 < page.locator(".appt-event").count() < week_events
    screenshot(page, "appointments-week")

    page.get_by_role("link", name="List").click()
    page.locator("table.appt-table").wait_for()
    rows = page.locator("table.appt-table tbody tr")
    assert rows.count() > 0 and all("alice-member" in text for text in rows.all_inner_texts())  # still one rep
    screenshot(page, "appointments-list")
