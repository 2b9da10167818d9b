"""HTML pages for opportunities. Reads go through selectors, writes through services (via the
forms); every lookup is scoped to request.tenant, so another tenant's id is a 404."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cothon.tenancy.pages import is_htmx, tenant_page
from opportunities import selectors, services
from opportunities.analysis_forms import attach_analysis_forms
from opportunities.forms import RELATED_FIELDS, CommentForm, OpportunityFilterForm, OpportunityForm
from proposals.selectors import proposal_list, quotes_of_opportunity
from sync_engine.record_panel import opportunity_salesforce_panel
from sync_engine.selectors import record_pulled_since

PAGE_SIZE = 25


# --- list ----------------------------------------------------------------------------------

@tenant_page("viewer")
def opportunity_list(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    filter_form = OpportunityFilterForm(request.GET or None, tenant=tenant)
    filters = filter_form.filters()
    sort = filter_form.chosen_sort
    queryset = selectors.opportunity_list(tenant=tenant, sort=sort, **filters)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter_form": filter_form,
        "page": page,
        "opportunities": page.object_list,
        "elided_pages": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "has_filters": any(filters.values()),
        "sort": sort,
        "default_sort": selectors.DEFAULT_OPPORTUNITY_SORT,
        "sort_columns": _sort_columns(sort),
    }
    template = "opportunities/_results.html" if is_htmx(request) else "opportunities/list.html"
    response = render(request, template, context)
    # The same URL answers a fragment or a page depending on HX-Request: never mix them in caches.
    patch_vary_headers(response, ["HX-Request"])
    return response


SORT_COLUMNS = (("title", "Opportunity", ""), ("status", "Status", ""), ("value", "Value (CAD)", "num"),
                ("closing", "Closing", ""))


def _sort_columns(sort: str) -> list[dict]:
    """Header cells of the sortable columns: the link each one makes and its aria-sort state.
    A first click sorts ascending (value: largest first), a second click flips it."""
    current, descending = sort.lstrip("-"), sort.startswith("-")
    columns = []
    for key, label, css in SORT_COLUMNS:
        active = key == current
        first = f"-{key}" if key == "value" else key
        target = (key if descending else f"-{key}") if active else first
        columns.append({"key": key, "label": label, "css": css, "target": target,
                        "aria_sort": ("descending" if descending else "ascending") if active else "none"})
    return columns


# --- detail and comments -------------------------------------------------------------------

def _comments_context(request: HttpRequest, opportunity, form: CommentForm | None = None) -> dict:
    return {
        "opportunity": opportunity,
        "comments": selectors.comment_list(tenant=request.tenant, opportunity=opportunity),
        "comment_form": form or CommentForm(),
    }


def detail_context(request: HttpRequest, opportunity, comment_form: CommentForm | None = None) -> dict:
    tenant = request.tenant
    return {
        **_comments_context(request, opportunity, comment_form),
        "analyses": [attach_analysis_forms(analysis)
                     for analysis in selectors.opportunity_analyses(tenant=tenant, opportunity=opportunity)],
        "proposals": proposal_list(tenant=tenant).filter(opportunity=opportunity),
        "quotes": quotes_of_opportunity(tenant=tenant, opportunity_id=opportunity.pk),
        "contact_roles": selectors.opportunity_contacts(tenant=tenant, opportunity=opportunity),
        "salesforce": opportunity_salesforce_panel(request, opportunity),
        "version": selectors.version_of(opportunity.updated_at),
    }


@tenant_page("viewer")
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = selectors.opportunity_get(tenant=request.tenant, pk=pk)
    return render(request, "opportunities/detail.html", detail_context(request, opportunity))


@tenant_page("viewer")
@require_GET
def opportunity_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The detail page's poll. Unchanged (the usual answer): 204 after one query, so htmx swaps
    nothing. Changed: the page's notice area with the new version, and its field areas out of
    band. The current version is always in the X-Record-Version header."""
    tenant = request.tenant
    seen = request.GET.get("version", "")
    if seen and not seen.isdigit():
        return HttpResponseBadRequest("version must be the number the page was given.")
    version = selectors.opportunity_version(tenant=tenant, pk=pk)
    if seen == version:
        response = HttpResponse(status=204)
    else:
        opportunity = selectors.opportunity_get(tenant=tenant, pk=pk)
        # The row is read again in full; it may have moved on since the version was read.
        version = selectors.version_of(opportunity.updated_at)
        since = _version_time(seen) if seen else opportunity.updated_at
        response = render(request, "opportunities/_live_update.html", {
            "opportunity": opportunity, "version": version, "changed": bool(seen),
            "from_salesforce": record_pulled_since(tenant=tenant, record_type="opportunity", record_id=opportunity.pk,
                                                   since=since),
        })
    response["X-Record-Version"] = version
    response["Cache-Control"] = "no-store"
    return response


