"""Routing a file of an appointment to Salesforce: `route_file` keeps it (RoutedFile), names it
from the rule's template and queues its upload; the task's `routed_file_upload` sends it as a
ContentVersion on the appointment's Salesforce record (FirstPublishLocationId) through the one
client layer. A file over 36 MB is not sent (Salesforce's limit for files sent through the
API); any failure e-mails the file to the rule's backup recipients, once per failure, and
`routed_file_retry` tries again. The file stays in Cothon whatever happens."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations import selectors as integration_selectors
from integrations.connections import client_for
from integrations.models import CredentialMode
from integrations.salesforce.errors import SalesforceError
from integrations.salesforce.soql import soql_quote
from integrations.sync_settings import describe_get
from opportunities.models import Appointment
from sync_engine import links, wakeups
from sync_engine.appointments import placeholders
from sync_engine.appointments.backup_email import backup_email_send
from sync_engine.appointments.config_services import AppointmentSetupError, client_for_member
from sync_engine.appointments.models import DeliveryStatus, RoutedFile, RoutingKind, RoutingRule
from sync_engine.appointments.routing_selectors import routed_file_can_retry, tenant_zone
from sync_engine.vocabulary import RecordType

logger = logging.getLogger(__name__)

# Salesforce refuses files over this through the API (the seed: "files exceeding 36 MB are
# unable to be uploaded via routing rules and will need to be uploaded manually").
MAX_UPLOAD_BYTES = 36 * 1024 * 1024
UPLOAD_TASK = "sync_engine.appointments.route_upload"
QUEUE = "default"
APPOINTMENT_SOBJECT = "i360__Appointment__c"
FILE_KEY_FIELD = "Cothon_File_Key__c"


class RoutingUnavailable(ValidationError):
    """The rule of this kind is off (or the appointment has no connection): nothing is stored."""


def appointment_connection(*, tenant, appointment: Appointment):
    if appointment.connection_id:
        connection = integration_selectors.salesforce_connection_list(tenant=tenant).filter(pk=appointment.connection_id).first()
        if connection is not None:
            return connection
    return integration_selectors.salesforce_default_connection(tenant=tenant)


def appointment_salesforce_id(*, tenant, connection, appointment: Appointment) -> str:
    """The Salesforce record the appointment was pulled from (its SyncLink in this connection)."""
    for link in links.connection_links(tenant=tenant, connection=connection, record_type=RecordType.APPOINTMENT,
                                       record_ids=[appointment.pk]):
        if link.salesforce_id:
            return link.salesforce_id
    return ""


def route_file(*, tenant, appointment: Appointment, kind: str, content: bytes, actor, context: dict) -> RoutedFile:
    """Keep `content` as the appointment's file of this kind and queue its upload to Salesforce.

    `context`: optional "document_title" (%documentTitle%) and "extension" (default "pdf").
    Raises RoutingUnavailable when the connection's rule of this kind is off. Answers at once:
    the upload (or the backup e-mail) happens in a worker after commit."""
    if appointment.tenant_id != tenant.pk:
        raise ValidationError("Not this organization's appointment.")
    if kind not in RoutingKind.values:
        raise ValidationError(f"Unknown routing kind {kind!r}.")
    if not content:
        raise ValidationError("The file is empty.")
    connection = appointment_connection(tenant=tenant, appointment=appointment)
    if connection is None:
        raise RoutingUnavailable("This organization has no Salesforce connection to route files to.")
    rule = RoutingRule.objects.filter(connection=connection, kind=kind).first()
    label = RoutingKind(kind).label
    if rule is None or not rule.enabled:
        raise RoutingUnavailable(f"{label} routing to Salesforce is off for “{connection.name}”.")
    with timezone.override(tenant_zone(tenant)):
        values = placeholders.placeholder_values(
            appointment=appointment, kind_label=label, context=context,
            salesforce_id=appointment_salesforce_id(tenant=tenant, connection=connection, appointment=appointment))
    name = placeholders.file_name_render(rule.file_name_template, values, default_extension=str(context.get("extension") or "pdf"))
    with transaction.atomic():
        routed = RoutedFile(tenant=tenant, appointment=appointment, connection=connection, kind=kind, file_name=name.title,
                            size_bytes=len(content), created_by=actor)
        routed.file.save(name.path, ContentFile(content), save=False)
        routed.save()
        routed_id = routed.pk
        transaction.on_commit(lambda: _send(routed_id))
    return routed


DOCUMENT_KINDS = (RoutingKind.CONTRACT, RoutingKind.PROPOSAL, RoutingKind.CUSTOM_DOCUMENT)
MAX_TITLE = 120


def document_send(*, tenant, appointment: Appointment, kind: str, content: bytes, original_name: str, title: str,
                  actor) -> RoutedFile:
    """A rep sends a contract, proposal or custom document of an appointment (the page and the
    API's create): route_file with the document's title and its file's extension. Results
    reports and credit applications are made by Cothon itself, never uploaded this way."""
    errors: dict[str, list[str]] = {}
    if kind not in DOCUMENT_KINDS:
        errors["kind"] = ["Choose Contract, Proposal or Custom document."]
    title = " ".join((title or "").split())
    if len(title) > MAX_TITLE:
        errors["title"] = [f"At most {MAX_TITLE} characters."]
    if not content:
        errors["file"] = ["Choose a file (it is empty or missing)."]
    extension = original_name.rpartition(".")[2].lower() if "." in original_name else ""
    if extension and not (extension.isalnum() and len(extension) <= 8):
        extension = ""
    if errors:
        raise ValidationError(errors)
    return route_file(tenant=tenant, appointment=appointment, kind=kind, content=content, actor=actor,
                      context={"document_title": title or RoutingKind(kind).label, "extension": extension or "pdf"})


def _send(routed_file_id: int) -> None:
    try:
        wakeups.send_named(UPLOAD_TASK, args=[routed_file_id], queue=QUEUE)
    except Exception:  # noqa: BLE001 - the file waits; the page offers Retry once it looks stalled
        logger.warning("Could not enqueue the upload of routed file %s", routed_file_id, exc_info=True)


def routed_file_retry(*, tenant, routed_file: RoutedFile, actor) -> RoutedFile:
    """Try a failed (or stalled) upload again: back to pending, a new backup e-mail if it fails again."""
    if routed_file.tenant_id != tenant.pk:
        raise ValidationError("Not this organization's file.")
    if not routed_file_can_retry(routed_file):
        raise ValidationError(f"“{routed_file.file_name}” is {routed_file.get_status_display().lower()}; nothing to retry.")
    RoutedFile.objects.filter(pk=routed_file.pk).update(status=DeliveryStatus.PENDING, error_code="", error_message="",
                                                        backup_sent_at=None, updated_at=timezone.now())
    routed_file.refresh_from_db()
    routed_id = routed_file.pk
    transaction.on_commit(lambda: _send(routed_id))
    logger.info("Routed file %s retried by %s", routed_id, getattr(actor, "pk", None))
    return routed_file


def _fail(routed: RoutedFile, code: str, message: str) -> None:
    routed.status, routed.error_code, routed.error_message = DeliveryStatus.FAILED, code, message[:4000]
    routed.save(update_fields=["status", "error_code", "error_message", "updated_at"])


def _file_key_supported(connection, client) -> bool:
    describe = describe_get(connection=connection, sobject="ContentVersion", client=client) or {}
    return any(f["name"] == FILE_KEY_FIELD for f in describe.get("fields", []))


def _client(routed: RoutedFile):
    """The rep's own session in multi-user sign-on (the file is theirs in Salesforce, as their
    appointments are read with it), the integration user's otherwise."""
    member = routed.appointment.assigned_to
    if member is not None and routed.connection.credential_mode == CredentialMode.PER_USER:
        return client_for_member(connection=routed.connection, member=member)
    return client_for(routed.connection)


