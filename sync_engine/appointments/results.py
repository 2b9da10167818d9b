"""Resulting an appointment (the 002 seed's Results Routing): the rep picks Sale or No sale and
fills the Results rule's pickers; Cothon keeps the result on the appointment, then, in a worker,
writes the pickers' values to their Salesforce fields on the appointment's record of the rule's
object class, adds a Note (Title = the rule's note title) to that record and routes a results
report PDF to the appointment's record through `upload.route_file`.

Every Salesforce call goes through the one client layer (the member's own session in multi-user
sign-on, `config_services.client_for_member`). A refusal (locked row, validation rule, picklist
value) is kept on the ResultSend with its code, message and what to do; the appointment keeps
its values and Retry sends them again. Steps already done (fields written, Note made, report
routed) are not repeated by a retry."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import formats, timezone

from integrations.connections import client_for
from integrations.salesforce.errors import SalesforceError
from integrations.salesforce.soql import soql_quote
from opportunities.models import Appointment
from proposals.pdf import render_pdf
from sync_engine import links, wakeups
from sync_engine.appointments.config_services import AppointmentSetupError, client_for_member
from sync_engine.appointments.models import ResultSend, ResultSendStatus, RoutingKind, RoutingRule
from sync_engine.appointments.routing_selectors import STALLED_AFTER, tenant_zone
from sync_engine.appointments.upload import RoutingUnavailable, appointment_connection, route_file
from sync_engine.vocabulary import RecordType

logger = logging.getLogger(__name__)

SEND_TASK = "sync_engine.appointments.result_send"
QUEUE = "default"
DEFAULT_NOTE_TITLE = "Appointment results"
MAX_VALUE = 255

# What a person can do about the refusals a result meets most (the client layer's hints speak
# of sync mappings; these speak of the result the rep just sent).
RESULT_HINTS = {
    "UNABLE_TO_LOCK_ROW": "Another process in Salesforce was updating the record at the same moment. Retry in a minute.",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": "A validation rule in Salesforce refused the result. Ask your Salesforce admin which "
                                         "rule it was (the message above), fix the record or the rule, then Retry.",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": "Salesforce's picklist does not have this value. An admin adds it to the field "
                                               "in Salesforce, or reloads the options in Results Routing (Load from "
                                               "Salesforce); then Retry.",
    "NO_RECORD": "Refresh the appointments so this one is linked to its Salesforce record, or check the Results rule's "
                 "object class, then Retry.",
    "NO_CREDENTIALS": "Multi-user sign-on needs your own Salesforce login: an admin adds it under Workflow › CRM and "
                      "Appointments › Members; then Retry.",
}


class ResultsUnavailable(ValidationError):
    """Results Routing is off (or there is no connection): nothing is stored."""


class _SendFailure(Exception):
    def __init__(self, code: str, message: str, hint: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.hint = code, message, hint or RESULT_HINTS.get(code, "")


def results_rule(*, tenant, appointment: Appointment) -> RoutingRule:
    """The Results rule of the appointment's connection, switched on; else ResultsUnavailable."""
    connection = appointment_connection(tenant=tenant, appointment=appointment)
    if connection is None:
        raise ResultsUnavailable("This organization has no Salesforce connection to send results to.")
    rule = RoutingRule.objects.filter(connection=connection, kind=RoutingKind.RESULTS).first()
    if rule is None or not rule.enabled:
        raise ResultsUnavailable(f"Results Routing is off for “{connection.name}”; an admin turns it on under "
                                 "Workflow › Results Routing.")
    return rule


def result_pickers(rule: RoutingRule, *, sale: bool) -> list[dict[str, Any]]:
    """The rule's Sale or No sale picker rows (title, options, sf_field, required)."""
    return [p for p in (rule.sale_pickers if sale else rule.no_sale_pickers) or [] if p.get("sf_field")]


