"""Reads for proposals and quotes, always scoped to one tenant."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from cothon.models import Tenant
from proposals.models import Proposal, Quote


def proposal_list(*, tenant: Tenant) -> QuerySet[Proposal]:
    return Proposal.objects.filter(tenant=tenant).select_related("opportunity").prefetch_related("sections")


def proposal_get(*, tenant: Tenant, pk: Any) -> Proposal:
    return get_object_or_404(proposal_list(tenant=tenant), pk=pk)


def quote_list(*, tenant: Tenant) -> QuerySet[Quote]:
    return Quote.objects.filter(tenant=tenant).select_related("opportunity").prefetch_related("line_items")


def quote_get(*, tenant: Tenant, pk: Any) -> Quote:
    return get_object_or_404(quote_list(tenant=tenant), pk=pk)
