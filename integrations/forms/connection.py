"""Forms to connect an org and to edit a connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms

from integrations.models import AuthMethod, CredentialMode, Environment


AUTH_METHOD_HELP = {
    AuthMethod.OAUTH_WEB: "Recommended. You sign in on Salesforce's own page and approve Cothon; Cothon never sees the "
                          "password and receives tokens it stores encrypted and refreshes.",
    AuthMethod.CLIENT_CREDENTIALS: "Server to server: the connected app runs as one integration user chosen in Salesforce "
                                   "(its “Run As” user). No browser sign-in; needs the app's client id and secret.",
    AuthMethod.PASSWORD: "Legacy, for orgs that still allow it (SalesPro style). Salesforce blocks the OAuth password grant "
                         "in new orgs and retires SOAP login() from API v65.0, so prefer one of the flows above.",
}


class ConnectForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, label="Connection name",
                           widget=forms.TextInput(attrs={"placeholder": "e.g. Production or UAT sandbox"}))
    environment = forms.ChoiceField(
        choices=[(Environment.PRODUCTION, "Production (login.salesforce.com)"),
                 (Environment.SANDBOX, "Sandbox (test.salesforce.com)"),
                 (Environment.CUSTOM, "Custom My Domain URL")],
        initial=Environment.PRODUCTION, widget=forms.RadioSelect, label="Environment")
    login_url = forms.CharField(max_length=255, required=False, label="My Domain login URL",
                                widget=forms.TextInput(attrs={"placeholder": "https://yourcompany.my.salesforce.com",
                                                              "inputmode": "url"}),
                                help_text="Your org's My Domain, e.g. https://acme.my.salesforce.com or https://acme--uat.sandbox.my.salesforce.com.")
    auth_method = forms.ChoiceField(
        choices=[(AuthMethod.OAUTH_WEB, "OAuth web server flow (recommended)"),
                 (AuthMethod.CLIENT_CREDENTIALS, "OAuth client credentials (integration user)"),
                 (AuthMethod.PASSWORD, "Username + password + security token (legacy)")],
        initial=AuthMethod.OAUTH_WEB, widget=forms.RadioSelect, label="How Cothon signs in")
    client_id = forms.CharField(max_length=255, required=False, label="Connected app consumer key (client id)",
                                help_text="Leave empty to use Cothon's own connected app.")
    client_secret = forms.CharField(max_length=255, required=False, label="Consumer secret",
                                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                                    help_text="Stored encrypted; never shown again.")
    ca_bundle_path = forms.CharField(max_length=500, required=False, label="CA bundle (local emulator only)",
                                     help_text="Path of a PEM file to trust for this connection only (the local emulator's: `python -m salesforce_emulator credentials` prints it). Shown only on development and demo servers.")
    username = forms.CharField(max_length=255, required=False, label="Salesforce username",
                               widget=forms.TextInput(attrs={"autocomplete": "off"}))
    password = forms.CharField(max_length=255, required=False, label="Password",
                               widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))
    security_token = forms.CharField(max_length=255, required=False, label="Security token",
                                     widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                                     help_text="Salesforce e-mails it: Setup › Reset My Security Token. Leave empty if your IP is trusted.")

    def __init__(self, *args: Any, allow_ca_bundle: bool = False, product_app: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allow_ca_bundle = allow_ca_bundle
        self.product_app = product_app
        if not product_app:
            self.fields["client_id"].help_text = "From Setup › App Manager › your connected app › Manage Consumer Details."
            self.fields["client_id"].label = "Consumer key (client id)"
        
        if not allow_ca_bundle:
            del self.fields["ca_bundle_path"]
        for name, f in self.fields.items():
            if name not in ("environment", "auth_method"):
                f.widget.attrs.setdefault("aria-describedby", f"id_{name}-errors")
        self.method_help = AUTH_METHOD_HELP

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("environment") == Environment.CUSTOM and not data.get("login_url", "").strip():
            self.add_error("login_url", "Enter the org's My Domain login URL for a custom environment.")
        if data.get("environment") != Environment.CUSTOM:
            data["login_url"] = ""
        if not self.product_app and not (data.get("client_id") or "").strip() and data.get("auth_method") != AuthMethod.PASSWORD:
            self.add_error("client_id", "This server has no product-wide connected app: enter your connected app's consumer key.")
        if data.get("auth_method") == AuthMethod.PASSWORD:
            if not data.get("username"):
                self.add_error("username", "Enter the Salesforce username.")
            if not data.get("password"):
                self.add_error("password", "Enter the password.")
        path = (data.get("ca_bundle_path") or "").strip()
        if path and not Path(path).is_file():
            self.add_error("ca_bundle_path", "No file at this path on the server.")
        return data


class PasswordLoginForm(forms.Form):
    username = forms.CharField(max_length=255, label="Salesforce username")
    password = forms.CharField(max_length=255, label="Password", widget=forms.PasswordInput(render_value=False))
    security_token = forms.CharField(max_length=255, required=False, label="Security token",
                                     widget=forms.PasswordInput(render_value=False),
                                     help_text="Setup › Reset My Security Token e-mails a new one.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, f in self.fields.items():
            f.widget.attrs.setdefault("aria-describedby", f"id_{name}-errors")
        self.fields["username"].error_messages["required"] = "Enter the Salesforce username."
        self.fields["password"].error_messages["required"] = "Enter the password."


class ConnectionUpdateForm(forms.Form):
    name = forms.CharField(max_length=100, label="Connection name")
    push_enabled = forms.BooleanField(required=False, label="Push changes to this org",
                                      help_text="The default org always receives changes; another org only when this is on.")
    credential_mode = forms.ChoiceField(choices=CredentialMode.choices, widget=forms.RadioSelect, label="Credentials")


# --- the settings editor ------------------------------------------------------------------------
