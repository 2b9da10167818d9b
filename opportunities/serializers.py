"""API shapes of the bid team's records. Serializers only shape and type-check data: rules
(value ranges, unique references, roll-ups) live in opportunities/services.py, reads in
opportunities/selectors.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Manager, QuerySet
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from cothon.api.fields import FIELD_MAPPING
from integrations import selectors as integration_selectors
from integrations.settings_schema import SyncSettings
from integrations.sync_settings import settings_current
from opportunities import selectors
from opportunities.models import BidAnalysis, Comment, Department, Opportunity, Requirement
from opportunities.numbers import MONEY_MAX, NEGATIVE_MONEY_MESSAGE, PERCENT_MAX
from sync_engine import links as sync_links
from sync_engine import selectors as sync_selectors
from sync_engine.selectors import SyncState
from sync_engine.vocabulary import RecordType


class TenantScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key given by id, looked up only among the current tenant's rows.

    Another tenant's id gets the same "does not exist" error as an id that was never used.
    `selector(tenant=…)` returns the candidate queryset; `queryset` only tells the schema the model.
    """

    def __init__(self, *, selector: Callable[..., QuerySet], **kwargs: Any) -> None:
        self.selector = selector
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        request = self.context.get("request")
        tenant = getattr(request, "tenant", None) if request is not None else None
        if tenant is None:
            return self.queryset.none()
        return self.selector(tenant=tenant)


def tenant_opportunity_field(**kwargs: Any) -> TenantScopedPrimaryKeyRelatedField:
    return TenantScopedPrimaryKeyRelatedField(
        selector=selectors.opportunity_list, queryset=Opportunity.objects.none(), **kwargs
    )


def tenant_member_field(**kwargs: Any) -> TenantScopedPrimaryKeyRelatedField:
    kwargs.setdefault("error_messages", {"does_not_exist": 'Invalid pk "{pk_value}" - no member of this organization has this id.'})
    return TenantScopedPrimaryKeyRelatedField(
        selector=selectors.assignable_users, queryset=get_user_model().objects.none(), **kwargs
    )


# --- departments ---------------------------------------------------------------------------

class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name", "acronym", "key", "website", "created_at", "updated_at"]
        read_only_fields = ["key", "created_at", "updated_at"]


# --- opportunities -------------------------------------------------------------------------

SALESFORCE_LINK_SCHEMA = inline_serializer(
    name="SalesforceLink",
    fields={
        "connection": serializers.IntegerField(help_text="Id of the tenant's default Salesforce connection."),
        "salesforce_id": serializers.CharField(help_text="Empty until the record was first pushed."),
        "url": serializers.CharField(help_text="The record in Salesforce Lightning; empty until pushed."),
        "status": serializers.ChoiceField(choices=["pending", "synced", "failed", "deleted_in_sf"]),
        "last_synced_at": serializers.DateTimeField(allow_null=True),
        "last_error": serializers.CharField(allow_null=True),
    },
    allow_null=True,
)


SYNC_STATE_SCHEMA = inline_serializer(
    name="SyncState",
    fields={
        "state": serializers.ChoiceField(choices=list(SyncState.ALL), help_text=(
            "in_sync: Salesforce has the current version; pending: a change waits to be sent; skipped: left out by the "
            "connection's filters or direction; failed: Salesforce refused it (see code, hint, action); "
            "deleted_in_salesforce; conflict; not_synced: never sent.")),
        "label": serializers.CharField(help_text="The state in words, as the pages show it."),
        "since": serializers.DateTimeField(allow_null=True, help_text="When the state began: the last sync (in_sync), "
                                           "the oldest unsent change (pending), the failure…"),
        "age_seconds": serializers.IntegerField(allow_null=True, help_text="Seconds since `since`."),
        "reason": serializers.CharField(help_text="Why the record is in this state."),
        "code": serializers.CharField(allow_null=True, help_text="Salesforce's error code, when there is one."),
        "hint": serializers.CharField(allow_null=True, help_text="How to fix the error."),
        "action": serializers.CharField(allow_null=True, help_text="What to do next."),
    },
    allow_null=True,
)


