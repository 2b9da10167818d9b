"""Settings › Alerts: where the tenant's alerts go, which kinds alert, a test send, and the
recent incidents with their deliveries (Retry for a failed one).

Admins only (the page shows the webhook's URL and, once, its secret). Another tenant's delivery
is a 404."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from cothon.tenancy.pages import tenant_page
from sync_engine import wakeups
from sync_engine.alerts import selectors, services
from sync_engine.alerts.forms import AlertSettingsForm
from sync_engine.alerts.models import AlertChannel, DeliveryStatus
from sync_engine.alerts.webhook import SIGNATURE_TOLERANCE

RECENT_INCIDENTS = 50


logger = logging.getLogger(__name__)


@tenant_page("admin")
@require_http_methods(["GET", "POST"])
def alert_settings(request: HttpRequest) -> HttpResponse:
    saved = services.alert_settings_for(tenant=request.tenant)
    if request.method == "GET":
        return _page(request, AlertSettingsForm.from_settings(saved))
    form = AlertSettingsForm.from_post(request.POST)
    try:
        result = services.alert_settings_save(tenant=request.tenant, enabled=form.enabled, recipients=form.recipients,
                                              webhook_url=form.webhook_url, kinds=form.kinds, actor=request.user)
    except ValidationError as exc:
        form.errors = exc.message_dict
        return _page(request, form, status=400)
    if result.new_secret:
        # Rendered, not redirected: the secret is shown in this one response and never stored readable.
        messages.success(request, "Alert settings saved. Copy the webhook signing secret now: it is not shown again.")
        return _page(request, AlertSettingsForm.from_settings(result.settings), new_secret=result.new_secret)
    messages.success(request, "Alert settings saved.")
    return redirect("sync_alerts:settings")


@tenant_page("admin")
@require_POST
def secret_rotate(request: HttpRequest) -> HttpResponse:
    secret = services.alert_secret_rotate(tenant=request.tenant, actor=request.user)
    messages.success(request, "New webhook signing secret made: copy it now, it is not shown again. The old one no longer signs.")
    return _page(request, AlertSettingsForm.from_settings(services.alert_settings_for(tenant=request.tenant)), new_secret=secret)


@tenant_page("admin")
@require_POST
def test_send(request: HttpRequest) -> HttpResponse:
    results = services.alert_test_send(tenant=request.tenant)
    if not results:
        messages.error(request, "Nothing to test: add an e-mail recipient or a webhook URL first, and save.")
    for result in results:
        name = AlertChannel(result.channel).label
        if result.ok:
            messages.success(request, f"Test alert sent by {name.lower()}.")
        else:
            messages.error(request, f"Test alert by {name.lower()} failed: {result.error}")
    return redirect("sync_alerts:settings")


@tenant_page("admin")
@require_POST
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = services.alert_delivery_retry(tenant=request.tenant, pk=pk)
    if delivery.status == DeliveryStatus.PENDING:
        # By name, like every sync task (nothing in sync_engine imports a tasks module). A lost
        # message costs a minute: the evaluator sends every pending delivery that is due.
        transaction.on_commit(lambda: _send_soon(delivery.pk))
        messages.success(request, "The delivery is sent again now; its status below updates when it is done.")
    else:
        messages.info(request, "This delivery was already sent.")
    return redirect("sync_alerts:settings")


def _page(request: HttpRequest, form: AlertSettingsForm, *, new_secret: str = "", status: int = 200) -> HttpResponse:
    saved = services.alert_settings_for(tenant=request.tenant)
    incidents = list(selectors.alert_incident_list(tenant=request.tenant)[:RECENT_INCIDENTS])
    return render(request, "sync_alerts/settings.html", {
        "form": form, "saved": saved, "new_secret": new_secret, "incidents": incidents,
        "open_count": sum(1 for i in incidents if i.is_open), "tolerance": SIGNATURE_TOLERANCE,
    }, status=status)


def _send_soon(delivery_id: int) -> None:
    try:
        wakeups.send_named("sync_engine.alerts.send_delivery", args=[delivery_id], queue="default")
    except Exception:  # noqa: BLE001 - the broker being down: the evaluator sends it within a minute
        logger.warning("Could not enqueue alert delivery %s; the evaluator sends it", delivery_id, exc_info=True)
