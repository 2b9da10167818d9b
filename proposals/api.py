"""REST API of proposals (/api/v1/proposals/), quotes (/api/v1/quotes/, their line items nested
under each quote), custom quote fields (/api/v1/quote-custom-fields/) and contacts — the quotes'
people (/api/v1/contacts/). Thin views over proposals/selectors.py (tenant-scoped reads: another
tenant's id is a 404) and the services (writes)."""

from __future__ import annotations

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from opportunities.api import TenantViewSetMixin
from opportunities.filters import CheckedSearchFilter, IdFilter, StableOrderingFilter
from opportunities.models import Contact
from opportunities.services import contact_create
from proposals import quote_custom_fields, quote_services, selectors, services
from proposals.downloads import proposal_document_response
from proposals.models import Proposal, ProposalStatus, Quote, QuoteCustomField, QuoteStatus
from proposals.pdf import PdfRenderingUnavailable
from proposals.serializers import (
    ContactSerializer,
    LineOrderSerializer,
    ProposalSerializer,
    ProposalUpdateSerializer,
    QuoteCustomFieldSerializer,
    QuoteCustomFieldUpdateSerializer,
    QuoteLineItemSerializer,
    QuoteLineItemUpdateSerializer,
    QuoteSerializer,
    QuoteUpdateSerializer,
)


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


# --- quotes, custom quote fields, contacts ---------------------------------------------------

class QuoteFilter(django_filters.FilterSet):
    opportunity = IdFilter(field_name="opportunity_id", help_text="Opportunity id.")
    company = IdFilter(field_name="company_id", help_text="Company (department) id.")
    person = IdFilter(field_name="person_id", help_text="Person (contact) id.")
    status = django_filters.ChoiceFilter(choices=QuoteStatus.choices)


LINE_ID = OpenApiParameter("line_pk", int, OpenApiParameter.PATH, description="Line item id.")


