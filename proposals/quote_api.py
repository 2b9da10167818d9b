"""REST API of quotes (/api/v1/quotes/, line items nested under each quote), custom quote fields
(/api/v1/quote-custom-fields/) and contacts — the quotes' people (/api/v1/contacts/). Thin views
over proposals/selectors.py (tenant-scoped reads: another tenant's id is a 404) and the services."""

from __future__ import annotations

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from opportunities.api import TenantViewSetMixin
from opportunities.filters import CheckedSearchFilter, IdFilter, StableOrderingFilter
from opportunities.services import contact_create
from proposals import contact_services, quote_custom_fields, quote_services, selectors
from proposals.models import Quote, QuoteCustomField, QuoteStatus
from proposals.quote_serializers import (
    ContactSerializer,
    LineOrderSerializer,
    QuoteCustomFieldSerializer,
    QuoteCustomFieldUpdateSerializer,
    QuoteLineItemSerializer,
    QuoteLineItemUpdateSerializer,
    QuoteSerializer,
    QuoteUpdateSerializer,
)
from opportunities.models import Contact


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
    @extend_schema(methods=["PUT", "PATCH"], summary="Change a line item", tags=["quotes"], parameters=[LINE_ID],
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
        serializer = QuoteLineItemUpdateSerializer(line, data=request.data, partial=request.method == "PATCH",
                                                   context=self.get_serializer_context())
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
        serializer.instance = contact_services.contact_update(tenant=self.tenant, contact=serializer.instance,
                                                              data=serializer.validated_data)

    def perform_destroy(self, instance: Contact) -> None:
        contact_services.contact_delete(tenant=self.tenant, contact=instance)