def sync_state_data(state) -> dict[str, Any] | None:
    """The API shape of a RecordSyncState (null without a default Salesforce connection)."""
    if state is None:
        return None
    age = state.age()
    return {
        "state": state.state, "label": state.label,
        "since": serializers.DateTimeField().to_representation(state.since) if state.since else None,
        "age_seconds": int(age.total_seconds()) if age is not None else None,
        "reason": state.reason, "code": state.code or None, "hint": state.hint or None, "action": state.action or None,
    }


def _salesforce_context(tenant, records: list[Opportunity], *, created: bool = False) -> dict[str, dict]:
    """The Salesforce links and sync states of these opportunities, reading the default
    connection and its settings once for both (a single record's response and a page alike).
    `created`: the records were created by this request (the answer to a create), so they
    have no link and are pending — known without reading the settings, links or queue."""
    if created:
        connection = integration_selectors.salesforce_default_connection_status(tenant=tenant)
        return {"salesforce_links": {},
                "sync_states": sync_selectors.created_record_sync_states(tenant=tenant, connection=connection,
                                                                         created={r.pk: r.created_at for r in records})}
    connection = integration_selectors.salesforce_default_connection(tenant=tenant)
    if connection is None:
        return {"salesforce_links": {}, "sync_states": {}}
    settings_data = settings_current(connection=connection)
    sobject = SyncSettings.from_dict(settings_data).objects.for_record_type(RecordType.OPPORTUNITY)
    ids = [r.pk for r in records]
    links = sync_links.connection_links(tenant=tenant, connection=connection, record_type=RecordType.OPPORTUNITY, record_ids=ids)
    return {
        # `salesforce`: the link on the configured object (as `salesforce_links` picks it).
        "salesforce_links": {link.record_id: link for link in links if not sobject or link.sobject == sobject},
        "sync_states": sync_selectors.record_sync_states(tenant=tenant, record_type=RecordType.OPPORTUNITY, record_ids=ids,
                                                         connection=connection, versions={r.pk: r.updated_at for r in records},
                                                         settings_data=settings_data, links=links),
    }


class OpportunityListSerializer(serializers.ListSerializer):
    """Loads the Salesforce links and sync states of a whole page in a few queries before shaping it."""

    def to_representation(self, data):
        items = list(data.all() if isinstance(data, Manager) else data)
        request = self.context.get("request")
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            self._context.update(_salesforce_context(tenant, items))
        return super().to_representation(items)


