"""In a real browser against the emulator: a rep opens their appointment, chooses Sale (only the
Sale pickers show), first saves without the required Lead Result (the error is shown, nothing
saved), then picks Demo Sold and saves; once the worker has sent it, the card says it is in
Salesforce, where the value, the Note and the report are. A refused result shows Salesforce's
code, cause and the fix, and Retry sends it. Screenshots: test-artifacts/results-error.png,
results-sent.png, results-failed.png."""

from __future__ import annotations

import pytest

from opportunities.models import Appointment
from sync_engine.appointments import results as results_service
from sync_engine.appointments.models import DeliveryStatus, ResultSend, ResultSendStatus
from sync_engine.appointments.results import result_send_deliver
from sync_engine.appointments.upload import routed_file_upload
from tests.appointments.conftest import make_appointment, rule
from tests.appointments.results_fixtures import NO_SALE_PICKERS, SALE_PICKERS, files, notes, record

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.emulator, pytest.mark.timeout(180)]


def test_a_rep_results_an_appointment_as_a_sale(page, live_server, login, alice, connected, emulator_reset, screenshot,
                                                 monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    rule(connected, kind="results", note_title="Appointment results", object_class="i360__Appointment__c",
         file_name_template="%customerName% Results %date%.pdf", sale_pickers=SALE_PICKERS, no_sale_pickers=NO_SALE_PICKERS)
    appointment, record_id = make_appointment(alice.tenant, connected, emulator_reset, assigned_to=alice.member)
    sent: list[int] = []
    monkeypatch.setattr(results_service, "_enqueue", sent.append)  # the broker: the worker's part is done below

    login(page, alice.member)
    page.goto(f"{live_server.url}/appointments/{appointment.pk}/")
    card = page.locator("#result-card")
    card.get_by_role("heading", name="Result appointment").wait_for()
    assert not card.locator("select[name='sale:i360__Result__c']").is_visible()  # no outcome chosen yet

    card.get_by_text("Sale", exact=True).click()
    assert card.locator("select[name='sale:i360__Result__c']").is_visible()
    assert not card.locator("select[name='no_sale:i360__Result_Reason__c']").is_visible()
    card.get_by_role("button", name="Save result").click()
    card.get_by_text("Choose a Lead Result (required).").wait_for()
    assert "Nothing was saved." in card.inner_text()
    assert Appointment.objects.get(pk=appointment.pk).sale is None and not ResultSend.objects.exists()
    screenshot(page, "results-error")

    page.locator("#result-card select[name='sale:i360__Result__c']").select_option("Demo Sold")
    page.locator("#result-card").get_by_role("button", name="Save result").click()
    page.locator("#result-card").get_by_text("Sending to Salesforce…").wait_for()
    send = ResultSend.objects.get()
    assert sent == [send.pk]
    send = result_send_deliver(result_send_id=send.pk)  # what the background worker does with the message
    routed_file_upload(routed_file_id=send.report_id)

    # The card polls while the result is on its way, and shows it in Salesforce.
    page.locator("#result-card").get_by_text("In Salesforce.").wait_for()
    page.reload()
    card = page.locator("#result-card")
    assert card.locator("#result-outcome-pill").inner_text() == "Sale"
    assert "uploaded to the record" in card.inner_text()
    screenshot(page, "results-sent")

    assert ResultSend.objects.get().status == ResultSendStatus.SENT
    assert send.report.__class__.objects.get(pk=send.report_id).status == DeliveryStatus.UPLOADED
    assert record(emulator_reset, record_id)["i360__Result__c"] == "Demo Sold"
    assert [n["Title"] for n in notes(emulator_reset, record_id)] == ["Appointment results"]
    assert len(files(emulator_reset, record_id)) == 1


def test_a_refused_result_shows_code_cause_and_fix_and_retry_sends_it(page, live_server, login, alice, connected, emulator_reset,
                                                                     screenshot, monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    rule(connected, kind="results", note_title="Appointment results", object_class="i360__Appointment__c",
         file_name_template="%customerName% Results %date%.pdf", sale_pickers=SALE_PICKERS, no_sale_pickers=NO_SALE_PICKERS)
    appointment, record_id = make_appointment(alice.tenant, connected, emulator_reset, assigned_to=alice.member)
    sent: list[int] = []
    monkeypatch.setattr(results_service, "_enqueue", sent.append)
    emulator_reset.client.add_fault(object="i360__Appointment__c", operation="update", status=400,
                                    error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                    message="A Result Reason is required when the demo was not sold.", count=1)

    login(page, alice.member)
    page.goto(f"{live_server.url}/appointments/{appointment.pk}/")
    card = page.locator("#result-card")
    card.get_by_text("No sale", exact=True).click()
    card.locator("select[name='no_sale:i360__Result__c']").select_option("Demo Maybe")
    card.get_by_role("button", name="Save result").click()
    page.locator("#result-card").get_by_text("Sending to Salesforce…").wait_for()
    result_send_deliver(result_send_id=sent[0])

    error = page.locator("#result-error")
    error.wait_for()
    text = error.inner_text()
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in text and "A Result Reason is required" in text and "What to do:" in text
    assert record(emulator_reset, record_id)["i360__Result__c"] is None
    screenshot(page, "results-failed")

    page.locator("#result-card").get_by_role("button", name="Retry").click()
    page.locator("#result-card").get_by_text("Sending to Salesforce…").wait_for()
    assert sent == [sent[0], sent[0]]
    result_send_deliver(result_send_id=sent[0])
    page.locator("#result-card").get_by_text("In Salesforce.").wait_for()
    assert record(emulator_reset, record_id)["i360__Result__c"] == "Demo Maybe"
