"""Routing settings in a real browser against the emulator: the admin fills the Results
Routing rule, loads a picker's options from Salesforce (htmx), saves; a failed upload shows on
the routed files page with Retry; the customer signs a credit application. Screenshots in
test-artifacts/routing-*.png."""

from __future__ import annotations

import pytest

from integrations.crypto import encrypt_token
from sync_engine.appointments.models import RoutedFile, RoutingKind, RoutingRule
from sync_engine.appointments.upload import route_file, routed_file_upload
from tests.appointments.conftest import make_appointment, rule

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180), pytest.mark.browser, pytest.mark.emulator]


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_results_routing_loads_picker_options_from_salesforce_and_saves(page, live_server, login, alice, connected, screenshot):
    login(page, alice.admin)
    page.goto(f"{live_server.url}/settings/integrations/salesforce/{connected.pk}/routing/")
    page.get_by_role("heading", name="Workflow › Results Routing").wait_for()
    screenshot(page, "routing-index")
    page.locator("#rule-results a", has_text="Edit").click()
    page.get_by_label("Send results to Salesforce").check()
    page.fill("#f-template", "%customerName% Results %date%.pdf")
    page.fill("#f-recipients", "office@alice.example")
    page.fill("#f-note", "Appointment results")
    page.fill("#f-object", "i360__Appointment__c")
    page.fill("[name='no_sale-0-title']", "Lead Result")
    page.fill("[name='no_sale-0-sf_field']", "i360__Result__c")
    page.locator("#no_sale-row-0 button", has_text="Load from Salesforce").click()
    page.locator("#no_sale-0-options-box .help", has_text="Loaded from Salesforce").wait_for()
    assert "Demo Not Sold" in page.input_value("#no_sale-0-options")
    page.check("[name='no_sale-0-required']")
    page.fill("[name='sale-0-title']", "Lead Result")
    page.fill("[name='sale-0-options']", "Demo Sold")
    page.fill("[name='sale-0-sf_field']", "i360__Result__c")
    screenshot(page, "routing-results-filled")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Results routing saved.").wait_for()
    saved = RoutingRule.objects.get(connection=connected, kind=RoutingKind.RESULTS)
    # The demo org's Lead Result picklist (salesforce_emulator/orgs/demo.yaml), in its order.
    assert saved.enabled and saved.no_sale_pickers[0]["options"] == ["Demo Sold", "Demo Not Sold", "Demo Maybe", "No Demo"]
    assert saved.sale_pickers == [{"title": "Lead Result", "options": ["Demo Sold"], "sf_field": "i360__Result__c",
                                   "required": False}]

    page.fill("#f-object", "i360__Apointment__c")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Nothing was saved.").wait_for()
    assert "The org has no object i360__Apointment__c" in page.inner_text("#f-object-errors")
    screenshot(page, "routing-results-error")


def test_a_failed_upload_is_listed_with_retry_and_the_customer_signs_a_credit_application(page, live_server, login, alice, connected,
                                                                                         emulator_reset, screenshot, settings,
                                                                                         tmp_path):
    appointment, _ = make_appointment(alice.tenant, connected, emulator_reset, assigned_to=alice.admin)
    rule(connected)
    rule(connected, RoutingKind.CREDIT_APP, disclosure="By signing, you authorize Alice Home Services to obtain your credit report.\n\n"
         "Your information is used only for this application.", password_encrypted=encrypt_token("Credit-Pass-2030"))
    emulator_reset.client.add_fault(object="ContentVersion", operation="create", status=503, count=1)
    routed = route_file(tenant=alice.tenant, appointment=appointment, kind=RoutingKind.CONTRACT, content=b"%PDF-1.4\n%%EOF\n",
                        actor=alice.admin, context={})
    routed_file_upload(routed_file_id=routed.pk)

    login(page, alice.admin)
    page.goto(f"{live_server.url}/settings/integrations/salesforce/{connected.pk}/routing/files/")
    row = page.locator(f"#routed-{routed.pk}")
    assert "SERVER_UNAVAILABLE" in row.inner_text() and "E-mailed to the backup recipients" in row.inner_text()
    screenshot(page, "routing-files-failed")

    # The backup e-mail as make run's catcher keeps it (one .eml file), on the Outbox (demo) page.
    from django.core import mail

    settings.COTHON_DEMO_OUTBOX_DIR = str(tmp_path / "outbox")
    (tmp_path / "outbox").mkdir()
    (tmp_path / "outbox" / "1.eml").write_bytes(mail.outbox[0].message().as_bytes())
    page.goto(f"{live_server.url}/settings/integrations/outbox/")
    page.get_by_text("Salesforce upload failed: Larry Leap Contract").wait_for()
    screenshot(page, "routing-outbox")

    page.goto(f"{live_server.url}/appointments/{appointment.pk}/credit-application/")
    page.get_by_text("By signing, you authorize").wait_for()
    page.get_by_role("button", name="Sign credit application").click()
    page.get_by_text("Type your full name to sign.").wait_for()
    page.fill("#f-signer", "Larry Leap")
    page.check("#f-consent")
    screenshot(page, "routing-credit-app-sign")
    page.get_by_role("button", name="Sign credit application").click()
    page.locator("#credit-app-signed").wait_for()
    assert RoutedFile.objects.filter(kind=RoutingKind.CREDIT_APP).count() == 1
