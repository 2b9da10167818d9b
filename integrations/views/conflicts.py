"""Settings › Integrations › Salesforce › Conflicts: the review queue of one connection's held
conflicts (filters, pages, CSV export) and the resolve action (one or many: keep Cothon, keep
Salesforce, enter a value). Reads through sync_engine.conflicts.selectors, the one write through
conflict_resolve; another organization's connection or conflict id is a 404."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from cothon.tenancy.pages import tenant_page, tenant_zone
from integrations.models import SalesforceConnection
from integrations.views.common import _connection
from integrations.views.tools import _field_labels
from sync_engine.conflicts import selectors
from sync_engine.conflicts.csv_export import conflict_csv_response, value_text
from sync_engine.conflicts.services import conflict_resolve
from sync_engine.models import ConflictResolution, ConflictStatus, SyncConflict
from sync_engine.vocabulary import RecordType

PAGE_SIZE = 25
MAX_IDS = 500


class ConflictFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("open", "Open"), ("resolved", "Resolved"), ("all", "All")], required=False)
    field = forms.CharField(max_length=80, required=False, label="Field (API name)")
    q = forms.CharField(max_length=255, required=False, label="Record")

    def clean_field(self) -> str:
        value = self.cleaned_data["field"].strip()
        if value and not value.replace("_", "").isalnum():
            raise ValidationError("A Salesforce API name: letters, digits and underscores.")
        return value

    def clean_q(self) -> str:
        value = self.cleaned_data["q"].strip()
        if "\x00" in value:
            raise ValidationError("Null characters are not allowed.")
        return value


def _queue(request: HttpRequest, connection: SalesforceConnection, form: ConflictFilterForm):
    data = form.cleaned_data if form.is_valid() else {}
    status = data.get("status") or ConflictStatus.OPEN
    return selectors.conflicts_list(tenant=request.tenant, status=None if status == "all" else status,
                                    connection_id=connection.pk, sf_field=data.get("field", ""), search=data.get("q", ""))


def _shown(conflicts: list[SyncConflict], connection: SalesforceConnection) -> list[dict[str, Any]]:
    """Each conflict with what the page prints: values as text, the field's label, the authors."""
    labels = _field_labels(connection, {"Opportunity"}).get("Opportunity", {}) if conflicts else {}
    authors = selectors.salesforce_authors(connection_ids={connection.pk}) if conflicts else {}
    rows = []
    for c in conflicts:
        # An Account's name held for its department (the Account object's describe is not cached here).
        label = "Account name" if c.record_type == RecordType.DEPARTMENT else labels.get(c.sf_field.lower(), "")
        rows.append({"c": c, "label": label if label != c.sf_field else "", "base": value_text(c.base_value),
                     "cothon": value_text(c.cothon_value), "salesforce": value_text(c.salesforce_value),
                     "resolved": value_text(c.resolved_value), "rule": c.rule.replace("_", " "),
                     "sf_author": authors.get((c.connection_id, c.salesforce_changed_by))})
    return rows


@tenant_page("admin")
@require_GET
def conflicts_page(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    form = ConflictFilterForm(request.GET or None)
    page = Paginator(_queue(request, connection, form), PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(request, connection, form, page)


def _render(request: HttpRequest, connection, form, page, *, errors=None, status: int = 200) -> HttpResponse:
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "integrations/conflicts.html", {
        "connection": connection, "form": form, "page": page, "rows": _shown(list(page.object_list), connection),
        "elided_pages": page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1),
        "export_url": reverse("integrations:conflicts_csv", args=[connection.pk]) + (f"?{query.urlencode()}" if query else ""),
        "errors": errors or {}, "choices": ConflictResolution,
        "filters_active": form.is_bound and any(request.GET.get(k) for k in ("status", "field", "q")),
    }, status=status)


@tenant_page("admin")
@require_GET
def conflicts_csv(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    form = ConflictFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        # Exporting "everything" because a filter was mistyped would hand over the wrong data.
        messages.error(request, "Fix the filters before exporting.")
        return redirect(reverse("integrations:conflicts", args=[connection.pk]) + "?" + request.GET.urlencode())
    zone = tenant_zone(request)
    return conflict_csv_response(
        rows=_queue(request, connection, form), authors=selectors.salesforce_authors(connection_ids={connection.pk}),
        zone=zone, filename=f"conflicts-{request.tenant.slug}-{timezone.localdate(timezone=zone).isoformat()}.csv")


def _ids(values: list[str]) -> list[int]:
    if not values:
        raise ValidationError({"conflict_ids": ["Select at least one conflict."]})
    if len(values) > MAX_IDS or not all(v.isdigit() and len(v) <= 18 for v in values):
        raise ValidationError({"conflict_ids": ["Unknown conflict."]})
    return [int(v) for v in values]


@tenant_page("admin")
@require_POST
def conflicts_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolve the posted conflict_ids of this connection with `choice` (and `value`). An unknown
    or foreign id is a 404; a bad choice or value re-renders the queue with the error (400) and
    resolves nothing. `next` (a path of this site) returns to the record page."""
    connection = _connection(request, pk)
    value = request.POST.get("value", "").strip()
    choice = request.POST.get("choice", "")
    try:
        ids = _ids(request.POST.getlist("conflict_ids"))
        if not selectors.conflicts_list(tenant=request.tenant, status=None, connection_id=connection.pk) \
                .filter(pk__in=ids).count() == len(set(ids)):
            raise Http404("No such conflict")
        if "\x00" in value:
            raise ValidationError({"value": ["Null characters are not allowed."]})
        rows = conflict_resolve(tenant=request.tenant, conflict_ids=ids, choice=choice,
                                value=value if choice == ConflictResolution.VALUE else None, actor=request.user)
    except SyncConflict.DoesNotExist:
        raise Http404("No such conflict") from None
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        form = ConflictFilterForm(request.GET or None)
        page = Paginator(_queue(request, connection, form), PAGE_SIZE).get_page(request.GET.get("page"))
        return _render(request, connection, form, page, status=400,
                       errors={"ids": set(request.POST.getlist("conflict_ids")), "choice": choice, "value": value,
                               "messages": [m for ms in errors.values() for m in ms]})
    how = {ConflictResolution.KEEP_COTHON: "Cothon's value kept", ConflictResolution.KEEP_SALESFORCE: "Salesforce's value kept",
           ConflictResolution.VALUE: "the entered value kept"}[choice]
    messages.success(request, f"Resolved {len(rows)} conflict{'s' if len(rows) != 1 else ''}: {how}; "
                              "it is on its way to Salesforce.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = reverse("integrations:conflicts", args=[connection.pk])
    return redirect(target)
