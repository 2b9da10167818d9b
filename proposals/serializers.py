"""API shapes of proposals and quotes. Shaping only: rules live in proposals/services.py."""

from __future__ import annotations


from django.urls import reverse
from rest_framework import serializers

from opportunities.numbers import PROPOSAL_SECTIONS_MAX
from opportunities.serializers import tenant_opportunity_field
from proposals.models import Proposal, ProposalSection


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


# Quote shapes live in proposals/quote_serializers.py; these names stay importable from here.
from proposals.quote_serializers import QuoteLineItemSerializer, QuoteSerializer, line_error_messages  # noqa: E402,F401