def _cleaned_values(pickers: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, str]:
    """Salesforce field → chosen option; ValidationError keyed by field (nothing written)."""
    errors: dict[str, list[str]] = {}
    known = {p["sf_field"] for p in pickers}
    unknown = sorted(str(k) for k in values if k not in known)
    if unknown:
        errors["__all__"] = [f"{', '.join(unknown)[:200]} is not a picker of this result."]
    cleaned: dict[str, str] = {}
    for picker in pickers:
        field, title = picker["sf_field"], picker.get("title") or picker["sf_field"]
        raw = values.get(field)
        value = " ".join(str(raw).split()) if raw is not None else ""
        if not value:
            if picker.get("required"):
                errors.setdefault(field, []).append(f"Choose a {title} (required).")
            cleaned[field] = ""
        elif value not in (picker.get("options") or []) or len(value) > MAX_VALUE:
            errors.setdefault(field, []).append(f"“{value[:80]}” is not one of the {title} options.")
        else:
            cleaned[field] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def appointment_result(*, tenant, appointment: Appointment, sale: bool, values: dict, actor) -> ResultSend:
    """Result the appointment: Sale (`sale=True`) or No sale with the rule's pickers' `values`
    (Salesforce field → option). Validates everything first (a required picker left empty, an
    option the rule does not offer: ValidationError, nothing written), stores the result on the
    appointment and queues its sending to Salesforce after commit. Resulting again replaces the
    result and sends it again."""
    if appointment.tenant_id != tenant.pk:
        raise ValidationError("Not this organization's appointment.")
    if not isinstance(sale, bool):
        raise ValidationError({"sale": ["Choose Sale or No sale."]})
    rule = results_rule(tenant=tenant, appointment=appointment)
    cleaned = _cleaned_values(result_pickers(rule, sale=sale), dict(values or {}))
    with transaction.atomic():
        now = timezone.now()
        Appointment.objects.filter(pk=appointment.pk, tenant=tenant).update(
            sale=sale, result_values=cleaned, resulted_at=now, resulted_by=actor, updated_at=now)
        appointment.sale, appointment.result_values, appointment.resulted_at, appointment.resulted_by = sale, cleaned, now, actor
        send = ResultSend.objects.create(tenant=tenant, appointment=appointment, connection=rule.connection, sale=sale,
                                         values=cleaned, object_class=rule.object_class or "", created_by=actor)
        send_id = send.pk
        transaction.on_commit(lambda: _enqueue(send_id))
    return send


def result_send_can_retry(send: ResultSend, *, now=None) -> bool:
    if send.status == ResultSendStatus.FAILED:
        return True
    now = now or timezone.now()
    return send.status == ResultSendStatus.PENDING and send.updated_at < now - STALLED_AFTER


def result_send_retry(*, tenant, result_send: ResultSend, actor) -> ResultSend:
    """Send a failed (or stalled) result again, with the values kept on it."""
    if result_send.tenant_id != tenant.pk:
        raise ValidationError("Not this organization's result.")
    if not result_send_can_retry(result_send):
        raise ValidationError(f"This result is {result_send.get_status_display().lower()}; nothing to retry.")
    ResultSend.objects.filter(pk=result_send.pk).update(status=ResultSendStatus.PENDING, error_code="", error_message="",
                                                        error_hint="", updated_at=timezone.now())
    result_send.refresh_from_db()
    send_id = result_send.pk
    transaction.on_commit(lambda: _enqueue(send_id))
    logger.info("Result send %s retried by %s", send_id, getattr(actor, "pk", None))
    return result_send


def _enqueue(send_id: int) -> None:
    try:
        wakeups.send_named(SEND_TASK, args=[send_id], queue=QUEUE)
    except Exception:  # noqa: BLE001 - the result waits on its row; the page offers Retry once it looks stalled
        logger.warning("Could not enqueue result send %s", send_id, exc_info=True)


# --- the worker's part -----------------------------------------------------------------------

def _appointment_link(send: ResultSend):
    for link in links.connection_links(tenant=send.tenant, connection=send.connection, record_type=RecordType.APPOINTMENT,
                                       record_ids=[send.appointment_id]):
        if link.salesforce_id:
            return link
    return None


def _target_record(send: ResultSend, client) -> str:
    """The appointment's record of the rule's object class: the appointment's own record, or
    the record of that class it points to through a lookup (e.g. its prospect)."""
    link = _appointment_link(send)
    if link is None:
        raise _SendFailure("NO_RECORD", f"The appointment is not linked to a Salesforce record in “{send.connection.name}”.")
    if not send.object_class or send.object_class == link.sobject:
        return link.salesforce_id
    describe = client.describe(link.sobject)
    lookups = [f["name"] for f in describe.get("fields", [])
               if f.get("type") == "reference" and send.object_class in (f.get("referenceTo") or [])]
    if lookups:
        row = client.query(f"SELECT {', '.join(lookups)} FROM {link.sobject} WHERE Id = {soql_quote(link.salesforce_id)}")
        for record in row.get("records", []):
            for name in lookups:
                if record.get(name):
                    return record[name]
    raise _SendFailure("NO_RECORD", f"The appointment's {link.sobject} record has no {send.object_class} record to put "
                                    "the result on.")


def result_summary(send: ResultSend) -> str:
    """The Note's body: what was resulted, by whom and when, readable in Salesforce."""
    appointment = send.appointment
    rule = RoutingRule.objects.filter(connection=send.connection, kind=RoutingKind.RESULTS).first()
    titles = {p["sf_field"]: p.get("title") or p["sf_field"] for p in (result_pickers(rule, sale=send.sale) if rule else [])}
    with timezone.override(tenant_zone(send.tenant)):
        when = formats.date_format(timezone.localtime(send.created_at), "N j, Y, P T")
        starts = (formats.date_format(timezone.localtime(appointment.starts_at), "N j, Y, P")
                  if appointment.starts_at else "no date")
    who = send.created_by.get_full_name() or send.created_by.get_username() if send.created_by else "Cothon"
    lines = [f"Result: {'Sale' if send.sale else 'No sale'}"]
    lines += [f"{titles.get(field, field)}: {value or '—'}" for field, value in send.values.items()]
    lines += ["", f"Customer: {appointment.customer_name}", f"Appointment: {starts}",
              f"Resulted by {who} on {when} in Cothon."]
    return "\n".join(lines)


