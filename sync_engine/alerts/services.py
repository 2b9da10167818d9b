"""Alerts: settings writes, the evaluator that opens and resolves incidents from each
connection's health, and the sender of deliveries (docs/alerts.md).

The conditions are sync_engine.health's, never re-implemented here: a kind is active while one
of its reason codes is among the connection's health reasons."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from cothon.models import Tenant
from integrations.crypto import decrypt_token, encrypt_token
from integrations.models import ConnectionStatus, SalesforceConnection
from sync_engine.alerts import webhook
from sync_engine.alerts.selectors import alert_delivery_get
from sync_engine.alerts.messages import AlertMessage, incident_message, trial_message
from sync_engine.alerts.models import (AlertChannel, AlertDelivery, AlertEvent, AlertIncident, AlertKind, AlertSettings,
                                       DeliveryStatus, all_kinds)
from sync_engine.health import ReasonCode, connection_health

logger = logging.getLogger(__name__)

KIND_OF_REASON = {
    ReasonCode.NEEDS_RECONNECT: AlertKind.NEEDS_RECONNECT,
    ReasonCode.NOT_CONNECTED: AlertKind.NEEDS_RECONNECT,
    ReasonCode.QUOTA_PAUSED: AlertKind.QUOTA_PAUSED,
    ReasonCode.ERROR_RATE_HIGH: AlertKind.ERROR_RATE,
    ReasonCode.ERROR_RATE_JUMP: AlertKind.ERROR_RATE,
    ReasonCode.USAGE_ANOMALY: AlertKind.USAGE_ANOMALY,
}
# Connections whose health is watched: a pending one was never connected, a disconnected one
# was switched off by an admin — neither is an incident.
WATCHED_STATUSES = (ConnectionStatus.CONNECTED, ConnectionStatus.NEEDS_RECONNECT)
MAX_RECIPIENTS = 20
# Waits after the 1st, 2nd, … failed attempt; after the last the delivery is failed (Retry in
# Settings › Alerts sends it again).
RETRY_DELAYS = [datetime.timedelta(seconds=s) for s in (60, 300, 900, 1800, 3600, 7200, 14400)]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A sender owns a claimed delivery this long: killed mid-send, it is due again after that.
CLAIM_LEASE = datetime.timedelta(minutes=2)


# --- settings -----------------------------------------------------------------------------------

def alert_settings_for(*, tenant: Tenant) -> AlertSettings:
    """The tenant's settings (unsaved defaults when it never saved any)."""
    return AlertSettings.objects.filter(tenant=tenant).first() or AlertSettings(tenant=tenant)


def parse_recipients(value: str | list[str]) -> list[str]:
    """Addresses from a list or a comma/semicolon/newline-separated text, checked and deduplicated."""
    items = value if isinstance(value, list) else value.replace(";", ",").replace("\n", ",").split(",")
    found: list[str] = []
    bad: list[str] = []
    for item in items:
        address = str(item).strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
            continue
        if address.lower() not in (a.lower() for a in found):
            found.append(address)
    if bad:
        raise ValidationError({"recipients": [f"Not an e-mail address: {', '.join(bad[:5])}."]})
    if len(found) > MAX_RECIPIENTS:
        raise ValidationError({"recipients": [f"At most {MAX_RECIPIENTS} recipients ({len(found)} given)."]})
    return found


@dataclass(frozen=True)
class SettingsSaved:
    settings: AlertSettings
    new_secret: str = ""  # shown once: set when the save generated the webhook's first secret


