"""HTML forms for opportunities. They parse and check input types; the rules live in the
services (opportunities/services.py), whose field-keyed ValidationErrors are shown on the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.forms.models import fields_for_model

from cothon.models import Tenant
from opportunities import selectors, services
from opportunities.models import Opportunity, OpportunityStatus
from opportunities.numbers import MONEY_MAX, PERCENT_MAX

# Fields a person edits. Compliance score, analysis status and last analyzed come from the
# bid analyses; they are shown on the record, not typed in.
EDITABLE_FIELDS = (
    "title", "reference", "status", "department", "closing_date", "value_min", "value_max",
    "category", "procurement_method", "location", "unspsc_code", "pursuit_decision",
    "win_probability", "assignee", "description",
)

# A change of one field can make another one valid or invalid: re-check both together.
RELATED_FIELDS = {"value_min": ("value_max",), "value_max": ("value_min",)}

PLACEHOLDERS = {
    "title": "e.g. Cloud hosting services for SSC",
    "reference": "e.g. W6369-225123/A",
    "value_min": "100000",
    "value_max": "250000",
    "location": "e.g. Ontario",
    "unspsc_code": "e.g. 81112003",
    "win_probability": "0–100",
}


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: AbstractBaseUser) -> str:
        full = obj.get_full_name().strip()
        return f"{full} ({obj.get_username()})" if full else obj.get_username()


class OpportunityForm(forms.Form):
    """Create or edit an opportunity of one tenant through the services."""

    def __init__(self, *args: Any, tenant: Tenant, instance: Opportunity | None = None,
                 validate_url: str = "", **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                name: getattr(instance, f"{name}_id" if name in ("department", "assignee") else name)
                for name in EDITABLE_FIELDS
            }
            for name in ("value_min", "value_max"):
                value = kwargs["initial"][name]
                # 250000, not 250000.00, in the box.
                if value is not None and value == value.to_integral_value():
                    kwargs["initial"][name] = int(value)
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.instance = instance
        self.fields.update(fields_for_model(Opportunity, fields=EDITABLE_FIELDS))
        self.order_fields(EDITABLE_FIELDS)
        self.fields["department"] = forms.ModelChoiceField(
            queryset=selectors.department_list(tenant=tenant), required=False, empty_label="— No department —",
            help_text="The government buyer. Not listed? Add it under Departments.",
        )
        self.fields["assignee"] = UserChoiceField(
            queryset=selectors.assignable_users(tenant=tenant), required=False, empty_label="— Unassigned —",
        )
        self.fields["title"].error_messages["required"] = "Title is required."
        self.fields["reference"].error_messages["required"] = "Reference is required."
        self.fields["status"].error_messages["invalid_choice"] = "“%(value)s” is not a known status."
        self.fields["value_min"].label = "Minimum value (CAD)"
        self.fields["value_max"].label = "Maximum value (CAD)"
        self.fields["win_probability"].label = "Win probability (%)"
        self.fields["closing_date"].widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        self.fields["description"].widget.attrs["rows"] = 6
        for name in ("category", "procurement_method", "pursuit_decision"):
            field = self.fields[name]
            field.choices = [("", "— Not set —"), *[(v, label) for v, label in field.choices if v != ""]]
        for name, field in self.fields.items():
            attrs = field.widget.attrs
            attrs["aria-describedby"] = f"id_{name}-errors"
            if name in PLACEHOLDERS:
                attrs["placeholder"] = PLACEHOLDERS[name]
            if name in ("value_min", "value_max"):
                attrs["step"] = "0.01"
                attrs["min"] = "0"
                attrs["max"] = str(MONEY_MAX)
            if name == "win_probability":
                attrs["min"], attrs["max"] = "0", str(PERCENT_MAX)
            if validate_url:
                # Checked on the server as soon as the field is left (or a choice is made).
                attrs["hx-post"] = validate_url
                attrs["hx-target"] = f"#id_{name}-errors"
                attrs["hx-swap"] = "outerHTML"
                # One request at a time, in order: a late answer about value_min must not wipe a newer
                # answer about value_max (each also updates the other).
                attrs["hx-sync"] = "closest form:queue all"
                is_choice = isinstance(field.widget, (forms.Select, forms.DateInput))
                attrs["hx-trigger"] = "change, blur" if is_choice else "blur"

    # -- reading -----------------------------------------------------------------------------

    def service_data(self) -> dict[str, Any]:
        """The cleaned values, as the services take them."""
        return {name: value for name, value in self.cleaned_data.items() if name in EDITABLE_FIELDS}

    def add_service_errors(self, exc: ValidationError) -> None:
        """Show a service's ValidationError on the fields it names, the rest on the form."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        # A field that failed parsing already says what is wrong (e.g. "Enter a number.").
        parsed_badly = set(self.errors)
        for field, errors in exc.error_dict.items():
            if field in parsed_badly:
                continue
            target = field if field in self.fields else None
            for error in errors:
                self.add_error(target, error)

    def validate_fields(self, names: list[str]) -> dict[str, list[str]]:
        """Errors of the given fields (form parsing + service rules), for inline validation."""
        self.is_valid()
        errors: dict[str, list[str]] = {name: list(self.errors.get(name, [])) for name in names}
        data = self.service_data()
        try:
            services.opportunity_validate(tenant=self.tenant, data=data, opportunity=self.instance)
        except ValidationError as exc:
            for name in names:
                if errors[name]:
                    continue  # the form's own error (e.g. not a number) says more
                for message in exc.message_dict.get(name, []):
                    # A required field left empty is reported by the form already.
                    if message not in errors[name]:
                        errors[name].append(message)
        return errors

    # -- writing -----------------------------------------------------------------------------

    def save(self, *, user: AbstractBaseUser) -> Opportunity | None:
        """Create or update through the services; None (and errors on the form) when invalid.

        The service rules are checked even when a field failed parsing, so every problem shows
        at once."""
        parsed = self.is_valid()
        data = self.service_data()
        try:
            services.opportunity_validate(tenant=self.tenant, data=data, opportunity=self.instance)
            if not parsed:
                return None
            if self.instance is None:
                return services.opportunity_create(tenant=self.tenant, created_by=user, **data)
            return services.opportunity_update(tenant=self.tenant, opportunity=self.instance, data=data, changed_by=user)
        except ValidationError as exc:
            self.add_service_errors(exc)
            return None


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Add a comment",
        max_length=32000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Share an update with your team…"}),
        error_messages={"required": "Comment cannot be empty."},
    )


