"""Credit App Sending (Finance › Credit App Sending): the customer reads the rule's disclosure,
types their name and consents; Cothon renders the signed application as a PDF (weasyprint),
encrypts it with the rule's password (pikepdf, AES-256: it opens only with the password) and
routes it to the appointment's Salesforce record like every routed file."""

from __future__ import annotations

import io
import secrets

from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import timezone

from opportunities.models import Appointment
from proposals.pdf import render_pdf
from sync_engine.appointments.models import RoutedFile, RoutingKind
from sync_engine.appointments.routing_selectors import routing_rule_for
from sync_engine.appointments.routing_services import credit_app_password
from sync_engine.appointments.upload import RoutingUnavailable, appointment_connection, route_file

MAX_NAME = 120


def pdf_encrypt(pdf: bytes, *, password: str) -> bytes:
    """The same PDF, AES-256 encrypted: a reader asks for `password`. The owner password is
    random and kept nowhere, so nobody can lift the restrictions without the user password."""
    if not password:
        raise ValidationError("No password to protect the PDF with.")
    import pikepdf  # qpdf's C++ library, loaded only when a credit application is made

    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        document.save(out, encryption=pikepdf.Encryption(user=password, owner=secrets.token_urlsafe(24), R=6))
    return out.getvalue()


def credit_app_rule(*, tenant, appointment: Appointment):
    """The credit application rule that applies to this appointment (its connection's), on."""
    connection = appointment_connection(tenant=tenant, appointment=appointment)
    if connection is None:
        raise RoutingUnavailable("This organization has no Salesforce connection to send credit applications to.")
    rule = routing_rule_for(connection=connection, kind=RoutingKind.CREDIT_APP)
    if not rule.pk or not rule.enabled:
        raise RoutingUnavailable(f"Credit App Sending is off for “{connection.name}”; an admin turns it on under "
                                 "Finance › Credit App Sending.")
    return rule


def credit_application_sign(*, tenant, appointment: Appointment, signer_name: str, consent: bool, actor,
                            remote_addr: str = "") -> RoutedFile:
    """The customer signed: build the application PDF, encrypt it, route it. ValidationError
    (nothing made) when the name or the consent is missing or the rule is off."""
    rule = credit_app_rule(tenant=tenant, appointment=appointment)
    name = " ".join((signer_name or "").split())
    errors: dict[str, list[str]] = {}
    if not name:
        errors["signer_name"] = ["Type your full name to sign."]
    elif len(name) > MAX_NAME:
        errors["signer_name"] = [f"At most {MAX_NAME} characters."]
    if not consent:
        errors["consent"] = ["Tick the box to agree to the disclosure."]
    if errors:
        raise ValidationError(errors)
    password = credit_app_password(rule)
    if not password:
        raise RoutingUnavailable("The credit application rule has no password; an admin sets one first.")
    signed_at = timezone.now()
    html = render_to_string("sync_appointments/routing_credit_app_pdf.html", {
        "appointment": appointment, "disclosure": rule.disclosure, "signer_name": name, "signed_at": signed_at,
        "remote_addr": remote_addr, "tenant": tenant,
    })
    encrypted = pdf_encrypt(render_pdf(html), password=password)
    return route_file(tenant=tenant, appointment=appointment, kind=RoutingKind.CREDIT_APP, content=encrypted, actor=actor,
                      context={"document_title": "Credit Application", "extension": "pdf"})
