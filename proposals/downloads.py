"""The generated proposal PDF as an HTTP download.

Documents are never served from a public /media/ URL: every download goes through a
tenant-scoped view (HTML or API) that found the proposal with the tenant's selectors first.
"""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.utils.text import slugify

from proposals.models import Proposal


def proposal_document_response(proposal: Proposal, *, inline: bool = True) -> FileResponse:
    """Stream the proposal's PDF; 404 when it was never generated or its file is gone."""
    if not proposal.document:
        raise Http404("This proposal has not been generated yet.")
    try:
        handle = proposal.document.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The generated document is missing; generate the proposal again.") from exc
    filename = f"{slugify(proposal.title)[:80] or 'proposal'}.pdf"
    response = FileResponse(handle, content_type="application/pdf", as_attachment=not inline, filename=filename)
    # Tenant data: never cached by shared proxies.
    response["Cache-Control"] = "private, no-store"
    return response
