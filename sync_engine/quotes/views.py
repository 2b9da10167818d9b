"""Settings › Integrations › Salesforce › Quotes: what turns an opportunity into a quote, and the
flow + outbound message Cothon keeps in the org for it.

Admins only. The connection is looked up within request.tenant: another tenant's is a 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_http_methods, require_POST

from cothon.tenancy.pages import tenant_page
from integrations import selectors as integration_selectors
from integrations.mapping.suggest import picklist_values
from integrations.models import SalesforceConnection
from integrations.salesforce.errors import SalesforceError
from proposals.models import CustomFieldType
from sync_engine.quotes import automation, settings_services
from sync_engine.quotes.forms import QuoteSettingsForm
from sync_engine.quotes.models import ConditionOperator

OUTCOME_WORDS = {"created": "created", "updated": "updated", "unchanged": "up to date", "new_version": "new version",
                 "reactivated": "reactivated", "deactivated": "deactivated", "inactive": "inactive", "absent": "not in the org"}


@tenant_page("admin")
@require_http_methods(["GET", "POST"])
def quote_settings(request: HttpRequest, pk: int) -> HttpResponse:
    connection = integration_selectors.salesforce_connection_get(tenant=request.tenant, pk=pk)
    saved = settings_services.quote_settings_for(connection=connection)
    if request.method == "GET":
        return _page(request, connection, QuoteSettingsForm.from_settings(saved))
    form = QuoteSettingsForm.from_post(request.POST)
    try:
        saved = settings_services.quote_settings_save(tenant=request.tenant, connection=connection, data=form.data,
                                                      actor=request.user)
    except ValidationError as exc:
        form.errors = exc.message_dict
        return _page(request, connection, form, status=400)
    except SalesforceError as exc:
        form.errors = {"__all__": [f"The org's Opportunity description could not be read ({exc.code}: {exc.message}). "
                                   "Nothing was saved."]}
        return _page(request, connection, form, status=400)
    _say_outcome(request, saved.automation)
    return redirect("quote_settings:edit", pk=connection.pk)


@tenant_page("admin")
@require_POST
def automation_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Set the org up again with the saved settings (after fixing a permission, say)."""
    connection = integration_selectors.salesforce_connection_get(tenant=request.tenant, pk=pk)
    if settings_services.quote_settings_for(connection=connection).pk is None:
        messages.error(request, "Save the quote settings first.")
    else:
        _say_outcome(request, automation.automation_apply(connection=connection, actor=request.user))
    return redirect("quote_settings:edit", pk=connection.pk)


def _say_outcome(request: HttpRequest, outcome: dict[str, Any]) -> None:
    state = (outcome or {}).get("state")
    if state == "ok":
        flow = outcome.get("flow") or {}
        messages.success(request, f"Quote settings saved. In the org: outbound message "
                                  f"{OUTCOME_WORDS.get(outcome['message']['outcome'])}, flow "
                                  f"{OUTCOME_WORDS.get(flow.get('outcome'))} (version {flow.get('version_number') or '—'}).")
    elif state == "off":
        messages.success(request, "Quote settings saved. Opportunity → Quote is off: the org's flow is "
                                  f"{OUTCOME_WORDS.get((outcome.get('flow') or {}).get('outcome'))}.")
    elif state in ("refused", "failed"):
        messages.error(request, "Quote settings saved, but the org was not set up: "
                                f"{outcome['error']['code']} — see Automation in the org below.")


def _page(request: HttpRequest, connection: SalesforceConnection, form: QuoteSettingsForm, status: int = 200) -> HttpResponse:
    describe_error = None
    try:
        describe = settings_services.opportunity_describe(connection=connection)
    except SalesforceError as exc:
        describe, describe_error = None, exc
    fields = sorted((describe or {}).get("fields", []), key=lambda f: f.get("label", f["name"]).lower())
    saved = settings_services.quote_settings_for(connection=connection)
    state = saved.automation or {}
    targets = settings_services.mapping_targets(tenant=request.tenant)
    return render(request, "sync_quotes/settings.html", {
        "connection": connection, "form": form, "saved": saved, "automation": state,
        "describe": describe, "describe_error": describe_error,
        "stages": picklist_values(describe, "StageName"),
        "condition_fields": [f for f in fields if f.get("filterable", True)
                             and f.get("type") in automation.TEXT_TYPES | automation.NUMBER_TYPES | automation.BOOLEAN_TYPES | {"date"}],
        "mapping_fields": fields, "operators": ConditionOperator.choices,
        "quote_targets": [t for t in targets if not t.value.startswith(settings_services.CUSTOM_PREFIX)],
        "custom_targets": [{"value": t.value, "label": t.label, "kind_label": CustomFieldType(t.kind).label}
                           for t in targets if t.value.startswith(settings_services.CUSTOM_PREFIX)],
        "owners": settings_services.owner_choices(tenant=request.tenant),
        "number_types": sorted(automation.NUMBER_TYPES),
        "flow_words": OUTCOME_WORDS.get((state.get("flow") or {}).get("outcome"), ""),
        "message_words": OUTCOME_WORDS.get((state.get("message") or {}).get("outcome"), ""),
        "automation_at": parse_datetime(state["at"]) if state.get("at") else None,
        "flow_name": automation.FLOW_LABEL, "message_name": automation.MESSAGE_LABEL,
        "message_fields_base": automation.BASE_FIELDS,
    }, status=status)
