"""`{% quote_send_panel quote as panel %}`: what the quote page's Salesforce actions show
(templates/sync_quotes/_quote_actions.html), so the page that includes the partial needs to
pass nothing but the quote."""

from __future__ import annotations

from decimal import Decimal

from django import template

from sync_engine.quotes.send_selectors import SendPanel, quote_send_panel as panel_for

register = template.Library()


@register.simple_tag(takes_context=True)
def quote_send_panel(context, quote) -> SendPanel:
    if isinstance(context.get("panel"), SendPanel) and context["panel"].quote.pk == quote.pk:
        return context["panel"]  # the send views already read it
    request = context.get("request")
    tenant = getattr(request, "tenant", None) or quote.tenant
    return panel_for(tenant=tenant, quote=quote)


@register.filter
def quote_money(value) -> str:
    """26,753.89 — the figures as the quote PDF prints them, whatever the page's locale."""
    if value is None or value == "":
        return ""
    return f"{Decimal(value):,.2f}"
