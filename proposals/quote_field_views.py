"""Custom quote fields admin page (the 001 seed's Text, Number, Checkbox, Drop-down list):
admins add, rename, change the options of, and delete the fields every quote of the
organization shows. Rules: proposals/quote_custom_fields.py."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from cothon.forms import add_service_errors
from cothon.tenancy.pages import tenant_page
from proposals import quote_custom_fields, selectors
from proposals.quote_forms import CustomFieldForm


def _page(request: HttpRequest, form: CustomFieldForm, *, status: int = 200) -> HttpResponse:
    return render(request, "proposals/quotes/custom_fields.html",
                  {"fields": selectors.quote_custom_field_list(tenant=request.tenant), "form": form,
                   "max_fields": quote_custom_fields.CUSTOM_FIELDS_MAX}, status=status)


@tenant_page("admin")
@require_http_methods(["GET", "POST"])
def custom_field_list(request: HttpRequest) -> HttpResponse:
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                field = quote_custom_fields.quote_custom_field_create(
                    tenant=request.tenant, label=form.cleaned_data["label"], field_type=form.cleaned_data["field_type"],
                    key=form.cleaned_data["key"], options=form.option_list())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Custom quote field “{field.label}” added: every quote now shows it.")
                return redirect("quotes:custom_fields")
        return _page(request, form, status=400)
    return _page(request, form)


@tenant_page("admin")
@require_http_methods(["GET", "POST"])
def custom_field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    field = selectors.quote_custom_field_get(tenant=request.tenant, pk=pk)
    form = CustomFieldForm(request.POST or None, editing=True,
                           initial={"label": field.label, "options": "\n".join(field.options)})
    if request.method == "POST" and form.is_valid():
        try:
            quote_custom_fields.quote_custom_field_update(
                tenant=request.tenant, field=field, label=form.cleaned_data["label"],
                options=form.option_list() if field.field_type == "dropdown" else None)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Custom quote field “{field.label}” saved.")
            return redirect("quotes:custom_fields")
    field.refresh_from_db()
    return render(request, "proposals/quotes/custom_field_edit.html", {"field": field, "form": form},
                  status=400 if form.errors else 200)


@tenant_page("admin")
@require_http_methods(["GET", "POST"])
def custom_field_delete(request: HttpRequest, pk: int) -> HttpResponse:
    field = selectors.quote_custom_field_get(tenant=request.tenant, pk=pk)
    if request.method == "GET":
        return render(request, "proposals/quotes/custom_field_delete.html",
                      {"field": field, "in_use": quote_custom_fields.quotes_with_value_count(tenant=request.tenant, field=field)})
    cleared = quote_custom_fields.quote_custom_field_delete(tenant=request.tenant, field=field)
    messages.success(request, f"Custom quote field “{field.label}” deleted"
                              + (f"; its value was removed from {cleared} quote{'s' if cleared != 1 else ''}." if cleared else "."))
    return redirect("quotes:custom_fields")
