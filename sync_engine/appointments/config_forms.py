"""Forms of Workflow › CRM and Appointments. Validation of the query and mappings lives in
config_services (it needs the org); these only read what was posted."""

from __future__ import annotations

from django import forms
from django.http import QueryDict

from integrations.models import CredentialMode

MAX_MAPPING_ROWS = 100
MAPPING_KEYS = ("title", "sf_field", "sf_type", "target")

SIGN_ON_HELP = {
    CredentialMode.INTEGRATION_USER: "For reps without a Salesforce licence: one integration user reads every appointment, and "
                                     "each member's unique identifier (their Staff record id) picks their own through "
                                     ":user_identifier in the query.",
    CredentialMode.PER_USER: "Each member's own Salesforce username, password and security token: their appointments are "
                             "read in their own session, with their own sharing rules. Needs a Salesforce licence per rep.",
}


class AppointmentSettingsForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Pull appointments from Salesforce")
    soql = forms.CharField(required=False, max_length=20000, label="Appointment query (SOQL)",
                           widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "autocapitalize": "off",
                                                        "autocomplete": "off", "class": "code-input"}))

    def clean_soql(self) -> str:
        # Browsers post CRLF; positions in problems count characters of the query as stored.
        return self.cleaned_data["soql"].replace("\r\n", "\n")


class SignOnForm(forms.Form):
    credential_mode = forms.ChoiceField(choices=[(CredentialMode.INTEGRATION_USER, "Single sign-on"),
                                                 (CredentialMode.PER_USER, "Multi-user sign-on")],
                                        widget=forms.RadioSelect, label="Sign-on")


def posted_mappings(data: QueryDict) -> list[dict]:
    """The mapping rows as posted (m-<n>-title …), in order; rows left blank or marked Remove
    are dropped. At most MAX_MAPPING_ROWS rows are read."""
    indexes = sorted({int(key.split("-")[1]) for key in data if key.startswith("m-") and key.split("-")[1].isdigit()})
    rows: list[dict] = []
    for index in indexes[:MAX_MAPPING_ROWS]:
        row = {key: data.get(f"m-{index}-{key}", "").strip() for key in MAPPING_KEYS}
        row["show_in_notes"] = data.get(f"m-{index}-show_in_notes") == "on"
        if data.get(f"m-{index}-remove") == "on":
            continue
        if not row["title"] and not row["sf_field"]:
            continue  # the blank row for adding one
        rows.append(row)
    return rows