def alert_settings_save(*, tenant: Tenant, enabled: bool, recipients: str | list[str], webhook_url: str,
                        kinds: list[str], actor=None) -> SettingsSaved:
    """Validate everything, then save; a ValidationError (by field) saves nothing. A webhook
    without a secret gets one, returned once in `new_secret`."""
    errors: dict[str, list[str]] = {}
    try:
        addresses = parse_recipients(recipients)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        addresses = []
    url = (webhook_url or "").strip()
    if url:
        if len(url) > 500:
            errors["webhook_url"] = ["At most 500 characters."]
        else:
            try:
                webhook.check_url(url, resolve=False)
            except webhook.WebhookUrlError as exc:
                errors["webhook_url"] = [str(exc)]
    unknown = [k for k in kinds if k not in all_kinds()]
    if unknown:
        errors["kinds"] = [f"Unknown alert kind: {', '.join(map(str, unknown))}."]
    if enabled and not addresses and not url and "recipients" not in errors and "webhook_url" not in errors:
        errors["__all__"] = ["To switch alerts on, give at least one e-mail recipient or a webhook URL."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        row, _ = AlertSettings.objects.select_for_update().get_or_create(tenant=tenant)
        row.enabled, row.recipients, row.webhook_url, row.updated_by = enabled, addresses, url, actor
        row.kinds = [k for k in all_kinds() if k in kinds]
        new_secret = ""
        if url and not row.has_secret:
            new_secret = _set_secret(row)
        row.save()
    return SettingsSaved(row, new_secret)


def _set_secret(row: AlertSettings) -> str:
    secret = webhook.secret_generate()
    row.webhook_secret_encrypted = encrypt_token(secret)
    row.secret_rotated_at = timezone.now()
    return secret


def alert_secret_rotate(*, tenant: Tenant, actor=None) -> str:
    """A new webhook signing secret, returned once (only its encrypted form is kept)."""
    with transaction.atomic():
        row, _ = AlertSettings.objects.select_for_update().get_or_create(tenant=tenant)
        secret = _set_secret(row)
        row.updated_by = actor
        row.save()
    return secret


# --- evaluation ---------------------------------------------------------------------------------

@dataclass
class EvaluateOutcome:
    opened: int = 0
    resolved: int = 0
    errors: int = 0


def alerts_evaluate(*, now: datetime.datetime | None = None) -> EvaluateOutcome:
    """Open an incident for every kind that became active on a watched connection of a tenant
    with alerts on, and resolve those no longer active; each writes its deliveries (pending) in
    the same transaction. Nothing is sent here (alert_deliveries_send_due)."""
    now = now or timezone.now()
    outcome = EvaluateOutcome()
    enabled = {row.tenant_id: row for row in AlertSettings.objects.filter(enabled=True).select_related("tenant")}
    # Incidents that can no longer be watched are resolved without a message: alerts switched
    # off, the kind switched off, or the connection disconnected by an admin.
    for incident in AlertIncident.objects.filter(resolved_at__isnull=True).select_related("connection"):
        row = enabled.get(incident.tenant_id)
        if row is None or incident.kind not in row.kinds or incident.connection.status not in WATCHED_STATUSES:
            outcome.resolved += _incident_resolve(incident, now=now, row=None)
    for row in enabled.values():
        connections = SalesforceConnection.objects.filter(tenant_id=row.tenant_id, status__in=WATCHED_STATUSES).order_by("pk")
        for connection in connections:
            try:
                opened, resolved = _connection_evaluate(row, connection, now=now)
            except Exception:  # noqa: BLE001 - one connection's failure must not silence the others
                logger.exception("Alert evaluation failed for connection %s", connection.pk)
                outcome.errors += 1
                continue
            outcome.opened += opened
            outcome.resolved += resolved
    return outcome


def active_kinds(*, connection: SalesforceConnection, now: datetime.datetime) -> dict[str, tuple[str, str]]:
    """Kind → (reason text, fix) of the kinds active on the connection (its worst reason first)."""
    active: dict[str, tuple[str, str]] = {}
    for reason in connection_health(connection=connection, now=now).reasons:
        kind = KIND_OF_REASON.get(reason.code)
        if kind is not None and kind not in active:
            active[kind] = (reason.text, reason.fix)
    return active


def _connection_evaluate(row: AlertSettings, connection: SalesforceConnection, *, now: datetime.datetime) -> tuple[int, int]:
    active = {kind: reason for kind, reason in active_kinds(connection=connection, now=now).items() if kind in row.kinds}
    open_incidents = {i.kind: i for i in AlertIncident.objects.filter(connection=connection, resolved_at__isnull=True)}
    opened = resolved = 0
    for kind, (text, fix) in active.items():
        if kind not in open_incidents:
            opened += _incident_open(row, connection, kind, text=text, fix=fix, now=now)
    for kind, incident in open_incidents.items():
        if kind not in active:
            resolved += _incident_resolve(incident, now=now, row=row)
    return opened, resolved


def _channels(row: AlertSettings) -> list[str]:
    channels = []
    if row.recipients:
        channels.append(AlertChannel.EMAIL)
    if row.webhook_url and row.has_secret:
        channels.append(AlertChannel.WEBHOOK)
    return channels


def _incident_open(row: AlertSettings, connection: SalesforceConnection, kind: str, *, text: str, fix: str,
                   now: datetime.datetime) -> int:
    """1 when this call opened the incident; 0 when another evaluator did (the constraint)."""
    try:
        with transaction.atomic():
            incident = AlertIncident.objects.create(tenant_id=connection.tenant_id, connection=connection, kind=kind,
                                                    opened_at=now, detail=text, fix=fix)
            AlertDelivery.objects.bulk_create([AlertDelivery(incident=incident, event=AlertEvent.OPENED, channel=channel,
                                                             next_attempt_at=now) for channel in _channels(row)])
    except IntegrityError:
        return 0
    return 1


def _incident_resolve(incident: AlertIncident, *, now: datetime.datetime, row: AlertSettings | None) -> int:
    """1 when this call resolved it (and, with `row`, wrote its recovery deliveries)."""
    with transaction.atomic():
        if not AlertIncident.objects.filter(pk=incident.pk, resolved_at__isnull=True).update(resolved_at=now):
            return 0
        if row is not None:
            AlertDelivery.objects.bulk_create([AlertDelivery(incident=incident, event=AlertEvent.RECOVERED, channel=channel,
                                                             next_attempt_at=now) for channel in _channels(row)],
                                              ignore_conflicts=True)
    return 1


# --- sending ------------------------------------------------------------------------------------

def alert_deliveries_send_due(*, now: datetime.datetime | None = None, limit: int = 200) -> int:
    """Send every pending delivery that is due (new ones and retries); the number sent."""
    now = now or timezone.now()
    due = list(AlertDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit])
    return sum(alert_delivery_send(delivery_id=pk, now=now) for pk in due)


