"""Query-string filters of the API lists. They narrow a queryset that a selector already scoped
to the tenant; ids of related rows are plain numbers (an id of another tenant matches nothing,
exactly like an unused id, so the answer tells nothing about other tenants)."""

from __future__ import annotations

import django_filters
from django_filters import fields as filter_fields
from rest_framework.filters import OrderingFilter

from opportunities.models import AnalysisStatus, BidAnalysisStatus, Category, Opportunity, OpportunityStatus


class CommaSeparatedMultipleChoiceField(filter_fields.MultipleChoiceField):
    """Accepts `?status=won&status=lost` and `?status=won,lost` alike."""

    def to_python(self, value):
        values = super().to_python(value)
        return [part.strip() for item in values for part in str(item).split(",") if part.strip()]


class CommaSeparatedMultipleChoiceFilter(django_filters.MultipleChoiceFilter):
    field_class = CommaSeparatedMultipleChoiceField


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
    department = django_filters.NumberFilter(field_name="department_id", help_text="Department id.")
    assignee = django_filters.NumberFilter(field_name="assignee_id", help_text="User id of the assignee.")
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
    opportunity = django_filters.NumberFilter(field_name="opportunity_id", help_text="Opportunity id.")
    status = django_filters.ChoiceFilter(choices=BidAnalysisStatus.choices)


class CommentFilter(django_filters.FilterSet):
    opportunity = django_filters.NumberFilter(field_name="opportunity_id", help_text="Opportunity id.")
