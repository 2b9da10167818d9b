"""Result appointment (the card on an appointment's page): submit Sale / No sale with the
Results rule's pickers, Retry a result Salesforce refused. The appointment is looked up through
the appointment pages' selector: another tenant's, or another member's for a non-admin, is a
404. HTMX swaps the card; a plain form post comes back to the appointment's page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from cothon.tenancy.pages import is_htmx, tenant_page
from opportunities.models import Appointment
from sync_engine.appointments import results, results_selectors, selectors
from sync_engine.appointments.models import ResultSend

TEMPLATE = "sync_appointments/_result_form.html"


def _appointment(request: HttpRequest, pk: int) -> Appointment:
    try:
        return selectors.appointment_get(tenant=request.tenant, membership=request.membership, pk=pk)
    except Appointment.DoesNotExist:
        raise Http404("No such appointment.") from None


def _card(request: HttpRequest, appointment: Appointment, **panel) -> HttpResponse:
    context = results_selectors.result_panel(tenant=request.tenant, membership=request.membership, appointment=appointment, **panel)
    return render(request, TEMPLATE, {"result": context})


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return {k: list(v) for k, v in exc.message_dict.items()} if hasattr(exc, "error_dict") else {"__all__": exc.messages}


@tenant_page("member")
@require_POST
def result_submit(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment(request, pk)
    chosen = request.POST.get("outcome", "")
    prefix = f"{chosen}:"
    values = {key[len(prefix):]: request.POST.get(key, "")[:1000] for key in request.POST if key.startswith(prefix)}
    try:
        if chosen not in (results_selectors.SALE, results_selectors.NO_SALE):
            raise ValidationError({"sale": ["Choose Sale or No sale."]})
        with transaction.atomic():
            results.appointment_result(tenant=request.tenant, appointment=appointment, sale=chosen == results_selectors.SALE,
                                       values=values, actor=request.user)
    except ValidationError as exc:
        errors = _errors(exc)
        if not is_htmx(request):
            messages.error(request, "The result was not saved: " + " ".join(e for v in errors.values() for e in v))
            return redirect("sync_appointments:detail", pk=appointment.pk)
        # 200, as every HTMX form of the project: htmx swaps no 4xx answer, and the card must show the errors.
        return _card(request, appointment, chosen=chosen, values=values, errors=errors)
    if not is_htmx(request):
        messages.success(request, "Result saved; it is on its way to Salesforce.")
        return redirect("sync_appointments:detail", pk=appointment.pk)
    appointment.refresh_from_db()
    return _card(request, appointment)


@tenant_page("member")
@require_POST
def result_retry(request: HttpRequest, pk: int, send_pk: int) -> HttpResponse:
    appointment = _appointment(request, pk)
    try:
        send = results_selectors.result_send_get(tenant=request.tenant, appointment=appointment, pk=send_pk)
    except ResultSend.DoesNotExist:
        raise Http404("No such result.") from None
    try:
        with transaction.atomic():
            results.result_send_retry(tenant=request.tenant, result_send=send, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if not is_htmx(request):
        return redirect("sync_appointments:detail", pk=appointment.pk)
    return _card(request, appointment)


@tenant_page("viewer")
@require_GET
def result_card(request: HttpRequest, pk: int) -> HttpResponse:
    """The card alone, which it polls while its result is being sent."""
    return _card(request, _appointment(request, pk))