def _status_choices() -> list[tuple[str, str]]:
    return [("", "All statuses"), *OpportunityStatus.choices]


class OpportunityFilterForm(forms.Form):
    """The list's search and filters (GET). Invalid values are ignored, not fatal."""

    q = forms.CharField(required=False, label="Search", max_length=200,
                        widget=forms.SearchInput(attrs={"placeholder": "Search title, reference or department…"}))
    status = forms.ChoiceField(required=False, choices=_status_choices)
    department = forms.ModelChoiceField(queryset=None, required=False, empty_label="All departments")
    closing_after = forms.DateField(required=False, label="Closing from",
                                    widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    closing_before = forms.DateField(required=False, label="Closing to",
                                     widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    sort = forms.ChoiceField(required=False, widget=forms.HiddenInput,
                             choices=[(f"{sign}{key}", key) for key in selectors.OPPORTUNITY_SORTS for sign in ("", "-")])

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = selectors.department_list(tenant=tenant)

    @property
    def chosen_sort(self) -> str:
        """The valid sort asked for, or the default (most recently updated first)."""
        self.is_valid()
        return getattr(self, "cleaned_data", {}).get("sort") or selectors.DEFAULT_OPPORTUNITY_SORT

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for selectors.opportunity_list from the valid fields."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        department = data.get("department")
        return {
            "search": (data.get("q") or "").strip(),
            "status": data.get("status") or None,
            "department_id": department.pk if department else None,
            "closing_after": data.get("closing_after"),
            "closing_before": data.get("closing_before"),
        }

    @property
    def active_count(self) -> int:
        f = self.filters()
        return sum(1 for key in ("status", "department_id", "closing_after", "closing_before") if f[key])
