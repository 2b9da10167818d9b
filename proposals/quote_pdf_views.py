"""The quote PDF download (Download PDF on the quote page). Rendered on request from the quote
as it is now, so it always matches the page; found with the tenant's selectors first (another
tenant's id is a 404)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from cothon.tenancy.pages import tenant_page
from proposals import selectors
from proposals.pdf import PdfRenderingUnavailable
from proposals.quote_pdf import quote_pdf_filename, render_quote_pdf


@tenant_page("viewer")
@require_GET
def quote_pdf(request: HttpRequest, quote_pk: int) -> HttpResponse:
    quote = selectors.quote_get(tenant=request.tenant, pk=quote_pk)
    try:
        data = render_quote_pdf(quote)
    except PdfRenderingUnavailable as exc:
        # A server set-up problem (a missing system library), not the quote's: said plainly.
        return HttpResponse(f"The PDF could not be made on this server: {exc}", status=503, content_type="text/plain")
    response = HttpResponse(data, content_type="application/pdf")
    disposition = "inline" if request.GET.get("inline") else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{quote_pdf_filename(quote)}"'
    # Tenant data: never cached by shared proxies.
    response["Cache-Control"] = "private, no-store"
    return response
