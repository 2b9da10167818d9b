"""API shapes of proposals, quotes (with line items), custom quote fields and contacts (the quotes'
people). Shaping only: rules live in proposals/services.py, quote_services.py and
quote_custom_fields.py."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Manager
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cothon.api.fields import FIELD_MAPPING, ReadableDecimalField
from opportunities import selectors as opportunity_selectors
from opportunities.models import Contact, Department
from opportunities.numbers import PROPOSAL_SECTIONS_MAX, QUOTE_LINES_MAX
from opportunities.serializers import TenantScopedPrimaryKeyRelatedField, tenant_member_field, tenant_opportunity_field
from proposals import selectors
from proposals.models import Proposal, ProposalSection, Quote, QuoteCustomField, QuoteLineItem
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


# --- quotes, custom quote fields, contacts ---------------------------------------------------

def tenant_department_field(**kwargs) -> TenantScopedPrimaryKeyRelatedField:
    return TenantScopedPrimaryKeyRelatedField(selector=opportunity_selectors.department_list,
                                              queryset=Department.objects.none(), **kwargs)


def tenant_contact_field(**kwargs) -> TenantScopedPrimaryKeyRelatedField:
    return TenantScopedPrimaryKeyRelatedField(selector=selectors.contact_list, queryset=Contact.objects.none(), **kwargs)


def line_error_messages(errors: list | dict) -> list[str]:
    """{1: {"quantity": ["…"]}} (or [{}, {…}]) → ["Line 2, quantity: …"]: the shape that
    quote_services.quote_create gives to the rules it checks, so a bad line reads the same
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


MONEY_OUT = {"max_digits": 26, "decimal_places": 2, "read_only": True}


class QuoteLineItemSerializer(serializers.ModelSerializer):
    gross = ReadableDecimalField(**MONEY_OUT, help_text="quantity × unit price")
    discount = ReadableDecimalField(**MONEY_OUT, help_text="gross × discount_percent, rounded half-up to the cent")
    amount = ReadableDecimalField(**MONEY_OUT, help_text="gross − discount (before tax)")
    tax = ReadableDecimalField(**MONEY_OUT, help_text="amount × tax_percent, rounded half-up to the cent")
    serializer_field_mapping = FIELD_MAPPING

    class Meta:
        model = QuoteLineItem
        fields = ["id", "kind", "description", "unit", "quantity", "unit_price", "discount_percent", "tax_percent",
                  "position", "gross", "discount", "amount", "tax"]
        read_only_fields = ["position"]
        extra_kwargs = {
            # Bounds: opportunities/numbers.py (the schema's pattern allows 10 and 12 digits before the point).
            "quantity": {"default": Decimal("1"), "error_messages": {"min_value": "Quantity must be greater than zero."}},
            "unit_price": {"default": Decimal("0")},
            "discount_percent": {"default": Decimal("0")},
            "tax_percent": {"default": Decimal("0")},
            "kind": {"default": "service"},
            "unit": {"default": ""},
        }


class QuoteLineItemUpdateSerializer(QuoteLineItemSerializer):
    """PATCH of one line: no defaults, so it changes only what it names (a PUT takes
    QuoteLineItemSerializer: what it omits gets the defaults, as on creation)."""

    class Meta(QuoteLineItemSerializer.Meta):
        extra_kwargs = {"quantity": {"error_messages": {"min_value": "Quantity must be greater than zero."}}}


class LineOrderSerializer(serializers.Serializer):
    order = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=QUOTE_LINES_MAX,
                                  help_text="Every line id of the quote, once each, in the new order.")


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
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False, help_text="ISO 4217 code, e.g. CAD.",
                                      error_messages={"invalid": "Use a three-letter currency code, e.g. CAD."})
    opportunity = tenant_opportunity_field(allow_null=True, required=False,
                                           help_text="Id of an opportunity of your organization.")
    company = tenant_department_field(allow_null=True, required=False,
                                      help_text="The company (a department: Salesforce's Account) the quote is for.")
    person = tenant_contact_field(allow_null=True, required=False,
                                  help_text="The person (a contact, /api/v1/contacts/) the quote is addressed to.")
    owner = tenant_member_field(allow_null=True, required=False, help_text="Id of a member of your organization.")
    custom_values = serializers.DictField(
        required=False, allow_empty=True,
        help_text="Values of your custom quote fields by key (/api/v1/quote-custom-fields/). Merged into the stored "
                  "values; null or \"\" removes one. Numbers come back as decimal strings.")
    line_items = QuoteLineItemSerializer(many=True, required=False, max_length=QUOTE_LINES_MAX)
    pdf = serializers.FileField(read_only=True)
    salesforce_opportunity_id = serializers.SerializerMethodField(
        help_text="The Salesforce opportunity this quote came from (its link in the default connection); empty if none.")
    serializer_field_mapping = FIELD_MAPPING

    class Meta:
        model = Quote
        list_serializer_class = QuoteListSerializer
        fields = ["id", "number", "title", "status", "currency", "opportunity", "company", "person", "company_name",
                  "contact_name", "valid_until", "terms", "notes", "owner", "subtotal", "discount_total", "tax_total",
                  "total", "custom_values", "pdf", "salesforce_opportunity_id", "created_at", "updated_at", "line_items"]
        read_only_fields = ["subtotal", "discount_total", "tax_total", "total", "created_at", "updated_at"]

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


class QuoteUpdateSerializer(QuoteSerializer):
    """PUT/PATCH of a quote's own fields; its lines change through /quotes/{id}/line-items/."""

    line_items = QuoteLineItemSerializer(many=True, read_only=True)

    class Meta(QuoteSerializer.Meta):
        pass


class QuoteCustomFieldSerializer(serializers.ModelSerializer):
    options = serializers.ListField(child=serializers.CharField(max_length=100, allow_blank=True), required=False,
                                    max_length=100, help_text="Drop-down list choices in order; empty for other types.")
    key = serializers.CharField(max_length=60, required=False, allow_blank=True,
                                help_text="Where values live in a quote's custom_values. Omitted: made from the label.")

    class Meta:
        model = QuoteCustomField
        fields = ["id", "label", "key", "field_type", "options", "position"]
        read_only_fields = ["position"]


class QuoteCustomFieldUpdateSerializer(QuoteCustomFieldSerializer):
    """The key and type stay once created (stored values and Salesforce mappings use them)."""

    key = serializers.CharField(read_only=True)

    class Meta(QuoteCustomFieldSerializer.Meta):
        read_only_fields = ["key", "field_type"]
        extra_kwargs = {"position": {"read_only": False, "required": False, "min_value": 0, "max_value": 32767}}


class ContactSerializer(serializers.ModelSerializer):
    department = tenant_department_field(allow_null=True, required=False,
                                         help_text="The company (department) this person works for.")
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "first_name", "last_name", "name", "email", "phone", "job_title", "department",
                  "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
