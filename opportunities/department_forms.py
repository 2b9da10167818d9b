"""The department form. Rules (unique name per organization, lengths, URL) live in the
services; their field-keyed errors are shown under the fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.forms.models import fields_for_model

from cothon.forms import add_service_errors, describe_errors
from cothon.models import Tenant
from opportunities import services
from opportunities.models import Department

DEPARTMENT_FIELDS = ("name", "acronym", "website")


class DepartmentForm(forms.Form):
    def __init__(self, *args: Any, tenant: Tenant, instance: Department | None = None, **kwargs: Any) -> None:
        if instance is not None:
            kwargs.setdefault("initial", {name: getattr(instance, name) for name in DEPARTMENT_FIELDS})
        super().__init__(*args, **kwargs)
        self.tenant, self.instance = tenant, instance
        self.fields.update(fields_for_model(Department, fields=("name", "acronym")))
        # "www.canada.ca" is read as https:// (Django's default scheme is still http until 6.0).
        self.fields["website"] = forms.URLField(required=False, max_length=200, assume_scheme="https", label="Website")
        self.fields["name"].error_messages["required"] = "Name is required."
        self.fields["name"].widget.attrs["placeholder"] = "e.g. Shared Services Canada"
        self.fields["name"].help_text = "The buyer’s name; it becomes the Salesforce Account name."
        self.fields["acronym"].widget.attrs["placeholder"] = "e.g. SSC"
        self.fields["website"].widget.attrs["placeholder"] = "https://www.canada.ca/…"
        describe_errors(self)

    def save(self, *, user: AbstractBaseUser | None = None) -> Department | None:
        """Create or update through the services; None (with errors on the form) when invalid."""
        if not self.is_valid():
            return None
        data = {name: (value or "").strip() for name, value in self.cleaned_data.items()}
        try:
            services.department_validate_name(tenant=self.tenant, name=data["name"], department=self.instance)
            if self.instance is None:
                return services.department_create(tenant=self.tenant, created_by=user, **data)
            return services.department_update(tenant=self.tenant, department=self.instance, data=data, changed_by=user)
        except ValidationError as exc:
            add_service_errors(self, exc)
            return None
