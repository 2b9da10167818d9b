"""Dry run and custom-field installation."""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from cothon.tenancy.pages import tenant_page
from integrations.custom_fields import connection_specs, install_custom_fields, install_plan
from sync_engine.dry_run import dry_run
from integrations.models import ConnectionStatus
from integrations.salesforce.errors import SalesforceError
from integrations.sync_settings import describe_get
from integrations.views.common import (
    _connection,
    _hint,
)
from opportunities import selectors as opportunity_selectors


def _shown_value(value: Any) -> tuple[str | None, bool]:
    """(the value as the request body carries it, whether it is a reference resolved at send time)."""
    if isinstance(value, dict) and "@account" in value:
        return f"Id of the Account above (Cothon_Department_Key__c = {value['@account']})", True
    if isinstance(value, dict) and ("@opportunity" in value or "@analysis" in value):
        parent = "opportunity" if "@opportunity" in value else "analysis"
        return f"Id of the {parent} above, once it is in Salesforce", True
    if value is None or isinstance(value, str):
        return value, False
    return json.dumps(value, ensure_ascii=False, default=str), False


def _field_labels(connection, sobjects: set[str]) -> dict[str, dict[str, str]]:
    """Salesforce field labels by object and lower-cased API name, from the org's describe
    (cached). An object the org cannot describe just shows API names."""
    labels: dict[str, dict[str, str]] = {}
    if connection.status != ConnectionStatus.CONNECTED:
        return labels
    for sobject in sobjects:
        try:
            payload = describe_get(connection=connection, sobject=sobject) or {}
        except SalesforceError:
            payload = {}
        labels[sobject] = {f["name"].lower(): f.get("label", "") for f in payload.get("fields", [])}
    return labels


def _writes_shown(result, connection=None) -> list[dict[str, Any]]:
    """Each planned write with its rows: (API name, field label, value shown, is a reference)."""
    labels = _field_labels(connection, {w.sobject for w in result.writes}) if connection is not None else {}
    def label(sobject: str, name: str) -> str:
        text = labels.get(sobject, {}).get(name.lower(), "")
        return "" if text == name else text  # said once when the label is the API name

    return [{"write": w,
             "rows": [(name, label(w.sobject, name), *_shown_value(value)) for name, value in w.fields.items()],
             "skipped": [(name, label(w.sobject, name), reason) for name, reason in w.skipped]}
            for w in result.writes]


@tenant_page("admin")
def dry_run_view(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    query = request.GET.get("q", "").strip()
    candidates = opportunity_selectors.opportunity_list(tenant=request.tenant, search=query).order_by("-updated_at")[:15]
    opportunity = None
    result = None
    writes: list[dict[str, Any]] = []
    error: SalesforceError | None = None
    if request.GET.get("opportunity"):
        if not request.GET["opportunity"].isdigit():
            raise Http404("No such opportunity")
        opportunity = opportunity_selectors.opportunity_get(tenant=request.tenant, pk=request.GET["opportunity"])
        try:
            result = dry_run(connection=connection, opportunity=opportunity)
        except SalesforceError as exc:
            error = exc
        else:
            writes = _writes_shown(result, connection)
    return render(request, "integrations/dry_run.html", {
        "connection": connection, "query": query, "candidates": candidates, "opportunity": opportunity,
        "result": result, "writes": writes, "error": error, "error_hint": _hint(error.code) if error else "",
    })


# --- custom fields ------------------------------------------------------------------------------------

@tenant_page("admin")
@require_http_methods(["GET", "POST"])
def custom_fields(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    context: dict[str, Any] = {"connection": connection, "plan": None, "result": None, "error": None}
    if connection.status != ConnectionStatus.CONNECTED:
        return render(request, "integrations/custom_fields.html", context)
    try:
        if request.method == "POST":
            result = install_custom_fields(connection=connection)
            specs = {}
            if result.plan:
                specs.update({o.name: f"{o.name} — custom object “{o.label}” (plural “{o.plural_label}”)" for o in result.plan.missing_objects})
                specs.update({f.full_name: f.describe_line() for f in result.plan.missing_fields})
            context["result"] = result
            context["failed"] = [{"name": name, "why": why, "spec": specs.get(name, name)} for name, why in result.failed]
        context["plan"] = install_plan(connection=connection)
        standard, custom = connection_specs(connection=connection)
        context["all_fields"] = [f.describe_line() for f in standard] + [
            line for obj in custom for line in
            [f"{obj.name} — custom object “{obj.label}”"] + [f.describe_line() for f in obj.fields]]
    except SalesforceError as exc:
        context["error"] = exc
        context["error_hint"] = _hint(exc.code)
    return render(request, "integrations/custom_fields.html", context)
