"""HTML pages and actions for proposals: create and edit (title, status, sections), generate
the PDF, download it. Every lookup is scoped to request.tenant (another tenant's id is a 404).

Generating is the seed's "proposal generated" trigger: the service queues the "Proposal
Generated" task and the document upload for Salesforce in the same transaction.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cothon.forms import add_service_errors
from cothon.tenancy.pages import tenant_page
from opportunities import selectors as opportunity_selectors
from proposals import selectors, services
from proposals.downloads import proposal_document_response
from proposals.forms import ProposalForm, SectionFormSet, section_initial
from proposals.models import Proposal
from proposals.pdf import PdfRenderingUnavailable


def _proposal_anchor(proposal: Proposal) -> str:
    return reverse("opportunities:detail", args=[proposal.opportunity_id]) + f"#proposal-{proposal.pk}"


def _page(request: HttpRequest, form: ProposalForm, formset, *, opportunity, proposal: Proposal | None) -> HttpResponse:
    invalid = request.method == "POST"
    return render(request, "proposals/form.html",
                  {"form": form, "formset": formset, "opportunity": opportunity, "proposal": proposal},
                  status=400 if invalid else 200)


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def proposal_create(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = opportunity_selectors.opportunity_get(tenant=request.tenant, pk=pk)
    form = ProposalForm(request.POST or None, initial={"title": f"Proposal — {opportunity.title}"[:255]})
    formset = SectionFormSet(request.POST or None, prefix="sections",
                             initial=[{"title": title, "body": ""} for title in services.DEFAULT_SECTIONS])
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            proposal = services.proposal_create(tenant=request.tenant, opportunity=opportunity,
                                                title=form.cleaned_data["title"], created_by=request.user,
                                                sections=formset.sections())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Proposal “{proposal.title}” created. Generate its PDF when it is ready.")
            return redirect(_proposal_anchor(proposal))
    return _page(request, form, formset, opportunity=opportunity, proposal=None)


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def proposal_edit(request: HttpRequest, proposal_pk: int) -> HttpResponse:
    proposal = selectors.proposal_get(tenant=request.tenant, pk=proposal_pk)
    form = ProposalForm(request.POST or None, with_status=True,
                        initial={"title": proposal.title, "status": proposal.status})
    formset = SectionFormSet(request.POST or None, prefix="sections", initial=section_initial(proposal))
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            services.proposal_update(tenant=request.tenant, proposal=proposal, data=form.cleaned_data,
                                     sections=formset.sections())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Proposal saved." + (" Regenerate the PDF to include the changes."
                                                           if proposal.document else ""))
            return redirect(_proposal_anchor(proposal))
    return _page(request, form, formset, opportunity=proposal.opportunity, proposal=proposal)


@tenant_page("member")
@require_POST
def proposal_generate(request: HttpRequest, proposal_pk: int) -> HttpResponse:
    proposal = selectors.proposal_get(tenant=request.tenant, pk=proposal_pk)
    try:
        with transaction.atomic():
            services.proposal_generate(tenant=request.tenant, proposal=proposal)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages) + " Nothing was generated.")
    except PdfRenderingUnavailable as exc:
        messages.error(request, f"The PDF could not be made on this server: {exc}")
    else:
        messages.success(request, f"PDF of “{proposal.title}” generated. It is on its way to Salesforce, "
                                  "attached to the opportunity with a “Proposal Generated” task.")
    return redirect(_proposal_anchor(proposal))


@tenant_page("viewer")
@require_GET
def proposal_document(request: HttpRequest, proposal_pk: int) -> HttpResponse:
    return proposal_document_response(selectors.proposal_get(tenant=request.tenant, pk=proposal_pk))
