"""Salesforce connections of a tenant. Tokens are stored encrypted (integrations/crypto.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cothon.models import Tenant


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
        base = self.instance_url.rstrip("/")
        return f"{base}/lightning/r/{sobject}/{salesforce_id}/view" if base else ""
