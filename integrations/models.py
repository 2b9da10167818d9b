"""Salesforce connections of a tenant. Tokens are stored encrypted (integrations/crypto.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import models

from cothon.models import Tenant
from integrations.salesforce.hosts import is_loopback_host


class Environment(models.TextChoices):
    PRODUCTION = "production", "Production"
    SANDBOX = "sandbox", "Sandbox"
    CUSTOM = "custom", "Custom domain"


class AuthMethod(models.TextChoices):
    OAUTH_WEB = "oauth_web", "OAuth web server flow (PKCE)"
    CLIENT_CREDENTIALS = "client_credentials", "OAuth client credentials (integration user)"
    PASSWORD = "password", "Username + password + security token (legacy)"


class ConnectionStatus(models.TextChoices):
    PENDING = "pending", "Not connected yet"
    CONNECTED = "connected", "Connected"
    NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
    DISCONNECTED = "disconnected", "Disconnected"


class CredentialMode(models.TextChoices):
    INTEGRATION_USER = "integration_user", "One integration user (single sign-on)"
    PER_USER = "per_user", "Each Cothon user's own Salesforce credentials"


class SalesforceConnection(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="salesforce_connections")
    name = models.CharField(max_length=100)
    environment = models.CharField(max_length=20, choices=Environment.choices, default=Environment.PRODUCTION)
    login_url = models.URLField(max_length=255)
    instance_url = models.URLField(max_length=255, blank=True)
    auth_method = models.CharField(max_length=30, choices=AuthMethod.choices, default=AuthMethod.OAUTH_WEB)
    status = models.CharField(max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.PENDING)
    is_default = models.BooleanField(default=False, help_text="The sync target of every change.")
    push_enabled = models.BooleanField(default=True)
    org_id = models.CharField(max_length=18, blank=True)
    sf_user_id = models.CharField(max_length=18, blank=True)
    sf_username = models.CharField(max_length=255, blank=True)
    edition = models.CharField(max_length=60, blank=True)
    # The connected app. Empty client_id means the product-wide app (SALESFORCE_CLIENT_ID).
    client_id = models.CharField(max_length=255, blank=True)
    client_secret_encrypted = models.BinaryField(blank=True, default=b"")
    # Username + password + security token connections keep the login to re-authenticate
    # (that flow has no refresh token). Encrypted like the tokens.
    username = models.CharField(max_length=255, blank=True)
    password_encrypted = models.BinaryField(blank=True, default=b"")
    credential_mode = models.CharField(max_length=20, choices=CredentialMode.choices, default=CredentialMode.INTEGRATION_USER)
    # Encrypted with MultiFernet; never shown to members, never logged.
    access_token_encrypted = models.BinaryField(blank=True, default=b"")
    refresh_token_encrypted = models.BinaryField(blank=True, default=b"")
    token_expires_at = models.DateTimeField(null=True, blank=True)
    # A CA bundle for this connection only (the emulator's), applied to its HTTP session.
    ca_bundle_path = models.CharField(max_length=500, blank=True)
    connected_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    connected_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_code = models.CharField(max_length=80, blank=True)
    last_error_message = models.TextField(blank=True)
    api_usage_used = models.PositiveIntegerField(null=True, blank=True)
    api_usage_max = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="connection_unique_name"),
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(is_default=True), name="connection_one_default_per_tenant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_environment_display()})"

    def record_url(self, sobject: str, salesforce_id: str) -> str:
        """The Lightning URL of a record in this org ("open in Salesforce")."""
        base = self.browser_base_url()
        return f"{base}/lightning/r/{sobject}/{salesforce_id}/view" if base else ""

    def browser_base_url(self) -> str:
        """Where a person's browser opens this org's pages: the instance URL, except for the
        local emulator (decisions.md), whose HTTPS port serves a self-signed certificate to the
        API only; its pages are served on the plain-HTTP loopback port stored as the login URL."""
        instance, login = urlsplit(self.instance_url or ""), urlsplit(self.login_url or "")
        if (instance.hostname and is_loopback_host(instance.hostname) and login.scheme == "http"
                and login.hostname and is_loopback_host(login.hostname)):
            return f"http://{login.netloc}"
        return (self.instance_url or "").rstrip("/")


class SalesforceUserLink(models.Model):
    """A Cothon user's identity in one connection's org.

    `salesforce_user_id` maps assignees to OwnerId (pre-filled by e-mail, editable).
    `unique_identifier` is SalesPro's single-sign-on id (e.g. a Staff record id) used to filter
    per-user SOQL. Per-user credentials (credential_mode = per_user) are kept encrypted.
    """

    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="user_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    salesforce_user_id = models.CharField(max_length=18, blank=True)
    unique_identifier = models.CharField(max_length=80, blank=True)
    username = models.CharField(max_length=255, blank=True)
    password_encrypted = models.BinaryField(blank=True, default=b"")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "user"], name="user_link_unique")]


class ConnectionSettingsVersion(models.Model):
    """One saved version of a connection's sync settings. The newest is in force; the chain of
    versions is the audit trail (who changed what, when)."""

    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="settings_versions")
    version = models.PositiveIntegerField()
    data = models.JSONField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    summary = models.TextField(blank=True, help_text="Human-readable list of what changed from the previous version.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["connection", "version"], name="settings_version_unique")]


class DescribeCache(models.Model):
    """The org's describe of one object, kept to validate mappings without an API call each time."""

    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="describes")
    sobject = models.CharField(max_length=80)
    payload = models.JSONField()
    fetched_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "sobject"], name="describe_cache_unique")]


class ConnectionEvent(models.Model):
    """Audit of connection lifecycle: connected, refreshed, needs reconnect, disconnected."""

    connection = models.ForeignKey(SalesforceConnection, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)
    message = models.TextField(blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
