"""HTML pages and actions for bid analyses: start or edit one, add requirements, complete it.

Completing an analysis is the seed's "analysis completed" trigger: the service queues the
analysis, its requirements, the opportunity's analysis fields and the "Bid Analysis Completed"
task for Salesforce in the same transaction.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from cothon.tenancy.pages import is_htmx, tenant_page
from opportunities import selectors, services
from opportunities.analysis_forms import (
    ANALYSIS_FIELDS,
    AnalysisCompleteForm,
    AnalysisForm,
    RequirementForm,
    attach_analysis_forms,
)
from opportunities.models import BidAnalysis, BidAnalysisStatus
from opportunities.views import detail_context


def _analysis_anchor(analysis: BidAnalysis) -> str:
    return reverse("opportunities:detail", args=[analysis.opportunity_id]) + f"#analysis-{analysis.pk}"


def _detail_with(request: HttpRequest, analysis: BidAnalysis, **forms) -> HttpResponse:
    """The opportunity page again, with this analysis's failed form (no-JavaScript fallback)."""
    context = detail_context(request, analysis.opportunity)
    context["analyses"] = [attach_analysis_forms(a, **forms) if a.pk == analysis.pk else a
                           for a in context["analyses"]]
    return render(request, "opportunities/detail.html", context, status=400)


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def analysis_create(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = selectors.opportunity_get(tenant=request.tenant, pk=pk)
    form = AnalysisForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            analysis = services.analysis_create(tenant=request.tenant, opportunity=opportunity,
                                                created_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Bid analysis started. Add the solicitation’s requirements, then complete it.")
            return redirect(_analysis_anchor(analysis))
    return render(request, "opportunities/analysis_form.html",
                  {"form": form, "opportunity": opportunity, "analysis": None},
                  status=400 if form.errors else 200)


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def analysis_edit(request: HttpRequest, analysis_pk: int) -> HttpResponse:
    analysis = selectors.analysis_get(tenant=request.tenant, pk=analysis_pk)
    initial = {name: getattr(analysis, name) for name in ANALYSIS_FIELDS}
    form = AnalysisForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.analysis_update(tenant=request.tenant, analysis=analysis, data=form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Analysis saved.")
            return redirect(_analysis_anchor(analysis))
    return render(request, "opportunities/analysis_form.html",
                  {"form": form, "opportunity": analysis.opportunity, "analysis": analysis},
                  status=400 if form.errors else 200)


@tenant_page("member")
@require_POST
def requirement_add(request: HttpRequest, analysis_pk: int) -> HttpResponse:
    tenant = request.tenant
    analysis = selectors.analysis_get(tenant=tenant, pk=analysis_pk)
    form: RequirementForm | None = RequirementForm(request.POST, prefix=f"req-{analysis.pk}")
    if form.is_valid():
        try:
            services.requirement_add(tenant=tenant, analysis=analysis, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            form = None
    if is_htmx(request):
        fresh = selectors.analysis_get(tenant=tenant, pk=analysis.pk)  # with the new requirement
        return render(request, "opportunities/_analysis.html",
                      {"analysis": attach_analysis_forms(fresh, requirement_form=form),
                       "opportunity": fresh.opportunity})  # 200 either way: HTMX swaps only 2xx answers
    if form is None:
        messages.success(request, "Requirement added.")
        return redirect(_analysis_anchor(analysis))
    return _detail_with(request, analysis, requirement_form=form)


@tenant_page("member")
@require_POST
def analysis_complete(request: HttpRequest, analysis_pk: int) -> HttpResponse:
    tenant = request.tenant
    analysis = selectors.analysis_get(tenant=tenant, pk=analysis_pk)
    form = AnalysisCompleteForm(request.POST, prefix=f"done-{analysis.pk}")
    if analysis.status == BidAnalysisStatus.COMPLETED:
        messages.info(request, "This analysis was already completed.")
        return redirect(_analysis_anchor(analysis))
    if form.is_valid():
        try:
            services.analysis_complete(tenant=tenant, analysis=analysis, completed_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Analysis completed. Its results and a “Bid Analysis Completed” task "
                                      "are on their way to Salesforce.")
            return redirect(_analysis_anchor(analysis))
    return _detail_with(request, analysis, complete_form=form)
