"""API shapes of proposals and quotes. Shaping only: rules live in proposals/services.py."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse
from rest_framework import serializers

from cothon.api.fields import FIELD_MAPPING, ReadableDecimalField
from opportunities.numbers import PROPOSAL_SECTIONS_MAX, QUOTE_LINES_MAX
from opportunities.serializers import tenant_member_field, tenant_opportunity_field
from proposals.models import Proposal, ProposalSection, Quote, QuoteLineItem


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


class QuoteSerializer(serializers.ModelSerializer):
    number = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                   help_text="Unique in your organization. Omitted: the next Q-00001-style number.")
    opportunity = tenant_opportunity_field(allow_null=True, required=False,
                                           help_text="Id of an opportunity of your organization.")
    owner = tenant_member_field(allow_null=True, required=False, help_text="Id of a member of your organization.")
    line_items = QuoteLineItemSerializer(many=True, required=False, max_length=QUOTE_LINES_MAX)
    pdf = serializers.FileField(read_only=True)
    serializer_field_mapping = FIELD_MAPPING

    class Meta:
        model = Quote
        fields = ["id", "number", "title", "status", "currency", "company_name", "contact_name", "opportunity",
                  "owner", "total", "pdf", "salesforce_opportunity_id", "created_at", "updated_at", "line_items"]
        read_only_fields = ["total", "salesforce_opportunity_id", "created_at", "updated_at"]

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail
            if isinstance(detail, dict) and isinstance(detail.get("line_items"), (list, dict)):
                detail["line_items"] = line_error_messages(detail["line_items"])
            raise serializers.ValidationError(detail) from exc