@extend_schema_view(
    list=extend_schema(summary="List quotes", tags=["quotes"]),
    create=extend_schema(summary="Create a quote with its line items", tags=["quotes"],
                         description="All or nothing: a bad line is a 400 on `line_items` (\"Line N, field: …\")."),
    retrieve=extend_schema(summary="Get a quote with its line items", tags=["quotes"]),
    update=extend_schema(summary="Replace a quote's fields (not its lines)", tags=["quotes"]),
    partial_update=extend_schema(summary="Change fields of a quote", tags=["quotes"]),
    destroy=extend_schema(summary="Delete a quote and its lines", tags=["quotes"],
                          description="A Salesforce opportunity it came from is left alone (and makes no new quote)."),
)
class QuoteViewSet(TenantViewSetMixin, viewsets.ModelViewSet):
    """Quotes to a company (department) and person (contact), with line items; subtotal, discount,
    tax and total are recomputed exactly on every line change."""

    filterset_class = QuoteFilter
    filter_backends = [DjangoFilterBackend, CheckedSearchFilter, StableOrderingFilter]
    search_fields = ["number", "title", "company_name", "contact_name", "company__name"]
    ordering_fields = ["number", "title", "status", "total", "valid_until", "created_at", "updated_at", "id"]

    model = Quote

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return QuoteUpdateSerializer
        return QuoteSerializer

    def tenant_queryset(self, tenant):
        return selectors.quote_list(tenant=tenant)

    def perform_create(self, serializer) -> None:
        quote = quote_services.quote_create(tenant=self.tenant, **serializer.validated_data)
        serializer.instance = selectors.quote_get(tenant=self.tenant, pk=quote.pk)

    def perform_update(self, serializer) -> None:
        quote = quote_services.quote_update(tenant=self.tenant, quote=serializer.instance,
                                            data=serializer.validated_data)
        serializer.instance = selectors.quote_get(tenant=self.tenant, pk=quote.pk)

    def perform_destroy(self, instance: Quote) -> None:
        quote_services.quote_delete(tenant=self.tenant, quote=instance)

    def _line_response(self, line, code: int = status.HTTP_200_OK) -> Response:
        return Response(QuoteLineItemSerializer(line, context=self.get_serializer_context()).data, status=code)

    @extend_schema(methods=["GET"], summary="List the line items of a quote", tags=["quotes"],
                   responses=QuoteLineItemSerializer(many=True))
    @extend_schema(methods=["POST"], summary="Add a line item to a quote", tags=["quotes"],
                   request=QuoteLineItemSerializer, responses={201: QuoteLineItemSerializer},
                   description="Appends the line and recomputes the quote's totals.")
    @action(detail=True, methods=["get", "post"], url_path="line-items", serializer_class=QuoteLineItemSerializer,
            filter_backends=[])
    def line_items(self, request: Request, pk: str | None = None) -> Response:
        quote = self.get_object()
        if request.method == "GET":
            return self.nested_list(quote.line_items.all(), QuoteLineItemSerializer)
        data = self.nested_input(QuoteLineItemSerializer)
        item = quote_services.quote_line_add(tenant=self.tenant, quote=quote, **data)
        return self._line_response(item, status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], summary="Get a line item", tags=["quotes"], parameters=[LINE_ID],
                   responses=QuoteLineItemSerializer)
    @extend_schema(methods=["PUT"], summary="Replace a line item", tags=["quotes"], parameters=[LINE_ID],
                   request=QuoteLineItemSerializer, responses=QuoteLineItemSerializer,
                   description="Omitted fields get their defaults, as on creation. Recomputes the quote's totals; a "
                               "change that would overflow them is a 400 on `total`.")
    @extend_schema(methods=["PATCH"], summary="Change fields of a line item", tags=["quotes"], parameters=[LINE_ID],
                   request=QuoteLineItemUpdateSerializer, responses=QuoteLineItemSerializer,
                   description="Recomputes the quote's totals; a change that would overflow them is a 400 on `total`.")
    @extend_schema(methods=["DELETE"], summary="Remove a line item", tags=["quotes"], parameters=[LINE_ID],
                   request=None, responses={204: None})
    @action(detail=True, methods=["get", "put", "patch", "delete"], url_path=r"line-items/(?P<line_pk>[0-9]{1,18})",
            url_name="line-item", serializer_class=QuoteLineItemUpdateSerializer, filter_backends=[])
    def line_item(self, request: Request, pk: str | None = None, line_pk: str | None = None) -> Response:
        quote = self.get_object()
        line = selectors.quote_line_get(tenant=self.tenant, quote=quote, pk=line_pk)
        if request.method == "GET":
            return self._line_response(line)
        if request.method == "DELETE":
            quote_services.quote_line_remove(tenant=self.tenant, line=line)
            return Response(status=status.HTTP_204_NO_CONTENT)
        partial = request.method == "PATCH"
        serializer_class = QuoteLineItemUpdateSerializer if partial else QuoteLineItemSerializer
        serializer = serializer_class(line, data=request.data, partial=partial, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        line = quote_services.quote_line_update(tenant=self.tenant, line=line, data=serializer.validated_data)
        return self._line_response(line)

    @extend_schema(summary="Reorder the line items of a quote", tags=["quotes"], request=LineOrderSerializer,
                   responses=QuoteLineItemSerializer(many=True))
    @action(detail=True, methods=["post"], url_path="line-items/reorder", url_name="reorder-line-items",
            serializer_class=LineOrderSerializer, filter_backends=[])
    def reorder_line_items(self, request: Request, pk: str | None = None) -> Response:
        quote = self.get_object()
        data = self.nested_input(LineOrderSerializer)
        lines = quote_services.quote_lines_reorder(tenant=self.tenant, quote=quote, line_ids=data["order"])
        return Response(QuoteLineItemSerializer(lines, many=True, context=self.get_serializer_context()).data)


@extend_schema_view(
    list=extend_schema(summary="List custom quote fields", tags=["quotes"]),
    create=extend_schema(summary="Add a custom quote field", tags=["quotes"]),
    retrieve=extend_schema(summary="Get a custom quote field", tags=["quotes"]),
    update=extend_schema(summary="Replace a custom quote field (label, options, position)", tags=["quotes"]),
    partial_update=extend_schema(summary="Change a custom quote field", tags=["quotes"]),
    destroy=extend_schema(summary="Delete a custom quote field and its values", tags=["quotes"]),
)
class QuoteCustomFieldViewSet(TenantViewSetMixin, viewsets.ModelViewSet):
    """Fields your organization adds to its quotes: text, number, checkbox or drop-down list.
    Admins change them; everyone reads them."""

    write_role = "admin"
    filter_backends = [StableOrderingFilter]
    ordering_fields = ["position", "label", "key", "id"]
    model = QuoteCustomField

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return QuoteCustomFieldUpdateSerializer
        return QuoteCustomFieldSerializer

    def tenant_queryset(self, tenant):
        return selectors.quote_custom_field_list(tenant=tenant)

    def perform_create(self, serializer) -> None:
        serializer.instance = quote_custom_fields.quote_custom_field_create(tenant=self.tenant, **serializer.validated_data)

    def perform_update(self, serializer) -> None:
        serializer.instance = quote_custom_fields.quote_custom_field_update(
            tenant=self.tenant, field=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: QuoteCustomField) -> None:
        quote_custom_fields.quote_custom_field_delete(tenant=self.tenant, field=instance)


class ContactFilter(django_filters.FilterSet):
    department = IdFilter(field_name="department_id", help_text="Company (department) id.")


@extend_schema_view(
    list=extend_schema(summary="List contacts (people)", tags=["contacts"]),
    create=extend_schema(summary="Add a contact", tags=["contacts"]),
    retrieve=extend_schema(summary="Get a contact", tags=["contacts"]),
    update=extend_schema(summary="Replace a contact", tags=["contacts"]),
    partial_update=extend_schema(summary="Change fields of a contact", tags=["contacts"]),
    destroy=extend_schema(summary="Delete a contact", tags=["contacts"],
                          description="Quotes addressed to them keep the name as text; their opportunity roles go."),
)
class ContactViewSet(TenantViewSetMixin, viewsets.ModelViewSet):
    """The people of your companies (departments): quotes are addressed to them; Salesforce Contacts."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    filter_backends = [DjangoFilterBackend, CheckedSearchFilter, StableOrderingFilter]
    search_fields = ["first_name", "last_name", "email"]
    ordering_fields = ["last_name", "first_name", "email", "created_at", "updated_at", "id"]
    model = Contact

    def tenant_queryset(self, tenant):
        return selectors.contact_list(tenant=tenant)

    def perform_create(self, serializer) -> None:
        serializer.instance = contact_create(tenant=self.tenant, **serializer.validated_data)

    def perform_update(self, serializer) -> None:
        serializer.instance = services.contact_update(tenant=self.tenant, contact=serializer.instance,
                                                              data=serializer.validated_data)

    def perform_destroy(self, instance: Contact) -> None:
        services.contact_delete(tenant=self.tenant, contact=instance)
