"""Sync › a connection › Drift reports: the daily validation's reports (kept 30 days), one
report's counts, truncated-read warning and examples with links to both records, and "Validate
now". Admins only; every lookup is scoped to request.tenant (another tenant's id is a 404)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from cothon.tenancy.pages import tenant_page
from sync_engine import selectors as sync_selectors
from sync_engine.validation import selectors, services
from sync_engine.validation.models import DriftKind

PAGE_SIZE = 60  # a month of daily reports, with room for "Validate now"
KIND_HELP = {
    DriftKind.MISSING_IN_SALESFORCE: "Linked records Salesforce no longer has (deleted, or emptied from its recycle bin). "
                                     "After a complete read their links are marked “deleted in Salesforce”; the Cothon record stays.",
    DriftKind.MISSING_IN_COTHON: "Salesforce records whose Cothon opportunity was deleted. Deletes do not propagate: "
                                 "the Salesforce record stays.",
    DriftKind.FIELD_DIFFERENCE: "Mapped fields whose values differ. Repaired by the conflict rules: Cothon's value queued "
                                "for the push, Salesforce's applied, or the conflict held for review.",
    DriftKind.ORPHAN: "Salesforce opportunities carrying a Cothon reference no Cothon opportunity has, and links to "
                      "records gone on both sides. Reported only.",
}


@tenant_page("admin")
@require_GET
def report_list(request: HttpRequest, pk: int) -> HttpResponse:
    connection = sync_selectors.sync_connection_get(tenant=request.tenant, pk=pk)
    reports = list(selectors.drift_report_list(tenant=request.tenant, connection=connection)[:PAGE_SIZE])
    return render(request, "sync_validation/reports.html", {
        "connection": connection, "reports": reports, "tab": "drift",
        "running": selectors.drift_report_running(tenant=request.tenant, connection=connection)})


@tenant_page("admin")
@require_GET
def report_detail(request: HttpRequest, pk: int, report_pk: int) -> HttpResponse:
    connection = sync_selectors.sync_connection_get(tenant=request.tenant, pk=pk)
    report = selectors.drift_report_get(tenant=request.tenant, pk=report_pk)
    if report.connection_id != connection.pk:
        raise Http404("No such report for this connection.")
    kinds = []
    for kind in DriftKind:
        examples = [{**example, "salesforce_url": connection.record_url(report.sobject, example["salesforce_id"])
                     if example.get("salesforce_id") else ""} for example in (report.examples or {}).get(kind.value, [])]
        kinds.append({"kind": kind.value, "label": kind.label, "count": report.count_of(kind), "help": KIND_HELP[kind],
                      "examples": examples})
    return render(request, "sync_validation/report.html",
                  {"connection": connection, "report": report, "kinds": kinds, "tab": "drift"})


@tenant_page("admin")
@require_POST
def validate_now(request: HttpRequest, pk: int) -> HttpResponse:
    connection = sync_selectors.sync_connection_get(tenant=request.tenant, pk=pk)
    try:
        report = services.validation_start(connection=connection, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("sync_validation:reports", pk=connection.pk)
    messages.success(request, "Validation started: its report appears here when it ends (a few seconds for most orgs; "
                              "minutes for very large ones).")
    return redirect("sync_validation:report", pk=connection.pk, report_pk=report.pk)
