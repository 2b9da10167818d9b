"""API shapes of proposals and quotes. Shaping only: rules live in proposals/services.py."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Manager
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cothon.api.fields import FIELD_MAPPING, ReadableDecimalField
from opportunities.numbers import PROPOSAL_SECTIONS_MAX, QUOTE_LINES_MAX
from opportunities.serializers import tenant_member_field, tenant_opportunity_field
from proposals.models import Proposal, ProposalSection, Quote, QuoteLineItem
from sync_engine import links as sync_links
from sync_engine.vocabulary import RecordType


class ProposalSectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProposalSection
        fields = ["id", "title", "body", "position"]
        read_only_fields = ["position"]


class ProposalSerializer(serializers.ModelSerializer):
    opportunity = tenant_opportunity_field(help_text="Id of an opportunity of your organization.")
    sections = ProposalSectionSerializer(
        many=True, required=False, max_length=PROPOSAL_SECTIONS_MAX,
        help_text="Sections in order. Omitted on creation: Executive Summary, Technical Approach, Team, Pricing.",
    )
    document = serializers.SerializerMethodField(
        help_text="URL of the generated PDF (GET /api/v1/proposals/{id}/document/, same authentication); "
                  "null until generated.")

    class Meta:
        model = Proposal
        fields = ["id", "opportunity", "title", "status", "document", "generated_at", "created_by",
                  "created_at", "updated_at", "sections"]
        read_only_fields = ["status", "generated_at", "created_by", "created_at", "updated_at"]


    def get_document(self, proposal: Proposal) -> str | None:
        if not proposal.document:
            return None
        path = reverse("api:proposal-document", args=[proposal.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class ProposalUpdateSerializer(ProposalSerializer):
    """A proposal stays on its opportunity; given `sections` replace all sections."""

    opportunity = serializers.PrimaryKeyRelatedField(read_only=True)
    sections = ProposalSectionSerializer(many=True, required=False, max_length=PROPOSAL_SECTIONS_MAX,
                                         help_text="When given, replaces all sections (in this order).")

    class Meta(ProposalSerializer.Meta):
        read_only_fields = ["generated_at", "created_by", "created_at", "updated_at"]


def line_error_messages(errors: list | dict) -> list[str]:
    """{1: {"quantity": ["…"]}} (or [{}, {…}]) → ["Line 2, quantity: …"]: the shape that
    services.quote_create_with_lines gives to the rules it checks, so a bad line reads the same
    whichever check caught it."""
    items = errors.items() if isinstance(errors, dict) else enumerate(errors)
    messages = []
    for index, item in items:
        if isinstance(index, int) and isinstance(item, dict):
            messages += [f"Line {index + 1}, {field}: {message}" for field, texts in item.items() for message in texts]
        elif isinstance(item, (list, tuple)):
            messages += [str(message) for message in item]
        elif item:
            messages.append(str(item))
    return messages


class QuoteLineItemSerializer(serializers.ModelSerializer):
    amount = ReadableDecimalField(max_digits=26, decimal_places=2, read_only=True, help_text="quantity × unit price")
    serializer_field_mapping = FIELD_MAPPING

    class Meta:
        model = QuoteLineItem
        fields = ["id", "description", "quantity", "unit_price", "position", "amount"]
        read_only_fields = ["position"]
        extra_kwargs = {
            # Bounds: opportunities/numbers.py (the schema's pattern allows 10 and 12 digits before the point).
            "quantity": {"default": Decimal("1"), "error_messages": {"min_value": "Quantity must be greater than zero."}},
            "unit_price": {"default": Decimal("0")},
        }


class QuoteListSerializer(serializers.ListSerializer):
    """Loads the Salesforce ids of a whole page in one query before shaping it."""

    def to_representation(self, data):
        items = list(data.all() if isinstance(data, Manager) else data)
        tenant = getattr(self.context.get("request"), "tenant", None)
        if tenant is not None:
            self._context["salesforce_ids"] = sync_links.salesforce_ids(
                tenant=tenant, record_type=RecordType.QUOTE, record_ids=[item.pk for item in items])
        return super().to_representation(items)


class QuoteSerializer(serializers.ModelSerializer):
    number = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                   help_text="Unique in your organization. Omitted: the next Q-00001-style number.")
    opportunity = tenant_opportunity_field(allow_null=True, required=False,
                                           help_text="Id of an opportunity of your organization.")
    owner = tenant_member_field(allow_null=True, required=False, help_text="Id of a member of your organization.")
    line_items = QuoteLineItemSerializer(many=True, required=False, max_length=QUOTE_LINES_MAX)
    pdf = serializers.FileField(read_only=True)
    salesforce_opportunity_id = serializers.SerializerMethodField(
        help_text="The Salesforce opportunity this quote came from (its link in the default connection); empty if none.")
    serializer_field_mapping = FIELD_MAPPING

    class Meta:
        model = Quote
        list_serializer_class = QuoteListSerializer
        fields = ["id", "number", "title", "status", "currency", "company_name", "contact_name", "opportunity",
                  "owner", "total", "pdf", "salesforce_opportunity_id", "created_at", "updated_at", "line_items"]
        read_only_fields = ["total", "created_at", "updated_at"]

    @extend_schema_field(serializers.CharField())
    def get_salesforce_opportunity_id(self, obj: Quote) -> str:
        ids = self.context.get("salesforce_ids")
        if ids is None:
            tenant = getattr(self.context.get("request"), "tenant", None)
            ids = sync_links.salesforce_ids(tenant=tenant, record_type=RecordType.QUOTE, record_ids=[obj.pk]) if tenant else {}
        return ids.get(obj.pk, "")

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail
            if isinstance(detail, dict) and isinstance(detail.get("line_items"), (list, dict)):
                detail["line_items"] = line_error_messages(detail["line_items"])
            raise serializers.ValidationError(detail) from exc
