"""REST API of the daily validation (/api/v1/drift-reports/): the drift reports of your
connections (read only, newest first, kept 30 days) and "Validate now". Admins only; another
tenant's report or connection is a 404."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from integrations import selectors as integration_selectors
from sync_engine.api import COMMON_ERRORS, Conflict, SyncApiValidationErrorSerializer, _error, _TenantScoped
from sync_engine.validation import selectors, services
from sync_engine.validation.models import DriftReport


class DriftReportSerializer(serializers.ModelSerializer):
    complete = serializers.BooleanField(read_only=True, help_text="The Salesforce read was complete: every repair could be made.")
    counts = serializers.SerializerMethodField(help_text="Drift by kind.")

    class Meta:
        model = DriftReport
        fields = ["id", "connection", "run", "status", "complete", "reason", "sobject", "read_method", "rows_read", "rows_expected",
                  "records_compared", "counts", "records_with_differences", "repairs", "examples", "api_calls", "created_at",
                  "started_at", "finished_at"]
        read_only_fields = fields

    def get_counts(self, report: DriftReport) -> dict[str, int]:
        return {"missing_in_salesforce": report.missing_in_salesforce, "missing_in_cothon": report.missing_in_cothon,
                "field_differences": report.field_differences, "orphans": report.orphans}


class ValidateStartSerializer(serializers.Serializer):
    connection = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="Id of one of your Salesforce connections.")


class DriftReportFilterSerializer(serializers.Serializer):
    connection = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


@extend_schema_view(
    list=extend_schema(summary="Drift reports of the daily validation (admin)",
                       parameters=[OpenApiParameter("connection", int, description="Only this connection's reports.")],
                       responses={200: DriftReportSerializer(many=True), **COMMON_ERRORS}),
    retrieve=extend_schema(summary="One drift report (admin)", responses={200: DriftReportSerializer, **COMMON_ERRORS}),
)
class DriftReportViewSet(_TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """What the daily validation found between Cothon and each Salesforce org, and what it repaired."""

    serializer_class = DriftReportSerializer
    read_role = "admin"
    write_role = "admin"
    filter_backends: list = []

    def get_queryset(self):
        if self.is_schema_generation():
            return DriftReport.objects.none()
        filters = DriftReportFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        reports = selectors.drift_report_list(tenant=self.request.tenant)
        if "connection" in filters.validated_data:
            reports = reports.filter(connection_id=filters.validated_data["connection"])
        return reports

    def get_object(self) -> DriftReport:
        return selectors.drift_report_get(tenant=self.request.tenant, pk=self.kwargs["pk"])

    @extend_schema(
        summary="Validate now (admin)",
        description="Queues a validation of the connection and answers its report at once (status `running`); poll "
                    "`GET /api/v1/drift-reports/{id}/`. One validation at a time per connection.",
        request=ValidateStartSerializer,
        responses={201: DriftReportSerializer,
                   400: OpenApiResponse(SyncApiValidationErrorSerializer, description="`connection` missing or not a number."),
                   **COMMON_ERRORS,
                   409: _error("`code` `not_startable`: the connection is not connected, or a validation is running.")},
    )
    def create(self, request: Request) -> Response:
        start = ValidateStartSerializer(data=request.data)
        start.is_valid(raise_exception=True)
        connection = integration_selectors.salesforce_connection_list(tenant=request.tenant).filter(
            pk=start.validated_data["connection"]).first()
        if connection is None:
            raise NotFound("No such connection.")
        try:
            report = services.validation_start(connection=connection, actor=request.user)
        except ValidationError as exc:
            raise Conflict(" ".join(exc.messages), code="not_startable") from exc
        return Response(DriftReportSerializer(report).data, status=status.HTTP_201_CREATED)
