"""The Dashboard's filters (query string of the page, its CSV downloads and /api/v1/dashboard/)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms

from cothon.models import Tenant
from opportunities import selectors
from opportunities.dashboard import DashboardFilters
from opportunities.filters import IdField
from opportunities.models import Category

FILTER_NAMES = ("department", "closing_from", "closing_to", "category")


class DashboardFilterForm(forms.Form):
    department = IdField(required=False, label="Department")
    closing_from = forms.DateField(required=False, label="Closing from", widget=forms.DateInput(attrs={"type": "date"}),
                                   error_messages={"invalid": "Enter a date as YYYY-MM-DD."})
    closing_to = forms.DateField(required=False, label="Closing to", widget=forms.DateInput(attrs={"type": "date"}),
                                 error_messages={"invalid": "Enter a date as YYYY-MM-DD."})
    category = forms.ChoiceField(required=False, label="Category", choices=[("", "All categories"), *Category.choices],
                                 error_messages={"invalid_choice": "Choose one of the categories: " +
                                                 ", ".join(Category.values) + "."})

    def __init__(self, data: Any = None, *, tenant: Tenant, **kwargs: Any) -> None:
        # Only the filters' own keys: other query parameters (a page number, a tracking tag) are
        # no error, and an empty value means "not filtered".
        if data is not None:
            data = {name: data.get(name, "") for name in FILTER_NAMES}
        super().__init__(data, **kwargs)
        self.tenant = tenant
        self.departments = list(selectors.department_list(tenant=tenant).order_by("name", "id").values_list("id", "name"))

    def clean_department(self) -> int | None:
        pk = self.cleaned_data.get("department")
        if pk is None:
            return None
        # Another organization's department is the same error as an unused id: nothing is told.
        if not selectors.department_list(tenant=self.tenant).filter(pk=pk).exists():
            raise forms.ValidationError("No such department in your organization.")
        return pk

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("closing_from"), cleaned.get("closing_to")
        if start and end and start > end:
            self.add_error("closing_to", "Must be on or after “Closing from”.")
        return cleaned

    def filters(self) -> DashboardFilters:
        """The validated filters (call after is_valid())."""
        data = self.cleaned_data
        return DashboardFilters(department_id=data.get("department"), closing_from=data.get("closing_from"),
                                closing_to=data.get("closing_to"), category=data.get("category") or "")

    def query_string(self) -> str:
        """The filters as a query string (for the CSV links), empty values left out."""
        return urlencode({name: self.data[name] for name in FILTER_NAMES if self.data.get(name)}) if self.is_bound else ""

    def error_list(self) -> list[str]:
        """Every error as one sentence naming its field."""
        return [f"{self.fields[name].label if name in self.fields else 'Filters'}: {message}"
                for name, messages in self.errors.items() for message in messages]
