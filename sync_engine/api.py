"""REST API of sync operations (/api/v1/connections/…, /api/v1/sync-runs/…): ops start, watch
and cancel a Sync Now without the browser.

Thin views over the same services as the Sync Now page (sync_now_start, sync_run_cancel).
Roles: admins list connections, start and cancel runs; every member of the tenant reads a
run. Another tenant's id is a 404, as everywhere."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from integrations import selectors as integration_selectors
from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.salesforce.errors import SalesforceError
from opportunities.models import Opportunity
from sync_engine import account_cache, links, partner_actions, selectors, services
from sync_engine.health import HealthStatus, connection_health
from sync_engine.health_selectors import connection_health_report
from sync_engine.health_serializers import (ConnectionHealthSerializer, ConnectionHealthSummarySerializer, health_detail,
                                            health_summary)
from sync_engine.models import SyncRun, SyncRunKind, SyncRunStatus
from sync_engine.reconcile.service import reconciliation_request

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
                                  help_text="Why the run stopped early or failed (empty when it did not); for a "
                                            "reconciliation, its one-line summary.")
    counts = serializers.JSONField(read_only=True, help_text="A reconciliation's findings: `examined`, `requeued`, "
                                                             "`applied`, `window_start`, and per side `salesforce` / `cothon`.")

    class Meta:
        model = SyncRun
        fields = ["id", "connection", "connection_name", "kind", "status", "total", "processed", "succeeded", "failed",
                  "percent", "api_calls", "cancel_requested", "error", "counts", "requested_by", "created_at", "started_at",
                  "finished_at"]
        read_only_fields = fields

    def get_requested_by(self, run: SyncRun) -> str | None:
        return run.requested_by.get_username() if run.requested_by_id else None


class SyncRunStartSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in SYNC_NOW_KINDS],
                                   help_text="`full`: every record; `incremental`: what changed since the last finished run.")


class ReconcileStartSerializer(serializers.Serializer):
    """No options: a reconciliation always covers its connection's window (docs/sync-operations.md)."""

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field: a reconciliation takes no options."] for name in unknown})
        return attrs


class AccountCacheClearSerializer(serializers.Serializer):
    """No options: the whole cache of the connection is cleared."""

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field: clearing the account cache takes no options."]
                                               for name in unknown})
        return attrs


class AccountCacheClearedSerializer(serializers.Serializer):
    removed = serializers.IntegerField(help_text="How many cached Account lookups were removed.")


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


# --- the Salesforce partner of a record (re-link, skip, re-create) --------------------------

class CandidateSerializer(serializers.Serializer):
    salesforce_id = serializers.CharField()
    name = serializers.CharField()
    reference = serializers.CharField(help_text="Cothon_Ref__c, empty when the record has none.")
    close_date = serializers.CharField(help_text="YYYY-MM-DD, empty when none.")
    stage = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    account = serializers.CharField(help_text="The Account's name, empty when none.")
    linked_record_id = serializers.IntegerField(allow_null=True,
                                                help_text="The Cothon opportunity already linked to it in this connection (then it cannot be picked).")


class CandidateSearchSerializer(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, max_length=255, help_text="Name contains (any case).")
    reference = serializers.CharField(required=False, allow_blank=True, max_length=80, help_text="Cothon_Ref__c equals.")
    close_date = serializers.DateField(required=False, allow_null=True, help_text="CloseDate equals.")


class RelinkSerializer(serializers.Serializer):
    salesforce_id = serializers.CharField(max_length=40, help_text="The 15- or 18-character id of a record of the configured opportunity object.")


class LinkStateSerializer(serializers.Serializer):
    opportunity = serializers.IntegerField()
    connection = serializers.IntegerField()
    salesforce_id = serializers.CharField(help_text="Empty when not linked (or after Re-create until the push links the new record).")
    status = serializers.CharField(help_text="pending, synced, failed, deleted_in_sf, skipped or unlinked (no link).")
    matched_by = serializers.CharField()
    skipped_by = serializers.CharField(allow_null=True)
    skipped_at = serializers.DateTimeField(allow_null=True)
    run = serializers.IntegerField(allow_null=True, help_text="The manual sync run pushing the record now (poll /api/v1/sync-runs/{id}/).")


class BulkActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[("skip", "Skip"), ("unskip", "Unskip"), ("recreate", "Re-create")])
    opportunity_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**53), min_length=1,
                                            max_length=500)


class BulkOutcomeSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.IntegerField())
    unchanged = serializers.ListField(child=serializers.IntegerField(), help_text="Already in the state asked for.")
    refused = serializers.DictField(child=serializers.CharField(), help_text="Opportunity id → why it was refused.")


PARTNER_ERRORS = {
    **COMMON_ERRORS,
    409: _error("`code` `no_default_connection`, `not_connected`, `already_linked` (the Salesforce record is linked to "
                "another Cothon record), `not_deleted` (re-create is for records deleted in Salesforce), `skipped` "
                "(unskip first) or `not_skipped`."),
    503: _error("`code` `salesforce_unavailable`: the org could not be read to check the id or to search; nothing changed."),
}


def _require_connected(connection: SalesforceConnection, doing: str) -> None:
    """A 409 `not_connected` unless the connection can make calls."""
    if connection.status != ConnectionStatus.CONNECTED:
        raise Conflict(f"The connection “{connection.name}” is {connection.get_status_display().lower()}; "
                       f"an admin must reconnect it before {doing}.", code="not_connected")


class SalesforceUnavailable(exceptions.APIException):
    """Salesforce could not be read to check or search (a temporary error, an expired session)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Salesforce could not be reached; try again."
    default_code = "salesforce_unavailable"


class BadPartnerInput(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The Salesforce record asked for cannot be used."
    default_code = "invalid"


def _partner_error(exc: "partner_actions.PartnerActionError") -> exceptions.APIException:
    if exc.conflict:
        return Conflict(exc.messages[0], code=exc.code)
    return BadPartnerInput(exc.messages[0], code=exc.code)


class PartnerErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False, help_text="no_criteria, invalid_id, wrong_object or unknown_id.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="A malformed field (a date that is not one, an id too long).")


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
        summary="Health of every connection (any member)",
        description="Each connection's health status (healthy = Connected, warning, paused, needs_reconnect, error) "
                    "and its reasons with their fixes, worst first. The detail is `GET /api/v1/connections/{id}/health/`.",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=list(HealthStatus.values),
                                     description="Only the connections in this status (e.g. `error`).")],
        responses={200: ConnectionHealthSummarySerializer(many=True),
                   400: OpenApiResponse(SyncApiValidationErrorSerializer, description="`status` is not a health status."),
                   **COMMON_ERRORS},
    )
    @action(detail=False, methods=["get"], url_path="health", read_role="viewer", pagination_class=None)
    def health_list(self, request: Request) -> Response:
        wanted = request.query_params.get("status")
        if wanted is not None and wanted not in HealthStatus.values:
            raise serializers.ValidationError({"status": [f"Not a health status; use one of {', '.join(HealthStatus.values)}."]})
        rows = [health_summary(connection, health) for connection in self.get_queryset()
                if (health := connection_health(connection=connection)) and wanted in (None, health.status)]
        return Response(ConnectionHealthSummarySerializer(rows, many=True).data)

    @extend_schema(
        summary="A connection's sync health (any member)",
        description="Status and reasons, the queue by priority and its oldest change, the last success of each schedule, "
                    "latency p50/p95 both ways over the last hour and day (bucket bounds in seconds), errors by Salesforce "
                    "code over 24 hours and 7 days with meaning and fix, API usage with its projection to the reset "
                    "(assumed midnight Pacific), open conflicts and failing records (docs/sync-operations.md, Sync health).",
        responses={200: ConnectionHealthSerializer, **COMMON_ERRORS},
    )
    @action(detail=True, methods=["get"], url_path="health", read_role="viewer")
    def health(self, request: Request, pk: str | None = None) -> Response:
        connection = self.get_object()
        return Response(ConnectionHealthSerializer(health_detail(connection_health_report(connection=connection))).data)

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
        _require_connected(connection, "syncing")
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


    @extend_schema(
        summary="Reconcile now (admin)",
        description="Queues a reconciliation of this connection (what real time and the incremental pull missed, over a "
                    "window of the last reconciliation interval plus a margin) and answers the run at once; poll "
                    "`GET /api/v1/sync-runs/{id}/` for its `status` and `counts`. One at a time per connection. "
                    "The body is empty (or `{}`).",
        request=ReconcileStartSerializer,
        responses={
            201: SyncRunSerializer,
            400: OpenApiResponse(SyncApiValidationErrorSerializer, description="The body is not an empty object."),
            **COMMON_ERRORS,
            409: _error("`code` `not_connected`: the connection is not connected; "
                        "`code` `reconciliation_running`: one is already queued or running."),
        },
    )
    @action(detail=True, methods=["post"], url_path="reconciliations")
    def reconciliations(self, request: Request, pk: str | None = None) -> Response:
        connection = self.get_object()
        body = ReconcileStartSerializer(data=request.data if request.data is not None else {})
        body.is_valid(raise_exception=True)
        _require_connected(connection, "reconciling")
        try:
            with transaction.atomic():
                run = reconciliation_request(connection=connection, actor=request.user)
        except ValidationError as exc:
            raise Conflict(" ".join(exc.messages), code="reconciliation_running") from exc
        run.refresh_from_db()
        return Response(SyncRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Clear the account cache (admin)",
        description="Forgets the connection's cached Account lookups (department name → Account id, trusted for an "
                    "hour): the next push looks Accounts up in Salesforce again. Use it when an Account was renamed, "
                    "merged or deleted in Salesforce and records still land on the old one. Noted in the connection's "
                    "event log. The body is empty (or `{}`).",
        request=AccountCacheClearSerializer,
        responses={200: AccountCacheClearedSerializer,
                   400: OpenApiResponse(SyncApiValidationErrorSerializer, description="The body is not an empty object."),
                   **COMMON_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="clear-account-cache")
    def clear_account_cache(self, request: Request, pk: str | None = None) -> Response:
        connection = self.get_object()
        body = AccountCacheClearSerializer(data=request.data if request.data is not None else {})
        body.is_valid(raise_exception=True)
        removed = account_cache.account_cache_clear(connection=connection, actor=request.user)
        return Response(AccountCacheClearedSerializer({"removed": removed}).data)

    @extend_schema(
        summary="Skip, unskip or re-create many records (admin)",
        description="Bulk action on opportunities of this connection whose Salesforce partner was deleted (`recreate`, "
                    "`skip`) or that are skipped (`unskip`). Each record is decided alone; `refused` says why one was not "
                    "changed. Re-link is per record: `POST /api/v1/opportunities/{id}/salesforce/relink/`.",
        request=BulkActionSerializer,
        responses={200: BulkOutcomeSerializer,
                   400: OpenApiResponse(PartnerErrorSerializer, description="Unknown action or bad ids."),
                   **COMMON_ERRORS, 409: _error("`code` `not_connected`: re-create needs a connected org.")},
    )
    @action(detail=True, methods=["post"], url_path="partner-gone")
    def partner_gone(self, request: Request, pk: str | None = None) -> Response:
        connection = self.get_object()
        body = BulkActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            outcome = partner_actions.opportunities_bulk_action(connection=connection, action=body.validated_data["action"],
                                                                opportunity_ids=body.validated_data["opportunity_ids"],
                                                                actor=request.user)
        except partner_actions.PartnerActionError as exc:
            raise _partner_error(exc) from exc
        return Response(BulkOutcomeSerializer({"done": outcome.done, "unchanged": outcome.unchanged,
                                               "refused": {str(k): v for k, v in outcome.refused.items()}}).data)


RUN_FILTERS = [
    OpenApiParameter("connection", OpenApiTypes.INT, description="Only this connection's runs."),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=[k.value for k in SyncRunKind]),
    OpenApiParameter("status", OpenApiTypes.STR, enum=[s.value for s in SyncRunStatus]),
]


def _choice(params, name: str, choices) -> str:
    value = params.get(name, "")
    if value and value not in {c.value for c in choices}:
        raise serializers.ValidationError({name: [f"One of {', '.join(c.value for c in choices)}."]})
    return value


@extend_schema_view(
    list=extend_schema(summary="Sync runs, newest first (any member)",
                       description="Sync Now, scheduled, reconciliation, validation and manual record runs; paged "
                                   "(`page`, `page_size`).",
                       parameters=RUN_FILTERS,
                       responses={200: SyncRunSerializer(many=True),
                                  400: OpenApiResponse(SyncApiValidationErrorSerializer, description="A bad filter."),
                                  **COMMON_ERRORS}),
    retrieve=extend_schema(summary="A sync run's progress (any member)", responses={200: SyncRunSerializer, **COMMON_ERRORS}),
)
class SyncRunViewSet(_TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A sync run: status, counts, API calls spent, start and finish times, the error if any."""

    serializer_class = SyncRunSerializer
    write_role = "admin"
    filter_backends: list = []

    def get_queryset(self):
        if self.is_schema_generation():
            return SyncRun.objects.none()
        return SyncRun.objects.filter(tenant=self.request.tenant).select_related("connection", "requested_by").order_by("-id")

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        params = self.request.query_params
        connection = params.get("connection", "")
        if connection:
            # Like every id filter: a positive whole number below 2**63, else a 400; another
            # organization's connection matches none of this organization's runs.
            if not connection.isdigit() or not 0 < int(connection) < 2 ** 63:
                raise serializers.ValidationError({"connection": ["Must be an id (a positive whole number)."]})
            queryset = queryset.filter(connection_id=int(connection))
        if kind := _choice(params, "kind", SyncRunKind):
            queryset = queryset.filter(kind=kind)
        if run_status := _choice(params, "status", SyncRunStatus):
            queryset = queryset.filter(status=run_status)
        return queryset

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


