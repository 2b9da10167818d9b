"""The Result appointment card on an appointment's page: the Results rule's Sale / No sale
pickers as selects; a submit (HTMX) stores the result and shows it being sent; a required picker
left empty or a missing outcome is refused with the field's error and nothing written; the
failed send shows code, cause and fix with Retry; another tenant's appointment, and another
member's for a non-admin, is a 404; a viewer cannot result."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opportunities.models import Appointment
from sync_engine.appointments.models import ResultSend, ResultSendStatus
from sync_engine.appointments.results import result_send_deliver
from tests.appointments.conftest import make_appointment

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]
HTMX = {"HTTP_HX_REQUEST": "true"}


def _submit(client, appointment, data, **headers):
    return client.post(reverse("sync_appointments_results:submit", args=[appointment.pk]), data, **headers)


def test_the_appointment_page_shows_the_rules_pickers_as_selects(alice, appointment, results_rule, web_as):
    page = web_as(alice.member).get(reverse("sync_appointments:detail", args=[appointment[0].pk])).content.decode()
    assert "Result appointment" in page
    assert 'name="outcome" value="sale"' in page and 'name="outcome" value="no_sale"' in page
    assert '<select id="result-sale-0" name="sale:i360__Result__c"' in page
    assert '<select id="result-no_sale-1" name="no_sale:i360__Result_Reason__c"' in page
    for option in ("Demo Sold", "Demo Not Sold", "Demo Maybe", "No Demo", "Too Expensive", "Getting Other Estimates"):
        assert f'<option value="{option}">{option}</option>' in page


def test_the_card_says_when_results_routing_is_off(alice, appointment, results_rule, web_as):
    results_rule.enabled = False
    results_rule.save()
    page = web_as(alice.member).get(reverse("sync_appointments:detail", args=[appointment[0].pk])).content.decode()
    assert "Results Routing is off" in page and 'name="outcome"' not in page


def test_a_member_results_their_appointment_and_sees_it_sent(alice, appointment, results_rule, web_as, enqueued):
    appt, _ = appointment
    client = web_as(alice.member)
    response = enqueued(_submit, client=client, appointment=appt,
                        data={"outcome": "no_sale", "no_sale:i360__Result__c": "Demo Maybe",
                              "no_sale:i360__Result_Reason__c": "Getting Other Estimates", "sale:i360__Result__c": "Demo Sold"},
                        **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="result-card"' in body and "Sending to Salesforce" in body and "No sale" in body
    stored = Appointment.objects.get(pk=appt.pk)
    assert stored.sale is False
    assert stored.result_values == {"i360__Result__c": "Demo Maybe", "i360__Result_Reason__c": "Getting Other Estimates"}
    [send] = ResultSend.objects.all()
    assert enqueued == [send.pk]

    result_send_deliver(result_send_id=send.pk)
    card = client.get(reverse("sync_appointments_results:card", args=[appt.pk])).content.decode()
    assert "In Salesforce." in card and "Appointment results" in card
    assert '<option value="Demo Maybe" selected>' in card  # the stored result is shown back


@pytest.mark.parametrize(("data", "error"), [
    ({"outcome": "no_sale", "no_sale:i360__Result_Reason__c": "Too Expensive"}, "Choose a Lead Result (required)."),
    ({"outcome": "sale", "sale:i360__Result__c": "Demo Not Sold"}, "“Demo Not Sold” is not one of the Lead Result options."),
    ({"no_sale:i360__Result__c": "No Demo"}, "Choose Sale or No sale."),
    ({"outcome": "maybe"}, "Choose Sale or No sale."),
])
def test_refused_input_is_shown_on_the_card_and_nothing_is_written(alice, appointment, results_rule, web_as, enqueued, data,
                                                                   error):
    appt, _ = appointment
    response = enqueued(_submit, client=web_as(alice.member), appointment=appt, data=data, **HTMX)
    assert response.status_code == 200  # htmx swaps no 4xx answer: the card comes back with the errors
    body = response.content.decode()
    assert "Nothing was saved." in body and error in body
    assert Appointment.objects.get(pk=appt.pk).sale is None and not ResultSend.objects.exists() and enqueued == []


def test_without_htmx_a_refusal_comes_back_to_the_page_with_the_reason(alice, appointment, results_rule, web_as, enqueued):
    appt, _ = appointment
    response = _submit(web_as(alice.member), appt, {"outcome": "sale"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("sync_appointments:detail", args=[appt.pk])
    assert "The result was not saved: Choose a Lead Result (required)." in response.content.decode()
    assert not ResultSend.objects.exists()


def test_a_failed_send_shows_code_cause_and_fix_and_retry_sends_it_again(alice, appointment, results_rule, web_as, enqueued,
                                                                         emulator_reset):
    appt, _ = appointment
    emulator_reset.client.add_fault(object="i360__Appointment__c", operation="update", status=400,
                                    error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION", message="Result Reason is required", count=1)
    client = web_as(alice.member)
    enqueued(_submit, client=client, appointment=appt, data={"outcome": "sale", "sale:i360__Result__c": "Demo Sold"}, **HTMX)
    send = ResultSend.objects.get()
    result_send_deliver(result_send_id=send.pk)
    page = client.get(reverse("sync_appointments:detail", args=[appt.pk])).content.decode()
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in page and "Result Reason is required" in page
    assert "What to do:" in page and "validation rule" in page and ">Retry</button>" in page.replace("\n", "")

    response = enqueued(client.post, path=reverse("sync_appointments_results:retry", args=[appt.pk, send.pk]), **HTMX)
    assert response.status_code == 200 and "Sending to Salesforce" in response.content.decode()
    assert enqueued == [send.pk, send.pk]
    assert result_send_deliver(result_send_id=send.pk).status == ResultSendStatus.SENT


def test_an_admin_results_a_reps_appointment(alice, appointment, results_rule, web_as, enqueued):
    appt, _ = appointment
    response = enqueued(_submit, client=web_as(alice.admin), appointment=appt,
                        data={"outcome": "sale", "sale:i360__Result__c": "Demo Sold"}, **HTMX)
    assert response.status_code == 200
    assert Appointment.objects.get(pk=appt.pk).resulted_by == alice.admin


def test_another_members_appointment_is_a_404_for_a_member(alice, connected, results_rule, web_as, emulator_reset, enqueued):
    admins, _ = make_appointment(alice.tenant, connected, emulator_reset, customer="Casey Client", assigned_to=alice.admin)
    send = ResultSend.objects.create(tenant=alice.tenant, appointment=admins, connection=connected, sale=True,
                                     object_class="i360__Appointment__c", status=ResultSendStatus.FAILED)
    client = web_as(alice.member)
    assert _submit(client, admins, {"outcome": "sale", "sale:i360__Result__c": "Demo Sold"}).status_code == 404
    assert client.get(reverse("sync_appointments_results:card", args=[admins.pk])).status_code == 404
    assert client.post(reverse("sync_appointments_results:retry", args=[admins.pk, send.pk])).status_code == 404
    assert Appointment.objects.get(pk=admins.pk).sale is None


def test_another_tenants_appointment_is_a_404(alice, bob, appointment, results_rule, web_as, enqueued):
    appt, _ = appointment
    send = ResultSend.objects.create(tenant=alice.tenant, appointment=appt, connection=results_rule.connection, sale=True,
                                     object_class="i360__Appointment__c", status=ResultSendStatus.FAILED)
    client = web_as(bob.admin)
    assert _submit(client, appt, {"outcome": "sale", "sale:i360__Result__c": "Demo Sold"}).status_code == 404
    assert client.get(reverse("sync_appointments_results:card", args=[appt.pk])).status_code == 404
    assert client.post(reverse("sync_appointments_results:retry", args=[appt.pk, send.pk])).status_code == 404
    assert Appointment.objects.get(pk=appt.pk).sale is None


def test_a_result_of_another_appointment_cannot_be_retried_through_this_one(alice, connected, appointment, results_rule, web_as,
                                                                            emulator_reset):
    other, _ = make_appointment(alice.tenant, connected, emulator_reset, customer="Casey Client", assigned_to=alice.admin)
    send = ResultSend.objects.create(tenant=alice.tenant, appointment=other, connection=connected, sale=True,
                                     object_class="i360__Appointment__c", status=ResultSendStatus.FAILED)
    assert web_as(alice.admin).post(reverse("sync_appointments_results:retry", args=[appointment[0].pk, send.pk])).status_code == 404


def test_a_viewer_cannot_result(alice, connected, results_rule, web_as, emulator_reset):
    viewers, _ = make_appointment(alice.tenant, connected, emulator_reset, assigned_to=alice.viewer)
    assert _submit(web_as(alice.viewer), viewers, {"outcome": "sale", "sale:i360__Result__c": "Demo Sold"}).status_code == 403
    page = web_as(alice.viewer).get(reverse("sync_appointments:detail", args=[viewers.pk])).content.decode()
    assert "Result appointment" in page and 'name="outcome"' not in page
