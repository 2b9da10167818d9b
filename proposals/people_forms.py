"""The person form (a contact: Salesforce's Contact) of the People pages and the quote editor's
"New person". Rules (lengths, e-mail, the company being the organization's) live in the
services; their field-keyed errors are shown under the fields."""

from __future__ import annotations

from typing import Any

from django import forms

from cothon.forms import describe_errors
from cothon.models import Tenant
from opportunities import selectors as opportunity_selectors
from opportunities.models import Contact

PERSON_FIELDS = ("first_name", "last_name", "email", "phone", "job_title")


class PersonForm(forms.Form):
    first_name = forms.CharField(max_length=80, required=False, label="First name")
    last_name = forms.CharField(max_length=80, label="Last name", error_messages={"required": "Last name is required."})
    email = forms.EmailField(required=False, label="E-mail", error_messages={"invalid": "Enter a valid e-mail address."})
    phone = forms.CharField(max_length=40, required=False, label="Phone")
    job_title = forms.CharField(max_length=128, required=False, label="Job title")
    department = forms.ModelChoiceField(queryset=None, required=False, label="Company",
                                        help_text="The department (Salesforce’s Account) this person works for.",
                                        error_messages={"invalid_choice": "Choose a company from the list."})

    def __init__(self, *args: Any, tenant: Tenant | None, with_company: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if with_company:
            self.fields["department"].queryset = opportunity_selectors.department_list(tenant=tenant).order_by("name")
        else:
            del self.fields["department"]  # the quote editor: the quote's company
        self.fields["first_name"].widget.attrs.update(placeholder="e.g. Pat", autocomplete="off")
        self.fields["last_name"].widget.attrs.update(placeholder="e.g. Lee", autocomplete="off")
        self.fields["email"].widget.attrs.update(placeholder="pat.lee@example.gc.ca", autocomplete="off")
        self.fields["job_title"].widget.attrs["placeholder"] = "e.g. Procurement officer"
        describe_errors(self)

    @classmethod
    def for_quote(cls, data=None) -> PersonForm:
        """The quote editor's "New person": no company field (the quote's is used), prefixed so
        its inputs sit inside the quote's own form."""
        return cls(data, tenant=None, with_company=False, prefix="person")

    @staticmethod
    def initial_of(contact: Contact) -> dict[str, Any]:
        return {name: getattr(contact, name) for name in (*PERSON_FIELDS, "department")}