def _version_time(version: str) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(int(version) / 1_000_000, tz=datetime.timezone.utc)


@tenant_page("member")
@require_POST
def comment_create(request: HttpRequest, pk: int) -> HttpResponse:
    tenant = request.tenant
    opportunity = selectors.opportunity_get(tenant=tenant, pk=pk)
    form: CommentForm | None = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.comment_create(tenant=tenant, opportunity=opportunity, author=request.user,
                                    body=form.cleaned_data["body"])
        except ValidationError as exc:
            form.add_error("body", exc.messages)
        else:
            form = None
    if is_htmx(request):
        return render(request, "opportunities/_comments.html", _comments_context(request, opportunity, form))
    if form is None:
        messages.success(request, "Comment added.")
        return redirect(reverse("opportunities:detail", args=[opportunity.pk]) + "#comments")
    # Without JavaScript: the page again, with the error under the comment box.
    return render(request, "opportunities/detail.html", detail_context(request, opportunity, form))


# --- create, edit, inline validation -------------------------------------------------------

@tenant_page("member")
@require_http_methods(["GET", "POST"])
def opportunity_create(request: HttpRequest) -> HttpResponse:
    validate_url = reverse("opportunities:validate")
    form = OpportunityForm(request.POST or None, tenant=request.tenant, validate_url=validate_url)
    if request.method == "POST":
        opportunity = form.save(user=request.user)
        if opportunity is not None:
            messages.success(request, f"Opportunity “{opportunity.title}” created.")
            return redirect("opportunities:detail", pk=opportunity.pk)
    return render(request, "opportunities/form.html", {"form": form, "opportunity": None})


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = selectors.opportunity_get(tenant=request.tenant, pk=pk)
    validate_url = reverse("opportunities:validate_existing", args=[opportunity.pk])
    form = OpportunityForm(request.POST or None, tenant=request.tenant, instance=opportunity, validate_url=validate_url)
    if request.method == "POST":
        # The form works on its own copy so a failed save leaves the page's record untouched.
        saved = form.save(user=request.user)
        if saved is not None:
            messages.success(request, "Changes saved.")
            return redirect("opportunities:detail", pk=saved.pk)
        opportunity = selectors.opportunity_get(tenant=request.tenant, pk=pk)
    return render(request, "opportunities/form.html", {"form": form, "opportunity": opportunity})


def _validate(request: HttpRequest, opportunity=None) -> HttpResponse:
    form = OpportunityForm(request.POST, tenant=request.tenant, instance=opportunity)
    name = getattr(request.htmx, "trigger_name", None) or request.POST.get("_field", "")
    if name not in form.fields:
        return HttpResponseBadRequest("Unknown field.")
    names = [name, *RELATED_FIELDS.get(name, ())]
    errors = form.validate_fields(names)
    return render(request, "opportunities/_field_errors.html",
                  {"main": {"name": name, "errors": errors[name]},
                   "others": [{"name": n, "errors": errors[n]} for n in names[1:]]})


@tenant_page("member")
@require_POST
def opportunity_validate(request: HttpRequest) -> HttpResponse:
    return _validate(request)


@tenant_page("member")
@require_POST
def opportunity_validate_existing(request: HttpRequest, pk: int) -> HttpResponse:
    return _validate(request, selectors.opportunity_get(tenant=request.tenant, pk=pk))


# --- delete --------------------------------------------------------------------------------

@tenant_page("member")
@require_http_methods(["GET", "POST"])
def opportunity_delete(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = selectors.opportunity_get(tenant=request.tenant, pk=pk)
    if request.method == "POST":
        title = opportunity.title
        services.opportunity_delete(tenant=request.tenant, opportunity=opportunity)
        messages.success(request, f"Opportunity “{title}” deleted.")
        return redirect("opportunities:list")
    return render(request, "opportunities/confirm_delete.html", {"opportunity": opportunity})
