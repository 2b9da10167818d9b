"""Shared by the HTML forms: error lists screen readers announce, and a service's
ValidationError shown on the form that sent it."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Errors named after one of the form's fields go under that field; the rest on the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def describe_errors(form: forms.BaseForm) -> None:
    """Point each input at the error list the templates render under it (`<id>-errors`), so
    screen readers announce the errors with the field."""
    for bound in form:
        bound.field.widget.attrs.setdefault("aria-describedby", f"{bound.auto_id}-errors")
