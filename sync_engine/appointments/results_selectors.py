"""Reads of the Result appointment card: the Results rule's pickers for this appointment, the
values it was resulted with and its latest sending to Salesforce. Tenant-scoped: the
appointment itself comes from `selectors.appointment_get` (another member's, for a non-admin, or
another tenant's is a 404 before this runs)."""

from __future__ import annotations

from typing import Any

from opportunities.models import Appointment
from sync_engine.appointments.models import ResultSend
from sync_engine.appointments.results import ResultsUnavailable, result_pickers, result_send_can_retry, results_rule

SALE, NO_SALE = "sale", "no_sale"


def picker_field_name(section: str, sf_field: str) -> str:
    """The form field of a picker: per section, since Sale and No sale often share a field."""
    return f"{section}:{sf_field}"


def _rows(pickers: list[dict[str, Any]], section: str, values: dict[str, str], errors: dict[str, list[str]]) -> list[dict]:
    return [{"title": p.get("title") or p["sf_field"], "sf_field": p["sf_field"], "options": p.get("options") or [],
             "required": bool(p.get("required")), "name": picker_field_name(section, p["sf_field"]),
             "id": f"result-{section}-{i}", "value": values.get(p["sf_field"], ""), "errors": errors.get(p["sf_field"], [])}
            for i, p in enumerate(pickers)]


def result_latest_send(*, tenant, appointment: Appointment) -> ResultSend | None:
    return (ResultSend.objects.filter(tenant=tenant, appointment=appointment)
            .select_related("report", "created_by", "connection").first())


def result_send_get(*, tenant, appointment: Appointment, pk: int) -> ResultSend:
    """Raises ResultSend.DoesNotExist for another appointment's or another tenant's."""
    return ResultSend.objects.select_related("appointment", "connection").get(tenant=tenant, appointment=appointment, pk=pk)


def result_panel(*, tenant, membership, appointment: Appointment, chosen: str | None = None,
                 values: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Context of `sync_appointments/_result_form.html`. `chosen`/`values`/`errors`: a refused
    submission shown back; otherwise the appointment's stored result."""
    errors = errors or {}
    try:
        rule = results_rule(tenant=tenant, appointment=appointment)
        unavailable = ""
    except ResultsUnavailable as exc:
        rule, unavailable = None, " ".join(exc.messages)
    if chosen is None:
        chosen = "" if appointment.sale is None else (SALE if appointment.sale else NO_SALE)
        values = dict(appointment.result_values or {})
    values = values or {}
    latest = result_latest_send(tenant=tenant, appointment=appointment)
    return {
        "appointment": appointment, "rule": rule, "unavailable": unavailable, "chosen": chosen,
        "sale_rows": _rows(result_pickers(rule, sale=True), SALE, values if chosen == SALE else {}, errors if chosen == SALE else {})
        if rule else [],
        "no_sale_rows": _rows(result_pickers(rule, sale=False), NO_SALE, values if chosen == NO_SALE else {},
                              errors if chosen == NO_SALE else {}) if rule else [],
        "errors": errors, "general_errors": errors.get("__all__", []) + errors.get("sale", []),
        "latest": latest, "can_retry": bool(latest and result_send_can_retry(latest)),
        "can_result": membership.has_role("member"),
    }
