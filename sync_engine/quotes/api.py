"""REST API of Send to Salesforce: POST /api/v1/quotes/{id}/send/ queues a send (member) and
answers at once with the quote's send state; GET of the same URL reads that state (anyone of the
tenant) — poll it until `latest.status` is `sent` or `failed`. Thin views over
sync_engine/quotes/send.py; another organization's quote is a 404. Registered in
cothon/api/urls.py before the quotes view set (detail actions only, no list)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from proposals import selectors as proposal_selectors
from proposals.models import Quote
from sync_engine.api import COMMON_ERRORS, Conflict, _error
from sync_engine.quotes import send as send_service
from sync_engine.quotes.models import QuoteSend
from sync_engine.quotes.send_selectors import SendPanel, quote_send_panel


class QuoteSendSerializer(serializers.ModelSerializer):
    requested_by = serializers.SerializerMethodField(help_text="Username of who sent it.")

    class Meta:
        model = QuoteSend
        fields = ["id", "status", "sobject", "salesforce_id", "currency", "amount", "amount_updated", "file_name",
                  "content_document_id", "content_version_id", "version_number", "attempts", "next_attempt_at", "api_calls",
                  "error_code", "error_message", "error_hint", "requested_by", "requested_at", "started_at", "finished_at"]
        read_only_fields = fields
        extra_kwargs = {
            "status": {"help_text": "queued → sending (→ retrying, for lock contention) → sent or failed."},
            "salesforce_id": {"help_text": "The Salesforce opportunity written to."},
            "amount": {"help_text": "The quote's total sent as the opportunity's Amount."},
            "amount_updated": {"help_text": "Salesforce accepted the Amount (a failed send may have set it and not the file)."},
            "content_document_id": {"help_text": "The quote's one file on the opportunity (the same for every send)."},
            "version_number": {"help_text": "This send's version of that file: 1 for the first send, then 2, 3 …"},
            "error_hint": {"help_text": "What a person can do about the error."},
        }

    def get_requested_by(self, send: QuoteSend) -> str | None:
        return send.requested_by.get_username() if send.requested_by_id else None


class QuoteSendStateSerializer(serializers.Serializer):
    quote = serializers.IntegerField()
    enabled = serializers.BooleanField(help_text="Whether the quote may be sent now (false while a send is in flight).")
    refusal_code = serializers.CharField(help_text="Why not: `no_opportunity`, `not_connected`, `sync_back_off`, or `sending`; "
                                                   "empty when enabled.")
    refusal = serializers.CharField(help_text="The same, in words a person can act on.")
    connection = serializers.IntegerField(allow_null=True)
    salesforce_opportunity_id = serializers.CharField(help_text="The opportunity a send writes to; empty if none.")
    opportunity_url = serializers.CharField(help_text="Open in Salesforce: the opportunity's page.")
    latest = QuoteSendSerializer(allow_null=True, help_text="The latest send (in flight, or its result); null if never sent.")
    last_sent = QuoteSendSerializer(allow_null=True, help_text="The latest send that landed.")


def _state(panel: SendPanel) -> dict:
    target = panel.target
    code, refusal = (target.code, target.refusal) if not target.enabled else (
        ("sending", "This quote is being sent to Salesforce already; wait for the result.") if panel.busy else ("", ""))
    return {"quote": panel.quote.pk, "enabled": panel.can_send, "refusal_code": code, "refusal": refusal,
            "connection": target.link.connection_id if target.link else None,
            "salesforce_opportunity_id": target.link.salesforce_id if target.link else "",
            "opportunity_url": panel.opportunity_url, "latest": panel.latest, "last_sent": panel.last_sent}


class QuoteSendViewSet(viewsets.GenericViewSet):
    """Send to Salesforce of a quote: its Amount and PDF to the Salesforce opportunity."""

    write_role = "member"
    filter_backends: list = []
    serializer_class = QuoteSendStateSerializer
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Quote.objects.none()
        return proposal_selectors.quote_list(tenant=self.request.tenant)

    def _quote(self) -> Quote:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def _respond(self, quote: Quote, code: int = status.HTTP_200_OK) -> Response:
        panel = quote_send_panel(tenant=self.request.tenant, quote=quote)
        return Response(QuoteSendStateSerializer(_state(panel)).data, status=code)

    @extend_schema(
        methods=["GET"], tags=["quotes"], summary="The quote's Send to Salesforce state",
        description="Whether the quote may be sent (and why not), its Salesforce opportunity, the latest send and the "
                    "latest that landed. Poll it after a POST until `latest.status` is `sent` or `failed`.",
        responses={200: QuoteSendStateSerializer, **COMMON_ERRORS})
    @extend_schema(
        methods=["POST"], tags=["quotes"], summary="Send the quote to Salesforce (member)", request=None,
        description="Queues a send: the Salesforce opportunity's Amount becomes the quote's total and the quote PDF is "
                    "attached to it (the first send creates the file, every later send adds a version of the same file). "
                    "Answers 202 at once with the state; a worker does the calls. Refused with 409: `no_opportunity` (the "
                    "quote has no Salesforce opportunity), `not_connected`, `sync_back_off` (the connection's quote "
                    "settings do not allow sending back) or `sending` (a send of this quote is in flight).",
        responses={202: QuoteSendStateSerializer, **COMMON_ERRORS,
                   409: _error("`code` `no_opportunity`, `not_connected`, `sync_back_off` or `sending`; nothing was queued.")})
    @action(detail=True, methods=["get", "post"], url_path="send")
    def send(self, request: Request, pk: str | None = None) -> Response:
        quote = self._quote()
        if request.method == "GET":
            return self._respond(quote)
        try:
            send_service.quote_send_request(tenant=request.tenant, quote=quote, actor=request.user)
        except send_service.SendRefused as exc:
            raise Conflict(exc.messages[0], code=exc.code) from exc
        return self._respond(quote, status.HTTP_202_ACCEPTED)
