"""Credit App Sending: the PDF is encrypted with the rule's password (it opens only with it);
the customer signs on the sign page (disclosure, typed name, consent) and the encrypted
application is routed to the appointment's Salesforce record. Another member's or tenant's
appointment is a 404."""

from __future__ import annotations

import io

import pikepdf
import pytest
from django.core.exceptions import ValidationError

from integrations.crypto import encrypt_token
from proposals.pdf import render_pdf
from sync_engine.appointments.credit_app import credit_application_sign, pdf_encrypt
from sync_engine.appointments.models import DeliveryStatus, RoutedFile, RoutingKind
from sync_engine.appointments.upload import routed_file_upload
from tests.appointments.conftest import make_appointment, rule

pytestmark = [pytest.mark.django_db]

PASSWORD = "Credit-Pass-2030"
DISCLOSURE = "By signing, you authorize Alice Home Services and its lenders to obtain your credit report."


@pytest.fixture
def credit_rule(connected):
    return rule(connected, RoutingKind.CREDIT_APP, file_name_template="%customerName% Credit Application %date%.pdf",
                disclosure=DISCLOSURE, password_encrypted=encrypt_token(PASSWORD))


def test_the_encrypted_pdf_opens_only_with_the_password():
    plain = render_pdf("<h1>Credit application</h1><p>Larry Leap</p>")
    encrypted = pdf_encrypt(plain, password=PASSWORD)

    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(encrypted))
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(encrypted), password="wrong-password")
    with pikepdf.open(io.BytesIO(encrypted), password=PASSWORD) as pdf:
        assert pdf.is_encrypted and pdf.encryption.R == 6 and pdf.encryption.bits == 256  # AES-256
        assert len(pdf.pages) == 1
    with pikepdf.open(io.BytesIO(plain)) as pdf:
        assert not pdf.is_encrypted
    with pytest.raises(ValidationError):
        pdf_encrypt(plain, password="")


@pytest.mark.emulator
def test_signing_routes_the_encrypted_application_to_salesforce(alice, appointment, credit_rule, emulator_reset, web_as):
    appt, record_id = appointment
    client = web_as(alice.member)
    url = f"/appointments/{appt.pk}/credit-application/"
    page = client.get(url).content.decode()
    assert DISCLOSURE in page and "Sign credit application" in page

    response = client.post(url, {"signer_name": "Larry  Leap", "consent": "on"})
    assert response.status_code == 200 and "Signed — thank you" in response.content.decode()
    routed = RoutedFile.objects.get()
    assert routed.kind == RoutingKind.CREDIT_APP and routed.file_name.startswith("Larry Leap Credit Application ")
    with routed.file.open("rb") as handle:
        stored = handle.read()
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(stored))
    with pikepdf.open(io.BytesIO(stored), password=PASSWORD) as pdf:
        assert pdf.is_encrypted and len(pdf.pages) >= 1

    routed = routed_file_upload(routed_file_id=routed.pk)
    assert routed.status == DeliveryStatus.UPLOADED
    sf = emulator_reset.sf()
    [version] = sf.query(f"SELECT Id, ContentSize FROM ContentVersion WHERE Id = '{routed.salesforce_document_id}'")["records"]
    assert version["ContentSize"] == len(stored)


@pytest.mark.emulator
@pytest.mark.parametrize(("data", "message"), [
    ({"signer_name": "", "consent": "on"}, "Type your full name to sign."),
    ({"signer_name": "Larry Leap"}, "Tick the box to agree to the disclosure."),
    ({"signer_name": "L" * 121, "consent": "on"}, "At most 120 characters."),
])
def test_signing_needs_a_name_and_consent(alice, appointment, credit_rule, web_as, data, message):
    appt, _ = appointment
    response = web_as(alice.member).post(f"/appointments/{appt.pk}/credit-application/", data)
    assert response.status_code == 400 and message in response.content.decode()
    assert not RoutedFile.objects.exists()


@pytest.mark.emulator
def test_the_sign_page_says_when_credit_app_sending_is_off(alice, appointment, connected, web_as):
    appt, _ = appointment
    rule(connected, RoutingKind.CREDIT_APP, enabled=False, disclosure=DISCLOSURE, password_encrypted=encrypt_token(PASSWORD))
    client = web_as(alice.member)
    page = client.get(f"/appointments/{appt.pk}/credit-application/").content.decode()
    assert "Credit App Sending is off" in page and "credit-app-form" not in page
    client.post(f"/appointments/{appt.pk}/credit-application/", {"signer_name": "Larry Leap", "consent": "on"})
    assert not RoutedFile.objects.exists()
    with pytest.raises(ValidationError, match="off"):
        credit_application_sign(tenant=alice.tenant, appointment=appt, signer_name="Larry Leap", consent=True, actor=None)


@pytest.mark.emulator
def test_another_members_or_tenants_appointment_is_a_404(alice, bob, connected, credit_rule, emulator_reset, web_as, client):
    others, _ = make_appointment(alice.tenant, connected, emulator_reset, customer="Casey Client", assigned_to=alice.admin)
    url = f"/appointments/{others.pk}/credit-application/"
    web_as(alice.member)
    assert client.get(url).status_code == 404
    assert client.post(url, {"signer_name": "Casey Client", "consent": "on"}).status_code == 404
    web_as(bob.admin)
    assert client.get(url).status_code == 404
    web_as(alice.viewer)
    assert client.get(url).status_code == 403
    web_as(alice.admin)
    assert client.get(url).status_code == 200
    assert not RoutedFile.objects.exists()
