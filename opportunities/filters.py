"""Query-string filters of the API lists. They narrow a queryset that a selector already scoped
to the tenant; ids of related rows are plain numbers (an id of another tenant matches nothing,
exactly like an unused id, so the answer tells nothing about other tenants). An id that is not a
whole number from 1 to 2^63 − 1 is a 400 naming the parameter: SQLite cannot even compare a
larger one (OverflowError), and no row has it."""

from __future__ import annotations

import django_filters
from django import forms
from django_filters import fields as filter_fields
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter

from opportunities.models import AnalysisStatus, BidAnalysisStatus, Category, Opportunity, OpportunityStatus


class CommaSeparatedMultipleChoiceField(filter_fields.MultipleChoiceField):
    """Accepts `?status=won&status=lost` and `?status=won,lost` alike."""

    def to_python(self, value):
        values = super().to_python(value)
        return [part.strip() for item in values for part in str(item).split(",") if part.strip()]


class CommaSeparatedMultipleChoiceFilter(django_filters.MultipleChoiceFilter):
    field_class = CommaSeparatedMultipleChoiceField


MAX_ID = 2**63 - 1  # the largest bigint, on PostgreSQL and SQLite alike


class IdField(forms.IntegerField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        kwargs.setdefault("error_messages", {
            "invalid": "Enter an id: a whole number.",
            "min_value": "Enter an id: a whole number from 1.",
            "max_value": "No record has an id this large.",
        })
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """A related row's id (`?department=12`)."""

    field_class = IdField


class CheckedSearchFilter(SearchFilter):
    """`?search=`, refusing a NUL character (PostgreSQL cannot take one in a query: a 500 before)."""

    def get_search_terms(self, request):
        value = request.query_params.get(self.search_param, "")
        if "\x00" in value:
            raise ValidationError({self.search_param: ["Null characters are not allowed."]})
        return super().get_search_terms(request)


class StableOrderingFilter(OrderingFilter):
    """`?ordering=` with the id as last key, so pages never repeat or skip rows on ties."""

    def filter_queryset(self, request, queryset, view):
        ordering = self.get_ordering(request, queryset, view)
        if not ordering:
            return queryset
        ordering = list(ordering)
        if not any(field.lstrip("-") in ("id", "pk") for field in ordering):
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return queryset.order_by(*ordering)


class OpportunityFilter(django_filters.FilterSet):
    status = CommaSeparatedMultipleChoiceFilter(
        choices=OpportunityStatus.choices, help_text="One or more statuses: repeat the parameter or separate with commas."
    )
    department = IdFilter(field_name="department_id", help_text="Department id.")
    assignee = IdFilter(field_name="assignee_id", help_text="User id of the assignee.")
    category = django_filters.ChoiceFilter(choices=Category.choices)
    analysis_status = django_filters.ChoiceFilter(choices=AnalysisStatus.choices)
    closing_after = django_filters.DateFilter(field_name="closing_date", lookup_expr="gte",
                                              help_text="Closing on or after this date (YYYY-MM-DD).")
    closing_before = django_filters.DateFilter(field_name="closing_date", lookup_expr="lte",
                                               help_text="Closing on or before this date (YYYY-MM-DD).")

    class Meta:
        model = Opportunity
        fields = ["status", "department", "assignee", "category", "analysis_status", "closing_after", "closing_before"]


class AnalysisFilter(django_filters.FilterSet):
    opportunity = IdFilter(field_name="opportunity_id", help_text="Opportunity id.")
    status = django_filters.ChoiceFilter(choices=BidAnalysisStatus.choices)


class CommentFilter(django_filters.FilterSet):
    opportunity = IdFilter(field_name="opportunity_id", help_text="Opportunity id.")
