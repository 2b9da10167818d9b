"""The quote receiver's HTTP end: Salesforce POSTs the "Cothon integration" Outbound Message
here (no login, no CSRF token — the URL's secret token names the connection and the
OrganizationId must be that connection's org). The Ack goes out only once the notifications
are committed; anything refused gets a SOAP fault with a 4xx and nothing is written. The
answers are the pull receiver's (same Ack, same faults)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sync_engine.pull.outbound import ACK, MAX_BODY_BYTES, MessageRejected
from sync_engine.pull.views import _fault as soap_fault
from sync_engine.quotes.receiver import connection_for_token, quote_notifications_receive

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def quote_receive(request: HttpRequest, token: str) -> HttpResponse:
    connection = connection_for_token(token)
    if connection is None:
        return soap_fault(404, "Unknown endpoint.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return soap_fault(413, "The message is larger than 5 MB.")
    body = request.read(MAX_BODY_BYTES + 1)
    try:
        quote_notifications_receive(connection=connection, body=body)
    except MessageRejected as exc:
        logger.info("Quote Outbound Message refused for connection %s: %s", connection.pk, exc.reason)
        return soap_fault(exc.status, exc.reason)
    return HttpResponse(ACK, content_type="text/xml; charset=utf-8")
