"""The quote receiver: the org's "Cothon integration" Outbound Message (sent by the flow when an
opportunity reaches the trigger stage) POSTs SOAP here.

The SOAP parsing, the org check and the Ack are the pull's (sync_engine.pull.outbound): one
parser for every Outbound Message Cothon receives. This module only stores the notifications in
its own table — one row per notification id and connection, so a replay is acknowledged and not
stored again — before the Ack, and asks for their processing after commit (a thin task on the
real-time queue; the sweeper sends it again for rows left behind)."""

from __future__ import annotations

import hashlib
import hmac
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from integrations.models import ConnectionStatus, SalesforceConnection
from sync_engine import wakeups
from sync_engine.pull.outbound import MessageRejected, parse_message, same_org
from sync_engine.quotes.models import QuoteNotification

logger = logging.getLogger(__name__)

PROCESS_TASK = "sync_engine.quotes.process_notifications"


def receiver_token(connection: SalesforceConnection) -> str:
    """The receiver URL's secret part: an HMAC of the connection id (nobody can guess another
    connection's endpoint, nor turn the pull's endpoint into this one), then the id."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"quotes:{connection.pk}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{connection.pk}-{digest}"


def receiver_path(connection: SalesforceConnection) -> str:
    return reverse("sync_quotes:receiver", args=[receiver_token(connection)])


def connection_for_token(token: str) -> SalesforceConnection | None:
    head, _, _digest = token.partition("-")
    if not head.isdigit():
        return None
    connection = SalesforceConnection.objects.filter(pk=int(head)).first()
    if connection is None or not hmac.compare_digest(receiver_token(connection), token):
        return None
    return connection


def quote_notifications_receive(*, connection: SalesforceConnection, body: bytes) -> int:
    """Check and store one message's notifications; returns how many were new. Raises
    MessageRejected (nothing stored) for a malformed message, another org's, or a
    disconnected connection's."""
    message = parse_message(body)
    if not same_org(message.organization_id, connection.org_id):
        raise MessageRejected(403, "The message comes from another Salesforce org than this connection's.")
    if connection.status == ConnectionStatus.DISCONNECTED:
        raise MessageRejected(404, "This connection is disconnected.")
    new = 0
    with transaction.atomic():
        existing = set(QuoteNotification.objects.filter(
            connection=connection, notification_id__in=[n.notification_id for n in message.notifications]
        ).values_list("notification_id", flat=True))
        for note in message.notifications:
            if note.notification_id in existing:
                continue  # a replay: acknowledged, never processed twice
            try:
                with transaction.atomic():
                    QuoteNotification.objects.create(
                        connection=connection, notification_id=note.notification_id, action_id=message.action_id[:18],
                        sobject=note.sobject[:80], salesforce_id=note.salesforce_id, fields=note.fields)
            except IntegrityError:
                continue  # the same message arriving twice at once
            existing.add(note.notification_id)
            new += 1
        if new:
            connection_id = connection.pk
            transaction.on_commit(lambda: enqueue_processing(connection_id))
    return new


def enqueue_processing(connection_id: int) -> None:
    try:
        wakeups.send_named(PROCESS_TASK, args=[connection_id], queue="realtime")
    except Exception:  # noqa: BLE001 - stored already: the sweeper sends it again
        logger.warning("Could not enqueue quote notification processing for connection %s", connection_id, exc_info=True)
