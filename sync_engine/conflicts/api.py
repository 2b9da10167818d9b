"""REST API of held conflicts (/api/v1/sync-conflicts/…): the review queue and its resolve
action, over the same selectors and service as the page. Every member reads the queue; admins
resolve. Another tenant's id is a 404."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from sync_engine.api import COMMON_ERRORS, SyncApiValidationErrorSerializer, _TenantScoped
from sync_engine.conflicts import selectors, services
from sync_engine.models import ConflictResolution, ConflictStatus, SyncConflict


class ConflictSerializer(serializers.ModelSerializer):
    connection_name = serializers.CharField(source="connection.name", read_only=True)
    resolved_by = serializers.SerializerMethodField(help_text="Username of who resolved it; null while open.")
    cothon_changed_by = serializers.SerializerMethodField(
        help_text="Username of who changed Cothon's side; null when not recorded (a change made before authors were "
                  "kept, or by no one signed in).")
    base_value = serializers.JSONField(read_only=True, help_text="The value both sides agreed on last (Salesforce's terms).")
    cothon_value = serializers.JSONField(read_only=True, help_text="Cothon's value, as the push would send it.")
    salesforce_value = serializers.JSONField(read_only=True, help_text="Salesforce's value, as last pulled.")
    resolved_value = serializers.JSONField(read_only=True, help_text="The value kept (Salesforce's terms); null while open.")

    class Meta:
        model = SyncConflict
        fields = ["id", "connection", "connection_name", "record_type", "record_id", "record_label", "sf_field", "cothon_field",
                  "rule", "base_value", "cothon_value", "cothon_changed_at", "cothon_changed_by", "salesforce_value", "salesforce_changed_at",
                  "salesforce_changed_by", "status", "resolution", "resolved_value", "resolved_by", "resolved_at",
                  "created_at", "updated_at"]
        read_only_fields = fields

    def get_resolved_by(self, conflict: SyncConflict) -> str | None:
        return conflict.resolved_by.get_username() if conflict.resolved_by_id else None

    def get_cothon_changed_by(self, conflict: SyncConflict) -> str | None:
        author = conflict.cothon_changed_by if conflict.cothon_changed_by_id else None
        return author.get_username() if author is not None else None


class ConflictCountSerializer(serializers.Serializer):
    connection = serializers.IntegerField(source="connection_id")
    connection_name = serializers.CharField(source="connection__name")
    record_type = serializers.CharField()
    open = serializers.IntegerField(help_text="Open conflicts (fields held for review).")


class ConflictCountsSerializer(serializers.Serializer):
    results = ConflictCountSerializer(many=True)


class ResolveOneSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=ConflictResolution.choices,
                                     help_text="`keep_cothon`, `keep_salesforce`, or `value` (then give `value`).")
    value = serializers.JSONField(required=False, allow_null=True,
                                  help_text="With `value`: the value to keep, in Salesforce's terms (a stage name, an amount, "
                                            "a date as YYYY-MM-DD).")


    def validate_value(self, value):
        if isinstance(value, (dict, list)):
            raise serializers.ValidationError("A single value (text, number, date or null).")
        if isinstance(value, str) and "\x00" in value:
            raise serializers.ValidationError("Null characters are not allowed.")
        return value


class ResolveManySerializer(ResolveOneSerializer):
    conflict_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62), min_length=1,
                                         max_length=500, help_text="Open conflicts of your organization.")


FILTERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=["open", "resolved", "all"], description="Default `open`."),
    OpenApiParameter("connection", OpenApiTypes.INT, description="Only this connection's."),
    OpenApiParameter("record", OpenApiTypes.INT, description="Only this opportunity's."),
    OpenApiParameter("field", OpenApiTypes.STR, description="Only this Salesforce field (e.g. `Amount`)."),
    OpenApiParameter("search", OpenApiTypes.STR, description="Opportunity title contains."),
]
RESOLVE_ERRORS = {400: OpenApiResponse(SyncApiValidationErrorSerializer,
                                       description="A bad `choice`, a missing or unusable `value`, or a conflict already resolved."),
                  **COMMON_ERRORS}


def _int(params, name: str) -> int | None:
    """An id filter: digits up to the largest id a database holds; anything else is a 400 naming it."""
    value = params.get(name)
    if value in (None, ""):
        return None
    if not value.isdigit() or len(value) > 19 or not 0 < int(value) < 2 ** 63:
        raise serializers.ValidationError({name: ["Must be an id (a positive whole number)."]})
    return int(value)


def _text(params, name: str, limit: int) -> str:
    value = params.get(name, "")
    if "\x00" in value:
        raise serializers.ValidationError({name: ["Null characters are not allowed."]})
    return value[:limit]


@extend_schema_view(
    list=extend_schema(summary="The conflicts queue (any member)", parameters=FILTERS,
                       responses={200: ConflictSerializer(many=True), **COMMON_ERRORS}),
    retrieve=extend_schema(summary="One conflict (any member)", responses={200: ConflictSerializer, **COMMON_ERRORS}),
)
class ConflictViewSet(_TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Fields changed both in Cothon and in Salesforce since the last sync, held for review (the
    connection's "Flag conflicts for review" setting): base, Cothon and Salesforce values, who
    changed Salesforce's and when. Resolving writes the kept value to Cothon and sends it to
    Salesforce at once."""

    serializer_class = ConflictSerializer
    write_role = "admin"
    filter_backends: list = []

    def get_queryset(self):
        if self.is_schema_generation():
            return SyncConflict.objects.none()
        params = self.request.query_params
        status = params.get("status") or ConflictStatus.OPEN
        if status not in ("open", "resolved", "all"):
            raise serializers.ValidationError({"status": ["One of open, resolved, all."]})
        return selectors.conflicts_list(tenant=self.request.tenant, status=None if status == "all" else status,
                                        connection_id=_int(params, "connection"), record_id=_int(params, "record"),
                                        sf_field=_text(params, "field", 80), search=_text(params, "search", 100))

    def get_object(self) -> SyncConflict:
        try:
            return selectors.conflict_get(tenant=self.request.tenant, conflict_id=int(self.kwargs["pk"]))
        except SyncConflict.DoesNotExist as exc:
            raise Http404 from exc

    @extend_schema(summary="Open conflicts by connection and record type (any member)",
                   parameters=[OpenApiParameter("connection", OpenApiTypes.INT, description="Only this connection's.")],
                   responses={200: ConflictCountsSerializer,
                              400: OpenApiResponse(SyncApiValidationErrorSerializer, description="A bad connection id."),
                              **COMMON_ERRORS})
    @action(detail=False, methods=["get"], serializer_class=ConflictCountsSerializer, pagination_class=None)
    def counts(self, request: Request) -> Response:
        rows = selectors.conflicts_open_counts(tenant=request.tenant, connection_id=_int(request.query_params, "connection"))
        return Response(ConflictCountsSerializer({"results": rows}).data)

    def _resolve(self, request: Request, ids: list[int], data: dict) -> Response:
        try:
            rows = services.conflict_resolve(tenant=request.tenant, conflict_ids=ids, choice=data["choice"],
                                             value=data.get("value"), actor=request.user)
        except SyncConflict.DoesNotExist as exc:
            raise Http404 from exc
        return Response(ConflictSerializer(rows, many=True).data)

    @extend_schema(summary="Resolve one conflict (admin)", request=ResolveOneSerializer,
                   responses={200: ConflictSerializer(many=True), **RESOLVE_ERRORS})
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        conflict = self.get_object()
        body = ResolveOneSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._resolve(request, [conflict.pk], body.validated_data)

    @extend_schema(summary="Resolve many conflicts the same way (admin)",
                   description="All or nothing: an id that is not an open conflict of your organization refuses the "
                               "whole request (404 for an unknown id, 400 for one already resolved).",
                   request=ResolveManySerializer, responses={200: ConflictSerializer(many=True), **RESOLVE_ERRORS})
    @action(detail=False, methods=["post"], url_path="resolve")
    def resolve_many(self, request: Request) -> Response:
        body = ResolveManySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._resolve(request, body.validated_data["conflict_ids"], body.validated_data)
