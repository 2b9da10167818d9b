"""REST API of the sync logs (/api/v1/sync-logs/…): the rows with the page's filters, keyset
pages on id (`?before=<id>`, a `next` link; never OFFSET, the table reaches millions of rows),
the errors grouped by cause, and Retry / Skip of the records still failing.

Thin views over the page's own form, selectors and services (LogFilterForm, log_selectors,
log_actions). Every member reads; Retry and Skip are an admin's, like Sync Now. Another
tenant's id (a row; a connection named by Retry / Skip or by a group) is a 404; as a read filter
it matches no row, like every id filter of the API."""

from __future__ import annotations

import dataclasses

from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.utils.http import urlencode
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from sync_engine import log_actions, log_selectors, selectors
from sync_engine.api import COMMON_ERRORS, SyncApiValidationErrorSerializer, _TenantScoped
from sync_engine.conflicts.api import _int
from sync_engine.forms import LogFilterForm
from sync_engine.models import SyncLog
from sync_engine.selectors import LogFilters
from sync_engine.templatetags.sync_ui import log_latency_ms, record_url

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# The filters a list, the groups and Retry / Skip take (the page's, by the same names).
FILTER_NAMES = ("date_from", "date_to", "result", "direction", "record_type", "record", "error_code", "connection")


class SyncLogSerializer(serializers.ModelSerializer):
    connection_name = serializers.CharField(source="connection.name", read_only=True)
    actor = serializers.SerializerMethodField(help_text="Username of who asked for it (a retry, a skip); null for the workers.")
    record_url = serializers.SerializerMethodField(help_text="The Cothon page of the record, when its type has one.")
    salesforce_url = serializers.SerializerMethodField(help_text="The record in Salesforce (Lightning), when it has an id.")
    latency_ms = serializers.SerializerMethodField(help_text="created_at − queued_at in ms: how long the change waited; "
                                                             "null when the row settles no queued change.")

    class Meta:
        model = SyncLog
        fields = ["id", "created_at", "connection", "connection_name", "run", "record_type", "record_id", "record_label",
                  "record_url", "sobject", "salesforce_id", "salesforce_url", "direction", "operation", "result", "error_code",
                  "error_message", "hint", "retries", "attempts", "queued_at", "latency_ms", "duration_ms", "api_calls", "actor"]
        read_only_fields = fields

    def get_actor(self, log: SyncLog) -> str | None:
        return log.actor.get_username() if log.actor_id else None

    def get_record_url(self, log: SyncLog) -> str | None:
        path = record_url(log.record_type, log.record_id)
        request = self.context.get("request")
        return (request.build_absolute_uri(path) if request is not None else path) if path else None

    def get_salesforce_url(self, log: SyncLog) -> str | None:
        return log.connection.record_url(log.sobject, log.salesforce_id) or None if log.salesforce_id and log.sobject else None

    def get_latency_ms(self, log: SyncLog) -> int | None:
        return log_latency_ms(log)


@extend_schema_serializer(many=False)  # one keyset page object, not an array of them
class SyncLogPageSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="The next (older) page; null on the last one.")
    previous = serializers.CharField(allow_null=True, help_text="The newer page; null on the newest one.")
    results = SyncLogSerializer(many=True)


class ErrorGroupSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Give it as `group` to retry-failed / skip-failed.")
    connection = serializers.IntegerField(source="connection_id")
    connection_name = serializers.CharField()
    error_code = serializers.CharField()
    hint = serializers.CharField()
    rows = serializers.IntegerField(help_text="Failed rows.")
    records = serializers.IntegerField(help_text="Distinct records of those rows.")
    failing = serializers.IntegerField(help_text="Records whose last push still failed.")
    queued = serializers.IntegerField(help_text="Of those, the ones queued again already (Retry leaves them).")
    retryable = serializers.IntegerField(help_text="failing − queued: what Retry would queue now.")
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    example = serializers.CharField(help_text="The latest row's message.")


class ErrorGroupsSerializer(serializers.Serializer):
    capped = serializers.BooleanField(help_text="More failed rows match than the newest 2,000 grouped: narrow the dates "
                                                "to group older ones.")
    results = ErrorGroupSerializer(many=True)


class FailedActionSerializer(serializers.Serializer):
    """The body of retry-failed / skip-failed: the log's filters (as the list takes them) and/or
    one group. An empty body means every failed row of the organization."""

    date_from = serializers.CharField(required=False, allow_blank=True)
    date_to = serializers.CharField(required=False, allow_blank=True)
    result = serializers.CharField(required=False, allow_blank=True)
    direction = serializers.CharField(required=False, allow_blank=True)
    record_type = serializers.CharField(required=False, allow_blank=True)
    record = serializers.CharField(required=False, allow_blank=True)
    error_code = serializers.CharField(required=False, allow_blank=True)
    connection = serializers.CharField(required=False, allow_blank=True)
    group = serializers.CharField(required=False, allow_blank=True, max_length=4000,
                                  help_text="A group's `key` from GET /api/v1/sync-logs/groups/.")

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


class RetryOutcomeSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="Records put back in the queue now.")
    already_queued = serializers.IntegerField(help_text="Records queued already, left as they were.")
    not_queued = serializers.IntegerField(help_text="Records of a disconnected connection (its reconnect sends them).")


class SkipOutcomeSerializer(serializers.Serializer):
    skipped = serializers.ListField(child=serializers.IntegerField(), help_text="Opportunity ids skipped now.")
    unchanged = serializers.ListField(child=serializers.IntegerField(), help_text="Skipped already.")
    not_skippable = serializers.IntegerField(help_text="Failing records of other types (only opportunities are skipped).")
    refused = serializers.DictField(child=serializers.CharField(), help_text="Opportunity id → why it was not skipped.")


class RowSkipSerializer(serializers.Serializer):
    skipped = serializers.BooleanField(help_text="False when it was skipped already.")
    record_type = serializers.CharField()
    record_id = serializers.IntegerField()
    connection = serializers.IntegerField()


FILTERS = [
    OpenApiParameter("connection", OpenApiTypes.INT, description="Only this connection's rows."),
    OpenApiParameter("result", OpenApiTypes.STR, enum=["success", "failed", "retrying", "skipped", "paused"]),
    OpenApiParameter("direction", OpenApiTypes.STR, enum=["push", "pull"]),
    OpenApiParameter("error_code", OpenApiTypes.STR, description="e.g. `REQUIRED_FIELD_MISSING`."),
    OpenApiParameter("record_type", OpenApiTypes.STR, description="`opportunity`, `department`, … (sync_engine RecordType)."),
    OpenApiParameter("record", OpenApiTypes.STR, description="A record id (`42`, `#42`) or part of its name."),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="From this day (your organization's time zone)."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Up to and including this day."),
]
PAGING = [
    OpenApiParameter("before", OpenApiTypes.INT, description="The rows older than this log id (the `next` link has it)."),
    OpenApiParameter("after", OpenApiTypes.INT, description="The rows newer than this log id (the `previous` link has it)."),
    OpenApiParameter("page_size", OpenApiTypes.INT, description=f"1–{MAX_PAGE_SIZE}, default {PAGE_SIZE}."),
]
BAD_FILTERS = OpenApiResponse(SyncApiValidationErrorSerializer, description="A filter that is not valid, named in `errors`.")


def _filters(request: Request, data, *, foreign_connection: str = "empty") -> tuple[LogFilters, int | None, int | None]:
    """The page's filters over `data` (a QueryDict), and the keyset cursors. A bad field is a
    400 naming it. Ids (`connection`, `before`, `after`) are checked like every id filter of the
    API (a positive whole number below 2**63); a connection that is not the organization's
    matches no row in a read (as every id filter does), and is a 404 for an action
    (`foreign_connection="404"`), which must not report "nothing to do" for another's data."""
    data = data.copy()
    ids = {name: _int(data, name) for name in ("connection", "before", "after")}
    for name in ids:
        data.pop(name, None)
    form = LogFilterForm(data, tenant=request.tenant)
    if not form.is_valid():
        raise serializers.ValidationError({name: list(errors) for name, errors in form.errors.items()})
    if ids["connection"] is not None and foreign_connection == "404":
        selectors.sync_connection_get(tenant=request.tenant, pk=ids["connection"])
    return dataclasses.replace(form.filters(), connection_id=ids["connection"]), ids["before"], ids["after"]


def _page_size(params) -> int:
    raw = params.get("page_size", "")
    if raw in ("", None):
        return PAGE_SIZE
    if not str(raw).isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise serializers.ValidationError({"page_size": [f"A whole number from 1 to {MAX_PAGE_SIZE}."]})
    return int(raw)


def _group(request: Request, value: str) -> log_selectors.GroupKey | None:
    if not value:
        return None
    try:
        group = log_selectors.GroupKey.parse(value)
    except ValueError as exc:
        raise serializers.ValidationError({"group": ["Not a group key: give a `key` from GET /api/v1/sync-logs/groups/."]}) from exc
    selectors.sync_connection_get(tenant=request.tenant, pk=group.connection_id)  # another organization's: 404
    return group