class OpportunitySerializer(serializers.ModelSerializer):
    department = TenantScopedPrimaryKeyRelatedField(
        selector=selectors.department_list, queryset=Department.objects.none(), allow_null=True, required=False,
        help_text="Id of a department of your organization.",
    )
    # A method, not CharField(source="department.name", default=None): DRF skips a default in a
    # partial update, so PATCH answered without the key (a schema violation schemathesis found).
    department_name = serializers.SerializerMethodField(help_text="Null when the opportunity has no department.")
    assignee = tenant_member_field(allow_null=True, required=False, help_text="Id of a user who is a member of your organization.")
    salesforce = serializers.SerializerMethodField()
    sync_state = serializers.SerializerMethodField()

    serializer_field_mapping = FIELD_MAPPING

    class Meta:
        model = Opportunity
        list_serializer_class = OpportunityListSerializer
        fields = [
            "id", "title", "reference", "status", "value_min", "value_max", "closing_date",
            "department", "department_name", "category", "procurement_method", "location", "unspsc_code",
            "pursuit_decision", "win_probability", "assignee", "description",
            "compliance_score", "analysis_status", "last_analyzed_at",
            "created_by", "created_at", "updated_at", "salesforce", "sync_state",
        ]
        # Analysis results are rolled up by completing an analysis, not written directly.
        read_only_fields = ["compliance_score", "analysis_status", "last_analyzed_at", "created_by", "created_at", "updated_at"]
        # 13 digits before the point (opportunities/numbers.py), so the schema's pattern is the real bound.
        extra_kwargs = {
            name: {"max_digits": 15, "error_messages": {"min_value": NEGATIVE_MONEY_MESSAGE},
                   "help_text": f"CAD, 0 to {MONEY_MAX}."}
            for name in ("value_min", "value_max")
        }

    def _salesforce(self, obj: Opportunity) -> dict[str, dict]:
        """The page's prefetched links and states, or this one record's (read once for both fields)."""
        if "salesforce_links" in self.context:
            return self.context
        tenant = getattr(self.context.get("request"), "tenant", None)
        if tenant is None:
            return {"salesforce_links": {}, "sync_states": {}}
        if getattr(self, "_single", (None, None))[0] != obj.pk:
            self._single = (obj.pk, _salesforce_context(tenant, [obj], created=self.context.get("created_id") == obj.pk))
        return self._single[1]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_department_name(self, obj: Opportunity) -> str | None:
        return obj.department.name if obj.department_id else None

    @extend_schema_field(SALESFORCE_LINK_SCHEMA)
    def get_salesforce(self, obj: Opportunity) -> dict[str, Any] | None:
        link = self._salesforce(obj)["salesforce_links"].get(obj.pk)
        if link is None or link.status == "unlinked":
            return None
        return {
            "connection": link.connection_id,
            "salesforce_id": link.salesforce_id,
            "url": link.salesforce_url,
            "status": link.status,
            "last_synced_at": serializers.DateTimeField().to_representation(link.last_synced_at) if link.last_synced_at else None,
            "last_error": link.last_error_message or link.last_error_code or None,
        }


    @extend_schema_field(SYNC_STATE_SCHEMA)
    def get_sync_state(self, obj: Opportunity) -> dict[str, Any] | None:
        return sync_state_data(self._salesforce(obj)["sync_states"].get(obj.pk))


# --- analyses and requirements -------------------------------------------------------------

class RequirementSerializer(serializers.ModelSerializer):
    class Meta:
        model = Requirement
        fields = ["id", "analysis", "code", "text", "kind", "capability_match", "weight", "notes", "created_at", "updated_at"]
        read_only_fields = ["analysis", "created_at", "updated_at"]


class AnalysisSerializer(serializers.ModelSerializer):
    opportunity = tenant_opportunity_field(help_text="Id of an opportunity of your organization.")
    requirements = RequirementSerializer(many=True, read_only=True)

    class Meta:
        model = BidAnalysis
        fields = [
            "id", "opportunity", "status", "compliance_score", "summary", "key_findings", "risks",
            "recommendation", "completed_at", "created_by", "created_at", "updated_at", "requirements",
        ]
        read_only_fields = ["status", "completed_at", "created_by", "created_at", "updated_at"]


class AnalysisUpdateSerializer(AnalysisSerializer):
    """An analysis stays on its opportunity: `opportunity` is read-only after creation."""

    opportunity = serializers.PrimaryKeyRelatedField(read_only=True)


class AnalysisCompleteSerializer(serializers.Serializer):
    compliance_score = serializers.IntegerField(min_value=0, max_value=PERCENT_MAX, required=False, allow_null=True,
                                                help_text="Overrides the analysis's score before completing.")
    recommendation = serializers.CharField(max_length=255, required=False, allow_blank=True)


# --- comments ------------------------------------------------------------------------------

class CommentSerializer(serializers.ModelSerializer):
    author_username = serializers.SerializerMethodField(help_text="Null when the author's account was deleted.")

    class Meta:
        model = Comment
        fields = ["id", "opportunity", "author", "author_username", "body", "created_at", "updated_at"]
        read_only_fields = ["opportunity", "author", "created_at", "updated_at"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_author_username(self, obj: Comment) -> str | None:
        return obj.author.username if obj.author_id else None

