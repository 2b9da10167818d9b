"""Per-connection sync settings: versioned, validated against the org, audited.

The newest ConnectionSettingsVersion is in force. Saving never edits a version: it adds one
with a summary of what changed and who changed it. The schema (integrations/settings_schema/)
owns every key's default: a version saved before a key existed reads as that default, and a new
version stores every key explicitly."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.mapping.validation import ValidationReport, validate_settings
from integrations.models import ConnectionSettingsVersion, DescribeCache, Environment, SalesforceConnection
from integrations.salesforce.errors import SalesforceError
from integrations.signals import settings_saved
from integrations.settings_schema import SettingsShapeError, SyncSettings, default_settings_dict, normalise

DESCRIBE_MAX_AGE = datetime.timedelta(hours=1)


class SettingsInvalid(ValidationError):
    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__({issue.path: [issue.message] for issue in report.errors})


def settings_ensure_initial(*, connection: SalesforceConnection, actor: AbstractBaseUser | None = None) -> ConnectionSettingsVersion:
    existing = connection.settings_versions.first()
    if existing:
        return existing
    data = default_settings_dict()
    summary = "Initial settings: the default field, stage, picklist and conflict tables."
    if connection.environment == Environment.SANDBOX:
        summary += " Sandbox: push is off until switched on."
    return ConnectionSettingsVersion.objects.create(connection=connection, version=1, data=data, changed_by=actor, summary=summary)


def settings_current(*, connection: SalesforceConnection) -> dict[str, Any]:
    """The settings in force as a dict (a fresh copy), every key present: those the version lacks
    have their defaults. Prefer `sync_settings_for` for reading them."""
    version = connection.settings_versions.first() or settings_ensure_initial(connection=connection)
    return normalise(version.data)


def sync_settings_for(*, connection: SalesforceConnection) -> SyncSettings:
    """The settings in force, typed (see integrations.settings_schema.SyncSettings)."""
    return SyncSettings.from_dict(settings_current(connection=connection))


def describe_get(*, connection: SalesforceConnection, sobject: str, max_age: datetime.timedelta = DESCRIBE_MAX_AGE,
                 client=None) -> dict | None:
    """The org's describe of an object, from the cache when fresh. None when the object does
    not exist or is not visible to the integration user."""
    cached = DescribeCache.objects.filter(connection=connection, sobject=sobject).first()
    if cached and cached.fetched_at > timezone.now() - max_age:
        return cached.payload or None
    from integrations.connections import client_for

    client = client or client_for(connection)
    try:
        payload = client.describe(sobject)
    except SalesforceError as exc:
        if exc.status == 404 or exc.code in ("NOT_FOUND", "INVALID_TYPE"):
            payload = {}
        else:
            raise
    DescribeCache.objects.update_or_create(connection=connection, sobject=sobject,
                                           defaults={"payload": payload, "fetched_at": timezone.now()})
    return payload or None


def describe_forget(*, connection: SalesforceConnection) -> None:
    DescribeCache.objects.filter(connection=connection).delete()


def settings_validate(*, connection: SalesforceConnection, data: dict[str, Any], against_org: bool = True) -> ValidationReport:
    describe = (lambda sobject: describe_get(connection=connection, sobject=sobject)) if against_org else None
    return validate_settings(data, describe)


def settings_differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[tuple[str, Any, Any]]:
    """Every setting that differs, as (path, old value, new value): nested keys as
    "activity.mode", a field mapping as "mapping <cothon field>" (the words the history shows)."""
    changes: list[tuple[str, Any, Any]] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        path = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            changes.extend(settings_differences(a, b, f"{path}."))
        elif isinstance(a, list) and isinstance(b, list) and key == "opportunity_mappings":
            before = {m["cothon_field"]: m for m in a}
            after = {m["cothon_field"]: m for m in b}
            for field in sorted(set(before) | set(after)):
                if before.get(field) != after.get(field):
                    changes.append((f"mapping {field}", before.get(field), after.get(field)))
        else:
            changes.append((path, a, b))
    return changes


def _summarize(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [f"{path}: {_short(a)} → {_short(b)}" for path, a, b in settings_differences(old, new)]


def settings_compare(*, old: ConnectionSettingsVersion, new: ConnectionSettingsVersion) -> list[tuple[str, str, str]]:
    """Two saved versions field by field, each as it would be saved today (a key a version
    lacks reads as its default): (path, old value, new value) as short text."""
    return [(path, _short(a), _short(b)) for path, a, b in settings_differences(_canonical(old.data), _canonical(new.data))]


def settings_restore(*, connection: SalesforceConnection, version: ConnectionSettingsVersion,
                     actor: AbstractBaseUser | None) -> ConnectionSettingsVersion:
    """Save a new version equal to an old one, validated like any save (today's schema, today's
    org): an old version today's checks refuse raises SettingsInvalid with the reasons, and
    nothing is saved. The new version's summary says which version it restores; restoring the
    settings in force returns them unchanged."""
    if version.connection_id != connection.pk:
        raise ValueError("A version of another connection")
    return settings_save(connection=connection, data=_canonical(version.data), actor=actor,
                         note=f"Restored version {version.version}.")


def _canonical(data: dict[str, Any]) -> dict[str, Any]:
    """A saved version as it would be saved today (so an old version and the same settings saved
    again compare equal)."""
    try:
        return SyncSettings.from_dict(data).to_dict()
    except SettingsShapeError:
        return normalise(data)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "…"


def settings_save(*, connection: SalesforceConnection, data: dict[str, Any], actor: AbstractBaseUser | None,
                  against_org: bool = True, note: str = "") -> ConnectionSettingsVersion:
    """Validate (against the org's describe when connected) and save a new version.

    Keys missing from `data` take their defaults; the version stores every key. Raises
    SettingsInvalid with every problem; nothing is saved then."""
    data = normalise(data)
    report = settings_validate(connection=connection, data=data, against_org=against_org and connection.status == "connected")
    if not report.ok:
        raise SettingsInvalid(report)
    data = SyncSettings.from_dict(data).to_dict()
    current = connection.settings_versions.first()
    changes = _summarize(_canonical(current.data) if current else {}, data)
    if current and not changes:
        return current
    for _ in range(3):
        try:
            with transaction.atomic():
                number = (connection.settings_versions.values_list("version", flat=True).first() or 0) + 1
                version = ConnectionSettingsVersion.objects.create(
                    connection=connection, version=number, data=data, changed_by=actor,
                    summary="\n".join([note, *changes] if note else changes))
            settings_saved.send(sender=SalesforceConnection, connection=connection, version=version)
            return version
        except IntegrityError:
            continue  # two admins saved at once: take the next number
    raise RuntimeError("Could not save the settings version")


def describe_fields_for(connection: SalesforceConnection, sobject: str, client=None) -> dict[str, dict] | None:
    """{lower-case field name: describe field}; empty when the object is not in the org."""
    payload = describe_get(connection=connection, sobject=sobject, client=client)
    return {f["name"].lower(): f for f in (payload or {}).get("fields", [])}


def user_ids_for(connection: SalesforceConnection) -> dict[int, str]:
    """The connection's user mapping: Cothon user id → Salesforce User Id (mapped users only)."""
    return dict(connection.user_links.exclude(salesforce_user_id="").values_list("user_id", "salesforce_user_id"))
