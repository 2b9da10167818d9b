"""Outbound Messages: parse a SOAP `notifications` message, store it, process it later.

The receiver (sync_engine.pull.views) calls `notifications_receive`; it answers the Ack only
after the notifications are committed, so a message Salesforce considers delivered is never
lost. Each notification id is unique per connection: a replay is acknowledged and not stored
(nor applied) again. Processing (`notifications_process`) runs in a thin Celery task on the
real-time queue, enqueued after commit; the sweeper task re-sends it for anything left
unprocessed (a lost broker message, a worker killed mid-way)."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from django.conf import settings as django_settings

from integrations.mapping.opportunity_inbound import id18
from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.salesforce.errors import SalesforceError
from integrations.sync_settings import settings_current
from sync_engine import wakeups
from sync_engine.models import LinkStatus, SyncLink
from sync_engine.pull.apply import PullSummary, import_enabled, pull_context
from sync_engine.pull.contact_roles import IN_LIST_MAX, contact_roles_pull
from sync_engine.pull.models import InboundNotification
from sync_engine.vocabulary import RecordType

logger = logging.getLogger(__name__)

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_NOTIFICATIONS = 100  # Salesforce sends 1-100 per message
PROCESS_BATCH = 200
# Unprocessed this long after receipt: the sweeper sends the processing task again.
STALE_AFTER = datetime.timedelta(seconds=20)
MAX_ATTEMPTS = 10

ACK = ('<?xml version="1.0" encoding="UTF-8"?>'
       '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
       '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>'
       '</soapenv:Body></soapenv:Envelope>')


class MessageRejected(Exception):
    """A message we refuse (nothing stored). `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class ParsedNotification:
    notification_id: str
    sobject: str
    salesforce_id: str
    fields: dict[str, str | None] = field(default_factory=dict)


@dataclass
class ParsedMessage:
    organization_id: str
    action_id: str
    notifications: list[ParsedNotification]


def parse_message(body: bytes) -> ParsedMessage:
    """The notifications of one SOAP message; MessageRejected(400) for anything malformed."""
    if len(body) > MAX_BODY_BYTES:
        raise MessageRejected(413, "The message is larger than 5 MB.")
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise MessageRejected(400, f"Not a well-formed SOAP message: {exc}") from exc
    notes = root.find(f"{{{SOAP_NS}}}Body/{{{OUTBOUND_NS}}}notifications")
    if notes is None:
        raise MessageRejected(400, "No notifications element in the SOAP body.")
    org = (notes.findtext(f"{{{OUTBOUND_NS}}}OrganizationId") or "").strip()
    if not org:
        raise MessageRejected(400, "The message has no OrganizationId.")
    action = (notes.findtext(f"{{{OUTBOUND_NS}}}ActionId") or "").strip()
    items = notes.findall(f"{{{OUTBOUND_NS}}}Notification")
    if not items or len(items) > MAX_NOTIFICATIONS:
        raise MessageRejected(400, "A message carries 1 to 100 notifications.")
    parsed = []
    for item in items:
        note_id = (item.findtext(f"{{{OUTBOUND_NS}}}Id") or "").strip()
        sobject_el = item.find(f"{{{OUTBOUND_NS}}}sObject")
        if not note_id or sobject_el is None or len(note_id) > 18:
            raise MessageRejected(400, "A notification has no Id or no sObject.")
        sobject = (sobject_el.get(f"{{{XSI_NS}}}type") or "").split(":")[-1]
        values: dict[str, str | None] = {}
        for child in sobject_el:
            name = child.tag.split("}")[-1]
            nil = (child.get(f"{{{XSI_NS}}}nil") or "").lower() == "true"
            values[name] = None if nil else (child.text or "")
        record_id = values.get("Id") or ""
        if not sobject or not record_id or len(record_id) not in (15, 18):
            raise MessageRejected(400, "A notification's sObject has no type or no valid Id.")
        parsed.append(ParsedNotification(notification_id=note_id, sobject=sobject, salesforce_id=id18(record_id), fields=values))
    return ParsedMessage(organization_id=org, action_id=action, notifications=parsed)


def same_org(a: str, b: str) -> bool:
    """Org ids compare on their 15-character form (messages may carry either)."""
    return bool(a) and bool(b) and a[:15] == b[:15]


def notifications_receive(*, connection: SalesforceConnection, body: bytes) -> int:
    """Check and store one message's notifications; returns how many were new. Raises
    MessageRejected (nothing stored) for a malformed message or another org's."""
    return notifications_store(connection=connection, body=body, model=InboundNotification, enqueue=enqueue_processing)


def notifications_store(*, connection: SalesforceConnection, body: bytes, model, enqueue) -> int:
    """The receivers' common part (the pull's and the quotes'): parse, check the org, store each
    notification not seen before in `model` (unique per connection and notification id), and
    call `enqueue(connection_id)` after commit when any was new. Returns how many were new."""
    message = parse_message(body)
    if not same_org(message.organization_id, connection.org_id):
        raise MessageRejected(403, "The message comes from another Salesforce org than this connection's.")
    if connection.status == ConnectionStatus.DISCONNECTED:
        raise MessageRejected(404, "This connection is disconnected.")
    new = 0
    with transaction.atomic():
        existing = set(model.objects.filter(
            connection=connection, notification_id__in=[n.notification_id for n in message.notifications]
        ).values_list("notification_id", flat=True))
        for note in message.notifications:
            if note.notification_id in existing:
                continue  # a replay: acknowledged, never applied twice
            try:
                with transaction.atomic():
                    model.objects.create(
                        connection=connection, notification_id=note.notification_id, action_id=message.action_id[:18],
                        sobject=note.sobject[:80], salesforce_id=note.salesforce_id, fields=note.fields)
            except IntegrityError:
                continue  # the same message arriving twice at once
            existing.add(note.notification_id)
            new += 1
        if new:
            connection_id = connection.pk
            transaction.on_commit(lambda: enqueue(connection_id))
    return new


def enqueue_processing(connection_id: int) -> None:
    from sync_engine import wakeups

    try:
        wakeups.send_named("sync_engine.pull.process_notifications", args=[connection_id], queue="realtime")
    except Exception:  # noqa: BLE001 - stored already: the sweeper sends it again
        logger.warning("Could not enqueue notification processing for connection %s", connection_id, exc_info=True)


def notifications_process(*, connection_id: int, limit: int = PROCESS_BATCH) -> int:
    """Apply the connection's unprocessed notifications, oldest first, in batches. The rows
    are locked while applied (two workers never apply one twice) and marked processed in the
    same transaction as the Cothon writes. Returns how many were processed."""
    from sync_engine.pull.accounts import account_object, accounts_apply
    from sync_engine.pull.apply import pull_apply

    deferred = roles_deferred()

    connection = SalesforceConnection.objects.filter(pk=connection_id).select_related("tenant").first()
    if connection is None:
        return 0
    done = 0
    while True:
        with transaction.atomic():
            rows = list(InboundNotification.objects.select_for_update(skip_locked=True)
                        .filter(connection=connection, processed_at__isnull=True).order_by("id")[:limit])
            if not rows:
                return done
            data = settings_current(connection=connection)
            sobject = (data.get("objects") or {}).get("opportunity", "Opportunity")
            account_sobject = account_object(data)
            ours = [r for r in rows if r.sobject.lower() == sobject.lower()]
            accounts = [r for r in rows if r.sobject.lower() == account_sobject.lower() and r not in ours]
            try:
                with transaction.atomic():
                    summary = pull_apply(connection=connection, sobject_records=_records(connection, sobject, ours),
                                         settings=data, source="outbound", contact_roles=not deferred)
                    if accounts:
                        summary.add(accounts_apply(connection=connection, sobject_records=_records(connection, account_sobject, accounts),
                                                   settings=data, source="outbound"))
            except Exception as exc:  # noqa: BLE001 - kept unprocessed; the sweeper retries it
                logger.warning("Applying notifications of connection %s failed", connection_id, exc_info=True)
                InboundNotification.objects.filter(pk__in=[r.pk for r in rows]).update(
                    attempts=F("attempts") + 1, message=str(exc)[:2000])
                _give_up(rows)
                return done
            now = timezone.now()
            outcome = "applied" if data.get("direction", "bidirectional") != "push" else "push only"
            InboundNotification.objects.filter(pk__in=[r.pk for r in ours + accounts]).update(
                processed_at=now, result=outcome, message=f"{summary.applied} updated, {summary.created} imported, "
                                                         f"{summary.echoes} echo(es)")
            InboundNotification.objects.filter(pk__in=[r.pk for r in rows if r not in ours and r not in accounts]).update(
                processed_at=now, result="ignored", message=f"Not a synced object ({sobject}, {account_sobject}).")
            if summary.roles_pending:
                # Their contact roles are read together, a few seconds from now (one query for
                # every batch applied meanwhile, instead of one per batch).
                InboundNotification.objects.filter(pk__in=[r.pk for r in ours if id18(r.salesforce_id) in summary.roles_pending]
                                                   ).update(contact_roles_pending=True)
                transaction.on_commit(lambda: roles_wake(connection.pk))
            done += len(rows)


def _records(connection: SalesforceConnection, sobject: str, rows: list[InboundNotification]) -> list[dict]:
    """Oldest first; several notifications of one record: the newest carries its values."""
    latest: dict[str, InboundNotification] = {}
    for row in rows:
        latest[row.salesforce_id] = row
    types = _field_types(connection, sobject) if latest else {}
    return [dict(typed_fields(row.fields, types), Id=row.salesforce_id) for row in latest.values()]


def _give_up(rows: list[InboundNotification]) -> None:
    """A notification that failed MAX_ATTEMPTS times stops being retried (the incremental pull
    still brings the record's change)."""
    InboundNotification.objects.filter(pk__in=[r.pk for r in rows], attempts__gte=MAX_ATTEMPTS).update(
        processed_at=timezone.now(), result="failed")


_NUMBER_TYPES = ("double", "currency", "percent", "int", "long")


def typed_fields(fields: dict[str, str | None], types: dict[str, str]) -> dict:
    """An Outbound Message sends every value as text: numbers and booleans back to their type
    (by the object's describe), so "250000.0" compares with the pushed 250000 and a text field
    holding "12345" stays text."""
    out: dict = {}
    for name, value in fields.items():
        kind = types.get(name.lower(), "")
        if value is None or not isinstance(value, str):
            out[name] = value
        elif kind in _NUMBER_TYPES:
            try:
                out[name] = float(value)
            except ValueError:
                out[name] = value
        elif kind == "boolean":
            out[name] = value.strip().lower() == "true"
        else:
            out[name] = value
    return out


def _field_types(connection: SalesforceConnection, sobject: str) -> dict[str, str]:
    from integrations.sync_settings import describe_get

    try:
        describe = describe_get(connection=connection, sobject=sobject)  # cached for an hour
    except Exception:  # noqa: BLE001 - no describe (org unreachable): values stay text, still applied
        logger.warning("No describe of %s for connection %s; notification values stay text", sobject, connection.pk)
        return {}
    return {f["name"].lower(): f.get("type", "") for f in (describe or {}).get("fields", [])}


def notifications_sweep(*, now: datetime.datetime | None = None) -> list[int]:
    """Connections with notifications left unprocessed for a while: their task again."""
    now = now or timezone.now()
    connection_ids = sorted(set(InboundNotification.objects.filter(
        processed_at__isnull=True, received_at__lte=now - STALE_AFTER).values_list("connection_id", flat=True)))
    for connection_id in connection_ids:
        enqueue_processing(connection_id)
    contact_roles_sweep()
    return connection_ids


def receiver_path(connection: SalesforceConnection) -> str:
    from django.urls import reverse

    return reverse("sync_pull:outbound", kwargs={"token": receiver_token(connection)})


def receiver_token(connection: SalesforceConnection) -> str:
    """The receiver URL's secret part: an HMAC of the connection id (nobody can guess another
    connection's endpoint), followed by the id."""
    import hashlib
    import hmac

    from django.conf import settings

    digest = hmac.new(settings.SECRET_KEY.encode(), f"outbound:{connection.pk}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{connection.pk}-{digest}"


def connection_for_token(token: str) -> SalesforceConnection | None:
    import hmac

    head, _, _digest = token.partition("-")
    if not head.isdigit():
        return None
    connection = SalesforceConnection.objects.filter(pk=int(head)).first()
    if connection is None or not hmac.compare_digest(receiver_token(connection), token):
        return None
    return connection


# --- contact roles of the applied notifications, read together --------------------------------

def roles_deferred() -> bool:
    """Whether a batch leaves its contact roles to the coalesced read (the setting is not 0)."""
    return django_settings.COTHON_CONTACT_ROLES_DEBOUNCE_SECONDS > 0


def roles_wake(connection_id: int) -> None:
    """Ask for the pending contact roles to be read in COTHON_CONTACT_ROLES_DEBOUNCE_SECONDS.
    Batches applied meanwhile join that read: a wake-up already pending is not moved later."""
    wakeups.wake(connection_id, wakeups.ROLES, delay=float(django_settings.COTHON_CONTACT_ROLES_DEBOUNCE_SECONDS))


def contact_roles_pull_pending(*, connection_id: int) -> int:
    """The contact roles of the opportunities the real-time pull applied since the last read:
    one query per IN_LIST_MAX opportunities, however many batches applied them. A read that
    fails leaves them pending (a passing failure asks again in 30 s). Returns how many
    notifications were settled."""
    wakeups.started(connection_id, wakeups.ROLES)
    connection = SalesforceConnection.objects.filter(pk=connection_id).select_related("tenant").first()
    if connection is None or connection.status != ConnectionStatus.CONNECTED:
        return 0  # kept pending: read once the connection is usable again (its next batch wakes the lane)
    pending = InboundNotification.objects.filter(connection=connection, contact_roles_pending=True)
    settled = 0
    while True:
        rows = list(pending.order_by("id").values_list("pk", "salesforce_id")[:IN_LIST_MAX])
        if not rows:
            return settled
        ctx = pull_context(connection=connection, settings=None, source="outbound")
        ids = {id18(sf_id) for _pk, sf_id in rows}
        # A record skipped or unlinked since it was applied has nothing to read.
        applied = {id18(sf_id): record_id for sf_id, record_id in SyncLink.objects.filter(
            connection=connection, record_type=RecordType.OPPORTUNITY, sobject=ctx.sobject, salesforce_id__in=ids,
        ).exclude(status=LinkStatus.SKIPPED).values_list("salesforce_id", "record_id")}
        try:
            with transaction.atomic():
                contact_roles_pull(ctx, applied, [], PullSummary(), create_contacts=import_enabled(ctx.settings))
                InboundNotification.objects.filter(pk__in=[pk for pk, _ in rows]).update(contact_roles_pending=False)
        except SalesforceError:
            wakeups.wake(connection_id, wakeups.ROLES, delay=30.0)
            raise
        finally:
            ctx.flush()
        settled += len(rows)


def contact_roles_sweep() -> list[int]:
    """Connections with contact roles left pending and no read asked for (a lost wake-up):
    ask for one (the sweeper of notifications, every 15 s)."""
    connection_ids = sorted(set(InboundNotification.objects.filter(contact_roles_pending=True)
                                .values_list("connection_id", flat=True)))
    for connection_id in connection_ids:
        wakeups.wake(connection_id, wakeups.ROLES, delay=float(django_settings.COTHON_CONTACT_ROLES_DEBOUNCE_SECONDS),
                     only_if_idle=True)
    return connection_ids
