"""Reads of Send to Salesforce: where a quote would go and whether it may (`quote_send_target`),
and what the quote page shows (`quote_send_panel`: the latest send, the last one that landed,
the links). Always scoped to one tenant."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from cothon.models import Tenant
from integrations.models import ConnectionStatus
from proposals.models import Quote
from sync_engine import links
from sync_engine.models import SyncLink
from sync_engine.quotes.models import QuoteSend, QuoteSendStatus, QuoteSettings

# An in-flight send untouched this long lost its worker (killed, or its message lost): it no
# longer blocks a new send. A new send finds the file by its key, so it still adds a version.
STALE_AFTER = datetime.timedelta(minutes=5)
SYNC_BACK_WHERE = ("An admin can turn on “Sync quoted sum back to Salesforce” in Settings › Integrations › "
                   "Salesforce › Quotes.")


@dataclass(frozen=True)
class SendTarget:
    """Where a quote would go, and whether it may: `refusal` is empty when it may."""

    link: SyncLink | None
    settings: QuoteSettings | None
    refusal: str = ""
    code: str = ""

    @property
    def enabled(self) -> bool:
        return not self.refusal

    @property
    def opportunity_url(self) -> str:
        return self.link.salesforce_url if self.link is not None else ""


def quote_send_target(*, tenant: Tenant, quote: Quote) -> SendTarget:
    """The quote's Salesforce opportunity and connection, and why it may not be sent (if so):
    `code` no_opportunity, not_connected or sync_back_off."""
    link = links.quote_salesforce_partner(tenant=tenant, quote=quote)
    if link is None:
        return SendTarget(None, None, "This quote has no Salesforce opportunity: it did not come from one, and its Cothon "
                                      "opportunity (if any) is not synced yet.", "no_opportunity")
    connection = link.connection
    settings = QuoteSettings.objects.filter(connection=connection).first()
    if connection.status != ConnectionStatus.CONNECTED:
        return SendTarget(link, settings, f"The Salesforce connection “{connection.name}” is "
                                          f"{connection.get_status_display().lower()}; an admin must reconnect it.",
                          "not_connected")
    if settings is None or not settings.sync_back:
        return SendTarget(link, settings, f"Sending quotes back is turned off for “{connection.name}”. {SYNC_BACK_WHERE}",
                          "sync_back_off")
    return SendTarget(link, settings)


def send_is_stale(send: QuoteSend, now: datetime.datetime | None = None) -> bool:
    return send.in_flight and send.updated_at < (now or timezone.now()) - STALE_AFTER


def quote_send_list(*, tenant: Tenant, quote: Quote):
    return QuoteSend.objects.filter(tenant=tenant, quote=quote).select_related("requested_by", "connection").order_by("-id")


@dataclass(frozen=True)
class SendPanel:
    """The quote page's Salesforce actions: may it be sent, the latest send (in flight or its
    result) and the last one that landed."""

    quote: Quote
    target: SendTarget
    latest: QuoteSend | None
    last_sent: QuoteSend | None
    stale: bool

    @property
    def busy(self) -> bool:
        return self.latest is not None and self.latest.in_flight and not self.stale

    @property
    def can_send(self) -> bool:
        return self.target.enabled and not self.busy

    @property
    def opportunity_id(self) -> str:
        if self.target.link is not None:
            return self.target.link.salesforce_id
        return self.last_sent.salesforce_id if self.last_sent else ""

    @property
    def opportunity_url(self) -> str:
        if self.target.link is not None:
            return self.target.opportunity_url
        sent = self.last_sent
        return sent.connection.record_url(sent.sobject, sent.salesforce_id) if sent and sent.connection else ""

    @property
    def file_url(self) -> str:
        sent = self.last_sent
        if sent is None or not sent.content_document_id or sent.connection is None:
            return ""
        return sent.connection.record_url("ContentDocument", sent.content_document_id)

    @property
    def next_version(self) -> int:
        return (self.last_sent.version_number or 0) + 1 if self.last_sent else 1


def quote_send_panel(*, tenant: Tenant, quote: Quote) -> SendPanel:
    sends = list(quote_send_list(tenant=tenant, quote=quote)[:1])
    latest = sends[0] if sends else None
    last_sent = latest if latest is not None and latest.status == QuoteSendStatus.SENT else (
        quote_send_list(tenant=tenant, quote=quote).filter(status=QuoteSendStatus.SENT).first())
    return SendPanel(quote=quote, target=quote_send_target(tenant=tenant, quote=quote), latest=latest, last_sent=last_sent,
                     stale=latest is not None and send_is_stale(latest))

