"""In a real browser: an admin opens Workflow › CRM and Appointments from the nav, fills the
improveit 360 setup, sees a syntax error pointed at, tests the query as a rep and saves."""

from __future__ import annotations

import pytest

from integrations.models import SalesforceUserLink
from sync_engine.appointments.models import AppointmentSettings
from tests.appointments.fixtures import _no_cached_member_sessions, admin_connected, rep_login, riley_staff_id, admin_sf  # noqa: F401 - fixtures shared with the service tests

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def test_admin_sets_up_the_appointment_query_tests_it_and_saves(page, live_server, login, alice, admin_connected, riley_staff_id,
                                                                  screenshot):
    alice.member.first_name, alice.member.last_name = "Riley", "Rep"
    alice.member.save()
    SalesforceUserLink.objects.create(connection=admin_connected, user=alice.member, unique_identifier=riley_staff_id)
    login(page, alice.admin)
    page.get_by_role("link", name="CRM and Appointments").first.click()
    page.wait_for_url(f"{live_server.url}/settings/integrations/salesforce/{admin_connected.pk}/appointments/")
    assert page.get_by_test_id("sign-on-mode").inner_text() == "Single sign-on"

    page.get_by_test_id("improveit").click()
    page.get_by_test_id("improveit-filled").wait_for()
    assert "i360__Staff__c = :user_identifier" in page.get_by_test_id("soql").input_value()

    good = page.get_by_test_id("soql").input_value()
    page.get_by_test_id("soql").fill(good.replace("FROM i360__Appointment__c", "FORM i360__Appointment__c"))
    page.get_by_test_id("check-syntax").click()
    problems = page.get_by_test_id("soql-problems")
    problems.wait_for()
    assert "Line 4, column 1:" in problems.inner_text() and "expected" in problems.inner_text()
    assert page.locator(".code-gutter li").count() >= 10
    screenshot(page, "appointments-config-syntax-error")

    page.get_by_test_id("soql").fill(good)
    page.get_by_test_id("test-member").select_option(label="Riley Rep")
    page.get_by_test_id("test-query").click()
    rows = page.get_by_test_id("test-rows")
    rows.wait_for()
    assert "Jordan Homeowner" in rows.inner_text() and "Casey Client" in rows.inner_text()
    assert page.get_by_test_id("test-soql").inner_text().endswith("LIMIT 10")
    screenshot(page, "appointments-config-test-query")

    page.get_by_test_id("save").click()
    page.get_by_text("CRM and Appointments saved.").wait_for()
    settings = AppointmentSettings.objects.get(connection=admin_connected)
    assert settings.enabled and settings.soql == good.replace("\r\n", "\n")
    assert page.get_by_test_id("mappings").locator("tbody tr").count() == len(settings.field_mappings) + 1
    screenshot(page, "appointments-config-saved")


def test_admin_switches_to_multi_user_and_enters_a_reps_login_with_its_security_token(page, live_server, login, alice, admin_connected,
                                                                                        rep_login, screenshot):
    login(page, alice.admin)
    page.goto(f"{live_server.url}/settings/integrations/salesforce/{admin_connected.pk}/appointments/")
    page.get_by_label("Multi-user sign-on").check()
    page.get_by_role("button", name="Change sign-on").click()
    page.get_by_text("Sign-on changed to multi-user sign-on").wait_for()
    assert page.get_by_test_id("sign-on-mode").inner_text() == "Multi-user sign-on"

    page.get_by_role("link", name="Members' identifiers and logins").click()
    uid = alice.member.pk
    page.fill(f"input[name=u{uid}-username]", rep_login["username"])
    page.fill(f"input[name=u{uid}-password]", rep_login["password"])
    page.fill(f"input[name=u{uid}-security_token]", "NotTheToken")
    page.get_by_role("button", name="Save user mapping").click()
    page.get_by_text("Salesforce refused this login (INVALID_LOGIN)").wait_for()
    assert not SalesforceUserLink.objects.filter(user=alice.member).exists()

    page.fill(f"input[name=u{uid}-password]", rep_login["password"])
    page.fill(f"input[name=u{uid}-security_token]", rep_login["security_token"])
    page.get_by_role("button", name="Save user mapping").click()
    page.get_by_text("User mapping saved.").wait_for()
    link = SalesforceUserLink.objects.get(user=alice.member)
    assert link.username == rep_login["username"] and link.password_encrypted
    assert page.locator(f"input[name=u{uid}-password]").get_attribute("placeholder") == "Password stored"
    screenshot(page, "appointments-users-multi-user")