# --- a record whose Salesforce partner is gone: search, re-link, skip, unskip, re-create --------
# /api/v1/opportunities/{id}/salesforce/…: the same services as the record's Salesforce panel,
# in the tenant's default connection. Members act on one record (like the Sync button);
# bulk Skip / Unskip / Re-create of many is an admin's (/api/v1/connections/{id}/partner-gone/).

class OpportunitySalesforceViewSet(_TenantScoped, viewsets.GenericViewSet):
    """The Salesforce partner of an opportunity in the default connection: find another one,
    re-link, skip, unskip or re-create."""

    write_role = "member"
    filter_backends: list = []
    serializer_class = LinkStateSerializer

    def get_queryset(self):
        return Opportunity.objects.none() if self.is_schema_generation() else Opportunity.objects.filter(tenant=self.request.tenant)

    def _context(self) -> tuple[Opportunity, SalesforceConnection]:
        opportunity = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        connection = integration_selectors.salesforce_default_connection(tenant=self.request.tenant)
        if connection is None:
            raise Conflict("This organization has no default Salesforce connection.", code="no_default_connection")
        return opportunity, connection

    def _state(self, opportunity: Opportunity, connection: SalesforceConnection, run: SyncRun | None = None) -> Response:
        link = links.opportunity_salesforce_link(tenant=self.request.tenant, opportunity=opportunity)["link"]
        return Response(LinkStateSerializer({
            "opportunity": opportunity.pk, "connection": connection.pk, "salesforce_id": link.salesforce_id if link else "",
            "status": link.status if link else "unlinked", "matched_by": link.matched_by if link else "",
            "skipped_by": link.skipped_by.get_username() if link and link.skipped_by_id else None,
            "skipped_at": link.skipped_at if link else None, "run": run.pk if run else None}).data)

    def _do(self, call) -> Response:
        opportunity, connection = self._context()
        try:
            run = call(connection, opportunity)
        except partner_actions.PartnerActionError as exc:
            raise _partner_error(exc) from exc
        except SalesforceError as exc:
            raise SalesforceUnavailable(f"Salesforce could not be read ({exc.code}: {exc.message[:200]}).") from exc
        return self._state(opportunity, connection, run if isinstance(run, SyncRun) else None)

    @extend_schema(summary="The opportunity's Salesforce link (any member)", responses={200: LinkStateSerializer, **PARTNER_ERRORS})
    @action(detail=True, methods=["get"], url_path="salesforce")
    def salesforce(self, request: Request, pk: str | None = None) -> Response:
        opportunity, connection = self._context()
        return self._state(opportunity, connection)

    @extend_schema(
        summary="Search the org's opportunities to re-link to (member)",
        description="Opportunities of the configured object in the default connection whose Name contains `title`, whose "
                    "Cothon_Ref__c is `reference` and whose CloseDate is `close_date` (the criteria given; at least one); "
                    "at most 20. Each says which Cothon opportunity is already linked to it.",
        parameters=[CandidateSearchSerializer], responses={200: CandidateSerializer(many=True),
                                                           400: OpenApiResponse(PartnerErrorSerializer, description="No criteria, or a bad date."),
                                                           **PARTNER_ERRORS})
    @action(detail=True, methods=["get"], url_path="salesforce/candidates", serializer_class=CandidateSerializer)
    def candidates(self, request: Request, pk: str | None = None) -> Response:
        opportunity, connection = self._context()
        query = CandidateSearchSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if request.method == "GET" and not request.membership.has_role("member"):
            raise exceptions.PermissionDenied("Searching Salesforce needs the member role.")
        try:
            found = partner_actions.salesforce_opportunity_search(connection=connection, **query.validated_data)
        except partner_actions.PartnerActionError as exc:
            raise _partner_error(exc) from exc
        except SalesforceError as exc:
            raise SalesforceUnavailable(f"Salesforce could not be searched ({exc.code}: {exc.message[:200]}).") from exc
        return Response(CandidateSerializer(found, many=True).data)

    @extend_schema(summary="Re-link to another Salesforce record (member)",
                   description="Links the opportunity to the given record and pushes it at manual priority (`run`). Refused: "
                               "not an id (`invalid_id`), another object's id (`wrong_object`), an id the org does not have or "
                               "deleted (`unknown_id`), one linked to another Cothon record (409 `already_linked`).",
                   request=RelinkSerializer,
                   responses={200: LinkStateSerializer, 400: OpenApiResponse(PartnerErrorSerializer, description="A bad id."),
                              **PARTNER_ERRORS})
    @action(detail=True, methods=["post"], url_path="salesforce/relink")
    def relink(self, request: Request, pk: str | None = None) -> Response:
        def relink(connection: SalesforceConnection, opportunity: Opportunity) -> SyncRun:
            # The body is read after the lookup: another organization's id is a 404 whatever it says.
            body = RelinkSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            return partner_actions.opportunity_relink(connection=connection, opportunity=opportunity,
                                                      salesforce_id=body.validated_data["salesforce_id"], actor=request.user)
        return self._do(relink)

    @extend_schema(summary="Skip: stop syncing it with the default connection (member)", request=None,
                   responses={200: LinkStateSerializer, **PARTNER_ERRORS})
    @action(detail=True, methods=["post"], url_path="salesforce/skip")
    def skip(self, request: Request, pk: str | None = None) -> Response:
        return self._do(lambda connection, opportunity: partner_actions.opportunity_skip(
            connection=connection, opportunity=opportunity, actor=request.user))

    @extend_schema(summary="Unskip: sync it again (member)", request=None, responses={200: LinkStateSerializer, **PARTNER_ERRORS})
    @action(detail=True, methods=["post"], url_path="salesforce/unskip")
    def unskip(self, request: Request, pk: str | None = None) -> Response:
        return self._do(lambda connection, opportunity: partner_actions.opportunity_unskip(
            connection=connection, opportunity=opportunity, actor=request.user))

    @extend_schema(summary="Re-create it in Salesforce as a new record (member)",
                   description="For a record deleted in Salesforce: forgets the dead id and pushes it at manual priority "
                               "(`run`); the new record is linked when the push lands.",
                   request=None, responses={200: LinkStateSerializer, **PARTNER_ERRORS})
    @action(detail=True, methods=["post"], url_path="salesforce/recreate")
    def recreate(self, request: Request, pk: str | None = None) -> Response:
        return self._do(lambda connection, opportunity: partner_actions.opportunity_recreate(
            connection=connection, opportunity=opportunity, actor=request.user))
