"""REST API of the bid team's records (/api/v1/…).

Thin views: every read starts from a tenant-scoped selector (another tenant's id is a 404),
every write is one service call (validation, transaction, sync outbox). Roles come from
`cothon.tenancy.permissions.IsTenantMember`: viewers read, members and admins write.
"""

from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from django.shortcuts import get_object_or_404
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from opportunities import selectors, services
from opportunities.filters import AnalysisFilter, CheckedSearchFilter, CommentFilter, OpportunityFilter, StableOrderingFilter
from opportunities.models import BidAnalysis, Comment, Department, Opportunity
from opportunities.serializers import (
    AnalysisCompleteSerializer,
    AnalysisSerializer,
    AnalysisUpdateSerializer,
    CommentSerializer,
    DepartmentSerializer,
    OpportunitySerializer,
    RequirementSerializer,
)


class TenantViewSetMixin:
    """What every tenant-scoped API view shares."""

    # The role needed for POST/PUT/PATCH/DELETE (IsTenantMember reads it).
    write_role = "member"
    # Ids are numbers: anything else is a plain 404 from the URL resolver, never a 500.
    lookup_value_regex = r"[0-9]{1,18}"

    # Each view set says which model it serves and how the tenant's rows are read (a selector).
    model: type | None = None

    def tenant_queryset(self, tenant):
        raise NotImplementedError

    @property
    def tenant(self):
        return self.request.tenant

    def get_queryset(self):
        if self.is_schema_generation():
            return self.model.objects.none()
        return self.tenant_queryset(self.tenant)

    def get_object(self):
        # Only the tenant's rows are candidates: another tenant's id is a 404. Filters of the
        # list (query parameters) do not apply to a single object.
        obj = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, obj)
        return obj

    def is_schema_generation(self) -> bool:
        # drf-spectacular instantiates views without a real request (no tenant).
        return getattr(self, "swagger_fake_view", False)

    def nested_list(self, queryset, serializer_class) -> Response:
        """A paginated list of child rows (comments of an opportunity, requirements…)."""
        page = self.paginate_queryset(queryset)
        serializer = serializer_class(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)

    def nested_input(self, serializer_class) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


