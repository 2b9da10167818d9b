"""REST API of Match Legacy Records (/api/v1/legacy-match-jobs/, /api/v1/legacy-proposals/):
start the matcher, watch it, list its proposals best first with their evidence, accept or reject
one or many. Thin views over the same services as the review page. Admins only; another
tenant's id is a 404."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from integrations import selectors as integration_selectors
from sync_engine.api import COMMON_ERRORS, Conflict, SyncApiValidationErrorSerializer, _error, _TenantScoped
from sync_engine.legacy import selectors, services
from sync_engine.legacy.models import LegacyMatchJob, LegacyMatchProposal, ProposalStatus

STATUS_CHOICES = [*ProposalStatus.values, "all"]


class LegacyMatchJobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True, help_text="Salesforce opportunities scored / read, 0–100.")
    stalled = serializers.SerializerMethodField(help_text="Queued or running, but no worker is on it: start it again to resume.")

    class Meta:
        model = LegacyMatchJob
        fields = ["id", "connection", "status", "phase", "salesforce_total", "cothon_total", "processed", "proposals", "percent",
                  "api_calls", "read_with", "message", "stalled", "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    def get_stalled(self, job: LegacyMatchJob) -> bool:
        return selectors.legacy_job_stalled(job)


class LegacyMatchStartSerializer(serializers.Serializer):
    connection = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="Id of one of your Salesforce connections.")


class EvidenceItemSerializer(serializers.Serializer):
    score = serializers.FloatField(help_text="0–100.")
    detail = serializers.CharField(help_text="The evidence in words.")


class EvidenceSerializer(serializers.Serializer):
    title = EvidenceItemSerializer(help_text="Title similarity (55 % of the score).")
    date = EvidenceItemSerializer(help_text="Close date distance (15 %).")
    amount = EvidenceItemSerializer(help_text="Amount against Cothon's value range (15 %).")
    account = EvidenceItemSerializer(help_text="Account against the Cothon department (15 %).")


class LegacyProposalSerializer(serializers.ModelSerializer):
    opportunity_title = serializers.CharField(source="opportunity.title", read_only=True)
    opportunity_reference = serializers.CharField(source="opportunity.reference", read_only=True)
    evidence = serializers.SerializerMethodField()

    class Meta:
        model = LegacyMatchProposal
        fields = ["id", "connection", "status", "score", "rank", "opportunity", "opportunity_title", "opportunity_reference",
                  "salesforce_id", "sf_name", "sf_close_date", "sf_amount", "sf_account_id", "sf_account_name", "sf_stage",
                  "title_score", "date_difference_days", "evidence", "decided_at", "decision_note", "created_at"]
        read_only_fields = fields

    @extend_schema_field(EvidenceSerializer)
    def get_evidence(self, proposal: LegacyMatchProposal) -> dict:
        return {key: {"score": value.get("score"), "detail": value.get("detail", "")}
                for key, value in (proposal.evidence or {}).items() if key in ("title", "date", "amount", "account")}


class DecideSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), min_length=1, max_length=500,
                                help_text="Proposal ids.")
    action = serializers.ChoiceField(choices=["accept", "reject"])


class DecideResultSerializer(serializers.Serializer):
    done = LegacyProposalSerializer(many=True)
    errors = serializers.DictField(child=serializers.CharField(), help_text="Proposal id → why it was refused.")


class LegacyProposalFilterSerializer(serializers.Serializer):
    connection = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    status = serializers.ChoiceField(choices=STATUS_CHOICES, required=False, default=ProposalStatus.OPEN)
    min_score = serializers.FloatField(required=False, min_value=0, max_value=100)
    q = serializers.CharField(required=False, max_length=100, allow_blank=True)


@extend_schema_view(
    retrieve=extend_schema(summary="A Match Legacy Records job's progress (admin)", responses={200: LegacyMatchJobSerializer, **COMMON_ERRORS}),
)
class LegacyMatchJobViewSet(_TenantScoped, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The matcher: finds probable matches between Cothon opportunities not linked in a connection
    and its Salesforce opportunities without Cothon_Ref__c."""

    serializer_class = LegacyMatchJobSerializer
    read_role = "admin"
    write_role = "admin"
    filter_backends: list = []

    def get_queryset(self):
        if self.is_schema_generation():
            return LegacyMatchJob.objects.none()
        return LegacyMatchJob.objects.filter(tenant=self.request.tenant)

    def get_object(self) -> LegacyMatchJob:
        try:
            return selectors.legacy_job_get(tenant=self.request.tenant, pk=self.kwargs["pk"])
        except LegacyMatchJob.DoesNotExist:
            raise NotFound("No such job.") from None

    @extend_schema(
        summary="Start Match Legacy Records (admin)",
        description="Queues the matcher for a connection and answers its job at once; poll `GET /api/v1/legacy-match-jobs/{id}/`. "
                    "A job already queued or running is answered as is (200); one whose worker stopped is resumed from its "
                    "last saved chunk (200).",
        request=LegacyMatchStartSerializer,
        responses={201: LegacyMatchJobSerializer, 200: LegacyMatchJobSerializer,
                   400: OpenApiResponse(SyncApiValidationErrorSerializer, description="`connection` missing or not a number."),
                   **COMMON_ERRORS, 409: _error("`code` `not_connected`: reconnect the connection first.")},
    )
    def create(self, request: Request) -> Response:
        start = LegacyMatchStartSerializer(data=request.data)
        start.is_valid(raise_exception=True)
        connection = integration_selectors.salesforce_connection_list(tenant=request.tenant).filter(
            pk=start.validated_data["connection"]).first()
        if connection is None:
            raise NotFound("No such connection.")
        before = set(LegacyMatchJob.objects.filter(connection=connection).values_list("pk", flat=True))
        try:
            with transaction.atomic():
                job = services.legacy_match_start(connection=connection, actor=request.user)
        except ValidationError as exc:
            raise Conflict(" ".join(exc.messages), code="not_connected") from exc
        job.refresh_from_db()
        return Response(LegacyMatchJobSerializer(job).data,
                        status=status.HTTP_200_OK if job.pk in before else status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="Match Legacy Records proposals, best first (admin)",
                       parameters=[OpenApiParameter("connection", int, description="Only this connection's proposals."),
                                   OpenApiParameter("status", str, enum=STATUS_CHOICES, description="Default `open`."),
                                   OpenApiParameter("min_score", float, description="0–100."),
                                   OpenApiParameter("q", str, description="In either title, the reference or the Account name.")],
                       responses={200: LegacyProposalSerializer(many=True),
                                  400: OpenApiResponse(SyncApiValidationErrorSerializer, description="A filter is not valid."),
                                  **COMMON_ERRORS}),
    retrieve=extend_schema(summary="One proposal with its evidence (admin)", responses={200: LegacyProposalSerializer, **COMMON_ERRORS}),
)
class LegacyProposalViewSet(_TenantScoped, viewsets.ReadOnlyModelViewSet):
    """Probable matches with their score and the evidence of each signal."""

    serializer_class = LegacyProposalSerializer
    read_role = "admin"
    write_role = "admin"
    filter_backends: list = []

    def get_queryset(self):
        if self.is_schema_generation():
            return LegacyMatchProposal.objects.none()
        if self.action != "list":
            return selectors.legacy_proposal_list(tenant=self.request.tenant, filters=selectors.ProposalFilters(status="all"))
        params = LegacyProposalFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        return selectors.legacy_proposal_list(tenant=self.request.tenant, filters=selectors.ProposalFilters(
            status=data.get("status") or ProposalStatus.OPEN, min_score=data.get("min_score"), q=data.get("q", ""),
            connection_id=data.get("connection")))

    def _decide_one(self, request: Request, accept: bool) -> Response:
        proposal = self.get_object()
        try:
            if accept:
                proposal = services.legacy_proposal_accept(tenant=request.tenant, proposal_id=proposal.pk, actor=request.user)
            else:
                proposal = services.legacy_proposal_reject(tenant=request.tenant, proposal_id=proposal.pk, actor=request.user)
        except ValidationError as exc:
            raise Conflict(" ".join(exc.messages), code="already_linked" if accept else "accepted") from exc
        return Response(LegacyProposalSerializer(selectors.legacy_proposal_list(
            tenant=request.tenant, filters=selectors.ProposalFilters(status="all")).get(pk=proposal.pk)).data)

    @extend_schema(summary="Accept a proposal: link the pair, write Cothon_Ref__c back (admin)",
                   description="Links the Cothon opportunity to the Salesforce opportunity in this connection (matched by "
                               "review) and queues the write of Cothon_Ref__c through the normal push. Accepting again answers "
                               "the proposal unchanged.",
                   request=None,
                   responses={200: LegacyProposalSerializer, **COMMON_ERRORS,
                              409: _error("`code` `already_linked`: the Salesforce opportunity or the Cothon record is already "
                                          "linked to another record, or the proposal is no longer a candidate.")})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        return self._decide_one(request, True)

    @extend_schema(summary="Reject a proposal: never proposed again (admin)", request=None,
                   responses={200: LegacyProposalSerializer, **COMMON_ERRORS,
                              409: _error("`code` `accepted`: the pair was accepted and is linked.")})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._decide_one(request, False)

    @extend_schema(summary="Accept or reject several proposals (admin)",
                   description="Each in its own transaction: one refused (say, its Salesforce opportunity was taken by an "
                               "earlier one of the list) never undoes the others; `errors` says why per id.",
                   request=DecideSerializer,
                   responses={200: DecideResultSerializer,
                              400: OpenApiResponse(SyncApiValidationErrorSerializer, description="`ids` or `action` not valid."),
                              **COMMON_ERRORS})
    @action(detail=False, methods=["post"])
    def decide(self, request: Request) -> Response:
        body = DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        outcome = services.legacy_proposals_decide(tenant=request.tenant, proposal_ids=body.validated_data["ids"],
                                                   accept=body.validated_data["action"] == "accept", actor=request.user)
        done = selectors.legacy_proposal_list(tenant=request.tenant, filters=selectors.ProposalFilters(status="all")).filter(
            pk__in=[p.pk for p in outcome.done])
        return Response({"done": LegacyProposalSerializer(done, many=True).data,
                         "errors": {str(k): v for k, v in outcome.errors.items()}})