def _claim(delivery_id: int, now: datetime.datetime) -> bool:
    """Take the delivery for one attempt (a lease): False when another sender has it or it is done."""
    return AlertDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now).update(
        next_attempt_at=now + CLAIM_LEASE) == 1


def alert_delivery_send(*, delivery_id: int, now: datetime.datetime | None = None) -> bool:
    """One attempt at one due delivery; True when it was sent."""
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return False
    delivery = AlertDelivery.objects.select_related("incident__connection", "incident__tenant").get(pk=delivery_id)
    incident = delivery.incident
    row = alert_settings_for(tenant=incident.tenant)
    try:
        error = _send(row, delivery.channel, incident_message(incident, delivery.event), delivery_id=str(delivery.pk))
    except Exception as exc:  # noqa: BLE001 - e.g. an undecryptable secret: an attempt that failed, not a stuck lease
        logger.exception("Alert delivery %s raised", delivery.pk)
        error = SendError(f"{type(exc).__name__}: {exc}")
    attempts = delivery.attempts + 1
    if error is None:
        AlertDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENT, attempts=attempts, sent_at=timezone.now(),
                                                            last_error="")
        return True
    done = attempts >= MAX_ATTEMPTS or error.permanent
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED if done else DeliveryStatus.PENDING, attempts=attempts, last_error=error.text[:1000],
        next_attempt_at=now + RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1])
    logger.warning("Alert delivery %s (%s) failed, attempt %s: %s", delivery.pk, delivery.channel, attempts, error.text)
    return False


@dataclass(frozen=True)
class SendError:
    text: str
    permanent: bool = False  # retrying cannot help (the channel was removed from the settings)


def _send(row: AlertSettings, channel: str, message: AlertMessage, *, delivery_id: str) -> SendError | None:
    if channel == AlertChannel.EMAIL:
        if not row.recipients:
            return SendError("No e-mail recipients any more in Settings › Alerts.", permanent=True)
        try:
            EmailMessage(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, to=list(row.recipients),
                         connection=get_connection(fail_silently=False)).send()
        except Exception as exc:  # noqa: BLE001 - SMTP down, refused, timed out: retried later
            return SendError(f"E-mail not sent: {type(exc).__name__}: {exc}")
        return None
    if channel == AlertChannel.WEBHOOK:
        if not (row.webhook_url and row.has_secret):
            return SendError("No webhook URL any more in Settings › Alerts.", permanent=True)
        result = webhook.post(row.webhook_url, body=message.json_body(), secret=decrypt_token(row.webhook_secret_encrypted),
                              event=message.event, delivery_id=delivery_id)
        return None if result.ok else SendError(result.error)
    raise ValueError(f"Unknown alert channel {channel!r}")


def alert_delivery_retry(*, tenant: Tenant, pk: int) -> AlertDelivery:
    """Send a failed delivery again (from Settings › Alerts): due now, with a fresh set of attempts."""
    delivery = alert_delivery_get(tenant=tenant, pk=pk)
    AlertDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now())
    delivery.refresh_from_db()
    return delivery


@dataclass(frozen=True)
class TrialResult:
    channel: str
    ok: bool
    error: str = ""


def alert_test_send(*, tenant: Tenant) -> list[TrialResult]:
    """Send a test alert on each configured channel now and say how each went (nothing stored)."""
    row = alert_settings_for(tenant=tenant)
    message = trial_message(tenant, timezone.now())
    results = []
    for channel in (AlertChannel.EMAIL, AlertChannel.WEBHOOK):
        if channel in _channels(row):
            error = _send(row, channel, message, delivery_id=f"test-{int(timezone.now().timestamp())}")
            results.append(TrialResult(channel, error is None, error.text if error else ""))
    return results


def alerts_run(*, now: datetime.datetime | None = None) -> tuple[EvaluateOutcome, int]:
    """The beat's minute: evaluate, then send what is due."""
    outcome = alerts_evaluate(now=now)
    return outcome, alert_deliveries_send_due(now=now)


__all__ = ["alerts_evaluate", "alerts_run", "alert_deliveries_send_due", "alert_delivery_send", "alert_settings_save",
           "alert_secret_rotate", "alert_test_send", "alert_delivery_retry"]
