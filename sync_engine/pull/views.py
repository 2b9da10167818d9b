"""The Outbound Message receiver: Salesforce POSTs SOAP here (no login, no CSRF token — the
URL's secret token names the connection and the OrganizationId must be that connection's org).

It answers the Ack only once the notifications are committed; anything refused (malformed,
oversized, another org, an unknown endpoint) gets a 4xx and nothing is written."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sync_engine.pull.outbound import ACK, MAX_BODY_BYTES, MessageRejected, connection_for_token, notifications_receive

logger = logging.getLogger(__name__)


def _fault(status: int, reason: str) -> HttpResponse:
    from xml.sax.saxutils import escape

    body = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
            f"<soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>{escape(reason)}</faultstring>"
            "</soapenv:Fault></soapenv:Body></soapenv:Envelope>")
    return HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")


@csrf_exempt
@require_POST
def outbound_receive(request: HttpRequest, token: str) -> HttpResponse:
    return outbound_answer(request, connection_for_token(token), notifications_receive, "Outbound Message")


def outbound_answer(request: HttpRequest, connection, receive, what: str) -> HttpResponse:
    """The receivers' HTTP part (the pull's and the quotes'): the size cap, `receive(connection=,
    body=)` storing the notifications, then the Ack — or a SOAP fault with nothing written."""
    if connection is None:
        return _fault(404, "Unknown endpoint.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return _fault(413, "The message is larger than 5 MB.")
    # Read the stream directly: DATA_UPLOAD_MAX_MEMORY_SIZE guards form posts, this has its own cap.
    body = request.read(MAX_BODY_BYTES + 1)
    try:
        receive(connection=connection, body=body)
    except MessageRejected as exc:
        logger.info("%s refused for connection %s: %s", what, connection.pk, exc.reason)
        return _fault(exc.status, exc.reason)
    return HttpResponse(ACK, content_type="text/xml; charset=utf-8")