def results_report_pdf(send: ResultSend) -> bytes:
    """The results report (appointment, customer, sale / no sale, the pickers' values, rep, date)."""
    rule = RoutingRule.objects.filter(connection=send.connection, kind=RoutingKind.RESULTS).first()
    titles = {p["sf_field"]: p.get("title") or p["sf_field"] for p in (result_pickers(rule, sale=send.sale) if rule else [])}
    appointment = send.appointment
    rep = appointment.assigned_to or send.created_by
    with timezone.override(tenant_zone(send.tenant)):
        html = render_to_string("sync_appointments/results_report_pdf.html", {
            "appointment": appointment, "send": send, "tenant": send.tenant,
            "rows": [(titles.get(field, field), value) for field, value in send.values.items()],
            "rep": (rep.get_full_name() or rep.get_username()) if rep else "—",
            "resulted_by": (send.created_by.get_full_name() or send.created_by.get_username()) if send.created_by else "—",
        })
    return render_pdf(html)


def _write(send: ResultSend) -> None:
    member = send.created_by or send.appointment.assigned_to
    try:
        # The rep's own session in multi-user sign-on (their name on the Note), else the connection's.
        client = client_for_member(connection=send.connection, member=member) if member else client_for(send.connection)
    except AppointmentSetupError as exc:
        raise _SendFailure(exc.code, exc.message) from exc
    record_id = send.record_id or _target_record(send, client)
    if record_id != send.record_id:
        send.record_id = record_id
        send.save(update_fields=["record_id", "updated_at"])
    object_class = send.object_class or (_appointment_link(send).sobject)
    if send.fields_written_at is None and send.values:
        payload = {field: (value or None) for field, value in send.values.items()}
        client.call(lambda sf: getattr(sf, object_class).update(record_id, payload))
        send.fields_written_at = timezone.now()
        send.save(update_fields=["fields_written_at", "updated_at"])
    if not send.note_id:
        rule = RoutingRule.objects.filter(connection=send.connection, kind=RoutingKind.RESULTS).first()
        title = (rule.note_title if rule else "") or DEFAULT_NOTE_TITLE
        created = client.call(lambda sf: sf.Note.create({"Title": title[:80], "Body": result_summary(send), "ParentId": record_id}))
        send.note_id = str(created.get("id", ""))[:18]
        send.save(update_fields=["note_id", "updated_at"])


def _route_report(send: ResultSend) -> None:
    """Route the report once per result (its own upload state and Retry live on the RoutedFile)."""
    if send.report_id:
        return
    try:
        send.report = route_file(tenant=send.tenant, appointment=send.appointment, kind=RoutingKind.RESULTS,
                                 content=results_report_pdf(send), actor=send.created_by,
                                 context={"document_title": "Results", "extension": "pdf"})
    except RoutingUnavailable as exc:
        logger.warning("Results report of result send %s not routed: %s", send.pk, exc.messages)
        return
    send.save(update_fields=["report", "updated_at"])


def result_send_deliver(*, result_send_id: int) -> ResultSend | None:
    """The task's work: write the values, add the Note, route the report. A refusal is kept on
    the row (code, message, what to do); the next Retry continues from the first step not done."""
    send = ResultSend.objects.select_related("tenant", "connection", "appointment", "created_by").filter(
        pk=result_send_id).first()
    if send is None:
        return None
    # Claim: one worker sends a pending result (a redelivered message finds it claimed).
    claimed = ResultSend.objects.filter(pk=send.pk, status=ResultSendStatus.PENDING, attempts=send.attempts).update(
        attempts=F("attempts") + 1, updated_at=timezone.now())
    if not claimed:
        return send
    send.refresh_from_db()
    failure: _SendFailure | None = None
    try:
        _write(send)
    except _SendFailure as exc:
        failure = exc
    except SalesforceError as exc:
        failure = _SendFailure(exc.code, exc.message, RESULT_HINTS.get(exc.code) or exc.hint)
    with transaction.atomic():
        _route_report(send)
    if failure is None:
        send.status, send.error_code, send.error_message, send.error_hint = ResultSendStatus.SENT, "", "", ""
    else:
        send.status, send.error_code = ResultSendStatus.FAILED, failure.code[:80]
        send.error_message, send.error_hint = failure.message[:4000], failure.hint
    send.save(update_fields=["status", "error_code", "error_message", "error_hint", "updated_at"])
    return send
