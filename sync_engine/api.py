"""REST API of sync operations (/api/v1/connections/…, /api/v1/sync-runs/…): ops start, watch
and cancel a Sync Now without the browser.

Thin views over the same services as the Sync Now page (sync_now_start, sync_run_cancel).
Roles: admins list connections, start and cancel runs; every member of the tenant reads a
run. Another tenant's id is a 404, as everywhere."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from integrations.models import ConnectionStatus, SalesforceConnection
from sync_engine import selectors, services
from sync_engine.models import SyncRun, SyncRunKind

SYNC_NOW_KINDS = (SyncRunKind.FULL, SyncRunKind.INCREMENTAL)


class Conflict(exceptions.APIException):
    """The request is valid but the connection's state refuses it (409): not connected, or a
    run is already going."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The connection's state does not allow this now."
    default_code = "conflict"


# --- serializers ---------------------------------------------------------------------------

class ConnectionSerializer(serializers.ModelSerializer):
    first_full_sync_done = serializers.SerializerMethodField(
        help_text="Whether a full sync has finished. Scheduled syncs start only after the first one, which an admin starts.")

    class Meta:
        model = SalesforceConnection
        fields = ["id", "name", "environment", "status", "is_default", "push_enabled", "org_id", "instance_url",
                  "connected_at", "last_success_at", "last_error_code", "api_usage_used", "api_usage_max", "first_full_sync_done"]
        read_only_fields = fields

    def get_first_full_sync_done(self, connection: SalesforceConnection) -> bool:
        return services.first_full_sync_done(connection)


class SyncRunSerializer(serializers.ModelSerializer):
    connection_name = serializers.CharField(source="connection.name", read_only=True)
    requested_by = serializers.SerializerMethodField(help_text="Username of who started it; null for the scheduler.")
    percent = serializers.IntegerField(read_only=True, help_text="processed / total, 0–100.")
    error = serializers.CharField(source="message", read_only=True,
                                  help_text="Why the run stopped early or failed (empty when it did not).")

    class Meta:
        model = SyncRun
        fields = ["id", "connection", "connection_name", "kind", "status", "total", "processed", "succeeded", "failed",
                  "percent", "api_calls", "cancel_requested", "error", "requested_by", "created_at", "started_at",
                  "finished_at"]
        read_only_fields = fields

    def get_requested_by(self, run: SyncRun) -> str | None:
        return run.requested_by.get_username() if run.requested_by_id else None


class SyncRunStartSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in SYNC_NOW_KINDS],
                                   help_text="`full`: every record; `incremental`: what changed since the last finished run.")


class SyncApiErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


class SyncApiValidationErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(SyncApiErrorSerializer, description=description)


COMMON_ERRORS = {
    401: _error("No or invalid token (`code`: `not_authenticated` / `authentication_failed`)."),
    403: _error("Your role cannot do this (`code`: `permission_denied`)."),
    404: _error("No such id in your organization (`code`: `not_found`)."),
}


# --- views -----------------------------------------------------------------------------------

class _TenantScoped:
    lookup_value_regex = r"[0-9]{1,18}"

    def is_schema_generation(self) -> bool:
        return getattr(self, "swagger_fake_view", False)


@extend_schema_view(
    list=extend_schema(summary="List the Salesforce connections (admin)", responses={200: ConnectionSerializer(many=True), **COMMON_ERRORS}),
    retrieve=extend_schema(summary="One Salesforce connection (admin)", responses={200: ConnectionSerializer, **COMMON_ERRORS}),
)
class ConnectionViewSet(_TenantScoped, viewsets.ReadOnlyModelViewSet):
    """Salesforce connections of your organization: their ids start a Sync Now."""

    serializer_class = ConnectionSerializer
    read_role = "admin"
    write_role = "admin"
    filter_backends: list = []

    def get_queryset(self):
        if self.is_schema_generation():
            return SalesforceConnection.objects.none()
        return selectors.sync_connection_list(tenant=self.request.tenant).order_by("-is_default", "name")

    @extend_schema(
        summary="Start a Sync Now (admin)",
        description="Queues every record (`full`) or what changed since the last finished run (`incremental`) at "
                    "background priority and answers the run at once; poll `GET /api/v1/sync-runs/{id}/` for progress. "
                    "One full or incremental run at a time per connection.",
        request=SyncRunStartSerializer,
        responses={
            201: SyncRunSerializer,
            400: OpenApiResponse(SyncApiValidationErrorSerializer, description="`kind` missing or not `full` / `incremental`."),
            **COMMON_ERRORS,
            409: _error("`code` `not_connected`: the connection is not connected (reconnect it first); "
                        "`code` `sync_running`: a full or incremental run is already queued or running (cancel it or wait)."),
        },
    )
    @action(detail=True, methods=["post"], url_path="sync-runs")
    def sync_runs(self, request: Request, pk: str | None = None) -> Response:
        connection = self.get_object()
        start = SyncRunStartSerializer(data=request.data)
        start.is_valid(raise_exception=True)
        if connection.status != ConnectionStatus.CONNECTED:
            raise Conflict(f"The connection “{connection.name}” is {connection.get_status_display().lower()}; "
                           "an admin must reconnect it before syncing.", code="not_connected")
        if selectors.sync_run_active(tenant=request.tenant, connection=connection) is not None:
            raise Conflict("A sync is already running for this connection; cancel it or wait for it to finish.",
                           code="sync_running")
        try:
            with transaction.atomic():
                run = services.sync_now_start(connection=connection, kind=start.validated_data["kind"], actor=request.user)
        except ValidationError as exc:
            # A run started between the check and the call (another admin, the scheduler).
            raise Conflict(" ".join(exc.messages), code="sync_running") from exc
        run.refresh_from_db()
        return Response(SyncRunSerializer(run).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    retrieve=extend_schema(summary="A sync run's progress (any member)", responses={200: SyncRunSerializer, **COMMON_ERRORS}),
)
class SyncRunViewSet(_TenantScoped, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A sync run: status, counts, API calls spent, start and finish times, the error if any."""

    serializer_class = SyncRunSerializer
    write_role = "admin"
    filter_backends: list = []

    def get_queryset(self):
        if self.is_schema_generation():
            return SyncRun.objects.none()
        return SyncRun.objects.filter(tenant=self.request.tenant).select_related("connection", "requested_by")

    def get_object(self) -> SyncRun:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(
        summary="Cancel a Sync Now (admin)",
        description="The batch in progress finishes, then the run stops; its queued records are dropped. "
                    "Answers the run (`status` `cancelled`, or still `running` with `cancel_requested` until the batch ends). "
                    "A finished run is answered unchanged.",
        request=None,
        responses={200: SyncRunSerializer, **COMMON_ERRORS,
                   409: _error("`code` `not_cancellable`: only full and incremental runs are cancelled here.")},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        if run.kind not in SYNC_NOW_KINDS:
            raise Conflict("Only full and incremental runs can be cancelled.", code="not_cancellable")
        if run.status in selectors.ACTIVE_RUN_STATUSES and not run.cancel_requested:
            services.sync_run_cancel(run=run)
            run.refresh_from_db()
        return Response(SyncRunSerializer(run).data)
