"""REST API of proposals and quotes (/api/v1/proposals/, /api/v1/quotes/). Thin views over
proposals/selectors.py (tenant-scoped reads) and proposals/services.py (writes)."""

from __future__ import annotations

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from opportunities.api import TenantViewSetMixin
from opportunities.filters import CheckedSearchFilter, IdFilter, StableOrderingFilter
from proposals import selectors, services
from proposals.downloads import proposal_document_response
from proposals.models import Proposal, ProposalStatus, Quote, QuoteStatus
from proposals.pdf import PdfRenderingUnavailable
from proposals.serializers import (
    ProposalSerializer,
    ProposalUpdateSerializer,
    QuoteLineItemSerializer,
    QuoteSerializer,
)


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "This feature is not available on this server."
    default_code = "service_unavailable"


class ProposalFilter(django_filters.FilterSet):
    opportunity = IdFilter(field_name="opportunity_id", help_text="Opportunity id.")
    status = django_filters.ChoiceFilter(choices=ProposalStatus.choices)


class QuoteFilter(django_filters.FilterSet):
    opportunity = IdFilter(field_name="opportunity_id", help_text="Opportunity id.")
    status = django_filters.ChoiceFilter(choices=QuoteStatus.choices)


@extend_schema_view(
    list=extend_schema(summary="List proposals", tags=["proposals"]),
    create=extend_schema(summary="Create a proposal with its sections", tags=["proposals"]),
    retrieve=extend_schema(summary="Get a proposal with its sections", tags=["proposals"]),
    update=extend_schema(summary="Replace a proposal (title, status, sections)", tags=["proposals"]),
    partial_update=extend_schema(summary="Change fields of a proposal", tags=["proposals"]),
)
class ProposalViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Proposals for opportunities, with their ordered sections and generated PDF."""

    filterset_class = ProposalFilter
    # Statuses of an action besides the common ones (cothon/api/schema.py documents them).
    error_statuses = {"generate": ["503"]}
    filter_backends = [DjangoFilterBackend, CheckedSearchFilter, StableOrderingFilter]
    search_fields = ["title", "opportunity__title", "opportunity__reference"]
    ordering_fields = ["title", "status", "generated_at", "created_at", "updated_at", "id"]

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return ProposalUpdateSerializer
        return ProposalSerializer

    model = Proposal

    def tenant_queryset(self, tenant):
        return selectors.proposal_list(tenant=tenant)

    def perform_create(self, serializer) -> None:
        data = dict(serializer.validated_data)
        proposal = services.proposal_create(
            tenant=self.tenant, opportunity=data["opportunity"], title=data["title"], created_by=self.request.user,
            sections=data.get("sections"),
        )
        serializer.instance = selectors.proposal_get(tenant=self.tenant, pk=proposal.pk)

    def perform_update(self, serializer) -> None:
        data = dict(serializer.validated_data)
        sections = data.pop("sections", None)
        services.proposal_update(tenant=self.tenant, proposal=serializer.instance, data=data, sections=sections)
        # Re-read: the sections prefetched with the old instance may have been replaced.
        serializer.instance = selectors.proposal_get(tenant=self.tenant, pk=serializer.instance.pk)

    @extend_schema(summary="Generate the proposal PDF", tags=["proposals"], request=None, responses=ProposalSerializer,
                   description="Renders the sections to a PDF, marks the proposal ready for review and queues the "
                               "sync. 400 when the proposal has no section.")
    @action(detail=True, methods=["post"], filter_backends=[])
    def generate(self, request: Request, pk: str | None = None) -> Response:
        proposal = self.get_object()
        try:
            services.proposal_generate(tenant=self.tenant, proposal=proposal)
        except PdfRenderingUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from exc
        proposal = selectors.proposal_get(tenant=self.tenant, pk=proposal.pk)
        return Response(ProposalSerializer(proposal, context=self.get_serializer_context()).data)

    @extend_schema(summary="Download the generated proposal PDF", tags=["proposals"],
                   responses={(200, "application/pdf"): OpenApiTypes.BINARY},
                   description="The PDF made by `generate`. 404 until the proposal has been generated.")
    @action(detail=True, methods=["get"], filter_backends=[])
    def document(self, request: Request, pk: str | None = None) -> FileResponse:
        return proposal_document_response(self.get_object(), inline=False)


@extend_schema_view(
    list=extend_schema(summary="List quotes", tags=["quotes"]),
    create=extend_schema(summary="Create a quote with its line items", tags=["quotes"]),
    retrieve=extend_schema(summary="Get a quote with its line items", tags=["quotes"]),
)
class QuoteViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Quotes with line items; the total is recomputed on every added line."""

    serializer_class = QuoteSerializer
    filterset_class = QuoteFilter
    filter_backends = [DjangoFilterBackend, CheckedSearchFilter, StableOrderingFilter]
    search_fields = ["number", "title", "company_name", "contact_name"]
    ordering_fields = ["number", "title", "status", "total", "created_at", "updated_at", "id"]

    model = Quote

    def tenant_queryset(self, tenant):
        return selectors.quote_list(tenant=tenant)

    def perform_create(self, serializer) -> None:
        quote = services.quote_create_with_lines(tenant=self.tenant, **serializer.validated_data)
        serializer.instance = selectors.quote_get(tenant=self.tenant, pk=quote.pk)

    @extend_schema(methods=["GET"], summary="List the line items of a quote", tags=["quotes"],
                   responses=QuoteLineItemSerializer(many=True))
    @extend_schema(methods=["POST"], summary="Add a line item to a quote", tags=["quotes"],
                   request=QuoteLineItemSerializer, responses={201: QuoteLineItemSerializer},
                   description="Appends the line and recomputes the quote's total.")
    @action(detail=True, methods=["get", "post"], url_path="line-items", serializer_class=QuoteLineItemSerializer,
            filter_backends=[])
    def line_items(self, request: Request, pk: str | None = None) -> Response:
        quote = self.get_object()
        if request.method == "GET":
            return self.nested_list(quote.line_items.all(), QuoteLineItemSerializer)
        data = self.nested_input(QuoteLineItemSerializer)
        item = services.quote_line_add(tenant=self.tenant, quote=quote, **data)
        return Response(QuoteLineItemSerializer(item, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)