@extend_schema_view(
    list=extend_schema(summary="Sync log rows, newest first (any member)",
                       description="Keyset pages on id: follow `next` (`?before=<id>`) for older rows; rows written "
                                   "meanwhile never shift a page. Same filters as the Sync logs page.",
                       parameters=FILTERS + PAGING, responses={200: SyncLogPageSerializer, 400: BAD_FILTERS, **COMMON_ERRORS}),
    retrieve=extend_schema(summary="One sync log row (any member)", responses={200: SyncLogSerializer, **COMMON_ERRORS}),
)
class SyncLogViewSet(_TenantScoped, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every attempt to sync a record with Salesforce: its result, the Salesforce error and the
    fix, how long the change waited and which attempt it was."""

    serializer_class = SyncLogSerializer
    write_role = "admin"
    filter_backends: list = []
    pagination_class = None

    def get_queryset(self):
        if self.is_schema_generation():
            return SyncLog.objects.none()
        return SyncLog.objects.filter(tenant=self.request.tenant).select_related("connection", "actor")

    def get_object(self) -> SyncLog:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def list(self, request: Request) -> Response:
        params = request.query_params
        filters, before, after = _filters(request, params)
        size = _page_size(params)
        page = selectors.sync_log_page(tenant=request.tenant, filters=filters, before=before, after=after, size=size)
        logs = self.get_queryset().filter(pk__in=[row.pk for row in page.rows]).order_by("-id")  # with the actor
        kept = {k: v for k, v in params.items() if k not in ("before", "after") and v != ""}

        def link(**cursor) -> str:
            return request.build_absolute_uri(request.path + "?" + urlencode({**kept, **cursor}))

        return Response({
            "next": link(before=page.older_cursor) if page.older_cursor else None,
            "previous": link(after=page.newer_cursor) if page.newer_cursor else None,
            "results": SyncLogSerializer(logs, many=True, context={"request": request}).data,
        })

    @extend_schema(summary="Failed rows grouped by cause (any member)",
                   description="The newest 2,000 failed rows matching the filters, grouped by connection, error code "
                               "and fix hint, the most recently seen first (at most 20): rows, records, records still "
                               "failing, first and last seen, an example message. Narrow the dates to group older rows.",
                   parameters=FILTERS, responses={200: ErrorGroupsSerializer, 400: BAD_FILTERS, **COMMON_ERRORS})
    @action(detail=False, methods=["get"], serializer_class=ErrorGroupsSerializer)
    def groups(self, request: Request) -> Response:
        filters, _, _ = _filters(request, request.query_params)
        groups = log_selectors.error_groups(tenant=request.tenant, filters=filters)
        return Response(ErrorGroupsSerializer({"capped": groups.capped, "results": groups}).data)

    def _action_scope(self, request: Request):
        body = FailedActionSerializer(data=request.data if request.data is not None else {})
        body.is_valid(raise_exception=True)
        data = QueryDict(mutable=True)
        for name in FILTER_NAMES:
            if body.validated_data.get(name):
                data[name] = body.validated_data[name]
        filters, _, _ = _filters(request, data, foreign_connection="404")
        return filters, _group(request, body.validated_data.get("group", ""))

    @extend_schema(summary="Retry the records still failing (admin)",
                   description="Re-queues, through the outbox, every record whose last push failed among the failed rows "
                               "matching the body's filters and/or `group` (an empty body: the whole organization). Nothing "
                               "is sent to Salesforce in the request; a record already queued is left alone, so repeating "
                               f"the call queues nothing twice. At most {log_actions.RETRY_LIMIT:,} records a call.",
                   request=FailedActionSerializer,
                   responses={200: RetryOutcomeSerializer, 400: BAD_FILTERS, **COMMON_ERRORS})
    @action(detail=False, methods=["post"], url_path="retry-failed", serializer_class=RetryOutcomeSerializer)
    def retry_failed(self, request: Request) -> Response:
        filters, group = self._action_scope(request)
        outcome = log_actions.failed_records_retry(tenant=request.tenant, filters=filters, group=group, actor=request.user)
        return Response(RetryOutcomeSerializer(outcome).data)

    @extend_schema(summary="Skip the opportunities still failing (admin)",
                   description="Skips (stops syncing, reversibly) every opportunity whose last push failed among the failed "
                               "rows matching the filters and/or `group`, each in its own connection. Records of other types "
                               "are counted in `not_skippable`: they follow their opportunity.",
                   request=FailedActionSerializer,
                   responses={200: SkipOutcomeSerializer, 400: BAD_FILTERS, **COMMON_ERRORS})
    @action(detail=False, methods=["post"], url_path="skip-failed", serializer_class=SkipOutcomeSerializer)
    def skip_failed(self, request: Request) -> Response:
        filters, group = self._action_scope(request)
        outcome = log_actions.failed_records_skip(tenant=request.tenant, filters=filters, group=group, actor=request.user)
        return Response(SkipOutcomeSerializer({"skipped": outcome.skipped, "unchanged": outcome.unchanged,
                                               "not_skippable": outcome.not_skippable,
                                               "refused": {str(k): v for k, v in outcome.refused.items()}}).data)

    @extend_schema(summary="Skip this row's record in its connection (admin)",
                   description="Opportunities only (`code` `not_skippable` otherwise: skip its opportunity).",
                   request=None,
                   responses={200: RowSkipSerializer, **COMMON_ERRORS,
                              409: OpenApiResponse(description="`code` `not_skippable` or `record_gone`.")})
    @action(detail=True, methods=["post"], serializer_class=RowSkipSerializer)
    def skip(self, request: Request, pk: str | None = None) -> Response:
        log = self.get_object()
        try:
            done = log_actions.log_record_skip(tenant=request.tenant, log=log, actor=request.user)
        except log_actions.LogActionError as exc:
            raise _Refused(exc.message, code=exc.code) from exc
        return Response(RowSkipSerializer({"skipped": done, "record_type": log.record_type, "record_id": log.record_id,
                                           "connection": log.connection_id}).data, status=status.HTTP_200_OK)


class _Refused(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This record cannot be skipped."
    default_code = "conflict"
