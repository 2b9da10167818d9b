"""The quote receiver's HTTP end: Salesforce POSTs the "Cothon integration" Outbound Message
here (no login, no CSRF token — the URL's secret token names the connection and the
OrganizationId must be that connection's org). The Ack goes out only once the notifications
are committed; anything refused gets a SOAP fault with a 4xx and nothing is written. The
answers are the pull receiver's (same Ack, same faults)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sync_engine.pull.views import outbound_answer
from sync_engine.quotes.receiver import connection_for_token, quote_notifications_receive


@csrf_exempt
@require_POST
def quote_receive(request: HttpRequest, token: str) -> HttpResponse:
    return outbound_answer(request, connection_for_token(token), quote_notifications_receive, "Quote Outbound Message")
