"""Settings › Integrations › Salesforce › Legacy records: run the matcher (progress polled with
htmx), review its proposals best first with their evidence, accept or reject one or many.

Admins only. Every lookup is scoped to request.tenant: another tenant's connection, job or
proposal is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cothon.tenancy.pages import is_htmx, tenant_page
from integrations import selectors as integration_selectors
from sync_engine.legacy import selectors, services
from sync_engine.legacy.models import LegacyMatchJob, ProposalStatus
from sync_engine.legacy.scoring import MIN_SCORE

PAGE_SIZE = 100
STATUS_FILTERS = [("open", "To review"), ("accepted", "Accepted"), ("rejected", "Rejected"),
                  ("superseded", "No longer candidates"), ("all", "All")]


def _filters(request: HttpRequest, connection_id: int) -> tuple[selectors.ProposalFilters, dict]:
    status = request.GET.get("status") or ProposalStatus.OPEN
    if status not in dict(STATUS_FILTERS):
        status = ProposalStatus.OPEN
    raw_score = (request.GET.get("min_score") or "").strip()
    min_score, error = None, ""
    if raw_score:
        try:
            min_score = float(raw_score)
            if not 0 <= min_score <= 100:
                raise ValueError
        except ValueError:
            min_score, error = None, "Minimum score must be a number from 0 to 100; not applied."
    q = (request.GET.get("q") or "").strip()[:100]
    return (selectors.ProposalFilters(status=status, min_score=min_score, q=q, connection_id=connection_id),
            {"status": status, "min_score": raw_score, "q": q, "error": error})


def _job_context(request: HttpRequest, connection, job: LegacyMatchJob | None) -> dict:
    return {"connection": connection, "job": job, "stalled": bool(job and selectors.legacy_job_stalled(job))}


@tenant_page("admin")
@require_GET
def review(request: HttpRequest, pk: int) -> HttpResponse:
    connection = integration_selectors.salesforce_connection_get(tenant=request.tenant, pk=pk)
    filters, shown = _filters(request, connection.pk)
    proposals = list(selectors.legacy_proposal_list(tenant=request.tenant, filters=filters)[:PAGE_SIZE + 1])
    job = selectors.legacy_job_latest(tenant=request.tenant, connection=connection)
    context = {
        **_job_context(request, connection, job),
        "proposals": proposals[:PAGE_SIZE], "more": len(proposals) > PAGE_SIZE, "page_size": PAGE_SIZE,
        "filters": shown, "status_filters": STATUS_FILTERS, "min_score_default": MIN_SCORE,
        "counts": selectors.legacy_proposal_counts(tenant=request.tenant, connection=connection),
    }
    return render(request, "sync_legacy/review.html", context)


@tenant_page("admin")
@require_POST
def run(request: HttpRequest, pk: int) -> HttpResponse:
    connection = integration_selectors.salesforce_connection_get(tenant=request.tenant, pk=pk)
    try:
        with transaction.atomic():
            job = services.legacy_match_start(connection=connection, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("sync_legacy:review", pk=connection.pk)
    if is_htmx(request):
        return render(request, "sync_legacy/_job.html", _job_context(request, connection, job))
    return redirect("sync_legacy:review", pk=connection.pk)


@tenant_page("admin")
@require_GET
def job_progress(request: HttpRequest, pk: int, job_pk: int) -> HttpResponse:
    connection = integration_selectors.salesforce_connection_get(tenant=request.tenant, pk=pk)
    try:
        job = selectors.legacy_job_get(tenant=request.tenant, pk=job_pk)
    except LegacyMatchJob.DoesNotExist:
        raise Http404("No such job.") from None
    if job.connection_id != connection.pk:
        raise Http404("No such job.")
    response = render(request, "sync_legacy/_job.html", _job_context(request, connection, job))
    if not job.active and is_htmx(request):
        response["HX-Refresh"] = "true"  # the job just finished: show its proposals
    return response


@tenant_page("admin")
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """One form for the whole list: a row's own Accept / Reject button (`accept_one` /
    `reject_one` = its id), or the selected rows (`selected`) with `action` accept / reject."""
    connection = integration_selectors.salesforce_connection_get(tenant=request.tenant, pk=pk)
    if request.POST.get("accept_one") or request.POST.get("reject_one"):
        accept = bool(request.POST.get("accept_one"))
        raw = [request.POST.get("accept_one") or request.POST.get("reject_one")]
    else:
        action = request.POST.get("action")
        if action not in ("accept", "reject"):
            messages.error(request, "Choose Accept selected or Reject selected.")
            return _back(request, connection.pk)
        accept = action == "accept"
        raw = request.POST.getlist("selected")
    try:
        ids = [int(value) for value in raw if value]
    except ValueError:
        messages.error(request, "The selection was not understood; nothing was changed.")
        return _back(request, connection.pk)
    if not ids:
        messages.error(request, "Select at least one proposal.")
        return _back(request, connection.pk)
    # Only this connection's proposals of this tenant: anything else is refused as missing.
    mine = set(selectors.legacy_proposal_list(tenant=request.tenant, filters=selectors.ProposalFilters(
        status="all", connection_id=connection.pk)).filter(pk__in=ids).values_list("pk", flat=True))
    if len(ids) == 1 and not mine:
        raise Http404("No such proposal.")
    outcome = services.legacy_proposals_decide(tenant=request.tenant, proposal_ids=[i for i in ids if i in mine],
                                               accept=accept, actor=request.user)
    for missing in (i for i in ids if i not in mine):
        outcome.errors[missing] = "No such proposal."
    if outcome.done:
        verb = "Accepted" if accept else "Rejected"
        tail = (" — linked; Cothon_Ref__c is written to Salesforce by the next push." if accept
                else " — never proposed again.")
        names = ", ".join(f"“{p.sf_name}”" for p in outcome.done[:5]) + (" …" if len(outcome.done) > 5 else "")
        messages.success(request, f"{verb} {len(outcome.done)}: {names}{tail}")
    for proposal_id, error in outcome.errors.items():
        messages.error(request, f"Proposal {proposal_id}: {error}")
    return _back(request, connection.pk)


def _back(request: HttpRequest, connection_id: int) -> HttpResponse:
    url = reverse("sync_legacy:review", kwargs={"pk": connection_id})
    query = request.POST.get("return_query", "")
    return redirect(f"{url}?{query}" if query and "\n" not in query else url)
