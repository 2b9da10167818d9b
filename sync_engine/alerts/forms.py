"""The Settings › Alerts form: what the admin typed, kept as typed so a refused save shows it
again with its errors (validation is alert_settings_save's)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import QueryDict

from sync_engine.alerts.models import AlertKind, AlertSettings


@dataclass
class AlertSettingsForm:
    enabled: bool
    recipients: str
    webhook_url: str
    kinds: list[str]
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, row: AlertSettings) -> AlertSettingsForm:
        return cls(row.enabled, "\n".join(row.recipients), row.webhook_url, list(row.kinds))

    @classmethod
    def from_post(cls, post: QueryDict) -> AlertSettingsForm:
        return cls(post.get("enabled") == "on", post.get("recipients", "")[:10_000], post.get("webhook_url", "")[:2000],
                   post.getlist("kinds"))

    @property
    def kind_choices(self) -> list[tuple[str, str, bool]]:
        return [(kind.value, kind.label, kind.value in self.kinds) for kind in AlertKind]

    @property
    def summary(self) -> list[str]:
        return [message for messages in self.errors.values() for message in messages]
