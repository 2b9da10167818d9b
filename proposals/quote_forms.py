"""HTML forms of the quote pages: a quote's own fields (with the tenant's custom quote fields),
one line item, and a custom quote field definition. Rules live in the services; their
field-keyed errors are shown under the fields (cothon.forms.add_service_errors)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from cothon.forms import add_service_errors, describe_errors
from cothon.models import Tenant
from opportunities import selectors as opportunity_selectors
from proposals import selectors
from proposals.models import CustomFieldType, LineKind, QuoteCustomField, QuoteStatus
from proposals.quote_custom_fields import quote_custom_values_clean

CUSTOM_PREFIX = "cf_"


def _custom_form_field(field: QuoteCustomField) -> forms.Field:
    common = {"label": field.label, "required": False}
    if field.field_type == CustomFieldType.NUMBER:
        return forms.CharField(**common, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    if field.field_type == CustomFieldType.CHECKBOX:
        return forms.BooleanField(**common)
    if field.field_type == CustomFieldType.DROPDOWN:
        return forms.ChoiceField(**common, choices=[("", "—")] + [(o, o) for o in field.options])
    return forms.CharField(**common, max_length=1000)


class QuoteForm(forms.Form):
    title = forms.CharField(max_length=255, error_messages={"required": "Give the quote a title."})
    status = forms.ChoiceField(choices=QuoteStatus.choices)
    currency = forms.RegexField(r"^[A-Za-z]{3}$", max_length=3, initial="CAD",
                                error_messages={"invalid": "Use a three-letter currency code, e.g. CAD."},
                                help_text="ISO code, e.g. CAD, USD, EUR.")
    valid_until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Valid until")
    company = forms.ModelChoiceField(queryset=None, required=False, label="Company",
                                     help_text="A department (Salesforce's Account): the buyer the quote is for.")
    person = forms.ModelChoiceField(queryset=None, required=False, label="Person",
                                    help_text="A contact (Salesforce's Contact) the quote is addressed to.")
    opportunity = forms.ModelChoiceField(queryset=None, required=False, label="Opportunity")
    owner = forms.ModelChoiceField(queryset=None, required=False, label="Owner")
    terms = forms.CharField(required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 4}),
                            help_text="Payment and delivery terms printed on the quote.")
    notes = forms.CharField(required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 3}),
                            help_text="Internal notes.")

    def __init__(self, *args: Any, tenant: Tenant, with_status: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["company"].queryset = opportunity_selectors.department_list(tenant=tenant).order_by("name")
        self.fields["person"].queryset = selectors.contact_list(tenant=tenant)
        self.fields["person"].label_from_instance = (
            lambda c: f"{c} — {c.department.name}" if c.department_id else str(c))
        self.fields["opportunity"].queryset = opportunity_selectors.opportunity_list(tenant=tenant).order_by("title")
        self.fields["opportunity"].label_from_instance = lambda o: f"{o.reference} — {o.title}" if o.reference else o.title
        self.fields["owner"].queryset = opportunity_selectors.assignable_users(tenant=tenant)
        if not with_status:
            del self.fields["status"]
        self.custom_fields = list(selectors.quote_custom_field_list(tenant=tenant))
        for field in self.custom_fields:
            self.fields[CUSTOM_PREFIX + field.key] = _custom_form_field(field)
        self.fields["title"].widget.attrs["placeholder"] = "e.g. Cloud hosting, year 1"
        describe_errors(self)

    def custom_bound_fields(self) -> list:
        return [self[CUSTOM_PREFIX + field.key] for field in self.custom_fields]

    def standard_bound_fields(self) -> list:
        return [self[name] for name in self.fields if not name.startswith(CUSTOM_PREFIX)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        values = {}
        for field in self.custom_fields:
            value = data.get(CUSTOM_PREFIX + field.key)
            # An unticked checkbox is "no" — stored as false, not as "no value".
            values[field.key] = value if field.field_type == CustomFieldType.CHECKBOX else (value or None)
        try:
            data["custom_values"] = quote_custom_values_clean(tenant=self.tenant, values=values)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                self.add_error(CUSTOM_PREFIX + key if CUSTOM_PREFIX + key in self.fields else None, messages)
        return data

    def service_data(self) -> dict[str, Any]:
        return {name: value for name, value in self.cleaned_data.items() if not name.startswith(CUSTOM_PREFIX)}

    def add_service_errors(self, exc: ValidationError) -> None:
        add_service_errors(self, exc)

    @staticmethod
    def initial_of(quote) -> dict[str, Any]:
        initial = {name: getattr(quote, name) for name in ("title", "status", "currency", "valid_until", "company",
                                                           "person", "opportunity", "owner", "terms", "notes")}
        for key, value in (quote.custom_values or {}).items():
            initial[CUSTOM_PREFIX + key] = value
        return initial


class LineForm(forms.Form):
    """One line item. Numbers are parsed here; their bounds and the totals are the services'."""

    kind = forms.ChoiceField(choices=LineKind.choices, initial=LineKind.SERVICE)
    description = forms.CharField(max_length=500, error_messages={"required": "Describe the line."})
    unit = forms.CharField(max_length=20, required=False)
    quantity = forms.DecimalField(initial=1, error_messages={"required": "Enter a quantity."})
    unit_price = forms.DecimalField(label="Unit price", initial=0, error_messages={"required": "Enter a unit price."})
    discount_percent = forms.DecimalField(label="Discount %", required=False, initial=0)
    tax_percent = forms.DecimalField(label="Tax %", required=False, initial=0)

    NUMBER_FIELDS = ("quantity", "unit_price", "discount_percent", "tax_percent")

    def number_fields(self) -> list:
        return [self[name] for name in self.NUMBER_FIELDS]

    def line_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for name in ("discount_percent", "tax_percent"):
            if data.get(name) is None:
                data[name] = 0
        return data


class CustomFieldForm(forms.Form):
    label = forms.CharField(max_length=80, error_messages={"required": "Give the field a label."})
    field_type = forms.ChoiceField(choices=CustomFieldType.choices, label="Type")
    key = forms.CharField(max_length=60, required=False,
                          help_text="Where the value is stored and how field mappings name it. Blank: made from the label.")
    options = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}),
                              help_text="Drop-down list only: one option per line, in order.")

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            # The key and type stay once created (stored values and Salesforce mappings use them).
            del self.fields["key"]
            del self.fields["field_type"]
        self.fields["label"].widget.attrs["placeholder"] = "e.g. Purchase order number"
        describe_errors(self)

    def option_list(self) -> list[str]:
        return [line.strip() for line in (self.cleaned_data.get("options") or "").splitlines() if line.strip()]
