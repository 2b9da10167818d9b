"""A rep sends a contract, proposal or custom document of their appointment (the page and
POST /api/v1/routed-files/): stored, named by the rule, uploaded by the task. Bad input and a
rule that is off are refused with nothing stored; another member's or tenant's appointment is a 404."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from sync_engine.appointments.models import DeliveryStatus, RoutedFile, RoutingKind
from sync_engine.appointments.upload import routed_file_upload
from tests.appointments.conftest import make_appointment, rule

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

DOCX = b"PK\x03\x04 a warranty"


def test_a_rep_sends_a_custom_document_from_the_page(alice, appointment, connected, web_as):
    appt, record_id = appointment
    rule(connected, RoutingKind.CUSTOM_DOCUMENT, file_name_template="%customerName% %documentTitle% %isoDate%")
    client = web_as(alice.member)
    url = f"/appointments/{appt.pk}/send-document/"
    assert "Send to Salesforce" in client.get(url).content.decode()
    response = client.post(url, {"kind": "custom_document", "title": "Warranty", "file": SimpleUploadedFile("w.docx", DOCX)})
    assert response.status_code == 200 and "is on its way" in response.content.decode()
    routed = RoutedFile.objects.get()
    assert routed.kind == RoutingKind.CUSTOM_DOCUMENT and routed.file_name.startswith("Larry Leap Warranty ")
    assert routed.file.name.endswith(".docx") and routed.created_by == alice.member
    routed = routed_file_upload(routed_file_id=routed.pk)
    assert routed.status == DeliveryStatus.UPLOADED


@pytest.mark.parametrize(("data", "message"), [
    ({"kind": "results"}, "Choose Contract, Proposal or Custom document."),
    ({"kind": "contract", "no_file": True}, "Choose a file"),
    ({"kind": "contract", "title": "T" * 121}, "At most 120 characters."),
    ({"kind": "proposal"}, "Proposal routing to Salesforce is off"),
])
def test_bad_input_or_a_rule_that_is_off_sends_nothing(alice, appointment, contract_rule, web_as, data, message):
    appt, _ = appointment
    post = {k: v for k, v in data.items() if k != "no_file"}
    if not data.get("no_file"):
        post["file"] = SimpleUploadedFile("c.pdf", b"%PDF-1.4")
    response = web_as(alice.member).post(f"/appointments/{appt.pk}/send-document/", post)
    assert response.status_code == 400 and message in response.content.decode()
    assert not RoutedFile.objects.exists()


def test_the_api_sends_a_document_and_keeps_other_peoples_appointments_out(alice, bob, appointment, connected, contract_rule,
                                                                         emulator_reset, api_as):
    appt, _ = appointment
    member = api_as(alice.member_membership)
    response = member.post("/api/v1/routed-files/", {"appointment": appt.pk, "kind": "contract",
                                                     "file": SimpleUploadedFile("c.pdf", b"%PDF-1.4")}, format="multipart")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending" and body["kind"] == "contract" and body["file_name"].startswith("Larry Leap Contract ")

    others, _ = make_appointment(alice.tenant, connected, emulator_reset, customer="Casey Client", assigned_to=alice.admin)
    response = member.post("/api/v1/routed-files/", {"appointment": others.pk, "kind": "contract",
                                                     "file": SimpleUploadedFile("c.pdf", b"%PDF")}, format="multipart")
    assert response.status_code == 404
    response = api_as(bob.admin_membership).post("/api/v1/routed-files/", {"appointment": appt.pk, "kind": "contract",
                                                                           "file": SimpleUploadedFile("c.pdf", b"%PDF")},
                                                 format="multipart")
    assert response.status_code == 404
    bad = member.post("/api/v1/routed-files/", {"appointment": appt.pk, "kind": "credit_app",
                                                "file": SimpleUploadedFile("c.pdf", b"%PDF")}, format="multipart")
    assert bad.status_code == 400 and "kind" in str(bad.json())
    assert RoutedFile.objects.count() == 1
    # Retry is an admin's.
    assert member.post(f"/api/v1/routed-files/{body['id']}/retry/").status_code == 403


def test_another_members_appointment_is_a_404_on_the_page(alice, connected, emulator_reset, contract_rule, web_as):
    others, _ = make_appointment(alice.tenant, connected, emulator_reset, customer="Casey Client", assigned_to=alice.admin)
    client = web_as(alice.member)
    assert client.get(f"/appointments/{others.pk}/send-document/").status_code == 404
    response = client.post(f"/appointments/{others.pk}/send-document/", {"kind": "contract", "file": SimpleUploadedFile("c.pdf", b"%PDF")})
    assert response.status_code == 404 and not RoutedFile.objects.exists()
