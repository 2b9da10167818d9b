"""REST API of the alerts: /api/v1/alert-settings/ (GET/PUT, admin; the webhook secret only in
the answer that made it) and /api/v1/alert-incidents/ (read, every role). Tenant-scoped:
another tenant's incident is a 404."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from sync_engine.alerts import selectors, services
from sync_engine.alerts.models import AlertDelivery, AlertIncident, AlertKind, AlertSettings
from sync_engine.api import COMMON_ERRORS, SyncApiValidationErrorSerializer, _TenantScoped


class AlertSettingsSerializer(serializers.ModelSerializer):
    has_secret = serializers.BooleanField(read_only=True, help_text="A webhook signing secret is set (never returned).")

    class Meta:
        model = AlertSettings
        fields = ["enabled", "recipients", "webhook_url", "kinds", "has_secret", "secret_rotated_at", "updated_at"]
        read_only_fields = fields


class AlertSettingsWriteSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    recipients = serializers.ListField(child=serializers.CharField(max_length=254), max_length=100,
                                       help_text="E-mail addresses (at most 20).")
    webhook_url = serializers.CharField(allow_blank=True, max_length=2000,
                                        help_text="https URL on a public address, or empty for no webhook.")
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=AlertKind.choices), max_length=10,
                                  help_text="Which kinds alert.")


class AlertSettingsSavedSerializer(AlertSettingsSerializer):
    webhook_secret = serializers.CharField(read_only=True, required=False,
                                           help_text="Only in the answer that made the secret: copy it then.")

    class Meta(AlertSettingsSerializer.Meta):
        fields = [*AlertSettingsSerializer.Meta.fields, "webhook_secret"]
        read_only_fields = fields


class AlertSecretSerializer(serializers.Serializer):
    webhook_secret = serializers.CharField(help_text="The new signing secret: shown this once.")


class AlertDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertDelivery
        fields = ["id", "event", "channel", "status", "attempts", "last_error", "next_attempt_at", "sent_at", "created_at"]
        read_only_fields = fields


class AlertIncidentSerializer(serializers.ModelSerializer):
    connection_name = serializers.CharField(source="connection.name", read_only=True)
    is_open = serializers.BooleanField(read_only=True)
    deliveries = AlertDeliverySerializer(many=True, read_only=True)

    class Meta:
        model = AlertIncident
        fields = ["id", "connection", "connection_name", "kind", "is_open", "opened_at", "resolved_at", "detail", "fix",
                  "deliveries"]
        read_only_fields = fields


class IncidentFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["open", "resolved"], required=False)


def _settings_answer(row: AlertSettings, secret: str = "") -> dict:
    data = AlertSettingsSerializer(row).data
    if secret:
        data["webhook_secret"] = secret
    return data


@extend_schema_view(
    list=extend_schema(summary="The alert settings (admin)", responses={200: AlertSettingsSerializer, **COMMON_ERRORS}),
)
class AlertSettingsViewSet(_TenantScoped, viewsets.GenericViewSet):
    """Where your organization's alerts go (docs/alerts.md)."""

    serializer_class = AlertSettingsSerializer
    read_role = "admin"
    write_role = "admin"
    filter_backends: list = []
    pagination_class = None

    def get_queryset(self):
        return AlertSettings.objects.none()

    def list(self, request: Request) -> Response:
        return Response(_settings_answer(services.alert_settings_for(tenant=request.tenant)))

    @extend_schema(
        summary="Change the alert settings (admin)",
        description="Replaces every field. A webhook URL without a secret yet gets one: it is in this answer only "
                    "(`webhook_secret`).",
        request=AlertSettingsWriteSerializer,
        responses={200: AlertSettingsSavedSerializer,
                   400: OpenApiResponse(SyncApiValidationErrorSerializer, description="A bad address, URL or kind: nothing saved."),
                   **COMMON_ERRORS},
    )
    def replace(self, request: Request) -> Response:
        incoming = AlertSettingsWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        saved = services.alert_settings_save(tenant=request.tenant, actor=request.user, **incoming.validated_data)
        return Response(_settings_answer(saved.settings, saved.new_secret))

    @extend_schema(summary="Make a new webhook signing secret (admin)", request=None,
                   description="The old secret stops signing at once. The new one is in this answer only.",
                   responses={200: AlertSecretSerializer, **COMMON_ERRORS})
    @action(detail=False, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request) -> Response:
        return Response({"webhook_secret": services.alert_secret_rotate(tenant=request.tenant, actor=request.user)})


@extend_schema_view(
    list=extend_schema(summary="Alert incidents, newest first",
                       parameters=[OpenApiParameter("state", str, enum=["open", "resolved"], description="Only open or resolved ones.")],
                       responses={200: AlertIncidentSerializer(many=True), **COMMON_ERRORS}),
    retrieve=extend_schema(summary="One alert incident", responses={200: AlertIncidentSerializer, **COMMON_ERRORS}),
)
class AlertIncidentViewSet(_TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Incidents opened from your connections' health, with the delivery of each message."""

    serializer_class = AlertIncidentSerializer
    read_role = "viewer"
    filter_backends: list = []

    def get_queryset(self):
        if self.is_schema_generation():
            return AlertIncident.objects.none()
        filters = IncidentFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.alert_incident_list(tenant=self.request.tenant, state=filters.validated_data.get("state"))

    def get_object(self) -> AlertIncident:
        return selectors.alert_incident_get(tenant=self.request.tenant, pk=self.kwargs["pk"])
