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
from django.urls import reverse

from integrations.models import SalesforceConnection
from sync_engine import wakeups
from sync_engine.pull.outbound import notifications_store
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
    return notifications_store(connection=connection, body=body, model=QuoteNotification, enqueue=enqueue_processing)


def enqueue_processing(connection_id: int) -> None:
    try:
        wakeups.send_named(PROCESS_TASK, args=[connection_id], queue="realtime")
    except Exception:  # noqa: BLE001 - stored already: the sweeper sends it again
        logger.warning("Could not enqueue quote notification processing for connection %s", connection_id, exc_info=True)
