"""REST API of proposals (/api/v1/proposals/; quotes: proposals/quote_api.py). Thin views over
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
from proposals.models import Proposal, ProposalStatus
from proposals.pdf import PdfRenderingUnavailable
from proposals.serializers import ProposalSerializer, ProposalUpdateSerializer


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "This feature is not available on this server."
    default_code = "service_unavailable"


class ProposalFilter(django_filters.FilterSet):
    opportunity = IdFilter(field_name="opportunity_id", help_text="Opportunity id.")
    status = django_filters.ChoiceFilter(choices=ProposalStatus.choices)


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
