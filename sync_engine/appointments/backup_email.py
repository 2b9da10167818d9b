"""The backup e-mail of a failed upload (the seed: "an email to all email addresses listed in
Backup Recipients … the attachment that failed to upload to Salesforce, as well as the customer
information and a brief description of why it failed"), sent through Django's e-mail framework:
SMTP in production (EMAIL_* from the environment), `make run`'s local catcher in the demo.

Also reads what the demo's catcher caught, for the "Outbox (demo)" page."""

from __future__ import annotations

import email
import email.policy
import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import timezone

from sync_engine.appointments import placeholders
from sync_engine.appointments.models import RoutedFile, RoutingRule
from sync_engine.appointments.routing_selectors import tenant_zone

logger = logging.getLogger(__name__)

# Every backup e-mail names its tenant, so the demo outbox shows an admin only their own.
TENANT_HEADER = "X-Cothon-Tenant"


def _customer_lines(routed: RoutedFile) -> list[str]:
    appointment = routed.appointment
    starts = timezone.localtime(appointment.starts_at).strftime("%b %-d, %Y %-I:%M %p %Z") if appointment.starts_at else "—"
    rep = appointment.assigned_to
    return [
        f"Customer:     {appointment.customer_name}",
        f"Address:      {appointment.address or '—'}",
        f"Phone:        {appointment.phone or '—'}",
        f"E-mail:       {appointment.email or '—'}",
        f"Appointment:  {starts}",
        f"Rep:          {(rep.get_full_name() or rep.get_username()) if rep else '—'}",
    ]


def backup_message(*, routed_file: RoutedFile, recipients: list[str]) -> EmailMessage:
    routed = routed_file
    kind = routed.get_kind_display()
    link = settings.COTHON_BASE_URL + reverse("sync_appointments_routing:files", args=[routed.connection_id])
    body = "\n".join([
        f"Cothon could not upload this {kind.lower()} to Salesforce, so it is attached here.",
        "",
        f"Why:          {routed.error_message or routed.error_code}",
        f"Error code:   {routed.error_code}",
        f"File:         {routed.file_name} ({routed.size_bytes:,} bytes)",
        f"Salesforce:   {routed.connection.name}",
        "",
        *_customer_lines(routed),
        "",
        "The file stays in Cothon with its failure. Upload it to the appointment's Salesforce record by hand, "
        f"or fix the cause and press Retry: {link}",
    ])
    message = EmailMessage(
        subject=f"Salesforce upload failed: {routed.file_name} ({routed.appointment.customer_name})",
        body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=recipients,
        headers={TENANT_HEADER: str(routed.tenant_id)})
    with routed.file.open("rb") as handle:
        message.attach(placeholders.client_file_name(routed.file_name, routed.file.name), handle.read(), "application/pdf"
                       if routed.file.name.lower().endswith(".pdf") else "application/octet-stream")
    return message


def backup_email_send(*, routed_file: RoutedFile) -> bool:
    """E-mail a failed file to its rule's backup recipients, once per failure (backup_sent_at).
    False when the rule has no recipients or the mail server refused it (logged; the file keeps
    its failure and the page shows that no e-mail went out)."""
    routed = routed_file
    rule = RoutingRule.objects.filter(connection_id=routed.connection_id, kind=routed.kind).first()
    recipients = list(rule.backup_recipients) if rule else []
    if not recipients:
        logger.warning("Routed file %s failed and its rule has no backup recipients", routed.pk)
        return False
    try:
        with timezone.override(tenant_zone(routed.tenant)):
            message = backup_message(routed_file=routed, recipients=recipients)
        message.send(fail_silently=False)
    except Exception:  # noqa: BLE001 - SMTP errors are many classes; the failure stays visible
        logger.exception("Backup e-mail of routed file %s could not be sent", routed.pk)
        return False
    routed.backup_sent_at = timezone.now()
    RoutedFile.objects.filter(pk=routed.pk).update(backup_sent_at=routed.backup_sent_at)
    return True


# --- the demo's outbox (make run's SMTP catcher) ---------------------------------------------

@dataclass
class CaughtMessage:
    name: str
    subject: str
    sender: str
    to: str
    date: str
    body: str
    attachments: list[tuple[str, int]] = field(default_factory=list)


def outbox_dir() -> Path | None:
    return Path(settings.COTHON_DEMO_OUTBOX_DIR) if settings.COTHON_DEMO_OUTBOX_DIR else None


def caught_messages(*, tenant, limit: int = 50) -> list[CaughtMessage]:
    """The newest messages the catcher wrote, of this tenant only (its TENANT_HEADER)."""
    folder = outbox_dir()
    if folder is None or not folder.is_dir():
        return []
    found: list[CaughtMessage] = []
    for path in sorted(folder.glob("*.eml"), reverse=True):
        with path.open("rb") as handle:
            parsed = email.message_from_binary_file(handle, policy=email.policy.default)
        if parsed.get(TENANT_HEADER) != str(tenant.pk):
            continue
        body_part = parsed.get_body(preferencelist=("plain",))
        attachments = [(part.get_filename() or "attachment", len(part.get_payload(decode=True) or b""))
                       for part in parsed.iter_attachments()]
        found.append(CaughtMessage(name=path.name, subject=str(parsed.get("Subject", "")), sender=str(parsed.get("From", "")),
                                   to=str(parsed.get("To", "")), date=str(parsed.get("Date", "")),
                                   body=body_part.get_content() if body_part is not None else "", attachments=attachments))
        if len(found) >= limit:
            break
    return found