# --- departments ---------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List departments", tags=["departments"]),
    create=extend_schema(summary="Create a department", tags=["departments"]),
    retrieve=extend_schema(summary="Get a department", tags=["departments"]),
    update=extend_schema(summary="Replace a department", tags=["departments"]),
    partial_update=extend_schema(summary="Change fields of a department", tags=["departments"]),
    destroy=extend_schema(summary="Delete a department no opportunity is for", tags=["departments"],
                          description="400 (on `department`) while opportunities are for it. Its Salesforce "
                                      "Account is kept."),
)
class DepartmentViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Government buyers (departments) of your organization. Become Salesforce Accounts."""

    serializer_class = DepartmentSerializer
    filter_backends = [CheckedSearchFilter, StableOrderingFilter]
    search_fields = ["name", "acronym"]
    ordering_fields = ["name", "acronym", "created_at", "updated_at", "id"]

    model = Department

    def tenant_queryset(self, tenant):
        return selectors.department_list(tenant=tenant)

    def perform_create(self, serializer) -> None:
        data = serializer.validated_data
        services.department_validate_name(tenant=self.tenant, name=data["name"])
        serializer.instance = services.department_create(tenant=self.tenant, created_by=self.request.user, **data)

    def perform_update(self, serializer) -> None:
        data = serializer.validated_data
        if "name" in data:
            services.department_validate_name(tenant=self.tenant, name=data["name"], department=serializer.instance)
        serializer.instance = services.department_update(tenant=self.tenant, department=serializer.instance, data=data,
                                                         changed_by=self.request.user)

    def perform_destroy(self, instance) -> None:
        services.department_delete(tenant=self.tenant, department=instance)


# --- opportunities -------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List opportunities", tags=["opportunities"]),
    create=extend_schema(summary="Create an opportunity", tags=["opportunities"]),
    retrieve=extend_schema(summary="Get an opportunity", tags=["opportunities"]),
    update=extend_schema(summary="Replace an opportunity", tags=["opportunities"]),
    partial_update=extend_schema(summary="Change fields of an opportunity", tags=["opportunities"]),
    destroy=extend_schema(summary="Delete an opportunity", tags=["opportunities"],
                          description="Deletes it in Cothon; a linked Salesforce record is kept."),
)
class OpportunityViewSet(TenantViewSetMixin, viewsets.ModelViewSet):
    """Opportunities of your organization. Each carries `salesforce`: its link in the default Salesforce connection (null when not linked)."""

    serializer_class = OpportunitySerializer
    filterset_class = OpportunityFilter
    filter_backends = [DjangoFilterBackend, CheckedSearchFilter, StableOrderingFilter]
    search_fields = ["title", "reference", "department__name"]
    ordering_fields = [
        "title", "reference", "status", "closing_date", "value_min", "value_max", "compliance_score",
        "win_probability", "created_at", "updated_at", "id",
    ]

    model = Opportunity

    def tenant_queryset(self, tenant):
        return selectors.opportunity_list(tenant=tenant)

    # The services check every rule before writing and raise field-keyed errors (a duplicate
    # reference on `reference`), which the API's exception handler answers as a 400: no separate
    # validation pass here (it ran every query of the check twice per save).
    def perform_create(self, serializer) -> None:
        serializer.instance = services.opportunity_create(tenant=self.tenant, created_by=self.request.user,
                                                          **serializer.validated_data)
        # Its answer needs no read of links or queue: a record just created is pending.
        serializer.context["created_id"] = serializer.instance.pk

    def perform_update(self, serializer) -> None:
        serializer.instance = services.opportunity_update(tenant=self.tenant, opportunity=serializer.instance,
                                                          data=serializer.validated_data, changed_by=self.request.user)

    def perform_destroy(self, instance: Opportunity) -> None:
        services.opportunity_delete(tenant=self.tenant, opportunity=instance)

    @extend_schema(methods=["GET"], summary="List the comments of an opportunity", tags=["comments"],
                   responses=CommentSerializer(many=True))
    @extend_schema(methods=["POST"], summary="Comment on an opportunity", tags=["comments"],
                   request=CommentSerializer, responses={201: CommentSerializer})
    @action(detail=True, methods=["get", "post"], serializer_class=CommentSerializer, filter_backends=[])
    def comments(self, request: Request, pk: str | None = None) -> Response:
        opportunity = self.get_object()
        if request.method == "GET":
            return self.nested_list(selectors.comment_list(tenant=self.tenant, opportunity=opportunity), CommentSerializer)
        data = self.nested_input(CommentSerializer)
        comment = services.comment_create(tenant=self.tenant, opportunity=opportunity, author=request.user, body=data["body"])
        return Response(CommentSerializer(comment, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED)


# --- analyses ------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List bid analyses", tags=["analyses"]),
    create=extend_schema(summary="Start a bid analysis of an opportunity", tags=["analyses"]),
    retrieve=extend_schema(summary="Get a bid analysis with its requirements", tags=["analyses"]),
    update=extend_schema(summary="Replace the editable fields of a bid analysis", tags=["analyses"]),
    partial_update=extend_schema(summary="Change fields of a bid analysis", tags=["analyses"]),
)
class AnalysisViewSet(
    TenantViewSetMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Bid analyses of opportunities, with their requirements."""

    filterset_class = AnalysisFilter
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    ordering_fields = ["created_at", "completed_at", "compliance_score", "id"]

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return AnalysisUpdateSerializer
        return AnalysisSerializer

    model = BidAnalysis

    def tenant_queryset(self, tenant):
        return selectors.analysis_list(tenant=tenant)

    def perform_create(self, serializer) -> None:
        data = dict(serializer.validated_data)
        opportunity = data.pop("opportunity")
        serializer.instance = services.analysis_create(
            tenant=self.tenant, opportunity=opportunity, created_by=self.request.user, **data
        )

    def perform_update(self, serializer) -> None:
        serializer.instance = services.analysis_update(
            tenant=self.tenant, analysis=serializer.instance, data=serializer.validated_data
        )

    @extend_schema(summary="Complete a bid analysis", tags=["analyses"], request=AnalysisCompleteSerializer,
                   responses=AnalysisSerializer,
                   description="Marks the analysis completed and rolls its compliance score up to the opportunity "
                               "(and queues the sync). 400 when it is already completed.")
    @action(detail=True, methods=["post"], serializer_class=AnalysisCompleteSerializer, filter_backends=[])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        analysis = self.get_object()
        data = self.nested_input(AnalysisCompleteSerializer)
        analysis = services.analysis_complete(tenant=self.tenant, analysis=analysis, completed_by=request.user, **data)
        return Response(AnalysisSerializer(analysis, context=self.get_serializer_context()).data)

    @extend_schema(methods=["GET"], summary="List the requirements of an analysis", tags=["analyses"],
                   responses=RequirementSerializer(many=True))
    @extend_schema(methods=["POST"], summary="Add a requirement to an analysis", tags=["analyses"],
                   request=RequirementSerializer, responses={201: RequirementSerializer})
    @action(detail=True, methods=["get", "post"], serializer_class=RequirementSerializer, filter_backends=[])
    def requirements(self, request: Request, pk: str | None = None) -> Response:
        analysis = self.get_object()
        if request.method == "GET":
            return self.nested_list(selectors.requirement_list(tenant=self.tenant, analysis=analysis), RequirementSerializer)
        data = self.nested_input(RequirementSerializer)
        requirement = services.requirement_add(tenant=self.tenant, analysis=analysis, **data)
        return Response(RequirementSerializer(requirement, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)


# --- comments (read side; they are written under /opportunities/{id}/comments/) -------------

@extend_schema_view(
    list=extend_schema(summary="List comments", tags=["comments"]),
    retrieve=extend_schema(summary="Get a comment", tags=["comments"]),
)
class CommentViewSet(TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Comments on opportunities (read-only here; post them to /opportunities/{id}/comments/)."""

    serializer_class = CommentSerializer
    filterset_class = CommentFilter
    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    ordering_fields = ["created_at", "id"]

    model = Comment

    def tenant_queryset(self, tenant):
        return selectors.comment_list_all(tenant=tenant)
