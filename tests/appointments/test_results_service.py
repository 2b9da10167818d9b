"""appointment_result: the pickers validated (required, offered options; nothing written when
refused), the result kept on the appointment, then in the worker the values written to the
appointment's i360__Appointment__c record, a Note on it and the results report PDF routed to it —
all read back from the emulator. Salesforce refusals (injected faults) are kept with code, cause
and fix; Retry sends the kept values and repeats no step already done."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from opportunities.models import Appointment
from sync_engine.appointments.models import DeliveryStatus, ResultSend, ResultSendStatus, RoutedFile
from sync_engine.appointments.results import ResultsUnavailable, appointment_result, result_send_deliver, result_send_retry
from sync_engine.appointments.upload import routed_file_upload
from tests.appointments.results_fixtures import file_bytes, files, notes, pdf_text, record

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

NO_SALE = {"i360__Result__c": "Demo Not Sold", "i360__Result_Reason__c": "Too Expensive"}


def _deliver(send_id: int) -> ResultSend:
    """What the workers do: the result's task, then the report's upload task."""
    send = result_send_deliver(result_send_id=send_id)
    if send.report_id:
        routed_file_upload(routed_file_id=send.report_id)
        send.report.refresh_from_db()
    return send


def test_a_no_sale_lands_on_the_appointments_record_with_a_note_and_the_report(alice, appointment, results_rule,
                                                                              emulator_reset, enqueued):
    appt, record_id = appointment
    send = enqueued(appointment_result, tenant=alice.tenant, appointment=appt, sale=False, values=NO_SALE, actor=alice.member)

    stored = Appointment.objects.get(pk=appt.pk)
    assert stored.sale is False and stored.result_values == NO_SALE
    assert stored.resulted_by == alice.member and stored.resulted_at is not None
    assert enqueued == [send.pk] and send.status == ResultSendStatus.PENDING

    send = _deliver(send.pk)
    assert send.status == ResultSendStatus.SENT and send.error_code == "" and send.record_id == record_id
    in_salesforce = record(emulator_reset, record_id)
    assert (in_salesforce["i360__Result__c"], in_salesforce["i360__Result_Reason__c"]) == ("Demo Not Sold", "Too Expensive")
    [note] = notes(emulator_reset, record_id)
    assert note["Id"] == send.note_id and note["Title"] == "Appointment results"
    assert "Result: No sale" in note["Body"] and "Lead Result: Demo Not Sold" in note["Body"]
    assert "Result Reason: Too Expensive" in note["Body"] and "Customer: Larry Leap" in note["Body"]
    assert "alice-member" in note["Body"] or alice.member.get_full_name() in note["Body"]

    assert send.report.kind == "results" and send.report.status == DeliveryStatus.UPLOADED
    assert send.report.file_name.startswith("Larry Leap Results ")
    [version] = files(emulator_reset, record_id)
    assert version["Id"] == send.report.salesforce_document_id
    text = pdf_text(file_bytes(emulator_reset, version))
    for expected in ("Appointment results", "No sale", "Lead Result", "Demo Not Sold", "Result Reason", "Too Expensive",
                     "Larry Leap", "12 Elm Street", "613-555-0101", "Sales rep"):
        assert expected in text


def test_a_sale_writes_its_own_pickers(alice, appointment, results_rule, emulator_reset, enqueued):
    appt, record_id = appointment
    send = enqueued(appointment_result, tenant=alice.tenant, appointment=appt, sale=True, values={"i360__Result__c": "Demo Sold"},
                              actor=alice.member)
    send = _deliver(send.pk)
    assert send.status == ResultSendStatus.SENT
    assert record(emulator_reset, record_id)["i360__Result__c"] == "Demo Sold"
    assert "Result: Sale" in notes(emulator_reset, record_id)[0]["Body"]


@pytest.mark.parametrize(("sale", "values", "field", "message"), [
    (False, {"i360__Result_Reason__c": "Too Expensive"}, "i360__Result__c", "Choose a Lead Result (required)."),
    (True, {}, "i360__Result__c", "Choose a Lead Result (required)."),
    (True, {"i360__Result__c": "   "}, "i360__Result__c", "Choose a Lead Result (required)."),
    (True, {"i360__Result__c": "Demo Not Sold"}, "i360__Result__c", "“Demo Not Sold” is not one of the Lead Result options."),
    (False, {"i360__Result__c": "No Demo", "i360__Result_Reason__c": "Bored"}, "i360__Result_Reason__c",
     "“Bored” is not one of the Result Reason options."),
    (False, {"i360__Result__c": "No Demo", "OwnerId": "005000000000001AAA"}, "__all__", "OwnerId is not a picker of this result."),
])
def test_refused_input_says_why_and_writes_nothing(alice, appointment, results_rule, enqueued, sale, values, field, message):
    appt, _ = appointment
    with pytest.raises(ValidationError) as refused:
        enqueued(appointment_result, tenant=alice.tenant, appointment=appt, sale=sale, values=values, actor=alice.member)
    assert refused.value.message_dict[field] == [message]
    stored = Appointment.objects.get(pk=appt.pk)
    assert stored.sale is None and stored.result_values == {} and stored.resulted_at is None
    assert not ResultSend.objects.exists() and enqueued == []


def test_sale_must_be_a_boolean(alice, appointment, results_rule, enqueued):
    with pytest.raises(ValidationError):
        enqueued(appointment_result, tenant=alice.tenant, appointment=appointment[0], sale="yes", values={}, actor=alice.member)
    assert not ResultSend.objects.exists()


def test_results_routing_switched_off_refuses_the_result(alice, appointment, results_rule, enqueued):
    results_rule.enabled = False
    results_rule.save()
    with pytest.raises(ResultsUnavailable, match="Results Routing is off"):
        enqueued(appointment_result, tenant=alice.tenant, appointment=appointment[0], sale=True, values={"i360__Result__c": "Demo Sold"},
                           actor=alice.member)
    assert Appointment.objects.get(pk=appointment[0].pk).sale is None


def test_another_tenants_appointment_is_refused(alice, bob, appointment, results_rule, enqueued):
    with pytest.raises(ValidationError):
        enqueued(appointment_result, tenant=bob.tenant, appointment=appointment[0], sale=True, values={"i360__Result__c": "Demo Sold"},
                           actor=bob.admin)
    assert not ResultSend.objects.exists()


@pytest.mark.parametrize(("code", "status", "message", "fix"), [
    ("UNABLE_TO_LOCK_ROW", 400, "unable to obtain exclusive access to this record", "Retry in a minute"),
    ("FIELD_CUSTOM_VALIDATION_EXCEPTION", 400, "Result Reason is required when the demo was not sold", "validation rule"),
    ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", 400, "bad value for restricted picklist field: Demo Not Sold", "Load from Salesforce"),
])
def test_a_refusal_is_kept_with_code_cause_and_fix_and_retry_sends_the_kept_values(
        alice, appointment, results_rule, emulator_reset, enqueued, code, status, message, fix):
    appt, record_id = appointment
    emulator_reset.client.add_fault(object="i360__Appointment__c", operation="update", status=status, error_code=code,
                                    message=message, count=1)
    send = enqueued(appointment_result, tenant=alice.tenant, appointment=appt, sale=False, values=NO_SALE, actor=alice.member)
    send = _deliver(send.pk)

    assert send.status == ResultSendStatus.FAILED and send.error_code == code
    assert message in send.error_message and fix in send.error_hint
    assert record(emulator_reset, record_id)["i360__Result__c"] is None and notes(emulator_reset, record_id) == []
    assert Appointment.objects.get(pk=appt.pk).result_values == NO_SALE  # the local values stay
    assert send.report.status == DeliveryStatus.UPLOADED  # the report is routed on its own

    enqueued(result_send_retry, tenant=alice.tenant, result_send=send, actor=alice.member)
    assert enqueued == [send.pk, send.pk]
    send = _deliver(send.pk)
    assert send.status == ResultSendStatus.SENT and send.attempts == 2 and send.error_code == ""
    assert record(emulator_reset, record_id)["i360__Result_Reason__c"] == "Too Expensive"
    assert len(notes(emulator_reset, record_id)) == 1
    assert RoutedFile.objects.filter(appointment=appt).count() == 1 and len(files(emulator_reset, record_id)) == 1


def test_a_refused_note_is_added_by_the_retry_once(alice, appointment, results_rule, emulator_reset, enqueued):
    appt, record_id = appointment
    emulator_reset.client.add_fault(object="Note", operation="create", status=400, error_code="INSUFFICIENT_ACCESS_OR_READONLY",
                                    message="insufficient access rights on object id", count=1)
    send = _deliver(enqueued(appointment_result, tenant=alice.tenant, appointment=appt, sale=False, values=NO_SALE, actor=alice.member).pk)
    assert send.status == ResultSendStatus.FAILED and send.error_code == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert send.fields_written_at is not None and send.error_hint  # the client layer's fix for an access refusal
    assert record(emulator_reset, record_id)["i360__Result__c"] == "Demo Not Sold"

    enqueued(result_send_retry, tenant=alice.tenant, result_send=send, actor=alice.member)
    send = _deliver(send.pk)
    assert send.status == ResultSendStatus.SENT and len(notes(emulator_reset, record_id)) == 1


def test_a_sent_result_cannot_be_retried_and_a_redelivered_message_does_nothing(alice, appointment, results_rule,
                                                                                emulator_reset, enqueued):
    appt, record_id = appointment
    send = _deliver(enqueued(appointment_result, tenant=alice.tenant, appointment=appt, sale=True, values={"i360__Result__c": "Demo Sold"},
                                       actor=alice.member).pk)
    assert result_send_deliver(result_send_id=send.pk).attempts == 1
    with pytest.raises(ValidationError, match="nothing to retry"):
        enqueued(result_send_retry, tenant=alice.tenant, result_send=send, actor=alice.member)
    assert len(notes(emulator_reset, record_id)) == 1


def test_resulting_again_replaces_the_result_and_sends_it_again(alice, appointment, results_rule, emulator_reset, enqueued):
    appt, record_id = appointment
    _deliver(enqueued(appointment_result, tenant=alice.tenant, appointment=appt, sale=False, values=NO_SALE, actor=alice.member).pk)
    _deliver(enqueued(appointment_result, tenant=alice.tenant, appointment=appt, sale=True, values={"i360__Result__c": "Demo Sold"},
                                actor=alice.member).pk)
    stored = Appointment.objects.get(pk=appt.pk)
    assert stored.sale is True and stored.result_values == {"i360__Result__c": "Demo Sold"}
    assert record(emulator_reset, record_id)["i360__Result__c"] == "Demo Sold"
    assert len(notes(emulator_reset, record_id)) == 2 and ResultSend.objects.filter(appointment=appt).count() == 2


def test_an_appointment_without_a_salesforce_record_fails_with_what_to_do(alice, appointment, results_rule, emulator_reset,
                                                                         enqueued):
    appt, _ = appointment
    from sync_engine.models import SyncLink

    SyncLink.objects.filter(record_type="appointment", record_id=appt.pk).delete()
    send = result_send_deliver(result_send_id=enqueued(appointment_result, 
        tenant=alice.tenant, appointment=appt, sale=True, values={"i360__Result__c": "Demo Sold"}, actor=alice.member).pk)
    assert send.status == ResultSendStatus.FAILED and send.error_code == "NO_RECORD" and "Refresh the appointments" in send.error_hint


def test_another_object_class_gets_the_result_on_the_record_the_appointment_points_to(alice, admin_connected, admin_sf,
                                                                                      riley_staff_id, emulator_reset, enqueued):
    from tests.appointments.conftest import make_appointment, rule

    rule(admin_connected, kind="results", note_title="Rep results", object_class="i360__Staff__c",
         file_name_template="%customerName% Results.pdf",
         sale_pickers=[{"title": "Callback phone", "options": ["613-555-0199"], "sf_field": "i360__Phone__c", "required": True}])
    appt, record_id = make_appointment(alice.tenant, admin_connected, emulator_reset, assigned_to=alice.member)
    admin_sf.i360__Appointment__c.update(record_id, {"i360__Staff__c": riley_staff_id})

    send = _deliver(enqueued(appointment_result, tenant=alice.tenant, appointment=appt, sale=True,
                             values={"i360__Phone__c": "613-555-0199"}, actor=alice.member).pk)
    assert send.status == ResultSendStatus.SENT and send.record_id == riley_staff_id
    staff = admin_sf.query(f"SELECT i360__Phone__c FROM i360__Staff__c WHERE Id = '{riley_staff_id}'")["records"][0]
    assert staff["i360__Phone__c"] == "613-555-0199"
    assert [n["Title"] for n in notes(emulator_reset, riley_staff_id)] == ["Rep results"]
    assert len(files(emulator_reset, record_id)) == 1  # the report goes to the appointment's record (route_file)

    admin_sf.i360__Appointment__c.update(record_id, {"i360__Staff__c": None})
    again = result_send_deliver(result_send_id=enqueued(appointment_result, tenant=alice.tenant, appointment=appt, sale=True,
                                                         values={"i360__Phone__c": "613-555-0199"}, actor=alice.member).pk)
    assert again.status == ResultSendStatus.FAILED and again.error_code == "NO_RECORD"
    assert "has no i360__Staff__c record" in again.error_message