def _upload(routed: RoutedFile, parent_id: str) -> str:
    client = _client(routed)
    fields: dict[str, Any] = {"Title": routed.file_name, "PathOnClient": placeholders.client_file_name(routed.file_name, routed.file.name),
                              "FirstPublishLocationId": parent_id}
    # A retry after a crash between Salesforce's answer and our save must not add the file twice:
    # the org's Cothon_File_Key__c (when it has it, docs/salesforce-setup.md) finds the first one.
    if _file_key_supported(routed.connection, client):
        key = f"routed-{routed.pk}"
        found = client.query(f"SELECT Id FROM ContentVersion WHERE {FILE_KEY_FIELD} = {soql_quote(key)} LIMIT 1")["records"]
        if found:
            return found[0]["Id"]
        fields[FILE_KEY_FIELD] = key
    with routed.file.open("rb") as handle:
        data = handle.read()
    result = client.content_version_create(fields, data, file_name=fields["PathOnClient"])
    return result.get("id", "")


def routed_file_upload(*, routed_file_id: int) -> RoutedFile | None:
    """The task's work: upload one pending file, or record why not and e-mail it to the backup
    recipients. A failed file whose e-mail did not go out yet (a worker died in between) gets
    its e-mail now; an uploaded one is left alone."""
    routed = RoutedFile.objects.select_related("connection", "appointment", "tenant").filter(pk=routed_file_id).first()
    if routed is None:
        return None
    if routed.status == DeliveryStatus.FAILED and routed.backup_sent_at is None:
        backup_email_send(routed_file=routed)
        return routed
    # Claim: only one worker uploads a pending file (a redelivered message finds it claimed).
    claimed = RoutedFile.objects.filter(pk=routed.pk, status=DeliveryStatus.PENDING, attempts=routed.attempts).update(
        attempts=F("attempts") + 1, updated_at=timezone.now())
    if not claimed:
        return routed
    routed.refresh_from_db()
    if routed.size_bytes > MAX_UPLOAD_BYTES:
        _fail(routed, "FILE_TOO_LARGE", f"The file is {routed.size_bytes / 1024 / 1024:.1f} MB; Salesforce takes files of at "
                                        f"most {MAX_UPLOAD_BYTES // 1024 // 1024} MB through the API. Upload it to the "
                                        "appointment's record by hand.")
    else:
        parent_id = appointment_salesforce_id(tenant=routed.tenant, connection=routed.connection, appointment=routed.appointment)
        if not parent_id:
            _fail(routed, "NO_SALESFORCE_RECORD", "The appointment is not linked to a Salesforce record in "
                                                  f"“{routed.connection.name}”; refresh the appointments and retry.")
        else:
            try:
                document_id = _upload(routed, parent_id)
            except SalesforceError as exc:
                _fail(routed, exc.code, f"Salesforce refused the upload: {exc.message}")
            except AppointmentSetupError as exc:
                _fail(routed, exc.code, f"The rep's own Salesforce login is needed to upload it: {exc}")
            else:
                routed.status, routed.salesforce_document_id = DeliveryStatus.UPLOADED, document_id[:18]
                routed.error_code = routed.error_message = ""
                routed.save(update_fields=["status", "salesforce_document_id", "error_code", "error_message", "updated_at"])
                return routed
    backup_email_send(routed_file=routed)
    return routed
